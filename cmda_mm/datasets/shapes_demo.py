"""A generated, deterministic image-caption dataset for demos and tests.

Every sample is a small image of one coloured shape on a noisy, cluttered
background, paired with a caption such as ``"a large red triangle in the top
left"``. The caption names the class *and* attributes that the label does not
carry (colour, size, position), so the text side is the easy, informative
teacher and the image side the harder student. Nothing is stored on disk: the
whole split is rendered with vectorised numpy from a seed, identically in
every process.
"""
import re
from collections import Counter
from typing import List, Optional

import numpy as np
from mmpretrain.datasets import BaseDataset

from cmda_mm.registry import DATASETS

__all__ = ['ShapesDemoDataset']

SHAPES = ('circle', 'square', 'triangle', 'cross', 'ring', 'diamond')
# BGR, like images read by ``LoadImageFromFile`` (cv2).
COLOURS = {'red': (40, 40, 220), 'green': (60, 180, 40),
           'blue': (220, 80, 50), 'yellow': (40, 210, 230),
           'purple': (190, 60, 150), 'orange': (30, 140, 240)}
SIZES = {'small': 0.11, 'large': 0.16}  # radius as a fraction of the side
ROWS, COLS = ('top', 'middle', 'bottom'), ('left', 'center', 'right')
TEMPLATES = ('a {size} {colour} {shape} in the {position}',
             'a picture of a {size} {colour} {shape} in the {position}',
             'there is a {colour} {shape} of {size} size in the {position}',
             '{position}: a {size} {colour} {shape}')
_AN_RE = re.compile(r'\ba (?=[aeiou])')  # 'a orange' -> 'an orange'
SPLIT_IDS = {'train': 0, 'test': 1}
DEFAULT_NUM = {'train': 1200, 'test': 400}


def _position_name(row: int, col: int) -> str:
    if row == 1 and col == 1:
        return 'center'
    return f'{ROWS[row]} {COLS[col]}'


def _shape_mask(name: str, x: np.ndarray, y: np.ndarray,
                r: np.ndarray) -> np.ndarray:
    """Mask of shape ``name`` from pixel offsets ``x``/``y`` and radii."""
    adx, ady = np.abs(x), np.abs(y)
    if name == 'circle':
        return x * x + y * y <= r * r
    if name == 'square':
        return np.maximum(adx, ady) <= 0.8 * r
    if name == 'triangle':  # apex up, base 0.75 r below the centre
        return (y <= 0.75 * r) & (adx <= 0.55 * (y + r))
    if name == 'cross':
        return (np.minimum(adx, ady) <= 0.3 * r) & (np.maximum(adx, ady) <= r)
    if name == 'ring':
        d2 = x * x + y * y
        return (d2 <= r * r) & (d2 >= (0.55 * r)**2)
    if name == 'diamond':
        return adx + ady <= r
    raise ValueError(f'Unknown shape {name!r}.')


def shape_masks(kind: np.ndarray, dx: np.ndarray, dy: np.ndarray,
                r: np.ndarray) -> np.ndarray:
    """Boolean masks ``(N, H, W)`` of shape ``kind[n]`` (index in SHAPES).

    ``dx``/``dy`` are ``(N, H, W)`` pixel offsets from each centre and ``r``
    the radii as ``(N, 1, 1)``; each shape is evaluated on its samples only.
    """
    masks = np.zeros(dx.shape, dtype=bool)
    for k, name in enumerate(SHAPES):
        sel = np.flatnonzero(kind == k)
        if len(sel):
            masks[sel] = _shape_mask(name, dx[sel], dy[sel], r[sel])
    return masks


def render(rng: np.random.Generator, num: int, size: int,
           noise: float, clutter: int) -> dict:
    """Draw labels, attributes and images of ``num`` samples."""
    labels = rng.permutation(np.arange(num) % len(SHAPES))
    colour = rng.integers(len(COLOURS), size=num)
    big = rng.integers(2, size=num)
    row, col = rng.integers(3, size=num), rng.integers(3, size=num)
    template = rng.integers(len(TEMPLATES), size=num)

    grid = np.arange(size, dtype=np.float32)
    cy = ((2 * row + 1) / 6 + rng.uniform(-.03, .03, num)) * size
    cx = ((2 * col + 1) / 6 + rng.uniform(-.03, .03, num)) * size
    radius = np.where(big == 1, SIZES['large'], SIZES['small']) * size
    dy = np.broadcast_to((grid - cy[:, None])[:, :, None], (num, size, size))
    dx = np.broadcast_to((grid - cx[:, None])[:, None, :], (num, size, size))
    mask = shape_masks(labels, dx, dy, radius[:, None, None])

    palette = np.array(list(COLOURS.values()), dtype=np.float32)
    img = rng.standard_normal((num, size, size, 3), dtype=np.float32)
    img *= 255 * noise
    img += rng.uniform(60, 190, (num, 1, 1, 1)).astype(np.float32)
    for _ in range(clutter):  # small rectangles in palette colours
        lo = rng.uniform(-2, size, (num, 2)).astype(np.float32)
        hi = lo + rng.uniform(0.04, 0.12, (num, 2)) * size
        rows = (grid >= lo[:, :1]) & (grid <= hi[:, :1])
        cols = (grid >= lo[:, 1:]) & (grid <= hi[:, 1:])
        blob = rows[:, :, None] & cols[:, None, :]
        img[blob] = palette[rng.integers(len(palette), size=num)].repeat(
            blob.sum((1, 2)), axis=0)
    tint = palette[colour] + rng.normal(0, 12, (num, 3)).astype(np.float32)
    shade = rng.standard_normal((int(mask.sum()), 3), dtype=np.float32)
    img[mask] = tint.repeat(mask.sum((1, 2)), axis=0) + shade * (
        255 * noise / 2)
    return dict(img=np.clip(img, 0, 255).astype(np.uint8), labels=labels,
                colour=colour, big=big, row=row, col=col, template=template)


@DATASETS.register_module()
class ShapesDemoDataset(BaseDataset):
    """Generated shapes with captions; train and test are disjoint streams.

    Args:
        split (str): 'train' or 'test'. Defaults to 'train'.
        num_samples (int, optional): Number of samples. Defaults to None
            (1200 for train, 400 for test).
        image_size (int): Side of the square images. Defaults to 32.
        noise (float): Std of the background noise, as a fraction of 255.
            Defaults to 0.12.
        clutter (int): Number of distractor blobs per image. Defaults to 4.
        seed (int): Base seed; the split is mixed in. Defaults to 0.
        **kwargs: Other arguments of :class:`mmpretrain.datasets.BaseDataset`
            (``pipeline``, ``test_mode``, ``indices``, ``lazy_init``...).
    """

    METAINFO = {'classes': SHAPES}

    def __init__(self,
                 split: str = 'train',
                 num_samples: Optional[int] = None,
                 image_size: int = 32,
                 noise: float = 0.12,
                 clutter: int = 4,
                 seed: int = 0,
                 **kwargs):
        if split not in SPLIT_IDS:
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        if image_size < 12:
            raise ValueError(f'image_size must be >= 12, got {image_size}.')
        self.split = split
        self.num_samples = DEFAULT_NUM[split] if num_samples is None \
            else int(num_samples)
        self.image_size, self.noise = int(image_size), float(noise)
        self.clutter, self.seed = int(clutter), int(seed)
        super().__init__(ann_file='', **kwargs)

    def load_data_list(self) -> List[dict]:
        """Render the split."""
        rng = np.random.default_rng([self.seed, SPLIT_IDS[self.split]])
        out = render(rng, self.num_samples, self.image_size, self.noise,
                     self.clutter)
        colours, shape_hw = list(COLOURS), (self.image_size, ) * 2
        data_list = []
        for i in range(self.num_samples):
            attributes = dict(
                colour=colours[out['colour'][i]],
                size='large' if out['big'][i] else 'small',
                position=_position_name(out['row'][i], out['col'][i]))
            caption = TEMPLATES[out['template'][i]].format(
                shape=SHAPES[out['labels'][i]], **attributes)
            caption = _AN_RE.sub('an ', caption)
            data_list.append(
                dict(img=out['img'][i], caption=caption,
                     gt_label=int(out['labels'][i]), attributes=attributes,
                     ori_shape=shape_hw, img_shape=shape_hw))
        return data_list

    def describe(self) -> str:
        """A one-paragraph summary: sizes, seed and class counts."""
        counts = Counter(self.get_gt_labels().tolist())
        per_class = ', '.join(f'{name}: {counts.get(k, 0)}'
                              for k, name in enumerate(self.CLASSES))
        return (f'ShapesDemoDataset(split={self.split!r}, '
                f'{len(self)} samples of {self.image_size}x'
                f'{self.image_size}x3 uint8 BGR, noise={self.noise}, '
                f'clutter={self.clutter}, seed={self.seed}; {per_class}; '
                f'e.g. {self.get_data_info(0)["caption"]!r})')

    def extra_repr(self) -> List[str]:
        """Extra lines of ``repr``."""
        return [f'Split: \t{self.split}', f'Image size: \t{self.image_size}',
                f'Noise: \t{self.noise}', f'Clutter: \t{self.clutter}',
                f'Seed: \t{self.seed}']
