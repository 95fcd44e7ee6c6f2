import re
import time

import numpy as np
import pytest

from cmda_mm.datasets import ShapesDemoDataset
from cmda_mm.datasets.shapes_demo import COLOURS, SHAPES, render


def make(**kwargs):
    kwargs.setdefault('serialize_data', False)  # skip mmengine's gc.collect
    return ShapesDemoDataset(**kwargs)


def arrays(ds):
    return np.stack([ds.get_data_info(i)['img'] for i in range(len(ds))])


def test_deterministic_and_splits_disjoint():
    a, b = make(num_samples=60), make(num_samples=60)
    np.testing.assert_array_equal(arrays(a), arrays(b))
    assert [a.get_data_info(i)['caption'] for i in range(60)] == \
        [b.get_data_info(i)['caption'] for i in range(60)]
    test = make(split='test', num_samples=60)
    assert not np.array_equal(arrays(a), arrays(test))
    assert not np.array_equal(arrays(a), arrays(make(num_samples=60, seed=1)))


def test_defaults_metainfo_and_balance():
    train = ShapesDemoDataset()  # default, serialised
    assert len(train) == 1200 and len(make(split='test')) == 400
    assert train.CLASSES == SHAPES
    counts = np.bincount(train.get_gt_labels(), minlength=len(SHAPES))
    assert counts.min() >= 0.8 * counts.max()
    info = train.get_data_info(3)
    assert info['img'].shape == (32, 32, 3) and info['img'].dtype == np.uint8
    assert info['sample_idx'] == 3
    assert 'samples of 32x32x3' in train.describe()
    assert 'Seed' in repr(train)


def test_captions_carry_class_and_attributes():
    ds = make(num_samples=200)
    sizes, positions = set(), set()
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        cap, attrs = info['caption'], info['attributes']
        assert re.search(rf'\b{SHAPES[info["gt_label"]]}\b', cap)
        assert attrs['colour'] in COLOURS and attrs['colour'] in cap
        assert attrs['size'] in cap and attrs['position'] in cap
        assert ' a orange' not in cap
        sizes.add(attrs['size'])
        positions.add(attrs['position'])
    assert sizes == {'small', 'large'} and len(positions) == 9


def test_image_draws_shape_in_its_colour():
    ds = make(num_samples=30, noise=0.0, clutter=0)
    palette = np.array(list(COLOURS.values()), dtype=float)
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        img = info['img'].astype(float)
        shape = (img != img[0, 0]).any(-1)  # background is flat here
        assert shape.sum() >= 6
        mean = img[shape].mean(0)
        nearest = np.abs(palette - mean).sum(1).argmin()
        assert list(COLOURS)[nearest] == info['attributes']['colour']


def test_fast_and_validates():
    start = time.perf_counter()
    out = render(np.random.default_rng(0), 1600, 32, 0.12, 4)
    assert time.perf_counter() - start < 2.0
    assert out['img'].shape == (1600, 32, 32, 3)
    assert len(make(num_samples=10, image_size=20)) == 10
    with pytest.raises(ValueError, match='split'):
        ShapesDemoDataset(split='val')
