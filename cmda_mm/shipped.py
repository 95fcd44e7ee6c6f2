"""The configs and tools shipped with cmda-mm, for a project of your own: list them, copy them with their bases.

A checkout has ``configs/`` and ``tools/``; a ``pip install .`` puts them inside the package (the openmim layout,
``cmda_mm/.mim/{configs,tools}``), where a config of yours can only reach them by an absolute site-packages path.
MMEngine's ``_base_ = ['pkg::path']`` lookup is for the OpenMMLab packages it lists (``mmpretrain::``, ...), not
for plugins. This module copies what you name, plus every ``_base_`` file a config inherits (recursively), into
your project with the same layout, so ``_base_ = ['../cmda_demo.py']`` works there as in a checkout::

    python -m cmda_mm.shipped list fashion              # shipped configs whose path contains 'fashion'
    python -m cmda_mm.shipped copy configs/cmda_demo.py tools/train.py --dest .
    python -m cmda_mm.shipped copy configs/fashion --dest .   # a whole config family (+ its _base_ files)
    python -m cmda_mm.shipped where                     # the folder that holds configs/ and tools/

A file that is already there with the same content is left alone; one with other content is an error unless
``--force`` (nothing is copied then). The copies are plain files: diff them against ``where`` after an upgrade.
"""
import argparse
import ast
import filecmp
import os
import os.path as osp
import shutil
import sys
from typing import Dict, List, Optional, Sequence

__all__ = ['shipped_root', 'list_configs', 'config_bases', 'files_to_copy', 'copy_shipped', 'main']

_PACKAGE = osp.dirname(osp.abspath(__file__))


def shipped_root() -> str:
    """The folder holding the shipped ``configs/`` and ``tools/``.

    ``cmda_mm/.mim`` of an installed package (copies) or of an editable install (links into the checkout);
    else the checkout itself (the package imported from a source tree without installing it).

    Raises:
        FileNotFoundError: Neither holds ``configs/``.
    """
    for root in (osp.join(_PACKAGE, '.mim'), osp.dirname(_PACKAGE)):
        if osp.isdir(osp.join(root, 'configs')):
            return root
    raise FileNotFoundError(f'no shipped configs next to {_PACKAGE} (neither .mim/configs nor ../configs): '
                            'reinstall cmda-mm (pip install .) from a checkout')


def list_configs(patterns: Sequence[str] = (), root: Optional[str] = None) -> List[str]:
    """Shipped config paths (``configs/...``, sorted) that contain every pattern; ``_base_`` pieces left out."""
    root = root or shipped_root()
    found = []
    for folder, dirs, files in os.walk(osp.join(root, 'configs'), followlinks=True):
        dirs[:] = sorted(d for d in dirs if d != '__pycache__')
        for name in files:
            rel = osp.relpath(osp.join(folder, name), root).replace(os.sep, '/')
            if name.endswith('.py') and '/_base_/' not in rel and all(p in rel for p in patterns):
                found.append(rel)
    return sorted(found)


def config_bases(path: str) -> List[str]:
    """The files a config's ``_base_`` names, as absolute paths (``pkg::`` entries of other packages left out).

    Raises:
        ValueError: ``_base_`` is not a string or a list of strings (MMEngine requires literals too).
    """
    with open(path, encoding='utf-8') as f:
        tree = ast.parse(f.read(), filename=path)
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == '_base_' for t in node.targets):
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                raise ValueError(f'{path}: _base_ must be a string or a list of strings') from None
            names = [value] if isinstance(value, str) else list(value)
            return [osp.normpath(osp.join(osp.dirname(path), n)) for n in names if '::' not in n]
    return []


def files_to_copy(names: Sequence[str], root: Optional[str] = None) -> List[str]:
    """Paths relative to ``root`` of the named files or folders and of every ``_base_`` file they inherit.

    Args:
        names (Sequence[str]): ``configs/...`` or ``tools/...`` paths (files or folders) as in a checkout.
        root (str, optional): The shipped folder. Defaults to :func:`shipped_root`.

    Raises:
        FileNotFoundError: A name is not shipped (the message lists close matches) or a base is missing.
    """
    root = root or shipped_root()
    todo, seen = [], {}  # (absolute path, the config that inherits it or None)
    for name in names:
        path = osp.normpath(osp.join(root, name))
        if not path.startswith(osp.normpath(root) + os.sep) or not osp.exists(path):
            stem = osp.splitext(osp.basename(name.rstrip('/')))[0]
            close = list_configs([stem], root)[:5]
            hint = f'; shipped configs with {stem!r} in their path: {close}' if close else \
                '; `python -m cmda_mm.shipped list` shows the configs'
            raise FileNotFoundError(f'{name} is not shipped with cmda-mm (looked in {root}){hint}')
        if osp.isdir(path):
            for folder, dirs, files in os.walk(path, followlinks=True):
                dirs[:] = sorted(d for d in dirs if d != '__pycache__')
                todo.extend((osp.join(folder, f), None) for f in sorted(files) if not f.endswith('.pyc'))
        else:
            todo.append((path, None))
    while todo:
        path, child = todo.pop(0)
        rel = osp.relpath(path, root).replace(os.sep, '/')
        if rel in seen:
            continue
        if not osp.isfile(path):
            raise FileNotFoundError(f'{child}: its _base_ {path} does not exist')
        seen[rel] = path
        if rel.startswith('configs/') and rel.endswith('.py'):
            todo.extend((base, path) for base in config_bases(path))
    return sorted(seen)


def copy_shipped(names: Sequence[str], dest: str, force: bool = False,
                 root: Optional[str] = None) -> Dict[str, str]:
    """Copy the named shipped files (and their ``_base_`` files) under ``dest`` with the checkout's layout.

    Args:
        names (Sequence[str]): ``configs/...`` / ``tools/...`` files or folders.
        dest (str): Your project folder (gets ``configs/``, ``tools/``).
        force (bool): Overwrite files of other content. Defaults to False.
        root (str, optional): The shipped folder. Defaults to :func:`shipped_root`.

    Returns:
        dict: ``{relative path: 'copied' | 'same' | 'overwritten'}``.

    Raises:
        FileExistsError: Without ``force``, a file under ``dest`` differs from the shipped one; nothing is copied.
    """
    root = root or shipped_root()
    rels = files_to_copy(names, root)
    targets = {rel: osp.join(dest, rel) for rel in rels}
    status = {}
    for rel, target in targets.items():
        if not osp.exists(target):
            status[rel] = 'copied'
        elif filecmp.cmp(osp.join(root, rel), target, shallow=False):
            status[rel] = 'same'
        else:
            status[rel] = 'overwritten'
    clash = [targets[r] for r, s in status.items() if s == 'overwritten']
    if clash and not force:
        raise FileExistsError(f'{len(clash)} file(s) under {dest} differ from the shipped ones: {clash[:5]}; '
                              'nothing was copied (--force overwrites them)')
    for rel, state in status.items():
        if state != 'same':
            os.makedirs(osp.dirname(targets[rel]), exist_ok=True)
            shutil.copyfile(osp.join(root, rel), targets[rel])
            shutil.copymode(osp.join(root, rel), targets[rel])
    return status


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog='python -m cmda_mm.shipped',
                                     description='list or copy the configs and tools shipped with cmda-mm')
    sub = parser.add_subparsers(dest='command', required=True)
    sub.add_parser('where', help='print the folder that holds the shipped configs/ and tools/')
    ls = sub.add_parser('list', help='shipped configs whose path contains every PATTERN')
    ls.add_argument('patterns', nargs='*', metavar='PATTERN')
    cp = sub.add_parser('copy', help='copy files or folders (configs/..., tools/...) with their _base_ files')
    cp.add_argument('names', nargs='+', metavar='PATH', help='e.g. configs/cmda_demo.py, configs/fashion, '
                    'tools/train.py')
    cp.add_argument('--dest', default='.', help='your project folder (default: the current folder)')
    cp.add_argument('--force', action='store_true', help='overwrite files whose content differs')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    root = shipped_root()
    if args.command == 'where':
        print(root)
    elif args.command == 'list':
        print('\n'.join(list_configs(args.patterns, root)))
    else:
        status = copy_shipped(args.names, args.dest, args.force, root)
        for rel, state in status.items():
            print(f'{state:11s} {osp.join(args.dest, rel)}')
        counts = {s: sum(v == s for v in status.values()) for s in ('copied', 'overwritten', 'same')}
        print(f'{counts["copied"]} copied, {counts["overwritten"]} overwritten, {counts["same"]} already there '
              f'(from {root})')
    return 0


if __name__ == '__main__':
    try:
        sys.exit(main())
    except (FileNotFoundError, FileExistsError, ValueError) as err:
        sys.exit(f'python -m cmda_mm.shipped: error: {err}')
