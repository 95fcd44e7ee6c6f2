"""tools/visualize_augment.py writes a PNG grid from an offline output (features and images) or a checkpoint."""
import importlib.util
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

import cmda_mm  # noqa: F401
from cmda_mm.registry import MODELS
from fixtures import make_wiki

REPO = Path(__file__).resolve().parents[2]
CFG = str(REPO / 'configs' / 'offline' / 'align_mlp_wikipedia-vision.py')


def load(name):
    spec = importlib.util.spec_from_file_location(name, REPO / 'tools' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


vis, augment = load('visualize_augment'), load('augment_offline')


def is_png(path):
    return path.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n' and path.stat().st_size > 5000


@pytest.fixture(scope='module')
def offline(tmp_path_factory):
    """A tiny Wikipedia copy, a random aligner checkpoint and its offline output."""
    root = tmp_path_factory.mktemp('vis')
    wiki = str(make_wiki(root / 'wiki'))
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(CFG).model)
    torch.save(dict(state_dict=model.state_dict()), root / 'ckpt.pth')
    augment.main([CFG, '--out', str(root / 'out'), '--data-root', wiki, '--num', '5', '--checkpoint',
                  str(root / 'ckpt.pth'), '--cfg-options', 'augment.pool_size=4', 'log_level=WARNING'])
    return root, wiki


def test_from_offline_json_with_and_without_source(offline):
    root, wiki = offline
    out = root / 'a.png'
    items = vis.main(['--ann-file', str(root / 'out' / 'augmented.json'), '--rows', '0', '3', '--out', str(out)])
    assert is_png(out) and len(items) == 2
    assert all(it['raw'][0] is None for it in items)  # no config: ids only
    items = vis.main([CFG, '--data-root', wiki, '--ann-file', str(root / 'out' / 'augmented.json'), '--num', '2',
                      '--out', str(out)])
    assert is_png(out) and items[0]['raw'][0].shape == (128, ) and '[' in items[0]['teacher']
    for it in items:
        assert sum(it['weights']) == pytest.approx(1.0, abs=1e-5) and len(it['inter']) == len(it['students'])
    with pytest.raises(IndexError, match='row 99'):
        vis.main(['--ann-file', str(root / 'out' / 'augmented.json'), '--rows', '99', '--out', str(out)])


def test_from_checkpoint(offline):
    root, wiki = offline
    out = root / 'b.png'
    items = vis.main([CFG, '--checkpoint', str(root / 'ckpt.pth'), '--data-root', wiki, '--rows', '1', '4',
                      '--out', str(out)])
    assert is_png(out) and len(items) == 2
    assert items[0]['teacher'].startswith('#1 ') and items[1]['teacher'].startswith('#4 ')
    for it in items:  # x_new = Σ w_j x_j over the shown students
        expected = sum(w * x for w, x in zip(it['weights'], it['raw']))
        torch.testing.assert_close(torch.as_tensor(it['new']), torch.as_tensor(expected), rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match='--ann-file'):
        vis.main([CFG, '--out', str(out)])
    state = torch.load(root / 'ckpt.pth')['state_dict']  # the aligner with its student projector removed
    torch.save(dict(state_dict={k: v for k, v in state.items() if 'student_projector' not in k}), root / 'part.pth')
    with pytest.raises(ValueError, match=r'part.pth does not fit this CMDAAligner.*missing from the checkpoint: '
                       r'student_projector'):  # was: random projector weights, exit 0
        vis.main([CFG, '--checkpoint', str(root / 'part.pth'), '--data-root', wiki, '--out', str(out)])


def test_image_rows(tmp_path):
    import cv2
    import numpy as np
    out = tmp_path / 'aug'
    (out / 'images').mkdir(parents=True)
    img = np.zeros((16, 16, 3), np.uint8)
    img[..., 2] = 255  # red in BGR
    cv2.imwrite(str(out / 'images' / '00000000.png'), img)
    (out / 'augmented.json').write_text(
        '{"metainfo": {}, "data_list": [{"img_path": "images/00000000.png", "provenance": {"teacher": 3, '
        '"students": [3, 1], "weights": [0.6, 0.4], "inter": [0.6, 0.4], "intra": [2.0, 1.5]}}]}')
    items = vis.main(['--ann-file', str(out / 'augmented.json'), '--out', str(tmp_path / 'img.png')])
    assert is_png(tmp_path / 'img.png') and items[0]['new'].shape == (3, 16, 16)
