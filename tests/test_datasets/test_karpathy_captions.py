"""KarpathyCaptionDataset: splits, one sample per caption or per image, references, errors naming the sample."""
import pytest

import cmda_mm  # noqa: F401
from cmda_mm.models.captioning import build_vocab
from cmda_mm.registry import DATASETS
from fixtures import make_karpathy


def build(root, **kwargs):
    return DATASETS.build(dict(type='KarpathyCaptionDataset', data_root=str(root), ann_file='dataset_coco.json',
                               **kwargs))


def test_training_pairs_and_test_images(tmp_path):
    root = make_karpathy(tmp_path / 'coco')
    train = build(root, split=('train', 'restval'), expand_captions=True)
    assert len(train) == 3
    info = train.get_data_info(1)
    assert info['caption'] == 'A brown dog running on grass'
    assert info['gt_caption'] == ['A dog runs.', 'A brown dog running on grass']
    assert info['img_path'] == str(root / 'train2014' / 'COCO_train2014_1.jpg') and info['image_id'] == 1
    test = build(root, split='test', text_key='tokens')
    assert len(test) == 1
    assert test.get_data_info(0)['gt_caption'] == ['a red bus', 'a bus'] and test.get_data_info(0)['image_id'] == 3


def test_vocabulary_from_the_training_split(tmp_path):
    root = make_karpathy(tmp_path / 'coco')
    source = dict(type='KarpathyCaptionDataset', data_root=str(root), ann_file='dataset_coco.json',
                  split=('train', 'restval'), expand_captions=True)
    vocab = build_vocab(dict(min_freq=2, max_len=10, source=source))
    assert vocab.itos[4:] == ['a', 'dog']  # test captions ('bus', 'red') are not counted


def test_errors_name_the_file_and_sample(tmp_path):
    bad = [dict(filepath='x', filename='img_7.jpg', split='train', sentences=[dict(raw='ok'), dict(raw='  ')])]
    root = make_karpathy(tmp_path / 'bad', bad)
    with pytest.raises(ValueError, match=r'image 0 \(img_7.jpg\) sentence 1 is an empty caption'):
        build(root)
    with pytest.raises(ValueError, match='unknown Karpathy split'):
        build(root, split='training')
    with pytest.raises(FileNotFoundError, match='Karpathy caption file not found'):
        build(tmp_path / 'missing')
    root = make_karpathy(tmp_path / 'nosplit', [dict(filename='a.jpg', sentences=[])])
    with pytest.raises(ValueError, match=r"lacks \['split'\]"):
        build(root)
