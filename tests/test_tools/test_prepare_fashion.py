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


def test_an_interrupted_write_leaves_no_half_file_and_the_rerun_finishes(tmp_path, monkeypatch):
    """Issue 22: the split / paired jsons were written in place and skipped on rerun when present, so a kill
    mid-write failed every rerun with a JSONDecodeError naming no file."""
    import mmengine
    tool = load_prepare_fashion()
    release = make_fashion_release(str(tmp_path / 'release'))
    out = tmp_path / 'out'
    real_dump = mmengine.dump

    def dump_half_then_die(obj, file, *args, **kwargs):
        if 'fashion_paired_masked' in str(file):
            text = json.dumps(obj)
            open(file, 'w').write(text[:len(text) // 2])
            raise KeyboardInterrupt('killed while writing')
        return real_dump(obj, file, *args, **kwargs)

    monkeypatch.setattr(mmengine, 'dump', dump_half_then_die)
    with pytest.raises(KeyboardInterrupt):
        tool.main([release, '--out', str(out)] + ARGS)
    assert not (out / 'fashion_paired_masked.json').exists()  # the half file has a temporary name
    assert json.load(open(out / 'fashion_paired.json'))['metainfo']['masked_class_words'] is False
    monkeypatch.setattr(mmengine, 'dump', real_dump)
    tool.main([release, '--out', str(out)] + ARGS)
    assert json.load(open(out / 'fashion_paired_masked.json'))['metainfo']['masked_class_words'] is True


def test_cut_short_outputs_of_an_older_run_are_redone_or_named(tmp_path):
    tool = load_prepare_fashion()
    release = make_fashion_release(str(tmp_path / 'release'))
    out = tmp_path / 'out'
    tool.main([release, '--out', str(out)] + ARGS)
    whole = {name: (out / name).read_text() for name in ('fashion_paired.json', 'fashion_9k.tsv')}
    for name, text in whole.items():
        (out / name).write_text(text[:len(text) // 3])  # what an in-place write killed midway left
    tool.main([release, '--out', str(out)] + ARGS)  # both are derived: written again
    assert {name: (out / name).read_text() for name in whole} == whole
    split = (out / 'fashion_split.json').read_text()
    (out / 'fashion_split.json').write_text(split[:len(split) // 2])
    with pytest.raises(ValueError, match=r'fashion_split.json is not valid JSON .*delete it'):
        tool.main([release, '--out', str(out)] + ARGS)
