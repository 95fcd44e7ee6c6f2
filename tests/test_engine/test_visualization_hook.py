"""CMDAVisualizationHook: the sample grid is what the mixer made, and a short run writes it to the visualizer."""
import glob
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

import cmda_mm  # noqa: F401
from cmda_mm.engine.hooks import CMDAVisualizationHook
from cmda_mm.engine.hooks.visualization_hook import cmda_sample_grid, to_display_images

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_grid_cells_are_the_mix_and_its_top_partners():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(5, 8, 8, 3), dtype=np.uint8)
    weights = torch.tensor([[0.5, 0.3, 0.2, 0.0, 0.0], [0.0, 0.0, 0.0, 0.25, 0.75]], dtype=torch.float64)
    grid = cmda_sample_grid(images, [0, 3], weights, num_rows=2, max_partners=3, cell_size=16, gap=2)
    assert grid.shape == (2 * 16 + 2, 4 * 16 + 3 * 2, 3) and grid.dtype == np.uint8
    want = (0.5 * images[0].astype(float) + 0.3 * images[1] + 0.2 * images[2]).round().astype(np.uint8)
    first = cv2.resize(want, (16, 16), interpolation=cv2.INTER_NEAREST)
    np.testing.assert_array_equal(grid[12:16, :16], first[12:16])  # below the label bar
    # row 2: the mix, partner 4 (0.75), partner 3 (0.25, its pair, framed); no third partner (weight 0)
    np.testing.assert_array_equal(grid[18 + 12:18 + 15, 18 + 1:18 + 15],
                                  cv2.resize(images[4], (16, 16), interpolation=cv2.INTER_NEAREST)[12:15, 1:15])
    assert (grid[18:34, 3 * 18:] == 255).all()
    with pytest.raises(ValueError, match=r'\(R=2, N=5\)'):
        cmda_sample_grid(images, [0, 3], weights[:, :4])


def test_display_images_undo_normalisation_and_bgr():
    class Pre:
        _enable_normalize = True
        to_rgb = False
        mean = torch.tensor([10.0, 20.0, 30.0]).view(3, 1, 1)
        std = torch.tensor([2.0, 2.0, 2.0]).view(3, 1, 1)
    bgr = torch.tensor([100.0, 150.0, 200.0]).view(1, 3, 1, 1).expand(1, 3, 2, 2)
    out = to_display_images((bgr - Pre.mean) / Pre.std, Pre())
    assert out.shape == (1, 2, 2, 3)
    np.testing.assert_array_equal(out[0, 0, 0], [200, 150, 100])


def test_hook_writes_a_grid_in_a_short_run(tmp_path):
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'cmda_demo.py'))
    cfg.work_dir = str(tmp_path)
    cfg.train_cfg.max_epochs = 2
    cfg.train_cfg.val_interval = 10
    cfg.train_dataloader.dataset.num_samples = 64
    cfg.val_dataloader.dataset.num_samples = 16
    cfg.train_dataloader.batch_size = 32
    cfg.test_dataloader = cfg.test_cfg = cfg.test_evaluator = None
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=100)
    cfg.custom_hooks = [h for h in cfg.custom_hooks if h['type'] != 'CMDAVisualizationHook']
    cfg.custom_hooks.append(dict(type='CMDAVisualizationHook', interval=2, num_rows=4, cell_size=32))
    runner = Runner.from_cfg(cfg)
    runner.train()
    hook, = [h for h in runner.hooks if isinstance(h, CMDAVisualizationHook)]
    assert not hook._handles  # nothing left attached to the model
    files = glob.glob(osp.join(str(tmp_path), '*', 'vis_data', 'vis_image', 'cmda_samples_*.png'))
    assert [osp.basename(f) for f in files] == ['cmda_samples_2.png']  # epoch 2 only (interval=2)
    grid = cv2.imread(files[0])
    assert grid.shape[1] == 4 * 32 + 3 * 4 and grid.shape[0] == 4 * 32 + 3 * 4


def test_hook_skips_a_model_without_mixer_once():
    with pytest.raises(ValueError, match='interval'):
        CMDAVisualizationHook(interval=0)

    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.data_preprocessor = torch.nn.Identity()

    class FakeRunner:
        model = Model()
        epoch = 0

    hook = CMDAVisualizationHook()
    hook.before_train_epoch(FakeRunner)
    hook.before_train_iter(FakeRunner, 0)
    assert hook._skipped and not hook._handles
    hook.before_train_epoch(FakeRunner)
    assert not hook._pending  # no second attempt, no second message


@pytest.mark.skipif(__import__('importlib').util.find_spec('tensorboard') is None,
                    reason='tensorboard is optional (pip install -r requirements/tensorboard.txt)')
def test_grid_reaches_tensorboard(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'cmda_demo.py'))
    cfg.work_dir = str(tmp_path)
    cfg.train_cfg.max_epochs = 1
    cfg.train_dataloader.dataset.num_samples = 64
    cfg.val_dataloader.dataset.num_samples = 16
    cfg.test_dataloader = cfg.test_cfg = cfg.test_evaluator = None
    cfg.visualizer.vis_backends = [dict(type='TensorboardVisBackend')]
    cfg.custom_hooks = [h for h in cfg.custom_hooks if h['type'] != 'CMDAVisualizationHook']
    cfg.custom_hooks.append(dict(type='CMDAVisualizationHook', interval=1, num_rows=2, cell_size=32))
    Runner.from_cfg(cfg).train()
    events, = glob.glob(osp.join(str(tmp_path), '*', 'vis_data', 'events.out.tfevents.*'))
    acc = EventAccumulator(events)
    acc.Reload()
    assert 'cmda_samples' in acc.Tags()['images']
