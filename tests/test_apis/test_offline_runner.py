"""cmda_mm.apis.offline (runner part of offline CMDA); utils/ holds no method logic any more."""
import pytest
from mmengine.config import Config

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


def test_build_model_needs_a_teacher_tower():
    cfg = Config(dict(model=dict(
        type='CMDAClassifier', backbone=dict(type='FeatureMLP', in_channels=4, hidden_channels=(8, )),
        head=dict(type='LinearClsHead', num_classes=2, in_channels=8))))
    with pytest.raises(TypeError, match='teacher'):
        apis.build_model(cfg)
