"""Class-COCO from a 6-image COCO copy: single-category filter, groups, captions, splits, errors, training."""
import json

import numpy as np
import pytest

from cmda_mm.datasets import ClassCOCODataset as _ClassCOCO
from cmda_mm.datasets import PairedDataset
from cmda_mm.datasets.class_coco import COCO_CATEGORIES, PRESETS
from cmda_mm.datasets.transforms import LoadFeatureRow
from fixtures import COCO_IMAGE, COCO_TEXT, make_coco

CONVERTED = 'annotations/class_coco_train2014.json'
TRAIN, ZEBRA, GIRAFFE = (COCO_CATEGORIES.index(n) for n in ('train', 'zebra', 'giraffe'))


def ClassCOCODataset(*args, **kwargs):
    kwargs.setdefault('serialize_data', False)  # skips mmengine's gc.collect()
    return _ClassCOCO(*args, **kwargs)


@pytest.fixture(scope='module')
def coco(tmp_path_factory):
    return make_coco(tmp_path_factory.mktemp('coco') / 'coco')


def infos(ds):
    return [ds.get_data_info(i) for i in range(len(ds))]


def test_single_category_images_grouped_with_all_captions(coco):
    ds = ClassCOCODataset(str(coco), split='all', groups=None, unit='image', max_captions=None)
    got = infos(ds)
    # kept: 9 (two trains), 25 (giraffe), 34 (zebra + zebra crowd), 42 (train); dropped 30 and 36 (2 categories)
    assert [i['image_id'] for i in got] == [9, 25, 34, 42]
    assert [i['group'] for i in got] == ['train', 'giraffe', 'zebra', 'train']
    assert ds.CLASSES == COCO_CATEGORIES
    assert ds.get_gt_labels().tolist() == [TRAIN, GIRAFFE, ZEBRA, TRAIN]
    assert got[0]['img_path'] == str(coco / 'train2014' / 'COCO_train2014_000000000009.jpg')
    assert got[0]['captions'] == [f'A photo {j} of image 9.' for j in range(6)]  # sorted by id, stripped
    assert [len(i['captions']) for i in got] == [6, 5, 5, 5]
    assert ds.group_counts['train'] == 2 and ds.group_counts['person'] == 0


def test_caption_unit_rows_and_max_captions(coco):
    ds = ClassCOCODataset(str(coco), split='all', groups=None, text_features=COCO_TEXT,
                          image_features=COCO_IMAGE)
    got = infos(ds)
    assert len(ds) == 20  # 4 images x 5 captions (image 9 keeps its first 5 of 6)
    rows = [i['text_index'] for i in got]
    assert rows == [0, 1, 2, 3, 4] + list(range(6, 21))  # entry rows; row 5 = image 9's 6th caption
    assert [i['image_index'] for i in got] == [0] * 5 + [1] * 5 + [2] * 5 + [3] * 5  # one row per image
    assert got[6]['caption'] == 'A photo 1 of image 25.'
    load = LoadFeatureRow(prefix='text', out_key='teacher')
    for info in (got[0], got[19]):
        assert load(dict(info))['teacher'][0] == info['text_index']
    image = LoadFeatureRow(prefix='image', out_key='teacher')(dict(got[19]))['teacher']
    assert image.shape == (1280, ) and image[0] == 1003
    assert len(ClassCOCODataset(str(coco), split='all', groups=None, max_captions=None)) == 21


def test_converted_json_gives_the_same_samples(coco):
    raw = ClassCOCODataset(str(coco), split='all', groups=None, text_features=COCO_TEXT)
    fast = ClassCOCODataset(str(coco), ann_file=CONVERTED, split='all', groups=None, text_features=COCO_TEXT)
    assert infos(raw) == infos(fast) and raw.CLASSES == fast.CLASSES
    paired = PairedDataset(str(coco / CONVERTED), data_root=str(coco), serialize_data=False,
                           extra_keys=('image_id', 'image_row', 'caption_id'))
    assert len(paired) == 21 and paired.get_data_info(6)['caption'] == 'A photo 0 of image 25.'


def test_classification_split_on_paper_groups(coco):
    train = ClassCOCODataset(str(coco), split='train', text_features=COCO_TEXT)
    test = ClassCOCODataset(str(coco), split='test', text_features=COCO_TEXT)
    assert train.CLASSES == PRESETS['paper-language-normal'] and len(train.CLASSES) == 30
    labels = {n: train.CLASSES.index(n) for n in ('train', 'zebra', 'giraffe')}
    # 20 % of the 2 'train' images -> 1 test image; single-image groups stay in train
    assert len(train) == 15 and len(test) == 5
    assert sorted(set(train.get_gt_labels())) == sorted(labels.values())
    assert set(test.get_gt_labels()) == {labels['train']}
    train_images = {i['image_id'] for i in infos(train)}
    test_images = {i['image_id'] for i in infos(test)}
    assert not train_images & test_images and train_images | test_images == {9, 25, 34, 42}
    again = ClassCOCODataset(str(coco), split='test', text_features=COCO_TEXT)
    assert [i['text_index'] for i in infos(again)] == [i['text_index'] for i in infos(test)]


def test_anomaly_split_normal_and_abnormal(coco):
    kwargs = dict(task='anomaly', normal_groups=['train'], abnormal_groups=['giraffe', 'zebra'])
    train = ClassCOCODataset(str(coco), split='train', **kwargs)
    test = ClassCOCODataset(str(coco), split='test', **kwargs)
    assert train.CLASSES == ('train', 'giraffe', 'zebra') and train.metainfo['normal_classes'] == ('train', )
    assert len(train) == 5 and {i['anomaly_label'] for i in infos(train)} == {0}
    assert sorted(i['anomaly_label'] for i in infos(test)) == [0] * 5 + [1] * 10  # all abnormal samples
    only_test = ClassCOCODataset(str(coco), split='test', abnormal_split='test', **kwargs)
    assert len(only_test) == 5  # abnormal groups have one image each: nothing held out
    # thresholds count samples (5 captions per image): train has 10 > 5, giraffe and zebra 5
    by_size = ClassCOCODataset(str(coco), split='all', task='anomaly', normal_groups=dict(min_samples=5))
    assert by_size.metainfo['normal_classes'] == ('train', )
    assert len(by_size) == 10  # no 'paper-abnormal' group in the fixture
    largest = ClassCOCODataset(str(coco), split='all', groups=2)
    assert largest.CLASSES == ('train', 'zebra')  # tie giraffe/zebra -> lower category index


def test_paper_presets_partition_the_80_groups():
    language, abnormal = set(PRESETS['paper-language-normal']), set(PRESETS['paper-abnormal'])
    assert len(language) == 30 and len(abnormal) == 50 and not language & abnormal
    assert language | abnormal == set(COCO_CATEGORIES)
    assert set(PRESETS['paper-vision-normal']) == {'train', 'bird', 'zebra', 'clock', 'airplane', 'giraffe'}
    assert set(PRESETS['paper-vision-normal']) <= language
    assert len(PRESETS['paper-vision-ad']) == 56 and len(PRESETS['paper-language-ad']) == 80


def test_coco2017_file_names(tmp_path):
    root = make_coco(tmp_path / 'coco17', split='train2017', features=False, convert=False)
    ds = ClassCOCODataset(str(root), coco_split='train2017', split='all', groups=None)
    assert ds.get_data_info(0)['img_path'] == str(root / 'train2017' / '000000000009.jpg')


@pytest.mark.parametrize('breakage,message', [
    (lambda d: d.pop('annotations'), "missing 'annotations'"),
    (lambda d: d['annotations'].append(dict(id=7, image_id=999, category_id=1)), 'image_id=999'),
    (lambda d: d['images'][0].pop('file_name'), "missing 'file_name'"),
])
def test_malformed_instances_json_names_the_problem(tmp_path, breakage, message):
    root = make_coco(tmp_path / 'bad', features=False, convert=False)
    path = root / 'annotations' / 'instances_train2014.json'
    data = json.loads(path.read_text())
    breakage(data)
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=message) as err:
        ClassCOCODataset(str(root), split='all')
    assert 'instances_train2014.json' in str(err.value)


def test_bad_arguments_and_feature_files(coco, tmp_path):
    with pytest.raises(ValueError, match='unknown preset'):
        ClassCOCODataset(str(coco), groups='paper-nothing')
    with pytest.raises(ValueError, match='unicorn'):
        ClassCOCODataset(str(coco), groups=['train', 'unicorn'])
    with pytest.raises(ValueError, match='both normal and abnormal'):
        ClassCOCODataset(str(coco), task='anomaly', normal_groups=['train'], abnormal_groups=['train'])
    bad = tmp_path / 'short.npy'
    np.save(bad, np.zeros((3, 4), dtype=np.float32))
    with pytest.raises(ValueError, match='3 rows; expected 21'):
        ClassCOCODataset(str(coco), text_features=str(bad))
    with pytest.raises(FileNotFoundError, match='coco_to_class_coco|dataset_converters'):
        ClassCOCODataset(str(coco), ann_file='annotations/missing.json')


def test_cmda_vision_config_trains_two_iterations(coco, tmp_path):
    from mmengine.config import Config
    from mmengine.runner import Runner

    from cmda_mm.utils import set_data_root
    cfg = Config.fromfile('configs/class_coco/cmda_resnet50_class-coco-vision.py')
    set_data_root(cfg, str(coco))
    cfg.merge_from_dict({  # a narrow ResNet-18 at 32 px and narrow projections: seconds on a CPU
        'model.backbone': dict(depth=18, stem_channels=16, base_channels=16), 'model.head.in_channels': 128,
        'model.student_projector': dict(in_channels=128, hidden_channels=[64]),
        'model.teacher_projector.hidden_channels': [64],
        'train_dataloader.dataset.pipeline.1.scale': 32, 'val_dataloader.dataset.pipeline.1.scale': 36,
        'val_dataloader.dataset.pipeline.2.crop_size': 32})
    for loader in ('train_dataloader', 'val_dataloader'):
        cfg[loader].update(batch_size=7, num_workers=0, persistent_workers=False)
        cfg[loader].dataset.serialize_data = False
    cfg.test_dataloader = cfg.test_evaluator = cfg.test_cfg = None
    cfg.train_cfg = dict(by_epoch=True, max_epochs=1, val_interval=1)
    cfg.update(work_dir=str(tmp_path), log_level='WARNING', param_scheduler=[])
    cfg.default_hooks.checkpoint = None
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 2  # 15 training pairs, batch 7, the last one dropped
    scalars = runner.message_hub.log_scalars
    assert 'train/loss_contrastive' in scalars and 'train/cmda_pair_weight' in scalars
    assert 'val/accuracy/top1' in scalars and runner.model.data_preprocessor.cmda.dca_ready
