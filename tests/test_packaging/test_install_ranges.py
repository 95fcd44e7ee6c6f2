"""The declared install ranges, met the way a user meets them: ``pip install .`` into a bare MMPretrain environment.

A "bare MMPretrain environment" is torch + torchvision + mmengine + mmcv-lite + mmpretrain and what they pulled in
(the versions of this environment); pip is pointed at a scratch interpreter whose site-packages hold exactly those
distributions' metadata, so its dry-run resolve (``pip install --dry-run --report``) sees that environment and
reports what ``pip install .`` would add or replace there. One scenario adds pycocotools (an mmpretrain multimodal
dependency) and the ``rich`` 13.4.2 that openmim's openxlab pins, plus the ``tensorboard`` extra.

The resolve needs the package index: it is skipped, with the reason, when the index cannot be reached. A resolve
takes 20-70 s (pip reads the index pages of every package it adds), so its report is kept for a day under
``~/.cache/cmda-mm/resolve/``, keyed by the requirements, the environment's versions and pip's version; set
``CMDA_RESOLVE_CACHE=0`` to resolve afresh. An import with pycocotools installed is checked as well (pycocotools
from the index into a scratch folder on the path).
"""
import hashlib
import json
import os
import os.path as osp
import re
import subprocess
import sys
import time
from importlib import metadata
from typing import Dict, FrozenSet, Iterable, List, Tuple

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MMPRETRAIN_ENV = ('torch', 'torchvision', 'mmengine', 'mmcv-lite', 'mmpretrain')
# what openmim's openxlab pins (rich~=13.4.2): a cmda-mm install must not need to replace it
OPENMIM_RICH = '13.4.2'
# transformers >= 4.52 breaks `import mmpretrain.models` when pycocotools is installed (README, Environment)
TRANSFORMERS_LAST_GOOD = Version('4.51.3')
PIP_NETWORK = ('--retries', '1', '--timeout', '20')
CACHE = osp.join(os.environ.get('XDG_CACHE_HOME', osp.expanduser('~/.cache')), 'cmda-mm', 'resolve')
CACHE_SECONDS = 24 * 3600
OFFLINE = re.compile(r'NewConnectionError|Max retries exceeded|Temporary failure in name resolution|'
                     r'Network is unreachable|Could not fetch URL|ConnectTimeout|ReadTimeout|ProxyError')


def _setup_module():
    """setup.py's ``INSTALL_REQUIRES`` / ``EXTRAS_REQUIRE`` (its ``setup()`` call runs only as a script)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location('cmda_setup', osp.join(REPO, 'setup.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _closure(roots: Iterable[str]) -> Dict[str, metadata.Distribution]:
    """The installed distributions ``roots`` need, with the extras they ask for (markers of this platform)."""
    dists, done = {}, set()
    todo: List[Tuple[str, FrozenSet[str]]] = [(r, frozenset()) for r in roots]
    while todo:
        name, extras = todo.pop()
        name = canonicalize_name(name)
        if (name, extras) in done:
            continue
        done.add((name, extras))
        if name not in dists:
            dists[name] = metadata.distribution(name)
        for line in dists[name].requires or []:
            req = Requirement(line)
            if req.marker and not any(req.marker.evaluate({'extra': e}) for e in extras | {''}):
                continue
            todo.append((req.name, frozenset(req.extras)))
    return dists


def _metadata_env(path: str, roots: Iterable[str], overrides: Dict[str, str] = None,
                  extra: Dict[str, List[str]] = None) -> Dict[str, str]:
    """A scratch interpreter whose site-packages hold only the metadata of ``roots``' installed closure.

    Args:
        path (str): Folder of the scratch virtual environment.
        roots (Iterable[str]): Distributions of this environment whose closure it holds.
        overrides (dict, optional): ``{name: version}`` to state instead of the installed version.
        extra (dict, optional): ``{name==version: [Requires-Dist, ...]}`` of distributions this environment lacks.

    Returns:
        dict: ``{canonical name: version}`` of what the scratch environment holds.
    """
    try:
        dists = _closure(roots)
    except metadata.PackageNotFoundError as err:
        pytest.skip(f'this environment is not an MMPretrain environment ({err} is not installed)')
    subprocess.run([sys.executable, '-m', 'venv', '--without-pip', path], check=True, timeout=120)
    python = osp.join(path, 'bin', 'python')
    purelib = subprocess.run([python, '-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'],
                             capture_output=True, text=True, check=True).stdout.strip()
    held = {}

    def write(name, version, text):
        folder = osp.join(purelib, f"{name.replace('-', '_')}-{version}.dist-info")
        os.makedirs(folder)
        with open(osp.join(folder, 'METADATA'), 'w', encoding='utf-8') as f:
            f.write(text)
        with open(osp.join(folder, 'INSTALLER'), 'w') as f:
            f.write('pip\n')
        held[canonicalize_name(name)] = version

    for name, dist in dists.items():
        text, version = dist.read_text('METADATA'), dist.version
        if name in (overrides or {}):
            version = overrides[name]
            text = re.sub(r'^Version: .*$', f'Version: {version}', text, count=1, flags=re.M)
        write(name, version, text)
    for spec, requires in (extra or {}).items():
        name, version = spec.split('==')
        lines = ['Metadata-Version: 2.1', f'Name: {name}', f'Version: {version}']
        write(name, version, '\n'.join(lines + [f'Requires-Dist: {r}' for r in requires]) + '\n')
    return held


def _dry_run(env: str, requirements: List[str], held: Dict[str, str], report: str) -> Tuple[int, str, dict]:
    """``(returncode, stderr, report)`` of pip's dry-run resolve; a result of the last day is reused (see above)."""
    key = hashlib.sha256(json.dumps([requirements, sorted(held.items()), metadata.version('pip'), sys.version_info[:2]],
                                    sort_keys=True).encode()).hexdigest()[:16]
    cached = osp.join(CACHE, f'{key}.json')
    if os.environ.get('CMDA_RESOLVE_CACHE', '1') != '0' and osp.isfile(cached) and \
            time.time() - osp.getmtime(cached) < CACHE_SECONDS:
        with open(cached) as f:
            result = json.load(f)
        return result['returncode'], result['stderr'], result['report']
    cmd = [sys.executable, '-m', 'pip', '--python', osp.join(env, 'bin', 'python'), 'install', '--dry-run',
           '--quiet', '--only-binary', ':all:', *PIP_NETWORK, '--report', report, *requirements]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=osp.dirname(env))
    found = OFFLINE.search(proc.stdout + proc.stderr)
    if proc.returncode != 0 and found:
        pytest.skip(f'the package index cannot be reached: {found.group(0)}')
    result = dict(returncode=proc.returncode, stderr=proc.stderr[-3000:], report=None)
    if proc.returncode == 0:
        with open(report) as f:
            result['report'] = json.load(f)
        os.makedirs(CACHE, exist_ok=True)
        with open(cached, 'w') as f:
            json.dump(result, f)
    return result['returncode'], result['stderr'], result['report']


@pytest.fixture(scope='module')
def declared():
    setup = _setup_module()
    return setup.INSTALL_REQUIRES, setup.EXTRAS_REQUIRE


def _check_adds_only(result, held: Dict[str, str], where: str) -> Dict[str, str]:
    returncode, stderr, report = result
    assert returncode == 0, f'{where}: pip cannot resolve the declared ranges:\n{stderr}'
    added = {canonicalize_name(i['metadata']['name']): i['metadata']['version'] for i in report['install']}
    replaced = {n: f'{held[n]} -> {v}' for n, v in added.items() if n in held}
    assert not replaced, f'{where}: `pip install .` would replace packages of the environment: {replaced}'
    assert 'mmcv' not in added, f'{where}: full mmcv would be built from source; mmcv-lite is there'
    transformers = Version(added['transformers'])
    assert Version('4.28.0') <= transformers <= TRANSFORMERS_LAST_GOOD, f'{where}: transformers {transformers}'
    return added


def test_pip_install_into_a_bare_mmpretrain_environment_only_adds(tmp_path, declared):
    install_requires, _ = declared
    held = _metadata_env(str(tmp_path / 'env'), MMPRETRAIN_ENV)
    result = _dry_run(str(tmp_path / 'env'), install_requires, held, str(tmp_path / 'report.json'))
    added = _check_adds_only(result, held, 'bare MMPretrain environment')
    assert {'torch', 'mmpretrain', 'mmengine', 'numpy'} <= set(held) and 'scikit-learn' in added


def test_pip_install_with_pycocotools_openmim_rich_and_tensorboard_extra(tmp_path, declared):
    """mmpretrain[multimodal]'s pycocotools + openmim's rich pin: `pip install ".[tensorboard]"` only adds."""
    install_requires, extras = declared
    held = _metadata_env(str(tmp_path / 'env'), MMPRETRAIN_ENV, overrides={'rich': OPENMIM_RICH},
                         extra={'pycocotools==2.0.10': ['matplotlib>=2.1.0', 'numpy']})
    assert held['rich'] == OPENMIM_RICH and 'pycocotools' in held
    result = _dry_run(str(tmp_path / 'env'), install_requires + extras['tensorboard'], held,
                      str(tmp_path / 'report.json'))
    added = _check_adds_only(result, held, 'MMPretrain + pycocotools + openmim environment')
    assert 'tensorboard' in added


def test_extras_name_no_mmcv_build_and_no_registry_name():
    """`.[mim]` used to ask for full mmcv (a 23-min source build); the docs never ask pip for `cmda-mm[...]`."""
    extras = _setup_module().EXTRAS_REQUIRE
    assert not any(canonicalize_name(Requirement(r).name) == 'mmcv' for reqs in extras.values() for r in reqs)
    docs = [osp.join(REPO, 'setup.py'), osp.join(REPO, 'README.md')] + [
        osp.join(REPO, 'docs', n) for n in os.listdir(osp.join(REPO, 'docs')) if n.endswith('.md')]
    for path in docs:
        with open(path, encoding='utf-8') as f:
            text = f.read()
        assert not re.search(r'cmda-mm\[', text.replace('".[', '')), f'{path} asks pip for cmda-mm[...] by name'


def test_import_with_pycocotools_installed(tmp_path):
    """The pinned transformers with pycocotools on the path: `import cmda_mm` and `mmpretrain.models` work."""
    target = tmp_path / 'site'
    proc = subprocess.run([sys.executable, '-m', 'pip', 'install', '--quiet', '--no-deps', '--only-binary', ':all:',
                           *PIP_NETWORK, '--target', str(target), 'pycocotools'],
                          capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        if OFFLINE.search(proc.stdout + proc.stderr):
            pytest.skip('the package index cannot be reached (pycocotools)')
        pytest.fail(proc.stderr[-2000:])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(target), REPO]), OMP_NUM_THREADS='1')
    code = ('import pycocotools.coco, mmpretrain.models, cmda_mm, transformers; '
            'print("ok", transformers.__version__)')
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=300, env=env,
                          cwd=str(tmp_path))
    assert proc.returncode == 0 and 'ok ' in proc.stdout, proc.stderr[-3000:]
