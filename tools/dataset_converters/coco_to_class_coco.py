"""Build the Class-COCO annotation once from the official COCO jsons (paper §IV-A).

Keeps the images whose instance annotations all belong to one category, groups them by that category and
writes one entry per (image, caption) pair in the PairedDataset format (``ClassCOCODataset(ann_file=...)``
reads it in a second instead of parsing the ~330 MB instances json), then prints the groups and counts.

    python tools/dataset_converters/coco_to_class_coco.py data/coco --split train2014
    # -> data/coco/annotations/class_coco_train2014.json

Row ``r`` of any precomputed feature file for Class-COCO is entry ``r`` of this json, e.g.
    python tools/extract_features.py --ann-file data/coco/annotations/class_coco_train2014.json \
        --out data/coco/features/class_coco_train2014_minilm_l6_v2_text_fp16.npy --dtype float16
"""
import argparse
import os.path as osp
import sys

import numpy as np

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))  # run from a checkout

from cmda_mm.datasets.class_coco import PRESETS, load_coco_records  # noqa: E402
from cmda_mm.datasets.paired_records import group_table, write_converted  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='COCO instances + captions -> Class-COCO paired json')
    parser.add_argument('data_root', help='COCO root with annotations/ and the image folders')
    parser.add_argument('--split', default='train2014', help='official split, e.g. train2014 (paper), train2017')
    parser.add_argument('--img-dir', help='image folder relative to data_root (default: the split name)')
    parser.add_argument('--out', help='output json (default: <data_root>/annotations/class_coco_<split>.json)')
    parser.add_argument('--captions-per-image', type=int, default=5,
                        help='the "samples" column counts this many captions per image (paper: 5)')
    return parser.parse_args(argv)


def paper_role(name: str) -> str:
    """Where a group sits in the authors' splits (released code)."""
    if name in PRESETS['paper-vision-normal']:
        return 'normal (vision, language)'
    if name in PRESETS['paper-language-normal']:
        return 'normal (language)'
    return 'abnormal' if name in PRESETS['paper-abnormal'] else '-'


def main(argv=None):
    args = parse_args(argv)
    instances = osp.join(args.data_root, 'annotations', f'instances_{args.split}.json')
    captions = osp.join(args.data_root, 'annotations', f'captions_{args.split}.json')
    out = args.out or osp.join(args.data_root, 'annotations', f'class_coco_{args.split}.json')
    print(f'Reading {instances} and {captions} ...', flush=True)
    names, records, stats = load_coco_records(
        instances, captions, args.split if args.img_dir is None else args.img_dir, progress=True)
    labels = np.array([r['label'] for r in records], dtype=np.int64)
    n_caps = np.array([len(r['captions']) for r in records], dtype=np.int64)
    images = np.bincount(labels, minlength=len(names))
    caps = np.bincount(labels, weights=n_caps, minlength=len(names)).astype(np.int64)
    samples = np.bincount(labels, weights=np.minimum(n_caps, args.captions_per_image),
                          minlength=len(names)).astype(np.int64)
    print(f"\n{stats['images']} images: {stats['without_objects']} without objects, {stats['multi_category']} "
          f"with 2+ categories (dropped), {stats['kept']} single-category images kept in "
          f'{int((images > 0).sum())} groups.')
    print(group_table(names, {'images': images, 'captions': caps,
                              f'samples ({args.captions_per_image}/image)': samples,
                              'paper split': [paper_role(n) for n in names]},
                      sort_by=f'samples ({args.captions_per_image}/image)'))
    print('Paper (train2014, 5 captions per image): 126,055 samples in 80 groups; 6 groups > 6,000 samples '
          '(45,205); 30 groups 110,905; 50 abnormal groups 15,150.')
    return write_converted(records, names, dict(dataset='class_coco', coco_split=args.split), args.data_root, out)


if __name__ == '__main__':
    main()
