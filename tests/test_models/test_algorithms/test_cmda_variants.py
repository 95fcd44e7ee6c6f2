"""Issue-16 variants through the classifier: cached CMDA (one forward of B rows), Mixup + CMDA, MatchedMixup and
the options reaching the mixer from ``data_preprocessor.cmda``."""
import numpy as np
import pytest
import torch
from mmpretrain.structures import DataSample

import cmda_mm  # noqa: F401
from cmda_mm.registry import BATCH_AUGMENTS, MODELS

B, DS, DT, C = 8, 12, 6, 3


def model_cfg(cmda=None, **kwargs):
    return dict(
        type='CMDAClassifier',
        backbone=dict(type='FeatureMLP', in_channels=DS, hidden_channels=(16, )),
        head=dict(type='LinearClsHead', num_classes=C, in_channels=16,
                  loss=dict(type='CrossEntropyLoss', use_soft=True)),
        data_preprocessor=dict(num_classes=C, cmda=cmda),
        teacher_encoder=dict(type='FeatureMLP', in_channels=DT, hidden_channels=(16, )),
        student_projector=dict(type='ProjectionNeck', in_channels=16, hidden_channels=(16, ), out_channels=8),
        teacher_projector=dict(type='ProjectionNeck', in_channels=16, hidden_channels=(16, ), out_channels=8),
        **kwargs)


def batch(index, seed=0):
    g = torch.Generator().manual_seed(seed)
    return dict(
        inputs=dict(student=[torch.randn(DS, generator=g) for _ in index],
                    teacher=[torch.randn(DT, generator=g) for _ in index]),
        data_samples=[DataSample(metainfo=dict(sample_idx=int(i))).set_gt_label(int(i) % C) for i in index])


def build(cfg, seed=0):
    torch.manual_seed(seed)
    model = MODELS.build(cfg)
    model.train()
    return model


def _spy_forward(model, monkeypatch):
    calls = []
    orig = model.extract_feat
    monkeypatch.setattr(model, 'extract_feat', lambda x, **kw: (calls.append(x.shape[0]), orig(x, **kw))[1])
    return calls


def test_cached_cmda_forwards_b_rows_once_and_fills_the_cache(monkeypatch):
    model = build(model_cfg(cmda=dict(fraction=0.5, mode='replace', dca=False, cache_size=16)))
    mixer = model.mixer
    calls = _spy_forward(model, monkeypatch)
    first = model(**model.data_preprocessor(batch(range(8)), True), mode='loss')
    assert calls == [8] and 'cmda_pair_weight' not in first  # nothing cached: not mixed
    assert mixer.cache_teacher_seen[:8].all() and mixer.cache_student_seen[:8].all()
    assert not mixer.cache_teacher_seen[8:].any()
    calls.clear()
    losses = model(**model.data_preprocessor(batch(range(8), seed=1), True), mode='loss')
    assert calls == [8]  # one forward of B rows (fresh CMDA: two forwards)
    assert 'cmda_pair_weight' in losses and torch.isfinite(losses['loss_cls'] + losses['loss_contrastive'])
    sum(losses[k] for k in ('loss_cls', 'loss_contrastive')).backward()
    # rows selected before their sample was cached stay real: their student embeddings are stored too
    model(**model.data_preprocessor(batch(range(8, 16)), True), mode='loss')
    assert mixer.cache_student_seen.all()
    # the default (fresh-embedding) replace mode forwards twice
    fresh = build(model_cfg(cmda=dict(fraction=0.5, mode='replace', dca=False)))
    calls = _spy_forward(fresh, monkeypatch)
    fresh(**fresh.data_preprocessor(batch(range(8)), True), mode='loss')
    assert calls == [8, 4]


def test_cached_cmda_step_by_hand(monkeypatch):
    """One cached step recomputed by hand: mixed rows' inputs are W @ x and their targets W @ Y (never their own
    labels), the task loss sees all B rows, Eq. 7 sees the real rows only, the cache stores every row's fresh
    teacher embedding and only the real rows' student embeddings (a mixed row keeps its sample's old one)."""
    from cmda_mm.core import inter_modal_weights
    from cmda_mm.models.losses.cross_modal_contrastive import cross_modal_contrastive_loss
    paper = dict(type='teacher')
    model = build(model_cfg(cmda=dict(fraction=0.5, mode='replace', dca=False, cache_size=16, top_k=3, seed=1,
                                      pair_weight=paper)))
    mixer = model.mixer
    model(**model.data_preprocessor(batch(range(8)), True), mode='loss')  # fills the cache, mixes nothing
    old_teacher, old_student = mixer.cache_teacher.clone(), mixer.cache_student.clone()
    order = [5, 2, 7, 0, 3, 6, 1, 4]  # sample_idx != batch position
    data = model.data_preprocessor(batch(order, seed=1), True)
    x = data['inputs'].clone()
    y = torch.stack([s.gt_score for s in data['data_samples']]).float()
    index = torch.tensor(order)
    seen = {}
    plan_forward, extract, loss_forward = mixer.forward, model.extract_feat, model.head.loss_module.forward

    def spy_plan(*args, **kwargs):
        seen['plan'] = plan_forward(*args, **kwargs)
        return seen['plan']

    def spy_extract(inputs):
        seen['fed'] = inputs
        return extract(inputs)

    def spy_loss(score, target, **kwargs):
        seen['target'] = target
        return loss_forward(score, target, **kwargs)

    monkeypatch.setattr(mixer, 'forward', spy_plan)
    monkeypatch.setattr(model, 'extract_feat', spy_extract)
    monkeypatch.setattr(model.head.loss_module, 'forward', spy_loss)
    losses = model(**data, mode='loss')

    rows = seen['plan'].rows
    assert len(rows) == 4 and not torch.equal(rows, torch.arange(4))
    weights = inter_modal_weights(old_teacher[index][rows], old_student[index], rows, top_k=3)  # Eq. 10 by hand
    torch.testing.assert_close(seen['plan'].weights, weights)
    mixed = torch.zeros(B, dtype=torch.bool)
    mixed[rows] = weights[torch.arange(4), rows] < 1
    assert mixed.sum() >= 2
    want_x, want_y = x.clone(), y.clone()
    want_x[rows], want_y[rows] = weights @ x, weights @ y
    assert not torch.allclose(want_y[mixed], y[mixed])  # W @ Y differs from the rows' own labels here
    torch.testing.assert_close(seen['fed'], want_x)  # one forward of the B rows, mixed rows replaced
    torch.testing.assert_close(seen['target'], want_y)
    with torch.no_grad():
        feats = extract(want_x)
        z_s, z_t = model.embed(feats, data['teacher'])
        scores = model.head(feats)
    torch.testing.assert_close(losses['loss_cls'], model.head.loss_module(scores, want_y, avg_factor=B))
    real = ~mixed
    eq7 = 0.1 * cross_modal_contrastive_loss(torch.stack([z_s[real], z_t[real]]), temperature=0.1).mean()
    torch.testing.assert_close(losses['loss_contrastive'], eq7)
    torch.testing.assert_close(mixer.cache_teacher[index], z_t)  # every row's teacher is fresh
    torch.testing.assert_close(mixer.cache_student[index[real]], z_s[real])
    torch.testing.assert_close(mixer.cache_student[index[mixed]], old_student[index[mixed]])  # not a real sample


def test_cached_cmda_needs_sample_idx_and_replace():
    model = build(model_cfg(cmda=dict(fraction=0.5, mode='replace', dca=False, cache_size=16)))
    data = batch(range(8))
    data['data_samples'] = [DataSample().set_gt_label(0) for _ in range(8)]
    with pytest.raises(ValueError, match='sample_idx'):
        model(**model.data_preprocessor(data, True), mode='loss')
    with pytest.raises(ValueError, match="mode='replace'"):
        build(model_cfg(cmda=dict(cache_size=16)))
    with pytest.raises(ValueError, match='CMDAClassifier only'):
        MODELS.build(dict(type='CMDAAnomalyDetector',
                          backbone=dict(type='FeatureMLP', in_channels=DS, hidden_channels=(16, )),
                          neck=dict(type='ProjectionNeck', in_channels=16, hidden_channels=(16, ), out_channels=8),
                          data_preprocessor=dict(cmda=dict(mode='replace', cache_size=16))))


def test_cached_cmda_resumes_its_cache():
    model = build(model_cfg(cmda=dict(fraction=0.5, mode='replace', dca=False, cache_size=16)))
    model(**model.data_preprocessor(batch(range(4, 12)), True), mode='loss')
    other = build(model_cfg(cmda=dict(fraction=0.5, mode='replace', dca=False, cache_size=16)), seed=1)
    other.load_state_dict(model.state_dict())
    torch.testing.assert_close(other.mixer.cache_student, model.mixer.cache_student)
    assert other.mixer.iters == model.mixer.iters == 1


def test_mixup_and_cmda_together():
    """``train_cfg.augments`` (Mixup) mixes the batch in the preprocessor, CMDA mixes those samples again."""
    mixup = dict(augments=dict(type='Mixup', alpha=1.0))
    model = build(model_cfg(cmda=dict(fraction=0.5, dca=False), train_cfg=mixup))
    data = model.data_preprocessor(batch(range(8)), True)
    scores = torch.stack([s.gt_score for s in data['data_samples']])
    assert ((scores > 0).sum(1) > 1).any()  # Mixup ran in the preprocessor
    losses = model(**data, mode='loss')
    assert 'cmda_pair_weight' in losses and torch.isfinite(losses['loss_cls'])


def test_variant_options_reach_the_mixer():
    cmda = dict(warmup_iters=2, pair_weight=dict(type='beta', alpha=0.4), partners='random', dca_mode='hard')
    mixer = build(model_cfg(cmda=cmda)).mixer
    assert (mixer.warmup_iters, mixer.pair_weight, mixer.partners, mixer.dca_mode) == (
        2, dict(type='beta', alpha=0.4), 'random', 'hard')
    model = build(model_cfg(cmda=dict(fraction=0.5, dca=False, warmup_iters=1)))
    first = model(**model.data_preprocessor(batch(range(8)), True), mode='loss')
    second = model(**model.data_preprocessor(batch(range(8)), True), mode='loss')
    assert 'cmda_pair_weight' not in first and 'cmda_pair_weight' in second


def test_matched_mixup_draws_per_sample_lambda_from_the_fitted_beta():
    aug = BATCH_AUGMENTS.build(dict(type='MatchedMixup', mean=0.45, std=0.1, seed=0))
    assert abs(aug.alpha / (aug.alpha + aug.beta) - 0.45) < 1e-6
    x = torch.arange(4000, dtype=torch.float32).view(-1, 1)
    y = torch.eye(4000)
    mixed_x, mixed_y = aug(x, y)
    lam = mixed_y.diagonal()  # the own sample's share
    assert abs(float(lam.mean()) - 0.45) < 0.01 and abs(float(lam.std()) - 0.1) < 0.01
    torch.testing.assert_close(mixed_y.sum(1), torch.ones(4000))
    partner = mixed_y.clone().fill_diagonal_(0).argmax(1).float()
    torch.testing.assert_close(mixed_x.view(-1), lam * x.view(-1) + (1 - lam) * partner)
    # mmpretrain's Mixup with alpha = 0.25: most samples near-originals, unlike the matched control (its lambda
    # comes from the global np.random and its permutation from torch's: seeded here, restored afterwards)
    mixup = BATCH_AUGMENTS.build(dict(type='Mixup', alpha=0.25))
    state = np.random.get_state()
    try:
        np.random.seed(0)
        with torch.random.fork_rng():
            torch.manual_seed(0)
            _, y_mixup = mixup(x, y)
    finally:
        np.random.set_state(state)
    assert abs(float(y_mixup.diagonal().mean()) - 0.45) > 0.02 or float(y_mixup.diagonal().std()) < 0.01


def test_matched_mixup_fraction_mixes_that_share_of_rows():
    """MatchedMixup(fraction=1/3) (issue 21: CMDA's share of mixed rows, p / (1 + p) for p = 0.5): a third of the
    rows mixed with lambda from the fitted Beta, the others left real (lambda = 1, inputs and scores unchanged)."""
    n = 600
    aug = BATCH_AUGMENTS.build(dict(type='MatchedMixup', mean=0.45, std=0.1, fraction=1 / 3, seed=0))
    x = torch.arange(n, dtype=torch.float32).view(-1, 1)
    y = torch.eye(n)
    mixed_x, mixed_y = aug(x, y)
    lam = mixed_y.diagonal()
    mixed = lam < 1  # (a mixed row whose random partner is itself also keeps lambda = 1: rare)
    assert abs(int(mixed.sum()) - n // 3) <= 2
    unchanged = ~mixed
    torch.testing.assert_close(mixed_x[unchanged], x[unchanged])
    torch.testing.assert_close(mixed_y[unchanged], y[unchanged])
    assert abs(float(lam[mixed].mean()) - 0.45) < 0.03 and abs(float(lam[mixed].std()) - 0.1) < 0.03
    torch.testing.assert_close(mixed_y.sum(1), torch.ones(n))


@pytest.mark.parametrize('kwargs', [dict(), dict(alpha=1.0), dict(alpha=1.0, mean=0.5, std=0.1),
                                    dict(mean=0.5, std=0.0), dict(alpha=-1.0, beta=1.0)])
def test_matched_mixup_bad_settings(kwargs):
    with pytest.raises(ValueError):
        BATCH_AUGMENTS.build(dict(type='MatchedMixup', **kwargs))
