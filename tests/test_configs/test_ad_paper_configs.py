"""The paper's anomaly-detection configs (Class-COCO / Oxford-102) train and validate end to end on a fixture."""
from pathlib import Path

from mmengine.config import Config
from mmengine.runner import Runner

import cmda_mm  # noqa: F401
from cmda_mm.utils import set_data_root
from fixtures import make_oxford

REPO = Path(__file__).resolve().parents[2]
SIZES = {'RandomResizedCrop': dict(scale=32), 'ResizeEdge': dict(scale=36), 'CenterCrop': dict(crop_size=32)}


def shrink(node):
    """Set every image size in a (nested) pipeline to 32 px."""
    if isinstance(node, (list, tuple)):
        for item in node:
            shrink(item)
    elif isinstance(node, dict):
        node.update(SIZES.get(node.get('type'), {}))
        for value in node.values():
            shrink(value)


def test_oxford_vision_cmda_resnet18_two_iterations(tmp_path):
    """ResNet-18 + MultiView views + text teacher: 2 CMDA iterations, DCA fitted, last-epoch AD metrics."""
    root = make_oxford(tmp_path / 'oxford102')  # classes 1..3 with 5, 4 and 3 images
    cfg = Config.fromfile(str(REPO / 'configs/anomaly/backbones/cmda_resnet18_oxford102-ad-vision.py'))
    set_data_root(cfg, str(root))
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.dataset.update(normal_groups=['class_00001', 'class_00002'], abnormal_groups=None,
                                           serialize_data=False)
        shrink(cfg[loader].dataset.pipeline)
        cfg[loader].update(batch_size=3, num_workers=0, persistent_workers=False)
    cfg.work_dir = str(tmp_path / 'work')
    cfg.train_cfg = dict(by_epoch=True, max_epochs=1, val_interval=1)
    cfg.param_scheduler = []
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=10, save_last=False)
    cfg.log_level = 'WARNING'
    runner = Runner.from_cfg(cfg)

    train_set = runner.train_dataloader.dataset
    assert train_set.role_counts == dict(bank=7, normal=0, anomaly=0)  # 5 + 4 images, 1 + 1 held out
    sample = train_set[0]
    views = sample['inputs']['student']
    assert len(views) == 2 and views[0].shape == (3, 32, 32) and sample['inputs']['teacher'].shape == (384, )
    val_set = runner.val_dataloader.dataset
    assert val_set.role_counts == dict(bank=7, normal=2, anomaly=3)  # every image of class 3 is an anomaly

    runner.train()
    assert runner.iter == 2  # 7 normal training images, batch 3, last batch dropped
    scalars = runner.message_hub.log_scalars
    for key in ('auroc', 'aupr_out', 'aupr_in', 'fpr95'):
        assert 0.0 <= scalars[f'val/anomaly/{key}'].current() <= 100.0
    assert 'train/loss_cmda' in scalars and 'train/loss_contrastive' in scalars and 'train/loss_ssl' in scalars
    assert runner.model.data_preprocessor.cmda.dca_ready  # DCAHook fitted from the recorded bank
    assert runner.model.backbone.depth == 18
