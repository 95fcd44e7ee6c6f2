"""Reproducible comparisons on the real Wikipedia data (paper Tables I, II, VI; Figs. 5, 6/7, 11).

Grid: classification and one-class anomaly detection (3 normal classes vs 7), vision student (SIFT-128) and
language student (MiniLM-384), methods Base, +Mixup, +CMDA, +CMDA (offline, classification only, as in the
paper) and CMDA−DCA — every run is ``tools/train.py`` on the project's configs in a subprocess (see
``_quality_grid.py``), with ``--cfg-options randomness.seed=S``. Reported: the LAST epoch's test metric,
mean ± 95 % Student-t CI over seeds.

Hyper-parameters of CMDA (normalisation/temperature, m' = top_k, p = fraction, λ = contrastive loss_weight,
M) are chosen per task × student on a validation split carved from the official training list
(``split='train_sub'`` for training, ``'val'`` for evaluation, 20 % stratified) by a greedy one-coordinate-
at-a-time search over ``HP_GRID`` (2 search seeds, distinct from the test seeds); never on the test set.
CMDA−DCA and CMDA (offline: m', normalisation, M) reuse the chosen values.

Usage::

    python benchmarks/quality.py --quick --jobs 2           # < 20 min: classification, 2 seeds, 50 epochs
    python benchmarks/quality.py --seeds 5 --jobs 2 --resume # full grid (~1.5 h on 2 cores)

After the grid, a low-data regime (``--low-data 0.1 0.25``: Base / +Mixup / +CMDA trained on 10 % and 25 % of
every class, the chosen hyper-parameters, tested on the full test set) asks where an augmentation should help
most; its table reports paired per-seed differences (same subset and data order for every method).
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, List

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
sys.path.insert(1, osp.dirname(osp.dirname(osp.abspath(__file__))))  # the repository's cmda_mm (the study's check)
from _quality_grid import HP_DEFAULT, HP_GRID, REPO, STUDENTS, TASKS, Run, execute, result_path  # noqa: E402
from _quality_report import (LOW_DATA_METHODS, diagnostics_table, low_data_table, plot_ablation,  # noqa: E402
                             plot_convergence, plot_low_data, results_table, verdicts)
from _quality_stats import best_by, mean_ci  # noqa: E402

HP_SEEDS = [100, 101]
ABLATION_M = [1, 2, 4, 8]
KEEP_MARKER = '<!-- hand-written below this line: kept when quality.py regenerates the file -->'


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='CMDA quality grid (tools/train.py subprocesses)')
    p.add_argument('--dataset', choices=['wikipedia', 'fashion'], default='wikipedia',
                   help='wikipedia: the frozen-feature grid; fashion: real photos + captions (raw pixels, features, '
                        'anomaly detection; see _fashion_grid.py)')
    p.add_argument('--study', choices=['grid', 'variants', 'schedule'], default='grid',
                   help='grid: the --dataset grid; variants: issue 16\'s study across fashion and Wikipedia '
                        '(select CMDA variants on validation, test them, regime map; see _variants_main.py); '
                        'schedule: issue 21\'s long schedules on little fashion data (see _schedule_main.py)')
    p.add_argument('--data-root', default=None,
                   help='dataset root (default: data/wikipedia, or data/fashion_cmda as written by '
                        'tools/dataset_converters/prepare_fashion.py)')
    p.add_argument('--seeds', type=int, default=None,
                   help='test seeds 0..N-1 (default: 5; fashion: 3 for the raw-pixel rows, 5 for the feature rows)')
    p.add_argument('--rows', nargs='*', help='fashion: only these rows (pixels, effnet, language, ad-pixels); '
                                             '--study variants: fashion/pixels, wikipedia/vision, ...')
    p.add_argument('--fashion-epochs', type=int, default=0,
                   help='fashion: epochs of every run (0 = the configs\' schedules)')
    p.add_argument('--out', default='benchmarks/results')
    p.add_argument('--quick', action='store_true', help='classification only, 2 seeds, 50 epochs, defaults')
    p.add_argument('--jobs', type=int, choices=[1, 2], default=1)
    p.add_argument('--work-root', default='/tmp/cmda_quality')
    p.add_argument('--resume', action='store_true', help='skip runs whose result file exists')
    p.add_argument('--report-only', action='store_true',
                   help='run nothing: write the report from the runs already finished (the rest count as missing)')
    p.add_argument('--low-data', type=float, nargs='*', default=[0.1, 0.25],
                   help='low-data regime: train fractions for Base/Mixup/CMDA classification (none: skip)')
    p.add_argument('--hp-epochs', type=int, default=50,
                   help='epochs of each hyper-parameter search run (0 = the configs\' schedule); the search is '
                        'the largest part of the grid, 50 keeps the full grid near 1.5 h on 2 cores')
    args = p.parse_args(argv)
    args.seeds_set = args.seeds is not None
    args.resume = args.resume or args.report_only
    args.seeds = args.seeds or 5
    # the studies' runs name their own roots
    fashion = args.dataset == 'fashion' or args.study in ('variants', 'schedule')
    args.data_root = args.data_root or ('data/fashion_cmda' if fashion else 'data/wikipedia')
    return args


class Pool:
    """Runs batches of :class:`Run` in ``jobs`` parallel subprocesses; keeps every record."""

    def __init__(self, args):
        self.args, self.records = args, []
        # relative to the current directory when it exists there, else to the repository root
        root = args.data_root if osp.isdir(args.data_root) else osp.join(REPO, args.data_root)
        if not osp.isdir(root):
            raise FileNotFoundError(f'--data-root {args.data_root!r}: no such directory (here or under {REPO})')
        self.data_root = osp.abspath(root)

    def run(self, runs: List[Run]) -> List[dict]:
        def one(run):
            t = time.time()
            if self.args.report_only and not osp.exists(result_path(self.args.work_root, run)):
                return dict(run_id=run.run_id, task=run.task, student=run.student, method=run.method,
                            seed=run.seed, hp=run.hp, missing=True)  # not run: left out of every table
            rec = execute(run, self.args.work_root, self.data_root, resume=self.args.resume)
            metric = getattr(run, 'metric', None) or TASKS[run.task][1]
            status = rec.get('error') or f'{rec.get("metrics", {}).get(metric)}'
            print(f'[{time.strftime("%H:%M:%S")}] {run.run_id}: {status} ({time.time() - t:.0f}s)', flush=True)
            return rec
        with ThreadPoolExecutor(self.args.jobs) as ex:
            recs = list(ex.map(one, runs))
        self.records.extend(recs)
        return recs


def hp_search(pool: Pool, rows: List[tuple], epochs) -> Dict[tuple, dict]:
    """Greedy coordinate search on the val split; returns the chosen HP and the trace per row."""
    chosen = {row: dict(HP_DEFAULT) for row in rows}
    trace = {row: [] for row in rows}
    for key, cands in HP_GRID.items():
        runs = [Run('hp', t, s, 'cmda', seed, {**chosen[(t, s)], key: c}, val=True, epochs=epochs)
                for (t, s) in rows for c in cands for seed in HP_SEEDS]
        recs = pool.run(runs)
        for row in rows:
            scores = {}
            for c in cands:
                scores[str(c)] = [r['metrics'][TASKS[row[0]][1]] for r in recs
                                  if (r['task'], r['student']) == row and r['hp'][key] == c and 'metrics' in r]
            best = best_by(scores)
            if best is not None:
                chosen[row][key] = next(c for c in cands if str(c) == best)
            trace[row].append({'key': key, 'val_scores': scores, 'chosen': chosen[row][key]})
    return {row: {'chosen': chosen[row], 'trace': trace[row]} for row in rows}


def bic_aic(pool: Pool, records: List[dict], out_dir: str) -> List[str]:
    """tools/select_clusters.py on the aligner's student embeddings of the first offline run per student."""
    pngs = []
    for student in STUDENTS:
        rec = next((r for r in records if r['method'] == 'cmda-offline' and r['student'] == student
                    and 'metrics' in r), None)
        if rec is None:
            continue
        emb = osp.join(pool.args.work_root, 'runs', rec['run_id'], 'augmented', 'embeddings.pth')
        png = osp.join(out_dir, f'quality_bic_aic_{student}.png')
        cmd = [sys.executable, 'tools/select_clusters.py', '--features', emb, '--range', '1', '10',
               '--out', png, '--title', f'BIC/AIC, {student} student embeddings (aligner, seed {rec["seed"]})']
        env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=REPO)
        proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
        print(proc.stdout.strip()[-400:] or proc.stderr.strip()[-400:])
        if proc.returncode == 0:
            pngs.append(png)
    return pngs


def main(argv=None):
    args = parse_args(argv)
    if args.study == 'variants':
        from _variants_main import run_variants
        return run_variants(args, Pool(args))
    if args.study == 'schedule':
        from _schedule_main import run_schedule
        return run_schedule(args, Pool(args))
    if args.dataset == 'fashion':
        from _fashion_main import run_fashion
        return run_fashion(args, Pool(args))
    start = time.time()
    out_dir = osp.join(REPO, args.out)
    os.makedirs(out_dir, exist_ok=True)
    pool = Pool(args)
    seeds = list(range(2 if args.quick else args.seeds))
    epochs = 50 if args.quick else None
    rows = [(t, s) for t in (['cls'] if args.quick else list(TASKS)) for s in STUDENTS]

    if args.quick:
        search = {row: {'chosen': dict(HP_DEFAULT), 'trace': 'none (--quick): config defaults'} for row in rows}
    else:
        search = hp_search(pool, rows, args.hp_epochs or None)
    hp_of = {row: search[row]['chosen'] for row in rows}

    tests = [Run('test', t, s, m, seed, hp_of.get(('cls', s), HP_DEFAULT) if m == 'cmda-offline' else hp_of[(t, s)],
                 epochs=epochs) for (t, s) in rows for m in TASKS[t][2] for seed in seeds]
    test_recs = pool.run(tests)

    ablation = {}
    if not args.quick:
        abl = [Run('test', 'cls', s, 'cmda', seed, {**hp_of[('cls', s)], 'n_components': m}, epochs=epochs)
               for s in STUDENTS for m in ABLATION_M for seed in seeds[:3]]
        for rec in pool.run(abl):
            if 'metrics' in rec:
                ablation.setdefault(rec['student'], {}).setdefault(rec['hp']['n_components'], []).append(
                    rec['metrics']['accuracy/top1'])
        plot_ablation(ablation, osp.join(out_dir, 'quality_ablation_M.png'))

    low_recs = []
    if not args.quick and args.low_data:  # where augmentation should matter most: few training pairs
        low = [Run('lowdata', 'cls', s, m, seed, hp_of[('cls', s)], epochs=epochs, train_fraction=f)
               for s in STUDENTS for f in args.low_data for m in LOW_DATA_METHODS for seed in seeds]
        low_recs = pool.run(low)
        plot_low_data(low_recs, test_recs, osp.join(out_dir, 'quality_low_data.png'))

    plot_convergence(test_recs, rows, osp.join(out_dir, 'quality_convergence.png'))
    pngs = bic_aic(pool, test_recs, out_dir)
    elapsed = time.time() - start
    failed = [r for r in pool.records if 'error' in r]
    summary = dict(quick=args.quick, seeds=seeds, epochs=epochs or 'config default', rows=rows,
                   hp_grid=HP_GRID, hp_search_seeds=HP_SEEDS, val_fraction=0.2,
                   hp_epochs=None if args.quick else (args.hp_epochs or 'config default'),
                   hp={f'{t}/{s}': v for (t, s), v in search.items()},
                   ablation_M={s: {m: mean_ci(v)[:2] for m, v in d.items()} for s, d in ablation.items()},
                   low_data_fractions=args.low_data if low_recs else [],
                   wall_s=round(elapsed), failed=[r['error'] for r in failed], runs=test_recs,
                   low_data_runs=low_recs)
    with open(osp.join(out_dir, 'quality.json'), 'w') as f:
        json.dump(summary, f, indent=1, default=str)
    from _quality_md import write_markdown
    md = write_markdown(args, summary, rows, test_recs, pngs, elapsed)
    md_path = osp.join(out_dir, 'quality.md')
    if osp.exists(md_path):  # hand-written findings below the marker survive a regeneration
        with open(md_path) as f:
            old = f.read()
        if KEEP_MARKER in old:
            md += '\n' + KEEP_MARKER + old.split(KEEP_MARKER, 1)[1]
    with open(md_path, 'w') as f:
        f.write(md)
    print(results_table(test_recs, rows))
    print('\n'.join(verdicts(test_recs, rows)))
    print(diagnostics_table(test_recs, rows))
    if low_recs:
        print(low_data_table(low_recs))
    print(f'wrote {out_dir}/quality.md, quality.json ({elapsed / 60:.1f} min, {len(failed)} failed runs)')


if __name__ == '__main__':
    main()
