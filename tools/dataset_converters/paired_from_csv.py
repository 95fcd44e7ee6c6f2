"""Your own (image, caption, label) data -> PairedDataset annotation json (one file, or train / val / test).

From a CSV (a header row names the columns; one row per (image, caption) pair, an image may repeat)::

    python tools/dataset_converters/paired_from_csv.py --csv pairs.csv --out data/mine/train.json
    # pairs.csv: image,caption,label / photos/a.jpg,"a red car",car / photos/a.jpg,"a car on a road",car ...

or from a folder of class folders, each image with an optional ``<stem>.txt`` of captions (one per line)::

    python tools/dataset_converters/paired_from_csv.py --folder data/mine/images --out data/mine/train.json
    # data/mine/images/car/a.jpg + data/mine/images/car/a.txt ...

``--split 0.7 0.1 0.2 --seed 0`` writes ``train.json``, ``val.json`` and ``test.json`` into the folder ``--out``
instead: a seeded split of the *images*, stratified by class (every caption of an image stays on its side;
``cmda_mm.datasets.grouping.stratified_holdout`` draws test, then val from the rest). Tab-separated files: a
``.tsv`` / ``.tab`` file is read with tabs, or pass ``--delimiter '\\t'`` (also ``tab``). An id column
(``--image-col id``) becomes a path with ``--image-template 'images/{}.jpg'``.

Image paths are written relative to ``--root`` (default: the folder of the output json), so
``PairedDataset(data_root=<root>, ann_file=...)`` finds them. Class order: the dataset's own category list when
you have one (``--classes-file categories.txt``, one name per line, or ``--classes a,b,c``), else the label names
sorted case-insensitively (numerically when all are integers); with ``--split`` every split gets the same list.
Train with a ``PairedDataset`` config and a text featuriser on ``caption`` (``HashedBagOfWords``,
``TokenizeCaption``) or with precomputed features:

* ``--teacher-index`` gives entry r ``teacher_index = r``: the rows of ``tools/extract_features.py --ann-file
  OUT`` (one caption feature row per entry);
* ``--student-index`` replaces ``img_path`` by ``student_index``, the row of the image in
  ``<out>_images.txt`` (written next to the json, each image once, first-seen order), the rows of
  ``tools/extract_features.py --images <out>_images.txt``.

A CSV without data rows (or folders without images), a missing image, an unknown label or an image listed
under two labels when splitting is an error naming the file and line; nothing is written then.
"""
import argparse
import csv
import os
import os.path as osp
import sys
from typing import Dict, List, Optional, Sequence, Tuple

import mmengine
import numpy as np

IMAGE_EXTS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')
SPLITS = ('train', 'val', 'test')
# spellings of a tab: --delimiter '\t' arrives from a shell as backslash + t
TAB_NAMES = ('\\t', '\t', 'tab')

Row = Tuple[str, Optional[str], str, str]  # (absolute image path, caption or None, label, where: "file:line")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='(image, caption, label) CSV or class folders -> paired json '
                                     '(or a seeded, stratified train / val / test split of it)')
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument('--csv', help='CSV (or tab-separated) file with a header row')
    src.add_argument('--folder', help='folder of class folders of images (+ <stem>.txt captions)')
    parser.add_argument('--out', required=True,
                        help='output json; with --split the folder that gets train.json, val.json, test.json')
    parser.add_argument('--root', help='image paths are written relative to this (default: the json folder)')
    parser.add_argument('--image-col', default='image', help='CSV column of the image path (or id)')
    parser.add_argument('--caption-col', default='caption', help="CSV column of the caption ('' for none)")
    parser.add_argument('--label-col', default='label', help='CSV column of the label')
    parser.add_argument('--image-template', help="path of an image from its column value, e.g. 'images/{}.jpg' "
                        'for an id column (relative to the CSV folder unless absolute)')
    parser.add_argument('--delimiter', help="field delimiter: one character, or '\\t' / tab (default: a tab for "
                        '.tsv / .tab files, else a comma)')
    parser.add_argument('--split', nargs=3, type=float, metavar=('TRAIN', 'VAL', 'TEST'),
                        help='fractions of every class\'s images (e.g. 0.7 0.1 0.2): write <out>/train.json, '
                        'val.json and test.json')
    parser.add_argument('--seed', type=int, default=0, help='seed of --split (default 0)')
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


def resolve_delimiter(delimiter: Optional[str], path: str) -> str:
    """The one-character delimiter: ``'\\t'`` / ``tab`` mean a tab; none given: a tab for .tsv/.tab, else a comma.

    Raises:
        ValueError: ``delimiter`` is not one character (nor a tab spelling).
    """
    if delimiter is None:
        return '\t' if osp.splitext(path)[1].lower() in ('.tsv', '.tab') else ','
    if delimiter.lower() in TAB_NAMES:
        return '\t'
    if len(delimiter) != 1:
        raise ValueError(f"--delimiter must be one character (or '\\t' / tab for a tab), got {delimiter!r}.")
    return delimiter


def image_path(value: str, template: Optional[str]) -> str:
    """The image path of a CSV value: the value itself, or ``template`` with the value at its ``{}``."""
    if not template:
        return value
    return template.replace('{}', value)


def check_template(template: Optional[str]) -> None:
    """``--image-template`` must hold one ``{}`` (where the column's value goes)."""
    if template is not None and template.count('{}') != 1:
        raise ValueError(f"--image-template {template!r} must contain '{{}}' once, where the image column's value "
                         "goes (e.g. 'images/{}.jpg').")


def read_csv(path: str, image_col: str, caption_col: str, label_col: str, delimiter: Optional[str] = None,
             image_template: Optional[str] = None) -> List[Row]:
    """``(absolute image path, caption or None, label, "file:line")`` per CSV row.

    Image paths (after ``image_template``) are relative to the CSV's folder unless absolute.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'CSV file not found: {path}')
    check_template(image_template)
    delimiter = resolve_delimiter(delimiter, path)
    rows = []
    with open(path, newline='', encoding='utf-8') as f:
        reader = csv.DictReader(f, delimiter=delimiter)
        wanted = [c for c in (image_col, caption_col, label_col) if c]
        missing = [c for c in wanted if c not in (reader.fieldnames or [])]
        if missing:
            hint = ''
            if reader.fieldnames and len(reader.fieldnames) == 1:
                hint = f' (one column only: is the delimiter {delimiter!r} right? --delimiter sets it)'
            raise ValueError(f'{path}: columns {missing} not in the header {reader.fieldnames}{hint}.')
        for lineno, row in enumerate(reader, 2):
            image, label = (row[image_col] or '').strip(), (row[label_col] or '').strip()
            caption = (row[caption_col] or '').strip() if caption_col else ''
            if not image or not label:
                raise ValueError(f'{path}:{lineno}: empty {image_col if not image else label_col}.')
            image = image_path(image, image_template)
            full = image if osp.isabs(image) else osp.join(osp.dirname(osp.abspath(path)), image)
            rows.append((full, caption or None, label, f'{path}:{lineno}'))
    if not rows:
        raise ValueError(f'{path}: no data rows below the header; nothing to convert.')
    return rows


def read_folder(root: str) -> List[Row]:
    """``(image path, caption or None, class folder, image path)``: one row per caption line (or per image)."""
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
            rows.extend((image, c, label, image) for c in captions or [None])
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
    for image, caption, label, *_ in rows:
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


def check_fractions(fractions: Sequence[float]) -> Tuple[float, float, float]:
    """``--split TRAIN VAL TEST``: non-negative, summing to 1, with a training share."""
    train, val, test = (float(f) for f in fractions)
    if min(train, val, test) < 0 or abs(train + val + test - 1.0) > 1e-6 or train <= 0:
        raise ValueError(f'--split {train:g} {val:g} {test:g}: three fractions >= 0 that sum to 1, with a training '
                         'share > 0 (e.g. 0.7 0.1 0.2).')
    return train, val, test


def split_rows(rows: List[Row], fractions: Sequence[float], seed: int,
               classes=None) -> Dict[str, List[Row]]:
    """A seeded train / val / test split of the images, stratified by label; an image's rows stay together.

    Test is drawn first (``stratified_holdout(labels, test, seed)``), then val from what is left
    (``stratified_holdout(..., val / (train + val), seed + 1)``): per class ``round(n * fraction)`` images, at
    least one when the class has two or more (see ``stratified_holdout``).

    Raises:
        ValueError: An image is listed under two labels (it cannot sit on one side for both).
    """
    from cmda_mm.datasets.grouping import stratified_holdout
    train_f, val_f, test_f = check_fractions(fractions)
    names = class_names([r[2] for r in rows], classes)
    label_of, first_seen = {}, {}
    for image, _, label, where in rows:
        if label_of.setdefault(image, label) != label:
            raise ValueError(f'{where}: image {image} is labelled {label!r} here and {label_of[image]!r} at '
                             f'{first_seen[image]}; a split keeps an image on one side, so it needs one label.')
        first_seen.setdefault(image, where)
    images = list(label_of)
    groups = np.array([names.index(label_of[i]) for i in images], dtype=np.int64)
    test = stratified_holdout(groups, test_f, seed) if test_f > 0 else np.zeros(len(images), bool)
    rest = np.flatnonzero(~test)
    val = np.zeros(len(images), bool)
    if val_f > 0:
        val[rest[stratified_holdout(groups[rest], val_f / (train_f + val_f), seed + 1)]] = True
    side = {img: ('test' if t else 'val' if v else 'train') for img, t, v in zip(images, test, val)}
    return {name: [r for r in rows if side[r[0]] == name] for name in SPLITS}


def write_ann(ann: Dict, images: List[str], out: str, student_index: bool) -> None:
    """The json (and, with ``student_index``, ``<out>_images.txt``: the image rows in order)."""
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    mmengine.dump(ann, out)
    if student_index:
        listing = osp.splitext(out)[0] + '_images.txt'
        with open(listing, 'w', encoding='utf-8') as f:
            f.writelines(osp.relpath(p, osp.dirname(osp.abspath(listing))) + '\n' for p in images)
        print(f'Wrote the image list (row order of student_index) to {listing}')


def main(argv=None):
    args = parse_args(argv)
    if args.image_template and not args.csv:
        raise ValueError('--image-template applies to --csv input (class folders hold the image files).')
    rows = read_csv(args.csv, args.image_col, args.caption_col, args.label_col, args.delimiter,
                    args.image_template) if args.csv else read_folder(args.folder)
    classes = read_classes_file(args.classes_file) if args.classes_file else args.classes
    kwargs = dict(check=not args.no_check, teacher_index=args.teacher_index, student_index=args.student_index)
    if not args.split:
        root = osp.abspath(args.root or osp.dirname(osp.abspath(args.out)))
        ann, images = to_paired(rows, root, classes, **kwargs)
        write_ann(ann, images, args.out, args.student_index)
        print(f"Wrote {len(ann['data_list'])} pairs ({len(images)} images, {len(ann['metainfo']['classes'])} "
              f'classes) to {args.out}; image paths relative to {root}')
        return args.out
    if args.out.endswith('.json'):
        raise ValueError(f'--out {args.out}: with --split, --out is the folder that gets train.json, val.json and '
                         'test.json.')
    names = class_names([r[2] for r in rows], classes)  # every split keeps the full class list
    parts = split_rows(rows, args.split, args.seed, names)
    root = osp.abspath(args.root or args.out)
    anns = {name: to_paired(part, root, names, **kwargs) for name, part in parts.items()}  # all checked first
    outs = []
    for name, (ann, images) in anns.items():
        out = osp.join(args.out, f'{name}.json')
        write_ann(ann, images, out, args.student_index)
        outs.append(out)
        print(f"Wrote {len(ann['data_list'])} pairs ({len(images)} images) to {out}")
    print(f'{len(names)} classes; split {" / ".join(f"{f:g}" for f in args.split)} of every class\'s images, '
          f'seed {args.seed}; image paths relative to {root}')
    for label in names:
        counts = {n: len({r[0] for r in part if r[2] == label}) for n, part in parts.items()}
        empty = [n for n, f in zip(SPLITS, args.split) if f > 0 and counts[n] == 0]
        if empty:
            print(f'warning: class {label!r} has {sum(counts.values())} image(s): none in {" / ".join(empty)}')
    return outs


if __name__ == '__main__':
    try:
        main()
    except (ValueError, FileNotFoundError) as err:
        sys.exit(f'paired_from_csv.py: error: {err}')
