"""Oxford-102 flowers with the 10 captions per image of Reed et al. (2016).

Expected layout under ``data_root`` (the official release + Reed's text)::

    jpg/image_00001.jpg ... image_08189.jpg     102flowers.tgz
    imagelabels.mat                            'labels': 1 x 8189, in 1..102
    setid.mat                                  'trnid', 'valid', 'tstid'
    text_c10/class_00001/image_06734.txt       one caption per line (10)

Groups are the 102 classes (labels 0..101, named ``class_00001`` ... like
Reed's folders). Paper splits (§IV-A): classification over the **10 largest
classes**, 1,861 train / 442 test pairs — the official ``setid`` (10 + 10
training images per class) does not give these sizes, so we use a seeded
holdout stratified over classes with the paper's test ratio 442 / 2,303
(``test_size`` takes an exact count too); anomaly detection with 30 normal and
72 abnormal classes (totals 4,018 / 4,171) — the paper does not list them; the
default normal set is the **30 largest classes**, the abnormal set the other 72
(both configurable; ``tools/dataset_converters/oxford102_to_paired.py`` prints
the group table to check the totals on your copy). ``split_source='official'`` uses setid
('train' = trnid, 'val' = valid, 'test' = tstid, 'trainval').

The paper counts pairs per image (8,189), so the default unit is 'image': each
sample carries its 10 captions and :class:`RandomCaption` draws one per epoch.
"""
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from cmda_mm.registry import DATASETS
from .grouped_pairs import GroupedPairsDataset

__all__ = ['Oxford102Dataset', 'load_oxford_records', 'PAPER_TEST_FRACTION']

PAPER_TEST_FRACTION = 442 / 2303
SETID_KEYS = {'trnid': 'train', 'valid': 'val', 'tstid': 'test'}


def _loadmat(path: str, keys: Sequence[str]) -> Dict[str, np.ndarray]:
    if not osp.isfile(path):
        raise FileNotFoundError(f'Oxford-102 file not found: {path}')
    from scipy.io import loadmat
    mat = loadmat(path)
    missing = [k for k in keys if k not in mat]
    if missing:
        raise KeyError(f'{path}: variables {missing} not found (has '
                       f"{sorted(k for k in mat if not k.startswith('__'))}).")
    return {k: np.asarray(mat[k]).ravel().astype(np.int64) for k in keys}


def read_captions(path: str) -> List[str]:
    """Non-empty, stripped lines of one caption file."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'Oxford-102 caption file not found: {path} '
                                '(text_c10 of Reed et al. 2016).')
    with open(path, encoding='utf-8', errors='replace') as f:
        return [line.strip() for line in f if line.strip()]


def load_oxford_records(data_root: str,
                        img_dir: str = 'jpg',
                        labels_file: str = 'imagelabels.mat',
                        setid_file: Optional[str] = 'setid.mat',
                        text_dir: Optional[str] = 'text_c10'
                        ) -> Tuple[List[str], List[dict]]:
    """Read the official Oxford-102 files (+ Reed's captions) into records.

    Args:
        data_root (str): Dataset root.
        img_dir (str): Image folder. Defaults to 'jpg'.
        labels_file (str): Label mat file. Defaults to 'imagelabels.mat'.
        setid_file (str, optional): Official split mat file; None or a
            missing file leaves ``official_split`` unset.
        text_dir (str, optional): Caption folder; None reads no captions.

    Returns:
        tuple: Class names and one record per image, in image order.
    """
    labels = _loadmat(osp.join(data_root, labels_file), ['labels'])['labels']
    if labels.size == 0 or labels.min() < 1:
        raise ValueError(f'{osp.join(data_root, labels_file)}: labels must be'
                         f' 1-based class numbers, got min {labels.min()}.')
    n_classes = max(102, int(labels.max()))
    names = [f'class_{c:05d}' for c in range(1, n_classes + 1)]
    official = [None] * len(labels)
    setid_path = osp.join(data_root, setid_file) if setid_file else None
    if setid_path and osp.isfile(setid_path):
        for key, ids in _loadmat(setid_path, list(SETID_KEYS)).items():
            bad = ids[(ids < 1) | (ids > len(labels))]
            if bad.size:
                raise ValueError(f'{setid_path}: {key} has image numbers '
                                 f'{bad[:5].tolist()} outside 1..'
                                 f'{len(labels)}.')
            for i in ids:
                official[i - 1] = SETID_KEYS[key]
    records = []
    for k, label in enumerate(labels.tolist()):
        number = k + 1
        stem = f'image_{number:05d}'
        captions = [] if text_dir is None else read_captions(osp.join(
            data_root, text_dir, f'class_{label:05d}', f'{stem}.txt'))
        records.append(dict(img_path=f'{img_dir}/{stem}.jpg',
                            label=label - 1, image_id=number,
                            captions=captions,
                            official_split=official[k]))
    return names, records


@DATASETS.register_module()
class Oxford102Dataset(GroupedPairsDataset):
    """Oxford-102 flowers paired with Reed et al.'s captions.

    Args:
        data_root (str): Dataset root.
        ann_file (str): Converted json (fast path), relative to
            ``data_root``; '' reads the official files. Defaults to ''.
        groups: Classification classes (int k = k largest, or names
            ``class_XXXXX``). Defaults to 10.
        normal_groups: Anomaly normal classes. Defaults to 30 (largest).
        abnormal_groups: Anomaly abnormal classes. Defaults to None (rest).
        test_size (float | int): Holdout size. Defaults to 442 / 2303.
        unit (str): 'image' (paper) or 'caption'. Defaults to 'image'.
        img_dir, labels_file, setid_file, text_dir: Layout overrides
            (``text_dir=None``: images only).
        **kwargs: :class:`GroupedPairsDataset` arguments (split, task,
            split_seed, split_source, text_features, image_features...).
    """

    def __init__(self,
                 data_root: str,
                 ann_file: str = '',
                 groups=10,
                 normal_groups=30,
                 abnormal_groups=None,
                 test_size=PAPER_TEST_FRACTION,
                 unit: str = 'image',
                 img_dir: str = 'jpg',
                 labels_file: str = 'imagelabels.mat',
                 setid_file: Optional[str] = 'setid.mat',
                 text_dir: Optional[str] = 'text_c10',
                 **kwargs):
        self.img_dir, self.labels_file = img_dir, labels_file
        self.setid_file, self.text_dir = setid_file, text_dir
        super().__init__(
            data_root=data_root, ann_file=ann_file, groups=groups,
            normal_groups=normal_groups, abnormal_groups=abnormal_groups,
            test_size=test_size, unit=unit, **kwargs)

    def load_records(self) -> Tuple[List[str], List[dict]]:
        """Read the mats, the image names and the caption files."""
        names, records = load_oxford_records(
            self.data_root, self.img_dir, self.labels_file, self.setid_file,
            self.text_dir)
        if self.split_source == 'official' and all(
                r['official_split'] is None for r in records):
            raise FileNotFoundError(
                f"split_source='official' needs the setid file "
                f'{self.setid_file} in {self.data_root}.')
        return names, records
