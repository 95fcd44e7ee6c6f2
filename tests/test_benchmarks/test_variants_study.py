"""benchmarks/_variants.py and _variants_main.py: run options that build real models, selection, verdicts."""
import os.path as osp
import sys

import pytest

sys.path.insert(0, osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'benchmarks'))

from _variants import CANDIDATES, CHECKS, CONTROLS, STUDY_ROWS, VariantRun, matched_moments  # noqa: E402
from _variants_main import choose_default, regime_verdict, select  # noqa: E402

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
HP = {'normalization': 'softmax@0.5', 'top_k': 3, 'fraction': 0.25, 'loss_weight': 0.5, 'n_components': 2}


@pytest.mark.parametrize('row', STUDY_ROWS, ids=lambda r: r.key)
def test_every_method_builds_its_model_with_the_options(row):
    """Each variant's --cfg-options land in the row's config and the model is built with them."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import cmda_mm  # noqa: F401  (registers the components)
    from cmda_mm.registry import MODELS
    init_default_scope('cmda_mm')
    moments = {'mean': 0.43, 'std': 0.1}
    from cmda_mm.core import CrossModalMixer
    for method in ['base', 'mixup', *CANDIDATES, *CONTROLS, *CHECKS]:
        run = VariantRun('select', row, method, 100, HP, val=True, moments=moments)
        cfg = Config.fromfile(osp.join(REPO, run.config))
        cfg.merge_from_dict(run.options())
        model = MODELS.build(cfg.model)
        cmda = getattr(model.data_preprocessor, 'cmda', None)
        if method in ('base', 'mixup', 'matched'):
            assert cmda is None, method
        else:
            assert cmda is not None, method
        if method == 'matched':
            aug = model.data_preprocessor.batch_augments.augments[0]
            assert type(aug).__name__ == 'MatchedMixup'
        if method == 'cached':  # replace mode keeps append mode's share of mixed rows: p / (1 + p)
            assert cmda.cache_size == row.train_size and cmda.mode == 'replace' and cmda.fraction == 0.2
        if method == 'random':
            assert cmda.partners == 'random'
        if method == 'harddca':
            assert cmda.dca_mode == 'hard'
        if method == 'beta':
            assert cmda.pair_weight == {'type': 'beta', 'alpha': 0.25}
        if method == 'aligngate':
            assert cmda.align_threshold == 0.9
        if method == 'cmda':  # the configs state the paper's step (the teacher's pair weight)
            assert cmda.pair_weight is None
        if method == 'shipped':  # the row's config with cmda=dict(): the mixer as its defaults build it
            assert cmda.extra_repr() == CrossModalMixer(seed=cmda.seed).extra_repr()
            assert cmda.pair_weight == {'type': 'beta', 'alpha': 0.25}
        if method == 'cmda+mixup':
            assert type(model.data_preprocessor.batch_augments.augments[0]).__name__ == 'Mixup'
        if method in CANDIDATES:  # the searched settings reach every CMDA variant
            assert cmda.top_k == 3 and (cmda.fraction == 0.25 or method == 'cached')


def test_run_ids_reuse_the_grids_plain_runs_and_separate_variants():
    row = STUDY_ROWS[0]
    plain = VariantRun('test', row, 'cmda', 0, HP)
    assert plain.run_id == plain._inner().run_id  # the fashion grid's own run: reused with --resume
    ids = {VariantRun('test', row, m, 0, HP, moments={'mean': 0.4, 'std': 0.1}).run_id
           for m in ['base', 'mixup', *CANDIDATES, *CONTROLS]}
    assert len(ids) == 2 + len(CANDIDATES) + len(CONTROLS)
    low = VariantRun('regime', row, 'cmda', 0, HP, train_fraction=0.1)
    assert low.options()['train_dataloader.dataset.train_fraction'] == 0.1 and low.run_id != plain.run_id
    with pytest.raises(ValueError, match='moments'):
        VariantRun('test', row, 'matched', 0, HP)
    with pytest.raises(ValueError, match='unknown study method'):
        VariantRun('test', row, 'nope', 0, HP)


def test_selection_default_and_verdicts():
    val = {'a': {'base': 80.0, 'mixup': 81.0, 'cmda': 82.0, 'beta': 80.5, 'random': 90.0},
           'b': {'base': 70.0, 'mixup': 69.0, 'cmda': 68.0, 'beta': 70.2}}
    assert select(val) == {'a': 'cmda', 'b': 'beta'}  # controls (random) are never chosen
    default = choose_default(val)
    assert default['method'] == 'beta' and default['worst_margin'] == pytest.approx(0.2)
    assert regime_verdict({0: 2.0, 1: 2.1, 2: 1.9}, {0: 1.0, 1: 1.0, 2: 1.0}).startswith('beats (+1.00')
    assert regime_verdict({0: 0.0, 1: 0.1, 2: -0.1}, {0: 1.0, 1: 1.0, 2: 1.0}).startswith('loses')
    assert regime_verdict({0: 2.0, 1: 0.0, 2: 1.0}, {0: 1.0, 1: 1.0, 2: 1.0}).startswith('ties')
    assert regime_verdict({0: 1.0}, {0: 0.0}) == '—'


def test_matched_moments_keep_a_valid_beta():
    assert matched_moments({'cmda_pair_weight': 0.43, 'cmda_pair_weight_std': 0.1}) == {'mean': 0.43, 'std': 0.1}
    wide = matched_moments({'cmda_pair_weight': 0.5, 'cmda_pair_weight_std': 0.6})
    assert wide['std'] < 0.5  # std² < mean (1 - mean)
    assert matched_moments({'cmda_pair_weight': 0.43}) is None
