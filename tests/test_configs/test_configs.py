"""Every config builds; each variant trains 2 iterations + validates; resume restores the DCA state."""
import glob
import os.path as osp
from pathlib import Path

import pytest
import torch
from fixtures_fashion import make_fashion
from mmengine.config import Config
from mmengine.evaluator import Evaluator
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

import cmda_mm  # noqa: F401
from cmda_mm.registry import DATASETS, MODELS
from cmda_mm.utils import set_data_root
from fixtures import make_coco, make_karpathy, make_oxford, make_wiki

REPO = Path(__file__).resolve().parents[2]
CONFIGS = sorted(p for p in glob.glob(str(REPO / 'configs' / '**' / '*.py'), recursive=True)
                 if '_base_' not in p)


def rel(path):
    return osp.relpath(path, REPO)


@pytest.fixture(scope='module')
def wiki_root(tmp_path_factory):
    return str(make_wiki(tmp_path_factory.mktemp('data') / 'wikipedia'))


@pytest.fixture(scope='module')
def paper_roots(tmp_path_factory):
    """Class-COCO / Oxford-102 fixtures in the official layouts, by dataset type."""
    base = tmp_path_factory.mktemp('paper_data')
    return {'ClassCOCODataset': str(make_coco(base / 'coco')),
            'Oxford102Dataset': str(make_oxford(base / 'oxford102')),
            'KarpathyCaptionDataset': str(make_karpathy(base / 'coco', images=KARPATHY_IMAGES, with_images=True)),
            'FashionProductsDataset': make_fashion(str(base / 'fashion'))}


KARPATHY_IMAGES = [
    dict(filepath='train2014', filename=f'COCO_train2014_{i}.jpg', cocoid=i, split=split,
         sentences=[dict(raw=f'a photo number {i}', tokens=['a', 'photo', 'number', str(i)])])
    for i, split in enumerate(('train', 'train', 'val', 'test'))]


# Anomaly groups the paper fixtures hold (Class-COCO: train, giraffe, zebra images; Oxford-102: classes 1..3).
FIXTURE_AD_GROUPS = {
    'ClassCOCODataset': dict(normal_groups=['train'], abnormal_groups=['giraffe', 'zebra']),
    'Oxford102Dataset': dict(normal_groups=['class_00001', 'class_00002'], abnormal_groups=['class_00003']),
    'FashionProductsDataset': dict(normal_groups=6)}


def data_type(dataset):
    """The type of the data under an AnomalySplitDataset wrapper (or of the dataset itself)."""
    return dataset['dataset']['type'] if dataset['type'] == 'AnomalySplitDataset' else dataset.get('type')


@pytest.mark.parametrize('path', CONFIGS, ids=rel)
def test_config_builds(path, wiki_root, paper_roots):
    cfg = Config.fromfile(path)
    assert cfg.get('default_scope') == 'cmda_mm', 'our types resolve in cmda_mm first (cmda_mm/registry.py)'
    with DefaultScope.overwrite_default_scope(cfg.default_scope):  # as the Runner builds them
        model = MODELS.build(cfg.model)
        for key in ('val_evaluator', 'test_evaluator'):
            if cfg.get(key):
                assert Evaluator(cfg[key]).metrics
    assert model.data_preprocessor is not None
    if osp.basename(path).startswith('cmda-offline_'):
        return  # its data is tools/augment_offline.py's output: tests/test_tools/test_augment_offline.py trains it
    set_data_root(cfg, paper_roots.get(data_type(cfg.train_dataloader.dataset), wiki_root))
    for loader in ('train_dataloader', 'val_dataloader'):
        dataset = cfg[loader].dataset
        if dataset['type'] == 'ShapesDemoDataset':
            dataset['num_samples'] = 12
        if dataset['type'] == 'AnomalySplitDataset' and data_type(dataset) in FIXTURE_AD_GROUPS:
            dataset['dataset'].update(FIXTURE_AD_GROUPS[data_type(dataset)], serialize_data=False)
        elif dataset['type'] == 'AnomalySplitDataset':
            dataset['normal_classes'] = ['art', 'biology']  # the fixture holds classes 1..3 only
        if data_type(dataset) == 'FashionProductsDataset':  # the fixture's 8 types have 4 images each
            (dataset['dataset'] if dataset['type'] == 'AnomalySplitDataset' else dataset)['min_class_size'] = 3
        if dataset['type'] in paper_roots:
            dataset['serialize_data'] = False  # skips mmengine's gc.collect() (~0.4 s a dataset)
        with DefaultScope.overwrite_default_scope(cfg.default_scope):  # as the Runner does (MultiView)
            ds = DATASETS.build(dataset)
            item = ds[0]
        assert 'inputs' in item and 'data_samples' in item


def tiny_demo_cfg(path, work_dir, epochs=1):
    cfg = Config.fromfile(str(REPO / path))
    cfg.work_dir = str(work_dir)
    for loader, n in (('train_dataloader', 16), ('val_dataloader', 8), ('test_dataloader', 8)):
        cfg[loader].dataset.num_samples = n
        cfg[loader].batch_size = 8
    cfg.train_cfg = dict(by_epoch=True, max_epochs=epochs, val_interval=1)
    cfg.param_scheduler = []
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1)
    cfg.log_level = 'WARNING'
    return cfg


VARIANTS = ['configs/demo/base_resnet_shapes.py', 'configs/demo/mixup_resnet_shapes.py', 'configs/cmda_demo.py',
            'configs/demo/cmda-nodca_resnet_shapes.py']


@pytest.mark.parametrize('path', VARIANTS)
def test_two_iterations_train_and_val(path, tmp_path):
    runner = Runner.from_cfg(tiny_demo_cfg(path, tmp_path))
    runner.train()
    assert runner.iter == 2
    scalars = runner.message_hub.log_scalars
    assert 'val/accuracy/top1' in scalars
    mixer = getattr(runner.model.data_preprocessor, 'cmda', None)
    if 'cmda' in path:
        assert 'train/cmda_pair_weight' in scalars and 'train/loss_contrastive' in scalars
        assert mixer.dca_ready == ('nodca' not in path)


def test_resume_restores_dca_state_exactly(tmp_path):
    first = Runner.from_cfg(tiny_demo_cfg('configs/cmda_demo.py', tmp_path / 'a', epochs=1))
    first.train()
    mixer = first.model.data_preprocessor.cmda
    assert mixer.dca_ready

    cfg = tiny_demo_cfg('configs/cmda_demo.py', tmp_path / 'b', epochs=1)
    cfg.load_from, cfg.resume = str(tmp_path / 'a' / 'epoch_1.pth'), True
    second = Runner.from_cfg(cfg)
    second.train()  # loads the checkpoint; max_epochs reached, so no further step
    resumed = second.model.data_preprocessor.cmda
    for name in ('gmm_weights', 'gmm_means', 'gmm_precisions_cholesky'):
        torch.testing.assert_close(getattr(resumed, name), getattr(mixer, name), rtol=0, atol=0)

    g = torch.Generator().manual_seed(0)
    t = torch.nn.functional.normalize(torch.randn(8, mixer.gmm_means.shape[1], generator=g), dim=1)
    s = torch.nn.functional.normalize(torch.randn(8, mixer.gmm_means.shape[1], generator=g), dim=1)
    a, b = mixer(t, s), resumed(t, s)  # same RNG state (checkpointed), same GMM: identical plans
    torch.testing.assert_close(a.rows, b.rows)
    torch.testing.assert_close(a.weights, b.weights, rtol=0, atol=0)
