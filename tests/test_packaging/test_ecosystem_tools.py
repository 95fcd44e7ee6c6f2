"""Our configs run through the ecosystem's launchers: mmpretrain's own ``tools/train.py``, ``mim train``
(when openmim is installed) and ``tools/dist_train.sh`` the way the README runs it (2 CPU processes)."""
import importlib.util
import os
import os.path as osp
import shutil
import socket
import subprocess
import sys

import pytest
import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# configs/cmda_demo.py shortened to seconds: 128 training samples (2 iterations), one epoch.
TINY = ['train_cfg.max_epochs=1', 'train_dataloader.dataset.num_samples=128', 'val_dataloader.dataset.num_samples=64',
        'test_dataloader.dataset.num_samples=64', 'default_hooks.logger.interval=1']


def _env(**extra):
    env = dict(os.environ, OMP_NUM_THREADS='1', **extra)
    env.pop('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', None)
    return env


def _run(cmd, env, cwd=REPO, timeout=240):
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f'{" ".join(cmd)} failed:\n{out[-4000:]}'
    return out


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _mmpretrain_train_py():
    import mmpretrain
    path = osp.join(osp.dirname(mmpretrain.__file__), '.mim', 'tools', 'train.py')
    if not osp.isfile(path):
        pytest.skip('the installed mmpretrain has no .mim/tools/train.py')
    return path


def test_mmpretrain_train_py_trains_the_demo_config(tmp_path):
    """mmpretrain's train.py fills pin_memory/persistent_workers defaults and imports cmda_mm through the
    config's custom_imports; one short epoch must train and validate."""
    work_dir = tmp_path / 'mmpretrain'
    out = _run([sys.executable, _mmpretrain_train_py(), 'configs/cmda_demo.py', '--work-dir', str(work_dir),
                '--cfg-options', *TINY], env=_env(PYTHONPATH=REPO))
    assert 'Epoch(val) [1][' in out and 'accuracy/top1' in out
    assert 'DCA fit' in out  # our hook ran inside mmpretrain's runner
    assert (work_dir / 'epoch_1.pth').is_file()


@pytest.mark.skipif(importlib.util.find_spec('mim') is None, reason='openmim is not installed')
def test_mim_train_finds_our_packaged_config(tmp_path):
    """``pip install .`` then ``mim train cmda_mm cmda_demo.py``: mim finds config and tools in cmda_mm/.mim."""
    target = tmp_path / 'site'
    _run([sys.executable, '-m', 'pip', 'install', '--quiet', '--no-deps', '--no-build-isolation', '--target',
          str(target), REPO], env=_env(), cwd=str(tmp_path))
    shutil.rmtree(osp.join(REPO, 'build'), ignore_errors=True)
    pythonpath = os.pathsep.join([str(target), os.environ.get('PYTHONPATH', '')])
    out = _run([sys.executable, '-m', 'mim', 'train', 'cmda_mm', 'cmda_demo.py', '--work-dir', str(tmp_path / 'wd'),
                '--cfg-options', *TINY], env=_env(PYTHONPATH=pythonpath), cwd=str(tmp_path))
    assert 'cmda_mm/.mim/configs/cmda_demo.py' in out and 'Final test metrics' in out


def _python_without_torch(tmp_path):
    """A bin folder whose ``python`` cannot import torch (as on a fresh machine before activating the venv)."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    for candidate in ('/usr/bin/python3', '/usr/local/bin/python3', shutil.which('python3') or ''):
        if candidate and osp.isfile(candidate) and subprocess.run(
                [candidate, '-c', 'import torch'], capture_output=True).returncode != 0:
            (bin_dir / 'python').symlink_to(candidate)
            return bin_dir
    pytest.skip('no Python without torch on this machine to stand in for a fresh shell')


def _make_venv_python():
    proc = subprocess.run(['make', '-s', '-C', REPO, 'venv'], capture_output=True, text=True)
    path = osp.join(proc.stdout.strip(), 'bin', 'python')
    if proc.returncode != 0 or not osp.isfile(path):
        pytest.skip('the environment `make env` builds does not exist here')
    return path


@pytest.mark.skipif(torch.cuda.is_available(), reason='checks the CPU (gloo) path the README describes')
def test_dist_train_sh_as_the_readme_runs_it(tmp_path):
    """``bash tools/dist_train.sh configs/cmda_demo.py 2`` from a shell whose ``python`` lacks torch: the script
    falls back to the project environment and trains with 2 CPU processes over gloo."""
    _make_venv_python()
    bin_dir = _python_without_torch(tmp_path)
    path = os.pathsep.join([str(bin_dir), '/usr/bin', '/bin'])
    env = _env(PATH=path, PORT=str(_free_port()))
    env.pop('PYTHON', None)
    env.pop('PYTHONPATH', None)
    work_dir = tmp_path / 'dist'
    out = _run(['bash', 'tools/dist_train.sh', 'configs/cmda_demo.py', '2', '--work-dir', str(work_dir),
                '--cfg-options', *TINY], env=env)
    assert 'using the project environment' in out
    assert out.count('Final test metrics') == 1  # rank 0 only
    assert (work_dir / 'epoch_1.pth').is_file()


def test_find_python_explains_what_to_do(tmp_path):
    """Without any Python with torch and without the project environment, the launch script says what to do."""
    bin_dir = _python_without_torch(tmp_path)
    env = _env(PATH=os.pathsep.join([str(bin_dir), '/usr/bin', '/bin']), CMDA_VENV=str(tmp_path / 'no_venv'))
    for name in ('PYTHON', 'MAKEFLAGS', 'MFLAGS'):  # a `make test CMDA_VENV=...` would override ours
        env.pop(name, None)
    proc = subprocess.run(['bash', 'tools/dist_train.sh', 'configs/cmda_demo.py', '2'], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert 'make env' in proc.stderr and 'PYTHON=' in proc.stderr
