"""Loading of one feature row from a ``.npy`` matrix.

Paired datasets that store a modality as a pre-computed feature matrix
(``N x D`` in a ``.npy`` file) give every sample ``<prefix>_feat_file`` and
``<prefix>_index``; :class:`LoadFeatureRow` reads that row. Matrices are opened
once per process with ``np.load(mmap_mode='r')``, so data loader workers share
the page cache instead of holding copies.
"""
import os
import os.path as osp
from typing import Dict, Optional

import numpy as np
from mmcv.transforms import BaseTransform

from cmda_mm.registry import TRANSFORMS

__all__ = ['LoadFeatureRow', 'open_feature_matrix', 'read_npy', 'first_non_finite_row', 'check_finite']

_CACHE: Dict[str, np.ndarray] = {}
_CACHE_PID = os.getpid()
_CHECKED = set()  # (path, size, mtime) found finite; kept in forked workers, so they do not scan again


def read_npy(path: str, mmap_mode: Optional[str] = 'r') -> np.ndarray:
    """``np.load`` of a ``.npy`` file with an error that names it when it is not one.

    Args:
        path (str): Path of the ``.npy`` file.
        mmap_mode (str, optional): Passed to ``np.load``. Defaults to 'r'.

    Returns:
        np.ndarray: The (memory-mapped) array.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'Feature file not found: {path}')
    if osp.getsize(path) == 0:
        raise ValueError(f'Feature file {path} is empty (0 bytes).')
    with open(path, 'rb') as f:
        magic = f.read(6)
    if magic != b'\x93NUMPY':
        raise ValueError(f'Feature file {path} is not a .npy file (no NumPy header: a text or other file with '
                         'a .npy name?); write it with np.save.')
    try:
        array = np.load(path, mmap_mode=mmap_mode, allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise ValueError(f'Feature file {path} is not a readable .npy matrix (truncated, or not written by '
                         f'np.save?): {err}') from None
    if not isinstance(array, np.ndarray):
        raise ValueError(f'Feature file {path} holds several arrays (.npz?); expected one .npy matrix.')
    return array


def first_non_finite_row(matrix: np.ndarray, chunk: int = 65536) -> Optional[int]:
    """Index of the first row holding a NaN or an infinity, or None (read in chunks)."""
    for start in range(0, matrix.shape[0], chunk):
        bad = ~np.isfinite(np.asarray(matrix[start:start + chunk])).reshape(
            min(chunk, matrix.shape[0] - start), -1).all(axis=1)
        if bad.any():
            return start + int(np.flatnonzero(bad)[0])
    return None


def check_finite(matrix: np.ndarray, where: str, row_offset: int = 0) -> None:
    """Raise when ``matrix`` holds NaN or Inf, naming ``where`` and the first bad row.

    Args:
        matrix (np.ndarray): ``N x D`` features.
        where (str): The file (and variable) the rows come from.
        row_offset (int): Row number of ``matrix[0]`` in that file. Defaults to 0.
    """
    row = first_non_finite_row(matrix)
    if row is not None:
        values = np.asarray(matrix[row]).reshape(-1)
        col = int(np.flatnonzero(~np.isfinite(values))[0])
        raise ValueError(f'{where}: row {row + row_offset} holds {values[col]} (column {col}); features must be '
                         'finite. Re-extract them, or drop the sample.')


def open_feature_matrix(path: str) -> np.ndarray:
    """Memory-map a 2-D ``.npy`` matrix, cached per process; checked once to be finite.

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
        matrix = read_npy(key)
        if matrix.ndim != 2:
            raise ValueError(f'Feature file {path} must hold a 2-D matrix '
                             f'(N x D), got shape {matrix.shape}.')
        if not np.issubdtype(matrix.dtype, np.number):
            raise ValueError(f'Feature file {path} holds {matrix.dtype} values, not numbers.')
        stamp = (key, os.path.getsize(key), os.path.getmtime(key))
        if stamp not in _CHECKED:
            check_finite(matrix, f'Feature file {path}')
            _CHECKED.add(stamp)
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
