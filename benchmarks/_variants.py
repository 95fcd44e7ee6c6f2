"""Run specs of issue 16's study (``benchmarks/quality.py --study variants``): which CMDA variant pays off.

Rows: the fashion grid's classification rows (raw 32 px pixels, EfficientNet-Lite0 features, masked-caption
language student) and the two Wikipedia classification students. Every run is the row's ``tools/train.py`` config
(the fashion ``FashionRun`` or the Wikipedia ``Run``) plus the variant's ``--cfg-options``; nothing is trained in
another way. Variants are the ``cmda=dict(...)`` options of ``cmda_mm/core`` (docs/variants.md):

- candidates (may become a row's choice or the shipped default): the paper's step with the row's searched
  settings (``cmda``), the alignment gate, the Beta / floored pair weight, hard DCA, Mixup + CMDA, the cached
  (one forward, ``mode='replace'``) CMDA;
- controls (never chosen; they test the teacher): CMDA's weights on random partners, and Mixup whose λ
  distribution is fitted to the row's logged CMDA pair weight (mean and std of the validation CMDA run);
- checks (never chosen): ``shipped``, the row with the shipped ``cmda=dict()`` (every mixer argument at its
  default), so the default is measured as a user gets it, not only as the candidate it was chosen from.

Left out of the search, with the reason in ``LEFT_OUT`` (so the report says it): the fixed warm-up (the gate
measures what ``warmup_iters`` guesses) and same-class partners (measured before on Wikipedia without effect;
on fashion pixels 83 % of the partner weight is same-class already).
"""
import hashlib
import json
import os.path as osp
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

from _fashion_grid import FashionRun

from _quality_grid import REPO, Run

__all__ = ['StudyRow', 'STUDY_ROWS', 'CANDIDATES', 'CONTROLS', 'CHECKS', 'LEFT_OUT', 'VariantRun', 'WIKIPEDIA_HP',
           'matched_moments', 'shipped_options']

PRE = 'model.data_preprocessor.cmda.'


@dataclass(frozen=True)
class StudyRow:
    """One dataset × student row of the study."""
    key: str               # 'fashion/pixels', 'wikipedia/vision', ...
    dataset: str           # 'fashion' | 'wikipedia'
    name: str              # the fashion row or the Wikipedia student
    seeds: int             # test seeds 0..seeds-1
    train_size: int        # training split length (the cache's size)
    iters_per_epoch: int   # on the full training split, B = 128, drop_last
    val_size: int          # validation split length (the noise of a one-seed selection)


STUDY_ROWS = [
    # the raw-pixel row is issue 16's target: 5 test seeds (the issue's "5 if it fits"; ~4 min a run)
    StudyRow('fashion/pixels', 'fashion', 'pixels', 5, 6358, 49, 907),
    StudyRow('fashion/effnet', 'fashion', 'effnet', 3, 6358, 49, 907),
    StudyRow('fashion/language', 'fashion', 'language', 3, 6358, 49, 907),
    StudyRow('wikipedia/vision', 'wikipedia', 'vision', 3, 2173, 16, 435),
    StudyRow('wikipedia/language', 'wikipedia', 'language', 3, 2173, 16, 435),
]
# Wikipedia's CMDA settings as chosen on its validation split by `quality.py` (benchmarks/results/quality.md)
WIKIPEDIA_HP = {
    'vision': {'normalization': 'ratio', 'top_k': 3, 'fraction': 0.5, 'loss_weight': 0.1, 'n_components': 2},
    'language': {'normalization': 'softmax@0.5', 'top_k': 3, 'fraction': 0.25, 'loss_weight': 0.1,
                 'n_components': 2},
}

Options = Callable[[StudyRow, Dict], Dict[str, object]]  # (row, the row's searched CMDA settings)
CANDIDATES: Dict[str, Options] = {
    'cmda': lambda row, hp: {},
    'aligngate': lambda row, hp: {PRE + 'align_threshold': 0.9},
    'beta': lambda row, hp: {PRE + 'pair_weight.type': 'beta', PRE + 'pair_weight.alpha': 0.25},
    'floor': lambda row, hp: {PRE + 'pair_weight.type': 'floor', PRE + 'pair_weight.min': 0.5},
    'harddca': lambda row, hp: {PRE + 'dca_mode': 'hard'},
    'cmda+mixup': lambda row, hp: {'model.train_cfg.augments.type': 'Mixup', 'model.train_cfg.augments.alpha': 0.25},
    # replace mode with append mode's share of mixed rows: p' = p / (1 + p) (append p = 0.5 -> 1/3 of the rows)
    'cached': lambda row, hp: {PRE + 'mode': 'replace', PRE + 'cache_size': row.train_size,
                               PRE + 'fraction': round(hp.get('fraction', 0.5) / (1 + hp.get('fraction', 0.5)), 4)},
}


def shipped_options(row: StudyRow, hp: Dict) -> Dict[str, object]:
    """The row's run with the shipped ``cmda=dict()``: every ``CrossModalMixer`` argument at its default.

    Read from the mixer's signature (and ``DEFAULT_PAIR_WEIGHT``), so a changed default changes the run id and
    the study reruns it. The row keeps its model, contrastive loss weight and ``DCAHook``.
    """
    import inspect

    from cmda_mm.core import DEFAULT_PAIR_WEIGHT, CrossModalMixer  # quality.py puts the repository on the path
    opts = {PRE + k: p.default for k, p in inspect.signature(CrossModalMixer).parameters.items()
            if p.default is not None and k != 'debug'}
    opts.update({PRE + 'pair_weight.' + k: v for k, v in DEFAULT_PAIR_WEIGHT.items()})
    return opts


# checks (never chosen): the shipped default as a user gets it, measured beside the candidate it came from
CHECKS: Dict[str, Options] = {'shipped': shipped_options}
CONTROLS: Dict[str, Options] = {
    'random': lambda row, hp: {PRE + 'partners': 'random'},
    'matched': lambda row, hp: {},  # MatchedMixup: its moments come from the row's CMDA run (VariantRun.moments)
}
LEFT_OUT = {
    'warmup': 'the alignment gate measures what a fixed warm-up guesses (docs/variants.md)',
    'sameclass': 'no effect on Wikipedia before; 83 % of the pixel row\'s partner weight is same-class already',
}
DESCRIPTIONS = {
    'base': 'Base', 'mixup': '+Mixup (α 0.25)', 'cmda': '+CMDA (paper step, searched settings)',
    'aligngate': 'CMDA, alignment gate 0.9', 'beta': 'CMDA, pair weight ~ Beta(0.25)',
    'floor': 'CMDA, pair weight ≥ 0.5', 'harddca': 'CMDA, hard DCA', 'cmda+mixup': 'Mixup + CMDA',
    'cached': 'CMDA, cached embeddings (1 forward, replace p/(1+p))',
    'random': 'control: CMDA weights, random partners',
    'matched': 'control: Mixup at CMDA\'s λ',
    'shipped': 'check: the shipped `cmda=dict()` (mixer defaults, Beta(0.25) pair weight)',
}


def matched_moments(diagnostics: Dict[str, float]) -> Optional[Dict[str, float]]:
    """MatchedMixup's ``mean`` / ``std`` from a CMDA run's logged pair weight (None if not logged)."""
    mean, std = diagnostics.get('cmda_pair_weight'), diagnostics.get('cmda_pair_weight_std')
    if mean is None or not std or not 0 < mean < 1:
        return None
    # a Beta needs std² < mean (1 - mean); keep the fit valid
    std = min(float(std), 0.95 * (mean * (1 - mean)) ** 0.5)
    return {'mean': round(float(mean), 4), 'std': round(std, 4)}


@dataclass
class VariantRun:
    """One run of the study: a row's Base / Mixup / CMDA config plus a variant's options."""
    phase: str                    # 'select' (validation) | 'test' | 'regime'
    row: StudyRow
    method: str                   # 'base', 'mixup', a CANDIDATES or CONTROLS key
    seed: int
    hp: Dict = field(default_factory=dict)       # the row's searched CMDA settings
    val: bool = False
    train_fraction: Optional[float] = None
    moments: Optional[Dict[str, float]] = None   # 'matched' only
    data_roots: Dict[str, str] = field(default_factory=dict)  # dataset -> root

    task = 'cls'
    metric = 'accuracy/top1'
    epochs = None

    def __post_init__(self):
        if self.method not in ('base', 'mixup', *CANDIDATES, *CONTROLS, *CHECKS):
            raise ValueError(f'unknown study method {self.method!r}')
        if self.method == 'matched' and not self.moments:
            raise ValueError('the matched-Mixup control needs the moments of a CMDA run (matched_moments)')

    @property
    def student(self) -> str:  # the record field the report groups by
        return self.row.key

    @property
    def config_method(self) -> str:
        return {'base': 'base', 'mixup': 'mixup', 'matched': 'mixup'}.get(self.method, 'cmda')

    def _inner(self):
        """The row's own run spec (its config, seed, split and low-data options)."""
        m, hp = self.config_method, (self.hp if self.config_method == 'cmda' else {})
        # the phase of a plain Base / Mixup / CMDA run is the grids' own, so their finished runs are reused
        phase = {'select': 'hp', 'regime': 'lowdata'}.get(self.phase, self.phase)
        if self.row.dataset == 'fashion':
            return FashionRun(phase, self.row.name, m, self.seed, hp, val=self.val,
                              train_fraction=self.train_fraction)
        return Run(phase, 'cls', self.row.name, m, self.seed, hp, val=self.val, train_fraction=self.train_fraction)

    def variant_options(self) -> Dict[str, object]:
        if self.method == 'matched':
            return {'model.train_cfg.augments.type': 'MatchedMixup', 'model.train_cfg.augments.alpha': None,
                    'model.train_cfg.augments.mean': self.moments['mean'],
                    'model.train_cfg.augments.std': self.moments['std']}
        return {**CANDIDATES, **CONTROLS, **CHECKS}.get(self.method, lambda row, hp: {})(self.row, self.hp)

    @property
    def config(self) -> str:
        return self._inner().config

    @property
    def run_id(self) -> str:
        inner = self._inner().run_id
        extra = self.variant_options()
        if not extra:
            return inner  # Base / Mixup / the paper's CMDA: the grids' own run (reused with --resume)
        digest = hashlib.sha1(json.dumps(extra, sort_keys=True).encode()).hexdigest()[:6]
        return f'variant_{self.method.replace("+", "-")}_{inner}_{digest}'

    def options(self) -> Dict[str, object]:
        opts = dict(self._inner().options())
        opts.update(self.variant_options())
        return opts

    def commands(self, work_dir: str, data_root: str) -> List[List[str]]:
        import sys
        root = self.data_roots.get(self.row.dataset) or osp.join(REPO, 'data', self.row.dataset)
        opts = [f'{k}={v}' for k, v in self.options().items()]
        return [[sys.executable, 'tools/train.py', self.config, '--work-dir', work_dir, '--data-root', root,
                 '--cfg-options'] + opts]
