"""COCO (or Flickr) captions in Karpathy's split file format (``dataset_coco.json``).

mmpretrain's ``COCOCaption`` dataset reads LAVIS-style annotation lists (``[{"image", "caption"}]``), not
Karpathy's file, so this reads it directly::

    {"dataset": "coco",
     "images": [{"filepath": "val2014", "filename": "COCO_val2014_000000391895.jpg", "cocoid": 391895,
                 "split": "train" | "restval" | "val" | "test",
                 "sentences": [{"raw": "A man riding a bike.", "tokens": ["a", "man", ...]}, ...]}]}

Every sample has ``img_path``, ``image_id`` (``cocoid``, else ``imgid``, else the position), ``caption`` (one
string: the caption to train on and to featurise as the teacher) and ``gt_caption`` (all the image's
captions: the BLEU references). With ``expand_captions=True`` (training) there is one sample per
(image, caption) pair, as in Show-Attend-Tell; otherwise one per image with its first caption.
"""
import os.path as osp
from typing import List, Sequence, Union

import mmengine
from mmengine.fileio import join_path
from mmpretrain.datasets import BaseDataset

from cmda_mm.registry import DATASETS

__all__ = ['KarpathyCaptionDataset']

SPLITS = ('train', 'restval', 'val', 'test')


@DATASETS.register_module()
class KarpathyCaptionDataset(BaseDataset):
    """Image-caption pairs from a Karpathy split file.

    Args:
        ann_file (str): the split json, relative to ``data_root``.
        split (str | Sequence[str]): Karpathy split(s) to keep, e.g. ``('train', 'restval')`` (113k COCO
            training images), 'val' or 'test' (5k each).
        expand_captions (bool): one sample per caption (training) instead of one per image.
        data_root (str): root of the annotation and images.
        data_prefix (dict): prefix of the images (joined with ``filepath/filename``).
        text_key (str): sentence field to read: 'raw' (default) or 'tokens' (joined by spaces).
        **kwargs: other :class:`mmpretrain.datasets.BaseDataset` arguments (``pipeline``, ...).
    """

    def __init__(self, ann_file: str, split: Union[str, Sequence[str]] = 'train', expand_captions: bool = False,
                 data_root: str = '', data_prefix: dict = dict(img_path=''), text_key: str = 'raw',
                 **kwargs) -> None:
        self.splits = (split, ) if isinstance(split, str) else tuple(split)
        unknown = set(self.splits) - set(SPLITS)
        if unknown:
            raise ValueError(f'unknown Karpathy split(s) {sorted(unknown)}; known: {SPLITS}')
        if text_key not in ('raw', 'tokens'):
            raise ValueError(f"`text_key` must be 'raw' or 'tokens', got {text_key!r}")
        self.expand_captions, self.text_key = expand_captions, text_key
        super().__init__(ann_file=ann_file, data_root=data_root, data_prefix=data_prefix, **kwargs)

    def _sentence(self, sentence, where: str) -> str:
        if not isinstance(sentence, dict) or self.text_key not in sentence:
            raise ValueError(f"{where} has no '{self.text_key}' field")
        text = sentence[self.text_key]
        text = ' '.join(text) if self.text_key == 'tokens' and isinstance(text, list) else text
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f'{where} is an empty caption')
        return text.strip()

    def load_data_list(self) -> List[dict]:
        """Read the split file and keep the requested splits."""
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(f'Karpathy caption file not found: {self.ann_file}')
        data = mmengine.load(self.ann_file)
        if not isinstance(data, dict) or not isinstance(data.get('images'), list):
            raise ValueError(f"{self.ann_file}: expected a dict with an 'images' list (Karpathy format)")
        data_list = []
        for index, image in enumerate(data['images']):
            where = f"{self.ann_file}: image {index} ({image.get('filename', '?')})"
            missing = [k for k in ('split', 'filename', 'sentences') if k not in image]
            if missing:
                raise ValueError(f'{where} lacks {missing}')
            if image['split'] not in self.splits:
                continue
            refs = [self._sentence(s, f'{where} sentence {j}') for j, s in enumerate(image['sentences'])]
            if not refs:
                raise ValueError(f'{where} has no sentences')
            info = dict(img_path=join_path(self.img_prefix, image.get('filepath', ''), image['filename']),
                        image_id=image.get('cocoid', image.get('imgid', index)), gt_caption=refs)
            for caption in (refs if self.expand_captions else refs[:1]):
                data_list.append(dict(info, caption=caption))
        if not data_list:
            raise ValueError(f'{self.ann_file}: no image in split(s) {self.splits}')
        return data_list

    def extra_repr(self) -> List[str]:
        """Extra lines of ``repr``."""
        return [f'Splits: \t{self.splits}', f'Expand captions: \t{self.expand_captions}']
