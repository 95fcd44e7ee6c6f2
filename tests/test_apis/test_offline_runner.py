"""cmda_mm.apis.offline (runner part of offline CMDA); utils/ holds no method logic any more."""
import pytest
import torch
from mmengine.config import Config
from torch.utils.data import DataLoader

import cmda_mm  # noqa: F401
import cmda_mm.apis as apis
import cmda_mm.core as core
import cmda_mm.core.offline as pure


def test_offline_names_live_in_core_and_apis_not_in_utils():
    for name in ('build_model', 'embed_dataset', 'embed_loader_cfg'):
        assert callable(getattr(apis, name))
    for name in ('EmbeddedSet', 'Plan', 'pool_weights', 'make_plan', 'generate_rows'):
        assert getattr(pure, name) is getattr(core, name, getattr(pure, name))
    with pytest.raises(ModuleNotFoundError):
        import cmda_mm.utils.offline  # noqa: F401  (moved: cmda_mm.core.offline + cmda_mm.apis.offline)


def test_embed_loader_uses_the_test_pipeline_unshuffled():
    cfg = Config(dict(
        train_dataloader=dict(batch_size=4, num_workers=0, persistent_workers=True,
                              sampler=dict(type='DefaultSampler', shuffle=True),
                              dataset=dict(type='X', pipeline=[dict(type='RandomFlip')])),
        test_dataloader=dict(dataset=dict(type='X', pipeline=[dict(type='PackPairedInputs')]))))
    loader = apis.embed_loader_cfg(cfg)
    assert loader.sampler == dict(type='DefaultSampler', shuffle=False)
    assert loader.dataset.pipeline == [dict(type='PackPairedInputs')]
    assert 'persistent_workers' not in loader  # only valid with workers
    assert cfg.train_dataloader.dataset.pipeline == [dict(type='RandomFlip')]  # the config is not modified


def test_embed_loader_never_drops_the_last_samples():
    """Issue 22: the fashion / Oxford-102 / Class-COCO train loaders set drop_last=True; the embedding pass
    must still see every sample (it embedded 256 of 420 before)."""
    loader = dict(batch_size=128, drop_last=True, batch_sampler=dict(type='AspectRatioBatchSampler'),
                  sampler=dict(type='InfiniteSampler', shuffle=True), dataset=dict(type='X', pipeline=[]))
    for cfg in (Config(dict(train_dataloader=loader)),
                Config(dict(train_dataloader=dict(batch_size=4, dataset=dict(type='Y')),
                            augment=dict(dataloader=loader)))):
        out = apis.embed_loader_cfg(cfg)
        assert out.drop_last is False and 'batch_sampler' not in out
        assert out.sampler == dict(type='DefaultSampler', shuffle=False)
    assert Config(dict(train_dataloader=loader)).train_dataloader.drop_last is True  # not modified


class _Tower(torch.nn.Module):
    """The embedding interface of a CMDA model, identity towers."""

    def data_preprocessor(self, data, training):
        return dict(inputs=torch.stack(data['inputs']['student']), teacher=torch.stack(data['inputs']['teacher']))

    def extract_feat(self, x):
        return x

    def embed(self, feats, teacher):
        return feats, teacher


def test_embed_dataset_refuses_a_loader_that_drops_samples():
    samples = [dict(inputs=dict(student=torch.full((2, ), float(i)), teacher=torch.ones(3))) for i in range(7)]

    def collate(batch):
        return dict(inputs=dict(student=[b['inputs']['student'] for b in batch],
                                teacher=[b['inputs']['teacher'] for b in batch]))

    data = apis.embed_dataset(_Tower(), DataLoader(samples, batch_size=3, collate_fn=collate), progress=False)
    assert data.z_student[:, 0].tolist() == list(range(7))  # all 7, in order, the last batch of one included
    with pytest.raises(RuntimeError, match=r'embedded 6 of the 7 samples.*drop_last'):
        apis.embed_dataset(_Tower(), DataLoader(samples, batch_size=3, drop_last=True, collate_fn=collate),
                           progress=False)


def test_build_model_needs_a_teacher_tower():
    cfg = Config(dict(model=dict(
        type='CMDAClassifier', backbone=dict(type='FeatureMLP', in_channels=4, hidden_channels=(8, )),
        head=dict(type='LinearClsHead', num_classes=2, in_channels=8))))
    with pytest.raises(TypeError, match='teacher'):
        apis.build_model(cfg)
