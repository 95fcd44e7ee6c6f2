"""End-to-end tests of tools/train.py, tools/test.py and tools/dist_train.sh on CPU.

A tiny LeNet5 classifier is trained on 8 generated 32x32 grayscale PNGs (2 classes, 2 iterations per
epoch). Only mmpretrain's registered components are used, so torchrun subprocesses can build the model.
"""
import importlib.util
import os
import os.path as osp
import socket
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch

from fixtures import TINY_LENET

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

CONFIG = '''
default_scope = 'mmpretrain'
data_root = {data_root!r}
{tiny_lenet}
train_cfg = dict(by_epoch=True, max_epochs=1, val_interval=1)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(logger=dict(type='LoggerHook', interval=1),
                     checkpoint=dict(type='CheckpointHook', interval=1))
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0)
'''

if importlib.util.find_spec('pytest_timeout') is not None:
    dist_timeout = pytest.mark.timeout(120)
else:  # without pytest-timeout the subprocess timeout below bounds the test
    def dist_timeout(func):
        return func


def _env(**extra):
    env = dict(os.environ)
    env.pop('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', None)  # resume must work under weights_only=True
    env.update(PYTHONPATH=REPO, OMP_NUM_THREADS='1', **extra)
    return env


def _run(cmd, timeout=90, **extra_env):
    proc = subprocess.run(cmd, cwd=REPO, env=_env(**extra_env), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=timeout)
    assert proc.returncode == 0, f'{cmd} failed:\n{proc.stdout[-6000:]}'
    return proc.stdout


def _load(path):
    from cmda_mm.utils.checkpoint import register_checkpoint_safe_globals
    register_checkpoint_safe_globals()
    return torch.load(path, map_location='cpu')  # torch's default weights_only=True


def _free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@pytest.fixture(scope='module')
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp('tools')
    rng = np.random.default_rng(0)
    for label, level in (('class_a', 40), ('class_b', 215)):
        os.makedirs(root / 'data' / label)
        for i in range(4):
            img = np.clip(level + rng.normal(0, 20, (32, 32)), 0, 255).astype(np.uint8)
            cv2.imwrite(str(root / 'data' / label / f'{i}.png'), img)
    cfg_path = root / 'tiny_lenet.py'
    cfg_path.write_text(CONFIG.format(data_root=str(root / 'data'), tiny_lenet=TINY_LENET))
    return root, str(cfg_path)


@pytest.fixture(scope='module')
def trained(workspace):
    root, cfg = workspace
    work_dir = str(root / 'train')
    out = _run([sys.executable, 'tools/train.py', cfg, '--work-dir', work_dir])
    return work_dir, out


def test_train_writes_checkpoint_and_prints_test_accuracy(trained):
    work_dir, out = trained
    ckpt = _load(osp.join(work_dir, 'epoch_1.pth'))
    assert ckpt['meta']['epoch'] == 1 and ckpt['meta']['iter'] == 2
    assert 'Epoch(test)' in out and 'Final test metrics: accuracy/top1:' in out


def test_resume_under_weights_only(workspace, trained):
    root, cfg = workspace
    work_dir = str(root / 'resumed')
    out = _run([sys.executable, 'tools/train.py', cfg, '--work-dir', work_dir, '--no-test',
                '--resume', osp.join(trained[0], 'epoch_1.pth'), '--cfg-options', 'train_cfg.max_epochs=2'],
               TORCH_FORCE_WEIGHTS_ONLY_LOAD='1')
    assert 'resumed epoch: 1, iter: 2' in out
    assert 'Epoch(train) [2][2/2]' in out and 'Epoch(train) [1]' not in out
    ckpt = _load(osp.join(work_dir, 'epoch_2.pth'))
    assert ckpt['meta']['epoch'] == 2 and ckpt['meta']['iter'] == 4
    # the message hub carried the epoch-1 history over: 2 + 2 logged losses
    assert ckpt['message_hub']['log_scalars']['train/loss'].data[0].size == 4
    assert 'Final test metrics' not in out  # --no-test


@dist_timeout
def test_dist_train_sh_on_cpu(workspace):
    root, cfg = workspace
    work_dir = str(root / 'dist')
    out = _run(['bash', 'tools/dist_train.sh', cfg, '2', '--work-dir', work_dir], timeout=120,
               PORT=str(_free_port()), PYTHON=sys.executable)
    ckpt = _load(osp.join(work_dir, 'epoch_1.pth'))
    assert ckpt['meta']['epoch'] == 1 and ckpt['meta']['iter'] == 1  # 8 images / (2 procs x 4)
    assert 'Final test metrics: accuracy/top1:' in out
    assert out.count('Final test metrics') == 1  # printed by rank 0 only


def test_test_py_prints_accuracy_and_dumps(workspace, trained):
    root, cfg = workspace
    out_file = str(root / 'metrics.json')
    out = _run([sys.executable, 'tools/test.py', cfg, osp.join(trained[0], 'epoch_1.pth'),
                '--work-dir', str(root / 'test'), '--out', out_file, '--out-item', 'metrics'])
    assert 'Test metrics: accuracy/top1:' in out
    import mmengine
    assert 'accuracy/top1' in mmengine.load(out_file)


def _tool(name):
    spec = importlib.util.spec_from_file_location(f'cmda_tools_{name}', osp.join(REPO, 'tools', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_options_reach_config(workspace):
    from mmengine.config import Config
    train = _tool('train')
    cfg_file = workspace[1]
    args = train.parse_args([cfg_file, '--amp', '--no-validate', '--cfg-options', 'train_cfg.max_epochs=7',
                             'optim_wrapper.optimizer.lr=0.5'])
    cfg = train.merge_args(Config.fromfile(cfg_file), args)
    assert cfg.train_cfg.max_epochs == 7 and cfg.optim_wrapper.optimizer.lr == 0.5
    assert cfg.val_dataloader is None and cfg.work_dir == osp.join('./work_dirs', 'tiny_lenet')
    assert cfg.train_dataloader.persistent_workers is False  # num_workers=0
    if not torch.cuda.is_available():  # CPU AMP: bf16 autocast through the CPU wrapper
        assert cfg.optim_wrapper.type == 'CPUAmpOptimWrapper' and cfg.optim_wrapper.dtype == 'bfloat16'
        from cmda_mm.registry import OPTIM_WRAPPERS
        model = torch.nn.Linear(4, 2)
        wrapper = OPTIM_WRAPPERS.build(dict(type='CPUAmpOptimWrapper', loss_scale='dynamic', dtype='bfloat16',
                                            optimizer=torch.optim.SGD(model.parameters(), lr=0.1)))
        with wrapper.optim_context(model):
            out = model(torch.randn(3, 4))
        assert out.dtype == torch.bfloat16
        before = model.weight.detach().clone()
        wrapper.update_params(out.float().pow(2).mean())
        assert not torch.equal(before, model.weight)
        wrapper.load_state_dict(wrapper.state_dict())
    for path in (cfg_file, osp.join(REPO, 'configs/cmda_demo.py')):  # without and with a visualizer in the config
        cfg = train.merge_args(Config.fromfile(path), train.parse_args([path, '--tensorboard']))
        types = [b['type'] for b in cfg.visualizer.vis_backends]
        assert types == ['LocalVisBackend', 'TensorboardVisBackend'], (path, types)  # JSON logs kept
        again = train.merge_args(cfg, train.parse_args([path, '--tensorboard']))
        assert [b['type'] for b in again.visualizer.vis_backends] == types  # never added twice
    test = _tool('test')
    args = test.parse_args([cfg_file, 'ckpt.pth', '--cfg-options', 'test_dataloader.batch_size=2'])
    cfg = test.merge_args(Config.fromfile(cfg_file), args)
    assert cfg.load_from is None and cfg.test_dataloader.batch_size == 2  # main() loads it, strictly


def _other_checkpoints(root):
    """A LeNet5 of 3 classes (same keys, other shapes), an unrelated model (other keys), an empty file."""
    from mmpretrain.registry import MODELS
    other = MODELS.build(dict(type='ImageClassifier', backbone=dict(type='LeNet5', num_classes=3),
                              head=dict(type='ClsHead')))
    paths = dict(shape=str(root / 'lenet3.pth'), keys=str(root / 'linear.pth'), empty=str(root / 'empty.pth'))
    torch.save(dict(state_dict=other.state_dict(), meta=dict()), paths['shape'])
    torch.save(dict(state_dict=torch.nn.Linear(3, 2).state_dict(), meta=dict()), paths['keys'])
    open(paths['empty'], 'wb').close()
    return paths


def test_another_models_checkpoint_is_an_error(workspace, trained, tmp_path):
    """tools/test.py and train.py --resume refuse a checkpoint that does not fit (MMEngine loads non-strictly:
    test.py printed chance accuracy and exit 0)."""
    root, cfg = workspace
    paths = _other_checkpoints(tmp_path)
    test = _tool('test')
    with pytest.raises(ValueError, match=r'lenet3.pth does not fit this ImageClassifier.*backbone.classifier.2.weight '
                       r'\(checkpoint \[3,84\], model \[2,84\]\)'):
        test.main([cfg, paths['shape'], '--work-dir', str(tmp_path / 't1')])
    with pytest.raises(ValueError, match=r'linear.pth does not fit .*missing from the checkpoint: backbone.features'
                       r'.*checkpoint not in the model: weight, bias'):
        test.main([cfg, paths['keys'], '--work-dir', str(tmp_path / 't2')])
    with pytest.raises(ValueError, match=r'empty.pth is empty \(0 bytes\)'):
        test.main([cfg, paths['empty'], '--work-dir', str(tmp_path / 't3')])
    metrics = test.main([cfg, osp.join(trained[0], 'epoch_1.pth'), '--work-dir', str(tmp_path / 't4')])
    assert 'accuracy/top1' in metrics  # its own checkpoint still loads
    train = _tool('train')
    for kind in ('shape', 'empty'):
        with pytest.raises(ValueError, match=osp.basename(paths[kind])):
            train.main([cfg, '--work-dir', str(tmp_path / f'r_{kind}'), '--resume', paths[kind]])
        assert not osp.exists(tmp_path / f'r_{kind}' / 'epoch_1.pth')  # refused before training


def test_test_py_show_dir_and_amp(workspace, trained, tmp_path):
    """MMPretrain's --show-dir (one drawn image per test sample) and --amp (autocast test loop)."""
    from mmengine.config import Config
    root, cfg = workspace
    test = _tool('test')
    args = test.parse_args([cfg, 'x.pth', '--amp', '--show-dir', 'vis', '--interval', '2'])
    merged = test.merge_args(Config.fromfile(cfg), args)
    assert merged.test_cfg.fp16 is True
    vis = merged.default_hooks.visualization
    assert vis.enable and vis.out_dir == 'vis' and vis.interval == 2 and not vis.show
    out = _run([sys.executable, 'tools/test.py', cfg, osp.join(trained[0], 'epoch_1.pth'), '--work-dir',
                str(tmp_path / 'w'), '--show-dir', str(tmp_path / 'vis'), '--amp', '--cfg-options',
                'visualizer.type=UniversalVisualizer'])
    assert 'Test metrics: accuracy/top1:' in out
    drawn = sorted(os.listdir(tmp_path / 'vis'))
    # every test image drawn with its prediction, named as mmpretrain does (<image name>_<step>.png: the two class
    # folders both hold 0.png..3.png, so 8 drawings make 4 files)
    assert drawn == [f'{i}.png_0.png' for i in range(4)]


def test_slurm_test_sh_calls_srun_like_mmpretrain(tmp_path):
    """A fake `srun` on PATH records what tools/slurm_test.sh asks Slurm to run."""
    fake = tmp_path / 'srun'
    fake.write_text('#!/usr/bin/env bash\nprintf "%s\\n" "$@" > "$SRUN_LOG"\n')
    fake.chmod(0o755)
    log = tmp_path / 'srun.log'
    subprocess.run(['bash', 'tools/slurm_test.sh', 'part', 'job', 'cfg.py', 'ckpt.pth', '--out', 'r.pkl'], cwd=REPO,
                   env=dict(os.environ, PATH=f'{tmp_path}:{os.environ["PATH"]}', SRUN_LOG=str(log), GPUS='4',
                            GPUS_PER_NODE='4'), check=True, capture_output=True, timeout=60)
    args = log.read_text().split('\n')
    assert args[:7] == ['-p', 'part', '--job-name=job', '--gres=gpu:4', '--ntasks=4', '--ntasks-per-node=4',
                        '--cpus-per-task=5']
    assert args[args.index('-u') + 1:args.index('-u') + 7] == [
        'tools/test.py', 'cfg.py', 'ckpt.pth', '--launcher=slurm', '--out', 'r.pkl']


def test_test_best_tests_the_checkpoint_chosen_on_validation(workspace, trained, tmp_path):
    """--test-best keeps the best validation checkpoint (MMEngine's save_best) and tests it after the last epoch."""
    import re
    _, cfg = workspace
    assert 'Best-validation' not in trained[1]  # off by default
    out = _run([sys.executable, 'tools/train.py', cfg, '--work-dir', str(tmp_path), '--test-best', '--cfg-options',
                'train_cfg.max_epochs=3'])
    vals = [float(v) for v in re.findall(r'Epoch\(val\) \[\d+\]\S*\s+accuracy/top1: ([\d.]+)', out)]
    assert len(vals) == 3
    chosen = re.findall(r'Best-validation test metrics \(epoch (\d+), (best_\S+\.pth)\): accuracy/top1: ([\d.]+)', out)
    assert len(chosen) == 1
    epoch, name, acc = chosen[0]
    assert int(epoch) == vals.index(max(vals)) + 1  # the first epoch with the best validation accuracy
    assert osp.isfile(tmp_path / name) and f'epoch_{epoch}' in name
    assert float(acc) == pytest.approx(vals[int(epoch) - 1], abs=1e-3)  # val and test share the data here


_MAIN_THEN_REPORT_GROUP = '''
import gc, runpy, sys
import torch
import torch.distributed as dist
tool = runpy.run_path(sys.argv[1])
tool['main'](sys.argv[2:])
print('GROUP_LEFT_ALIVE', dist.is_initialized())
ddp = [o for o in gc.get_objects() if isinstance(o, torch.nn.parallel.DistributedDataParallel)]
print('DDP_LEFT_ALIVE', len(ddp))
'''


@pytest.mark.parametrize('tool', ['train', 'test'])
def test_tools_end_the_cpu_process_group_they_started(workspace, trained, tool, tmp_path):
    """A gloo group (or a DDP wrapper holding one) left alive at interpreter exit can abort the process in gloo's
    threads after training finished (exit -6, ~1 in 8 two-process runs of tools/dist_train.sh here): train.py and
    test.py release the runner, then destroy the group."""
    root, cfg = workspace
    args = [cfg, '--launcher', 'pytorch', '--work-dir', str(tmp_path / tool)]
    if tool == 'test':
        args.insert(1, osp.join(trained[0], 'epoch_1.pth'))
    out = _run([sys.executable, '-c', _MAIN_THEN_REPORT_GROUP, f'tools/{tool}.py', *args],
               RANK='0', LOCAL_RANK='0', WORLD_SIZE='1', MASTER_ADDR='127.0.0.1', MASTER_PORT=str(_free_port()))
    assert 'accuracy/top1' in out
    assert 'GROUP_LEFT_ALIVE False' in out
    assert 'DDP_LEFT_ALIVE 0' in out  # released before the group: a DDP holding it aborts at exit too
