"""Look at what CMDA makes: a grid of mixed training images with the samples and weights they mix.

Every ``interval`` epochs, :class:`CMDAVisualizationHook` watches the first training iteration in which the
CMDA mixer runs: it reads the normalised student images the data preprocessor produced and the
:class:`~cmda_mm.core.mixer.MixPlan` the mixer returned (through forward hooks, removed right after; the
model and the mixer are not changed and no random number is drawn), rebuilds the mixed images
``x_new = W @ x`` for the first ``num_rows`` new samples and sends one grid to the runner's visualizer
(``LocalVisBackend``: ``<work_dir>/<timestamp>/vis_data/vis_image/``; ``TensorboardVisBackend``: the
IMAGES tab). Each grid row: the new sample, then its ``max_partners`` largest-weight student images with
their weights (the teacher's own pair is marked).
"""
from typing import List, Optional, Sequence

import cv2
import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmpretrain.utils import get_ori_model
from torch import Tensor

from cmda_mm.registry import HOOKS

__all__ = ['CMDAVisualizationHook', 'cmda_sample_grid', 'to_display_images']


def to_display_images(inputs: Tensor, preprocessor) -> np.ndarray:
    """Normalised student images back to RGB ``uint8`` (N, H, W, 3), undoing the preprocessor.

    Args:
        inputs (Tensor): (N, C, H, W) images as the data preprocessor output them.
        preprocessor: The data preprocessor (its ``mean`` / ``std`` / ``to_rgb`` are read when present).

    Returns:
        np.ndarray: (N, H, W, 3) RGB images.
    """
    images = inputs.detach().float().cpu()
    if getattr(preprocessor, '_enable_normalize', False):
        images = images * preprocessor.std.detach().float().cpu() + preprocessor.mean.detach().float().cpu()
    if images.shape[1] == 1:
        images = images.expand(-1, 3, -1, -1)
    elif images.shape[1] == 3 and not getattr(preprocessor, 'to_rgb', False):
        images = images.flip(1)  # still BGR (cv2 order): show as RGB
    return images.clamp(0, 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()


def _cell(image: np.ndarray, size: int, label: str, highlight: bool = False) -> np.ndarray:
    """One grid cell: the image scaled to ``size`` (nearest), a label on top, a coloured frame for the pair."""
    cell = cv2.resize(np.ascontiguousarray(image), (size, size), interpolation=cv2.INTER_NEAREST)
    scale = max(size / 160.0, 0.3)
    cv2.rectangle(cell, (0, 0), (size - 1, int(16 * scale / 0.6) + 2), (0, 0, 0), thickness=-1)
    cv2.putText(cell, label, (2, int(13 * scale / 0.6)), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1,
                cv2.LINE_AA)
    if highlight:
        cv2.rectangle(cell, (0, 0), (size - 1, size - 1), (255, 200, 0), thickness=2)
    return cell


def cmda_sample_grid(images: np.ndarray,
                     rows: Sequence[int],
                     weights: Tensor,
                     num_rows: int = 8,
                     max_partners: int = 3,
                     cell_size: int = 96,
                     gap: int = 4) -> np.ndarray:
    """A grid of new CMDA samples: per row the mixed image, then its largest-weight partners.

    Args:
        images (np.ndarray): (N, H, W, 3) RGB ``uint8`` student images of the batch.
        rows (Sequence[int]): (R,) teacher rows that made a new sample (row ``r``'s own pair is ``rows[r]``).
        weights (Tensor): (R, N) row-stochastic mixing weights.
        num_rows (int): New samples shown (the first ones). Defaults to 8.
        max_partners (int): Partner images per row (largest weights first). Defaults to 3.
        cell_size (int): Side of one cell in pixels. Defaults to 96.
        gap (int): White pixels between cells. Defaults to 4.

    Returns:
        np.ndarray: The RGB ``uint8`` grid.
    """
    weights = weights.detach().double().cpu()
    if weights.dim() != 2 or weights.shape[1] != len(images) or weights.shape[0] != len(rows):
        raise ValueError(f'weights must be (R={len(rows)}, N={len(images)}), got {tuple(weights.shape)}')
    if len(rows) == 0:
        raise ValueError('no new sample in this batch (the plan has no rows)')
    flat = torch.from_numpy(images.reshape(len(images), -1).astype(np.float64))
    shown = min(int(num_rows), len(rows))
    mixed = (weights[:shown] @ flat).round().clamp(0, 255).to(torch.uint8).numpy().reshape(shown, *images.shape[1:])
    width = (1 + max_partners) * cell_size + max_partners * gap
    grid = np.full((shown * cell_size + (shown - 1) * gap, width, 3), 255, dtype=np.uint8)
    for r in range(shown):
        pair = int(rows[r])
        order = torch.argsort(weights[r], descending=True, stable=True)[:max_partners]
        cells = [_cell(mixed[r], cell_size, 'new')]
        cells += [_cell(images[int(j)], cell_size, f'{float(weights[r, j]):.2f}' + (' pair' if int(j) == pair else ''),
                        highlight=int(j) == pair) for j in order if weights[r, j] > 0]
        top = r * (cell_size + gap)
        for c, cell in enumerate(cells):
            left = c * (cell_size + gap)
            grid[top:top + cell_size, left:left + cell_size] = cell
    return grid


@HOOKS.register_module()
class CMDAVisualizationHook(Hook):
    """Send a grid of CMDA samples (mixed images with their partners' weights) to the visualizer.

    Add it to ``custom_hooks``; any visualizer backend works (``LocalVisBackend`` writes PNGs,
    ``TensorboardVisBackend`` shows them in TensorBoard)::

        custom_hooks = [dict(type='DCAHook'), dict(type='CMDAVisualizationHook', interval=5)]

    Only image students (4-D inputs) are drawn; a feature-vector or multi-view student is skipped with one
    message.

    Args:
        interval (int): Draw in every ``interval``-th epoch (its first iteration that mixes). Defaults to 1.
        num_rows (int): New samples per grid. Defaults to 8.
        max_partners (int): Partner images per new sample. Defaults to 3.
        cell_size (int): Pixels per cell (images are scaled, nearest neighbour). Defaults to 96.
        name (str): Image name in the visualizer. Defaults to 'cmda_samples'.
    """

    priority = 'LOW'

    def __init__(self,
                 interval: int = 1,
                 num_rows: int = 8,
                 max_partners: int = 3,
                 cell_size: int = 96,
                 name: str = 'cmda_samples') -> None:
        if int(interval) < 1 or int(num_rows) < 1 or int(max_partners) < 1 or int(cell_size) < 16:
            raise ValueError('CMDAVisualizationHook: interval, num_rows and max_partners must be >= 1 and '
                             f'cell_size >= 16, got {interval}, {num_rows}, {max_partners}, {cell_size}')
        self.interval = int(interval)
        self.num_rows = int(num_rows)
        self.max_partners = int(max_partners)
        self.cell_size = int(cell_size)
        self.name = name
        self._handles: List = []
        self._inputs: Optional[Tensor] = None
        self._plan = None
        self._pending = False
        self._skipped = False

    # ---- capture -----------------------------------------------------------------------------------
    def _remove_handles(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def before_train_epoch(self, runner) -> None:
        """Arm the capture in every ``interval``-th epoch."""
        self._pending = (runner.epoch + 1) % self.interval == 0 and not self._skipped

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        """Watch this iteration's preprocessor output and mixer plan (hooks are removed after it)."""
        if not self._pending or self._handles:
            return
        model = get_ori_model(runner.model)
        preprocessor = getattr(model, 'data_preprocessor', None)
        mixer = getattr(preprocessor, 'cmda', None)
        if mixer is None:
            self._skip(runner, 'the model has no CMDA mixer (data_preprocessor.cmda)')
            return
        self._inputs, self._plan = None, None

        def keep_inputs(module, args, output):
            if self._inputs is None and isinstance(output, dict):
                self._inputs = output.get('inputs')

        def keep_plan(module, args, output):
            if self._plan is None:
                self._plan = output

        self._handles = [preprocessor.register_forward_hook(keep_inputs), mixer.register_forward_hook(keep_plan)]

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        """Draw the grid once this iteration mixed; otherwise try again next iteration."""
        if not self._handles:
            return
        self._remove_handles()
        inputs, plan = self._inputs, self._plan
        self._inputs, self._plan = None, None
        if plan is None or plan.rows.numel() == 0:
            return  # nothing mixed in this iteration (e.g. fraction 0 or a batch without teacher)
        if not isinstance(inputs, Tensor) or inputs.dim() != 4:
            self._skip(runner, 'the student is not a batch of images (N, C, H, W)')
            return
        model = get_ori_model(runner.model)
        images = to_display_images(inputs, model.data_preprocessor)
        grid = cmda_sample_grid(images, plan.rows.tolist(), plan.weights, self.num_rows, self.max_partners,
                                self.cell_size)
        runner.visualizer.add_image(self.name, grid, step=runner.epoch + 1)
        self._pending = False

    def after_train_epoch(self, runner) -> None:
        self._remove_handles()
        self._pending = False

    def _skip(self, runner, why: str) -> None:
        self._skipped, self._pending = True, False
        print_log(f'CMDAVisualizationHook: {why}; no sample grid is drawn', logger='current')
