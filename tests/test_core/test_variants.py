"""Issue-16 variants of the CMDA step: each test fails when its option is ignored (the default behaves otherwise)."""
import pytest
import torch
import torch.nn.functional as F

from cmda_mm.core import CrossModalMixer, GaussianMixture, beta_from_moments, inter_modal_weights, sample_pair_weights
from cmda_mm.core.dca import dca_weights
from cmda_mm.core.variants import random_partners, set_pair_weight

PAPER = dict(type='teacher')  # the paper's pair weight (the default draws it from Beta(0.25))


def _emb(n, d=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    return F.normalize(torch.randn(n, d, generator=g), dim=1)


def _clustered(n=32, d=8, seed=0):
    """Two tight clusters (labels 0 / 1) far apart, teacher = student + noise (an aligned space)."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 2
    centres = torch.zeros(2, d)
    centres[0, 0], centres[1, 1] = 1.0, 1.0
    student = F.normalize(centres[labels] + 0.6 * torch.randn(n, d, generator=g), dim=1)
    teacher = F.normalize(student + 0.05 * torch.randn(n, d, generator=g), dim=1)
    return teacher, student, labels


@pytest.mark.parametrize('kwargs, match', [
    (dict(warmup_iters=-1), 'warmup_iters'),
    (dict(align_threshold=1.5), 'align_threshold'),
    (dict(align_momentum=1.0), 'align_momentum'),
    (dict(pair_weight=dict(type='uniform')), 'pair_weight'),
    (dict(pair_weight=dict(type='beta', alpha=0)), 'alpha'),
    (dict(pair_weight=dict(type='floor', min=2)), 'min'),
    (dict(pair_weight=dict(type='beta', lam=1)), 'unknown keys'),
    (dict(partners='nearest'), 'partners'),
    (dict(dca_mode='medium'), 'dca_mode'),
    (dict(cache_size=100), "mode='replace'"),
    (dict(cache_size=1, mode='replace'), 'cache_size'),
])
def test_bad_variant_settings_fail_at_build(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CrossModalMixer(**kwargs)


# ---- 1. warm-up / alignment gate ------------------------------------------------------------------------
def test_warmup_iters_skips_the_first_batches():
    teacher, student, _ = _clustered(8)
    x = torch.randn(8, 3)
    gated = CrossModalMixer(fraction=1.0, dca=False, warmup_iters=2)
    assert [gated.augment(x, teacher, student) is None for _ in range(3)] == [True, True, False]
    assert CrossModalMixer(fraction=1.0, dca=False).augment(x, teacher, student) is not None  # default mixes
    gated.eval()  # evaluation forwards do not count
    before = gated.iters
    gated.augment(x, teacher, student)
    assert gated.iters == before


def test_alignment_gate_opens_only_when_aligned_and_resumes():
    teacher, student, _ = _clustered(16)
    x = torch.randn(16, 3)
    aligned = CrossModalMixer(fraction=1.0, dca=False, align_threshold=0.8, align_momentum=0.5)
    results = [aligned.augment(x, teacher, student) is None for _ in range(4)]
    assert results[0] and not results[-1]  # EMA 0.5 after one batch, then >= 0.8
    assert float(aligned.align_ema) >= 0.8
    random_teacher = _emb(16, seed=5)
    closed = CrossModalMixer(fraction=1.0, dca=False, align_threshold=0.8, align_momentum=0.5)
    assert all(closed.augment(x, random_teacher, student) is None for _ in range(6))
    assert not closed.gate_open
    resumed = CrossModalMixer(fraction=1.0, dca=False, align_threshold=0.8)
    resumed.load_state_dict(aligned.state_dict())
    assert resumed.gate_open and resumed.iters == aligned.iters
    assert resumed.augment(x, random_teacher, student) is not None  # the gate stays open after resume


# ---- 2. mixing strength ----------------------------------------------------------------------------------
def test_beta_pair_weight_sets_the_strength_and_keeps_partner_ratios():
    teacher, student, _ = _clustered(64)
    default = CrossModalMixer(fraction=1.0, dca=False, seed=0, pair_weight=PAPER)(teacher, student)
    beta = CrossModalMixer(fraction=1.0, dca=False, seed=0, pair_weight=dict(type='beta', alpha=0.2))
    plan = beta(teacher, student)
    rows = plan.rows
    pair_default = default.weights[rows, rows]
    pair_beta = plan.weights[rows, rows]
    has_partner = pair_default < 1
    assert (pair_beta[has_partner] >= 0.5).all()  # folded to max(l, 1 - l)
    assert pair_beta[has_partner].std() > 0.05  # drawn per new sample
    assert pair_beta[has_partner].mean() > pair_default[has_partner].mean() + 0.2  # U-shaped Beta(0.2): mild
    # the teacher still chooses the partners and their relative weights
    assert not ((plan.weights > 0) & (default.weights == 0)).any()  # (a draw of exactly 1 drops the partners)
    has_partner &= pair_beta < 1
    partners = default.weights.clone()
    partners[rows, rows] = 0
    new_partners = plan.weights.clone()
    new_partners[rows, rows] = 0
    torch.testing.assert_close(F.normalize(new_partners[has_partner], p=1, dim=1),
                               F.normalize(partners[has_partner], p=1, dim=1))
    torch.testing.assert_close(plan.weights.sum(1), torch.ones(len(rows)))


def test_floor_pair_weight():
    teacher, student, _ = _clustered(32)
    default = CrossModalMixer(fraction=1.0, dca=False, pair_weight=PAPER)(teacher, student)
    rows = default.rows
    assert (default.weights[rows, rows] < 0.8).any()
    floored = CrossModalMixer(fraction=1.0, dca=False, pair_weight=dict(type='floor', min=0.8))(teacher, student)
    assert (floored.weights[rows, rows] >= 0.8 - 1e-6).all()
    torch.testing.assert_close(floored.weights.sum(1), torch.ones(len(rows)))


def test_set_pair_weight_without_partners_stays_on_the_pair():
    weights = torch.tensor([[1.0, 0.0, 0.0], [0.5, 0.25, 0.25]])
    out = set_pair_weight(weights, torch.tensor([0, 0]), torch.tensor([0.7, 0.7]))
    torch.testing.assert_close(out, torch.tensor([[1.0, 0.0, 0.0], [0.7, 0.15, 0.15]]))


def test_default_pair_weight_is_the_studied_beta():
    """``cmda=dict()`` draws the pair weight from Beta(0.25) (issue 16's default); ``type='teacher'`` is the paper."""
    assert CrossModalMixer().pair_weight == dict(type='beta', alpha=0.25)
    assert CrossModalMixer(pair_weight=PAPER).pair_weight is None
    teacher, student, _ = _clustered(64)
    paper = CrossModalMixer(fraction=1.0, dca=False, seed=0, pair_weight=PAPER)(teacher, student)
    default = CrossModalMixer(fraction=1.0, dca=False, seed=0)(teacher, student)
    rows = default.rows
    has_partner = paper.weights[rows, rows] < 1
    pair = default.weights[rows, rows][has_partner]
    assert (pair >= 0.5).all() and pair.mean() > paper.weights[rows, rows][has_partner].mean() + 0.2


def test_beta_draws_match_the_distribution():
    """Mean and variance of Beta(α, β) draws: α = 0.25 (U-shaped, mass near 0 and 1) and an asymmetric pair."""
    g = torch.Generator().manual_seed(0)
    for a, b in [(0.25, 0.25), (0.5, 3.0), (7.0, 0.4)]:
        lam = sample_pair_weights(40000, a, g, beta=b).double()
        mean, var = a / (a + b), a * b / ((a + b)**2 * (a + b + 1))
        assert lam.isfinite().all() and ((lam >= 0) & (lam <= 1)).all()
        assert abs(float(lam.mean()) - mean) < 0.01 and abs(float(lam.var()) - var) < 0.05 * var
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    assert torch.equal(sample_pair_weights(16, 0.25, g1), sample_pair_weights(16, 0.25, g2))  # the generator's


def test_gamma_draws_pass_a_ks_test():
    """The hand-written Gamma sampler behind the Beta draws, against scipy's CDF (both branches: shape < 1 boosted)."""
    stats = pytest.importorskip('scipy.stats')
    from cmda_mm.core.variants import _log_gamma_draws
    g = torch.Generator().manual_seed(0)
    for shape in (0.25, 0.5, 1.0, 3.0, 7.0):
        x = _log_gamma_draws(shape, 40000, g).exp()
        assert stats.kstest(x.numpy(), 'gamma', args=(shape, )).pvalue > 1e-3, shape


def test_sample_pair_weights_and_beta_from_moments():
    lam = sample_pair_weights(20000, 2.0, torch.Generator().manual_seed(0), beta=6.0)
    assert abs(float(lam.mean()) - 0.25) < 0.01
    a, b = beta_from_moments(float(lam.mean()), float(lam.var()))
    assert abs(a - 2.0) < 0.2 and abs(b - 6.0) < 0.6
    folded = sample_pair_weights(1000, 0.5, torch.Generator().manual_seed(0), fold=True)
    assert (folded >= 0.5).all()
    with pytest.raises(ValueError, match='var'):
        beta_from_moments(0.5, 0.3)


# ---- 3. partner choice ----------------------------------------------------------------------------------
def test_same_class_partners():
    teacher, student, labels = _clustered(32)
    labels = torch.randint(3, (32, ), generator=torch.Generator().manual_seed(1))  # classes cut across clusters
    default = CrossModalMixer(fraction=1.0, dca=False, top_k=4, pair_weight=PAPER)(teacher, student, labels)
    cross = labels.view(1, -1) != labels[default.rows].view(-1, 1)
    assert (default.weights * cross).sum() > 0  # the teacher alone picks cross-class partners here
    same = CrossModalMixer(fraction=1.0, dca=False, top_k=4, partners='same_class', pair_weight=PAPER)
    same = same(teacher, student, labels)
    assert (same.weights * cross).sum() == 0
    torch.testing.assert_close(same.diagnostics['same_class_weight'], torch.tensor(1.0))
    with pytest.raises(ValueError, match='labels'):
        CrossModalMixer(partners='same_class')(teacher, student)


def test_allowed_mask_in_inter_modal_weights():
    teacher, student = _emb(6, seed=1), _emb(6, seed=2)
    allowed = torch.zeros(6, 6, dtype=torch.bool)
    allowed[:, 0] = True
    w = inter_modal_weights(teacher, student, top_k=3, allowed=allowed)
    off = ~allowed
    off[torch.arange(6), torch.arange(6)] = False  # the pair is always allowed
    assert (w[off] == 0).all()
    torch.testing.assert_close(w.sum(1), torch.ones(6))


def test_hard_dca_keeps_partners_in_the_pairs_cluster():
    teacher, student, labels = _clustered(32)
    gmm = GaussianMixture(2, 'diag', seed=0).fit(student)
    cluster = gmm.predict_proba(student).argmax(1)
    soft = CrossModalMixer(fraction=1.0, top_k=None, normalization='abs', pair_weight=PAPER)
    hard = CrossModalMixer(fraction=1.0, top_k=None, normalization='abs', dca_mode='hard', pair_weight=PAPER)
    for mixer in (soft, hard):
        mixer.set_gmm(gmm)
    other = cluster.view(1, -1) != cluster.view(-1, 1)
    assert (soft(teacher, student).weights * other).sum() > 0.01  # the soft product only down-weighs
    assert (hard(teacher, student).weights * other).sum() == 0
    resp = gmm.predict_proba(student)
    gate = dca_weights(resp, resp, mode='hard')
    assert set(gate.unique().tolist()) <= {0.0, 1.0} and torch.equal(gate.diagonal(), torch.ones(32))


# ---- 4. controls -----------------------------------------------------------------------------------------
def test_random_partners_keep_the_weights_but_not_the_teachers_choice():
    teacher, student, _ = _clustered(64)
    default = CrossModalMixer(fraction=1.0, dca=False, seed=0, pair_weight=PAPER)(teacher, student)
    control = CrossModalMixer(fraction=1.0, dca=False, seed=0, partners='random', pair_weight=PAPER)(teacher, student)
    rows = default.rows
    torch.testing.assert_close(control.weights.sort(1).values, default.weights.sort(1).values)
    torch.testing.assert_close(control.weights[rows, rows], default.weights[rows, rows])
    chosen, teacher_chosen = control.weights > 0, default.weights > 0
    assert (chosen != teacher_chosen).any(1).float().mean() > 0.8


def test_random_partners_never_land_on_the_pair():
    weights = torch.full((5, 5), 0.2)
    out = random_partners(weights, torch.arange(5), torch.Generator().manual_seed(0))
    torch.testing.assert_close(out, weights)
    w = torch.tensor([[0.5, 0.5, 0.0, 0.0]])
    out = random_partners(w, torch.tensor([0]), torch.Generator().manual_seed(3))
    assert out[0, 0] == 0.5 and out.sum() == 1 and (out > 0).sum() == 2


# ---- 5. embedding cache ----------------------------------------------------------------------------------
def test_cache_weights_follow_the_cached_embeddings_and_resume():
    teacher, student, _ = _clustered(16)
    x = torch.randn(16, 3)
    mixer = CrossModalMixer(fraction=1.0, dca=False, mode='replace', cache_size=40, seed=0, pair_weight=PAPER)
    index = torch.arange(10, 26)
    assert mixer.augment_cached(x, index) is None  # nothing cached yet
    mixer.update_cache(index, teacher, student)
    reference = CrossModalMixer(fraction=1.0, dca=False, seed=0, pair_weight=PAPER)
    new = mixer.augment_cached(x, index, targets=torch.eye(16))
    plan = reference(teacher, student)
    torch.testing.assert_close(new.weights, plan.weights)
    torch.testing.assert_close(new.inputs, plan.weights @ x)
    # a permuted batch: the cache is read by dataset index, not batch position
    perm = torch.randperm(16, generator=torch.Generator().manual_seed(2))
    new_perm = mixer.augment_cached(x[perm], index[perm])
    torch.testing.assert_close(new_perm.weights, plan.weights[perm][:, perm])
    # resume carries the cache
    resumed = CrossModalMixer(fraction=1.0, dca=False, mode='replace', cache_size=40, seed=0, pair_weight=PAPER)
    resumed.load_state_dict(mixer.state_dict())
    torch.testing.assert_close(resumed.cache_teacher, mixer.cache_teacher)
    assert torch.equal(resumed.cache_student_seen, mixer.cache_student_seen)


def test_cache_fallback_for_samples_not_seen():
    teacher, student, _ = _clustered(8)
    mixer = CrossModalMixer(fraction=1.0, dca=False, mode='replace', cache_size=8, top_k=None)
    index = torch.arange(8)
    mixer.update_cache(index, teacher, student, real=torch.arange(8) < 4)  # students 4..7 not seen
    new = mixer.augment_cached(torch.randn(8, 3), index)
    w = new.weights
    assert (w[:4, 4:] == 0).all()  # students not cached are never partners
    torch.testing.assert_close(w[4:], torch.eye(8)[4:])  # rows not cached stay their own sample
    assert (w[:4, :4] > 0).sum() > 4  # cached rows do mix


def test_cache_keeps_the_old_student_embedding_of_mixed_rows():
    teacher, student, _ = _clustered(8)
    mixer = CrossModalMixer(mode='replace', cache_size=8)
    index = torch.arange(8)
    mixer.update_cache(index, teacher, student)
    mixed = torch.arange(8) >= 6
    mixer.update_cache(index, teacher, -student, real=~mixed)
    torch.testing.assert_close(mixer.cache_student[:6], -student[:6])
    torch.testing.assert_close(mixer.cache_student[6:], student[6:])  # a mixed row's embedding is not its own
    with pytest.raises(ValueError, match='real'):
        mixer.update_cache(index, teacher, student, real=torch.arange(8))


def test_cache_replacing_every_row_warns():
    """fraction = 1 with the cache: no real row refreshes it or feeds DCA; the build says so (p/(1+p) instead)."""
    with pytest.warns(UserWarning, match=r'p / \(1 \+ p\)'):
        CrossModalMixer(fraction=1.0, mode='replace', cache_size=40)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        CrossModalMixer(fraction=0.5, mode='replace', cache_size=40)


def test_dca_shift_measures_dca_alone_under_a_drawn_pair_weight():
    """`cmda_dca_shift` is DCA's move; a Beta pair weight or random partners applied after it must not count."""
    teacher, student, labels = _clustered()
    shifts = {}
    for name, kwargs in {'paper': {}, 'beta': dict(pair_weight=dict(type='beta', alpha=0.25)),
                         'random': dict(partners='random')}.items():
        mixer = CrossModalMixer(fraction=1.0, top_k=4, seed=0, **kwargs)
        mixer.set_gmm(GaussianMixture(2, 'diag', seed=0).fit(student))
        shifts[name] = float(mixer(teacher, student, labels).diagnostics['dca_shift'])
    assert shifts['paper'] > 0
    assert shifts['beta'] == pytest.approx(shifts['paper']) and shifts['random'] == pytest.approx(shifts['paper'])
