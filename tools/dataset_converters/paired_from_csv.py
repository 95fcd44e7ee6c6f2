"""Your own (image, caption, label) data -> a PairedDataset annotation json.

From a CSV (a header row names the columns; one row per (image, caption) pair, an image may repeat)::

    python tools/dataset_converters/paired_from_csv.py --csv pairs.csv --out data/mine/train.json
    # pairs.csv: image,caption,label / photos/a.jpg,"a red car",car / photos/a.jpg,"a car on a road",car ...

or from a folder of class folders, each image with an optional ``<stem>.txt`` of captions (one per line)::

    python tools/dataset_converters/paired_from_csv.py --folder data/mine/images --out data/mine/train.json
    # data/mine/images/car/a.jpg + data/mine/images/car/a.txt ...

Image paths are written relative to ``--root`` (default: the folder of the output json), so
``PairedDataset(data_root=<root>, ann_file=...)`` finds them. Classes are the sorted label names (numerically
when all are integers) unless ``--classes a,b,c`` fixes the order. Train with a ``PairedDataset`` config and a
text featuriser on ``caption`` (``HashedBagOfWords``, ``TokenizeCaption``) or features from
``tools/extract_features.py --ann-file`` (row r = entry r).
"""
import argparse
import csv
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import mmengine

IMAGE_EXTS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='(image, caption, label) CSV or class folders -> paired json')
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument('--csv', help='CSV file with a header row')
    src.add_argument('--folder', help='folder of class folders of images (+ <stem>.txt captions)')
    parser.add_argument('--out', required=True, help='output json')
    parser.add_argument('--root', help='image paths are written relative to this (default: the json folder)')
    parser.add_argument('--image-col', default='image', help='CSV column of the image path')
    parser.add_argument('--caption-col', default='caption', help="CSV column of the caption ('' for none)")
    parser.add_argument('--label-col', default='label', help='CSV column of the label')
    parser.add_argument('--delimiter', default=',', help='CSV delimiter')
    parser.add_argument('--classes', help='comma-separated class names, in label order')
    parser.add_argument('--no-check', action='store_true', help='do not check that the images exist')
    return parser.parse_args(argv)


def read_csv(path: str, image_col: str, caption_col: str, label_col: str,
             delimiter: str) -> List[Tuple[str, Optional[str], str]]:
    """``(absolute image path, caption or None, label)`` per CSV row; paths relative to the CSV's folder."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'CSV file not found: {path}')
    rows = []
    with open(path, newline='', encoding='utf-8') as f:
        reader = csv.DictReader(f, delimiter=delimiter)
        wanted = [c for c in (image_col, caption_col, label_col) if c]
        missing = [c for c in wanted if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f'{path}: columns {missing} not in the header {reader.fieldnames}.')
        for lineno, row in enumerate(reader, 2):
            image, label = (row[image_col] or '').strip(), (row[label_col] or '').strip()
            caption = (row[caption_col] or '').strip() if caption_col else ''
            if not image or not label:
                raise ValueError(f'{path}:{lineno}: empty {image_col if not image else label_col}.')
            full = image if osp.isabs(image) else osp.join(osp.dirname(osp.abspath(path)), image)
            rows.append((full, caption or None, label))
    return rows


def read_folder(root: str) -> List[Tuple[str, Optional[str], str]]:
    """``(image path, caption or None, class folder)``: one row per caption line (or per image)."""
    if not osp.isdir(root):
        raise FileNotFoundError(f'image folder not found: {root}')
    rows = []
    for label in sorted(d for d in os.listdir(root) if osp.isdir(osp.join(root, d))):
        for name in sorted(os.listdir(osp.join(root, label))):
            stem, ext = osp.splitext(name)
            if ext.lower() not in IMAGE_EXTS:
                continue
            image = osp.join(root, label, name)
            text = osp.join(root, label, stem + '.txt')
            captions = []
            if osp.isfile(text):
                with open(text, encoding='utf-8') as f:
                    captions = [line.strip() for line in f if line.strip()]
            rows.extend((image, c, label) for c in captions or [None])
    if not rows:
        raise ValueError(f'{root}: no images ({", ".join(IMAGE_EXTS)}) in class folders.')
    return rows


def class_names(labels: Sequence[str], classes: Optional[str]) -> List[str]:
    """The class order: ``--classes`` or the sorted label names (numeric order for integers)."""
    if classes:
        names = [c.strip() for c in classes.split(',') if c.strip()]
        unknown = sorted(set(labels) - set(names))
        if unknown:
            raise ValueError(f'labels {unknown} are not in --classes {names}.')
        return names
    uniq = set(labels)
    numeric = all(u.lstrip('-').isdigit() for u in uniq)
    return sorted(uniq, key=int if numeric else str)


def to_paired(rows, root: str, classes: Optional[str] = None, check: bool = True) -> Dict:
    """The PairedDataset annotation of ``rows``."""
    names = class_names([r[2] for r in rows], classes)
    index = {n: i for i, n in enumerate(names)}
    data_list = []
    for image, caption, label in rows:
        if check and not osp.isfile(image):
            raise FileNotFoundError(f'image {image} (label {label!r}) does not exist.')
        entry = dict(img_path=osp.relpath(image, root), gt_label=index[label])
        if caption is not None:
            entry['caption'] = caption
        data_list.append(entry)
    return dict(metainfo=dict(classes=names), data_list=data_list)


def main(argv=None):
    args = parse_args(argv)
    rows = read_csv(args.csv, args.image_col, args.caption_col, args.label_col, args.delimiter) \
        if args.csv else read_folder(args.folder)
    root = osp.abspath(args.root or osp.dirname(osp.abspath(args.out)))
    ann = to_paired(rows, root, args.classes, check=not args.no_check)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    mmengine.dump(ann, args.out)
    n_images = len({e['img_path'] for e in ann['data_list']})
    print(f"Wrote {len(ann['data_list'])} pairs ({n_images} images, {len(ann['metainfo']['classes'])} classes) "
          f'to {args.out}; image paths relative to {root}')
    return args.out


if __name__ == '__main__':
    main()
