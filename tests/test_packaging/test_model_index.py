"""model-index.yml and the metafiles: every entry names an existing config, a command and a log; every config
behind a results table has an entry whose numbers are the table's; the model zoo page lists every entry."""
import os.path as osp
import re
import sys
import unicodedata

import pytest
import yaml

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
RESULTS = osp.join(REPO, 'benchmarks', 'results')
# variants.md columns (issue 16's study on the fashion pixel row) -> the config that states the variant
VARIANT_CONFIGS = {
    'aligngate': 'configs/fashion/cmda-aligngate_resnet18w8_fashion-32px.py',
    'beta': 'configs/fashion/cmda-beta_resnet18w8_fashion-32px.py',
    'floor': 'configs/fashion/cmda-floor_resnet18w8_fashion-32px.py',
    'harddca': 'configs/fashion/cmda-harddca_resnet18w8_fashion-32px.py',
    'cmda+mixup': 'configs/fashion/cmda-mixup_resnet18w8_fashion-32px.py',
    'cached': 'configs/fashion/cmda-cached_resnet18w8_fashion-32px.py',
    'random': 'configs/fashion/cmda-random_resnet18w8_fashion-32px.py',
    'matched': 'configs/fashion/mixup-matched_resnet18w8_fashion-32px.py',
}
# variants.md columns that are not a config of their own: the grid's configs, the row's choice / default (one of
# the variants above), and the literal `cmda=dict()` check (the pixel config with every mixer default)
NOT_A_CONFIG = {'row \\ method', 'row', 'base', 'mixup', 'cmda', 'choice', 'default', 'shipped', '±2 SE'}


def _models():
    with open(osp.join(REPO, 'model-index.yml')) as f:
        index = yaml.safe_load(f)
    for metafile in index['Import']:
        with open(osp.join(REPO, metafile)) as f:
            meta = yaml.safe_load(f)
        collections = {c['Name'] for c in meta['Collections']}
        for model in meta['Models']:
            yield metafile, collections, model


def _by_config():
    return {model['Config']: model for _, _, model in _models()}


def _slug(heading: str) -> str:
    """GitHub's anchor of a markdown heading."""
    text = ''.join(c for c in heading.strip().lower()
                   if c in ' -_' or unicodedata.category(c)[0] in 'LN')
    return text.replace(' ', '-')


def _page_and_anchor(log: str):
    path, _, anchor = log.split(' ')[0].partition('#')
    return path, anchor


def test_every_model_names_a_config_a_result_a_command_and_a_log():
    models = list(_models())
    assert len(models) >= 50
    names = [m['Name'] for _, _, m in models]
    assert len(names) == len(set(names)), 'duplicate model names'
    for metafile, collections, model in models:
        where = f"{metafile}: {model['Name']}"
        assert osp.isfile(osp.join(REPO, model['Config'])), f'{where}: no such config {model["Config"]}'
        assert model['In Collection'] in collections, where
        assert model['Metadata']['Command'] and model['Metadata']['Log'], where
        for result in model['Results']:
            metrics = result['Metrics']
            assert metrics and all(isinstance(v, (int, float)) for v in metrics.values()), where


def test_logs_point_at_results_pages_that_hold_the_numbers():
    """A Log is a page of this repository (and section), never a folder of the measuring machine; its numbers are
    the page's (`mean ± CI` where the entry has a CI)."""
    for metafile, _, model in _models():
        where = f"{metafile}: {model['Name']}"
        log = model['Metadata']['Log']
        assert '/tmp/' not in log, f'{where}: Log {log!r} is a temporary folder'
        path, anchor = _page_and_anchor(log)
        if path.startswith('work_dirs/'):  # what the entry's own command writes (the demo)
            continue
        assert osp.isfile(osp.join(REPO, path)), f'{where}: Log page {path} does not exist'
        with open(osp.join(REPO, path), encoding='utf-8') as f:
            page = f.read()
        if anchor:
            slugs = {_slug(h) for h in re.findall(r'^#+ (.*)$', page, flags=re.M)}
            assert anchor in slugs, f'{where}: no section #{anchor} in {path}'
        for result in model['Results']:
            metrics = result['Metrics']
            for name, value in metrics.items():
                if name.endswith('95% CI'):
                    continue
                ci = metrics.get(f'{name} 95% CI')
                shown = f'{value:.2f} ± {ci:.2f}' if ci is not None else f'{value:.2f}'
                assert shown in page, f'{where}: {name} {shown} is not on {path}'


def test_every_config_behind_a_results_table_has_an_entry():
    """The grids' configs (benchmarks/_quality_grid.py, _fashion_grid.py) and the variant configs of
    variants.md's pixel row each have a metafile entry."""
    sys.path.insert(0, osp.join(REPO, 'benchmarks'))
    try:
        from _fashion_grid import ROWS

        from _quality_grid import STUDENTS, TASKS, Run
    finally:
        sys.path.remove(osp.join(REPO, 'benchmarks'))
    entries = _by_config()
    configs = {pattern.format(m=m) for pattern, _, methods, _ in ROWS.values() for m in methods}
    configs |= {Run('test', task, s, m, 0).config for task, (_, _, methods) in TASKS.items() for m in methods
                for s in STUDENTS}  # the run's config (offline CMDA trains configs/offline/...)
    with open(osp.join(RESULTS, 'variants.md'), encoding='utf-8') as f:
        variants = f.read()
    # the validation and test tables (their columns are methods; the paired and regime tables' are not)
    for header in re.findall(r'^\| (row(?: \\ method)? \| base \|.*)\|$', variants, flags=re.M):
        for column in (c.strip() for c in header.split('|')):
            if column not in NOT_A_CONFIG:
                assert column in VARIANT_CONFIGS, f'variants.md column {column!r}: which config states it?'
    configs |= set(VARIANT_CONFIGS.values())
    missing = sorted(c for c in configs if c not in entries)
    assert not missing, f'configs with a measured result but no metafile entry: {missing}'


def test_model_zoo_page_lists_every_model_and_no_temporary_log():
    with open(osp.join(REPO, 'docs', 'model_zoo.md')) as f:
        page = f.read()
    for metafile, _, model in _models():
        assert model['Config'] in page, f'docs/model_zoo.md does not list {model["Config"]} ({metafile})'
    assert '/tmp/' not in page, 'docs/model_zoo.md points at a temporary folder of the measuring machine'


def test_modelindex_reads_it():
    modelindex = pytest.importorskip('modelindex')
    index = modelindex.load(osp.join(REPO, 'model-index.yml'))
    assert len(index.models) == len(list(_models()))
