"""Your own (image, caption, label) data -> a PairedDataset annotation json.

From a CSV (a header row names the columns; one row per (image, caption) pair, an image may repeat)::

    python tools/dataset_converters/paired_from_csv.py --csv pairs.csv --out data/mine/train.json
    # pairs.csv: image,caption,label / photos/a.jpg,"a red car",car / photos/a.jpg,"a car on a road",car ...

or from a folder of class folders, each image with an optional ``<stem>.txt`` of captions (one per line)::

    python tools/dataset_converters/paired_from_csv.py --folder data/mine/images --out data/mine/train.json
    # data/mine/images/car/a.jpg + data/mine/images/car/a.txt ...

Image paths are written relative to ``--root`` (default: the folder of the output json), so
``PairedDataset(data_root=<root>, ann_file=...)`` finds them. Class order: the dataset's own category list when
you have one (``--classes-file categories.txt``, one name per line, or ``--classes a,b,c``), else the label names
sorted case-insensitively (numerically when all are integers). Train with a ``PairedDataset`` config and a
text featuriser on ``caption`` (``HashedBagOfWords``, ``TokenizeCaption``) or with precomputed features:

* ``--teacher-index`` gives entry r ``teacher_index = r``: the rows of ``tools/extract_features.py --ann-file
  OUT`` (one caption feature row per entry);
* ``--student-index`` replaces ``img_path`` by ``student_index``, the row of the image in
  ``<out>_images.txt`` (written next to the json, each image once, first-seen order), the rows of
  ``tools/extract_features.py --images <out>_images.txt``.

A CSV without data rows (or folders without images) is an error; nothing is written.
"""
import argparse
import csv
import os
import os.path as osp
import sys
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
    order = parser.add_mutually_exclusive_group()
    order.add_argument('--classes', help='comma-separated class names, in label order')
    order.add_argument('--classes-file', help="the dataset's own category list: one class name per line, in "
                       'label order')
    parser.add_argument('--teacher-index', action='store_true',
                        help='give entry r teacher_index=r (row r of extract_features.py --ann-file OUT)')
    parser.add_argument('--student-index', action='store_true',
                        help='student_index (row of the image in <out>_images.txt) instead of img_path')
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
    if not rows:
        raise ValueError(f'{path}: no data rows below the header; nothing to convert.')
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


def read_classes_file(path: str) -> List[str]:
    """The names of a category list file (one per line), in label order."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'classes file not found: {path}')
    with open(path, encoding='utf-8') as f:
        names = [line.strip() for line in f if line.strip()]
    if not names:
        raise ValueError(f'{path}: no class names (one per line expected).')
    return names


def class_names(labels: Sequence[str], classes=None) -> List[str]:
    """The class order: the given list (``--classes a,b`` or a list of names) or the label names sorted
    case-insensitively (numeric order when all are integers)."""
    if classes:
        names = classes if isinstance(classes, (list, tuple)) else [c.strip() for c in classes.split(',')]
        names = [c for c in names if c]
        if len(set(names)) != len(names):
            raise ValueError(f'the class list {names} repeats a name.')
        unknown = sorted(set(labels) - set(names))
        if unknown:
            raise ValueError(f'labels {unknown} are not in the class list {names}.')
        return list(names)
    uniq = set(labels)
    numeric = all(u.lstrip('-').isdigit() for u in uniq)
    return sorted(uniq, key=int if numeric else lambda u: (u.casefold(), u))


def to_paired(rows, root: str, classes=None, check: bool = True, teacher_index: bool = False,
              student_index: bool = False) -> Tuple[Dict, List[str]]:
    """The PairedDataset annotation of ``rows`` and the image list (each image once, first-seen order)."""
    names = class_names([r[2] for r in rows], classes)
    index = {n: i for i, n in enumerate(names)}
    data_list, images = [], {}
    for image, caption, label in rows:
        if check and not osp.isfile(image):
            raise FileNotFoundError(f'image {image} (label {label!r}) does not exist.')
        row = images.setdefault(image, len(images))
        entry = dict(student_index=row) if student_index else dict(img_path=osp.relpath(image, root))
        entry['gt_label'] = index[label]
        if caption is not None:
            entry['caption'] = caption
        if teacher_index:
            entry['teacher_index'] = len(data_list)
        data_list.append(entry)
    return dict(metainfo=dict(classes=names), data_list=data_list), list(images)


def main(argv=None):
    args = parse_args(argv)
    rows = read_csv(args.csv, args.image_col, args.caption_col, args.label_col, args.delimiter) \
        if args.csv else read_folder(args.folder)
    root = osp.abspath(args.root or osp.dirname(osp.abspath(args.out)))
    classes = read_classes_file(args.classes_file) if args.classes_file else args.classes
    ann, images = to_paired(rows, root, classes, check=not args.no_check, teacher_index=args.teacher_index,
                            student_index=args.student_index)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    mmengine.dump(ann, args.out)
    print(f"Wrote {len(ann['data_list'])} pairs ({len(images)} images, {len(ann['metainfo']['classes'])} classes) "
          f'to {args.out}; image paths relative to {root}')
    if args.student_index:
        listing = osp.splitext(args.out)[0] + '_images.txt'
        with open(listing, 'w', encoding='utf-8') as f:
            f.writelines(osp.relpath(p, osp.dirname(osp.abspath(listing))) + '\n' for p in images)
        print(f'Wrote the image list (row order of student_index) to {listing}')
    return args.out


if __name__ == '__main__':
    try:
        main()
    except (ValueError, FileNotFoundError) as err:
        sys.exit(f'paired_from_csv.py: error: {err}')
