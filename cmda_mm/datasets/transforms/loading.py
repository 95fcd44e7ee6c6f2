"""Loading of one feature row from a ``.npy`` matrix.

Paired datasets that store a modality as a pre-computed feature matrix
(``N x D`` in a ``.npy`` file) give every sample ``<prefix>_feat_file`` and
``<prefix>_index``; :class:`LoadFeatureRow` reads that row. Matrices are opened
once per process with ``np.load(mmap_mode='r')``, so data loader workers share
the page cache instead of holding copies.
"""
import os
import os.path as osp
from typing import Dict

import numpy as np
from mmcv.transforms import BaseTransform
from mmpretrain.registry import TRANSFORMS

__all__ = ['LoadFeatureRow', 'open_feature_matrix']

_CACHE: Dict[str, np.ndarray] = {}
_CACHE_PID = os.getpid()


def open_feature_matrix(path: str) -> np.ndarray:
    """Memory-map a 2-D ``.npy`` matrix, cached per process.

    Args:
        path (str): Path of the ``.npy`` file.

    Returns:
        np.ndarray: The read-only memory-mapped ``N x D`` matrix.
    """
    global _CACHE_PID
    if os.getpid() != _CACHE_PID:  # forked worker: open its own maps
        _CACHE.clear()
        _CACHE_PID = os.getpid()
    key = osp.abspath(path)
    if key not in _CACHE:
        if not osp.isfile(key):
            raise FileNotFoundError(f'Feature file not found: {path}')
        matrix = np.load(key, mmap_mode='r')
        if matrix.ndim != 2:
            raise ValueError(f'Feature file {path} must hold a 2-D matrix '
                             f'(N x D), got shape {matrix.shape}.')
        _CACHE[key] = matrix
    return _CACHE[key]


@TRANSFORMS.register_module()
class LoadFeatureRow(BaseTransform):
    """Load row ``<prefix>_index`` of the matrix ``<prefix>_feat_file``.

    **Required Keys:** ``<prefix>_feat_file``, ``<prefix>_index``.

    **Added Keys:** ``out_key`` (``np.float32`` array of shape ``(D,)``, a
    copy, so it is writable and independent of the memory map).

    Args:
        prefix (str): Key prefix, e.g. 'student' or 'teacher'.
            Defaults to 'student'.
        out_key (str): Key of the loaded vector. Defaults to 'img'.
    """

    def __init__(self, prefix: str = 'student', out_key: str = 'img'):
        self.prefix = prefix
        self.out_key = out_key

    def transform(self, results: dict) -> dict:
        """Read the feature row into ``results[out_key]``."""
        file_key = f'{self.prefix}_feat_file'
        index_key = f'{self.prefix}_index'
        for key in (file_key, index_key):
            if key not in results:
                raise KeyError(f"LoadFeatureRow: key '{key}' is missing "
                               f"(sample_idx={results.get('sample_idx')}).")
        path, index = results[file_key], results[index_key]
        matrix = open_feature_matrix(path)
        if isinstance(index, bool) or not isinstance(index,
                                                     (int, np.integer)):
            raise TypeError(f'LoadFeatureRow: {index_key} must be an int, '
                            f'got {index!r} for {path}.')
        if not 0 <= index < matrix.shape[0]:
            raise IndexError(f'LoadFeatureRow: row index {index} out of '
                             f'range for {path} with {matrix.shape[0]} rows.')
        results[self.out_key] = np.array(matrix[int(index)], dtype=np.float32)
        return results

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(prefix='{self.prefix}', "
                f"out_key='{self.out_key}')")
