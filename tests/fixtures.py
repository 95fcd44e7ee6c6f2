"""Tiny data in the real layouts, written by the tests themselves (no ../shared needed)."""
import json
import os

import numpy as np
from scipy.io import savemat

CATEGORIES = ('art', 'biology', 'geography', 'history', 'literature', 'media',
              'music', 'royalty', 'sport', 'warfare')
TRAIN_LIST = 'trainset_txt_img_cat.list'
TEST_LIST = 'testset_txt_img_cat.list'
MINILM = 'features/wikipedia_minilm_l6_v2_text_fp16.npy'


def make_wiki(root, train_classes=(1, 1, 2, 2, 3, 3), test_classes=(1, 2, 3, 3)):
    """Write a tiny copy of the Wikipedia release; row i encodes i."""
    os.makedirs(root / 'texts')
    os.makedirs(root / 'features')
    (root / 'categories.list').write_text('\n'.join(CATEGORIES) + '\n')
    mats = {}
    for split, classes, lst in (('tr', train_classes, TRAIN_LIST),
                                ('te', test_classes, TEST_LIST)):
        lines = [f'{split}{i:03d}\timg_{split}{i}\t{c}'
                 for i, c in enumerate(classes)]
        (root / lst).write_text('\n'.join(lines) + '\n')
        n = len(classes)
        base = np.arange(n, dtype=np.float64)[:, None]
        mats[f'I_{split}'] = np.repeat(base, 128, 1)
        mats[f'T_{split}'] = np.repeat(base + 100, 10, 1)
        mats[f'T_tfidf_{split}'] = np.repeat(base + 200, 1000, 1)
        for i, c in enumerate(classes):
            (root / 'texts' / f'{split}{i:03d}.xml').write_text(
                f'<document id="{split}{i:03d}" name="n" cat="{c}"><text>'
                f'Article {split} {i} about class {c}.</text><imageset>'
                f'<image id="img_{split}{i}"/></imageset></document>')
    savemat(str(root / 'raw_features.mat'), mats)
    n_all = len(train_classes) + len(test_classes)
    np.save(root / MINILM, np.repeat(
        np.arange(n_all, dtype=np.float16)[:, None], 384, 1))
    return root


# ---- MS-COCO (Class-COCO) and Oxford-102 in their official layouts --------
COCO_CATEGORY_IDS = (list(range(1, 12)) + list(range(13, 26)) + [27, 28] +
                     list(range(31, 45)) + list(range(46, 66)) + [67, 70] +
                     list(range(72, 83)) + list(range(84, 91)))
# (image id, [(category, iscrowd), ...], number of captions). Kept by the
# single-category rule: 9 (train x2, 6 captions), 25 (giraffe), 34 (zebra +
# a zebra crowd), 42 (train); dropped: 30 (train + person), 36 (giraffe +
# zebra). Entries (rows) of the kept images: 9 -> 0..5, 25 -> 6..10,
# 34 -> 11..15, 42 -> 16..20.
COCO_FIXTURE = ((9, (('train', 0), ('train', 0)), 6),
                (25, (('giraffe', 0), ), 5),
                (30, (('train', 0), ('person', 0)), 5),
                (34, (('zebra', 0), ('zebra', 1)), 5),
                (36, (('giraffe', 0), ('zebra', 0)), 5),
                (42, (('train', 0), ), 5))
COCO_TEXT = 'features/class_coco_train2014_minilm_l6_v2_text_fp16.npy'
COCO_IMAGE = 'features/class_coco_train2014_efficientnet_lite0_image_fp16.npy'
OXFORD_LABELS = (1, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3)
OXFORD_TEXT = 'features/oxford102_minilm_l6_v2_text_fp16.npy'
OXFORD_IMAGE = 'features/oxford102_efficientnet_lite0_image_fp16.npy'


def _jpeg(path, seed, size=(40, 48)):
    import cv2
    os.makedirs(os.path.dirname(path), exist_ok=True)
    rng = np.random.default_rng(seed)
    cv2.imwrite(str(path), rng.integers(0, 255, (*size, 3), dtype=np.uint8))


def _features(root, text_path, n_text, image_path, n_image):
    """Row r of the text matrix is r everywhere; image row k is 1000 + k."""
    os.makedirs(root / 'features', exist_ok=True)
    np.save(root / text_path,
            np.repeat(np.arange(n_text, dtype=np.float16)[:, None], 384, 1))
    np.save(root / image_path, np.repeat(
        np.arange(1000, 1000 + n_image, dtype=np.float16)[:, None], 1280, 1))


def make_coco(root, split='train2014', features=True, convert=True):
    """Write a 6-image COCO copy (instances + captions + JPEGs)."""
    import json

    from cmda_mm.datasets.class_coco import COCO_CATEGORIES
    cat_id = dict(zip(COCO_CATEGORIES, COCO_CATEGORY_IDS))
    images, anns, caps = [], [], []
    for image_id, objects, n_caps in reversed(COCO_FIXTURE):  # unsorted
        name = (f'COCO_{split}_{image_id:012d}.jpg' if '2014' in split else
                f'{image_id:012d}.jpg')
        images.append(dict(id=image_id, file_name=name, height=40, width=48))
        _jpeg(root / split / name, image_id)
        for cat, crowd in objects:
            anns.append(dict(id=len(anns) + 100, image_id=image_id,
                             category_id=cat_id[cat], iscrowd=crowd,
                             bbox=[0, 0, 10, 10], area=100))
        for j in reversed(range(n_caps)):
            caps.append(dict(id=image_id * 10 + j, image_id=image_id,
                             caption=f' A photo {j} of image {image_id}. '))
    cats = [dict(id=i, name=n, supercategory='x')
            for n, i in zip(COCO_CATEGORIES, COCO_CATEGORY_IDS)]
    os.makedirs(root / 'annotations', exist_ok=True)
    (root / 'annotations' / f'instances_{split}.json').write_text(json.dumps(
        dict(images=images, annotations=anns, categories=cats)))
    (root / 'annotations' / f'captions_{split}.json').write_text(json.dumps(
        dict(images=images, annotations=caps)))
    if convert:
        from cmda_mm.datasets.class_coco import load_coco_records
        from cmda_mm.datasets.paired_records import records_to_paired_json
        names, records, _ = load_coco_records(
            str(root / 'annotations' / f'instances_{split}.json'),
            str(root / 'annotations' / f'captions_{split}.json'), split)
        (root / 'annotations' / f'class_coco_{split}.json').write_text(
            json.dumps(records_to_paired_json(records, names)))
    if features:
        _features(root, COCO_TEXT.replace('train2014', split), 21,
                  COCO_IMAGE.replace('train2014', split), 4)
    return root


def make_oxford(root, labels=OXFORD_LABELS, captions=10, features=True):
    """Write an Oxford-102 copy (jpg/, imagelabels.mat, setid.mat, text_c10)."""
    n = len(labels)
    for k, label in enumerate(labels, 1):
        _jpeg(root / 'jpg' / f'image_{k:05d}.jpg', k)
        folder = root / 'text_c10' / f'class_{label:05d}'
        os.makedirs(folder, exist_ok=True)
        (folder / f'image_{k:05d}.txt').write_text(''.join(
            f'flower {k} caption {j} with petals\n' for j in range(captions)))
    savemat(str(root / 'imagelabels.mat'),
            {'labels': np.asarray(labels, dtype=np.float64)[None]})
    ids = np.arange(1, n + 1)
    savemat(str(root / 'setid.mat'), {
        'trnid': ids[0::3][None].astype(np.float64),
        'valid': ids[1::3][None].astype(np.float64),
        'tstid': ids[2::3][None].astype(np.float64)})
    if features:
        _features(root, OXFORD_TEXT, n * captions, OXFORD_IMAGE, n)
    return root


def make_karpathy(root, images=None, with_images=False):
    """A tiny ``dataset_coco.json`` in Karpathy's format (images are not needed to parse it)."""
    images = images or [
        dict(filepath='train2014', filename='COCO_train2014_1.jpg', cocoid=1, split='train',
             sentences=[dict(raw='A dog runs.', tokens=['a', 'dog', 'runs']),
                        dict(raw='A brown dog running on grass', tokens=['a', 'brown', 'dog'])]),
        dict(filepath='val2014', filename='COCO_val2014_2.jpg', cocoid=2, split='restval',
             sentences=[dict(raw='Two cats sleep.', tokens=['two', 'cats', 'sleep'])]),
        dict(filepath='val2014', filename='COCO_val2014_3.jpg', cocoid=3, split='test',
             sentences=[dict(raw='A red bus.', tokens=['a', 'red', 'bus']),
                        dict(raw='A bus on a street', tokens=['a', 'bus'])]),
    ]
    root.mkdir(parents=True, exist_ok=True)
    (root / 'dataset_coco.json').write_text(json.dumps(dict(dataset='coco', images=images)))
    if with_images:
        import cv2
        for i, image in enumerate(images):
            (root / image['filepath']).mkdir(exist_ok=True)
            cv2.imwrite(str(root / image['filepath'] / image['filename']),
                        np.full((24, 24, 3), 40 * i, dtype=np.uint8))
    return root


# A tiny LeNet5 classifier over `data_root` (class folders of grayscale PNGs) with mmpretrain components only:
# the model, dataloaders, evaluators and optimiser of a config; the file that uses it adds the rest.
TINY_LENET = """
model = dict(
    type='ImageClassifier',
    data_preprocessor=dict(num_classes=2, mean=[127.5], std=[127.5]),
    backbone=dict(type='LeNet5', num_classes=2),
    head=dict(type='ClsHead', loss=dict(type='CrossEntropyLoss')))
pipeline = [dict(type='LoadImageFromFile', color_type='grayscale'), dict(type='PackInputs')]
train_dataloader = dict(
    batch_size=4, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='CustomDataset', data_root=data_root, pipeline=pipeline))
val_dataloader = dict(
    batch_size=4, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='CustomDataset', data_root=data_root, pipeline=pipeline))
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_dataloader = val_dataloader
test_evaluator = val_evaluator
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9))
"""
