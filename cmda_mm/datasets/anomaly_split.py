"""One-class anomaly detection splits (normal classes vs the rest) over any dataset with class names."""
import copy
from typing import List, Optional, Sequence, Union

import numpy as np
from mmengine.dataset import BaseDataset, Compose

from cmda_mm.registry import DATASETS, TRANSFORMS

__all__ = ['AnomalySplitDataset']

MODES = ('train', 'eval')
ANOMALY_SOURCES = ('test', 'all')


def _build(dataset: Union[dict, BaseDataset]) -> BaseDataset:
    return DATASETS.build(dataset) if isinstance(dataset, dict) else dataset


def _labels(dataset: BaseDataset, name: str) -> np.ndarray:
    """One integer class per sample, or a clear error naming the sample."""
    labels = np.empty(len(dataset), dtype=np.int64)
    for i in range(len(dataset)):  # once, at construction
        label = dataset.get_data_info(i).get('gt_label')
        if label is None or np.size(label) != 1:
            raise ValueError(f'AnomalySplitDataset: {name} sample {i} needs one integer gt_label '
                             f'(got {label!r})')
        labels[i] = int(np.asarray(label).reshape(-1)[0])
    return labels


@DATASETS.register_module()
class AnomalySplitDataset:
    """Normal-vs-rest split for unsupervised anomaly detection (paper §IV-C, SSD protocol).

    ``mode='train'`` keeps the normal training samples only (role ``'bank'``). ``mode='eval'`` lists the same
    normal training samples (role ``'bank'``, used by :class:`~cmda_mm.evaluation.AnomalyMetric` to fit the
    Mahalanobis scorer) followed by the test samples of the normal classes (role ``'normal'``) and of every
    other class (role ``'anomaly'``). Each sample gets ``role`` and ``is_anomaly``; pack them with
    ``PackPairedInputs(algorithm_keys=('role', 'is_anomaly'))`` — the wrapper also sets them on the packed
    data sample when the pipeline left them out, so they always reach the metric.

    Args:
        dataset (dict | BaseDataset): the training split (any dataset whose samples carry ``gt_label`` and
            whose ``metainfo['classes']`` names the classes: WikipediaDataset, PairedDataset, ...).
        eval_dataset (dict | BaseDataset, optional): the test split, required for ``mode='eval'``. A dict
            without ``type`` (or of the same type) is merged over ``dataset``'s config, so
            ``dict(split='test')`` suffices and the data root is given once.
        normal_classes (Sequence[str], optional): names of the normal classes. None (or empty): the wrapped
            dataset's ``metainfo['normal_classes']`` (set by Class-COCO / Oxford-102 with ``task='anomaly'``,
            e.g. "the 30 largest classes", which only the data can name).
        mode (str): 'train' or 'eval'. Defaults to 'train'.
        anomaly_source (str): 'test' (default): anomalies are the test samples of the other classes;
            'all': the training samples of the other classes are anomalies too (never trained on).
        pipeline (Sequence[dict], optional): transforms applied to each sample. Defaults to None: the
            wrapped dataset's own pipeline.
    """

    def __init__(self,
                 dataset: Union[dict, BaseDataset],
                 eval_dataset: Optional[Union[dict, BaseDataset]] = None,
                 normal_classes: Optional[Sequence[str]] = None,
                 mode: str = 'train',
                 anomaly_source: str = 'test',
                 pipeline: Optional[Sequence[dict]] = None) -> None:
        if mode not in MODES:
            raise ValueError(f'AnomalySplitDataset: mode must be one of {MODES}, got {mode!r}')
        if anomaly_source not in ANOMALY_SOURCES:
            raise ValueError(f'AnomalySplitDataset: anomaly_source must be one of {ANOMALY_SOURCES}, '
                             f'got {anomaly_source!r}')
        self.sources: List[BaseDataset] = [_build(dataset)]
        if normal_classes is None or (not isinstance(normal_classes, str) and len(normal_classes) == 0):
            normal_classes = self.sources[0].metainfo.get('normal_classes') or ()
        if isinstance(normal_classes, str) or not normal_classes:
            raise ValueError('AnomalySplitDataset: normal_classes must be a non-empty list of class names (or '
                             "None with a dataset whose metainfo has 'normal_classes'), got "
                             f'{normal_classes!r}')
        self.mode, self.anomaly_source = mode, anomaly_source
        self.normal_classes = tuple(normal_classes)
        self.pipeline = None if pipeline is None else Compose(
            [TRANSFORMS.build(t) if isinstance(t, dict) else t for t in pipeline])

        classes = tuple(self.sources[0].metainfo.get('classes') or ())
        missing = [c for c in self.normal_classes if c not in classes]
        if missing or len(set(self.normal_classes)) != len(self.normal_classes):
            raise ValueError(f'AnomalySplitDataset: normal_classes {list(self.normal_classes)} must be distinct '
                             f'names of the dataset classes {list(classes)} (unknown: {missing})')
        self.normal_ids = np.array([classes.index(c) for c in self.normal_classes])
        self._metainfo = dict(copy.deepcopy(self.sources[0].metainfo), normal_classes=self.normal_classes,
                              mode=mode)

        train_labels = _labels(self.sources[0], 'dataset')
        train_normal = np.isin(train_labels, self.normal_ids)
        if not train_normal.any():
            raise ValueError(f'AnomalySplitDataset: the training split has no sample of the normal classes '
                             f'{list(self.normal_classes)}')
        parts = [(0, np.flatnonzero(train_normal), 'bank')]
        if mode == 'eval':
            if eval_dataset is None:
                raise ValueError("AnomalySplitDataset: mode='eval' needs eval_dataset (the test split)")
            base_type = dataset.get('type') if isinstance(dataset, dict) else None
            if isinstance(eval_dataset, dict) and base_type is not None and \
                    eval_dataset.get('type', base_type) == base_type:
                eval_dataset = {**dataset, **eval_dataset}
            self.sources.append(_build(eval_dataset))
            eval_classes = tuple(self.sources[1].metainfo.get('classes') or ())
            if eval_classes != classes:
                raise ValueError(f'AnomalySplitDataset: eval_dataset classes {list(eval_classes)} differ from '
                                 f'dataset classes {list(classes)}')
            test_normal = np.isin(_labels(self.sources[1], 'eval_dataset'), self.normal_ids)
            parts += [(1, np.flatnonzero(test_normal), 'normal'), (1, np.flatnonzero(~test_normal), 'anomaly')]
            if anomaly_source == 'all':
                parts.append((0, np.flatnonzero(~train_normal), 'anomaly'))
            for _, idx, role in parts[1:3]:
                if idx.size == 0:
                    raise ValueError(f"AnomalySplitDataset: the test split has no '{role}' sample for normal "
                                     f'classes {list(self.normal_classes)}')
        self.source = np.concatenate([np.full(len(idx), s) for s, idx, _ in parts])
        self.index = np.concatenate([idx for _, idx, _ in parts])
        self.roles = np.concatenate([np.full(len(idx), role, dtype=object) for _, idx, role in parts])
        bank_labels = train_labels[self.index[self.roles == 'bank']]
        if not np.isin(bank_labels, self.normal_ids).all():  # guards the construction above
            raise RuntimeError('AnomalySplitDataset: the training bank contains anomalies')

    @property
    def metainfo(self) -> dict:
        """The wrapped dataset's meta information plus ``normal_classes`` and ``mode``."""
        return copy.deepcopy(self._metainfo)

    @property
    def role_counts(self) -> dict:
        """Number of samples per role."""
        return {role: int((self.roles == role).sum()) for role in ('bank', 'normal', 'anomaly')}

    def full_init(self) -> None:
        """Datasets are built eagerly; kept for the mmengine dataset interface."""

    def __len__(self) -> int:
        return len(self.index)

    def get_data_info(self, idx: int) -> dict:
        """The wrapped sample with ``role`` and ``is_anomaly`` added."""
        info = self.sources[self.source[idx]].get_data_info(int(self.index[idx]))
        info['role'] = str(self.roles[idx])
        info['is_anomaly'] = info['role'] == 'anomaly'
        return info

    def __getitem__(self, idx: int) -> dict:
        info = self.get_data_info(idx)
        pipeline = self.pipeline if self.pipeline is not None else self.sources[self.source[idx]].pipeline
        results = pipeline(info)
        sample = results.get('data_samples') if isinstance(results, dict) else None
        if sample is not None:
            for key in ('role', 'is_anomaly'):
                if key not in sample:
                    sample.set_field(info[key], key)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(mode={self.mode!r}, normal_classes={list(self.normal_classes)}, '
                f'anomaly_source={self.anomaly_source!r}, samples={len(self)}, roles={self.role_counts})')
