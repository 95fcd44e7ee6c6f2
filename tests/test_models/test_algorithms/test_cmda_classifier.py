import copy

import pytest
import torch
import torch.nn.functional as F
from mmpretrain.structures import DataSample

import cmda_mm  # noqa: F401
from cmda_mm.core import GaussianMixture
from cmda_mm.registry import MODELS

B, DS, DT, C = 8, 12, 6, 3


def model_cfg(cmda=None, teacher=True, **kwargs):
    cfg = dict(
        type='CMDAClassifier',
        backbone=dict(type='FeatureMLP', in_channels=DS, hidden_channels=(16, )),
        head=dict(type='LinearClsHead', num_classes=C, in_channels=16,
                  loss=dict(type='CrossEntropyLoss', use_soft=True)),
        data_preprocessor=dict(num_classes=C, cmda=cmda),
        **kwargs)
    if teacher:
        cfg.update(
            teacher_encoder=dict(type='FeatureMLP', in_channels=DT, hidden_channels=(16, )),
            student_projector=dict(type='ProjectionNeck', in_channels=16, hidden_channels=(16, ), out_channels=8),
            teacher_projector=dict(type='ProjectionNeck', in_channels=16, hidden_channels=(16, ), out_channels=8))
    return cfg


def batch(seed=0, b=B):
    g = torch.Generator().manual_seed(seed)
    return dict(
        inputs=dict(student=[torch.randn(DS, generator=g) for _ in range(b)],
                    teacher=[torch.randn(DT, generator=g) for _ in range(b)]),
        data_samples=[DataSample().set_gt_label(i % C) for i in range(b)])


def build(cfg, seed=0):
    torch.manual_seed(seed)
    return MODELS.build(cfg)


@pytest.mark.parametrize('fraction, mode', [(0.5, 'append'), (1.0, 'append'), (0.25, 'replace')])
def test_mixed_rows_and_soft_targets(fraction, mode, monkeypatch):
    model = build(model_cfg(cmda=dict(fraction=fraction, mode=mode, top_k=3)))
    model.train()
    seen = {}
    loss_module = model.head.loss_module
    orig = loss_module.forward

    def spy(score, target, **kw):
        seen['score'], seen['target'] = score, target
        return orig(score, target, **kw)

    monkeypatch.setattr(loss_module, 'forward', spy)
    data = model.data_preprocessor(batch(), True)
    losses = model(**data, mode='loss')
    n_new = round(fraction * B)
    expected_rows = B + n_new if mode == 'append' else B
    assert seen['score'].shape == (expected_rows, C)
    torch.testing.assert_close(seen['target'].sum(1), torch.ones(expected_rows))
    assert torch.isfinite(losses['loss_cls']) and torch.isfinite(losses['loss_contrastive'])
    assert 0 < float(losses['cmda_pair_weight']) <= 1
    assert 1 <= float(losses['cmda_effective_n']) <= 3 + 1e-5


def test_new_samples_are_weighted_mixes_of_real_inputs(monkeypatch):
    model = build(model_cfg(cmda=dict(fraction=1.0, top_k=2, normalization='softmax')))
    model.train()
    data = model.data_preprocessor(batch(), True)
    captured = []
    orig = model.extract_feat
    monkeypatch.setattr(model, 'extract_feat', lambda x, **kw: (captured.append(x), orig(x, **kw))[1])
    model(**data, mode='loss')
    real, new = captured
    assert new.shape == real.shape
    lo, hi = real.min(0).values, real.max(0).values
    assert (new >= lo - 1e-5).all() and (new <= hi + 1e-5).all()


def test_weights_come_from_detached_embeddings_and_one_backward():
    model = build(model_cfg(cmda=dict(fraction=0.5)))
    model.train()
    data = model.data_preprocessor(batch(), True)
    losses = model(**data, mode='loss')
    # the task loss (real and new samples) reaches the towers only if the weights W carried a graph
    losses['loss_cls'].backward(retain_graph=True)
    towers = (model.teacher_encoder, model.student_projector, model.teacher_projector)
    assert all(p.grad is None for tower in towers for p in tower.parameters())
    losses['loss_contrastive'].backward()
    grads = [p.grad for p in model.teacher_encoder.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)


def test_base_equals_image_classifier():
    cfg = model_cfg(teacher=False)
    ours = build(cfg)
    ref_cfg = copy.deepcopy(cfg)
    ref_cfg['type'] = 'ImageClassifier'
    ref_cfg['data_preprocessor'] = dict(type='ClsDataPreprocessor', num_classes=C, to_onehot=True)
    ref = build(ref_cfg)
    ref.load_state_dict(ours.state_dict(), strict=False)
    ours.train(), ref.train()
    data = batch()
    ref_data = dict(inputs=torch.stack(data['inputs']['student']), data_samples=copy.deepcopy(data['data_samples']))
    ours_losses = ours(**ours.data_preprocessor(data, True), mode='loss')
    b = ref(**ref.data_preprocessor(ref_data, True), mode='loss')['loss']
    assert set(ours_losses) == {'loss_cls'}  # the task loss under CMDA's key (issue 23: comparable logs)
    assert torch.equal(ours_losses['loss_cls'], b)  # only the key is renamed: training is unchanged


@pytest.mark.parametrize('kwargs', [dict(teacher=False), dict(teacher=False, train_cfg=dict(
    augments=dict(type='Mixup', alpha=1.0))), dict(cmda=dict(fraction=0.5)), dict(cmda=dict(
        fraction=0.5, mode='replace', cache_size=16))])
def test_every_run_logs_the_task_loss_as_loss_cls(kwargs):
    """Base, Mixup and CMDA (fresh and cached) log the cross-entropy under one key, so that
    ``analyze_logs.py plot_curve base.json cmda.json --keys loss_cls`` overlays them; the total is ``loss``."""
    model = build(model_cfg(**kwargs))
    model.train()
    data = batch()
    for i, sample in enumerate(data['data_samples']):
        sample.set_metainfo(dict(sample_idx=i))
    losses = model(**model.data_preprocessor(data, True), mode='loss')
    assert 'loss_cls' in losses and 'loss' not in losses
    _, log_vars = model.parse_losses(losses)
    assert {'loss', 'loss_cls'} <= set(log_vars)


@pytest.mark.parametrize('cmda', [None, dict(fraction=0.5), dict(fraction=0.5, partner_pool='other_class'),
                                  dict(fraction=0.5, mode='replace', cache_size=16)])
def test_unlabelled_data_fails_clearly_naming_the_sample(cmda):
    """Was a bare ``AttributeError: gt_label`` at iteration 1 (also with partner_pool, which needs labels)."""
    model = build(model_cfg(cmda=cmda, teacher=cmda is not None))
    model.train()
    data = batch()
    data['data_samples'] = [DataSample(metainfo=dict(sample_idx=i)) for i in range(B)]
    with pytest.raises(ValueError, match=r'sample_idx=0 .*has no gt_label'):
        model(**model.data_preprocessor(data, True), mode='loss')


@pytest.mark.parametrize('cmda, mixup', [(dict(fraction=1.0, top_k=None, normalization='softmax'), False),
                                         (dict(fraction=1.0, top_k=None, normalization='softmax'), True),
                                         (dict(fraction=0.5, mode='replace', cache_size=16, top_k=None,
                                               normalization='softmax'), False)])
def test_soft_targets_stay_float32_under_bf16_autocast(cmda, mixup, monkeypatch):
    """--amp on CPU: the weights were fp32 but W @ Y came out bf16 (row sums off by up to 2.9e-3); with Mixup +
    CMDA the real rows' Mixup scores must not be rounded to bf16 either."""
    model = build(model_cfg(cmda=cmda, train_cfg=dict(augments=dict(type='Mixup', alpha=1.0)) if mixup else None))
    model.train()
    seen = []
    forward = model.head.loss_module.forward
    monkeypatch.setattr(model.head.loss_module, 'forward', lambda score, target, **kw: seen.append(
        (score, target)) or forward(score, target, **kw))
    for step in range(2):  # the cached variant mixes from its second batch on
        data = batch(seed=step)
        for i, sample in enumerate(data['data_samples']):
            sample.set_metainfo(dict(sample_idx=i))
        with torch.autocast('cpu', dtype=torch.bfloat16):
            losses = model(**model.data_preprocessor(data, True), mode='loss')
    score, target = seen[-1]
    assert score.dtype == torch.bfloat16 and target.dtype == torch.float32
    assert 'cmda_pair_weight' in losses
    assert (target.sum(1) - 1).abs().max() < 1e-6
    assert ((target > 0).sum(1) > 1).any()  # soft rows present


def test_dca_state_in_state_dict_and_changes_weights():
    model = build(model_cfg(cmda=dict(fraction=1.0, top_k=None, dca=True)))
    mixer = model.data_preprocessor.cmda
    assert not mixer.dca_ready
    g = torch.Generator().manual_seed(0)
    centers = F.normalize(torch.randn(2, 8, generator=g), dim=1)
    emb = F.normalize(centers.repeat(20, 1) + 0.05 * torch.randn(40, 8, generator=g), dim=1)
    mixer.set_gmm(GaussianMixture(2, 'diag', seed=0).fit(emb))
    sd = model.state_dict()
    assert sd['data_preprocessor.cmda.gmm_means'].shape == (2, 8)
    fresh = build(model_cfg(cmda=dict(fraction=1.0, top_k=None, dca=True)), seed=1)
    fresh.load_state_dict(sd)
    torch.testing.assert_close(fresh.data_preprocessor.cmda.gmm_means, mixer.gmm_means)
    t = F.normalize(torch.randn(6, 8, generator=g), dim=1)
    s = emb[torch.tensor([0, 1, 2, 3, 4, 5])]
    mixer.generator.manual_seed(0)
    with_dca = mixer(t, s)
    mixer.dca = False
    mixer.generator.manual_seed(0)
    without = mixer(t, s)
    assert float(with_dca.diagnostics['dca_shift']) > 0
    assert not torch.allclose(with_dca.weights, without.weights)


def test_bad_configs():
    with pytest.raises(ValueError, match='teacher_encoder'):
        build(model_cfg(teacher=False, cmda=dict()))
    model = build(model_cfg(cmda=dict()))
    model.train()
    data = model.data_preprocessor(batch(), True)
    data.pop('teacher')
    with pytest.raises(ValueError, match='teacher'):
        model(**data, mode='loss')


def test_predict_mode():
    model = build(model_cfg(cmda=dict()))
    model.eval()
    out = model(**model.data_preprocessor(batch(), False), mode='predict')
    assert len(out) == B and out[0].pred_score.shape == (C, )
