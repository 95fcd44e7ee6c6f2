"""FashionProductsDataset: table, classes, split, class-word masking, anomaly splits."""
import json
import os.path as osp

import numpy as np
import pytest
from fixtures_fashion import FASHION_TYPES, make_fashion
from mmengine.registry import init_default_scope

from cmda_mm.datasets import FashionProductsDataset
from cmda_mm.datasets.fashion import class_word_masker, fashion_classes, fashion_split, read_fashion_table


@pytest.fixture(scope='module')
def root(tmp_path_factory):
    return make_fashion(str(tmp_path_factory.mktemp('fashion')))


def build(root, **kwargs):
    init_default_scope('cmda_mm')
    kwargs.setdefault('min_class_size', 3)
    return FashionProductsDataset(data_root=root, serialize_data=False, **kwargs)


def test_classes_largest_first_and_min_size():
    rows = [{'articleType': t} for t in ['B'] * 3 + ['A'] * 3 + ['C'] * 5 + ['D']]
    assert fashion_classes(rows, 3) == ['C', 'A', 'B']  # by size, ties by name; D (1 image) dropped
    with pytest.raises(ValueError, match='no articleType has >= 9'):
        fashion_classes(rows, 9)


def test_split_is_stratified_seeded_and_complete():
    labels = np.repeat(np.arange(3), [100, 50, 10])
    a = fashion_split(labels, (0.7, 0.1, 0.2), seed=0)
    assert (a == fashion_split(labels, (0.7, 0.1, 0.2), seed=0)).all()
    assert (a != fashion_split(labels, (0.7, 0.1, 0.2), seed=1)).any()
    for c, n in enumerate([100, 50, 10]):
        side = a[labels == c]
        assert (side == 'test').sum() == round(0.2 * n)
        assert (side == 'val').sum() == round(0.1 * n)
        assert (side == 'train').sum() == n - round(0.2 * n) - round(0.1 * n)
    with pytest.raises(ValueError, match='summing to 1'):
        fashion_split(labels, (0.7, 0.2, 0.2))


def test_masker_removes_class_words_and_their_forms():
    mask = class_word_masker(['Tshirts', 'Casual Shoes', 'Watches', 'Flip Flops'])
    assert mask('Puma Men Black T-Shirts') == 'Puma Men Black'
    assert mask('Nike Men White Casual Shoe') == 'Nike Men White'
    assert mask('Titan Women Gold Watch') == 'Titan Women Gold'
    assert mask('ADIDAS Men Adi Black Flip Flops') == 'ADIDAS Men Adi Black'
    assert mask('Roadster Men Blue Jeans') == 'Roadster Men Blue Jeans'  # not a class word here
    assert class_word_masker(['Shirts'], replacement='[MASK]')('Check Shirt') == 'Check [MASK]'


def test_table_errors_name_the_file_and_line(tmp_path):
    path = tmp_path / 'fashion_9k.tsv'
    path.write_text('id\tarticleType\n1\tShirts\n')
    with pytest.raises(ValueError, match=r'fashion_9k.tsv: header lacks columns \[.productDisplayName.\]'):
        read_fashion_table(str(path))
    path.write_text('id\tarticleType\tproductDisplayName\n1\tShirts\tA Shirt\n2\t\tB Shirt\n')
    with pytest.raises(ValueError, match=r'line 3 has empty \[.articleType.\]'):
        read_fashion_table(str(path))
    path.write_text('id\tarticleType\tproductDisplayName\n')
    with pytest.raises(ValueError, match='no data rows'):
        read_fashion_table(str(path))


def test_splits_are_disjoint_and_cover_every_image(root):
    ids = {s: {d['image_id'] for d in build(root, split=s).data_list} for s in ('train', 'val', 'test')}
    assert not (ids['train'] & ids['val'] or ids['train'] & ids['test'] or ids['val'] & ids['test'])
    assert len(ids['train'] | ids['val'] | ids['test']) == 8 * 4
    ds = build(root, split='train', img_dir='images_32', img_ext='.png',
               text_features='features/fashion_minilm_l6_v2_caption_fp16.npy')
    assert list(ds.metainfo['classes']) == sorted(FASHION_TYPES)  # equal sizes: ties by name
    info = ds.data_list[0]
    assert info['img_path'].endswith('.png') and osp.isfile(info['img_path'])
    rows = json.load(open(osp.join(root, 'fashion_paired.json')))['data_list']
    by_id = {r['image_id']: r for r in rows}
    for info in ds.data_list:  # feature row = the image's entry in the paired json (extract_features' order)
        assert by_id[info['image_id']]['caption'] == info['caption']
        assert rows[info['text_index']]['image_id'] == info['image_id']


def test_masked_captions(root):
    plain = build(root, split='train').data_list
    masked = build(root, split='train', mask_class_words=True).data_list
    assert any(p['caption'] != m['caption'] for p, m in zip(plain, masked))
    for m in masked:
        assert not any(w.lower() in m['caption'].lower() for w in ('shirt', 'shoe', 'watch', 'kurta'))


def test_anomaly_val_split_holds_abnormal_val_images(root):
    kw = dict(task='anomaly', normal_groups=6)
    train = build(root, split='train', **kw).data_list
    val = build(root, split='val', **kw).data_list
    test = build(root, split='test', **kw).data_list
    assert {d['anomaly_label'] for d in train} == {0}
    assert {d['anomaly_label'] for d in val} == {0, 1} and {d['anomaly_label'] for d in test} == {0, 1}
    assert not {d['image_id'] for d in val} & {d['image_id'] for d in test}


def test_missing_split_file_says_how_to_make_it(root, tmp_path):
    with pytest.raises(FileNotFoundError, match='prepare_fashion.py'):
        build(root, split_file='nope.json')


def test_train_fraction_is_a_seeded_stratified_subset_of_train_only(root):
    full = build(root, split='train').data_list
    half = build(root, split='train', train_fraction=0.5, train_fraction_seed=3).data_list
    ids = {d['image_id'] for d in half}
    assert ids < {d['image_id'] for d in full} and len(ids) < len(full)
    assert {d['gt_label'] for d in half} == {d['gt_label'] for d in full}  # every class keeps an image
    again = build(root, split='train', train_fraction=0.5, train_fraction_seed=3).data_list
    assert ids == {d['image_id'] for d in again}
    others = [{d['image_id'] for d in build(root, split='train', train_fraction=0.5,
                                            train_fraction_seed=s).data_list} for s in range(4)]
    assert any(o != ids for o in others)
    test = build(root, split='test').data_list
    assert build(root, split='test', train_fraction=0.5).data_list == test  # evaluation splits untouched
    with pytest.raises(ValueError, match='train_fraction must be in'):
        build(root, split='train', train_fraction=1.0)
