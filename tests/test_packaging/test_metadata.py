"""Package metadata: compatible ranges (no exact torch pin), nothing new to install into the pinned stack,
a LICENSE that matches, and the openmim layout (``cmda_mm/.mim``) in a built wheel."""
import json
import os.path as osp
import re
import subprocess
import sys
import zipfile
from importlib import metadata

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _pins(name):
    with open(osp.join(REPO, 'requirements', f'{name}.txt')) as f:
        lines = [re.sub(r'#.*', '', line).strip() for line in f]
    return dict(line.split('==') for line in lines if line)


@pytest.fixture(scope='module')
def dry_run_report(tmp_path_factory):
    """``pip install --dry-run -e .`` offline (no index): what pip would install, and our built metadata."""
    report = tmp_path_factory.mktemp('pip') / 'report.json'
    proc = subprocess.run([sys.executable, '-m', 'pip', 'install', '--dry-run', '--no-index', '--no-build-isolation',
                           '--quiet', '--report', str(report), '-e', REPO],
                          capture_output=True, text=True, timeout=120, cwd=REPO)
    return proc, (json.loads(report.read_text()) if report.exists() else None)


def _requirement_name(req):
    return re.split(r'[\s<>=!~;\[(]', req, maxsplit=1)[0].lower().replace('_', '-')


def test_runtime_requirements_are_ranges_not_pins(dry_run_report):
    proc, report = dry_run_report
    assert report is not None, proc.stderr[-2000:]
    ours = [item for item in report['install'] if item['metadata']['name'] == 'cmda-mm']
    assert len(ours) == 1
    requires = [r for r in ours[0]['metadata']['requires_dist'] if 'extra ==' not in r]
    names = {_requirement_name(r): r for r in requires}
    assert {'torch', 'mmpretrain', 'mmengine'} <= set(names), requires
    for req in requires:
        assert '==' not in req and '===' not in req, f'runtime requirement {req!r} is an exact pin'
    assert ours[0]['metadata']['license'] == 'Apache License 2.0'


def test_pinned_stack_needs_nothing_else(dry_run_report):
    """From an environment that holds the pins of requirements/runtime.txt, pip installs only cmda-mm."""
    for name, version in _pins('runtime').items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            pytest.skip(f'this environment does not hold the pinned stack ({name} missing)')
        if installed.split('+')[0] != version:
            pytest.skip(f'this environment does not hold the pinned stack ({name} {installed} != {version})')
    proc, report = dry_run_report
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert [item['metadata']['name'] for item in report['install']] == ['cmda-mm']


def test_license_file_matches_setup():
    with open(osp.join(REPO, 'LICENSE')) as f:
        text = f.read()
    assert 'Apache License' in text and 'Version 2.0, January 2004' in text
    with open(osp.join(REPO, 'setup.py')) as f:
        assert "license='Apache License 2.0'" in f.read()


def test_wheel_carries_configs_tools_and_model_index(built_wheel):
    assert not osp.exists(osp.join(REPO, 'cmda_mm', '.mim', 'model-index.yml')) or osp.islink(
        osp.join(REPO, 'cmda_mm', '.mim', 'model-index.yml')), 'setup.py left copies in cmda_mm/.mim'
    wheel = built_wheel
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in ('cmda_mm/.mim/model-index.yml', 'cmda_mm/.mim/configs/cmda_demo.py',
                     'cmda_mm/.mim/configs/_base_/datasets/pipelines/image_224.py',
                     'cmda_mm/.mim/configs/wikipedia/metafile.yml', 'cmda_mm/.mim/tools/train.py',
                     'cmda_mm/.mim/tools/dist_train.sh', 'cmda_mm/__init__.py', 'cmda_mm/shipped.py'):
        assert required in names, f'{required} missing from the wheel'
    assert not any(n.startswith(('tests/', 'benchmarks/')) for n in names)
