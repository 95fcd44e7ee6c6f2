"""The CMDA step (CrossModalMixer.augment / forward): tiny batches, validation, teacher-driven weights, soft
targets, seeds from the run, fp32 under autocast and a sync-free hot path."""
import pytest
import torch
import torch.nn.functional as F

from cmda_mm.core import CrossModalMixer, GaussianMixture, run_seed


def _emb(n, d=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    return F.normalize(torch.randn(n, d, generator=g), dim=1)


@pytest.mark.parametrize('batch_size', [1, 2, 3])
def test_any_batch_size(batch_size):
    """A last batch of 1 is not mixed (a single mixed sample would break BatchNorm); from 2 on, >= 2 new samples."""
    mixer = CrossModalMixer(fraction=0.5, dca=False)
    z = _emb(batch_size)
    new = mixer.augment(torch.randn(batch_size, 5), z, z)
    if batch_size == 1:
        assert new is None
    else:
        assert new.inputs.shape == (new.rows.numel(), 5) and new.rows.numel() >= 2


def test_fraction_rounding_to_zero_does_not_mix():
    mixer = CrossModalMixer(fraction=0.1, dca=False)  # round(0.1 * 4) == 0
    z = _emb(4)
    plan = mixer(z, z)
    assert plan.rows.numel() == 0 and plan.weights.shape == (0, 4) and plan.diagnostics == {}
    assert mixer.augment(torch.randn(4, 3), z, z, targets=torch.eye(4)) is None


@pytest.mark.parametrize('kwargs, match', [
    (dict(top_k=0), 'top_k'),
    (dict(top_k=-1), 'top_k'),
    (dict(top_k=1.5), 'top_k'),
    (dict(normalization='softmax', temperature=0), 'temperature'),
    (dict(normalization='softmax', temperature=-0.1), 'temperature'),
    (dict(covariance_type='spherical'), 'covariance_type'),
    (dict(n_components=0), 'n_components'),
])
def test_bad_settings_fail_at_build(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CrossModalMixer(**kwargs)


def test_teacher_decides_the_weights():
    """Teacher i looks like student perm[i]: the weights follow the teacher, not the student's own neighbours."""
    student = _emb(8)
    perm = torch.tensor([3, 0, 5, 1, 7, 2, 4, 6])
    teacher = student[perm]
    mixer = CrossModalMixer(normalization='softmax', temperature=0.05, top_k=2, fraction=1.0, dca=False,
                            pair_weight=dict(type='teacher'))  # the paper's pair weight
    plan = mixer(teacher, student)
    rows = torch.arange(8)
    assert torch.equal(plan.rows, rows)
    chosen = plan.weights > 0
    assert chosen[rows, perm].all() and chosen[rows, rows].all()  # teacher's match + own pair
    assert (plan.weights[rows, perm] > plan.weights[rows, rows]).all()


def test_new_samples_are_weighted_mixes_with_soft_targets():
    """x_new = W @ x and y_new = W @ Y (soft), not the teacher's hard label."""
    g = torch.Generator().manual_seed(0)
    student, teacher = _emb(6, seed=1), _emb(6, seed=2)
    x = torch.randn(6, 4, generator=g)
    y = F.one_hot(torch.tensor([0, 1, 2, 0, 1, 2]), 3).float()
    new = CrossModalMixer(normalization='softmax', temperature=1.0, top_k=3, dca=False).augment(x, teacher, student, y)
    torch.testing.assert_close(new.inputs, new.weights @ x)
    torch.testing.assert_close(new.targets, new.weights @ y)
    assert (new.targets.max(1).values < 1 - 1e-3).any()  # some target is genuinely soft


def test_seed_comes_from_the_run():
    def draws(seed):
        torch.manual_seed(seed)  # what mmengine's randomness.seed does before the model is built
        mixer = CrossModalMixer(fraction=0.5, dca=False)
        z = _emb(16)
        return torch.stack([mixer(z, z).rows for _ in range(5)])

    assert torch.equal(draws(1), draws(1))
    assert not torch.equal(draws(1), draws(2))
    torch.manual_seed(3)
    assert CrossModalMixer().seed == run_seed() == 3
    assert CrossModalMixer(seed=11).seed == 11  # an explicit seed still wins


@pytest.mark.parametrize('dca', [False, True])
def test_weights_are_fp32_under_autocast(dca):
    mixer = CrossModalMixer(normalization='softmax', temperature=0.05, top_k=None, fraction=1.0, dca=dca)
    student, teacher = _emb(64, 32, seed=1), _emb(64, 32, seed=2)
    if dca:
        mixer.set_gmm(GaussianMixture(3, 'diag').fit(student))
    with torch.autocast('cpu', dtype=torch.bfloat16):
        new = mixer.augment(torch.randn(64, 5), teacher, student)
    assert new.weights.dtype == torch.float32
    assert float((new.weights.sum(1) - 1).abs().max()) <= 1e-6


def _forbid_host_reads(monkeypatch):
    def read(*args, **kwargs):
        raise AssertionError('host read of a tensor value (a device sync on a GPU) in the CMDA hot path')

    for name in ('__bool__', '__int__', '__float__', '__index__', 'item', 'tolist'):
        monkeypatch.setattr(torch.Tensor, name, read)


@pytest.mark.parametrize('pair_weight', [None, dict(type='teacher')])  # the default (Beta draws) and the paper
@pytest.mark.parametrize('normalization', ['ratio', 'softmax', 'abs'])
def test_hot_path_reads_no_tensor_value(monkeypatch, normalization, pair_weight):
    student, teacher = _emb(16, seed=1), _emb(16, seed=2)
    mixer = CrossModalMixer(normalization=normalization, fraction=0.5, pair_weight=pair_weight)
    mixer.set_gmm(GaussianMixture(2, 'diag').fit(student))
    mixer.get_gmm()  # the mixture object is rebuilt once per fit, not per step
    labels = torch.arange(16) % 3
    with monkeypatch.context() as m:
        _forbid_host_reads(m)
        new = mixer.augment(torch.randn(16, 4), teacher, student, torch.eye(16), labels)
    assert new is not None and set(new.diagnostics) >= {'pair_weight', 'dca_shift', 'same_class_weight'}
    debug = CrossModalMixer(normalization=normalization, fraction=0.5, debug=True)
    with monkeypatch.context() as m, pytest.raises(AssertionError, match='host read'):
        _forbid_host_reads(m)
        debug.augment(torch.randn(16, 4), teacher, student)  # debug mode checks values (and so syncs)


def test_records_only_in_training():
    mixer = CrossModalMixer(fraction=0.0)
    z = _emb(4)
    assert mixer.augment(torch.randn(4, 2), z, z) is None and len(mixer.bank) == 1
    mixer.eval()
    mixer.augment(torch.randn(4, 2), z, z)
    assert len(mixer.bank) == 1


@pytest.mark.parametrize('buffer, corrupt', [('gmm_weights', lambda w: w.fill_(float('nan'))),
                                             ('gmm_weights', lambda w: w.mul_(-1)),
                                             ('gmm_means', lambda m: m.fill_(float('nan'))),
                                             ('gmm_precisions_cholesky', lambda p: p.zero_())])
def test_loading_a_corrupt_mixture_fails_naming_the_buffer(buffer, corrupt):
    """``--resume`` from a checkpoint with a corrupt DCA mixture fails at load, naming the checkpoint key (it
    loaded, then logged cmda_dca_shift: nan and made no new samples that epoch)."""
    g = torch.Generator().manual_seed(0)
    mixer = CrossModalMixer()
    mixer.set_gmm(GaussianMixture(2, 'diag', seed=0).fit(torch.randn(40, 4, generator=g)))
    state = {k: v.clone() for k, v in mixer.state_dict().items()}
    corrupt(state[buffer])
    with pytest.raises(ValueError, match=f'`{buffer}`'):
        CrossModalMixer().load_state_dict(state)
    CrossModalMixer().load_state_dict(mixer.state_dict())  # an intact mixture loads
