"""docs/visualization.md's TensorBoard section runs as written: its config (two lines over cmda_demo.py) merges
without tensorboard installed, and its commands train with both backends when tensorboard is there."""
import importlib.util
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from mmengine.config import Config

from cmda_mm import shipped

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / 'docs' / 'visualization.md'
# configs/cmda_demo.py shortened to one epoch of two iterations
TINY = ['--cfg-options', 'train_cfg.max_epochs=1', 'train_dataloader.dataset.num_samples=128',
        'val_dataloader.dataset.num_samples=64', 'test_dataloader.dataset.num_samples=64']


def _section() -> str:
    text = DOC.read_text(encoding='utf-8')
    return text[text.index('## TensorBoard'):]


def _project(tmp_path: Path) -> Path:
    """A project folder with the shipped demo config and the document's TensorBoard config saved in it."""
    shipped.copy_shipped(['configs/cmda_demo.py', 'tools/train.py'], str(tmp_path))
    block, = [b for b in re.findall(r'```python\n(.*?)```', _section(), re.DOTALL) if b.startswith('# configs/')]
    path = tmp_path / block.splitlines()[0][2:].strip()
    path.write_text(block, encoding='utf-8')
    return path


def test_tensorboard_config_adds_the_backend_and_changes_nothing_else(tmp_path):
    path = _project(tmp_path)
    cfg = Config.fromfile(str(path)).to_dict()
    base = Config.fromfile(str(tmp_path / 'configs' / 'cmda_demo.py')).to_dict()
    assert [b['type'] for b in cfg['visualizer']['vis_backends']] == ['LocalVisBackend', 'TensorboardVisBackend']
    assert cfg['visualizer']['type'] == base['visualizer']['type']
    cfg.pop('visualizer'), base.pop('visualizer')
    assert cfg == base


@pytest.mark.skipif(importlib.util.find_spec('tensorboard') is None,
                    reason='tensorboard is optional (pip install -r requirements/tensorboard.txt)')
def test_documented_commands_write_tensorboard_events_and_the_json_log(tmp_path):
    _project(tmp_path)
    commands = [shlex.split(line, comments=True) for b in re.findall(r'```bash\n(.*?)```', _section(), re.DOTALL)
                for line in b.splitlines()]
    trains = [c for c in commands if c[:2] == ['python', 'tools/train.py']]
    assert len(trains) == 2  # the --tensorboard flag, and the two-line child config
    assert any(c and c[0] == 'tensorboard' for c in commands)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get('PYTHONPATH')])),
               OMP_NUM_THREADS='1')
    for train in trains:
        proc = subprocess.run([sys.executable, *train[1:], *TINY], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr[-3000:]
        work_dir = tmp_path / train[train.index('--work-dir') + 1]
        assert list(work_dir.glob('*/vis_data/events.out.tfevents.*')), f'{train}: no TensorBoard event file'
        assert list(work_dir.glob('*/vis_data/scalars.json')), f'{train}: LocalVisBackend wrote no JSON log'
