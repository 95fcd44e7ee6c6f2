"""Fashion configs train a few iterations on tiny prepared data: raw pixels (32 px), features, AD, and ResNet-50 at
the paper's 224 px scale (for a GPU; here a couple of CPU iterations on 2-image batches)."""
from pathlib import Path

import pytest
from fixtures_fashion import make_fashion
from mmengine.config import Config
from mmengine.runner import Runner

import cmda_mm  # noqa: F401
from cmda_mm.utils import set_data_root

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope='module')
def root(tmp_path_factory):
    return make_fashion(str(tmp_path_factory.mktemp('fashion')))


def tiny(path, root, work_dir, batch=4):
    cfg = Config.fromfile(str(REPO / path))
    cfg.work_dir = str(work_dir)
    set_data_root(cfg, root)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        ds = cfg[loader].dataset
        (ds.dataset if ds.type == 'AnomalySplitDataset' else ds).min_class_size = 3
        cfg[loader].batch_size = batch
        cfg[loader].num_workers = 0
        cfg[loader].persistent_workers = False
    cfg.train_cfg = dict(by_epoch=True, max_epochs=1, val_interval=1)
    cfg.param_scheduler = []
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.log_level = 'WARNING'
    return cfg


@pytest.mark.parametrize('path,batch', [
    ('configs/fashion/cmda_resnet18w8_fashion-32px.py', 4),
    ('configs/fashion/cmda-masked_resnet18w8_fashion-32px.py', 4),
    ('configs/fashion/id_resnet18w8_fashion-32px.py', 4),
    ('configs/fashion/cmda_mlp_fashion-language.py', 4),
    ('configs/fashion/cmda_resnet18w8_fashion-ad-32px.py', 4),
    ('configs/fashion/cmda_resnet50_fashion-224px.py', 2),
])
def test_fashion_config_trains_and_tests(path, batch, root, tmp_path):
    runner = Runner.from_cfg(tiny(path, root, tmp_path, batch))
    runner.train()
    assert runner.iter >= 2
    metrics = runner.test()
    assert any(k.startswith(('accuracy', 'anomaly')) for k in metrics)
    if 'cmda' in path:
        assert 'train/loss_contrastive' in runner.message_hub.log_scalars
