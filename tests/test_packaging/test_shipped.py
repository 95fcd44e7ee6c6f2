"""``python -m cmda_mm.shipped``: a pip-only user copies shipped configs (with their ``_base_`` files) and tools into
a project of their own, where they parse exactly as in the checkout."""
import os
import os.path as osp
import subprocess
import sys

import pytest
from mmengine.config import Config

from cmda_mm import shipped

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _same_config(copy: str, original: str) -> None:
    a, b = Config.fromfile(copy).to_dict(), Config.fromfile(original).to_dict()
    assert a == b, f'{copy} parses differently from {original}'


def test_copy_brings_every_base_and_parses_as_in_the_checkout(tmp_path):
    root = shipped.shipped_root()
    name = 'configs/fashion/cmda-aligngate_resnet18w8_fashion-32px.py'
    status = shipped.copy_shipped([name], str(tmp_path))
    assert set(status) == {name, 'configs/fashion/cmda_resnet18w8_fashion-32px.py',
                           'configs/_base_/models/resnet18w8_cmda-text-teacher.py',
                           'configs/_base_/models/resnet18w8_cls.py',
                           'configs/_base_/datasets/fashion_vision32_text-teacher.py',
                           'configs/_base_/schedules/fashion_sgd_20e.py', 'configs/_base_/default_runtime.py'}
    assert set(status.values()) == {'copied'}
    _same_config(str(tmp_path / name), osp.join(root, name))
    # a config of the user's project inherits the copy by a relative path, as in a checkout
    (tmp_path / 'configs' / 'mine').mkdir()
    (tmp_path / 'configs' / 'mine' / 'cmda_mine.py').write_text(
        "_base_ = ['../fashion/cmda-aligngate_resnet18w8_fashion-32px.py']\ntrain_dataloader = dict(batch_size=8)\n")
    cfg = Config.fromfile(str(tmp_path / 'configs' / 'mine' / 'cmda_mine.py'))
    assert cfg.train_dataloader.batch_size == 8 and cfg.model.data_preprocessor.cmda.align_threshold == 0.9
    # again: nothing to do; a file changed by the user is kept unless --force
    assert set(shipped.copy_shipped([name], str(tmp_path)).values()) == {'same'}
    edited = tmp_path / 'configs' / '_base_' / 'default_runtime.py'
    edited.write_text(edited.read_text() + '\nlog_level = "DEBUG"\n')
    with pytest.raises(FileExistsError, match='default_runtime.py'):
        shipped.copy_shipped([name], str(tmp_path))
    assert 'DEBUG' in edited.read_text()
    assert shipped.copy_shipped([name], str(tmp_path), force=True)['configs/_base_/default_runtime.py'] == \
        'overwritten'


def test_a_family_folder_and_close_matches(tmp_path):
    status = shipped.copy_shipped(['configs/demo'], str(tmp_path))
    assert {'configs/demo/base_resnet_shapes.py', 'configs/demo/metafile.yml',
            'configs/_base_/models/small_resnet_cls.py'} <= set(status)
    assert 'configs/demo/cmda-nodca_resnet_shapes.py' in shipped.list_configs(['demo'])
    assert not any('/_base_/' in c for c in shipped.list_configs())
    with pytest.raises(FileNotFoundError, match=r"configs/cmda_dem.py is not shipped.*\['configs/cmda_demo.py'\]"):
        shipped.copy_shipped(['configs/cmda_dem.py'], str(tmp_path))
    with pytest.raises(FileNotFoundError, match='not shipped'):
        shipped.copy_shipped(['../setup.py'], str(tmp_path))


def test_pip_only_install_copies_from_site_packages(installed_wheel, tmp_path):
    """From an installed wheel (no checkout on the path) the tool reads cmda_mm/.mim and the copy parses."""
    env = dict(os.environ, PYTHONPATH=str(installed_wheel), OMP_NUM_THREADS='1')
    proc = subprocess.run([sys.executable, '-m', 'cmda_mm.shipped', 'copy', 'configs/cmda_demo.py', 'tools/train.py',
                           '--dest', str(tmp_path / 'project')], capture_output=True, text=True, timeout=300,
                          env=env, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f'(from {installed_wheel / "cmda_mm" / ".mim"})' in proc.stdout
    assert (tmp_path / 'project' / 'tools' / 'train.py').is_file()
    _same_config(str(tmp_path / 'project' / 'configs' / 'cmda_demo.py'), osp.join(REPO, 'configs', 'cmda_demo.py'))
