"""Prepare the fashion-products data for cmda-mm in one command (split, resized images, features).

    python tools/dataset_converters/prepare_fashion.py data/fashion --out data/fashion_cmda

``data/fashion`` is the release (``fashion_9k.tsv`` + ``images/<id>.jpg``; it may be read-only). Written under
``--out`` (never inside the release), each step skipped when its output exists, so a rerun costs seconds:

- ``fashion_9k.tsv`` (a copy) and ``images`` (a link to the release's image folder);
- ``fashion_split.json``: seeded train / val / test (70 / 10 / 20 % of every class), shared by every run;
- ``images_<S>/<id>.png``: copies resized to S x S (area interpolation) for CPU-sized students (``--sizes``);
- ``fashion_paired.json`` / ``fashion_paired_masked.json``: the paired annotation (one entry per image, in record
  order; the second with the class words masked) that ``tools/extract_features.py`` reads;
- ``features/fashion_minilm_l6_v2_caption_fp16.npy`` (+ ``_masked``): MiniLM sentence embeddings of the captions
  (a pretrained encoder: nothing is fitted, so no label of any split is looked at);
- ``features/fashion_efficientnet_lite0_image_fp16.npy``: ImageNet EfficientNet-Lite0 features of the images.

``FashionProductsDataset(data_root=OUT)`` then reads everything; the configs expect ``data/fashion_cmda``.

Every output is written under a temporary name and renamed, so an interrupted run leaves no half-written file
under an output's name; a rerun checks what it keeps (the table copy's size, the jsons parse) and names the file
it cannot use.
"""
import argparse
import os
import os.path as osp
import shutil
import subprocess
import sys
from collections import Counter

import numpy as np

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
sys.path.insert(0, REPO)  # the code of this checkout, not whichever one a shared venv points at

from cmda_mm.datasets.fashion import class_word_masker, fashion_classes, fashion_split, read_fashion_table  # noqa: E402
from cmda_mm.datasets.paired_records import group_table, records_to_paired_json, write_image_list  # noqa: E402

TABLE = 'fashion_9k.tsv'
FEATURES = {  # name -> (annotation json, extract_features.py arguments)
    'fashion_minilm_l6_v2_caption_fp16.npy': ('fashion_paired.json', []),
    'fashion_minilm_l6_v2_caption_masked_fp16.npy': ('fashion_paired_masked.json', []),
    'fashion_efficientnet_lite0_image_fp16.npy': ('fashion_paired.json', ['--field', 'img_path']),
}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Fashion products -> split, resized images, paired json, features')
    p.add_argument('src', help='the release: fashion_9k.tsv and images/<id>.jpg')
    p.add_argument('--out', default='data/fashion_cmda', help='output folder (default: data/fashion_cmda)')
    p.add_argument('--seed', type=int, default=0, help='split seed')
    p.add_argument('--fractions', type=float, nargs=3, default=[0.7, 0.1, 0.2], metavar=('TRAIN', 'VAL', 'TEST'))
    p.add_argument('--min-class-size', type=int, default=50, help='article types with at least this many images')
    p.add_argument('--sizes', type=int, nargs='*', default=[32, 64], help='resized copies (S x S PNG); none: skip')
    p.add_argument('--no-features', action='store_true', help='skip the feature extraction')
    return p.parse_args(argv)


def _tmp(path: str) -> str:
    """The temporary twin of an output (same folder, same extension): written first, then renamed onto ``path``."""
    stem, ext = osp.splitext(path)
    return f'{stem}.tmp{ext}'


def _dump_json(obj, path: str) -> None:
    import mmengine
    mmengine.dump(obj, _tmp(path))
    os.replace(_tmp(path), path)


def _is_json(path: str) -> bool:
    """Whether ``path`` exists and parses (a file cut short by an interrupted older run does not)."""
    import json
    try:
        with open(path) as f:
            json.load(f)
    except (OSError, ValueError):
        return False
    return True


def _copy_table(src: str, dst: str) -> None:
    """Copy the release table unless a complete copy (same size) is there."""
    if osp.isfile(dst) and osp.getsize(dst) == osp.getsize(src):
        return
    if osp.isfile(dst):
        print(f'{dst} differs in size from {src} (an interrupted copy?): copying it again')
    shutil.copyfile(src, _tmp(dst))
    os.replace(_tmp(dst), dst)


def _write_paired(records, classes, metainfo: dict, out: str, path: str) -> None:
    """The paired annotation ``path`` and its image list ``<stem>_images.txt`` (paths relative to ``out``)."""
    images = osp.splitext(path)[0] + '_images.txt'
    write_image_list(records, out, _tmp(images))  # in the same folder: its relative paths stay right
    os.replace(_tmp(images), images)
    _dump_json(records_to_paired_json(records, classes, metainfo), path)  # last: its presence marks the step done
    print(f'wrote {path} ({len(records)} images) and {images}')


def _resize_images(ids, src_dir: str, out_dir: str, size: int) -> None:
    import cv2
    from mmengine.utils import ProgressBar
    os.makedirs(out_dir, exist_ok=True)
    todo = [i for i in ids if not osp.isfile(osp.join(out_dir, f'{i}.png'))]
    if not todo:
        return
    print(f'resizing {len(todo)} images to {size}x{size} -> {out_dir}')
    bar = ProgressBar(len(todo), file=sys.stdout)  # today's stdout (mmengine binds its default at import)
    for i in todo:
        path = osp.join(src_dir, f'{i}.jpg')
        img = cv2.imread(path, cv2.IMREAD_COLOR)
        if img is None:
            raise ValueError(f'cannot read image {path} (missing, empty or not an image)')
        small = cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)
        tmp = osp.join(out_dir, f'.{i}.tmp.png')
        cv2.imwrite(tmp, small)
        os.replace(tmp, osp.join(out_dir, f'{i}.png'))  # a killed run never leaves a half-written image
        bar.update()
    print()


def main(argv=None):
    args = parse_args(argv)
    src, out = osp.abspath(args.src), osp.abspath(args.out)
    if out == src:
        raise ValueError('--out must differ from the release folder (the release is left untouched)')
    rows = read_fashion_table(osp.join(src, TABLE))
    classes = fashion_classes(rows, args.min_class_size)
    index = {c: i for i, c in enumerate(classes)}
    rows = [r for r in rows if r['articleType'] in index]
    labels = np.array([index[r['articleType']] for r in rows], dtype=np.int64)
    os.makedirs(osp.join(out, 'features'), exist_ok=True)
    _copy_table(osp.join(src, TABLE), osp.join(out, TABLE))
    if not osp.exists(osp.join(out, 'images')):
        os.symlink(osp.join(src, 'images'), osp.join(out, 'images'))

    split_path = osp.join(out, 'fashion_split.json')
    if osp.isfile(split_path):
        import mmengine
        try:
            split = mmengine.load(split_path)
        except ValueError as err:
            raise ValueError(f'{split_path} is not valid JSON ({err}; cut short by an interrupted older run?): '
                             f'delete it to write the split again (drawn from --seed: the same seed gives the same '
                             'split)') from None
        if split.get('seed') != args.seed or split.get('fractions') != list(args.fractions):
            raise ValueError(f'{split_path} was written with seed {split.get("seed")} / fractions '
                             f'{split.get("fractions")}; remove it to write a split with seed {args.seed} / '
                             f'{args.fractions} (every earlier result used the old one)')
        sides = np.array([split['split'][r['id']] for r in rows], dtype=object)
    else:
        sides = fashion_split(labels, args.fractions, args.seed)
        _dump_json(dict(seed=args.seed, fractions=list(args.fractions), min_class_size=args.min_class_size,
                        classes=classes, split={r['id']: str(s) for r, s in zip(rows, sides)}), split_path)
        print(f'wrote {split_path}')
    counts = {s: np.bincount(labels[sides == s], minlength=len(classes)) for s in ('train', 'val', 'test')}
    print(group_table(classes, counts, sort_by='train'))
    sizes = ', '.join(f'{s} {int(c.sum())}' for s, c in counts.items())
    print(f'{len(classes)} classes, {len(rows)} images: {sizes}')

    for size in args.sizes:
        _resize_images([r['id'] for r in rows], osp.join(src, 'images'), osp.join(out, f'images_{size}'), size)

    mask = class_word_masker(classes)
    for name, masked in (('fashion_paired.json', False), ('fashion_paired_masked.json', True)):
        path = osp.join(out, name)
        if _is_json(path) and osp.isfile(osp.splitext(path)[0] + '_images.txt'):
            continue
        if osp.isfile(path):
            print(f'{path} is not valid JSON (an interrupted older run?): writing it again')
        records = [dict(img_path=f"images/{r['id']}.jpg", label=index[r['articleType']], image_id=int(r['id']),
                        captions=[mask(r['productDisplayName']) if masked else r['productDisplayName'].strip()],
                        official_split=str(s)) for r, s in zip(rows, sides)]
        _write_paired(records, classes, dict(dataset='fashion', masked_class_words=masked), out, path)
    examples = [(r['productDisplayName'], mask(r['productDisplayName'])) for r in rows[:3]]
    print('masked captions, e.g.: ' + '; '.join(f'{a!r} -> {b!r}' for a, b in examples))
    empty = Counter(r['articleType'] for r in rows if not mask(r['productDisplayName']))
    if empty:
        print(f'note: {sum(empty.values())} captions are empty once masked ({dict(empty)})')

    if args.no_features:
        return
    for name, (ann, extra) in FEATURES.items():
        path = osp.join(out, 'features', name)
        if osp.isfile(path):
            print(f'{path} exists: kept')
            continue
        cmd = [sys.executable, osp.join(REPO, 'tools', 'extract_features.py'), '--ann-file', osp.join(out, ann),
               '--data-root', out, '--out', path, '--dtype', 'float16'] + extra
        print('$ ' + ' '.join(cmd), flush=True)
        subprocess.run(cmd, check=True, env=dict(os.environ, PYTHONPATH=REPO))


if __name__ == '__main__':
    main()
