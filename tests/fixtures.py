"""Tiny data in the real layouts, written by the tests themselves (no ../shared needed)."""
import os

import numpy as np
from scipy.io import savemat

CATEGORIES = ('art', 'biology', 'geography', 'history', 'literature', 'media',
              'music', 'royalty', 'sport', 'warfare')
TRAIN_LIST = 'trainset_txt_img_cat.list'
TEST_LIST = 'testset_txt_img_cat.list'
MINILM = 'features/wikipedia_minilm_l6_v2_text_fp16.npy'


def make_wiki(root, train_classes=(1, 1, 2, 2, 3, 3), test_classes=(1, 2, 3,
                                                                     3)):
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
