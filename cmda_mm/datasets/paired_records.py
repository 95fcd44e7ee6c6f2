"""The converted annotation of the grouped datasets: write, list images, tabulate.

A converted annotation is a :class:`PairedDataset` json with one entry per
(image, caption) pair, images in their canonical order (see
:mod:`cmda_mm.datasets.grouped_pairs`), each entry carrying ``image_row`` (the
image's position) and optionally ``image_id``, ``caption_id`` and
``official_split``. Row ``r`` of a precomputed text feature file is entry
``r``; the image list gives the "one row per image" order.
"""
import logging
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.logging import MMLogger

__all__ = ['records_to_paired_json', 'write_image_list', 'write_converted', 'group_table']


def records_to_paired_json(records: List[dict], classes: Sequence[str],
                           metainfo: Optional[dict] = None) -> dict:
    """The records as a :class:`PairedDataset` annotation (one entry per caption).

    Args:
        records (List[dict]): Records in their canonical order.
        classes (Sequence[str]): All group names (``gt_label`` indexes them).
        metainfo (dict, optional): Extra meta information to store.

    Returns:
        dict: ``{'metainfo': ..., 'data_list': [...]}``; load it with
        ``PairedDataset(..., extra_keys=('image_id', 'image_row',
        'caption_id', 'official_split'))`` or with the dataset class.
    """
    data_list = []
    for row, rec in enumerate(records):
        base = dict(img_path=rec['img_path'], gt_label=int(rec['label']),
                    image_id=rec['image_id'], image_row=row)
        if rec.get('official_split') is not None:
            base['official_split'] = rec['official_split']
        ids = rec.get('caption_ids') or [None] * len(rec['captions'])
        for caption, cap_id in zip(rec['captions'], ids):
            entry = dict(base, caption=caption)
            if cap_id is not None:
                entry['caption_id'] = cap_id
            data_list.append(entry)
        if not rec['captions']:
            data_list.append(base)
    meta = dict(metainfo or {}, classes=list(classes),
                num_images=len(records))
    return dict(metainfo=meta, data_list=data_list)


def write_image_list(records: List[dict], data_root: str, path: str) -> str:
    """Write one image path per line, in record (``image_row``) order.

    Paths are relative to the list's folder, the convention of
    ``tools/extract_features.py --images LIST``, so its rows are the
    "one row per image" layout of ``image_features``.

    Args:
        records (List[dict]): Records in their canonical order.
        data_root (str): Root the records' ``img_path`` are relative to.
        path (str): The list file to write.

    Returns:
        str: ``path``.
    """
    folder = osp.dirname(osp.abspath(path))
    with open(path, 'w', encoding='utf-8') as f:
        for rec in records:
            f.write(osp.relpath(osp.join(osp.abspath(data_root),
                                         rec['img_path']), folder) + '\n')
    return path


def _report(msg: str) -> None:
    """Print a converter's message (its command-line output, unchanged) and, inside a run (the current MMLogger
    is a runner's, not MMEngine's default ``mmengine`` one), also write it into that run's log file.

    Not ``print_log(logger='current')`` alone: outside a run that prefixes the tools' output with MMEngine's
    log format, and after a run in the same process it would go to that finished run's console stream.
    """
    print(msg)
    logger = MMLogger.get_current_instance()
    if logger.instance_name == 'mmengine':
        return
    record = logger.makeRecord(logger.name, logging.INFO, __file__, 0, msg, None, None)
    for handler in logger.handlers:
        if isinstance(handler, logging.FileHandler) and record.levelno >= handler.level:
            handler.handle(record)


def write_converted(records: List[dict], classes: Sequence[str], metainfo: dict, data_root: str,
                    out: str) -> str:
    """Write a converter's outputs: the paired annotation ``out`` and the image list next to it.

    Args:
        records (List[dict]): Records in their canonical order.
        classes (Sequence[str]): All group names.
        metainfo (dict): Extra meta information (e.g. ``dataset``).
        data_root (str): Root the records' ``img_path`` are relative to.
        out (str): The annotation json; the list is ``<out without .json>_images.txt``.

    Returns:
        str: ``out``.
    """
    import mmengine
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    mmengine.dump(records_to_paired_json(records, classes, metainfo), out)
    _report(f'Wrote {sum(max(1, len(r["captions"])) for r in records)} entries to {out}')
    images = write_image_list(records, data_root, osp.splitext(out)[0] + '_images.txt')
    _report(f'Wrote the {len(records)} image paths (row order of per-image features) to {images}')
    return out


def group_table(classes: Sequence[str], columns: Dict[str, Sequence],
                sort_by: Optional[str] = None) -> str:
    """A text table with one row per group, largest first, and a total row.

    Args:
        classes (Sequence[str]): Group names (row ``g`` is label ``g``).
        columns (Dict[str, Sequence]): Column name -> one value per group;
            numeric columns are summed in the total row.
        sort_by (str, optional): Numeric column to sort by (descending, ties
            by label). Defaults to the first column.

    Returns:
        str: The table.
    """
    names = list(columns)
    key = np.asarray(columns[sort_by or names[0]], dtype=np.float64)
    order = np.lexsort((np.arange(len(classes)), -key))
    numeric = [np.issubdtype(np.asarray(columns[n]).dtype, np.number)
               for n in names]
    cells = [[str(columns[n][g]) for n in names] for g in order]
    totals = [str(int(np.sum(columns[n]))) if num else ''
              for n, num in zip(names, numeric)]
    width = max([5] + [len(c) for c in classes])
    widths = [max([len(n)] + [len(r[i]) for r in cells] + [len(totals[i])])
              for i, n in enumerate(names)]
    align = ['>' if num else '<' for num in numeric]
    head = f"{'rank':>4}  {'label':>5}  {'group':<{width}}  " + '  '.join(
        f'{n:{a}{w}}' for n, a, w in zip(names, align, widths))
    lines = [head, '-' * len(head)]
    for rank, (g, row) in enumerate(zip(order, cells), 1):
        lines.append(f'{rank:>4}  {g:>5}  {classes[g]:<{width}}  ' + '  '.join(
            f'{c:{a}{w}}' for c, a, w in zip(row, align, widths)))
    lines.append('-' * len(head))
    lines.append(f"{'':>4}  {'':>5}  {'total':<{width}}  " + '  '.join(
        f'{c:{a}{w}}' for c, a, w in zip(totals, align, widths)).rstrip())
    return '\n'.join(lines)
