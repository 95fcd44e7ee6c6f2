"""Report of ``benchmarks/quality.py``: the markdown table, the notes and the PNG plots."""
import statistics
from collections import defaultdict
from typing import Dict, List

from _quality_grid import METHODS, TASKS
from _quality_stats import diagnostics_table as diag_table
from _quality_stats import fmt_ci, mean_ci, paired_diff, render_table

__all__ = ['PAPER', 'results_table', 'diagnostics_table', 'verdicts', 'plot_convergence', 'plot_ablation',
           'low_data_table', 'plot_low_data']

ROW_NAMES = {('cls', 'vision'): 'Classification, vision (SIFT-128) — accuracy %',
             ('cls', 'language'): 'Classification, language (MiniLM-384) — accuracy %',
             ('ad', 'vision'): 'Anomaly detection, vision (SIFT-128) — AUROC %',
             ('ad', 'language'): 'Anomaly detection, language (MiniLM-384) — AUROC %'}
COLS = {'base': 'Base', 'mixup': '+Mixup', 'cmda': '+CMDA', 'cmda-offline': '+CMDA (offline)',
        'cmda-nodca': 'CMDA−DCA'}
# Paper Table I (anomaly detection, AUROC) and Table II / VI (classification accuracy), Wikipedia rows.
PAPER = {('cls', 'vision'): {'base': '53.39 ± 2.49', 'mixup': '53.96 ± 3.39', 'cmda': '54.79 ± 1.09',
                             'cmda-offline': '54.75 ± 1.15'},
         ('cls', 'language'): {'base': '70.82 ± 1.92', 'mixup': '68.17 ± 1.17', 'cmda': '72.11 ± 2.11',
                               'cmda-offline': '71.80 ± 1.40'},
         ('ad', 'vision'): {'base': '73.07 ± 1.27', 'mixup': '74.49 ± 3.09', 'cmda': '76.22 ± 2.62'},
         ('ad', 'language'): {'base': '89.69 ± 1.99', 'mixup': '89.24 ± 8.04', 'cmda': '91.48 ± 1.18'}}
DIAG_KEYS = ['cmda_pair_weight', 'cmda_pair_is_top', 'cmda_max_weight', 'cmda_effective_n',
             'cmda_same_class_weight', 'cmda_dca_shift', 'loss_contrastive']


def _metric(rec: dict) -> float:
    return rec['metrics'][TASKS[rec['task']][1]]  # accuracy and AnomalyMetric are both in %


def group(records: List[dict]) -> Dict[tuple, List[dict]]:
    out = defaultdict(list)
    for rec in records:
        if 'metrics' in rec:
            out[(rec['task'], rec['student'], rec['method'])].append(rec)
    return out


def by_seed(records: List[dict]) -> Dict[int, float]:
    """seed -> metric of one group of runs (for paired differences)."""
    return {int(r['seed']): _metric(r) for r in records}


def _paired_text(a: List[dict], b: List[dict]) -> str:
    mean, half, n = paired_diff(by_seed(a), by_seed(b))
    if n < 2:
        return 'paired Δ: n < 2'
    verdict = 'excludes 0' if abs(mean) > half else 'includes 0'
    return f'paired Δ {mean:+.2f} ± {half:.2f} over {n} seeds, CI {verdict}'


def results_table(records: List[dict], rows: List[tuple], with_paper: bool = True) -> str:
    """Rows = task × student (ours, then the paper's numbers), columns = methods."""
    groups = group(records)
    cells, names = {}, []
    for row in rows:
        name = ROW_NAMES[row]
        names.append(name)
        for m in METHODS:
            recs = groups.get(row + (m, ))
            if recs:
                cells[(name, COLS[m])] = fmt_ci([_metric(r) for r in recs])
        if with_paper:
            pname = '  paper (Tables I/II/VI)'
            pname = f'{pname} [{row[0]}/{row[1]}]'
            names.append(pname)
            for m, v in PAPER[row].items():
                cells[(pname, COLS[m])] = v
    return render_table(names, [COLS[m] for m in METHODS], cells, first='task × student')


def diagnostics_table(records: List[dict], rows: List[tuple]) -> str:
    """Last-epoch mean ``cmda_*`` weight diagnostics per (row, CMDA variant), mean over seeds."""
    groups = group(records)
    return diag_table([(f'{ROW_NAMES[row].split(" —")[0]} / {COLS[m]}', groups.get(row + (m, ), []))
                       for row in rows for m in ('cmda', 'cmda-nodca')], DIAG_KEYS, first='run', short=True)


def verdicts(records: List[dict], rows: List[tuple]) -> List[str]:
    """One sentence per row: does +CMDA beat Base / +Mixup (CI-separated, or only in the mean)?"""
    groups, lines = group(records), []
    for row in rows:
        recs = {m: groups.get(row + (m, ), []) for m in METHODS}
        vals = {m: [_metric(r) for r in recs[m]] for m in METHODS}
        if not vals['cmda']:
            continue
        cm, ch, _ = mean_ci(vals['cmda'])
        parts = []
        for base in ('base', 'mixup', 'cmda-nodca'):
            if not vals[base]:
                continue
            bm, bh, _ = mean_ci(vals[base])
            diff = cm - bm
            sep = (cm - ch > bm + bh) or (cm + ch < bm - bh) if ch == ch and bh == bh else False
            word = 'beats' if diff > 0 else 'does NOT beat'
            parts.append(f'{word} {COLS[base]} ({diff:+.2f}{", CIs separate" if sep else ", CIs overlap"}; '
                         f'{_paired_text(recs["cmda"], recs[base])})')
        lines.append(f'- {ROW_NAMES[row]}: +CMDA ' + '; '.join(parts) + '.')
    return lines


def plot_convergence(records: List[dict], rows: List[tuple], out: str) -> None:
    """Evaluation metric vs epoch, mean over seeds, one panel per task × student (paper Fig. 6/7)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    groups = group(records)
    fig, axes = plt.subplots(1, len(rows), figsize=(4.5 * len(rows), 3.6), squeeze=False)
    for ax, row in zip(axes[0], rows):
        for m in METHODS:
            curves = [r['curve'] for r in groups.get(row + (m, ), []) if r.get('curve')]
            if not curves:
                continue
            epochs = sorted(set.intersection(*[set(map(int, c)) for c in curves]))
            ys = [statistics.fmean(float(c[str(e)] if str(e) in c else c[e]) for c in curves)
                  for e in epochs]
            ax.plot(epochs, ys, marker='.', label=f'{COLS[m]} (n={len(curves)})')
        ax.set_title(ROW_NAMES[row].replace(' — ', '\n'), fontsize=9)
        ax.set_xlabel('epoch')
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def plot_ablation(ablation: Dict[str, Dict[int, List[float]]], out: str) -> None:
    """CMDA accuracy vs M (paper Fig. 11); mean ± 95 % CI over seeds, one panel per student (own y scale)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    students = list(ablation)
    fig, axes = plt.subplots(1, max(1, len(students)), figsize=(4.2 * max(1, len(students)), 3.4), squeeze=False)
    for ax, student in zip(axes[0], students):
        by_m = ablation[student]
        ms = sorted(by_m)
        stats = [mean_ci(by_m[m]) for m in ms]
        ax.errorbar(ms, [s[0] for s in stats], yerr=[0 if s[1] != s[1] else s[1] for s in stats],
                    marker='o', capsize=3)
        ax.set_xscale('log', base=2)
        ax.set_xticks(ms, [str(m) for m in ms])
        ax.set_xlabel('M (DCA clusters; M = 1: no DCA effect)')
        ax.set_ylabel('test accuracy %')
        ax.set_title(f'{student} student (n = {min(len(v) for v in by_m.values())} seeds)', fontsize=9)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


LOW_DATA_METHODS = ['base', 'mixup', 'cmda']


def low_data_table(records: List[dict]) -> str:
    """Low-data regime: rows = student × train fraction, columns = methods and paired CMDA differences."""
    groups = defaultdict(list)
    for rec in records:
        if 'metrics' in rec and rec.get('train_fraction'):
            groups[(rec['student'], rec['train_fraction'], rec['method'])].append(rec)
    keys = sorted({(k[0], k[1]) for k in groups}, key=lambda k: (k[0] != 'vision', k[1]))
    cols = [COLS[m] for m in LOW_DATA_METHODS] + ['+CMDA − Base (paired)', '+CMDA − Mixup (paired)']
    cells, names = {}, []
    for student, frac in keys:
        name = f'{ROW_NAMES[("cls", student)].split(" —")[0]}, {frac * 100:g} % of train'
        names.append(name)
        for m in LOW_DATA_METHODS:
            if groups.get((student, frac, m)):
                cells[(name, COLS[m])] = fmt_ci([_metric(r) for r in groups[(student, frac, m)]])
        for other, col in (('base', cols[-2]), ('mixup', cols[-1])):
            mean, half, n = paired_diff(by_seed(groups.get((student, frac, 'cmda'), [])),
                                        by_seed(groups.get((student, frac, other), [])))
            if n >= 2:
                cells[(name, col)] = f'{mean:+.2f} ± {half:.2f}' + (' *' if abs(mean) > half else '')
    return render_table(names, cols, cells, first='student, training data')


def plot_low_data(low: List[dict], full: List[dict], out: str) -> None:
    """Test accuracy vs share of the training list (low-data runs + the full-data test runs)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    pts = defaultdict(list)
    for rec in low + [r for r in full if r['task'] == 'cls']:
        if 'metrics' in rec and rec['method'] in LOW_DATA_METHODS:
            pts[(rec['student'], rec['method'], rec.get('train_fraction') or 1.0)].append(_metric(rec))
    students = [s for s in ('vision', 'language') if any(k[0] == s for k in pts)]
    fig, axes = plt.subplots(1, max(1, len(students)), figsize=(4.8 * max(1, len(students)), 3.6), squeeze=False)
    for ax, student in zip(axes[0], students):
        for m in LOW_DATA_METHODS:
            fr = sorted(f for (s, mm, f) in pts if s == student and mm == m)
            stats = [mean_ci(pts[(student, m, f)]) for f in fr]
            ax.errorbar([100 * f for f in fr], [st[0] for st in stats],
                        yerr=[0 if st[1] != st[1] else st[1] for st in stats], marker='o', capsize=3,
                        label=COLS[m])
        ax.set_xscale('log')
        ax.set_xlabel('% of the training list')
        ax.set_ylabel('test accuracy %')
        ax.set_title(ROW_NAMES[('cls', student)].split(' —')[0], fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
