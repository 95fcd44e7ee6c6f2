"""One-hot soft labels for datasets that are concatenated with soft-labelled (CMDA) samples.

MMPretrain's ``ClsDataPreprocessor`` looks at the *first* sample of a batch: when it has a ``gt_score``
every sample must have one, otherwise every ``gt_score`` is replaced by the one-hot ``gt_label``. A
``ConcatDataset`` of an original dataset (hard labels) and an offline CMDA set (soft labels,
``tools/augment_offline.py``) therefore gives every original sample its one-hot ``gt_score`` with
:class:`LabelToScore`, so shuffled batches are uniform and the soft labels survive.
"""
import numpy as np
from mmcv.transforms import BaseTransform

from cmda_mm.registry import TRANSFORMS

__all__ = ['LabelToScore']


@TRANSFORMS.register_module()
class LabelToScore(BaseTransform):
    """Add ``gt_score``, the one-hot vector of ``gt_label`` (kept when already present).

    **Required Keys:** ``gt_label`` (an int in ``[0, num_classes)``).

    **Added Keys:** ``gt_score`` (``np.float32`` array of shape ``(num_classes,)``).

    Args:
        num_classes (int): Length of the score vector.
        overwrite (bool): Replace an existing ``gt_score``. Defaults to False.
    """

    def __init__(self, num_classes: int, overwrite: bool = False):
        if int(num_classes) < 1:
            raise ValueError(f'num_classes must be >= 1, got {num_classes}.')
        self.num_classes = int(num_classes)
        self.overwrite = overwrite

    def transform(self, results: dict) -> dict:
        """Set ``results['gt_score']`` from ``results['gt_label']``."""
        if 'gt_score' in results and not self.overwrite:
            return results
        if 'gt_label' not in results:
            raise KeyError('LabelToScore: gt_label is missing '
                           f"(sample_idx={results.get('sample_idx')}).")
        label = np.asarray(results['gt_label']).reshape(-1)
        if label.size != 1 or not 0 <= int(label[0]) < self.num_classes:
            raise ValueError(f"LabelToScore: gt_label={results['gt_label']!r} is not one class in "
                             f'[0, {self.num_classes}) (sample_idx={results.get("sample_idx")}).')
        score = np.zeros(self.num_classes, dtype=np.float32)
        score[int(label[0])] = 1.0
        results['gt_score'] = score
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_classes={self.num_classes}, '
                f'overwrite={self.overwrite})')
