"""A wheel of this checkout, built once per test session and shared by the packaging tests."""
import os
import os.path as osp
import shutil
import subprocess
import sys
import zipfile

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.fixture(scope='session')
def built_wheel(tmp_path_factory):
    """``pip wheel --no-deps`` of the checkout (the checkout is left as it was: no build/, no .mim copies)."""
    out = tmp_path_factory.mktemp('wheel')
    had_build = osp.isdir(osp.join(REPO, 'build'))
    mim = osp.join(REPO, 'cmda_mm', '.mim')
    links = {n: os.readlink(osp.join(mim, n)) for n in ('configs', 'tools', 'model-index.yml')
             if osp.islink(osp.join(mim, n))}  # an editable install's
    proc = subprocess.run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', '--quiet',
                           '-w', str(out), REPO], capture_output=True, text=True, timeout=300, cwd=str(out))
    if not had_build:  # setuptools builds in the checkout's build/
        shutil.rmtree(osp.join(REPO, 'build'), ignore_errors=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    kept = {n: os.readlink(osp.join(mim, n)) for n in links if osp.islink(osp.join(mim, n))}
    assert kept == links, f'building a wheel removed the editable install\'s links in cmda_mm/.mim: {links} -> {kept}'
    wheel, = [p for p in out.iterdir() if p.suffix == '.whl']
    return wheel


@pytest.fixture(scope='session')
def installed_wheel(built_wheel, tmp_path_factory):
    """The wheel unpacked into a site folder: what `pip install .` puts in site-packages (a pure-Python wheel)."""
    site = tmp_path_factory.mktemp('site')
    zipfile.ZipFile(built_wheel).extractall(site)
    return site
