"""Oxford-102 (+ Reed et al.'s text_c10 captions) -> one paired annotation json, with a table of the classes.

    python tools/dataset_converters/oxford102_to_paired.py data/oxford102
    # -> data/oxford102/oxford102_paired.json  (one entry per (image, caption), images in number order)

``Oxford102Dataset(ann_file='oxford102_paired.json')`` reads it instead of the 8,189 caption files;
``PairedDataset`` reads it too. Row ``r`` of a precomputed text feature file is entry ``r``:
    python tools/extract_features.py --ann-file data/oxford102/oxford102_paired.json \
        --out data/oxford102/features/oxford102_minilm_l6_v2_text_fp16.npy --dtype float16
"""
import argparse
import os.path as osp
import sys

import numpy as np

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))  # run from a checkout

from cmda_mm.datasets.oxford102 import load_oxford_records  # noqa: E402
from cmda_mm.datasets.paired_records import group_table, write_converted  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Oxford-102 + text_c10 -> paired annotation json')
    parser.add_argument('data_root', help='root with jpg/, imagelabels.mat, setid.mat, text_c10/')
    parser.add_argument('--out', help='output json (default: <data_root>/oxford102_paired.json)')
    parser.add_argument('--text-dir', default='text_c10', help="caption folder ('' for images only)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    out = args.out or osp.join(args.data_root, 'oxford102_paired.json')
    names, records = load_oxford_records(args.data_root, text_dir=args.text_dir or None)
    labels = np.array([r['label'] for r in records], dtype=np.int64)
    images = np.bincount(labels, minlength=len(names))
    caps = np.bincount(labels, weights=[len(r['captions']) for r in records],
                       minlength=len(names)).astype(np.int64)
    columns = {'images': images, 'captions': caps}
    for side in ('train', 'val', 'test'):
        columns[f'setid {side}'] = np.bincount(
            labels, weights=[r['official_split'] == side for r in records], minlength=len(names)).astype(np.int64)
    print(group_table(names, columns))
    ranked = np.sort(images)[::-1]
    print(f'{len(records)} images in {int((images > 0).sum())} classes. 10 largest classes: {ranked[:10].sum()} '
          f'images (paper classification: 2,303 = 1,861 train + 442 test); 30 largest: {ranked[:30].sum()}, '
          f'the other {len(names) - 30}: {ranked[30:].sum()} (paper anomaly detection: 4,018 normal / 4,171 '
          'abnormal).')
    return write_converted(records, names, dict(dataset='oxford102'), args.data_root, out)


if __name__ == '__main__':
    main()
