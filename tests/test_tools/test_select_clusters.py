"""tools/select_clusters.py: BIC picks the true number of blobs; PNG plot; every input kind."""
import importlib.util
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config

import cmda_mm  # noqa: F401
from cmda_mm.registry import MODELS
from fixtures import make_wiki

REPO = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location('select_clusters', REPO / 'tools' / 'select_clusters.py')
tool = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tool)


def blobs(m=3, n=300, d=4, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 8, (m, d))
    return (centres[np.arange(n) % m] + rng.normal(0, 1, (n, d))).astype(np.float32)


@pytest.mark.parametrize('true_m', [2, 3])
def test_bic_picks_the_true_number_of_blobs(true_m, tmp_path):
    path = tmp_path / 'x.npy'
    np.save(path, blobs(true_m))
    out = tmp_path / 'curves.png'
    best, curves = tool.main(['--features', str(path), '--range', '1', '6', '--out', str(out)])
    assert best == true_m
    assert sorted(curves['bic']) == sorted(curves['aic']) == [1, 2, 3, 4, 5, 6]
    assert min(curves['bic'], key=curves['bic'].get) == true_m
    assert out.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n' and out.stat().st_size > 5000


def test_embeddings_file_subsample_and_errors(tmp_path):
    z = torch.nn.functional.normalize(torch.from_numpy(blobs(2, 200, 6)), dim=1)
    torch.save(dict(z_student=z), tmp_path / 'embeddings.pth')
    best, curves = tool.main(['--features', str(tmp_path / 'embeddings.pth'), '--range', '1', '3',
                              '--max-samples', '120', '--criterion', 'aic', '--out', str(tmp_path / 'p.png')])
    assert best == min(curves['aic'], key=curves['aic'].get)
    torch.save(dict(other=z), tmp_path / 'bad.pth')
    with pytest.raises(ValueError, match='bad.pth'):
        tool.main(['--features', str(tmp_path / 'bad.pth')])
    with pytest.raises(ValueError, match='--range'):
        tool.main(['--features', str(tmp_path / 'embeddings.pth'), '--range', '3', '1'])
    with pytest.raises(ValueError, match='CONFIG and --checkpoint'):
        tool.main([])


def test_config_and_checkpoint_embed_the_training_set(tmp_path):
    wiki = make_wiki(tmp_path / 'wiki')
    config = str(REPO / 'configs' / 'offline' / 'align_mlp_wikipedia-vision.py')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(config).model)
    torch.save(dict(state_dict=model.state_dict()), tmp_path / 'ckpt.pth')
    best, curves = tool.main([config, '--checkpoint', str(tmp_path / 'ckpt.pth'), '--data-root', str(wiki),
                              '--range', '1', '2', '--out', str(tmp_path / 'w.png')])
    assert best in (1, 2) and len(curves['bic']) == 2
    assert (tmp_path / 'w.png').stat().st_size > 0


def test_a_drop_last_training_loader_still_embeds_every_sample(tmp_path):
    """Issue 22: the train loader's drop_last=True was copied into the embedding pass (384 of 420 fitted)."""
    wiki = make_wiki(tmp_path / 'wiki', train_classes=(1, 1, 2, 2, 3, 3, 4))  # 7 samples, batch 4
    config = tmp_path / 'align_drop_last.py'
    config.write_text(f"_base_ = [{str(REPO / 'configs' / 'offline' / 'align_mlp_wikipedia-vision.py')!r}]\n"
                      'train_dataloader = dict(batch_size=4, drop_last=True)\n')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(str(config)).model)
    torch.save(dict(state_dict=model.state_dict()), tmp_path / 'ckpt.pth')
    args = tool.parse_args([str(config), '--checkpoint', str(tmp_path / 'ckpt.pth'), '--data-root', str(wiki)])
    assert tool.load_embeddings(args).shape[0] == 7


@pytest.mark.parametrize('rows', [200, 100])
def test_a_range_beyond_half_the_rows_is_refused_by_name(rows, tmp_path):
    """Issue 22: --range 195 300 chose M = 200 on 200 rows (one component per point) and failed with
    'min() arg is an empty sequence' on 100 rows."""
    np.save(tmp_path / 'x.npy', blobs(3, rows))
    with pytest.raises(ValueError, match=rf'--range 195 300: {rows} embeddings support at most M = {rows // 2} '
                                         rf'.*use MAX <= {rows // 2} \(e.g. --range 1 {rows // 2}\)'):
        tool.main(['--features', str(tmp_path / 'x.npy'), '--range', '195', '300', '--out', str(tmp_path / 'p.png')])
    with pytest.raises(ValueError, match='give at least 2 embeddings'):
        tool.select(torch.zeros(1, 4), 1, 1)


@pytest.mark.parametrize('m_range, edge', [((1, 2), r'top of --range 1 2.*--range 1 4'),
                                           ((3, 6), r'bottom of --range 3 6.*--range 1 6')])
def test_a_choice_on_the_edge_of_the_range_warns(m_range, edge, tmp_path):
    np.save(tmp_path / 'x.npy', blobs(3))
    argv = ['--features', str(tmp_path / 'x.npy'), '--range', *map(str, m_range), '--out', str(tmp_path / 'p.png')]
    with pytest.warns(UserWarning, match=edge):
        best, _ = tool.main(argv)
    assert best in m_range
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # the true M = 3 inside the range: no warning
        assert tool.main(argv[:2] + ['--range', '1', '6'] + argv[-2:])[0] == 3
