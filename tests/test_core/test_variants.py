"""Issue-16 variants of the CMDA step: each test fails when its option is ignored (the default behaves otherwise)."""
import pytest
import torch
import torch.nn.functional as F

from cmda_mm.core import CrossModalMixer, GaussianMixture, beta_from_moments, inter_modal_weights, sample_pair_weights
from cmda_mm.core.dca import dca_weights
from cmda_mm.core.variants import DEFAULT_PAIR_WEIGHT, random_partners, set_pair_weight

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
    (dict(pair_weight=dict(type='beta', lam=1)), 'takes alpha'),
    (dict(pair_weight=dict(type='floor', alpha=0.3)), 'takes min'),   # was: trained with min=0.5
    (dict(pair_weight=dict(type='beta', min=0.3)), 'takes alpha'),
    (dict(pair_weight=dict(type='teacher', alpha=0.3)), 'no other key'),
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


def test_alignment_gate_latches_open_when_the_alignment_drops_and_resumes_latched():
    """Once open the gate stays open, also after the EMA falls below the threshold, and a resumed run keeps it
    open though the restored EMA is below the threshold (the latch is in the checkpoint, not re-derived)."""
    teacher, student, _ = _clustered(16)
    random_teacher = _emb(16, seed=5)
    x = torch.randn(16, 3)
    mixer = CrossModalMixer(fraction=1.0, dca=False, align_threshold=0.8, align_momentum=0.5)
    for _ in range(4):
        mixer.augment(x, teacher, student)
    assert mixer.gate_open
    outs = [mixer.augment(x, random_teacher, student) for _ in range(4)]  # the alignment collapses
    assert float(mixer.align_ema) < 0.5
    assert all(out is not None for out in outs)  # latched: still mixing
    resumed = CrossModalMixer(fraction=1.0, dca=False, align_threshold=0.8, align_momentum=0.5)
    resumed.load_state_dict(mixer.state_dict())
    assert float(resumed.align_ema) < 0.5 and resumed.gate_open
    assert resumed.augment(x, random_teacher, student) is not None
    fresh = CrossModalMixer(fraction=1.0, dca=False, align_threshold=0.8, align_momentum=0.5)
    fresh.load_state_dict({k: v for k, v in mixer.state_dict().items() if k != 'gate_state'})
    assert fresh.augment(x, random_teacher, student) is None  # without the latch the low EMA keeps it closed


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


def test_beta_pair_weight_without_alpha_is_the_shipped_beta():
    """dict(type='beta') without alpha is the shipped Beta(0.25) (it was Beta(1, 1)): same draws as the default."""
    assert CrossModalMixer(pair_weight=dict(type='beta')).pair_weight == DEFAULT_PAIR_WEIGHT
    assert CrossModalMixer(pair_weight=dict(type='floor')).pair_weight == dict(type='floor', min=0.5)
    teacher, student, _ = _clustered(64)
    bare = CrossModalMixer(fraction=1.0, dca=False, seed=0, pair_weight=dict(type='beta'))(teacher, student)
    default = CrossModalMixer(fraction=1.0, dca=False, seed=0)(teacher, student)
    torch.testing.assert_close(bare.weights, default.weights)


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
    arms = {'paper': dict(pair_weight=PAPER), 'beta': dict(pair_weight=dict(type='beta', alpha=0.25)),
            'random': dict(partners='random', pair_weight=PAPER)}
    shifts, final = {}, {}
    for name, kwargs in arms.items():
        mixer = CrossModalMixer(fraction=1.0, top_k=4, seed=0, **kwargs)
        mixer.set_gmm(GaussianMixture(2, 'diag', seed=0).fit(student))
        plan = mixer(teacher, student, labels)
        shifts[name], final[name] = float(plan.diagnostics['dca_shift']), plan.weights
    assert shifts['paper'] > 0
    assert shifts['beta'] == pytest.approx(shifts['paper']) and shifts['random'] == pytest.approx(shifts['paper'])
    # the arms' final weights differ (a shift measured after the variants would count that difference)
    assert (final['paper'] - final['beta']).abs().sum(1).mean() > 0.1
    assert (final['paper'] - final['random']).abs().sum(1).mean() > 0.1


# ---- 6. value tests at fraction = 0.5 (a row's position is not its pair's index) -------------------------
def _reference_weights(teacher, student, rows, top_k, allowed=None, resp=None):
    """Eq. 10 ('ratio') and Eq. 11 written out row by row, independent of the library's functions: the pair plus
    the top m' - 1 *allowed* partners by score, negative scores clamped, times ``p(c_j|x_i) + p(c_i|x_i)`` of
    the row's own student sample i = rows[r] with DCA, normalised (one-hot on the pair without mass)."""
    scores = teacher @ student.t()
    out = torch.zeros(len(rows), student.shape[0])
    for r, pair in enumerate(rows.tolist()):
        candidates = [j for j in range(student.shape[0]) if j != pair and (allowed is None or bool(allowed[r, j]))]
        candidates.sort(key=lambda j: -float(scores[pair, j]))
        chosen = [pair] + candidates[:top_k - 1]
        w = scores[pair, chosen].clamp_min(0)
        if resp is not None:
            cluster = resp.argmax(1)
            w = w * (resp[pair, cluster[chosen]] + resp[pair].max())
        if float(w.sum()) <= 0:
            w = torch.tensor([1.0] + [0.0] * (len(chosen) - 1))
        out[r, chosen] = w / w.sum()
    return out


def _by_class(labels, rows, same):
    eq = labels.view(1, -1) == labels[rows].view(-1, 1)
    return eq if same else ~eq


def test_dca_weights_at_half_fraction_use_each_rows_own_responsibilities():
    """DCA reads p(c | x_i) of row r's own sample rows[r] (not of batch position r)."""
    teacher, student, labels = _clustered(32)
    gmm = GaussianMixture(2, 'diag', seed=0).fit(student)
    mixer = CrossModalMixer(fraction=0.5, top_k=4, seed=3, pair_weight=PAPER)
    mixer.set_gmm(gmm)
    plan = mixer(teacher, student, labels)
    rows = plan.rows
    assert len(rows) == 16 and not torch.equal(rows, torch.arange(16))
    resp = gmm.predict_proba(student).float()
    want = _reference_weights(teacher, student, rows, 4, resp=resp)
    torch.testing.assert_close(plan.weights, want, atol=1e-5, rtol=1e-4)
    no_dca = _reference_weights(teacher, student, rows, 4)
    assert (plan.weights - no_dca).abs().max() > 0.05  # DCA moves these weights (so reading it wrong shows)


@pytest.mark.parametrize('kwargs, same', [(dict(partners='same_class'), True),
                                          (dict(partner_pool='same_class'), True),
                                          (dict(partner_pool='other_class'), False)])
def test_class_pools_at_half_fraction_choose_the_top_partners_within_the_pairs_pool(kwargs, same):
    """The pool is the class of row r's pair rows[r], applied *before* the top-m' choice (m' - 1 partners
    from the pool, not the top m' of the batch with the others dropped)."""
    teacher, student, _ = _clustered(32)
    labels = torch.randint(3, (32, ), generator=torch.Generator().manual_seed(1))
    mixer = CrossModalMixer(fraction=0.5, top_k=4, dca=False, seed=3, pair_weight=PAPER, **kwargs)
    plan = mixer(teacher, student, labels)
    rows = plan.rows
    assert not torch.equal(rows, torch.arange(len(rows)))
    allowed = _by_class(labels, rows, same)
    torch.testing.assert_close(plan.weights, _reference_weights(teacher, student, rows, 4, allowed=allowed))
    outside = ~allowed
    outside[torch.arange(len(rows)), rows] = False
    assert (plan.weights[outside] == 0).all()
    # each row has its m' - 1 = 3 partners (when its pool has them and their scores are positive)
    assert ((plan.weights > 0).sum(1) == 4).float().mean() > 0.5


@pytest.mark.parametrize('fraction', [1.0, 0.5])
def test_other_class_pool_at_the_shipped_xclass_settings(fraction):
    """configs/fashion/cmda-xclass_resnet18w8_fashion-32px.py: one partner (top_k=2), the teacher's top-scored
    sample of another class, softmax weights, pair weight drawn from Beta(0.25) folded to >= 0.5."""
    teacher, student, labels = _clustered(32)  # classes = clusters: the teacher's top partner is same-class
    mixer = CrossModalMixer(partner_pool='other_class', top_k=2, normalization='softmax',
                            pair_weight=dict(type='beta', alpha=0.25), mode='replace', fraction=fraction, dca=False,
                            seed=0)
    plan = mixer(teacher, student, labels)
    rows = plan.rows
    scores = teacher[rows] @ student.t()
    other = _by_class(labels, rows, same=False)
    want_partner = scores.masked_fill(~other, float('-inf')).argmax(1)
    anywhere = scores.scatter(1, rows.view(-1, 1), float('-inf')).argmax(1)
    assert (labels[anywhere] == labels[rows]).float().mean() > 0.8  # without the pool: same-class partners
    pair = plan.weights[torch.arange(len(rows)), rows]
    mixed = pair < 1  # a Beta draw can be exactly 1 (no partner)
    assert mixed.float().mean() > 0.5 and (pair >= 0.5).all()
    partners = plan.weights.clone()
    partners[torch.arange(len(rows)), rows] = 0
    assert ((partners > 0).sum(1)[mixed] == 1).all()
    assert torch.equal(partners[mixed].argmax(1), want_partner[mixed])
    torch.testing.assert_close(partners.sum(1), 1 - pair)
    torch.testing.assert_close(plan.diagnostics['same_class_weight'], pair.mean())


def test_sampled_partners_follow_softmax_of_the_scores():
    """partners='sampled': the partner of pair i is drawn with probability softmax(score_ij / tau) over j != i
    (Gumbel-top-k); counted over 3000 batches at fraction = 0.5 (rows vary, read by pair index)."""
    n, tau = 6, 0.5
    teacher, student = _emb(n, seed=1), _emb(n, seed=2)
    mixer = CrossModalMixer(fraction=0.5, top_k=2, normalization='softmax', partners='sampled',
                            partner_temperature=tau, pair_weight=PAPER, dca=False, seed=0)
    counts = torch.zeros(n, n)
    for _ in range(3000):
        plan = mixer(teacher, student)
        counts.index_add_(0, plan.rows, (plan.weights > 0).float())
    counts.fill_diagonal_(0)
    freq = counts / counts.sum(1, keepdim=True)
    scores = (teacher @ student.t()) / tau
    want = torch.softmax(scores.fill_diagonal_(float('-inf')), dim=1)
    assert (freq - want).abs().max() < 0.04, (freq, want)
    assert want.max(1).values.min() < 0.8  # a spread the deterministic top partner (prob 1) would miss


def test_random_partners_within_the_other_class_pool_keep_the_weights():
    """partners='random', partner_pool='other_class' (the xclass-random control): random partners, never of the
    pair's class, with the teacher's weights of the same pool (fraction = 0.5)."""
    teacher, student, _ = _clustered(32)
    labels = torch.randint(3, (32, ), generator=torch.Generator().manual_seed(1))
    common = dict(fraction=0.5, top_k=3, normalization='softmax', partner_pool='other_class', dca=False, seed=0,
                  pair_weight=PAPER)
    chosen = CrossModalMixer(**common)(teacher, student, labels)
    control = CrossModalMixer(partners='random', **common)(teacher, student, labels)
    rows = control.rows
    assert torch.equal(rows, chosen.rows)
    same = _by_class(labels, rows, same=True)
    same[torch.arange(len(rows)), rows] = False
    assert (control.weights[same] == 0).all()  # never the pair's class
    torch.testing.assert_close(control.weights.sort(1).values, chosen.weights.sort(1).values)
    torch.testing.assert_close(control.weights[torch.arange(len(rows)), rows],
                               chosen.weights[torch.arange(len(rows)), rows])
    assert ((control.weights > 0) != (chosen.weights > 0)).any(1).float().mean() > 0.5


def test_random_partners_with_the_cache_never_pick_uncached_samples():
    teacher, student, _ = _clustered(16)
    mixer = CrossModalMixer(fraction=0.5, mode='replace', cache_size=16, top_k=4, partners='random', dca=False,
                            normalization='softmax', pair_weight=PAPER, seed=0)
    index = torch.arange(16)
    cached = torch.arange(16) % 4 != 0
    mixer.update_cache(index, teacher, student, real=cached)
    for _ in range(50):
        new = mixer.augment_cached(torch.randn(16, 3), index)
        off = (~cached).view(1, -1).expand(len(new.rows), -1).clone()
        off[torch.arange(len(new.rows)), new.rows] = False  # an uncached row stays its own sample
        assert (new.weights[off] == 0).all()
        assert ((new.weights > 0).sum(1)[cached[new.rows]] > 1).all()  # cached rows do mix


def test_a_cache_of_another_size_is_not_loaded():
    """load_from a cached checkpoint into a bigger training set: the checkpoint's 16 slots replaced the
    configured 24 (IndexError at iteration 1); now the cache starts empty, with a warning and a note for
    DCAHook (which refuses to *resume* with it)."""
    teacher, student, _ = _clustered(16)
    small = CrossModalMixer(fraction=0.5, mode='replace', cache_size=16, dca=False)
    small.update_cache(torch.arange(16), teacher, student)
    big = CrossModalMixer(fraction=0.5, mode='replace', cache_size=24, dca=False)
    with pytest.warns(UserWarning, match='16 samples but cmda.cache_size=24'):
        big.load_state_dict(small.state_dict())
    assert big.cache_load_mismatch is not None and 'cache_teacher_seen' in big.cache_load_mismatch
    assert big.cache_teacher_seen.shape == (24, ) and not big.cache_teacher_seen.any()
    assert big.augment_cached(torch.randn(8, 3), torch.arange(16, 24)) is None  # no IndexError: nothing cached
    same = CrossModalMixer(fraction=0.5, mode='replace', cache_size=16, dca=False)
    same.load_state_dict(small.state_dict())
    assert same.cache_load_mismatch is None and same.cache_student_seen.all()
    same.reset_cache()
    assert not same.cache_student_seen.any() and same.cache_teacher.numel() == 0


def test_cache_updates_of_two_ranks_merge_into_identical_caches():
    """Under DDP each rank writes its own batches; merging every rank's updates (in rank order) gives every rank
    (and the checkpoint, saved from rank 0) the whole cache — rank 0 alone held half of it."""
    teacher, student, _ = _clustered(16)
    ranks = [CrossModalMixer(fraction=0.5, mode='replace', cache_size=16, dca=False) for _ in range(2)]
    ranks[0].update_cache(torch.arange(0, 16, 2), teacher[::2], student[::2])
    mixed = torch.arange(8) % 4 == 0  # rank 1's mixed rows: their student embeddings are not written
    ranks[1].update_cache(torch.arange(1, 16, 2), teacher[1::2], student[1::2], real=~mixed)
    updates = [mixer.pop_cache_updates() for mixer in ranks]
    assert updates[0]['teacher_index'].tolist() == list(range(0, 16, 2))
    for mixer in ranks:
        mixer.merge_cache_updates(updates)
    for mixer in ranks:
        torch.testing.assert_close(mixer.cache_teacher, teacher)
        assert mixer.cache_teacher_seen.all()
        student_seen = torch.ones(16, dtype=torch.bool)
        student_seen[1::2] = ~mixed
        assert torch.equal(mixer.cache_student_seen, student_seen)
        torch.testing.assert_close(mixer.cache_student[student_seen], student[student_seen])
    assert ranks[0].pop_cache_updates()['teacher_index'].numel() == 0  # popped: nothing left to merge
