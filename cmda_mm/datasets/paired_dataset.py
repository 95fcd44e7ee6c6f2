"""A generic paired (student, teacher) dataset from an OpenMMLab 2.0 json.

Each sample of ``data_list`` gives one student input and optionally a
teacher::

    {"metainfo": {"classes": ["cat", "dog"]},
     "data_list": [
        {"img_path": "images/a.png", "caption": "a cat", "gt_label": 0},
        {"student_index": 5, "teacher_index": 5, "gt_label": 1},
        {"img_path": "images/b.png", "teacher_index": 3, "gt_label": 1}]}

* student: ``img_path`` (an image, load it with ``LoadImageFromFile``) or
  ``student_index`` (a row of ``student_features``, load it with
  ``LoadFeatureRow(prefix='student', out_key='img')``);
* teacher: ``caption`` (featurise it, e.g. ``HashedBagOfWords``) and/or
  ``teacher_index`` (a row of ``teacher_features``, load it with
  ``LoadFeatureRow(prefix='teacher', out_key='teacher')``), or none;
* label: ``gt_label`` and/or ``gt_score`` (a soft label: one non-negative
  number per class, e.g. the ``Σ_j w_j y_j`` of a CMDA sample; ``PackInputs``
  puts it into the data sample, where it takes precedence over ``gt_label``);
* ``provenance`` (optional, any JSON value): where a generated sample comes
  from (``tools/augment_offline.py`` writes the teacher index, the student
  indices and their weights); it is kept in the data info, not packed.

Everything that can be checked is checked at load time, and errors name the
annotation file and the sample index: invalid JSON, an empty ``data_list``,
a sample without ``gt_label`` among labelled ones, a label outside the
classes (``metainfo.classes``, or ``num_classes`` when the json has none), a
missing or empty (0-byte) image, a feature file that is not a ``.npy``
matrix, is truncated or holds NaN / Inf (the first bad row is named).
"""
import os.path as osp
from typing import Dict, List, Optional, Sequence

import mmengine
import numpy as np
from mmengine.fileio import join_path
from mmpretrain.datasets import BaseDataset

from cmda_mm.registry import DATASETS
from .transforms.loading import open_feature_matrix

__all__ = ['PairedDataset']

KNOWN_KEYS = ('img_path', 'student_index', 'caption', 'teacher_index',
              'gt_label', 'gt_score', 'provenance')


@DATASETS.register_module()
class PairedDataset(BaseDataset):
    """Paired multimodal dataset with image or feature students.

    Args:
        ann_file (str): Annotation json, relative to ``data_root``.
        data_root (str): Root of the annotation, images and features.
            Defaults to ''.
        data_prefix (str | dict): Prefix of ``img_path``.
            Defaults to ``dict(img_path='')``.
        student_features (str, optional): ``.npy`` matrix indexed by
            ``student_index``, relative to ``data_root``. Defaults to None.
        teacher_features (str, optional): ``.npy`` matrix indexed by
            ``teacher_index``, relative to ``data_root``. Defaults to None.
        check_files (bool): Check at load time that every listed image
            exists and is not empty; disable for huge datasets.
            Defaults to True.
        num_classes (int, optional): Number of classes, to check labels
            against when the json has no ``classes``. Defaults to None.
        extra_keys (Sequence[str]): Additional sample keys to accept and
            pass through as meta information. Defaults to ().
        **kwargs: Other arguments of :class:`mmpretrain.datasets.BaseDataset`
            (``pipeline``, ``test_mode``, ``metainfo``, ``classes``,
            ``indices``, ``lazy_init``...).
    """

    def __init__(self,
                 ann_file: str,
                 data_root: str = '',
                 data_prefix=dict(img_path=''),
                 student_features: Optional[str] = None,
                 teacher_features: Optional[str] = None,
                 check_files: bool = True,
                 extra_keys: Sequence[str] = (),
                 num_classes: Optional[int] = None,
                 **kwargs):
        self.student_features = self._resolve(data_root, student_features)
        self.teacher_features = self._resolve(data_root, teacher_features)
        self.check_files = check_files
        if num_classes is not None and (isinstance(num_classes, bool) or not isinstance(num_classes, int)
                                        or num_classes < 1):
            raise ValueError(f'num_classes must be an int >= 1, got {num_classes!r}.')
        self.num_classes = num_classes
        self.extra_keys = tuple(extra_keys)
        super().__init__(
            ann_file=ann_file,
            data_root=data_root,
            data_prefix=data_prefix,
            **kwargs)

    @staticmethod
    def _resolve(data_root: str, path: Optional[str]) -> Optional[str]:
        if path is None or osp.isabs(path) or not data_root:
            return path
        return join_path(data_root, path)

    def _num_rows(self, role: str, where: str) -> int:
        """Rows of the ``role`` feature matrix (shape read once via mmap)."""
        path = getattr(self, f'{role}_features')
        if path is None:
            raise ValueError(
                f'{where} has {role}_index but {role}_features was not given '
                f'to {type(self).__name__}.')
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'{where}: {role}_features file {path} does not exist.')
        return open_feature_matrix(path).shape[0]

    def load_data_list(self) -> List[dict]:
        """Load the annotation json and validate every sample.

        Returns:
            List[dict]: The parsed samples.
        """
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(
                f'Annotation file not found: {self.ann_file}')
        if osp.getsize(self.ann_file) == 0:
            raise ValueError(f'Annotation file {self.ann_file} is empty '
                             '(0 bytes).')
        try:
            annotations = mmengine.load(self.ann_file, file_format='json')
        except ValueError as err:  # json.JSONDecodeError, UnicodeDecodeError
            raise ValueError(f'Annotation file {self.ann_file} is not valid '
                             f'JSON: {err}') from None
        if not isinstance(annotations, dict) or not isinstance(
                annotations.get('data_list'), list):
            raise ValueError(f'{self.ann_file}: expected a dict with a '
                             "'data_list' list (OpenMMLab 2.0 format).")
        if not annotations['data_list']:
            raise ValueError(f'{self.ann_file}: data_list is empty (no '
                             'samples); a dataset needs at least one.')
        for key, value in annotations.get('metainfo', {}).items():
            self._metainfo.setdefault(key, value)
        if 'categories' in self._metainfo and 'classes' not in self._metainfo:
            categories = sorted(
                self._metainfo['categories'], key=lambda x: x['id'])
            self._metainfo['classes'] = tuple(
                cat['category_name'] for cat in categories)
        if isinstance(self._metainfo.get('classes'), list):
            self._metainfo['classes'] = tuple(self._metainfo['classes'])

        self._rows: Dict[str, int] = {}
        data_list = []
        for index, raw in enumerate(annotations['data_list']):
            if not isinstance(raw, dict):
                raise ValueError(f'{self.ann_file}: sample {index} is not a '
                                 f'dict but {type(raw).__name__}.')
            self._where = f'{self.ann_file}: sample {index}'
            data_list.append(self.parse_data_info(raw))
        del self._rows, self._where
        self._check_labels_everywhere(data_list)
        return data_list

    def _check_labels_everywhere(self, data_list: List[dict]) -> None:
        """Labels on every sample or on none (unlabelled data, e.g. for an
        aligner); one sample without a label would only fail in the loss."""
        labelled = ['gt_label' in s or 'gt_score' in s for s in data_list]
        if any(labelled) and not all(labelled):
            first = labelled.index(False)
            raise ValueError(
                f'{self.ann_file}: sample {first} has no gt_label (nor '
                f'gt_score) but sample {labelled.index(True)} has one; '
                'label every sample, or none (unlabelled data).')

    def parse_data_info(self, raw_data_info: dict) -> dict:
        """Resolve paths, attach feature files and validate one sample.

        Args:
            raw_data_info (dict): One entry of ``data_list``.

        Returns:
            dict: The sample with ``img_path`` joined with the prefix and
            ``<role>_feat_file`` attached next to every ``<role>_index``.
        """
        info = dict(raw_data_info)
        where = getattr(self, '_where', self.ann_file)

        unknown = set(info) - set(KNOWN_KEYS) - set(self.extra_keys)
        if unknown:
            raise ValueError(
                f'{where} has unknown keys {sorted(unknown)}; known keys are '
                f'{list(KNOWN_KEYS)} (accept more with extra_keys).')
        if 'img_path' in info and 'student_index' in info:
            raise ValueError(f'{where} has both img_path and student_index; '
                             'a sample has exactly one student input.')
        if 'img_path' not in info and 'student_index' not in info:
            raise ValueError(f'{where} has no student input (img_path or '
                             'student_index).')

        if 'img_path' in info:
            info['img_path'] = join_path(self.img_prefix, info['img_path'])
            if self.check_files and not osp.isfile(info['img_path']):
                raise FileNotFoundError(
                    f"{where}: image file {info['img_path']} does not exist.")
            if self.check_files and osp.getsize(info['img_path']) == 0:
                raise ValueError(
                    f"{where}: image file {info['img_path']} is empty "
                    '(0 bytes).')
        for role in ('student', 'teacher'):
            key = f'{role}_index'
            if key not in info:
                continue
            if role not in self._rows:
                self._rows[role] = self._num_rows(role, where)
            index = info[key]
            if isinstance(index, bool) or not isinstance(index, int):
                raise TypeError(f'{where}: {key} must be an int, got '
                                f'{index!r}.')
            if not 0 <= index < self._rows[role]:
                raise IndexError(
                    f'{where}: {key}={index} is out of range of '
                    f'{getattr(self, f"{role}_features")} '
                    f'({self._rows[role]} rows).')
            info[f'{role}_feat_file'] = getattr(self, f'{role}_features')

        if 'caption' in info and not isinstance(info['caption'], str):
            raise TypeError(f'{where}: caption must be a string.')
        if 'gt_label' in info:
            label = info['gt_label']
            classes = self.CLASSES
            if isinstance(label, bool) or not isinstance(label, int):
                raise TypeError(f'{where}: gt_label must be an int, got '
                                f'{label!r}.')
            upper = len(classes) if classes is not None else self.num_classes
            if label < 0 or (upper is not None and label >= upper):
                source = 'classes' if classes is not None else 'num_classes'
                raise ValueError(
                    f'{where}: gt_label={label} is outside [0, {upper}) '
                    f'({upper} {source}).')
        if 'gt_score' in info:
            info['gt_score'] = self._check_score(info['gt_score'], where)
        return info

    def _check_score(self, score, where: str) -> np.ndarray:
        """A soft label as ``float32``: 1-D, finite, >= 0, one entry per class."""
        try:
            array = np.asarray(score, dtype=np.float32)
        except (TypeError, ValueError):
            raise TypeError(f'{where}: gt_score must be a list of numbers, '
                            f'got {score!r}.') from None
        classes = self.CLASSES
        n_classes = len(classes) if classes is not None else self.num_classes
        if array.ndim != 1 or (n_classes is not None
                               and len(array) != n_classes):
            expected = n_classes if n_classes is not None else 'C'
            raise ValueError(f'{where}: gt_score must hold {expected} '
                             f'numbers (one per class), got shape '
                             f'{array.shape}.')
        if not np.isfinite(array).all() or (array < 0).any():
            raise ValueError(f'{where}: gt_score must be finite and >= 0, '
                             f'got {score!r}.')
        return array

    def get_gt_labels(self) -> np.ndarray:
        """All ground-truth labels, like mmpretrain's datasets.

        Returns:
            np.ndarray: ``int64`` labels of shape ``(len(self),)``.
        """
        labels = []
        for idx in range(len(self)):
            info = self.get_data_info(idx)
            if 'gt_label' not in info:
                raise KeyError(f'{self.ann_file}: sample {idx} has no '
                               'gt_label.')
            labels.append(info['gt_label'])
        return np.asarray(labels, dtype=np.int64)

    def extra_repr(self) -> List[str]:
        """Extra lines of ``repr``."""
        body = super().extra_repr()
        body.append(f'Student features: \t{self.student_features}')
        body.append(f'Teacher features: \t{self.teacher_features}')
        return body
