"""Run specs of issue 21's study (``benchmarks/quality.py --study schedule``): CMDA in the paper's own regime.

The paper trains 200 epochs and reports that Base and Mixup over-fit late while CMDA keeps rising (§IV, Figs. 6, 7,
9). This study trains the fashion raw-pixel row (narrow ResNet-18 on 32 px images, caption teacher) on a stratified
share of the training split with a schedule long enough for Base to over-fit, and asks whether a teacher-guided
mix beats Mixup there. Every run is ``tools/train.py`` on a shipped ``configs/fashion/*_resnet18w8_fashion-32px.py``
config plus ``--cfg-options`` (seed, share, epochs) and ``--test-best`` (the test accuracy of the epoch chosen on
validation beside the last epoch's); nothing is trained in another way.

Schedules (:data:`SHARES`): an equal iteration budget of ~800 SGD steps for the 10 % and 25 % shares (10 %: 200
epochs × 4 steps, the paper's epoch count and the issue's reference run; 25 %: 67 epochs × 12 steps), the same
cosine schedule stretched over it, validation at ≥ 10 points. The report shows that Base has over-fitted well
before the end (its final training loss, its validation peak and plateau).

Methods (:data:`METHODS`): the baselines, the paper's CMDA step and the shipped default (and its one-forward cached
form), the controls at matched strength / share, and issue 21's teacher-guided cross-class variants
(:data:`CANDIDATES`, ``configs/fashion/cmda-x*``), each with the random-partner control of the same strength and
share (:data:`CONTROL_OF`).
"""
import hashlib
import json
import sys
from dataclasses import dataclass
from typing import Dict, List, Optional

__all__ = ['SHARES', 'METHODS', 'CANDIDATES', 'CONTROL_OF', 'DESCRIPTIONS', 'ScheduleRun', 'shipped_options']

PIXELS = 'configs/fashion/{}_resnet18w8_fashion-32px.py'
AD = 'configs/fashion/{}_resnet18w8_fashion-ad-32px.py'
PRE = 'model.data_preprocessor.cmda.'
TRAIN_SIZE = 6358  # the prepared fashion training split (the cache's size; subsets index below it)

# share of the training split -> (epochs, validation interval): ~800 SGD steps each (B = 128, drop_last)
SHARES = {0.1: (200, 10), 0.25: (67, 4)}
# the full split at the configs' own 20 epochs (980 steps, where Base already over-fits: fashion.md) and longer
FULL = {1.0: (20, 2)}


def shipped_options() -> Dict[str, object]:
    """``cmda=dict()`` as a user gets it: every ``CrossModalMixer`` argument at its default (read from the
    signature and ``DEFAULT_PAIR_WEIGHT``, so a changed default changes the run id and the study reruns it)."""
    import inspect

    from cmda_mm.core import DEFAULT_PAIR_WEIGHT, CrossModalMixer  # quality.py puts the repository on the path
    opts = {PRE + k: p.default for k, p in inspect.signature(CrossModalMixer).parameters.items()
            if p.default is not None and k != 'debug'}
    opts.update({PRE + 'pair_weight.' + k: v for k, v in DEFAULT_PAIR_WEIGHT.items()})
    return opts


# method -> (config name, extra --cfg-options); the options of 'shipped' are read when the run is built
METHODS: Dict[str, tuple] = {
    'base': ('base', {}),
    'mixup': ('mixup', {}),
    'cutmix': ('cutmix', {}),
    'cmda': ('cmda', {}),                      # the paper's step, as the shipped config states it (p = 0.5, append)
    'shipped': ('cmda', None),                 # cmda=dict(): Beta(0.25) pair weight, p = 1, append (2 forwards)
    # the shipped default's cheaper form: one forward of B rows (replace), weights from the embedding cache,
    # half of the rows mixed (append p = 1 trains on B real + B new rows: a share of 1/2)
    'cached': ('cmda-cached', {PRE + 'pair_weight.type': 'beta', PRE + 'pair_weight.alpha': 0.25,
                               PRE + 'fraction': 0.5, PRE + 'cache_size': TRAIN_SIZE}),
    'cmda+mixup': ('cmda-mixup', {}),
    'random': ('cmda-random', {}),             # control: the paper step's weights on random partners
    'matched': ('mixup-matched', {}),          # control: Mixup at CMDA's strength (every row mixed)
    # control: Mixup at CMDA's strength AND share (append p = 0.5: 1/3 of the trained rows are new samples)
    'matched-share': ('mixup-matched', {'model.train_cfg.augments.fraction': 0.3333}),
    # issue 21's teacher-guided cross-class variants (Mixup's strength and share, the teacher's partner)
    'xclass': ('cmda-xclass', {}),
    'xsampled': ('cmda-xsampled', {}),
    'xclass-random': ('cmda-xclass-random', {}),  # their control: a random other-class partner
}
CANDIDATES = ('xclass', 'xsampled')
CONTROL_OF = {'xclass': 'xclass-random', 'xsampled': 'xclass-random'}
DESCRIPTIONS = {
    'base': 'Base (flip)', 'mixup': '+Mixup (α 0.25)', 'cutmix': '+CutMix (α 1)',
    'cmda': '+CMDA, the paper\'s step (p 0.5, append)', 'shipped': 'CMDA shipped `cmda=dict()` (Beta(0.25), p 1)',
    'cached': 'CMDA shipped, cached one-forward form (replace ½)', 'cmda+mixup': 'Mixup + CMDA',
    'random': 'control: CMDA weights, random partners', 'matched': 'control: Mixup at CMDA\'s strength',
    'matched-share': 'control: Mixup at CMDA\'s strength and share (⅓)',
    'xclass': 'teacher\'s top other-class partner, Mixup strength/share',
    'xsampled': 'teacher-sampled other-class partner (τ 0.1), Mixup strength/share',
    'xclass-random': 'control: random other-class partner, Mixup strength/share',
}
AD_METHODS = ('base', 'mixup', 'cmda')


@dataclass
class ScheduleRun:
    """One run of the study: a method on a share of the training split with its long schedule."""
    phase: str                 # 'select' (validation split) | 'test' | 'ad'
    method: str                # a key of METHODS
    seed: int
    share: float               # stratified share of every class of the training split
    epochs: int
    val_interval: int
    val: bool = False          # test loop on the validation split (selection runs)

    hp = {}
    metric = 'accuracy/top1'
    resumable = True           # an interrupted run continues from its last checkpoint (``_quality_grid.execute``)

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(f'unknown study method {self.method!r}')
        if self.phase == 'ad':
            if self.method not in AD_METHODS:
                raise ValueError(f'anomaly detection runs {AD_METHODS}, got {self.method!r}')
            self.metric = 'anomaly/auroc'

    # the record fields the shared helpers read
    @property
    def task(self) -> str:
        return 'ad' if self.phase == 'ad' else 'cls'

    @property
    def student(self) -> str:
        return 'ad-pixels' if self.phase == 'ad' else 'pixels'

    @property
    def train_fraction(self) -> Optional[float]:
        return None if self.share >= 1 else self.share

    @property
    def config(self) -> str:
        return (AD if self.phase == 'ad' else PIXELS).format(METHODS[self.method][0])

    def variant_options(self) -> Dict[str, object]:
        extra = METHODS[self.method][1]
        return shipped_options() if extra is None else dict(extra)

    @property
    def run_id(self) -> str:
        key = json.dumps([self.share, self.epochs, self.val_interval, self.val, self.variant_options()],
                         sort_keys=True)
        digest = hashlib.sha1(key.encode()).hexdigest()[:8]
        return f'schedule_{self.phase}_{self.method.replace("+", "-")}_{int(self.share * 100)}pct_s{self.seed}_' \
               f'{digest}'

    def options(self) -> Dict[str, object]:
        e = self.epochs
        opts = {'randomness.seed': self.seed, 'train_cfg.max_epochs': e, 'train_cfg.val_interval': self.val_interval,
                'param_scheduler.0.T_max': e, 'param_scheduler.0.end': e,
                'default_hooks.checkpoint.interval': max(1, e // 4), 'default_hooks.checkpoint.max_keep_ckpts': 1}
        if self.train_fraction is not None:  # the same subset for every method of one seed
            opts.update({'train_dataloader.dataset.train_fraction': self.share,
                         'train_dataloader.dataset.train_fraction_seed': self.seed})
        if self.val:
            opts['test_dataloader.dataset.split'] = 'val'
        opts.update(self.variant_options())
        return opts

    def commands(self, work_dir: str, data_root: str) -> List[List[str]]:
        opts = [f'{k}={v}' for k, v in self.options().items()]
        return [[sys.executable, 'tools/train.py', self.config, '--work-dir', work_dir, '--data-root', data_root,
                 '--test-best', '--cfg-options'] + opts]
