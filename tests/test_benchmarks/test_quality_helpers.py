"""Pure helpers of benchmarks/quality.py: CI math, log/scalars parsing, run options, table rendering."""
import json
import math
import os.path as osp
import sys

import numpy as np
import pytest
from scipy import stats

sys.path.insert(0, osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'benchmarks'))

from _quality_grid import Run, hp_options, low_data_options, split_options  # noqa: E402
from _quality_report import low_data_table, results_table, verdicts  # noqa: E402
from _quality_stats import (best_by, eval_curve, fmt_ci, last_diagnostics, mean_ci, paired_diff,  # noqa: E402
                            parse_final_metrics, parse_scalars, render_table)


def test_mean_ci_matches_scipy():
    vals = [52.1, 54.3, 50.9, 55.0, 53.2]
    mean, half, n = mean_ci(vals)
    lo, hi = stats.t.interval(0.95, len(vals) - 1, loc=np.mean(vals), scale=stats.sem(vals))
    assert n == 5
    assert mean == pytest.approx(np.mean(vals))
    assert mean - half == pytest.approx(lo) and mean + half == pytest.approx(hi)
    _, half90, _ = mean_ci(vals, confidence=0.9)
    assert half90 < half
    assert math.isnan(mean_ci([3.0])[1]) and mean_ci([])[2] == 0


def test_fmt_ci():
    assert fmt_ci([1.0, 3.0]).startswith('2.00 ± 12.71 (n=2)')
    assert fmt_ci([]) == '—'
    assert fmt_ci([0.5], scale=100) == '50.00 (n=1)'


def test_parse_final_metrics():
    log = ('11/29 00:57:30 - mmengine - INFO - Epoch(test) [3/3] accuracy/top1: 27.0\n'
           '11/29 00:57:32 - mmengine - INFO - Final test metrics: accuracy/top1: 27.8499\n'
           '11/29 00:58:32 - mmengine - INFO - Final test metrics: anomaly/auroc: 0.7312, anomaly/fpr95: 0.81, '
           'note: text\n')
    m = parse_final_metrics(log)
    assert m == {'anomaly/auroc': pytest.approx(0.7312), 'anomaly/fpr95': pytest.approx(0.81)}
    with pytest.raises(ValueError, match='Final test metrics'):
        parse_final_metrics('Epoch(train) [1][1/17] loss: 2.3')


def test_parse_scalars_curve_and_diagnostics(tmp_path):
    lines = [dict(lr=0.01, loss=2.0, cmda_pair_weight=0.1, epoch=1, iter=10, step=10),
             dict(**{'accuracy/top1': 20.0}, step=1),
             dict(lr=0.01, loss=1.5, cmda_pair_weight=0.3, cmda_dca_shift=0.02, epoch=2, iter=27, step=27),
             dict(lr=0.01, loss=1.4, loss_contrastive=0.2, cmda_pair_weight=0.5, cmda_dca_shift=0.04, epoch=2,
                  iter=34, step=34),
             dict(**{'accuracy/top1': 25.5}, step=2)]
    path = tmp_path / 'scalars.json'
    path.write_text('\n'.join(json.dumps(x) for x in lines) + '\n\n')
    train, evals = parse_scalars(str(path))
    assert len(train) == 3 and len(evals) == 2
    assert eval_curve(evals, 'accuracy/top1') == {1: 20.0, 2: 25.5}
    assert eval_curve(evals, 'anomaly/auroc') == {}
    diag = last_diagnostics(train)
    assert diag == {'cmda_pair_weight': pytest.approx(0.4), 'cmda_dca_shift': pytest.approx(0.03),
                    'loss_contrastive': pytest.approx(0.2)}
    assert last_diagnostics([]) == {}


def test_render_table_and_best():
    md = render_table(['r1', 'r2'], ['A', 'B'], {('r1', 'A'): '1', ('r2', 'B'): '2'}, first='x')
    assert md.splitlines() == ['| x | A | B |', '|---|---|---|', '| r1 | 1 | — |', '| r2 | — | 2 |']
    assert best_by({'a': [1, 2], 'b': [3, -1], 'c': []}) == 'a'
    assert best_by({'a': [1, 2], 'b': [3, -1]}, higher=False) == 'b'


def _rec(method, value, seed):
    return dict(task='cls', student='vision', method=method, seed=seed, metrics={'accuracy/top1': value})


def test_results_table_and_verdicts():
    recs = [_rec('base', v, i) for i, v in enumerate([50.0, 51.0, 52.0])] + \
        [_rec('cmda', v, i) for i, v in enumerate([49.0, 50.0, 51.5])] + [dict(_rec('mixup', 0, 0), error='x')]
    del recs[-1]['metrics']
    md = results_table(recs, [('cls', 'vision')])
    row = next(line for line in md.splitlines() if line.startswith('| Classification, vision'))
    assert '51.00 ± 2.48 (n=3)' in row and '50.17 ±' in row
    assert '53.39 ± 2.49' in md  # the paper's Base
    text = verdicts(recs, [('cls', 'vision')])[0]
    # the unpaired CIs overlap, but CMDA is below Base on every seed: the paired CI excludes 0
    assert 'does NOT beat Base (-0.83, CIs overlap; paired Δ -0.83 ± 0.72 over 3 seeds, CI excludes 0)' in text
    assert 'Mixup' not in text


def test_paired_diff_uses_common_seeds_only():
    mean, half, n = paired_diff({0: 3.0, 1: 5.0, 2: 4.0, 7: 100.0}, {0: 1.0, 1: 2.0, 2: 3.0})
    diffs = [2.0, 3.0, 1.0]
    assert n == 3 and mean == pytest.approx(2.0)
    assert half == pytest.approx(stats.t.ppf(0.975, 2) * np.std(diffs, ddof=1) / math.sqrt(3))
    assert paired_diff({0: 1.0}, {1: 1.0})[2] == 0


def test_low_data_runs_and_table():
    run = Run('lowdata', 'cls', 'language', 'cmda', 3, {'top_k': 5}, train_fraction=0.1)
    opts = run.options()
    assert opts['train_dataloader.dataset.split'] == 'train_sub'
    assert opts['train_dataloader.dataset.val_fraction'] == 0.9 and opts['train_dataloader.dataset.val_seed'] == 3
    assert 'test_dataloader.dataset.split' not in opts  # evaluated on the official test set
    # run ids of runs without a train fraction are unchanged by the new field (resumable grids)
    plain = Run('test', 'cls', 'vision', 'base', 0)
    assert plain.run_id == 'test_cls_vision_base_s0_' + __import__('hashlib').sha1(
        json.dumps([{}, False, None, 5], sort_keys=True).encode()).hexdigest()[:8]
    assert Run('lowdata', 'cls', 'vision', 'base', 0, train_fraction=0.25).run_id != plain.run_id.replace(
        'test', 'lowdata', 1)
    with pytest.raises(ValueError, match='classification only'):
        low_data_options('ad', 0.1, 0)
    with pytest.raises(ValueError, match='fraction'):
        low_data_options('cls', 1.0, 0)
    recs = [dict(_rec(m, v + i, i), train_fraction=0.1)
            for m, v in (('base', 40.0), ('cmda', 42.0), ('mixup', 41.0)) for i in range(3)]
    md = low_data_table(recs)
    row = md.splitlines()[2]
    assert row.startswith('| Classification, vision (SIFT-128), 10 % of train | 41.00 ± 2.48 (n=3) | 42.00 ±')
    assert row.endswith('| +2.00 ± 0.00 * | +1.00 ± 0.00 * |')


def test_run_options_and_splits():
    run = Run('hp', 'cls', 'vision', 'cmda', 3, {'normalization': 'softmax@0.5', 'top_k': 5,
                                                 'n_components': 4}, val=True, epochs=20)
    opts = run.options()
    assert opts['randomness.seed'] == 3 and opts['train_cfg.max_epochs'] == 20
    assert opts['param_scheduler.0.T_max'] == 20
    assert opts['model.data_preprocessor.cmda.normalization'] == 'softmax'
    assert opts['model.data_preprocessor.cmda.temperature'] == 0.5
    assert opts['custom_hooks.0.n_components'] == 4
    assert opts['train_dataloader.dataset.split'] == 'train_sub' and opts['test_dataloader.dataset.split'] == 'val'
    assert run.config == 'configs/wikipedia/cmda_mlp_wikipedia-vision.py'
    nodca = Run('test', 'ad', 'language', 'cmda-nodca', 0, {'n_components': 4, 'top_k': 5})
    assert 'custom_hooks.0.n_components' not in nodca.options()
    assert nodca.config == 'configs/anomaly/cmda-nodca_mlp_wikipedia-ad-language.py'
    ad = split_options('ad', True)
    assert ad['val_dataloader.dataset.eval_dataset.split'] == 'val'
    assert ad['train_dataloader.dataset.dataset.split'] == 'train_sub' and split_options('ad', False) == {}
    assert hp_options({'loss_weight': 0.5}) == {'model.contrastive_loss.loss_weight': 0.5}
    assert Run('test', 'cls', 'vision', 'base', 0).run_id != Run('test', 'cls', 'vision', 'base', 0, val=True).run_id


def test_split_options_build_real_configs(tmp_path):
    """The val-split cfg-options reach the datasets of the real configs (parsed, not trained)."""
    from mmengine.config import Config
    root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    for run in (Run('hp', 'cls', 'language', 'cmda', 0, {'top_k': 5}, val=True),
                Run('hp', 'ad', 'vision', 'cmda', 0, {'fraction': 0.25}, val=True)):
        cfg = Config.fromfile(osp.join(root, run.config))
        cfg.merge_from_dict(run.options())
        ds = cfg.test_dataloader.dataset
        if run.task == 'cls':
            assert (ds.split, ds.val_fraction) == ('val', 0.2)
            assert cfg.model.data_preprocessor.cmda.top_k == 5
        else:
            assert (ds.dataset.split, ds.eval_dataset.split) == ('train_sub', 'val')
            assert cfg.model.data_preprocessor.cmda.fraction == 0.25


def test_diagnostics_table_means_over_seeds():
    from _quality_report import diagnostics_table
    recs = [dict(_rec('cmda', 50.0, s), diagnostics={'cmda_pair_weight': w, 'loss_contrastive': 0.1})
            for s, w in enumerate([0.2, 0.4])] + [_rec('base', 50.0, 0)]
    md = diagnostics_table(recs, [('cls', 'vision')])
    row = md.splitlines()[2]
    assert row.startswith('| Classification, vision (SIFT-128) / +CMDA | 0.300 |')
    assert row.endswith('| 0.100 |') and len(md.splitlines()) == 3  # Base has no diagnostics row


def test_shared_diagnostics_table_ci_skips_and_short_names():
    from _quality_stats import diagnostics_table as diag_table
    groups = [('a', [{'diagnostics': {'cmda_pair_weight': 0.2, 'loss_contrastive': 1.0}},
                     {'diagnostics': {'cmda_pair_weight': 0.4}}, {'diagnostics': {}}]),
              ('none', [{'diagnostics': {}}, {'diagnostics': None}, {'seed': 0}]),  # no diagnostics: no row
              ('b', [{'diagnostics': {'cmda_pair_weight': 0.5}}])]
    keys = ['cmda_pair_weight', 'cmda_dca_shift', 'loss_contrastive']
    half = stats.t.ppf(0.975, 1) * 0.1  # two values 0.2, 0.4: sem = stdev / sqrt(2) = 0.1
    assert diag_table(groups, keys, first='run / method', ci=True).splitlines() == [
        '| run / method | cmda_pair_weight | cmda_dca_shift | loss_contrastive |', '|---|---|---|---|',
        f'| a | 0.300 ± {half:.3f} | — | 1.000 |',  # one value: the mean only, even with ci
        '| b | 0.500 | — | — |']
    md = diag_table(groups, keys, first='run', short=True).splitlines()
    assert md[0] == '| run | pair_weight | dca_shift | loss_contrastive |'
    assert md[2:] == ['| a | 0.300 | — | 1.000 |', '| b | 0.500 | — | — |']  # no ci: mean only
    assert diag_table([('none', [])], keys, first='x').splitlines()[2:] == []
