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


def fake_runner(mixer, epoch=0, iteration=0, dataset=None):
    model = types.SimpleNamespace(data_preprocessor=types.SimpleNamespace(cmda=mixer))
    runner = types.SimpleNamespace(model=model, epoch=epoch, iter=iteration, logger=MMLogger.get_instance('test_dca'),
                                   message_hub=MessageHub.get_instance('test_dca'))
    if dataset is not None:
        runner.train_dataloader = types.SimpleNamespace(dataset=dataset)
    return runner


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


def test_empty_bank_keeps_the_last_mixture():
    """An epoch without real rows (cached CMDA replacing every row) records 0 embeddings: no fit, no crash."""
    mixer = CrossModalMixer(dca=True)
    mixer.record(blobs())
    hook = DCAHook(n_components=3, covariance_type='diag', seed=0)
    hook.after_train_epoch(fake_runner(mixer))
    means = mixer.gmm_means.clone()
    mixer.record(blobs()[:0])
    hook.after_train_epoch(fake_runner(mixer, epoch=1))
    assert mixer.dca_ready and torch.equal(mixer.gmm_means, means) and mixer.bank == []


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
import sys, warnings, torch, torch.distributed as dist, types
import cmda_mm
from mmengine.logging import MMLogger, MessageHub
from cmda_mm.core import CrossModalMixer
from cmda_mm.engine.hooks import DCAHook
sys.path.insert(0, sys.argv[2])
from test_dca_hook import blobs, fake_runner
dist.init_process_group('gloo')
rank, world = dist.get_rank(), dist.get_world_size()
scenario = sys.argv[3] if len(sys.argv) > 3 else 'fit'
x = blobs(90)
if scenario == 'fit':  # cached CMDA: each rank caches its share of 12 samples; after the epoch all hold all 12
    cached = CrossModalMixer(dca=False, fraction=0.5, mode='replace', cache_size=12)
    mine = torch.arange(rank, 12, world)
    cached.update_cache(mine, x[mine], -x[mine], real=mine % 3 != 0)
    DCAHook().after_train_epoch(fake_runner(cached))
    torch.save(dict(teacher=cached.cache_teacher, student=cached.cache_student, seen=cached.cache_student_seen),
               f'{sys.argv[1]}/rank{rank}_cache.pt')
mixer = CrossModalMixer(dca=True)
if scenario == 'clip':  # M=8 but only 2 embeddings per rank: clipped with a warning on every rank
    mixer.record(x[2 * rank:2 * rank + 2])
    hook = DCAHook(n_components=8, covariance_type='diag', seed=0)
else:
    parts = [x[:50], x[50:]] if world == 2 else [x]
    mixer.record(parts[rank])
    hook = DCAHook(n_components=3, covariance_type='full', seed=0)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter('always')
    hook.after_train_epoch(fake_runner(mixer))
torch.save(dict(means=mixer.gmm_means, weights=mixer.gmm_weights,
                warnings=[str(w.message) for w in caught if 'DCA' in str(w.message)]),
           f'{sys.argv[1]}/rank{rank}.pt')
dist.destroy_process_group()
'''


def _free_port():
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _run_ddp(tmp_path, nproc, scenario='fit'):
    script = tmp_path / 'ddp_fit.py'
    script.write_text(DDP_SCRIPT)
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS='1')
    return subprocess.run([sys.executable, '-m', 'torch.distributed.run', f'--nproc_per_node={nproc}',
                           f'--master_port={_free_port()}', str(script), str(tmp_path), str(Path(__file__).parent),
                           scenario], env=env, timeout=120, capture_output=True, text=True)


@pytest.mark.parametrize('nproc', [1, 2])
def test_ddp_fit_matches_single_process_and_caches_merge(tmp_path, nproc):
    """The DCA fit on every rank's bank equals one fit on all embeddings; cached CMDA's embedding cache holds
    every rank's writes on every rank after the epoch (and so in the checkpoint, saved from rank 0)."""
    proc = _run_ddp(tmp_path, nproc)
    assert proc.returncode == 0, proc.stderr[-2000:]
    ref = GaussianMixture(3, 'full', seed=0).fit(blobs(90))
    x = blobs(90)[:12]
    real = torch.arange(12) % 3 != 0
    for rank in range(nproc):
        got = torch.load(tmp_path / f'rank{rank}.pt')
        torch.testing.assert_close(got['means'], ref.means_.float(), atol=1e-5, rtol=0)
        cache = torch.load(tmp_path / f'rank{rank}_cache.pt')
        torch.testing.assert_close(cache['teacher'], x)
        assert torch.equal(cache['seen'], real)
        torch.testing.assert_close(cache['student'][real], -x[real])


def test_ddp_m_larger_than_bank_is_clipped_on_every_rank(tmp_path):
    proc = _run_ddp(tmp_path, 2, 'clip')
    assert proc.returncode == 0, proc.stderr[-2000:]
    for rank in range(2):
        got = torch.load(tmp_path / f'rank{rank}.pt')
        assert got['weights'].numel() == 4  # 2 + 2 embeddings gathered: M clipped from 8 to 4
        assert any('M=8' in w and 'only 4' in w for w in got['warnings']), got['warnings']


def test_cache_merge_gathers_every_ranks_updates(monkeypatch):
    """The gathering logic without processes: rank 0 applies its own and the other rank's updates."""
    from cmda_mm.engine.hooks import dca_hook
    x = blobs(12)
    other = CrossModalMixer(dca=False, fraction=0.5, mode='replace', cache_size=12)
    other.update_cache(torch.arange(6, 12), x[6:], x[6:])
    mixer = CrossModalMixer(dca=False, fraction=0.5, mode='replace', cache_size=12)
    mixer.update_cache(torch.arange(6), x[:6], x[:6])
    monkeypatch.setattr(dca_hook.dist, 'get_world_size', lambda: 2)
    monkeypatch.setattr(dca_hook.dist, 'all_gather_object', lambda obj: [obj, other.pop_cache_updates()])
    DCAHook().after_train_epoch(fake_runner(mixer))
    torch.testing.assert_close(mixer.cache_teacher, x)
    assert mixer.cache_student_seen.all()


class _Data:
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n


def test_cache_refuses_a_concat_dataset_and_a_short_cache():
    mixer = CrossModalMixer(dca=False, fraction=0.5, mode='replace', cache_size=300)
    concat = types.SimpleNamespace(datasets=[_Data(300), _Data(200)], __len__=lambda: 500)
    with pytest.raises(ValueError, match=r'ConcatDataset|sample_idx from 0'):
        DCAHook().before_train(fake_runner(mixer, dataset=concat))
    wrapped = types.SimpleNamespace(dataset=concat)  # e.g. RepeatDataset(ConcatDataset(...))
    with pytest.raises(ValueError, match='share cache slots'):
        DCAHook().before_train(fake_runner(mixer, dataset=wrapped))
    with pytest.raises(ValueError, match=r'400 samples but cmda.cache_size=300'):
        DCAHook().before_train(fake_runner(mixer, dataset=types.SimpleNamespace(dataset=_Data(400))))
    DCAHook().before_train(fake_runner(mixer, dataset=types.SimpleNamespace(dataset=_Data(300), times=2)))


def test_a_cache_from_load_from_is_reset_and_a_resumed_one_kept():
    """load_from (training starts at iteration 0): the cache belongs to the run that saved it (another dataset
    with the same length reused its slots silently) and is reset. --resume (iteration > 0) keeps it, and refuses
    a checkpoint cache of another size."""
    x = blobs(12)
    saved = CrossModalMixer(dca=False, fraction=0.5, mode='replace', cache_size=12)
    saved.update_cache(torch.arange(12), x, x)
    resumed = CrossModalMixer(dca=False, fraction=0.5, mode='replace', cache_size=12)
    resumed.load_state_dict(saved.state_dict())
    DCAHook().before_train(fake_runner(resumed, iteration=30))
    assert resumed.cache_student_seen.all()
    loaded = CrossModalMixer(dca=False, fraction=0.5, mode='replace', cache_size=12)
    loaded.load_state_dict(saved.state_dict())
    DCAHook().before_train(fake_runner(loaded, iteration=0))
    assert not loaded.cache_teacher_seen.any() and loaded.cache_teacher.numel() == 0
    bigger = CrossModalMixer(dca=False, fraction=0.5, mode='replace', cache_size=20)
    with pytest.warns(UserWarning, match='cache_size=20'):
        bigger.load_state_dict(saved.state_dict())
    with pytest.raises(ValueError, match='cannot resume cached CMDA.*12 samples but cmda.cache_size=20'):
        DCAHook().before_train(fake_runner(bigger, iteration=30))
    DCAHook().before_train(fake_runner(bigger, iteration=0))  # load_from into a bigger training set: fresh cache
    assert bigger.cache_load_mismatch is None and not bigger.cache_teacher_seen.any()


@pytest.mark.parametrize('kwargs, match', [
    (dict(interval=0), 'interval'),
    (dict(interval=-1), 'interval'),
    (dict(covariance_type='spherical'), 'covariance_type'),
    (dict(criterion='loglik'), 'criterion'),
    (dict(n_components=0), 'n_components'),
    (dict(n_components=[]), 'n_components'),
    (dict(max_samples=0), 'max_samples'),
    (dict(gmm_cfg=dict(reg_covar=-1)), 'reg_covar'),
])
def test_bad_settings_fail_at_build(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DCAHook(**kwargs)


@pytest.mark.parametrize('kwargs, expected_m', [
    (dict(n_components=8), 5),                      # M larger than the bank
    (dict(n_components=[2, 8]), None),              # a BIC candidate larger than the bank
    (dict(n_components=4, max_samples=3), 3),       # M larger than max_samples
])
def test_m_larger_than_available_is_clipped_with_a_warning(kwargs, expected_m):
    mixer = CrossModalMixer(dca=True)
    mixer.record(blobs(60)[::12])  # 5 embeddings
    with pytest.warns(UserWarning, match='DCA: .*M='):
        DCAHook(seed=0, **kwargs).after_train_epoch(fake_runner(mixer))
    assert mixer.dca_ready
    if expected_m is not None:
        assert mixer.gmm_weights.numel() == expected_m
    else:
        assert mixer.gmm_weights.numel() in (2, 5)


def test_seed_comes_from_the_run():
    hook = DCAHook()
    hook.before_run(types.SimpleNamespace(seed=1234))
    assert hook.seed == 1234
    fixed = DCAHook(seed=7)
    fixed.before_run(types.SimpleNamespace(seed=1234))
    assert fixed.seed == 7
    x = blobs(90)
    fits = {}
    for seed in (1, 1, 2):
        mixer = CrossModalMixer(dca=True)
        mixer.record(x)
        hook = DCAHook(n_components=6, seed=None)
        hook.before_run(types.SimpleNamespace(seed=seed))
        hook.after_train_epoch(fake_runner(mixer))
        fits.setdefault(seed, []).append(mixer.gmm_means.clone())
    torch.testing.assert_close(fits[1][0], fits[1][1])
    assert not torch.allclose(fits[1][0], fits[2][0])


@pytest.mark.parametrize('warm_start', [False, True])
def test_warm_start_refit_starts_from_last_epoch(warm_start):
    """gmm_cfg=dict(warm_start=True): each epoch's refit starts from the mixture in the mixer's buffers."""
    x = torch.randn(400, 4, generator=torch.Generator().manual_seed(0))  # one blob, M=4: EM converges slowly
    mixer = CrossModalMixer(dca=True)
    hook = DCAHook(n_components=4, seed=0, gmm_cfg=dict(warm_start=warm_start, tol=1e-6, max_iter=500))
    mixer.record(x)
    hook.after_train_epoch(fake_runner(mixer))
    refit, _ = hook.fit(x + 0.01, previous=mixer.get_gmm())
    fresh, _ = hook.fit(x + 0.01)
    if warm_start:
        assert refit.n_iter_ < fresh.n_iter_ / 4
    else:
        assert refit.n_iter_ == fresh.n_iter_  # the previous mixture is not used


def test_hook_hands_the_last_mixture_to_the_refit(monkeypatch):
    mixer = CrossModalMixer(dca=True)
    hook = DCAHook(n_components=2, seed=0, gmm_cfg=dict(warm_start=True))
    seen = []
    fit = hook.fit
    monkeypatch.setattr(hook, 'fit',
                        lambda bank, m=None, previous=None: seen.append(previous) or fit(bank, m, previous))
    for epoch in range(2):
        mixer.record(blobs())
        hook.after_train_epoch(fake_runner(mixer, epoch))
    assert seen[0] is None and isinstance(seen[1], GaussianMixture)
