"""model-index.yml and the metafiles: every entry names an existing config, a command and a log, and the
model zoo page lists every metafile model."""
import os.path as osp

import pytest
import yaml

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _models():
    with open(osp.join(REPO, 'model-index.yml')) as f:
        index = yaml.safe_load(f)
    for metafile in index['Import']:
        with open(osp.join(REPO, metafile)) as f:
            meta = yaml.safe_load(f)
        collections = {c['Name'] for c in meta['Collections']}
        for model in meta['Models']:
            yield metafile, collections, model


def test_every_model_names_a_config_a_result_a_command_and_a_log():
    models = list(_models())
    assert len(models) >= 20
    names = [m['Name'] for _, _, m in models]
    assert len(names) == len(set(names)), 'duplicate model names'
    for metafile, collections, model in models:
        where = f"{metafile}: {model['Name']}"
        assert osp.isfile(osp.join(REPO, model['Config'])), f'{where}: no such config {model["Config"]}'
        assert model['In Collection'] in collections, where
        assert model['Metadata']['Command'] and model['Metadata']['Log'], where
        metrics = model['Results'][0]['Metrics']
        assert metrics and all(isinstance(v, (int, float)) for v in metrics.values()), where


def test_model_zoo_page_lists_every_model():
    with open(osp.join(REPO, 'docs', 'model_zoo.md')) as f:
        page = f.read()
    for metafile, _, model in _models():
        assert model['Config'] in page, f'docs/model_zoo.md does not list {model["Config"]} ({metafile})'


def test_modelindex_reads_it():
    modelindex = pytest.importorskip('modelindex')
    index = modelindex.load(osp.join(REPO, 'model-index.yml'))
    assert len(index.models) == len(list(_models()))
