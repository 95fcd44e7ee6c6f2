"""Base class of the paper's grouped image-caption datasets (Class-COCO, Oxford-102).

A subclass reads the official files into *records*, one per image, in a fixed
order::

    dict(img_path='jpg/image_00001.jpg',   # relative to data_root
         label=76,                         # index into the subclass's groups
         image_id=1,
         captions=['a flower with ...', ...],
         caption_ids=[...],                # optional
         official_split='train')           # optional (Oxford setid)

That order defines the **rows** every precomputed feature file must follow:
each image contributes ``max(1, len(captions))`` consecutive *entries* (one per
caption), so text features have one row per entry, and image features one row
per entry or one per image. The converted annotation json (``tools/
dataset_converters``) stores exactly these entries in this order, in the
:class:`PairedDataset` format, so a feature extractor that walks its
``data_list`` writes aligned rows, and both the raw files and the json give the
same dataset.

On top of the records the base class applies the task (classification over
chosen groups, or anomaly detection: normal vs abnormal groups), a seeded
stratified train/test holdout over *images* (all captions of an image stay on
one side), and the sample unit (one sample per caption, or one per image
carrying all its captions for :class:`RandomCaption`).
"""
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple, Union

import mmengine
import numpy as np
from mmengine.fileio import join_path
from mmpretrain.datasets import BaseDataset

from .grouping import GroupSpec, resolve_groups, stratified_holdout
from .transforms.loading import open_feature_matrix

__all__ = ['GroupedPairsDataset']

TASKS = ('classification', 'anomaly')
UNITS = ('caption', 'image')


class GroupedPairsDataset(BaseDataset):
    """Images grouped by class, each with its captions; paper splits as options.

    Args:
        data_root (str): Dataset root.
        ann_file (str): Converted annotation json (fast path), relative to
            ``data_root``; '' reads the official files. Defaults to ''.
        split (str): 'train', 'test' or 'all'; with
            ``split_source='official'`` also 'val' and 'trainval'.
            Defaults to 'train'.
        task (str): 'classification' (``groups``, relabelled 0..k-1 in the
            selected order) or 'anomaly' (``normal_groups`` then
            ``abnormal_groups``; every sample gets ``anomaly_label`` 0 or 1,
            train holds normal samples only). Defaults to 'classification'.
        groups, normal_groups, abnormal_groups: group specs (see
            :func:`resolve_groups`: None = all / the rest, int k = k largest,
            ``dict(min_samples=N)``, a preset name, or a list of names).
            Sizes count samples of the chosen ``unit``.
        abnormal_split (str): Which abnormal samples the anomaly 'test' split
            holds: 'all' (default) or 'test' (their holdout part only; then
            an official 'val' split holds the val part of the abnormal
            groups too).
        test_size (float | int): Holdout size over images, see
            :func:`stratified_holdout`. Defaults to 0.2.
        split_seed (int): Seed of the holdout. Defaults to 0.
        split_source (str): 'holdout' or 'official' (records'
            ``official_split``). Defaults to 'holdout'.
        unit (str): 'caption' (one sample per caption) or 'image' (one per
            image, with ``captions`` / ``text_indices`` lists).
            Defaults to 'caption'.
        max_captions (int, optional): Keep the first k captions per image.
        text_features (str, optional): ``.npy``, one row per entry.
        image_features (str, optional): ``.npy``, one row per entry or image.
        check_files (bool): Check that every image file exists.
        train_fraction (float, optional): Low-data regime: keep a seeded,
            stratified share in (0, 1) of every class of the 'train' /
            'trainval' split (at least one image per class); other splits
            are unchanged. Defaults to None (all).
        train_fraction_seed (int): Seed of that subset (a run's seed: every
            method of one seed sees the same subset). Defaults to 0.
        **kwargs: :class:`mmpretrain.datasets.BaseDataset` arguments.
    """

    PRESETS: Dict[str, Sequence[str]] = {}
    DEFAULT_IMG_DIR = ''

    def __init__(self,
                 data_root: str,
                 ann_file: str = '',
                 split: str = 'train',
                 task: str = 'classification',
                 groups: GroupSpec = None,
                 normal_groups: GroupSpec = None,
                 abnormal_groups: GroupSpec = None,
                 abnormal_split: str = 'all',
                 test_size: Union[float, int] = 0.2,
                 split_seed: int = 0,
                 split_source: str = 'holdout',
                 unit: str = 'caption',
                 max_captions: Optional[int] = None,
                 text_features: Optional[str] = None,
                 image_features: Optional[str] = None,
                 check_files: bool = False,
                 train_fraction: Optional[float] = None,
                 train_fraction_seed: int = 0,
                 **kwargs):
        splits = ('train', 'test', 'all') + (
            ('val', 'trainval') if split_source == 'official' else ())
        for name, value, choices in (
                ('split', split, splits), ('task', task, TASKS),
                ('unit', unit, UNITS),
                ('abnormal_split', abnormal_split, ('all', 'test')),
                ('split_source', split_source, ('holdout', 'official'))):
            if value not in choices:
                raise ValueError(f'{type(self).__name__}: {name} must be one '
                                 f'of {choices}, got {value!r}.')
        if task == 'anomaly' and normal_groups is None:
            raise ValueError(f'{type(self).__name__}: task="anomaly" needs '
                             'normal_groups.')
        if train_fraction is not None and not 0 < train_fraction < 1:
            raise ValueError(f'{type(self).__name__}: train_fraction must be '
                             f'in (0, 1), got {train_fraction}.')
        if max_captions is not None and max_captions < 1:
            raise ValueError(f'max_captions must be >= 1, got {max_captions}')
        self.split, self.task, self.unit = split, task, unit
        self.groups, self.normal_groups = groups, normal_groups
        self.abnormal_groups, self.abnormal_split = (abnormal_groups,
                                                     abnormal_split)
        self.test_size, self.split_seed = test_size, split_seed
        self.split_source, self.max_captions = split_source, max_captions
        self.text_features = self._resolve(data_root, text_features)
        self.image_features = self._resolve(data_root, image_features)
        self.check_files = check_files
        self.train_fraction = train_fraction
        self.train_fraction_seed = train_fraction_seed
        super().__init__(ann_file=ann_file, data_root=data_root, **kwargs)

    @staticmethod
    def _resolve(data_root: str, path: Optional[str]) -> Optional[str]:
        if not path or osp.isabs(path) or not data_root:
            return path or None
        return join_path(data_root, path)

    # ---- reading ------------------------------------------------------
    def load_records(self) -> Tuple[List[str], List[dict]]:
        """Read the official files: (group names, records). Subclasses."""
        raise NotImplementedError

    def read_paired_json(self, path: str) -> Tuple[List[str], List[dict]]:
        """Read a converted annotation back into (group names, records)."""
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'Converted annotation not found: {path} (write it with '
                'tools/dataset_converters, or set ann_file="" to read the '
                'official files).')
        ann = mmengine.load(path)
        if not isinstance(ann, dict) or not isinstance(
                ann.get('data_list'), list) or 'classes' not in ann.get(
                    'metainfo', {}):
            raise ValueError(f"{path}: expected {{'metainfo': {{'classes': "
                             "[...]}, 'data_list': [...]}} as written by "
                             'tools/dataset_converters.')
        classes = list(ann['metainfo']['classes'])
        records: List[dict] = []
        for index, entry in enumerate(ann['data_list']):
            missing = [k for k in ('img_path', 'gt_label', 'image_row')
                       if k not in entry]
            if missing:
                raise ValueError(f'{path}: sample {index} lacks {missing}.')
            row = entry['image_row']
            if row == len(records):
                records.append(dict(
                    img_path=entry['img_path'], label=entry['gt_label'],
                    image_id=entry.get('image_id', row), captions=[],
                    caption_ids=[],
                    official_split=entry.get('official_split')))
            elif row != len(records) - 1:
                raise ValueError(f'{path}: sample {index} has image_row={row}'
                                 f'; rows must be consecutive from 0 (got '
                                 f'{len(records) - 1} before).')
            if not 0 <= entry['gt_label'] < len(classes):
                raise ValueError(f"{path}: sample {index} has gt_label="
                                 f"{entry['gt_label']} outside [0, "
                                 f'{len(classes)}).')
            if 'caption' in entry:
                records[-1]['captions'].append(entry['caption'])
                records[-1]['caption_ids'].append(entry.get('caption_id'))
        return classes, records

    # ---- building the data list ----------------------------------------
    def _feature_rows(self, path: Optional[str], allowed: Dict[str, int],
                      what: str) -> Optional[str]:
        if path is None:
            return None
        rows = open_feature_matrix(path).shape[0]
        for layout, expected in allowed.items():
            if rows == expected:
                return layout
        raise ValueError(f'{what} {path} has {rows} rows; expected ' + ' or '.join(
            f'{n} ({layout})' for layout, n in allowed.items()) +
            ' in the order of the converted annotation json.')

    def _select(self, classes: List[str], counts: np.ndarray):
        """Selected group indices and anomaly flags, in label order."""
        name = type(self).__name__
        if self.task == 'classification':
            chosen = resolve_groups(self.groups, classes, counts,
                                    self.PRESETS, f'{name}.groups')
            return chosen, [0] * len(chosen)
        normal = resolve_groups(self.normal_groups, classes, counts,
                                self.PRESETS, f'{name}.normal_groups')
        rest = [g for g in range(len(classes)) if g not in set(normal)]
        if self.abnormal_groups is None:
            abnormal = rest
        else:
            abnormal = resolve_groups(self.abnormal_groups, classes, counts,
                                      self.PRESETS, f'{name}.abnormal_groups')
        overlap = sorted(set(normal) & set(abnormal))
        if overlap:
            raise ValueError(f'{name}: groups {[classes[g] for g in overlap]}'
                             ' are both normal and abnormal.')
        return normal + abnormal, [0] * len(normal) + [1] * len(abnormal)

    def _keep_images(self, labels: np.ndarray, official: List,
                     is_abnormal: np.ndarray) -> np.ndarray:
        """Mask over the selected images for ``self.split``."""
        if self.split == 'all':
            return np.ones(len(labels), dtype=bool)
        if self.split_source == 'official':
            wanted = {'trainval': ('train', 'val')}.get(self.split,
                                                        (self.split, ))
            side = np.array([s in wanted for s in official], dtype=bool)
            # 'val' holds the val part of the abnormal groups too when the test split holds only their test part
            # (abnormal_split='test'), so a validation search has anomalies to score and never sees a test image
            val_with_abnormal = self.split == 'val' and self.abnormal_split == 'test'
            if self.task == 'anomaly' and self.split != 'test' and not val_with_abnormal:
                side &= ~is_abnormal
            elif self.task == 'anomaly' and self.abnormal_split == 'all':
                side |= is_abnormal
            return side
        test = stratified_holdout(labels, self.test_size, self.split_seed)
        if self.split == 'train':
            return ~test & ~is_abnormal
        if self.task == 'anomaly' and self.abnormal_split == 'all':
            return test | is_abnormal
        return test

    def load_data_list(self) -> List[dict]:
        """Records -> groups -> split -> samples (one per caption or image)."""
        if self.ann_file:
            classes, records = self.read_paired_json(self.ann_file)
        else:
            classes, records = self.load_records()
        n_caps = np.array([max(1, len(r['captions'])) for r in records],
                          dtype=np.int64)
        first_row = np.concatenate([[0], np.cumsum(n_caps)[:-1]])
        keep_caps = n_caps if self.max_captions is None else np.minimum(
            n_caps, self.max_captions)
        labels = np.array([r['label'] for r in records], dtype=np.int64)
        unit_counts = keep_caps if self.unit == 'caption' else np.ones_like(
            keep_caps)
        counts = np.bincount(labels, weights=unit_counts,
                             minlength=len(classes)).astype(np.int64)
        chosen, flags = self._select(classes, counts)
        new_label = {g: i for i, g in enumerate(chosen)}
        abnormal = {g for g, f in zip(chosen, flags) if f}

        self._feature_rows(self.text_features,
                           {'one row per entry': int(n_caps.sum())},
                           'text_features')
        image_layout = self._feature_rows(
            self.image_features, {'one row per entry': int(n_caps.sum()),
                                  'one row per image': len(records)},
            'image_features')

        selected = np.flatnonzero(np.isin(labels, chosen))
        is_abn = np.isin(labels[selected], list(abnormal))
        keep = self._keep_images(labels[selected],
                                 [records[i].get('official_split')
                                  for i in selected], is_abn)
        if self.train_fraction is not None and self.split in ('train',
                                                              'trainval'):
            kept = np.flatnonzero(keep)
            # the dropped share is a stratified holdout of the kept images
            drop = stratified_holdout(labels[selected][kept],
                                      1.0 - self.train_fraction,
                                      self.train_fraction_seed)
            keep[kept[drop]] = False
        data_list = []
        for i in selected[keep]:
            rec = records[i]
            if self.unit == 'caption' and not rec['captions']:
                raise ValueError(f"{type(self).__name__}: image "
                                 f"{rec['img_path']} has no caption; "
                                 "unit='caption' needs captions.")
            info = dict(img_path=join_path(self.data_root, rec['img_path']),
                        gt_label=new_label[rec['label']],
                        image_id=rec['image_id'], group=classes[rec['label']])
            if self.task == 'anomaly':
                info['anomaly_label'] = int(rec['label'] in abnormal)
            if self.image_features is not None:
                info['image_feat_file'] = self.image_features
            caps = rec['captions'][:keep_caps[i]]
            rows = list(range(first_row[i], first_row[i] + len(caps)))
            if self.unit == 'image':
                if self.image_features is not None:
                    info['image_index'] = int(
                        i if image_layout == 'one row per image' else
                        first_row[i])
                info['captions'] = list(caps)
                if self.text_features is not None:
                    info['text_feat_file'] = self.text_features
                    info['text_indices'] = [int(r) for r in rows]
                data_list.append(info)
                continue
            for caption, row in zip(caps, rows):
                sample = dict(info, caption=caption)
                if self.image_features is not None:
                    sample['image_index'] = int(
                        i if image_layout == 'one row per image' else row)
                if self.text_features is not None:
                    sample['text_feat_file'] = self.text_features
                    sample['text_index'] = int(row)
                data_list.append(sample)
        if self.check_files:
            for info in data_list:
                if not osp.isfile(info['img_path']):
                    raise FileNotFoundError(
                        f"{type(self).__name__}: image {info['img_path']} "
                        'does not exist.')
        self._metainfo['classes'] = tuple(classes[g] for g in chosen)
        if self.task == 'anomaly':
            self._metainfo['normal_classes'] = tuple(
                classes[g] for g, f in zip(chosen, flags) if not f)
        self.group_counts = {classes[g]: int(counts[g]) for g in chosen}
        return data_list

    def extra_repr(self) -> List[str]:
        """Extra lines of ``repr``."""
        return [f'Data root: \t{self.data_root}',
                f'Annotation: \t{self.ann_file or "official files"}',
                f'Task / split / unit: \t{self.task} / {self.split} / '
                f'{self.unit}']
