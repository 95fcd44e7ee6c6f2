"""AnomalySplitDataset: hand-counted splits on the tiny Wikipedia copy and a PairedDataset, roles, errors."""
import json

import numpy as np
import pytest

import cmda_mm  # noqa: F401
from cmda_mm.datasets import AnomalySplitDataset
from cmda_mm.registry import DATASETS
from fixtures import make_wiki

# make_wiki: train classes (1, 1, 2, 2, 3, 3) -> art, art, biology, biology, geography, geography
#            test classes  (1, 2, 3, 3)       -> art, biology, geography, geography
NORMAL = ['art', 'biology']


@pytest.fixture(scope='module')
def wiki_root(tmp_path_factory):
    return str(make_wiki(tmp_path_factory.mktemp('data') / 'wikipedia'))


def wiki(root, **kwargs):
    return dict(type='WikipediaDataset', data_root=root, split='train', student='sift', teacher='minilm',
                **kwargs)


def split(root, mode='train', normal=NORMAL, **kwargs):
    return DATASETS.build(dict(type='AnomalySplitDataset', dataset=wiki(root), eval_dataset=dict(split='test'),
                               normal_classes=normal, mode=mode, **kwargs))


def test_train_mode_keeps_normal_training_pairs_only(wiki_root):
    ds = split(wiki_root)
    assert len(ds) == 4 and ds.role_counts == dict(bank=4, normal=0, anomaly=0)
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    assert [i['gt_label'] for i in infos] == [0, 0, 1, 1]
    assert [i['text_id'] for i in infos] == ['tr000', 'tr001', 'tr002', 'tr003']
    assert all(i['role'] == 'bank' and not i['is_anomaly'] for i in infos)
    assert ds.metainfo['normal_classes'] == tuple(NORMAL)


def test_eval_mode_hand_counted(wiki_root):
    ds = split(wiki_root, mode='eval')
    # bank: 4 normal train pairs; normal: test art + biology (2); anomaly: test geography (2)
    assert ds.role_counts == dict(bank=4, normal=2, anomaly=2) and len(ds) == 8
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    assert [i['text_id'] for i in infos] == ['tr000', 'tr001', 'tr002', 'tr003',
                                             'te000', 'te001', 'te002', 'te003']
    assert [i['role'] for i in infos] == ['bank'] * 4 + ['normal'] * 2 + ['anomaly'] * 2
    assert [i['is_anomaly'] for i in infos] == [False] * 6 + [True] * 2
    # features come from the right split (fixture rows encode their index: train i -> i, test i -> i)
    assert infos[5]['img'][0] == 1.0 and infos[1]['img'][0] == 1.0
    bank_labels = [i['gt_label'] for i in infos if i['role'] == 'bank']
    assert set(bank_labels) <= {0, 1}  # the bank never holds an anomaly


def test_anomaly_source_all_adds_abnormal_training_pairs(wiki_root):
    ds = split(wiki_root, mode='eval', normal=['geography'], anomaly_source='all')
    # bank: 2 geography train; normal: 2 geography test; anomalies: 2 test + 4 train (art, biology)
    assert ds.role_counts == dict(bank=2, normal=2, anomaly=6)
    train_anomalies = [ds.get_data_info(i)['text_id'] for i in range(len(ds))
                       if ds.get_data_info(i)['role'] == 'anomaly' and ds.get_data_info(i)['text_id'][:2] == 'tr']
    assert train_anomalies == ['tr000', 'tr001', 'tr002', 'tr003']


@pytest.mark.parametrize('keys', [('role', 'is_anomaly'), ()])
def test_role_reaches_the_packed_data_sample(wiki_root, keys):
    ds = split(wiki_root, mode='eval', pipeline=[dict(type='PackPairedInputs', algorithm_keys=keys)])
    first, last = ds[0], ds[len(ds) - 1]
    assert first['data_samples'].role == 'bank' and first['data_samples'].is_anomaly is False
    assert last['data_samples'].role == 'anomaly' and last['data_samples'].is_anomaly is True
    assert set(first['inputs']) == {'student', 'teacher'}


def test_wrapped_pipeline_is_used_when_none_given(wiki_root):
    ds = DATASETS.build(dict(type='AnomalySplitDataset', mode='train', normal_classes=NORMAL,
                             dataset=wiki(wiki_root, pipeline=[dict(type='PackPairedInputs')])))
    assert ds[0]['data_samples'].role == 'bank'


@pytest.mark.parametrize('kwargs, message', [
    (dict(normal=['art', 'dragons']), 'unknown'),
    (dict(normal=[]), 'non-empty'),
    (dict(normal=['royalty']), 'no sample of the normal classes'),
    (dict(normal=['art', 'biology', 'geography'], mode='eval'), "no 'anomaly' sample"),
    (dict(mode='test'), 'mode must be one of'),
    (dict(anomaly_source='train'), 'anomaly_source must be one of'),
])
def test_errors(wiki_root, kwargs, message):
    with pytest.raises(ValueError, match=message):
        split(wiki_root, **kwargs)


def test_eval_needs_eval_dataset(wiki_root):
    with pytest.raises(ValueError, match='needs eval_dataset'):
        AnomalySplitDataset(dataset=wiki(wiki_root), normal_classes=NORMAL, mode='eval')


def test_over_paired_dataset(tmp_path):
    classes = ['cat', 'dog', 'fox']
    np.save(tmp_path / 'student.npy', np.arange(30, dtype=np.float32).reshape(10, 3))
    for name, labels in (('train.json', [0, 0, 1, 2, 2, 0]), ('test.json', [0, 1, 2, 2])):
        data = [dict(student_index=i, gt_label=y) for i, y in enumerate(labels)]
        (tmp_path / name).write_text(json.dumps(dict(metainfo=dict(classes=classes), data_list=data)))
    base = dict(type='PairedDataset', data_root=str(tmp_path), ann_file='train.json',
                student_features='student.npy', serialize_data=False)
    ds = DATASETS.build(dict(type='AnomalySplitDataset', dataset=base, eval_dataset=dict(ann_file='test.json'),
                             normal_classes=['cat'], mode='eval'))
    assert ds.role_counts == dict(bank=3, normal=1, anomaly=3)
    train = AnomalySplitDataset(dataset=base, normal_classes=['fox', 'dog'])
    assert len(train) == 3 and train.get_data_info(0)['gt_label'] == 1
