"""A tiny fashion-products release and its prepared folder (tools/dataset_converters/prepare_fashion.py)."""
import os
import os.path as osp

import numpy as np

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
FASHION_TYPES = ['Tshirts', 'Shirts', 'Casual Shoes', 'Tops', 'Kurtas', 'Sports Shoes', 'Watches', 'Handbags']
FASHION_HEADER = ('id\tgender\tmasterCategory\tsubCategory\tarticleType\tbaseColour\tseason\tyear\tusage\t'
                  'productDisplayName\n')
FEATURES = {'fashion_minilm_l6_v2_caption_fp16.npy': 384, 'fashion_minilm_l6_v2_caption_masked_fp16.npy': 384,
            'fashion_efficientnet_lite0_image_fp16.npy': 1280}


def load_prepare_fashion():
    """The module of ``tools/dataset_converters/prepare_fashion.py`` (tools are scripts, not a package)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'prepare_fashion', osp.join(REPO, 'tools', 'dataset_converters', 'prepare_fashion.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_fashion_release(root, per_class=4, extra_rare=True):
    """``fashion_9k.tsv`` + ``images/<id>.jpg`` (random 40x48 JPEGs): 8 types of ``per_class`` images, plus one
    type with a single image (filtered out by ``min_class_size``)."""
    import cv2
    os.makedirs(osp.join(root, 'images'), exist_ok=True)
    rows, i = [], 1000
    types = [(t, per_class) for t in FASHION_TYPES] + ([('Clutches', 1)] if extra_rare else [])
    for k, (article, n) in enumerate(types):
        for j in range(n):
            i += 1
            caption = f'Brand{j} Men Solid Blue {article[:-1] if j % 2 else article}'
            rows.append(f'{i}\tMen\tApparel\tTopwear\t{article}\tBlue\tSummer\t2012\tCasual\t{caption}\n')
            rng = np.random.default_rng(i)
            cv2.imwrite(osp.join(root, 'images', f'{i}.jpg'), rng.integers(0, 255, (40, 48, 3), dtype=np.uint8))
    with open(osp.join(root, 'fashion_9k.tsv'), 'w') as f:
        f.write(FASHION_HEADER + ''.join(rows))
    return str(root)


def make_fashion(root, per_class=4):
    """The prepared folder the configs read (``data/fashion_cmda``): split 50/25/25, 32 px copies, features whose
    row r is r (text) / 1000 + r (image). Classes need ``min_class_size=3``."""
    main = load_prepare_fashion().main
    release = make_fashion_release(osp.join(root, 'release'), per_class)
    out = osp.join(root, 'prepared')
    main([release, '--out', out, '--min-class-size', '3', '--fractions', '0.5', '0.25', '0.25', '--sizes', '32',
          '--no-features'])
    n = len(FASHION_TYPES) * per_class
    for name, dim in FEATURES.items():
        base = 1000 if dim == 1280 else 0
        np.save(osp.join(out, 'features', name),
                np.repeat(np.arange(base, base + n, dtype=np.float16)[:, None], dim, 1))
    return out
