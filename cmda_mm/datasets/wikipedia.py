"""The Wikipedia image-text dataset (Rasiwasia et al., 2010).

Expected layout under ``data_root`` (the standard release)::

    trainset_txt_img_cat.list   text_id<TAB>image_id<TAB>class (1..10)
    testset_txt_img_cat.list
    categories.list             10 class names, line k = class k (optional)
    raw_features.mat            I_tr/I_te (SIFT BoW), T_tr/T_te (LDA),
                                T_tfidf_tr/T_tfidf_te (TF-IDF)
    texts/<text_id>.xml         the articles (only for load_text=True)
    features/wikipedia_minilm_l6_v2_text_fp16.npy   (optional, train+test)

Row ``i`` of a feature matrix is line ``i`` of the matching list file. Every
sample carries the student row in ``img`` and the teacher row in
``teacher`` (both ``float32`` 1-D), so no loading transform is needed.
"""
import os.path as osp
import re
import xml.etree.ElementTree as ET
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmpretrain.datasets import BaseDataset

from cmda_mm.registry import DATASETS
from .grouping import stratified_holdout
from .transforms.loading import check_finite, read_npy

__all__ = ['WikipediaDataset']

LIST_FILES = {'train': 'trainset_txt_img_cat.list',
              'test': 'testset_txt_img_cat.list'}
MAT_FILE = 'raw_features.mat'
# feature name -> prefix of its mat variables (suffix '_tr' / '_te')
MAT_FEATURES = {'sift': 'I', 'lda': 'T', 'tfidf': 'T_tfidf'}
FEATURES = ('sift', 'lda', 'tfidf', 'minilm')
SPLITS = ('train', 'test', 'train_sub', 'val')
_TEXT_RE = re.compile(r'<text>(.*?)</text>', re.DOTALL)


def read_pair_list(path: str) -> List[Tuple[str, str, int]]:
    """Read ``text_id<TAB>image_id<TAB>class`` lines (class in 1..10)."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'Wikipedia list file not found: {path}')
    pairs = []
    with open(path, encoding='utf-8') as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            fields = line.split('\t') if '\t' in line else line.split()
            if len(fields) != 3:
                raise ValueError(f'{path}:{lineno}: expected 3 fields '
                                 f'(text_id, image_id, class), got '
                                 f'{len(fields)}: {line!r}')
            text_id, image_id, cls = (x.strip() for x in fields)
            if not cls.isdigit() or not 1 <= int(cls) <= 10:
                raise ValueError(f'{path}:{lineno}: unknown class {cls!r} '
                                 '(expected 1..10)')
            pairs.append((text_id, image_id, int(cls)))
    return pairs


def read_article(path: str) -> str:
    """The ``<text>`` of one article xml, with a regex fallback."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'Wikipedia text file not found: {path}')
    try:
        node = ET.parse(path).getroot().find('text')
        if node is not None:
            return ''.join(node.itertext()).strip()
    except ET.ParseError:
        pass
    with open(path, encoding='utf-8', errors='replace') as f:
        match = _TEXT_RE.search(f.read())
    if match is None:
        raise ValueError(f'{path}: no <text> element found.')
    return match.group(1).strip()


@DATASETS.register_module()
class WikipediaDataset(BaseDataset):
    """Wikipedia image-text pairs with pre-computed features.

    Args:
        data_root (str): Root of the release.
        split (str): 'train', 'test', or 'train_sub' / 'val', a stratified
            seeded split of the official train list. Defaults to 'train'.
        student (str): Student features, one of 'sift' (image), 'lda',
            'tfidf', 'minilm' (text). Defaults to 'sift'.
        teacher (str): Teacher features, same choices. Defaults to 'minilm'.
        minilm_file (str): MiniLM embeddings (rows = train then test list),
            relative to ``data_root``.
        load_text (bool): Put the article text into ``caption``.
            Defaults to False.
        classes (Sequence[str], optional): Keep only these classes,
            relabelled 0..k-1 in the given order. Defaults to None (all).
        val_fraction (float): Fraction of every class of the official train
            list that forms 'val' (only used by 'train_sub' / 'val').
            Defaults to 0.0.
        val_seed (int): Seed of the val split. Defaults to 0.
        **kwargs: Other arguments of :class:`mmpretrain.datasets.BaseDataset`
            (``pipeline``, ``test_mode``, ``indices``, ``lazy_init``...).
    """

    METAINFO = {'classes': ('art', 'biology', 'geography', 'history',
                            'literature', 'media', 'music', 'royalty',
                            'sport', 'warfare')}

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 student: str = 'sift',
                 teacher: str = 'minilm',
                 minilm_file: str = 'features/'
                 'wikipedia_minilm_l6_v2_text_fp16.npy',
                 load_text: bool = False,
                 classes: Optional[Sequence[str]] = None,
                 val_fraction: float = 0.0,
                 val_seed: int = 0,
                 **kwargs):
        if split not in SPLITS:
            raise ValueError(f'split must be one of {SPLITS}, got {split!r}.')
        for role, name in (('student', student), ('teacher', teacher)):
            if name not in FEATURES:
                raise ValueError(f'Unknown {role} feature {name!r}; choose '
                                 f'one of {FEATURES}.')
        if split in ('train_sub', 'val') and not 0 < val_fraction < 1:
            raise ValueError(f"split={split!r} needs 0 < val_fraction < 1, "
                             f'got {val_fraction}.')
        self.split, self.student, self.teacher = split, student, teacher
        self.minilm_file = minilm_file
        self.load_text = load_text
        self.val_fraction, self.val_seed = val_fraction, val_seed
        all_classes = self._read_categories(data_root)
        self.label_map = {k + 1: k for k in range(len(all_classes))}
        if classes is not None:
            missing = [c for c in classes if c not in all_classes]
            if missing:
                raise ValueError(f'Unknown classes {missing}; Wikipedia '
                                 f'classes are {all_classes}.')
            if len(set(classes)) != len(classes):
                raise ValueError(f'classes has duplicate names: {classes}.')
            self.label_map = {all_classes.index(c) + 1: i
                              for i, c in enumerate(classes)}
            all_classes = tuple(classes)
        metainfo = dict(kwargs.pop('metainfo', None) or {})
        metainfo['classes'] = tuple(all_classes)
        super().__init__(ann_file='', data_root=data_root, metainfo=metainfo,
                         **kwargs)

    def _read_categories(self, data_root: str) -> Tuple[str, ...]:
        path = osp.join(data_root, 'categories.list')
        if not osp.isfile(path):
            return self.METAINFO['classes']
        with open(path, encoding='utf-8') as f:
            names = tuple(line.strip() for line in f if line.strip())
        if len(names) != 10:
            raise ValueError(f'{path}: expected 10 class names, got '
                             f'{len(names)}.')
        return names

    def _features(self, name: str, split: str, count: int,
                  counts: Dict[str, int]) -> np.ndarray:
        """The ``count x D`` float32 matrix of feature ``name``."""
        if name == 'minilm':
            path = osp.join(self.data_root, self.minilm_file)
            if not osp.isfile(path):
                raise FileNotFoundError(f'MiniLM feature file not found: '
                                        f'{path}')
            matrix = read_npy(path)
            total = counts['train'] + counts['test']
            if matrix.ndim != 2 or matrix.shape[0] != total:
                raise ValueError(
                    f'{path}: shape {matrix.shape} does not match the '
                    f"{counts['train']} train + {counts['test']} test = "
                    f'{total} list lines.')
            start = 0 if split == 'train' else counts['train']
            rows = np.asarray(matrix[start:start + count], dtype=np.float32)
            check_finite(rows, path, row_offset=start)
            return rows
        path = osp.join(self.data_root, MAT_FILE)
        if not osp.isfile(path):
            raise FileNotFoundError(f'Wikipedia feature file not found: '
                                    f'{path}')
        var = f"{MAT_FEATURES[name]}_{'tr' if split == 'train' else 'te'}"
        from scipy.io import loadmat
        from scipy.sparse import issparse
        try:
            mat = loadmat(path, variable_names=[var])
        except Exception as err:  # scipy raises ValueError, OSError, TypeError, MatReadError...
            raise ValueError(f'{path} is not a readable .mat file (truncated '
                             f'or corrupt?): {type(err).__name__}: {err}'
                             ) from None
        if var not in mat:
            raise KeyError(f'{path}: variable {var!r} ({name}) not found.')
        matrix = mat[var].toarray() if issparse(mat[var]) else mat[var]
        if matrix.ndim != 2 or matrix.shape[0] != count:
            raise ValueError(
                f'{path}: {var} ({name}) has {matrix.shape[0]} rows but '
                f'{LIST_FILES[split]} has {count} lines.')
        matrix = np.asarray(matrix, dtype=np.float32)
        check_finite(matrix, f'{path} ({var})')
        return matrix

    def _val_mask(self, labels: np.ndarray) -> np.ndarray:
        """Stratified, seeded val mask over the official train list (the datasets' one stratified split)."""
        return stratified_holdout(labels, self.val_fraction, self.val_seed)

    def load_data_list(self) -> List[dict]:
        """Read the list, the feature rows and optionally the articles."""
        source = 'test' if self.split == 'test' else 'train'
        lists = {s: read_pair_list(osp.join(self.data_root, f))
                 for s, f in LIST_FILES.items()
                 if s == source or 'minilm' in (self.student, self.teacher)}
        counts = {s: len(p) for s, p in lists.items()}
        pairs = lists[source]
        feats = {role: self._features(name, source, len(pairs), counts)
                 for role, name in (('student', self.student),
                                    ('teacher', self.teacher))}
        keep = np.ones(len(pairs), dtype=bool)
        if self.split in ('train_sub', 'val'):
            val = self._val_mask(np.array([p[2] for p in pairs]))
            keep = val if self.split == 'val' else ~val
        data_list = []
        for i, (text_id, image_id, cls) in enumerate(pairs):
            if not keep[i] or cls not in self.label_map:
                continue
            info = dict(img=feats['student'][i].copy(),
                        teacher=feats['teacher'][i].copy(),
                        gt_label=self.label_map[cls], text_id=text_id,
                        image_id=image_id)
            if self.load_text:
                info['caption'] = read_article(
                    osp.join(self.data_root, 'texts', f'{text_id}.xml'))
            data_list.append(info)
        return data_list

    @property
    def student_dim(self) -> int:
        """Length of the student vectors."""
        return int(self.get_data_info(0)['img'].shape[0])

    @property
    def teacher_dim(self) -> int:
        """Length of the teacher vectors."""
        return int(self.get_data_info(0)['teacher'].shape[0])

    def extra_repr(self) -> List[str]:
        """Extra lines of ``repr``."""
        return [f'Data root: \t{self.data_root}', f'Split: \t{self.split}',
                f'Student: \t{self.student}', f'Teacher: \t{self.teacher}']
