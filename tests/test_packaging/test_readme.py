"""The README points at things that exist, says how to enter the environment before using `python`, and stays a
newcomer's five-minute read that links the docs pages holding the detail."""
import os
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
    assert len(paths) > 8
    missing = sorted(p for p in paths if not osp.exists(osp.join(REPO, p)))
    assert not missing, f'README names files that do not exist: {missing}'


def test_readme_enters_the_environment_before_python(readme):
    first_python = readme.index('python tools/')
    assert readme.index('source $(make -s venv)/bin/activate') < first_python
    for section in ('## Quick start', '## Install', '## Environment', '## Switch CMDA on', '## When does CMDA pay off?',
                    '## Documentation', '## Citation', '## License'):
        assert section in readme, section


def test_readme_is_short_and_links_every_docs_page(readme):
    assert readme.count('\n') <= 200, 'the README is a five-minute read: result tables and decisions go to docs/'
    pages = sorted(f'docs/{f}' for f in os.listdir(osp.join(REPO, 'docs')) if f.endswith('.md'))
    unlinked = [p for p in pages if f'({p})' not in readme and f'({p}#' not in readme]
    assert not unlinked, f'docs pages the README does not link: {unlinked}'
    # the quick start is exactly the two commands CI and a newcomer run
    quick = readme[readme.index('## Quick start'):readme.index('## Install')]
    assert re.findall(r'^make (\w+)', quick, flags=re.M)[:2] == ['demo', 'test']


def test_make_venv_prints_the_environment_folder():
    proc = subprocess.run(['make', '-s', '-C', REPO, 'venv', 'CMDA_VENV_ROOT=/some/root'], capture_output=True,
                          text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert re.fullmatch(r'/some/root/venv-[0-9a-f]{12}\n', proc.stdout), proc.stdout


def test_a_built_environment_is_reused_whatever_the_file_times(tmp_path):
    """A fresh clone has new file times but the same pins: `make env` must not call pip on the built environment
    (the stamp's name carries the requirements' hash); a stamp of other pins builds."""
    venv = tmp_path / 'venv'
    (venv / 'bin').mkdir(parents=True)
    hash_ = subprocess.run(['make', '-s', '-C', REPO, 'venv', f'CMDA_VENV_ROOT={tmp_path}'], capture_output=True,
                           text=True, timeout=30).stdout.strip().rsplit('-', 1)[1]
    (venv / f'.cmda-ready-{hash_}').touch()
    os.utime(venv / f'.cmda-ready-{hash_}', (0, 0))  # older than every requirements file

    def dry_run():
        proc = subprocess.run(['make', '-n', '-C', REPO, 'env', f'CMDA_VENV={venv}'], capture_output=True, text=True,
                              timeout=30)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout
    assert '-r requirements/runtime.txt' not in dry_run()
    (venv / f'.cmda-ready-{hash_}').rename(venv / '.cmda-ready-000000000000')
    assert '-r requirements/runtime.txt' in dry_run()


def test_the_switch_on_snippet_is_the_measured_cached_form(readme, tmp_path):
    """The README's config is the form the long-schedule study measured as 'cached' (its cmda options, the
    fashion training split as the cache), and it builds on top of the Base config it names."""
    import sys

    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    import cmda_mm  # noqa: F401
    from cmda_mm.registry import MODELS
    sys.path.insert(0, osp.join(REPO, 'benchmarks'))
    from _schedule import METHODS, TRAIN_SIZE

    section = readme[readme.index('## Switch CMDA on'):readme.index('## When does CMDA pay off?')]
    code = re.search(r'```python\n(.*?)```', section, re.S).group(1)
    base = osp.join(REPO, 'configs', 'fashion', 'base_resnet18w8_fashion-32px.py')
    code = code.replace("'./base_resnet18w8_fashion-32px.py'", repr(base))
    (tmp_path / 'snippet.py').write_text(code)
    cfg = Config.fromfile(str(tmp_path / 'snippet.py'))
    cmda = cfg.model.data_preprocessor.cmda
    measured_cfg, measured = METHODS['cached']
    prefix = 'model.data_preprocessor.cmda.'
    want = {k[len(prefix):]: v for k, v in measured.items() if '.' not in k[len(prefix):]}
    assert {k: cmda.get(k) for k in want} == want and cmda.cache_size == TRAIN_SIZE
    assert dict(cmda.get('pair_weight', {})) in ({}, {'type': 'beta', 'alpha': 0.25})  # the default pair weight
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        model = MODELS.build(cfg.model)
    mixer = model.mixer
    assert mixer.cached and mixer.cache_size == TRAIN_SIZE and mixer.fraction == 0.5 and mixer.mode == 'replace'
    assert [h['type'] for h in cfg.custom_hooks] == ['DCAHook']
