"""``benchmarks/results/quality.md`` of ``benchmarks/quality.py``: table, paper numbers, notes, plots."""
import os.path as osp
import platform
import statistics
from typing import List

from _quality_report import ROW_NAMES, diagnostics_table, low_data_table, results_table, verdicts

__all__ = ['write_markdown']

NOTES = """\
What differs from the paper:
- **Features.** The paper used VGG-19 image features and Doc2Vec text features; the copy here has only the
  dataset's original SIFT-128 bag-of-visual-words (vision student) and all-MiniLM-L6-v2 sentence embeddings
  (language student, and the teacher of the vision student; SIFT is the teacher of the language student).
  SIFT-128 is far weaker (1-NN 18.6 %) than VGG-19, MiniLM stronger than Doc2Vec, so absolute numbers are
  not comparable, only the ordering of the methods within a row.
- **Splits.** Classification: the official 2,173 / 693 split (the paper reports 2,273 / 593). Anomaly
  detection: normal = royalty + sport + warfare (the only 3 classes summing to the paper's 921), trained on
  the 705 normal training pairs, evaluated on the 693 test pairs (216 normal, 477 anomalies).
- **Reporting.** The LAST epoch's test number (no best-epoch picking), mean ± 95 % Student-t CI over
  seeds (the paper's ± is a 95 % CI "over tasks"). Hyper-parameters were chosen on a 20 % stratified
  validation split of the training list, never on the test set (see "Hyper-parameters").
- **Schedule.** Configs: SGD lr 0.01, momentum 0.9, wd 1e-4, batch 128, cosine; classification 100 epochs,
  anomaly 50 epochs (the paper: 200). CMDA (offline) aligner: the same number of epochs as its downstream run.
"""


def _hp_section(summary: dict) -> List[str]:
    lines = ['## Hyper-parameters', '',
             f'Candidate grid (greedy, one coordinate at a time in this order, from the first value; '
             f'val split = {int(summary["val_fraction"] * 100)} % of each class of the training list, '
             f'search seeds {summary["hp_search_seeds"]}, '
             f'{summary.get("hp_epochs") or "no"} epochs per search run): ']
    for key, cands in summary['hp_grid'].items():
        lines.append(f'- `{key}` ∈ {cands}')
    lines += ['', '| task/student | chosen | val trace (mean per candidate) |', '|---|---|---|']
    for row, res in summary['hp'].items():
        trace = res['trace']
        if isinstance(trace, str):
            text = trace
        else:
            text = '; '.join(f'{t["key"]}: ' + ', '.join(
                f'{c}={statistics.fmean(v):.2f}' for c, v in t['val_scores'].items() if v) for t in trace)
        lines.append(f'| {row} | `{res["chosen"]}` | {text} |')
    return lines


def write_markdown(args, summary: dict, rows: List[tuple], records: List[dict], pngs: List[str],
                   elapsed: float) -> str:
    """The whole report as one markdown string."""
    covered = ', '.join(ROW_NAMES[r].split(' —')[0] for r in rows)
    run_min = sum(r.get('wall_s', 0) for r in records) / 60
    mode = ('**--quick**: classification only, 2 seeds, 50 epochs (not the configs\' 100), no '
            'hyper-parameter search (config defaults), no M ablation. ' if args.quick else '')
    lines = ['# CMDA on Wikipedia: quality grid (`benchmarks/quality.py`)', '',
             f'{mode}Rows covered: {covered}. Seeds {summary["seeds"]}; epochs: {summary["epochs"]}. '
             f'Σ wall time of the reported test runs {run_min:.1f} min (this invocation {elapsed / 60:.1f} min, '
             f'`--resume` reuses finished runs) on {platform.machine()} CPU (`--jobs {args.jobs}`, '
             'OMP_NUM_THREADS=1, shared machine). Every run = `tools/train.py` on the configs in '
             '`configs/wikipedia/`, `configs/anomaly/`, `configs/offline/` (+ `tools/augment_offline.py`).', '',
             '## Results (last epoch, mean ± 95 % CI, n = seeds)', '',
             results_table(records, rows), '', *verdicts(records, rows), '',
             '## Weight diagnostics at the last epoch (mean over the last epoch\'s logged iterations and seeds)', '',
             'pair_weight = weight on the teacher\'s own pair; pair_is_top = share of rows whose largest weight is '
             'the pair; effective_n = 1/Σw² (m\' = uniform over top_k); same_class_weight = weight on samples of '
             'the pair\'s class; dca_shift = total variation DCA moved the weights.', '',
             diagnostics_table(records, rows), '']
    lines += _hp_section(summary) + ['']
    if summary.get('ablation_M'):
        lines += ['## Ablation over M (paper Fig. 11)', '', '| student | ' + ' | '.join(
            f'M={m}' for m in sorted(next(iter(summary['ablation_M'].values())))) + ' |']
        lines.append('|---|' + '---|' * len(next(iter(summary['ablation_M'].values()))))
        for s, d in summary['ablation_M'].items():
            lines.append(f'| {s} | ' + ' | '.join(f'{v[0]:.2f} ± {v[1]:.2f}' for _, v in sorted(d.items())) + ' |')
        lines += ['', '![M ablation](quality_ablation_M.png)', '']
    if summary.get('low_data_runs'):
        lines += ['## Low-data regime (classification, test set, last epoch)', '',
                  'Base / +Mixup / +CMDA trained on a stratified share of every class of the training list (the '
                  'same subset for every method of one seed; a different subset per seed), CMDA with the '
                  'hyper-parameters chosen above for the full data. Paired columns: mean ± 95 % CI of the '
                  'per-seed difference; * = the CI excludes 0.', '',
                  low_data_table(summary['low_data_runs']), '', '![low data](quality_low_data.png)', '']
    lines += ['## Plots', '', '![convergence](quality_convergence.png)', '',
              'Convergence: the evaluated split (test) metric every 5 epochs, mean over seeds (paper Fig. 6/7).', '']
    lines += [f'![BIC/AIC]({osp.basename(p)})' for p in pngs]
    if pngs:
        lines += ['', 'BIC/AIC over M on the offline aligner\'s student embeddings (`tools/select_clusters.py`, '
                  'paper Fig. 5).', '']
    lines += ['## Notes', '', NOTES]
    if summary.get('failed'):
        lines += ['Failed runs:', ''] + [f'- {e}' for e in summary['failed']] + ['']
    return '\n'.join(lines) + '\n'
