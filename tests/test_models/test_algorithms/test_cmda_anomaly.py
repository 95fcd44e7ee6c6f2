"""CMDAAnomalyDetector: NT-Xent, the CMDA / Mixup positives, views, predict, errors, 2-iteration runs."""
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.runner import Runner
from mmpretrain.structures import DataSample

import cmda_mm  # noqa: F401
from cmda_mm.models.algorithms.cmda_anomaly import nt_xent, soft_info_nce
from cmda_mm.models.losses import CrossModalContrastiveLoss
from cmda_mm.registry import MODELS
from cmda_mm.utils import set_data_root
from fixtures import make_wiki

REPO = Path(__file__).resolve().parents[3]
B, DS, DT, T = 8, 12, 6, 0.5


def model_cfg(cmda=None, teacher=True, views=True, **kwargs):
    cfg = dict(type='CMDAAnomalyDetector',
               backbone=dict(type='FeatureMLP', in_channels=DS, hidden_channels=(16, )),
               neck=dict(type='ProjectionNeck', in_channels=16, hidden_channels=(16, ), out_channels=8),
               temperature=T, data_preprocessor=dict(cmda=cmda), **kwargs)
    if views:
        cfg['feature_views'] = dict(type='FeatureViews', noise_std=0.3, dropout=0.2)
    if teacher:
        cfg.update(
            teacher_encoder=dict(type='FeatureMLP', in_channels=DT, hidden_channels=(16, )),
            student_projector=dict(type='ProjectionNeck', in_channels=16, hidden_channels=(16, ), out_channels=8),
            teacher_projector=dict(type='ProjectionNeck', in_channels=16, hidden_channels=(16, ), out_channels=8))
    return cfg


def build(cfg, seed=0):
    torch.manual_seed(seed)
    model = MODELS.build(cfg)
    model.train()
    return model


def views(seed=0, b=B):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(b, DS, generator=g)
    return [x + 0.1 * torch.randn(b, DS, generator=g), x + 0.1 * torch.randn(b, DS, generator=g)], \
        torch.randn(b, DT, generator=g)


def reference_nt_xent(z1, z2, tau):
    """SimCLR's NT-Xent written anchor by anchor."""
    z = torch.cat([z1, z2])
    n = z1.shape[0]
    terms = []
    for a in range(2 * n):
        pos = (a + n) % (2 * n)
        others = [k for k in range(2 * n) if k != a]
        logits = torch.stack([z[a] @ z[k] / tau for k in others])
        terms.append(-(z[a] @ z[pos] / tau - torch.logsumexp(logits, 0)))
    return torch.stack(terms).mean()


def test_nt_xent_is_simclr_and_not_eq7():
    g = torch.Generator().manual_seed(1)
    z1, z2 = (F.normalize(torch.randn(6, 5, generator=g), dim=1) for _ in range(2))
    torch.testing.assert_close(nt_xent(z1, z2, 0.3), reference_nt_xent(z1, z2, 0.3))
    eq7 = CrossModalContrastiveLoss(temperature=0.3, include_positive=True)([z1, z2])
    assert not torch.isclose(eq7, nt_xent(z1, z2, 0.3))  # Eq. 7 has no same-view negatives


def test_base_ssd_loss_from_tensor_and_from_views():
    model = build(model_cfg(teacher=False))
    vs, _ = views()
    assert set(model(vs, None, mode='loss')) == {'loss_ssl'}
    loss = model(torch.randn(B, DS), None, mode='loss')  # views made by FeatureViews
    assert set(loss) == {'loss_ssl'} and torch.isfinite(loss['loss_ssl'])
    z = model._project(model.extract_feat(torch.cat(vs)))
    torch.testing.assert_close(model(vs, None, mode='loss')['loss_ssl'], reference_nt_xent(z[:B], z[B:], T))


def test_feature_views_are_noisy_dropped_and_unbiased():
    fv = MODELS.build(dict(type='FeatureViews', num_views=3, noise_std=0.0, dropout=0.5))
    x = torch.ones(4000, 3)
    out = fv(x)
    assert len(out) == 3 and not torch.equal(out[0], out[1])
    assert set(out[0].unique().tolist()) <= {0.0, 2.0} and abs(out[0].mean().item() - 1.0) < 0.05
    noisy = MODELS.build(dict(type='FeatureViews', noise_std=0.5, dropout=0.0))(x * torch.arange(1., 4.))
    assert abs((noisy[0] - x * torch.arange(1., 4.)).std().item()) < 0.05  # relative: std of x is 0 here
    with pytest.raises(ValueError, match='MultiView'):
        fv(torch.zeros(2, 3, 4, 4))


def test_cmda_positive_is_view2_of_the_teacher_row():
    model = build(model_cfg(cmda=dict(fraction=0.5, top_k=3, dca=False)))
    plans = []
    mixer_forward = model.mixer.forward
    model.mixer.forward = lambda *a, **k: plans.append(mixer_forward(*a, **k)) or plans[-1]
    vs, teacher = views()
    losses = model(vs, None, mode='loss', teacher=teacher)
    assert {'loss_ssl', 'loss_contrastive', 'loss_cmda', 'cmda_pair_weight'} <= set(losses)
    plan = plans[0]
    assert plan.rows.numel() == B // 2
    with torch.no_grad():
        z2 = model._project(model.extract_feat(torch.cat(vs)))[B:]
        x_new = plan.weights @ vs[0]  # the first views are mixed
        z_new = model._project(model.extract_feat(x_new))
        logits = z_new @ z2.t() / T
        want = -(logits[torch.arange(len(plan.rows)), plan.rows] - torch.logsumexp(logits, 1)).mean()
    torch.testing.assert_close(losses['loss_cmda'].detach(), want)
    assert len(model.mixer.bank) == 0  # DCA off: nothing recorded


def test_cmda_records_bank_for_dca_and_soft_target_option():
    model = build(model_cfg(cmda=dict(fraction=1.0, dca=True), cmda_target='weights'))
    vs, teacher = views()
    losses = model(vs, None, mode='loss', teacher=teacher)
    assert len(model.mixer.bank) == 1 and model.mixer.bank[0].shape == (B, 8)
    assert torch.isfinite(losses['loss_cmda'])
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    assert model.backbone.layers[0].weight.grad is not None


@pytest.mark.parametrize('cmda_target', ['pair', 'weights'])
def test_cmda_soft_target_weights_is_w_itself(cmda_target):
    """cmda_target='weights': x_new_r's positives are view 2 of every sample j weighted W[r, j] (the soft
    InfoNCE), a value that differs from the pair target's."""
    model = build(model_cfg(cmda=dict(fraction=0.5, top_k=3, dca=False, normalization='softmax', temperature=1.0,
                                      pair_weight=dict(type='teacher')), cmda_target=cmda_target))
    plans = []
    mixer_forward = model.mixer.forward
    model.mixer.forward = lambda *a, **k: plans.append(mixer_forward(*a, **k)) or plans[-1]
    vs, teacher = views()
    loss = model(vs, None, mode='loss', teacher=teacher)['loss_cmda'].detach()
    plan = plans[0]
    with torch.no_grad():
        z2 = model._project(model.extract_feat(torch.cat(vs)))[B:]
        z_new = model._project(model.extract_feat(plan.weights @ vs[0]))
    soft = soft_info_nce(z_new, z2, plan.weights, T)
    pair = soft_info_nce(z_new, z2, F.one_hot(plan.rows, B).float(), T)
    assert not torch.isclose(soft, pair)
    torch.testing.assert_close(loss, soft if cmda_target == 'weights' else pair)


def test_replace_mode_puts_x_new_into_the_nt_xent():
    vs, teacher = views()
    plain = build(model_cfg(cmda=dict(fraction=0.5, mode='replace', dca=False)))
    losses = plain(vs, None, mode='loss', teacher=teacher)
    assert 'loss_cmda' not in losses
    base = build(model_cfg())  # same weights (same seed), no mixing
    assert not torch.isclose(losses['loss_ssl'], base(vs, None, mode='loss', teacher=teacher)['loss_ssl'])


def test_mixup_positives_are_weighted_by_lam():
    model = build(model_cfg(teacher=False, mixup=dict(type='Mixup', alpha=0.25)))
    vs, _ = views()
    np.random.seed(3)
    torch.manual_seed(3)
    losses = model(vs, None, mode='loss')
    np.random.seed(3)
    torch.manual_seed(3)
    lam = np.random.beta(0.25, 0.25)
    perm = torch.randperm(B)
    with torch.no_grad():
        z2 = model._project(model.extract_feat(torch.cat(vs)))[B:]
        z_mix = model._project(model.extract_feat(lam * vs[0] + (1 - lam) * vs[0][perm]))
        log_p = F.log_softmax(z_mix @ z2.t() / T, dim=1)
        want = -(lam * log_p[torch.arange(B), torch.arange(B)] + (1 - lam) * log_p[torch.arange(B), perm]).mean()
    torch.testing.assert_close(losses['loss_mixup'].detach(), want.float())


def test_soft_info_nce_one_hot_equals_cross_entropy():
    g = torch.Generator().manual_seed(4)
    q, k = torch.randn(5, 4, generator=g), torch.randn(7, 4, generator=g)
    idx = torch.tensor([0, 3, 6, 1, 1])
    torch.testing.assert_close(soft_info_nce(q, k, F.one_hot(idx, 7).float(), 0.2),
                               F.cross_entropy(q @ k.t() / 0.2, idx))


def test_predict_returns_unit_encoder_features():
    model = build(model_cfg())
    model.eval()
    x = torch.randn(B, DS)
    samples = [DataSample() for _ in range(B)]
    for s, role in zip(samples, ['bank'] * 4 + ['anomaly'] * 4):
        s.set_field(role, 'role')
    out = model(x, samples, mode='predict')
    feats = torch.stack([s.feat for s in out])
    assert feats.shape == (B, 16) and out[5].role == 'anomaly'
    torch.testing.assert_close(feats.norm(dim=1), torch.ones(B))
    torch.testing.assert_close(feats, F.normalize(model.extract_feat(x)[0], dim=1))
    listed = model([x, torch.zeros_like(x)], None, mode='predict')  # MultiView format: the first view
    torch.testing.assert_close(torch.stack([s.feat for s in listed]), feats)


def test_errors():
    with pytest.raises(ValueError, match='needs a `teacher_encoder`'):
        MODELS.build(model_cfg(cmda=dict(), teacher=False))
    with pytest.raises(ValueError, match='cmda_target'):
        MODELS.build(model_cfg(cmda_target='soft'))
    no_views = build(model_cfg(teacher=False, views=False))
    with pytest.raises(ValueError, match='two views'):
        no_views(torch.randn(B, DS), None, mode='loss')
    with pytest.raises(ValueError, match='exactly 2 views'):
        no_views([torch.randn(B, DS)] * 3, None, mode='loss')
    with pytest.raises(ValueError, match='needs `teacher` inputs'):
        build(model_cfg())(torch.randn(B, DS), None, mode='loss')


def test_multiview_images_through_the_preprocessor():
    """MultiView + default_collate: a list of 2 (B, C, H, W) views, each normalised (to_rgb included)."""
    cfg = dict(type='CMDAAnomalyDetector',
               backbone=dict(type='ResNet_CIFAR', depth=18, stem_channels=8, base_channels=8, out_indices=(3, )),
               neck=dict(type='ProjectionNeck', in_channels=64, hidden_channels=(16, ), out_channels=8),
               data_preprocessor=dict(mean=[1., 2., 3.], std=[2., 2., 2.], to_rgb=True))
    model = build(cfg)
    g = torch.Generator().manual_seed(5)
    v1, v2 = (torch.randint(0, 255, (3, 3, 8, 8), generator=g).to(torch.uint8) for _ in range(2))
    data = model.data_preprocessor(dict(inputs=dict(student=[v1, v2]),
                                        data_samples=[DataSample() for _ in range(3)]), True)
    assert isinstance(data['inputs'], list) and len(data['inputs']) == 2
    mean = torch.tensor([1., 2., 3.]).view(1, 3, 1, 1)
    torch.testing.assert_close(data['inputs'][1], (v2.flip(1).float() - mean) / 2)
    losses = model(**data, mode='loss')
    assert torch.isfinite(losses['loss_ssl'])
    # pseudo_collate: B samples x 2 views
    per_sample = [[v1[i], v2[i]] for i in range(3)]
    data2 = model.data_preprocessor(dict(inputs=dict(student=per_sample), data_samples=None), True)
    torch.testing.assert_close(data2['inputs'][0], data['inputs'][0])


@pytest.fixture(scope='module')
def wiki_root(tmp_path_factory):
    return str(make_wiki(tmp_path_factory.mktemp('data') / 'wikipedia'))


@pytest.mark.parametrize('name', ['cmda_mlp_wikipedia-ad-vision', 'cmda_mlp_wikipedia-ad-language'])
def test_two_iterations_end_to_end(name, wiki_root, tmp_path):
    cfg = Config.fromfile(str(REPO / 'configs' / 'anomaly' / f'{name}.py'))
    set_data_root(cfg, wiki_root)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.normal_classes = ['art', 'biology']  # the fixture has classes 1..3 only
        cfg[loader].dataset.dataset.serialize_data = False  # skip mmengine's gc.collect
        cfg[loader].batch_size = 2
    cfg.work_dir = str(tmp_path)
    cfg.train_cfg = dict(by_epoch=True, max_epochs=1, val_interval=1)
    cfg.param_scheduler = []
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=10, save_last=False)
    cfg.log_level = 'WARNING'
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 2  # 4 normal training pairs, batch 2
    scalars = runner.message_hub.log_scalars
    for key in ('auroc', 'aupr_out', 'aupr_in', 'fpr95'):
        assert 0.0 <= scalars[f'val/anomaly/{key}'].current() <= 100.0
    assert 'train/loss_cmda' in scalars and 'train/loss_contrastive' in scalars
    assert runner.model.data_preprocessor.cmda.dca_ready  # DCAHook fitted from the recorded bank
