"""AtomicCheckpointHook (issue 22): a kill during any checkpoint write leaves a complete checkpoint to resume.

MMEngine's CheckpointHook deletes the checkpoint beyond ``max_keep_ckpts`` (and the previous best one) before it
writes the new one in place, so with ``max_keep_ckpts=1`` a kill mid-write left only a truncated file. The kill
is simulated at the file write itself: ``open`` in MMEngine's local backend and in our hook writes half of the
bytes, then the process dies (``os._exit`` in a subprocess, an exception in-process).
"""
import glob
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.fileio.backends import local_backend
from mmengine.hooks import CheckpointHook
from mmengine.runner import Runner

import cmda_mm  # noqa: F401
from cmda_mm.engine.hooks import checkpoint_hook
from cmda_mm.engine.hooks.checkpoint_hook import AtomicCheckpointHook
from fixtures import TINY_LENET

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
RUNTIME = osp.join(REPO, 'configs', '_base_', 'default_runtime.py')

# A tiny LeNet classifier on the shipped runtime (its checkpoint hook), 2 iterations per epoch.
CONFIG = '''
_base_ = [{runtime!r}]
data_root = {data_root!r}
{tiny_lenet}
train_cfg = dict(by_epoch=True, max_epochs=3, val_interval=1)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1, max_keep_ckpts=1))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
'''

# Trains the way MMPretrain's own tools/train.py does (Config.fromfile, whose custom_imports=['cmda_mm'] registers
# the hook; Runner.from_cfg), with `open` patched so that writing a file named <target>... writes half of it and
# the process dies.
KILLER = """
import builtins, os, sys
from mmengine.config import Config
from mmengine.runner import Runner
target, config, work_dir = sys.argv[1:]
real_open = builtins.open

class _HalfThenDie:
    def __init__(self, f):
        self.f = f
    def write(self, data):
        self.f.write(data[:len(data) // 2])
        self.f.flush()
        os._exit(137)
    def __getattr__(self, name):
        return getattr(self.f, name)
    def __enter__(self):
        return self
    def __exit__(self, *exc):
        self.f.close()

def killing_open(path, mode='r', *args, **kwargs):
    f = real_open(path, mode, *args, **kwargs)
    return _HalfThenDie(f) if 'w' in mode and os.path.basename(str(path)).startswith(target) else f

builtins.open = killing_open
cfg = Config.fromfile(config)
cfg.work_dir = work_dir
runner = Runner.from_cfg(cfg)
print('checkpoint hook:', [type(h).__name__ for h in runner.hooks if 'Checkpoint' in type(h).__name__])
runner.train()
"""


def _images(root):
    rng = np.random.default_rng(0)
    for label, level in (('class_a', 40), ('class_b', 215)):
        os.makedirs(root / label)
        for i in range(4):
            img = np.clip(level + rng.normal(0, 20, (32, 32)), 0, 255).astype(np.uint8)
            cv2.imwrite(str(root / label / f'{i}.png'), img)


@pytest.fixture(scope='module')
def config(tmp_path_factory):
    root = tmp_path_factory.mktemp('ckpt')
    _images(root / 'data')
    path = root / 'tiny_lenet.py'
    path.write_text(CONFIG.format(runtime=RUNTIME, data_root=str(root / 'data'), tiny_lenet=TINY_LENET))
    return str(path)


def _run(cmd, expect=0):
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1')
    proc = subprocess.run(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=180)
    assert proc.returncode == expect, f'{cmd} exited {proc.returncode}:\n{proc.stdout[-6000:]}'
    return proc.stdout


def _load(path):
    return torch.load(path, map_location='cpu', weights_only=False)


def _files(work_dir):
    return sorted(f for f in os.listdir(work_dir) if f.endswith(('.pth', '.part', 'last_checkpoint')))


def _pointer(work_dir):
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        return f.read().strip()


def test_the_shipped_runtime_uses_the_atomic_hook_in_every_config_that_sets_one():
    """default_runtime.py names it; the configs that set their own checkpoint hook inherit its type."""
    assert Config.fromfile(RUNTIME).default_hooks.checkpoint.type == 'AtomicCheckpointHook'
    own = [p for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True)
           if 'checkpoint=dict(' in open(p).read() and p != RUNTIME]
    assert own, 'expected the anomaly and captioning configs to set their own checkpoint hook'
    for path in own:
        hook = Config.fromfile(path).default_hooks.checkpoint
        assert hook.type == 'AtomicCheckpointHook', f'{path} sets type={hook.type!r}: drop `type`, inherit it'


def test_a_kill_during_a_checkpoint_write_leaves_a_complete_one_and_resume_works(config, tmp_path):
    work = str(tmp_path / 'work')
    killer = tmp_path / 'killer.py'
    killer.write_text(KILLER)
    # max_keep_ckpts=1: killed while epoch_2.pth is half written (epoch_1.pth was the only checkpoint).
    out = _run([sys.executable, str(killer), 'epoch_2.pth', config, work], expect=137)
    assert _pointer(work) == osp.join(work, 'epoch_1.pth')
    assert _load(osp.join(work, 'epoch_1.pth'))['meta']['epoch'] == 1  # complete
    assert not osp.exists(osp.join(work, 'epoch_2.pth'))  # the half-written bytes sit in epoch_2.pth.part
    assert "checkpoint hook: ['AtomicCheckpointHook']" in out  # MMPretrain's way of building finds our hook

    out = _run([sys.executable, 'tools/train.py', config, '--work-dir', work, '--resume', '--test-best'])
    assert 'resumed epoch: 1, iter: 2' in out and 'Epoch(train) [3][2/2]' in out
    assert 'Best-validation test metrics' in out  # --test-best found the best checkpoint
    kept = _files(work)
    assert kept[1:] == ['epoch_3.pth', 'last_checkpoint'] and kept[0].startswith('best_accuracy_top1_epoch_')
    assert _pointer(work) == osp.join(work, 'epoch_3.pth') and _load(osp.join(work, 'epoch_3.pth'))


class _Killed(BaseException):
    """Stands for SIGKILL in-process (not an Exception, so nothing on the way catches it)."""


def _kill_when_writing(monkeypatch, prefix):
    real_open = open

    def killing_open(path, mode='r', *args, **kwargs):
        f = real_open(path, mode, *args, **kwargs)
        if 'w' in mode and osp.basename(str(path)).startswith(prefix):
            f.write(b'half a checkpoint')
            f.close()
            raise _Killed(path)
        return f

    for module in (local_backend, checkpoint_hook):
        monkeypatch.setattr(module, 'open', killing_open, raising=False)


def _runner(config, work_dir, **hook):
    cfg = Config.fromfile(config)
    cfg.work_dir = work_dir
    cfg.default_hooks.checkpoint.update(hook)
    cfg.log_level = 'WARNING'
    runner = Runner.from_cfg(cfg)
    runner.optim_wrapper = runner.build_optim_wrapper(runner.optim_wrapper)  # as Runner.train() does
    return runner


def _epoch_end(runner, hook, epoch, accuracy):
    """What after_train_epoch and after_val_epoch do at the end of `epoch` (1-based)."""
    runner.train_loop._epoch = epoch - 1
    hook._save_checkpoint(runner)
    runner.train_loop._epoch = epoch
    hook.after_val_epoch(runner, {'accuracy/top1': accuracy})


def test_a_kill_while_the_new_best_is_written_keeps_the_previous_best(config, tmp_path, monkeypatch):
    """save_best: MMEngine deleted the previous best before writing the new one."""
    work = str(tmp_path / 'work')
    runner = _runner(config, work, save_best='accuracy/top1', rule='greater')
    hook = next(h for h in runner.hooks if isinstance(h, CheckpointHook))
    hook.before_train(runner)
    _epoch_end(runner, hook, 1, 50.0)
    best_1 = osp.join(work, 'best_accuracy_top1_epoch_1.pth')
    assert runner.message_hub.get_info('best_ckpt') == best_1
    _kill_when_writing(monkeypatch, 'best_accuracy_top1_epoch_2')
    with pytest.raises(_Killed):
        _epoch_end(runner, hook, 2, 75.0)
    last = _pointer(work)
    assert last == osp.join(work, 'epoch_2.pth')
    # The checkpoint a resume reads names the previous best, and that file is complete.
    assert _load(last)['message_hub']['runtime_info']['best_ckpt'] == best_1
    assert _load(best_1)['meta']['epoch'] == 1
    assert _files(work) == ['best_accuracy_top1_epoch_1.pth', 'best_accuracy_top1_epoch_2.pth.part', 'epoch_2.pth',
                            'last_checkpoint']


def test_without_a_kill_old_checkpoints_are_still_deleted(config, tmp_path):
    work = str(tmp_path / 'work')
    runner = _runner(config, work, save_best='accuracy/top1', rule='greater', max_keep_ckpts=2)
    hook = next(h for h in runner.hooks if isinstance(h, CheckpointHook))
    hook.before_train(runner)
    for epoch, accuracy in ((1, 50.0), (2, 75.0), (3, 60.0), (4, 80.0)):
        _epoch_end(runner, hook, epoch, accuracy)
    assert _files(work) == ['best_accuracy_top1_epoch_4.pth', 'epoch_3.pth', 'epoch_4.pth', 'last_checkpoint']
    assert _load(osp.join(work, 'epoch_4.pth'))['message_hub']['runtime_info']['keep_ckpt_ids'] == [3, 4]


def test_remote_storage_is_refused_by_name():
    with pytest.raises(ValueError, match="backend_args.*type='CheckpointHook'"):
        AtomicCheckpointHook(interval=1, backend_args=dict(backend='petrel'))
