"""The README points at things that exist, and says how to enter the environment before using `python`."""
import os.path as osp
import re
import subprocess

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.fixture(scope='module')
def readme():
    with open(osp.join(REPO, 'README.md'), encoding='utf-8') as f:
        return f.read()


def test_every_path_the_readme_names_exists(readme):
    paths = set(re.findall(r'(?<![\w/.-])((?:configs|tools|docs|benchmarks|requirements|cmda_mm)/[\w./-]+\.'
                           r'(?:py|sh|md|txt|png|yml))', readme))
    assert len(paths) > 20
    missing = sorted(p for p in paths if not osp.exists(osp.join(REPO, p)))
    assert not missing, f'README names files that do not exist: {missing}'


def test_readme_enters_the_environment_before_python(readme):
    first_python = readme.index('python tools/')
    assert readme.index('source $(make -s venv)/bin/activate') < first_python
    for section in ('## Install', '## Environment', '## Citation', '## License'):
        assert section in readme, section


def test_make_venv_prints_the_environment_folder():
    proc = subprocess.run(['make', '-s', '-C', REPO, 'venv', 'CMDA_VENV_ROOT=/some/root'], capture_output=True,
                          text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert re.fullmatch(r'/some/root/venv-[0-9a-f]{12}\n', proc.stdout), proc.stdout
