"""docs/custom_dataset.md runs as written: its commands and configs, on tiny generated images with French captions.

The bash blocks run line by line (``python`` = this interpreter) in a scratch folder holding links to the
repository's tools and a copy of its configs; each python block that starts with ``# configs/...`` is saved
there. Only the data is made here, in the layout the document describes.
"""
import os
import re
import shlex
import shutil
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
    """data/mine as the document describes: photos/, train.csv (2 captions per image), test.csv, classes.txt."""
    rng = np.random.default_rng(0)
    (root / 'photos').mkdir(parents=True)
    centres = [(14, 14), (34, 34), (24, 24)]
    n = 0
    for split, per_class, captions in (('train', 6, 2), ('test', 3, 1)):
        rows = ['image,caption,label']
        for label, noun in SHAPES.items():
            for i in range(per_class):
                colour = list(COLOURS)[(i + n) % 3]
                place = (i + 2 * n) % 3
                n += 1
                name = f'photos/{n:04d}.jpg'
                cv2.imwrite(str(root / name), draw(label, COLOURS[colour], centres[place], rng))
                texts = [f'{noun} {colour} {PLACES[place]}', f'une forme {colour}, {label}']
                rows += [f'{name},"{t}",{label}' for t in texts[:captions]]
        (root / f'{split}.csv').write_text('\n'.join(rows) + '\n', encoding='utf-8')
    (root / 'classes.txt').write_text('\n'.join(SHAPES) + '\n', encoding='utf-8')


def blocks(kind: str):
    return re.findall(rf'```{kind}\n(.*?)```', DOC.read_text(encoding='utf-8'), re.DOTALL)


def test_walk_through_runs_as_written(tmp_path):
    work = tmp_path / 'repo'
    work.mkdir()
    os.symlink(REPO / 'tools', work / 'tools')
    shutil.copytree(REPO / 'configs', work / 'configs')
    make_data(work / 'data' / 'mine')
    configs = [b for b in blocks('python') if b.startswith('# configs/')]
    assert len(configs) == 2
    for block in configs:
        path = work / block.splitlines()[0][2:].strip()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(block, encoding='utf-8')
    commands = [line for b in blocks('bash') for line in b.splitlines() if line.strip()]
    assert len(commands) == 2 + 1 + 5  # convert x2, train; the feature variant
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS='1')
    outputs = []
    for command in commands:
        argv = shlex.split(command)
        assert argv[0] == 'python', command
        proc = subprocess.run([sys.executable, *argv[1:]], cwd=work, env=env, capture_output=True, text=True,
                              timeout=600)
        assert proc.returncode == 0, f'{command}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}'
        outputs.append(proc.stdout + proc.stderr)
    assert 'Wrote 36 pairs (18 images, 3 classes)' in outputs[0]
    assert 'Wrote 9 pairs (9 images, 3 classes)' in outputs[1]
    for i in (2, 7):  # both trainings end with the test metrics, after 4 epochs
        assert 'Epoch(train) [4]' in outputs[i] and 'Final test metrics: accuracy/top1:' in outputs[i]
        assert 'DCA fit' in outputs[i]
    index = (work / 'data' / 'mine' / 'train_captions.json').read_text()
    assert '"fit_source": "data/mine/train_feat.json"' in index and '"analyzer": "char_wb"' in index
