import pytest
import torch
import torch.nn.functional as F
from mmpretrain.structures import DataSample

import cmda_mm  # noqa: F401
from cmda_mm.models.losses.cross_modal_contrastive import (cross_modal_contrastive_loss,
                                                           supervised_cross_modal_contrastive_loss)
from cmda_mm.registry import MODELS

B, DS, DT, C = 8, 12, 6, 3


def model_cfg(**kwargs):
    cfg = dict(
        type='CMDAAligner',
        backbone=dict(type='FeatureMLP', in_channels=DS, hidden_channels=(16, )),
        teacher_encoder=dict(type='FeatureMLP', in_channels=DT, hidden_channels=(16, )),
        student_projector=dict(type='ProjectionNeck', in_channels=16, hidden_channels=(16, ), out_channels=8),
        teacher_projector=dict(type='ProjectionNeck', in_channels=16, hidden_channels=(16, ), out_channels=8),
        contrastive_loss=dict(type='CrossModalContrastiveLoss', temperature=0.2))
    cfg.update(kwargs)
    return cfg


def batch(seed=0, labels=True):
    g = torch.Generator().manual_seed(seed)
    samples = [DataSample().set_gt_label(i % C) if labels else DataSample() for i in range(B)]
    return dict(inputs=dict(student=[torch.randn(DS, generator=g) for _ in range(B)],
                            teacher=[torch.randn(DT, generator=g) for _ in range(B)]),
                data_samples=samples)


def build(seed=0, **kwargs):
    torch.manual_seed(seed)
    return MODELS.build(model_cfg(**kwargs))


@pytest.mark.parametrize('supervised', [False, True])
def test_loss_is_the_contrastive_loss_of_the_embeddings(supervised):
    model = build(supervised=supervised).eval()  # eval: no BN batch statistics, so two passes agree
    data = model.data_preprocessor(batch(), False)
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss_contrastive', 'pair_top1'}
    z_s, z_t = model(data['inputs'], mode='tensor', teacher=data['teacher'])
    torch.testing.assert_close(z_s.norm(dim=1), torch.ones(B))
    z = torch.stack([z_s, z_t])
    labels = torch.arange(B) % C
    expected = (supervised_cross_modal_contrastive_loss(z, labels, 0.2) if supervised
                else cross_modal_contrastive_loss(z, 0.2)).mean()
    torch.testing.assert_close(losses['loss_contrastive'], expected)
    top1 = ((z_t @ z_s.t()).argmax(1) == torch.arange(B)).float().mean()
    torch.testing.assert_close(losses['pair_top1'], top1)
    assert model.contrastive_loss.supervised is supervised


def test_gradients_reach_both_towers_and_training_aligns_pairs():
    model = build().train()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    data = model.data_preprocessor(batch(), True)
    first = None
    for step in range(30):
        losses = model(**data, mode='loss')
        opt.zero_grad()
        losses['loss_contrastive'].backward()
        if step == 0:
            first = losses['loss_contrastive'].item()
            for tower in (model.backbone, model.teacher_encoder, model.student_projector,
                          model.teacher_projector):
                assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in tower.parameters()
                           if p.requires_grad)
        opt.step()
    model.eval()
    losses = model(**data, mode='loss')
    assert losses['loss_contrastive'].item() < first
    assert losses['pair_top1'].item() == 1.0


def test_predict_and_errors():
    model = build().eval()
    data = model.data_preprocessor(batch(), False)
    out = model(data['inputs'], data['data_samples'], mode='predict', teacher=data['teacher'])
    z_s, z_t = model(data['inputs'], mode='tensor', teacher=data['teacher'])
    torch.testing.assert_close(torch.stack([s.student_embedding for s in out]), z_s)
    torch.testing.assert_close(torch.stack([s.teacher_embedding for s in out]), z_t)
    torch.testing.assert_close(model(data['inputs'], mode='tensor'), z_s)
    with pytest.raises(RuntimeError, match='Invalid mode'):
        model(data['inputs'], mode='bogus')
    with pytest.raises(ValueError, match='teacher inputs'):
        model(data['inputs'], data['data_samples'], mode='loss')
    unlabelled = build(supervised=True).data_preprocessor(batch(labels=False), False)
    with pytest.raises(ValueError, match='gt_label'):
        build(supervised=True)(**unlabelled, mode='loss')
    with pytest.raises(ValueError, match='mixing happens offline'):
        build(data_preprocessor=dict(cmda=dict(top_k=2)))


def test_image_student_with_neck():
    model = MODELS.build(model_cfg(
        backbone=dict(type='ResNet_CIFAR', depth=18, stem_channels=4, base_channels=4, out_indices=(3, )),
        neck=dict(type='GlobalAveragePooling'),
        student_projector=dict(type='ProjectionNeck', in_channels=32, hidden_channels=(16, ), out_channels=8)))
    g = torch.Generator().manual_seed(0)
    data = dict(inputs=dict(student=[torch.randint(0, 255, (3, 16, 16), generator=g, dtype=torch.uint8)
                                     for _ in range(4)],
                            teacher=[torch.randn(DT, generator=g) for _ in range(4)]),
                data_samples=[DataSample().set_gt_label(0) for _ in range(4)])
    data = model.data_preprocessor(data, True)
    losses = model(**data, mode='loss')
    assert losses['loss_contrastive'].isfinite()
    assert F.normalize(model(data['inputs'], mode='tensor'), dim=1).shape == (4, 8)
