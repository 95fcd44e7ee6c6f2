"""Every tool runs the code of its own checkout, even when another checkout is on the path (issue 13).

Two clones sharing one venv: the editable install (or PYTHONPATH) points at one of them; a tool started from
the other must still import the ``cmda_mm`` next to it.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TOOLS = sorted(p.name for p in (REPO / 'tools').glob('*.py'))

# Run a tool's `--help`, then ask where the (possibly not yet imported) cmda_mm resolves, without running it.
PROBE = r"""
import importlib.util, runpy, sys
tool = sys.argv[1]
sys.argv = [tool, '--help']
try:
    runpy.run_path(tool, run_name='__main__')
except SystemExit:
    pass
print('IMPORTED', importlib.util.find_spec('cmda_mm').origin, flush=True)
"""


@pytest.mark.parametrize('name', TOOLS)
def test_each_tool_imports_its_own_checkout(name, tmp_path):
    clone = tmp_path / 'clone'
    shutil.copytree(REPO / 'cmda_mm', clone / 'cmda_mm', ignore=shutil.ignore_patterns('__pycache__'))
    shutil.copytree(REPO / 'tools', clone / 'tools', ignore=shutil.ignore_patterns('__pycache__'))
    other = tmp_path / 'other' / 'cmda_mm'  # the checkout the shared venv points at
    other.mkdir(parents=True)
    (other / '__init__.py').write_text("raise ImportError('the other checkout was imported')\n")
    env = dict(os.environ, PYTHONPATH=str(other.parent), OMP_NUM_THREADS='1')
    proc = subprocess.run([sys.executable, '-c', PROBE, str(clone / 'tools' / name)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    origin = [line.split()[1] for line in proc.stdout.splitlines() if line.startswith('IMPORTED')]
    assert origin and Path(origin[0]).resolve() == (clone / 'cmda_mm' / '__init__.py').resolve(), proc.stdout
