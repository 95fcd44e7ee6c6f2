"""docs/custom_dataset.md runs as written: its commands and configs, on tiny generated images with French captions.

The bash blocks run line by line (``python`` = this interpreter) in an empty scratch folder, as in a project of a
pip-only user: the document's first command copies the configs and tools it needs there (``python -m
cmda_mm.shipped``); each python block that starts with ``# configs/...`` is saved there. Only the data is made
here, in the layout the document describes: one CSV, split by the converter into train / val / test.
"""
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / 'docs' / 'custom_dataset.md'
SHAPES = {'disque': 'un disque', 'carré': 'un carré', 'triangle': 'un triangle'}
COLOURS = {'rouge': (40, 40, 220), 'bleu': (220, 60, 40), 'vert': (50, 200, 60)}
PLACES = ['en haut à gauche', 'en bas à droite', 'au centre']


def draw(shape: str, colour, centre, rng) -> np.ndarray:
    img = rng.integers(0, 60, (48, 48, 3), dtype=np.uint8)
    x, y = centre
    if shape == 'disque':
        cv2.circle(img, (x, y), 10, colour, -1)
    elif shape == 'carré':
        cv2.rectangle(img, (x - 9, y - 9), (x + 9, y + 9), colour, -1)
    else:
        cv2.fillPoly(img, [np.array([(x, y - 11), (x - 11, y + 9), (x + 11, y + 9)])], colour)
    return img


def make_data(root: Path) -> None:
    """data/mine as the document describes: photos/, pairs.csv (9 images a class, 2 captions each), classes.txt."""
    rng = np.random.default_rng(0)
    (root / 'photos').mkdir(parents=True)
    centres = [(14, 14), (34, 34), (24, 24)]
    rows = ['image,caption,label']
    n = 0
    for label, noun in SHAPES.items():
        for i in range(9):
            colour = list(COLOURS)[(i + n) % 3]
            place = (i + 2 * n) % 3
            n += 1
            name = f'photos/{n:04d}.jpg'
            cv2.imwrite(str(root / name), draw(label, COLOURS[colour], centres[place], rng))
            texts = [f'{noun} {colour} {PLACES[place]}', f'une forme {colour}, {label}']
            rows += [f'{name},"{t}",{label}' for t in texts]
    (root / 'pairs.csv').write_text('\n'.join(rows) + '\n', encoding='utf-8')
    (root / 'classes.txt').write_text('\n'.join(SHAPES) + '\n', encoding='utf-8')


def blocks(kind: str):
    return re.findall(rf'```{kind}\n(.*?)```', DOC.read_text(encoding='utf-8'), re.DOTALL)


def test_walk_through_runs_as_written(tmp_path):
    from mmengine.config import Config
    work = tmp_path / 'project'
    make_data(work / 'data' / 'mine')
    configs = [b for b in blocks('python') if b.startswith('# configs/')]
    assert len(configs) == 3  # Base, CMDA, the feature variant
    for block in configs:
        path = work / block.splitlines()[0][2:].strip()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(block, encoding='utf-8')
    commands = [line for b in blocks('bash') for line in b.splitlines() if line.strip()]
    assert len(commands) == 1 + 1 + 2 + 5  # copy configs and tools, convert + split, Base and CMDA; the variant
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS='1')
    outputs = []
    for command in commands:
        argv = shlex.split(command)
        assert argv[0] == 'python', command
        proc = subprocess.run([sys.executable, *argv[1:]], cwd=work, env=env, capture_output=True, text=True,
                              timeout=600)
        assert proc.returncode == 0, f'{command}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}'
        outputs.append(proc.stdout + proc.stderr)
    assert (work / 'configs' / '_base_' / 'default_runtime.py').is_file() and (work / 'tools' / 'train.py').is_file()
    # 9 images a class: test 2, val 1 (round(7 * 0.1 / 0.8)), train 6; two captions an image
    for split, pairs, images in (('train', 36, 18), ('val', 6, 3), ('test', 12, 6)):
        assert f'Wrote {pairs} pairs ({images} images) to data/mine/{split}.json' in outputs[1]
    assert '3 classes; split 0.7 / 0.1 / 0.2' in outputs[1]
    for i, name, cmda in ((2, 'base_mine', False), (3, 'cmda_mine', True), (8, 'cmda_mine_feat', True)):
        assert 'Epoch(train) [4]' in outputs[i] and 'Final test metrics: accuracy/top1:' in outputs[i], name
        assert 'Epoch(val) [1]' in outputs[i] and 'Epoch(val) [4]' in outputs[i], name
        assert ('DCA fit' in outputs[i]) == cmda and ('cmda_pair_weight' in outputs[i]) == cmda, name
        dumped = Config.fromfile(str(work / 'work_dirs' / name / f'{name}.py'))
        assert dumped.val_dataloader.dataset.ann_file == 'val.json', name  # choices on val, never on test
        assert dumped.test_dataloader.dataset.ann_file == 'test.json', name
    index = (work / 'data' / 'mine' / 'feat' / 'train_captions.json').read_text()
    assert '"fit_source": "data/mine/feat/train.json"' in index and '"analyzer": "char_wb"' in index
