"""Fashion products: real product photos paired with their product-name captions (articleType classes).

The paper's main regime (a vision student on raw pixels with a text teacher) on real images. Expected layout under
``data_root`` — the folder written by ``tools/dataset_converters/prepare_fashion.py`` from the original release
(``fashion_9k.tsv`` + ``images/<id>.jpg``)::

    fashion_9k.tsv            id, gender, masterCategory, subCategory, articleType, ..., productDisplayName
    fashion_split.json        {"seed": 0, "fractions": [0.7, 0.1, 0.2], "split": {"<id>": "train" | "val" | "test"}}
    images/<id>.jpg           224 x 224 originals (a link to the release's folder)
    images_32/<id>.png        pre-resized copies for CPU-sized students (``img_dir='images_32', img_ext='.png'``)
    features/*.npy            caption / image features, one row per image in record order (see below)

Records are the images of the article types with at least ``min_class_size`` images (30 types, 9,082 images for
50), in table order; classes are ordered by size (largest first, ties by name), so ``normal_groups=6`` names the
6 largest types. Each image has one caption (its ``productDisplayName``), so feature files have one row per image.
``mask_class_words=True`` removes every word of the class names (and singular / plural forms, hyphens ignored:
"T-Shirts", "Tshirt") from the captions: the control for "the teacher knows the label". The split is the one
written in ``split_file`` (seeded, stratified 70 / 10 / 20 % per class), so every run and method shares it.
"""
import csv
import os.path as osp
import re
from typing import Callable, Dict, List, Sequence, Tuple

import mmengine
import numpy as np

from cmda_mm.registry import DATASETS
from .grouped_pairs import GroupedPairsDataset
from .grouping import stratified_holdout

__all__ = ['FashionProductsDataset', 'read_fashion_table', 'fashion_classes', 'fashion_split', 'class_word_masker',
           'load_fashion_records', 'FASHION_COLUMNS']

FASHION_COLUMNS = ('id', 'articleType', 'productDisplayName')
SPLITS = ('train', 'val', 'test')
_TOKEN_RE = re.compile(r"[A-Za-z][A-Za-z'-]*")


def read_fashion_table(path: str) -> List[Dict[str, str]]:
    """Rows of ``fashion_9k.tsv`` (tab-separated, with a header).

    Args:
        path (str): The table file.

    Returns:
        list[dict]: One dict per row, keyed by the header's column names.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'fashion table not found: {path} (expected fashion_9k.tsv of the release, or run '
                                'tools/dataset_converters/prepare_fashion.py)')
    with open(path, encoding='utf-8', newline='') as f:
        reader = csv.DictReader(f, delimiter='\t')
        missing = [c for c in FASHION_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f'{path}: header lacks columns {missing} (has {reader.fieldnames})')
        rows = []
        for line, row in enumerate(reader, start=2):
            empty = [c for c in FASHION_COLUMNS if not (row.get(c) or '').strip()]
            if empty:
                raise ValueError(f'{path}: line {line} has empty {empty}')
            rows.append(row)
    if not rows:
        raise ValueError(f'{path}: no data rows below the header')
    return rows


def fashion_classes(rows: Sequence[Dict[str, str]], min_class_size: int = 50) -> List[str]:
    """Article types with at least ``min_class_size`` rows, largest first (ties by name)."""
    names, counts = np.unique([r['articleType'] for r in rows], return_counts=True)
    order = sorted(range(len(names)), key=lambda i: (-counts[i], names[i]))
    classes = [str(names[i]) for i in order if counts[i] >= min_class_size]
    if not classes:
        raise ValueError(f'no articleType has >= {min_class_size} images (largest: {int(counts.max())})')
    return classes


def fashion_split(labels: np.ndarray, fractions: Sequence[float] = (0.7, 0.1, 0.2), seed: int = 0) -> np.ndarray:
    """A seeded train / val / test assignment stratified by class.

    The test part is ``fractions[2]`` of every class, then the val part ``fractions[1]`` of every class is taken
    from the rest (both through :func:`stratified_holdout`, so a class of n images gets ``round(n * f)``).

    Args:
        labels (np.ndarray): Class index per image.
        fractions (Sequence[float]): Train, val and test fractions (sum 1).
        seed (int): Seed.

    Returns:
        np.ndarray: 'train' / 'val' / 'test' per image (dtype object).
    """
    if len(fractions) != 3 or abs(sum(fractions) - 1) > 1e-6 or min(fractions) < 0:
        raise ValueError(f'fractions must be three non-negative numbers summing to 1, got {fractions}')
    labels = np.asarray(labels, dtype=np.int64)
    out = np.full(len(labels), 'train', dtype=object)
    test = stratified_holdout(labels, fractions[2], seed)
    out[test] = 'test'
    rest = np.flatnonzero(~test)
    if fractions[1] > 0:
        val = stratified_holdout(labels[rest], fractions[1] / (1 - fractions[2]), seed + 1)
        out[rest[val]] = 'val'
    return out


def class_word_masker(class_names: Sequence[str], replacement: str = '') -> Callable[[str], str]:
    """A function that removes the words of ``class_names`` from a caption.

    A caption token is masked when, lower-cased with hyphens removed, it equals a class-name word or that word
    with / without a trailing 's' / 'es' ("Shirts" masks "shirt", "T-Shirts", "tshirt").

    Args:
        class_names (Sequence[str]): Class names, e.g. ``['Tshirts', 'Casual Shoes']``.
        replacement (str): What a masked word becomes. Defaults to '' (dropped).

    Returns:
        Callable[[str], str]: caption -> masked caption (whitespace collapsed).
    """
    words = set()
    for name in class_names:
        for word in _TOKEN_RE.findall(name):
            w = word.lower().replace('-', '')
            words.update({w, w + 's', w + 'es'})
            for suffix in ('es', 's'):
                if w.endswith(suffix) and len(w) > len(suffix) + 1:
                    words.add(w[:-len(suffix)])

    def mask(caption: str) -> str:
        out = _TOKEN_RE.sub(lambda m: replacement if m.group(0).lower().replace('-', '') in words else m.group(0),
                            caption)
        return ' '.join(out.split())

    return mask


def load_fashion_records(data_root: str,
                         table: str = 'fashion_9k.tsv',
                         split_file: str = 'fashion_split.json',
                         img_dir: str = 'images',
                         img_ext: str = '.jpg',
                         min_class_size: int = 50) -> Tuple[List[str], List[dict]]:
    """The classes and one record per image (see :class:`GroupedPairsDataset` for the record keys).

    Args:
        data_root (str): Prepared fashion folder.
        table (str): Table file, relative to ``data_root``.
        split_file (str): Split json (``prepare_fashion.py``), relative to ``data_root``.
        img_dir (str): Image folder, relative to ``data_root``.
        img_ext (str): Image file extension.
        min_class_size (int): Keep article types with at least this many images.

    Returns:
        tuple: Class names (largest first) and the records, in table order.
    """
    rows = read_fashion_table(osp.join(data_root, table))
    classes = fashion_classes(rows, min_class_size)
    index = {c: i for i, c in enumerate(classes)}
    rows = [r for r in rows if r['articleType'] in index]
    split_path = osp.join(data_root, split_file)
    if not osp.isfile(split_path):
        raise FileNotFoundError(f'fashion split file not found: {split_path}; write it with '
                                'tools/dataset_converters/prepare_fashion.py (every run and method shares it)')
    split = mmengine.load(split_path).get('split', {})
    missing = [r['id'] for r in rows if r['id'] not in split]
    if missing:
        raise ValueError(f'{split_path}: {len(missing)} images have no split (first: id {missing[0]}); '
                         'was it written for another table? Re-run prepare_fashion.py')
    bad = sorted({v for v in split.values() if v not in SPLITS})
    if bad:
        raise ValueError(f'{split_path}: split values must be {SPLITS}, got {bad}')
    records = [dict(img_path=f"{img_dir}/{r['id']}{img_ext}", label=index[r['articleType']], image_id=int(r['id']),
                    captions=[r['productDisplayName'].strip()], official_split=split[r['id']]) for r in rows]
    return classes, records


@DATASETS.register_module()
class FashionProductsDataset(GroupedPairsDataset):
    """Fashion product photos (student: images) paired with product-name captions (teacher: text).

    Args:
        data_root (str): Prepared folder (``tools/dataset_converters/prepare_fashion.py``).
        table (str): Table file. Defaults to 'fashion_9k.tsv'.
        split_file (str): Split json. Defaults to 'fashion_split.json'.
        img_dir (str): Image folder; 'images_32' etc. for pre-resized copies. Defaults to 'images'.
        img_ext (str): Image extension ('.png' for the pre-resized copies). Defaults to '.jpg'.
        min_class_size (int): Article types with at least this many images form the classes. Defaults to 50.
        mask_class_words (bool): Remove the class-name words from the captions. Defaults to False.
        split_source (str): 'official' = the split file ('train', 'val', 'test', 'trainval'); 'holdout' = a
            train/test holdout of :class:`GroupedPairsDataset`. Defaults to 'official'.
        abnormal_split (str): Anomaly task: which abnormal images the 'test' split holds — 'test' (their test
            part; default, so that 'val' holds their val part without overlap, see :class:`GroupedPairsDataset`)
            or 'all'.
        **kwargs: :class:`GroupedPairsDataset` arguments (split, task, groups, normal_groups, text_features,
            image_features, ...).
    """

    def __init__(self,
                 data_root: str,
                 table: str = 'fashion_9k.tsv',
                 split_file: str = 'fashion_split.json',
                 img_dir: str = 'images',
                 img_ext: str = '.jpg',
                 min_class_size: int = 50,
                 mask_class_words: bool = False,
                 split_source: str = 'official',
                 abnormal_split: str = 'test',
                 **kwargs):
        self.table = table
        self.split_file = split_file
        self.img_dir = img_dir
        self.img_ext = img_ext
        self.min_class_size = min_class_size
        self.mask_class_words = mask_class_words
        super().__init__(data_root=data_root, split_source=split_source, abnormal_split=abnormal_split, **kwargs)

    def load_records(self) -> Tuple[List[str], List[dict]]:
        """Read the table and the split; mask the captions when asked."""
        classes, records = load_fashion_records(self.data_root, self.table, self.split_file, self.img_dir,
                                                self.img_ext, self.min_class_size)
        if self.mask_class_words:
            mask = class_word_masker(classes)
            for rec in records:
                rec['captions'] = [mask(c) for c in rec['captions']]
        return classes, records
