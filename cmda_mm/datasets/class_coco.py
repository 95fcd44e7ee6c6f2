"""Class-COCO (paper §IV-A): single-category MS-COCO images grouped by category.

Built from the official COCO files under ``data_root``::

    annotations/instances_train2014.json   (or *_train2017 / *_val20xx)
    annotations/captions_train2014.json
    train2014/COCO_train2014_000000xxxxxx.jpg   (2017: train2017/000000xxxxxx.jpg;
                                                 the name comes from the json)

**Single-object rule.** The paper drops "images that contain two or more
objects" and keeps 126,055 samples in 80 groups. We keep an image when all its
instance annotations (crowd ones included) belong to **one category**, however
many instances of it there are: counting instances would leave far fewer
samples, and the 80 group names of the authors' released code (presets below)
are the categories that typically appear alone. Images without annotations are
dropped. The paper's counts are multiples of 5 (126,055 = 5 × 25,211): samples
are (image, caption) pairs with 5 captions per image, so the defaults are
``unit='caption'`` and ``max_captions=5`` (the first 5 captions by annotation
id). Groups are the categories in id order (contiguous labels 0..79).

**Splits.** Anomaly detection (paper): normal = the groups with more than 6,000
samples (6 groups, vision) or 30 groups (language); abnormal = 50 groups. The
paper does not list them; the authors' released code does (folder indices =
contiguous category indices), and its 30 + 50 groups are exactly the 80
categories (110,905 + 15,150 = 126,055), so the presets below are those lists.
Classification uses the same groups ("divided in the same way"); we default to
the 30 language-normal groups (6 groups would make the paper's 15.7 % vision
accuracy worse than chance). The train/test holdout is seeded and stratified
over images (``test_size=0.2``; the paper gives no ratio).

Reading the raw json takes a while on the real files (~330 MB): convert them
once with ``tools/dataset_converters/coco_to_class_coco.py`` and pass the
result as ``ann_file`` (the same samples, in the same order).
"""
import os.path as osp
from typing import Dict, List, Tuple

import mmengine
import numpy as np
from mmengine.fileio import join_path

from cmda_mm.registry import DATASETS
from .grouped_pairs import GroupedPairsDataset

__all__ = ['ClassCOCODataset', 'load_coco_records', 'COCO_CATEGORIES']

COCO_CATEGORIES = (
    'person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train',
    'truck', 'boat', 'traffic light', 'fire hydrant', 'stop sign',
    'parking meter', 'bench', 'bird', 'cat', 'dog', 'horse', 'sheep', 'cow',
    'elephant', 'bear', 'zebra', 'giraffe', 'backpack', 'umbrella', 'handbag',
    'tie', 'suitcase', 'frisbee', 'skis', 'snowboard', 'sports ball', 'kite',
    'baseball bat', 'baseball glove', 'skateboard', 'surfboard',
    'tennis racket', 'bottle', 'wine glass', 'cup', 'fork', 'knife', 'spoon',
    'bowl', 'banana', 'apple', 'sandwich', 'orange', 'broccoli', 'carrot',
    'hot dog', 'pizza', 'donut', 'cake', 'chair', 'couch', 'potted plant',
    'bed', 'dining table', 'toilet', 'tv', 'laptop', 'mouse', 'remote',
    'keyboard', 'cell phone', 'microwave', 'oven', 'toaster', 'sink',
    'refrigerator', 'book', 'clock', 'vase', 'scissors', 'teddy bear',
    'hair drier', 'toothbrush')


def _names(indices):
    return tuple(COCO_CATEGORIES[i] for i in indices)


# Contiguous category indices from the authors' released code (user_dict).
PRESETS = {
    'paper-vision-normal': _names([6, 14, 22, 74, 4, 23]),
    'paper-language-normal': _names([
        5, 3, 71, 46, 50, 59, 7, 0, 16, 53, 77, 13, 15, 10, 8, 9, 75, 11, 17,
        21, 18, 19, 61, 20, 6, 14, 22, 74, 4, 23]),
    'paper-abnormal': _names([
        67, 69, 33, 72, 49, 2, 55, 28, 76, 54, 24, 35, 78, 26, 42, 73, 32, 38,
        64, 34, 70, 44, 57, 40, 30, 31, 41, 45, 29, 60, 56, 43, 58, 36, 39,
        66, 63, 37, 27, 62, 51, 79, 65, 68, 47, 1, 12, 25, 52, 48]),
}
# All groups of an anomaly task, normal first (for AnomalySplitDataset).
PRESETS['paper-vision-ad'] = (PRESETS['paper-vision-normal'] +
                              PRESETS['paper-abnormal'])
PRESETS['paper-language-ad'] = (PRESETS['paper-language-normal'] +
                                PRESETS['paper-abnormal'])


def _require(obj: dict, key: str, path: str, where: str = ''):
    if not isinstance(obj, dict) or key not in obj:
        raise ValueError(f"{path}: {where}missing '{key}' (not an official "
                         'COCO annotation file?).')
    return obj[key]


def load_coco_records(instances_file: str,
                      captions_file: str,
                      img_dir: str,
                      progress: bool = False
                      ) -> Tuple[List[str], List[dict], Dict[str, int]]:
    """Read the official COCO jsons into Class-COCO records.

    Args:
        instances_file (str): ``instances_*.json`` path.
        captions_file (str): ``captions_*.json`` path.
        img_dir (str): Folder of the images, relative to the dataset root
            (joined with each image's ``file_name``).
        progress (bool): Show a progress bar. Defaults to False.

    Returns:
        tuple: Group names (categories in id order), records (single-category
        images sorted by id, captions sorted by caption id) and statistics.
    """
    for path in (instances_file, captions_file):
        if not osp.isfile(path):
            raise FileNotFoundError(f'COCO annotation file not found: {path}')
    inst = mmengine.load(instances_file)
    images = _require(inst, 'images', instances_file)
    anns = _require(inst, 'annotations', instances_file)
    cats = sorted(_require(inst, 'categories', instances_file),
                  key=lambda c: c['id'])
    names = [c['name'] for c in cats]
    cat_index = {c['id']: i for i, c in enumerate(cats)}
    files = {}
    for k, img in enumerate(images):
        files[_require(img, 'id', instances_file, f'images[{k}] ')] = \
            _require(img, 'file_name', instances_file, f'images[{k}] ')

    img_ids = np.array(sorted(files), dtype=np.int64)
    pos = {i: k for k, i in enumerate(img_ids.tolist())}
    a_img = np.empty(len(anns), dtype=np.int64)
    a_cat = np.empty(len(anns), dtype=np.int64)
    for k, ann in enumerate(anns):
        image_id = _require(ann, 'image_id', instances_file,
                            f'annotations[{k}] ')
        if image_id not in pos:
            raise ValueError(
                f"{instances_file}: annotation id={ann.get('id')} refers to "
                f"image_id={image_id}, which has no entry (file_name) in "
                "'images'.")
        cat_id = _require(ann, 'category_id', instances_file,
                          f'annotations[{k}] ')
        if cat_id not in cat_index:
            raise ValueError(f"{instances_file}: annotation id="
                             f"{ann.get('id')} has unknown category_id "
                             f'{cat_id}.')
        a_img[k], a_cat[k] = pos[image_id], cat_index[cat_id]
    pairs = np.unique(np.stack([a_img, a_cat], 1), axis=0)
    n_cats = np.bincount(pairs[:, 0], minlength=len(img_ids))
    single = np.zeros(len(img_ids), dtype=np.int64) - 1
    one = pairs[n_cats[pairs[:, 0]] == 1]
    single[one[:, 0]] = one[:, 1]

    caps = _require(mmengine.load(captions_file), 'annotations',
                    captions_file)
    by_image: Dict[int, List[Tuple[int, str]]] = {}
    for k, cap in enumerate(caps):
        image_id = _require(cap, 'image_id', captions_file,
                            f'annotations[{k}] ')
        if image_id not in pos:
            raise ValueError(
                f"{captions_file}: caption id={cap.get('id')} refers to "
                f'image_id={image_id}, which is not in {instances_file}.')
        text = _require(cap, 'caption', captions_file, f'annotations[{k}] ')
        by_image.setdefault(image_id, []).append((cap.get('id', k),
                                                  text.strip()))

    kept = np.flatnonzero(single >= 0)
    records = []
    iterator = mmengine.track_iter_progress(kept.tolist()) if (
        progress and len(kept)) else kept.tolist()
    for k in iterator:
        image_id = int(img_ids[k])
        if image_id not in by_image:
            raise ValueError(f'{captions_file}: image_id={image_id} '
                             f'({files[image_id]}) has no caption.')
        ordered = sorted(by_image[image_id])
        records.append(dict(
            img_path=join_path(img_dir, files[image_id]) if img_dir else
            files[image_id], label=int(single[k]), image_id=image_id,
            captions=[t for _, t in ordered],
            caption_ids=[i for i, _ in ordered]))
    stats = dict(images=len(img_ids), without_objects=int((n_cats == 0).sum()),
                 multi_category=int((n_cats > 1).sum()), kept=len(records))
    return names, records, stats


@DATASETS.register_module()
class ClassCOCODataset(GroupedPairsDataset):
    """Class-COCO: single-category COCO images, 80 category groups, captions.

    Args:
        data_root (str): COCO root (``annotations/``, image folders).
        coco_split (str): Official split name, e.g. 'train2014' (the paper)
            or 'train2017'. Defaults to 'train2014'.
        ann_file (str): Converted json (fast path), relative to
            ``data_root``; '' reads the official files. Defaults to ''.
        instances_file / captions_file / img_dir (str, optional): Override
            ``annotations/instances_{coco_split}.json``,
            ``annotations/captions_{coco_split}.json`` and ``{coco_split}``.
        groups: Classification groups. Defaults to 'paper-language-normal'.
        normal_groups: Anomaly normal groups, e.g. 'paper-vision-normal',
            'paper-language-normal' or ``dict(min_samples=6000)``.
        abnormal_groups: Anomaly abnormal groups. Defaults to
            'paper-abnormal'.
        unit (str): 'caption' (paper) or 'image'. Defaults to 'caption'.
        max_captions (int, optional): Captions kept per image. Defaults to 5.
        **kwargs: :class:`GroupedPairsDataset` arguments (split, task,
            test_size, split_seed, text_features, image_features, ...).
    """

    PRESETS = PRESETS
    METAINFO = {'classes': COCO_CATEGORIES}

    def __init__(self,
                 data_root: str,
                 coco_split: str = 'train2014',
                 ann_file: str = '',
                 instances_file: str = None,
                 captions_file: str = None,
                 img_dir: str = None,
                 groups='paper-language-normal',
                 normal_groups=None,
                 abnormal_groups='paper-abnormal',
                 unit: str = 'caption',
                 max_captions: int = 5,
                 **kwargs):
        self.coco_split = coco_split
        self.instances_file = instances_file or \
            f'annotations/instances_{coco_split}.json'
        self.captions_file = captions_file or \
            f'annotations/captions_{coco_split}.json'
        self.img_dir = coco_split if img_dir is None else img_dir
        super().__init__(
            data_root=data_root, ann_file=ann_file, groups=groups,
            normal_groups=normal_groups, abnormal_groups=abnormal_groups,
            unit=unit, max_captions=max_captions, **kwargs)

    def load_records(self) -> Tuple[List[str], List[dict]]:
        """Read the official instances + captions jsons."""
        names, records, _ = load_coco_records(
            self._resolve(self.data_root, self.instances_file),
            self._resolve(self.data_root, self.captions_file), self.img_dir)
        return names, records
