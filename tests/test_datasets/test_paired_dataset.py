import json
import os.path as osp

import cv2
import numpy as np
import pytest
import torch

from cmda_mm.datasets import PairedDataset
from cmda_mm.registry import DATASETS

CLASSES = ['cat', 'dog', 'bird']


@pytest.fixture
def root(tmp_path):
    (tmp_path / 'images').mkdir()
    for name, value in (('a.png', 10), ('b.png', 200)):
        img = np.full((6, 8, 3), value, dtype=np.uint8)
        cv2.imwrite(str(tmp_path / 'images' / name), img)
    np.save(tmp_path / 'student.npy',
            np.arange(40, dtype=np.float32).reshape(8, 5))
    np.save(tmp_path / 'teacher.npy',
            np.arange(56, dtype=np.float16).reshape(8, 7))
    return tmp_path


def write_ann(root, data_list, classes=CLASSES, name='ann.json'):
    with open(root / name, 'w') as f:
        json.dump(dict(metainfo=dict(classes=classes), data_list=data_list),
                  f)
    return name


def build(root, data_list, **kwargs):
    kwargs.setdefault('serialize_data', False)  # skip mmengine's gc.collect
    return PairedDataset(
        ann_file=write_ann(root, data_list), data_root=str(root),
        data_prefix=dict(img_path='images'), student_features='student.npy',
        teacher_features='teacher.npy', **kwargs)


MIXED = [
    dict(img_path='a.png', caption='a grey cat', gt_label=0),
    dict(student_index=5, teacher_index=5, gt_label=1),
    dict(img_path='b.png', teacher_index=3, gt_label=2),
]


def test_loads_images_and_feature_rows(root):
    ds = DATASETS.build(dict(
        type='PairedDataset', ann_file=write_ann(root, MIXED),
        data_root=str(root), data_prefix=dict(img_path='images'),
        student_features='student.npy', teacher_features='teacher.npy'))
    assert len(ds) == 3 and ds.CLASSES == tuple(CLASSES)
    first, second, third = (ds.get_data_info(i) for i in range(3))
    assert first['img_path'] == osp.join(str(root), 'images', 'a.png')
    assert first['caption'] == 'a grey cat'
    assert 'student_feat_file' not in first
    assert second['student_feat_file'] == osp.join(str(root), 'student.npy')
    assert second['teacher_feat_file'] == osp.join(str(root), 'teacher.npy')
    assert third['teacher_index'] == 3 and 'student_index' not in third
    assert ds.get_gt_labels().tolist() == [0, 1, 2]
    assert ds.get_cat_ids(2) == [2]


def test_feature_pipeline_packs(root):
    pipeline = [
        dict(type='LoadFeatureRow', prefix='student', out_key='img'),
        dict(type='LoadFeatureRow', prefix='teacher', out_key='teacher'),
        dict(type='PackPairedInputs'),
    ]
    ds = build(root, [MIXED[1]], pipeline=pipeline)
    out = ds[0]
    assert torch.equal(out['inputs']['student'], torch.arange(25., 30.))
    assert torch.equal(out['inputs']['teacher'], torch.arange(35., 42.))
    assert out['data_samples'].gt_label.tolist() == [1]


def test_image_pipeline_packs(root):
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='HashedBagOfWords', dim=16),
        dict(type='PackPairedInputs'),
    ]
    out = build(root, [MIXED[0]], pipeline=pipeline)[0]
    assert out['inputs']['student'].shape == (3, 6, 8)
    assert int(out['inputs']['student'][0, 0, 0]) == 10
    assert out['inputs']['teacher'].shape == (16, )
    assert out['data_samples'].img_path.endswith('a.png')


@pytest.mark.parametrize('sample,error,pattern', [
    (dict(caption='no student', gt_label=0), ValueError,
     r'ann\.json: sample 1 has no student input'),
    (dict(img_path='a.png', gt_label=3), ValueError,
     r'ann\.json: sample 1: gt_label=3 is outside \[0, 3\)'),
    (dict(img_path='a.png', gt_label=-1), ValueError, r'sample 1: gt_label'),
    (dict(student_index=8, gt_label=0), IndexError,
     r'sample 1: student_index=8 is out of range of .*student\.npy \(8 rows'),
    (dict(img_path='a.png', teacher_index=-1), IndexError,
     r'sample 1: teacher_index=-1'),
    (dict(img_path='missing.png', gt_label=0), FileNotFoundError,
     r'ann\.json: sample 1: image file .*missing\.png does not exist'),
    (dict(img_path='a.png', label=0), ValueError,
     r"sample 1 has unknown keys \['label'\]"),
    (dict(img_path='a.png', student_index=0), ValueError,
     r'sample 1 has both img_path and student_index'),
    (dict(student_index='0'), TypeError, r'sample 1: student_index must'),
])
def test_rejects_bad_samples(root, sample, error, pattern):
    with pytest.raises(error, match=pattern):
        build(root, [MIXED[0], sample])


def test_check_files_false_and_extra_keys(root):
    ds = build(root, [dict(img_path='missing.png', gt_label=0, id='x')],
               check_files=False, extra_keys=('id', ))
    assert ds.get_data_info(0)['id'] == 'x'


def test_missing_feature_files_and_ann(root):
    with pytest.raises(ValueError, match='sample 0 has teacher_index but '
                       'teacher_features was not given'):
        PairedDataset(ann_file=write_ann(root, [MIXED[1]]),
                      data_root=str(root), student_features='student.npy')
    with pytest.raises(FileNotFoundError, match='sample 0: student_features '
                       'file .*nope.npy does not exist'):
        PairedDataset(ann_file=write_ann(root, [MIXED[1]]),
                      data_root=str(root), student_features='nope.npy',
                      teacher_features='teacher.npy')
    with pytest.raises(FileNotFoundError, match='absent.json'):
        PairedDataset(ann_file='absent.json', data_root=str(root))
    with pytest.raises(KeyError, match='sample 0 has no gt_label'):
        build(root, [dict(img_path='a.png')]).get_gt_labels()


def test_serialized_and_lazy(root):
    ds = build(root, MIXED, serialize_data=True, lazy_init=True)
    assert not ds._fully_initialized
    assert len(ds) == 3
    assert ds.get_data_info(1)['student_index'] == 5
    assert 'Student features' in repr(ds)


# ---- bad inputs: every error names the file and the sample or row (issue 13) --------------------------
def test_empty_data_list_and_invalid_json(root):
    with pytest.raises(ValueError, match=r'ann.json: data_list is empty'):  # was AttributeError: _where
        build(root, [])
    (root / 'bad.json').write_text('{"data_list": [{"img_path": "a.png",}]}')
    with pytest.raises(ValueError, match=r'bad.json is not valid JSON: .*line 1'):
        PairedDataset(ann_file='bad.json', data_root=str(root), serialize_data=False)
    (root / 'zero.json').write_text('')
    with pytest.raises(ValueError, match=r'zero.json is empty'):
        PairedDataset(ann_file='zero.json', data_root=str(root), serialize_data=False)


def test_labels_on_every_sample_or_none(root):
    with pytest.raises(ValueError, match=r'ann.json: sample 1 has no gt_label .* sample 0 has one'):
        build(root, [dict(img_path='a.png', gt_label=0), dict(img_path='b.png')])
    assert len(build(root, [dict(img_path='a.png'), dict(img_path='b.png')])) == 2  # unlabelled: fine
    scored = build(root, [dict(img_path='a.png', gt_label=0), dict(img_path='b.png', gt_score=[0, 1, 0])])
    assert len(scored) == 2


def test_label_checked_against_num_classes_without_classes(root):
    with open(root / 'noclasses.json', 'w') as f:
        json.dump(dict(data_list=[dict(img_path='a.png', gt_label=0), dict(img_path='b.png', gt_label=3)]), f)
    kwargs = dict(ann_file='noclasses.json', data_root=str(root), data_prefix=dict(img_path='images'),
                  serialize_data=False)
    with pytest.raises(ValueError, match=r'noclasses.json: sample 1: gt_label=3 is outside \[0, 3\) '
                       r'\(3 num_classes\)'):
        PairedDataset(num_classes=3, **kwargs)
    assert len(PairedDataset(num_classes=4, **kwargs)) == 2
    with pytest.raises(ValueError, match='num_classes must be an int'):
        PairedDataset(num_classes=0, **kwargs)


def test_zero_byte_image(root):
    (root / 'images' / 'empty.png').write_bytes(b'')
    with pytest.raises(ValueError, match=r'sample 1: image file .*empty.png is empty \(0 bytes\)'):
        build(root, [dict(img_path='a.png', gt_label=0), dict(img_path='empty.png', gt_label=1)])


@pytest.mark.parametrize('bad', [np.nan, np.inf, -np.inf])
def test_non_finite_features_name_the_file_and_row(root, bad):
    matrix = np.arange(40, dtype=np.float32).reshape(8, 5)
    matrix[6, 2] = bad
    np.save(root / 'nan.npy', matrix)
    with pytest.raises(ValueError, match=rf'nan.npy: row 6 holds {bad} \(column 2\)'):
        PairedDataset(ann_file=write_ann(root, [dict(student_index=0, gt_label=0)]), data_root=str(root),
                      student_features='nan.npy', serialize_data=False)


def test_feature_file_that_is_not_a_npy_matrix(root):
    (root / 'text.npy').write_text('0.1 0.2 0.3\n0.4 0.5 0.6\n')
    good = np.arange(400, dtype=np.float32).reshape(80, 5)
    np.save(root / 'full.npy', good)
    (root / 'truncated.npy').write_bytes((root / 'full.npy').read_bytes()[:700])
    (root / 'empty.npy').write_bytes(b'')
    for name, pattern in (('text.npy', r'is not a .npy file \(no NumPy header'),
                          ('truncated.npy', 'not a readable .npy'), ('empty.npy', r'is empty \(0 bytes\)')):
        with pytest.raises(ValueError, match=rf'{name}.*{pattern}'):
            PairedDataset(ann_file=write_ann(root, [dict(student_index=0, gt_label=0)]), data_root=str(root),
                          student_features=name, serialize_data=False)
