"""``benchmarks/quality.py --dataset fashion``: search on validation, test over seeds, report (see _fashion_grid.py).

Writes ``<out>/fashion.md``, ``fashion.json``, ``fashion_convergence.png`` and ``fashion_cmda_samples.png`` (real
CMDA samples of a trained pixel model: ``tools/visualize_augment.py``), plus the train accuracy of the pixel
row's final checkpoints (``tools/test.py`` on the training split: the train / test gap that says whether Base
overfits, the regime where augmentation can show).
"""
import glob
import json
import os
import os.path as osp
import subprocess
import sys
import time
from collections import defaultdict
from typing import Dict, List

from _fashion_grid import CMDA_METHODS, HP_GRID, HP_ROW_OF, PIXEL_BASELINES, ROWS, FashionRun

from _quality_grid import REPO
from _quality_stats import best_by
from _quality_stats import diagnostics_table as diag_table
from _quality_stats import fmt_ci, mean_ci, paired_diff, render_table

__all__ = ['run_fashion']

COLS = {'base': 'Base', 'mixup': '+Mixup', 'cutmix': '+CutMix', 'gt': '+GT', 'pt': '+PT', 'id': '+ID',
        'cmda': '+CMDA', 'cmda-nodca': 'CMDA−DCA', 'cmda-masked': 'CMDA, masked captions'}
ROW_NAMES = {'pixels': 'cls, vision, raw 32 px (ResNet-18 w8 from scratch) — acc. %',
             'effnet': 'cls, vision, EfficientNet-Lite0 features (MLP) — acc. %',
             'language': 'cls, language, MiniLM of masked captions (MLP) — acc. %',
             'ad-pixels': 'AD, vision, raw 32 px (SSD) — AUROC %'}
DIAG_KEYS = ['cmda_pair_weight', 'cmda_pair_is_top', 'cmda_max_weight', 'cmda_effective_n', 'cmda_same_class_weight',
             'cmda_dca_shift', 'loss_contrastive']
# Paper Table II (classification accuracy, vision student on raw images) and Table I (anomaly detection, vision
# AUROC), the two raw-image datasets; Table III (AD AUROC, single augmentations) is in fashion.md's notes.
PAPER = {'Oxford-102, cls, vision — acc. %': {'base': '27.43 ± 2.13', 'mixup': '24.60 ± 2.10', 'cmda': '28.43 ± 1.23'},
         'Class-COCO, cls, vision — acc. %': {'base': '15.74 ± 0.64', 'mixup': '18.03 ± 0.93', 'cmda': '18.65 ± 0.95'},
         'Oxford-102, AD, vision — AUROC %': {'base': '64.36 ± 0.76', 'mixup': '68.20 ± 3.90', 'cmda': '70.57 ± 1.07'},
         'Class-COCO, AD, vision — AUROC %': {'base': '76.46 ± 1.16', 'mixup': '78.45 ± 2.05', 'cmda': '83.25 ± 1.25'}}


def _value(rec: dict) -> float:
    return rec['metrics'][ROWS[rec['student']][1]]


def _groups(records: List[dict]) -> Dict[tuple, List[dict]]:
    out = defaultdict(list)
    for rec in records:
        if 'metrics' in rec:
            out[(rec['student'], rec['method'])].append(rec)
    return out


def _by_seed(recs: List[dict]) -> Dict[int, float]:
    return {int(r['seed']): _value(r) for r in recs}


def hp_search(pool, rows: List[str], epochs, seeds: List[int]) -> Dict[str, dict]:
    """Greedy coordinate search of CMDA's settings on the validation split, per row."""
    chosen = {row: {k: v[0] for k, v in HP_GRID[row].items()} for row in rows}
    trace = {row: [] for row in rows}
    keys = sorted({k for row in rows for k in HP_GRID[row]}, key=lambda k: ['normalization', 'top_k', 'fraction',
                                                                            'loss_weight'].index(k))
    for key in keys:
        todo = [row for row in rows if key in HP_GRID[row]]
        runs = [FashionRun('hp', row, 'cmda', s, {**chosen[row], key: c}, val=True, epochs=epochs)
                for row in todo for c in HP_GRID[row][key] for s in seeds]
        recs = pool.run(runs)
        for row in todo:
            scores = {str(c): [_value(r) for r in recs if r['student'] == row and r['hp'][key] == c
                               and 'metrics' in r] for c in HP_GRID[row][key]}
            best = best_by(scores)
            if best is not None:
                chosen[row][key] = next(c for c in HP_GRID[row][key] if str(c) == best)
            trace[row].append({'key': key, 'val_scores': scores, 'chosen': chosen[row][key]})
    return {row: {'chosen': chosen[row], 'trace': trace[row]} for row in rows}


def train_accuracy(pool, records: List[dict]) -> Dict[str, List[float]]:
    """Top-1 on the training split of each pixel-row run's final checkpoint (tools/test.py; clean test pipeline)."""
    out = defaultdict(list)
    for rec in records:
        if rec['student'] != 'pixels' or rec['method'] not in ('base', 'mixup', 'cmda') or 'metrics' not in rec:
            continue
        work_dir = osp.join(pool.args.work_root, 'runs', rec['run_id'])
        cache = osp.join(work_dir, 'train_accuracy.json')
        if not osp.isfile(cache):
            ckpts = sorted(glob.glob(osp.join(work_dir, 'epoch_*.pth')), key=lambda p: int(p.rsplit('_', 1)[1][:-4]))
            if not ckpts:
                continue
            cmd = [sys.executable, 'tools/test.py', rec['config'], ckpts[-1], '--work-dir',
                   osp.join(work_dir, 'train_eval'), '--data-root', pool.data_root,
                   '--cfg-options', 'test_dataloader.dataset.split=train']
            proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True,
                                  env=dict(os.environ, OMP_NUM_THREADS='2', PYTHONPATH=REPO))
            found = [ln for ln in proc.stdout.splitlines() + proc.stderr.splitlines() if 'accuracy/top1' in ln]
            if proc.returncode != 0 or not found:
                print(f'train accuracy of {rec["run_id"]} failed: {proc.stderr[-300:]}')
                continue
            acc = float(found[-1].split('accuracy/top1:')[1].split()[0].strip(','))
            with open(cache, 'w') as f:
                json.dump({'train_top1': acc}, f)
        with open(cache) as f:
            out[rec['method']].append(json.load(f)['train_top1'])
    return dict(out)


def step_times(pool, records: List[dict]) -> Dict[str, float]:
    """Median logged iteration time (ms) per method over the pixel row's runs (mmengine's ``time`` scalar)."""
    import statistics
    times = defaultdict(list)
    for rec in records:
        if rec['student'] != 'pixels' or 'metrics' not in rec:
            continue
        found = sorted(glob.glob(osp.join(pool.args.work_root, 'runs', rec['run_id'], '*', 'vis_data',
                                          'scalars.json')))
        if found:
            with open(found[-1]) as f:
                times[rec['method']] += [json.loads(ln)['time'] for ln in f if '"iter"' in ln and '"time"' in ln]
    return {m: 1000 * statistics.median(v) for m, v in times.items() if v}


def sample_grid(pool, records: List[dict], out_png: str) -> bool:
    """A picture grid of real CMDA samples (mixed 32 px images, captions, weights) from a trained pixel model."""
    rec = next((r for r in records if r['student'] == 'pixels' and r['method'] == 'cmda' and 'metrics' in r), None)
    if rec is None:
        return False
    ckpts = sorted(glob.glob(osp.join(pool.args.work_root, 'runs', rec['run_id'], 'epoch_*.pth')))
    if not ckpts:
        return False
    cmd = [sys.executable, 'tools/visualize_augment.py', rec['config'], '--checkpoint', ckpts[-1], '--num', '6',
           '--data-root', pool.data_root, '--out', out_png]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True,
                          env=dict(os.environ, OMP_NUM_THREADS='2', PYTHONPATH=REPO))
    if proc.returncode != 0:
        print(f'sample grid failed: {proc.stderr[-500:]}')
    return proc.returncode == 0


def results_table(records: List[dict], rows: List[str]) -> str:
    groups = _groups(records)
    methods = [m for m in COLS if any(m in ROWS[r][2] for r in rows)]
    cells = {(ROW_NAMES[r], COLS[m]): fmt_ci([_value(x) for x in groups.get((r, m), [])]) for r in rows
             for m in ROWS[r][2]}
    table = render_table([ROW_NAMES[r] for r in rows], [COLS[m] for m in methods], cells, first='row')
    paper_cells = {(k, COLS[m]): v for k, d in PAPER.items() for m, v in d.items()}
    paper = render_table(list(PAPER), [COLS[m] for m in ('base', 'mixup', 'cmda')], paper_cells,
                         first='paper (Tables I, II)')
    return table + '\n\n' + paper


def paired_table(records: List[dict], rows: List[str]) -> str:
    """CMDA − Base, − Mixup, − the best single basic augmentation (pixels), − CMDA−DCA; paired over seeds."""
    groups = _groups(records)
    cols = ['CMDA − Base', 'CMDA − Mixup', 'CMDA − best basic aug.', 'CMDA − CMDA−DCA', 'CMDA − CMDA masked']
    cells = {}
    for row in rows:
        cmda = _by_seed(groups.get((row, 'cmda'), []))

        def diff(method):
            mean, half, n = paired_diff(cmda, _by_seed(groups.get((row, method), [])))
            if n < 2:
                return '—'
            text = f'{mean:+.2f} ± {half:.2f} (n={n})'
            return text + (' **(excl. 0)**' if n >= 3 and abs(mean) > half else '')  # n = 2: no verdict
        cells[(ROW_NAMES[row], cols[0])] = diff('base')
        cells[(ROW_NAMES[row], cols[1])] = diff('mixup')
        if row == 'pixels':
            means = {m: mean_ci([_value(r) for r in groups.get((row, m), [])])[0] for m in PIXEL_BASELINES}
            means = {m: v for m, v in means.items() if v == v}
            if means:
                best = max(means, key=means.get)
                cells[(ROW_NAMES[row], cols[2])] = f'{diff(best)} (vs {COLS[best]})'
        cells[(ROW_NAMES[row], cols[3])] = diff('cmda-nodca')
        cells[(ROW_NAMES[row], cols[4])] = diff('cmda-masked')
    return render_table([ROW_NAMES[r] for r in rows], cols, cells, first='paired Δ (95 % CI)')


def diagnostics_table(records: List[dict], rows: List[str]) -> str:
    groups = _groups(records)
    return diag_table([(f'{row} / {COLS[m]}', groups.get((row, m), [])) for row in rows for m in CMDA_METHODS],
                      DIAG_KEYS, first='row / method (last epoch)', ci=True)


def plot_convergence(records: List[dict], rows: List[str], out: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    groups = _groups(records)
    fig, axes = plt.subplots(1, len(rows), figsize=(4.2 * len(rows), 3.4), squeeze=False)
    for ax, row in zip(axes[0], rows):
        for m in ROWS[row][2]:
            curves = [r.get('curve', {}) for r in groups.get((row, m), []) if r.get('curve')]
            if not curves:
                continue
            epochs = sorted(set.intersection(*[set(int(e) for e in c) for c in curves]))
            if not epochs:
                continue
            mean = [sum(c[str(e)] if str(e) in c else c[e] for c in curves) / len(curves) for e in epochs]
            ax.plot(epochs, mean, label=COLS[m], lw=2 if m.startswith('cmda') or m == 'base' else 1)
        ax.set_title(row)
        ax.set_xlabel('epoch')
        ax.set_ylabel('val ' + ROWS[row][1])
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.suptitle('Fashion products: validation curves (mean over seeds)')
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def run_fashion(args, pool) -> None:
    start = time.time()
    out_dir = osp.join(REPO, args.out)
    os.makedirs(out_dir, exist_ok=True)
    rows = list(args.rows or ROWS)
    quick = args.quick
    # --quick: 10 epochs (the configs' 20 / 30 halved or third-ed), 2 seeds, Base / Mixup / CMDA, config defaults
    epochs = args.fashion_epochs or (10 if quick else None)
    if quick:
        rows = [r for r in rows if r != 'ad-pixels']
    search_rows = [r for r in rows if r in HP_GRID]
    if quick:
        search = {r: {'chosen': {k: v[0] for k, v in HP_GRID[r].items()}, 'trace': 'none (--quick): defaults'}
                  for r in search_rows}
    else:
        search = hp_search(pool, search_rows, epochs, seeds=[100])
    hp_of = {r: search[HP_ROW_OF.get(r, r)]['chosen'] for r in rows if HP_ROW_OF.get(r, r) in search}

    def seeds_of(row):
        n = 2 if quick else (args.seeds if args.seeds_set else ROWS[row][3])
        return list(range(n))

    def methods_of(row):
        ms = ROWS[row][2]
        return [m for m in ms if m in ('base', 'mixup', 'cmda')] if quick else ms
    # the most informative runs first, so that an interrupted grid (rerun with --resume) already holds the main
    # comparison over every seed: Base / Mixup / CMDA, then the CMDA controls, then the single basic augmentations
    tier = {'base': 0, 'mixup': 0, 'cmda': 0, 'cmda-nodca': 1, 'cmda-masked': 1}
    tests = [FashionRun('test', row, m, s, hp_of.get(row, {}) if m in CMDA_METHODS else {}, epochs=epochs)
             for row in rows for s in seeds_of(row) for m in methods_of(row)]
    tests.sort(key=lambda r: (tier.get(r.method, 2), r.seed, list(ROWS).index(r.row), ROWS[r.row][2].index(r.method)))
    test_recs = pool.run(tests)

    train_acc = train_accuracy(pool, test_recs)
    samples_png = osp.join(out_dir, 'fashion_cmda_samples.png')
    have_samples = sample_grid(pool, test_recs, samples_png)
    conv_png = osp.join(out_dir, 'fashion_convergence.png')
    plot_convergence(test_recs, rows, conv_png)
    elapsed = time.time() - start
    failed = [r for r in pool.records if 'error' in r]
    missing = [r['run_id'] for r in test_recs if r.get('missing')]
    summary = dict(dataset='fashion', quick=quick, rows=rows, epochs=epochs or 'config default',
                   hp_grid=HP_GRID, hp_search_seeds=[100], hp={r: v for r, v in search.items()},
                   train_accuracy=train_acc, wall_s=round(elapsed), failed=[r['error'] for r in failed],
                   missing=missing,
                   runs=test_recs)
    with open(osp.join(out_dir, 'fashion.json'), 'w') as f:
        json.dump(summary, f, indent=1, default=str)
    step = step_times(pool, test_recs)
    lines = ['# Fashion products: CMDA on real images (generated by `benchmarks/quality.py --dataset fashion`)', '',
             f'{len(test_recs) - len(missing)} of {len(test_recs)} planned test runs finished ({len(missing)} not run '
             f'yet: `--resume` completes them), {len(failed)} failed; wall time of this invocation '
             f'{elapsed / 60:.1f} min (2 cores, `--jobs {args.jobs}`; runs reused with `--resume` are not re-timed). '
             'Last-epoch test metric, mean ± 95 % t-CI over seeds (n per cell); CMDA settings chosen on the '
             'validation split.', '',
             results_table(test_recs, rows), '', '## Paired per-seed differences', '',
             paired_table(test_recs, rows), '', '## Train / test gap (pixel row, final checkpoint)', '']
    groups = _groups(test_recs)
    for m, vals in train_acc.items():
        test_vals = [_value(r) for r in groups.get(('pixels', m), [])]
        lines.append(f'- {COLS[m]}: train {fmt_ci(vals)} vs test {fmt_ci(test_vals)}')
    lines += ['', '## Step cost (pixel row: median training-iteration time of the runs, ms)', '',
              ', '.join(f'{COLS[m]} {v:.0f} ms' for m, v in step.items()) +
              (f' — CMDA / Base {step["cmda"] / step["base"]:.2f}×, CMDA / Mixup {step["cmda"] / step["mixup"]:.2f}×'
               if all(k in step for k in ('base', 'mixup', 'cmda')) else ''),
              '(B = 128, one CPU thread per run. The ratios compare Base / Mixup / CMDA only: their runs of one seed '
              'ran side by side on the same 2 cores. The other methods\' runs ran at other times, under other load '
              '(`--resume` across sessions), so their absolute times are not comparable; benchmarks/speed.py '
              'measures step costs on a quiet machine.)',
              '', '## Weight diagnostics (mean over seeds of the last epoch)', '', diagnostics_table(test_recs, rows),
              '', '## Chosen on validation', '']
    for row, v in search.items():
        lines.append(f'- {row}: {v["chosen"]}')
        if isinstance(v['trace'], list):
            for t in v['trace']:
                lines.append(f'  - {t["key"]}: ' + ', '.join(f'{c}: {fmt_ci(s)}' for c, s in t['val_scores'].items())
                             + f' → {t["chosen"]}')
    lines += ['', f'![convergence]({osp.basename(conv_png)})']
    if have_samples:
        lines += ['', f'![CMDA samples]({osp.basename(samples_png)})']
    md = '\n'.join(lines) + '\n'
    md_path = osp.join(out_dir, 'fashion.md')
    marker = '<!-- hand-written below this line: kept when quality.py regenerates the file -->'
    if osp.exists(md_path):
        with open(md_path) as f:
            old = f.read()
        if marker in old:
            md += '\n' + marker + old.split(marker, 1)[1]
    with open(md_path, 'w') as f:
        f.write(md)
    print(md)
    print(f'wrote {md_path} ({elapsed / 60:.1f} min, {len(failed)} failed runs)')
