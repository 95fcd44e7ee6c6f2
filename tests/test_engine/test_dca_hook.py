import os
import subprocess
import sys
import types
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from mmengine.logging import MessageHub, MMLogger

import cmda_mm  # noqa: F401
from cmda_mm.core import CrossModalMixer, GaussianMixture
from cmda_mm.engine.hooks import DCAHook

REPO = Path(__file__).resolve().parents[2]


def blobs(n=60, d=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    centers = 3 * torch.randn(3, d, generator=g)
    return F.normalize(centers.repeat_interleave(n // 3, 0) + 0.3 * torch.randn(n, d, generator=g), dim=1)


def fake_runner(mixer, epoch=0):
    model = types.SimpleNamespace(data_preprocessor=types.SimpleNamespace(cmda=mixer))
    return types.SimpleNamespace(model=model, epoch=epoch, logger=MMLogger.get_instance('test_dca'),
                                 message_hub=MessageHub.get_instance('test_dca'))


def test_hook_fits_from_bank_and_empties_it():
    mixer = CrossModalMixer(dca=True)
    x = blobs()
    mixer.record(x[:30])
    mixer.record(x[30:])
    DCAHook(n_components=3, covariance_type='diag', seed=0).after_train_epoch(fake_runner(mixer))
    assert mixer.dca_ready and mixer.gmm_means.shape == (3, 6)
    assert mixer.bank == []
    ref = GaussianMixture(3, 'diag', seed=0).fit(x)
    torch.testing.assert_close(mixer.gmm_means, ref.means_.float())


def test_hook_selects_m_by_bic():
    mixer = CrossModalMixer(dca=True)
    mixer.record(blobs(90))
    DCAHook(n_components=range(1, 6), criterion='bic').after_train_epoch(fake_runner(mixer))
    assert mixer.gmm_weights.numel() == 3


def test_hook_respects_interval_and_no_dca():
    mixer = CrossModalMixer(dca=True)
    mixer.record(blobs())
    DCAHook(interval=2).after_train_epoch(fake_runner(mixer, epoch=0))  # epoch 1 of 2: no fit
    assert not mixer.dca_ready and mixer.bank == []
    off = CrossModalMixer(dca=False)
    off.record(blobs())
    assert off.bank == []


def test_state_resizes_on_load():
    a, b = CrossModalMixer(), CrossModalMixer()
    a.set_gmm(GaussianMixture(3, 'full', seed=0).fit(blobs()))
    b.load_state_dict(a.state_dict())
    for name in ('gmm_weights', 'gmm_means', 'gmm_precisions_cholesky'):
        torch.testing.assert_close(getattr(a, name), getattr(b, name))
    x = blobs(12, seed=3)
    torch.testing.assert_close(a.get_gmm().predict_proba(x), b.get_gmm().predict_proba(x))


DDP_SCRIPT = r'''
import sys, torch, torch.distributed as dist, types
import cmda_mm
from mmengine.logging import MMLogger, MessageHub
from cmda_mm.core import CrossModalMixer
from cmda_mm.engine.hooks import DCAHook
sys.path.insert(0, sys.argv[2])
from test_dca_hook import blobs, fake_runner
dist.init_process_group('gloo')
rank, world = dist.get_rank(), dist.get_world_size()
x = blobs(90)
mixer = CrossModalMixer(dca=True)
parts = [x[:50], x[50:]] if world == 2 else [x]
mixer.record(parts[rank])
DCAHook(n_components=3, covariance_type='full', seed=0).after_train_epoch(fake_runner(mixer))
torch.save(dict(means=mixer.gmm_means, weights=mixer.gmm_weights), f'{sys.argv[1]}/rank{rank}.pt')
dist.destroy_process_group()
'''


def _free_port():
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.mark.parametrize('nproc', [1, 2])
def test_ddp_fit_matches_single_process(tmp_path, nproc):
    script = tmp_path / 'ddp_fit.py'
    script.write_text(DDP_SCRIPT)
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS='1')
    subprocess.run([sys.executable, '-m', 'torch.distributed.run', f'--nproc_per_node={nproc}',
                    f'--master_port={_free_port()}', str(script), str(tmp_path), str(Path(__file__).parent)],
                   check=True, env=env, timeout=120, capture_output=True)
    ref = GaussianMixture(3, 'full', seed=0).fit(blobs(90))
    for rank in range(nproc):
        got = torch.load(tmp_path / f'rank{rank}.pt')
        torch.testing.assert_close(got['means'], ref.means_.float(), atol=1e-5, rtol=0)
