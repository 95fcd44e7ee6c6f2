"""tools/dataset_converters/prepare_fashion.py: outputs, idempotent rerun, refusals."""
import json
import os
import os.path as osp

import pytest
from fixtures_fashion import load_prepare_fashion, make_fashion_release

ARGS = ['--min-class-size', '3', '--fractions', '0.5', '0.25', '0.25', '--sizes', '32', '--no-features']


def test_prepare_writes_split_images_and_json_and_reruns_in_place(tmp_path):
    tool = load_prepare_fashion()
    release = make_fashion_release(str(tmp_path / 'release'))
    out = str(tmp_path / 'out')
    tool.main([release, '--out', out] + ARGS)
    split = json.load(open(osp.join(out, 'fashion_split.json')))
    assert split['seed'] == 0 and len(split['split']) == 32  # the 1-image type is not a class
    assert sorted(os.listdir(osp.join(out, 'images_32')))[0].endswith('.png')
    assert len(os.listdir(osp.join(out, 'images_32'))) == 32
    assert osp.islink(osp.join(out, 'images'))
    masked = json.load(open(osp.join(out, 'fashion_paired_masked.json')))
    assert masked['metainfo']['masked_class_words'] is True
    mtime = os.path.getmtime(osp.join(out, 'fashion_split.json'))
    tool.main([release, '--out', out] + ARGS)  # a rerun keeps every output
    assert os.path.getmtime(osp.join(out, 'fashion_split.json')) == mtime
    assert sorted(os.listdir(release)) == ['fashion_9k.tsv', 'images']  # the release is never written to


def test_prepare_refuses_a_split_of_other_settings_and_the_release_as_output(tmp_path):
    tool = load_prepare_fashion()
    release = make_fashion_release(str(tmp_path / 'release'))
    out = str(tmp_path / 'out')
    tool.main([release, '--out', out] + ARGS)
    with pytest.raises(ValueError, match='written with seed 0'):
        tool.main([release, '--out', out, '--seed', '1'] + ARGS)
    with pytest.raises(ValueError, match='--out must differ'):
        tool.main([release, '--out', release] + ARGS)
