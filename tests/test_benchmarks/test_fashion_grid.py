"""benchmarks/_fashion_grid.py and _fashion_main.py: run options and the report tables (no training)."""
import os.path as osp
import sys

sys.path.insert(0, osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'benchmarks'))

from _fashion_grid import ROWS, FashionRun  # noqa: E402
from _fashion_main import paired_table, results_table  # noqa: E402

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_every_row_method_has_a_config():
    for row, (pattern, _, methods, _) in ROWS.items():
        for m in methods:
            assert osp.isfile(osp.join(REPO, pattern.format(m=m))), (row, m)


def test_options_seed_val_split_and_hp():
    hp = {'normalization': 'softmax@0.1', 'fraction': 1.0, 'n_components': 4}
    cls = FashionRun('hp', 'pixels', 'cmda', 100, hp, val=True).options()
    assert cls['randomness.seed'] == 100 and cls['test_dataloader.dataset.split'] == 'val'
    assert cls['model.data_preprocessor.cmda.normalization'] == 'softmax'
    assert cls['model.data_preprocessor.cmda.temperature'] == 0.1
    assert cls['custom_hooks.0.n_components'] == 4
    ad = FashionRun('hp', 'ad-pixels', 'cmda', 0, {}, val=True).options()
    assert ad['test_dataloader.dataset.eval_dataset.split'] == 'val'
    nodca = FashionRun('test', 'pixels', 'cmda-nodca', 0, hp).options()
    assert 'custom_hooks.0.n_components' not in nodca  # CMDA-DCA has no DCA hook
    base = FashionRun('test', 'pixels', 'base', 0, hp).options()
    assert not any(k.startswith('model.data_preprocessor.cmda') for k in base)
    short = FashionRun('test', 'effnet', 'base', 0, epochs=3).options()
    assert short['train_cfg.max_epochs'] == short['param_scheduler.0.T_max'] == 3


def test_run_id_is_stable_and_distinguishes_settings():
    a = FashionRun('test', 'pixels', 'cmda', 1, {'fraction': 0.5})
    assert a.run_id == FashionRun('test', 'pixels', 'cmda', 1, {'fraction': 0.5}).run_id
    assert a.run_id != FashionRun('test', 'pixels', 'cmda', 1, {'fraction': 1.0}).run_id
    assert a.run_id.startswith('fashion_test_pixels_cmda_s1_')


def _rec(method, seed, value, row='pixels'):
    return dict(student=row, method=method, seed=seed, metrics={ROWS[row][1]: value})


def test_tables_report_means_and_paired_differences():
    recs = [_rec('base', s, 80 + s) for s in range(3)] + [_rec('cmda', s, 82 + s) for s in range(3)]
    recs += [_rec('gt', s, 81 + s) for s in range(3)] + [_rec('mixup', s, 79.0 + 0.5 * s) for s in range(3)]
    table = results_table(recs, ['pixels'])
    assert '81.00 ± ' in table and '83.00 ± ' in table and '(n=3)' in table
    paired = paired_table(recs, ['pixels'])
    assert '+2.00 ± 0.00 (n=3) **(excl. 0)**' in paired  # CMDA - Base: +2 on every seed
    assert '(vs +GT)' in paired  # the best single basic augmentation by mean
    two = paired_table([r for r in recs if r['seed'] < 2], ['pixels'])
    assert '+2.00 ± 0.00 (n=2)' in two and 'excl. 0' not in two  # two seeds: a difference, never a verdict
