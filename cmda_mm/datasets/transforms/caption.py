"""Pick one caption of a sample that carries several (one image, k captions).

Datasets with ``unit='image'`` (Oxford-102: 10 captions per image; Class-COCO
optionally) give every sample all its captions in ``captions`` and, with
precomputed text features, their rows in ``text_indices``. Drawing one per
epoch here keeps the epoch length at the number of images while every caption
gets used; test pipelines take the first caption for reproducible metrics.
"""
from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness

from cmda_mm.registry import TRANSFORMS

__all__ = ['RandomCaption']

MODES = ('random', 'first')


@TRANSFORMS.register_module()
class RandomCaption(BaseTransform):
    """Choose one caption (and its feature row) of a multi-caption sample.

    **Required Keys:** ``captions`` (non-empty list of str); ``text_indices``
    (optional, list of int aligned with ``captions``).

    **Added Keys:** ``caption`` (str), ``caption_choice`` (int position) and,
    when ``text_indices`` is present, ``text_index`` (int) for
    ``LoadFeatureRow(prefix='text')``.

    The draw uses NumPy's global generator like every mmcv random transform,
    so the runner's ``randomness=dict(seed=...)`` (per-worker seeding) makes it
    reproducible.

    Args:
        mode (str): 'random' (uniform, per call) or 'first'.
            Defaults to 'random'.
    """

    def __init__(self, mode: str = 'random'):
        if mode not in MODES:
            raise ValueError(f'RandomCaption: mode must be one of {MODES}, '
                             f'got {mode!r}.')
        self.mode = mode

    @cache_randomness
    def _choose(self, n: int) -> int:
        return int(np.random.randint(n))

    def transform(self, results: dict) -> Optional[dict]:
        """Set ``caption`` (and ``text_index``) from the lists."""
        captions = results.get('captions')
        where = (f"sample_idx={results.get('sample_idx')}, "
                 f"img_path={results.get('img_path')!r}")
        if not isinstance(captions, (list, tuple)) or not captions:
            raise ValueError(f'RandomCaption: needs a non-empty list in '
                             f"'captions' ({where}); use unit='image' in the "
                             'dataset, or drop this transform for '
                             "unit='caption'.")
        rows = results.get('text_indices')
        if rows is not None and len(rows) != len(captions):
            raise ValueError(f'RandomCaption: {len(rows)} text_indices for '
                             f'{len(captions)} captions ({where}).')
        choice = 0 if self.mode == 'first' else self._choose(len(captions))
        results['caption'] = captions[choice]
        results['caption_choice'] = choice
        if rows is not None:
            results['text_index'] = int(rows[choice])
        return results

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(mode='{self.mode}')"
