"""The fashion-products grid of ``benchmarks/quality.py --dataset fashion`` (real photos + product-name captions).

Rows (each a ``configs/fashion/{method}_{row}.py`` family, every run ``tools/train.py`` in a subprocess):

- ``pixels``: classification, vision student on raw 32 px pixels (narrow ResNet-18 from scratch), text teacher;
  Base (flip) / +Mixup / +CutMix / +GT / +PT / +ID (paper Table III) / +CMDA / CMDA−DCA / CMDA with masked captions;
- ``effnet``: classification, vision student on frozen EfficientNet-Lite0 features (MLP), text teacher;
- ``language``: classification, language student (MiniLM of masked captions), image teacher;
- ``ad-pixels``: anomaly detection (6 largest types normal, 24 abnormal), raw 32 px pixels, SSD (+ Mixup / CMDA).

CMDA's hyper-parameters are chosen per row on the validation split (the prepared ``val`` part; search runs test
on it) by a greedy one-coordinate-at-a-time search over ``HP_GRID[row]``; CMDA−DCA and CMDA-masked reuse them;
anomaly detection reuses the pixel row's choice. Reported: the last epoch's test metric over seeds.
"""
import hashlib
import json
import sys
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from _quality_grid import hp_options

__all__ = ['ROWS', 'HP_GRID', 'FashionRun', 'PIXEL_BASELINES']

# row -> (config pattern, metric, methods, default number of seeds)
ROWS = {
    'pixels': ('configs/fashion/{m}_resnet18w8_fashion-32px.py', 'accuracy/top1',
               ['base', 'mixup', 'cutmix', 'gt', 'pt', 'id', 'cmda', 'cmda-nodca', 'cmda-masked'], 3),
    'effnet': ('configs/fashion/{m}_mlp_fashion-vision.py', 'accuracy/top1',
               ['base', 'mixup', 'cmda', 'cmda-nodca', 'cmda-masked'], 5),
    'language': ('configs/fashion/{m}_mlp_fashion-language.py', 'accuracy/top1',
                 ['base', 'mixup', 'cmda', 'cmda-nodca'], 5),
    'ad-pixels': ('configs/fashion/{m}_resnet18w8_fashion-ad-32px.py', 'anomaly/auroc',
                  ['base', 'mixup', 'cmda'], 3),
}
PIXEL_BASELINES = ['gt', 'pt', 'id', 'cutmix']  # "the best single basic augmentation" of the paired comparisons
# Greedy search on the validation split, one coordinate at a time from the configs' defaults (first value).
HP_GRID = {
    'pixels': {'normalization': ['ratio', 'softmax@0.1'], 'fraction': [0.5, 1.0]},
    'effnet': {'normalization': ['ratio', 'softmax@0.1'], 'top_k': [3, 5], 'fraction': [0.5, 1.0],
               'loss_weight': [0.1, 0.5]},
    'language': {'normalization': ['ratio', 'softmax@0.1'], 'top_k': [3, 5], 'fraction': [0.5, 1.0],
                 'loss_weight': [0.1, 0.5]},
}
HP_ROW_OF = {'ad-pixels': 'pixels'}  # anomaly detection reuses the pixel row's choice (no val search of its own)
CMDA_METHODS = ('cmda', 'cmda-nodca', 'cmda-masked')


@dataclass
class FashionRun:
    """One training run of the fashion grid."""
    phase: str          # 'hp' | 'test'
    row: str            # key of ROWS
    method: str
    seed: int
    hp: Dict = field(default_factory=dict)
    val: bool = False   # evaluate the test loop on the validation split (search runs)
    epochs: Optional[int] = None
    train_fraction: Optional[float] = None  # low-data regime: a stratified share of every class of train

    # the record fields the shared report helpers read
    @property
    def task(self) -> str:
        return 'ad' if self.row.startswith('ad') else 'cls'

    @property
    def student(self) -> str:
        return self.row

    @property
    def metric(self) -> str:
        return ROWS[self.row][1]

    @property
    def config(self) -> str:
        return ROWS[self.row][0].format(m=self.method)

    @property
    def run_id(self) -> str:
        fields = [self.hp, self.val, self.epochs]
        if self.train_fraction is not None:  # appended only when set: earlier run ids stay valid
            fields.append(self.train_fraction)
        key = json.dumps(fields, sort_keys=True)
        digest = hashlib.sha1(key.encode()).hexdigest()[:8]
        return f'fashion_{self.phase}_{self.row}_{self.method}_s{self.seed}_{digest}'

    def options(self) -> Dict[str, object]:
        opts = {'randomness.seed': self.seed, 'default_hooks.checkpoint.max_keep_ckpts': 1}
        if self.epochs:
            opts.update({'train_cfg.max_epochs': self.epochs, 'param_scheduler.0.T_max': self.epochs,
                         'param_scheduler.0.end': self.epochs})
        if self.train_fraction is not None:  # the same subset for every method of one seed
            opts.update({'train_dataloader.dataset.train_fraction': self.train_fraction,
                         'train_dataloader.dataset.train_fraction_seed': self.seed})
        if self.val:
            key = 'eval_dataset.split' if self.task == 'ad' else 'split'
            opts[f'test_dataloader.dataset.{key}'] = 'val'
        if self.method in CMDA_METHODS:
            hp = dict(self.hp)
            if self.method == 'cmda-nodca':
                hp.pop('n_components', None)
            opts.update(hp_options(hp))
        return opts

    def commands(self, work_dir: str, data_root: str) -> List[List[str]]:
        opts = [f'{k}={v}' for k, v in self.options().items()]
        return [[sys.executable, 'tools/train.py', self.config, '--work-dir', work_dir, '--data-root', data_root,
                 '--cfg-options'] + opts]
