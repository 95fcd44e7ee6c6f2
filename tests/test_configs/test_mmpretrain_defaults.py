"""Every config is valid under mmpretrain's own ``tools/train.py`` dataloader defaults.

mmpretrain's train.py fills ``pin_memory=True, persistent_workers=True`` into every dataloader that does not
set them; PyTorch refuses ``persistent_workers=True`` with ``num_workers=0``. Our loaders that run in the main
process therefore say ``persistent_workers=False`` (and ``pin_memory=False``) themselves.
"""
import glob
import os.path as osp
from copy import deepcopy
from pathlib import Path

import pytest
from mmengine.config import Config, ConfigDict

REPO = Path(__file__).resolve().parents[2]
CONFIGS = sorted(p for p in glob.glob(str(REPO / 'configs' / '**' / '*.py'), recursive=True) if '_base_' not in p)
MMPRETRAIN_DEFAULTS = ConfigDict(pin_memory=True, persistent_workers=True, collate_fn=dict(type='default_collate'))


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: osp.relpath(p, REPO))
def test_loaders_valid_with_mmpretrain_defaults(path):
    cfg = Config.fromfile(path)
    for field in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if cfg.get(field) is None:
            continue
        loader = deepcopy(MMPRETRAIN_DEFAULTS)
        loader.update(cfg[field])
        workers = loader.get('num_workers', 0)
        assert not (loader.persistent_workers and workers == 0), (
            f'{osp.relpath(path, REPO)}: {field} has num_workers=0 but persistent_workers is not set to False; '
            'mmpretrain tools/train.py would fail ("persistent_workers option needs num_workers > 0")')
        if workers == 0:
            assert loader.pin_memory is False, f'{osp.relpath(path, REPO)}: {field}: set pin_memory=False'


def test_shared_pipeline_pieces_compose_the_image_configs():
    cfg = Config.fromfile(str(REPO / 'configs' / '_base_' / 'datasets' / 'oxford102_vision_text-teacher.py'))
    types = [t['type'] for t in cfg.train_dataloader.dataset.pipeline]
    assert types == ['LoadImageFromFile', 'RandomResizedCrop', 'RandomFlip', 'ColorJitter', 'RandomErasing',
                     'RandomCaption', 'LoadFeatureRow', 'PackPairedInputs']
    types = [t['type'] for t in cfg.val_dataloader.dataset.pipeline]
    assert types == ['LoadImageFromFile', 'ResizeEdge', 'CenterCrop', 'RandomCaption', 'LoadFeatureRow',
                     'PackPairedInputs']
