"""The Wikipedia release (Rasiwasia et al. 2010) -> feature matrices (.npy) + PairedDataset jsons.

Writes ``features/wikipedia_<name>.npy`` (float32; rows = the train list, then the test list) for each feature
of ``raw_features.mat`` (sift: image SIFT-128 BoW, lda: text LDA-10, tfidf: text TF-IDF) and, when present,
the MiniLM sentence features, plus ``wikipedia_paired_train.json`` / ``wikipedia_paired_test.json`` whose
entries point at row r of every matrix (``student_index = teacher_index = r``)::

    python tools/dataset_converters/wikipedia_to_paired.py data/wikipedia [--with-text]

then any student/teacher pair is a PairedDataset::

    dict(type='PairedDataset', data_root='data/wikipedia', ann_file='wikipedia_paired_train.json',
         student_features='features/wikipedia_sift.npy', teacher_features='features/wikipedia_minilm.npy',
         extra_keys=('text_id', 'image_id'),
         pipeline=[dict(type='LoadFeatureRow', prefix='student', out_key='img'),
                   dict(type='LoadFeatureRow', prefix='teacher', out_key='teacher'),
                   dict(type='PackPairedInputs')])
"""
import argparse
import os
import os.path as osp
import sys

import mmengine
import numpy as np

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))  # run from a checkout

from cmda_mm.datasets.wikipedia import (LIST_FILES, MAT_FEATURES, MAT_FILE, WikipediaDataset,  # noqa: E402
                                        read_article, read_pair_list)

MINILM = 'features/wikipedia_minilm_l6_v2_text_fp16.npy'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Wikipedia -> feature .npy files + paired jsons')
    parser.add_argument('data_root', help='root of the Wikipedia release')
    parser.add_argument('--out-dir', help='output folder (default: data_root)')
    parser.add_argument('--with-text', action='store_true', help='store each article as the caption')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    root, out_dir = args.data_root, args.out_dir or args.data_root
    pairs = {s: read_pair_list(osp.join(root, f)) for s, f in LIST_FILES.items()}
    counts = {s: len(p) for s, p in pairs.items()}
    cat_file = osp.join(root, 'categories.list')
    classes = WikipediaDataset.METAINFO['classes']
    if osp.isfile(cat_file):
        with open(cat_file, encoding='utf-8') as f:
            classes = tuple(line.strip() for line in f if line.strip())
    from scipy.io import loadmat
    from scipy.sparse import issparse
    mat_path = osp.join(root, MAT_FILE)
    if not osp.isfile(mat_path):
        raise FileNotFoundError(f'Wikipedia feature file not found: {mat_path}')
    mat = loadmat(mat_path)
    os.makedirs(osp.join(out_dir, 'features'), exist_ok=True)
    written = []
    for name, prefix in MAT_FEATURES.items():
        parts = []
        for split, suffix in (('train', 'tr'), ('test', 'te')):
            var = f'{prefix}_{suffix}'
            if var not in mat:
                raise KeyError(f'{mat_path}: variable {var!r} ({name}) not found.')
            matrix = mat[var].toarray() if issparse(mat[var]) else np.asarray(mat[var])
            if matrix.shape[0] != counts[split]:
                raise ValueError(f'{mat_path}: {var} has {matrix.shape[0]} rows, {LIST_FILES[split]} has '
                                 f'{counts[split]} lines.')
            parts.append(matrix)
        written.append((name, np.concatenate(parts).astype(np.float32)))
    if osp.isfile(osp.join(root, MINILM)):
        minilm = np.load(osp.join(root, MINILM))
        if minilm.shape[0] != counts['train'] + counts['test']:
            raise ValueError(f'{osp.join(root, MINILM)}: {minilm.shape[0]} rows, expected '
                             f"{counts['train'] + counts['test']}.")
        written.append(('minilm', minilm.astype(np.float32)))
    for name, matrix in written:
        np.save(osp.join(out_dir, 'features', f'wikipedia_{name}.npy'), matrix)
        print(f'features/wikipedia_{name}.npy: {matrix.shape[0]} x {matrix.shape[1]}')
    row = 0
    for split in ('train', 'test'):
        data_list = []
        for text_id, image_id, cls in pairs[split]:
            entry = dict(student_index=row, teacher_index=row, gt_label=cls - 1, text_id=text_id,
                         image_id=image_id)
            if args.with_text:
                entry['caption'] = read_article(osp.join(root, 'texts', f'{text_id}.xml'))
            data_list.append(entry)
            row += 1
        out = osp.join(out_dir, f'wikipedia_paired_{split}.json')
        mmengine.dump(dict(metainfo=dict(classes=list(classes), features=[n for n, _ in written]),
                           data_list=data_list), out)
        print(f'{out}: {len(data_list)} pairs')


if __name__ == '__main__':
    main()
