"""``benchmarks/quality.py --study schedule``: CMDA in the paper's long, low-data regime (issue 21).

Phases, in run order (an interrupted study, rerun with ``--resume``, holds the earlier phases whole):

1. **Select** (validation split, seed 100, 10 % and 25 %): the teacher-guided candidates of ``_schedule.CANDIDATES``;
   the choice has the best mean last-epoch validation accuracy over both shares. Never the test split.
2. **Test** (seeds 0..n-1, seed-major so every method gains seeds together): the bar's comparisons — Base,
   +Mixup, the choice and its random-partner control — on 10 % and 25 %.
3. The shipped default and its cached one-forward form on 10 % (all seeds): the form to ship (issue 21, point 5).
4. **Anomaly detection** (SSD on raw pixels, AUROC): Base and +CMDA at the configs' 20 epochs (all seeds), the one
   row where CMDA led the fashion grid; then the paper's CMDA step on 10 % (all seeds) and +Mixup on AD.
5. The three CMDA forms on 25 % (3 seeds), then the **full split** (100 % at the configs' 20 epochs, 3 seeds):
   Base, +Mixup, the choice, its control, CMDA, cached.
6. **Controls** (+CutMix, Mixup + CMDA, CMDA's weights on random partners, Mixup at CMDA's strength, Mixup at CMDA's
   strength and share) on 10 % (3 seeds first); then the remaining seeds, the controls on 25 % and anomaly
   detection at a long schedule (``AD_LONG_EPOCHS``, 5 seeds).

The order is what a 2-core, time-boxed run reaches first: measured run times (10 %: Base ~4-7 min, the two-forward
CMDA forms ~8-16 min, one thread each, two at a time) put the whole grid at ~15 h, so the groups that decide the
issue's questions come first and the report says which cells are missing.

Reported: the last epoch's test metric and, beside it, the test metric of the epoch chosen on validation
(``tools/train.py --test-best``); paired per-seed differences with 95 % t-CIs; validation curves (paper Fig. 7).
Writes ``<out>/schedule.md``, ``schedule.json``, ``schedule_curves.png`` and ``schedule_ad_curves.png`` (the anomaly
runs' validation AUROC, the paper's Fig. 6).
"""
import json
import os
import os.path as osp
import statistics
import time
from collections import defaultdict
from typing import Dict, List, Optional

from _schedule import AD_METHODS, CANDIDATES, CONTROL_OF, DESCRIPTIONS, FULL, SHARES, ScheduleRun

from _quality_grid import REPO
from _quality_stats import fmt_ci, paired_verdict, render_table

__all__ = ['run_schedule', 'choose', 'verdict', 'late_drop', 'plot_curves', 'plot_ad_curves']

VAL_SEED = 100
CONTROLS = ['cutmix', 'cmda+mixup', 'random', 'matched', 'matched-share']
FULL_SEEDS = 3
AD_LONG_EPOCHS = 60
AD_LONG_SEEDS = 5  # the issue: >= 5 seeds at the configs' schedule and at a long one


def _share_name(share: float) -> str:
    return f'{share * 100:g} %'


def choose(val: Dict[float, Dict[str, float]]) -> Optional[str]:
    """The candidate with the best mean validation accuracy over the shares that measured every candidate seen.

    Args:
        val (dict): share -> candidate -> last-epoch validation accuracy.

    Returns:
        str | None: the chosen candidate (ties: the earlier in ``CANDIDATES``), None when none finished.
    """
    scores = {}
    for cand in CANDIDATES:
        vals = [v[cand] for v in val.values() if cand in v]
        if vals and len(vals) == len(val):
            scores[cand] = statistics.fmean(vals)
    if not scores:
        return None
    return max(scores, key=lambda c: (scores[c], -CANDIDATES.index(c)))


def verdict(a: Dict[int, float], b: Dict[int, float]) -> str:
    """'beats' / 'loses' when the paired 95 % CI of a − b excludes 0 (n ≥ 3), else 'ties', with n."""
    return paired_verdict(a, b)


def late_drop(curve: Dict) -> Optional[float]:
    """Last validation point minus the best one (≤ 0; how much a run lost after its peak)."""
    if not curve:
        return None
    vals = [float(curve[k]) for k in sorted(curve, key=int)]
    return vals[-1] - max(vals)


def _metric(rec: dict, best: bool = False) -> Optional[float]:
    metric = 'anomaly/auroc' if rec.get('phase') == 'ad' else 'accuracy/top1'
    src = rec.get('best_metrics' if best else 'metrics') or {}
    return src.get(metric)


def _by_seed(records: List[dict], best: bool = False) -> Dict[tuple, Dict[int, float]]:
    """(phase, share, method, epochs) -> seed -> metric, over finished runs."""
    out = defaultdict(dict)
    for rec in records:
        v = _metric(rec, best)
        if v is not None:
            out[(rec['phase'], rec['share'], rec['method'], rec['epochs'])][int(rec['seed'])] = v
    return out


def _tag(recs: List[dict], specs: List[ScheduleRun]) -> List[dict]:
    for rec, run in zip(recs, specs):
        rec.update(share=run.share, method=run.method, epochs=run.epochs, phase=run.phase)
    return recs


def _plot_panels(records: List[dict], phase: str, methods: List[str], out: str, ylabel: str, title: str) -> bool:
    """Mean validation curve over seeds per method, one panel per (share, epochs) of ``phase``."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    mine = [r for r in records if r.get('phase') == phase and r.get('curve')]
    panels = sorted({(r['share'], r['epochs']) for r in mine})
    if not panels:
        return False
    fig, axes = plt.subplots(1, len(panels), figsize=(4.8 * len(panels), 3.8), squeeze=False)
    for ax, (share, epochs) in zip(axes[0], panels):
        for m in methods:
            curves = [r['curve'] for r in mine if (r['share'], r['method'], r['epochs']) == (share, m, epochs)]
            if not curves:
                continue
            steps = sorted(set.intersection(*[set(map(int, c)) for c in curves]))
            ys = [statistics.fmean(float(c[str(e)] if str(e) in c else c[e]) for c in curves) for e in steps]
            ax.plot(steps, ys, marker='.', linestyle='--' if m.endswith('random') else '-',
                    label=f'{m} (n={len(curves)})')
        ax.set_title(f'{_share_name(share)} of train, {epochs} epochs', fontsize=10)
        ax.set_xlabel('epoch')
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return True


def plot_curves(records: List[dict], methods: List[str], out: str) -> bool:
    """Validation accuracy vs epoch, mean over seeds, one panel per share (the paper's Fig. 7)."""
    return _plot_panels(records, 'test', methods, out, 'validation accuracy %',
                        'Fashion raw 32 px pixels: validation accuracy over the schedule (mean over seeds)')


def plot_ad_curves(records: List[dict], out: str) -> bool:
    """Validation AUROC vs epoch of the anomaly-detection runs, one panel per schedule (the paper's Fig. 6)."""
    return _plot_panels(records, 'ad', list(AD_METHODS), out, 'validation AUROC %',
                        'Fashion anomaly detection, raw 32 px pixels: validation AUROC (mean over seeds)')


def run_schedule(args, pool) -> None:
    start = time.time()
    out_dir = osp.join(REPO, args.out)
    os.makedirs(out_dir, exist_ok=True)
    seeds = list(range(args.seeds if args.seeds_set else 5))

    def execute(specs: List[ScheduleRun]) -> List[dict]:
        return _tag(pool.run(specs), specs)

    # 1. selection on validation
    sel = execute([ScheduleRun('select', m, VAL_SEED, s, *SHARES[s], val=True) for s in SHARES for m in CANDIDATES])
    val = {s: {r['method']: r['metrics']['accuracy/top1'] for r in sel if r['share'] == s and 'metrics' in r}
           for s in SHARES}
    choice = choose(val)
    chosen = [choice, CONTROL_OF[choice]] if choice else []

    # 2.-5. in priority order
    def grid(methods, shares, seed_list, phase='test', sched=None):
        sched = sched or SHARES
        return [ScheduleRun(phase, m, seed, s, *sched[s]) for s in shares for seed in seed_list for m in methods]
    # priority (a time-boxed study, rerun with --resume, holds the earlier groups whole; the module docstring
    # says why this order): the bar; the shipped default vs its cached form; AD Base vs CMDA; the paper's step;
    # AD Mixup; the CMDA forms on 25 %; the full split; the controls; the remaining seeds and the long AD schedule
    first, rest = seeds[:FULL_SEEDS], seeds[FULL_SEEDS:]
    specs = grid(['base', 'mixup'] + chosen, SHARES, seeds)
    specs += grid(['shipped', 'cached'], [0.1], seeds)
    specs += [ScheduleRun('ad', m, seed, 1.0, 20, 2) for seed in seeds for m in ('base', 'cmda')]
    specs += grid(['cmda'], [0.1], seeds)
    specs += [ScheduleRun('ad', 'mixup', seed, 1.0, 20, 2) for seed in seeds]
    specs += grid(['cmda', 'cached', 'shipped'], [0.25], first)
    specs += grid(['base', 'mixup'] + chosen + ['cmda', 'cached'], FULL, first, sched=FULL)
    specs += grid(CONTROLS, [0.1], first)
    specs += grid(['cmda', 'cached', 'shipped'], [0.25], rest) + grid(CONTROLS, [0.1], rest)
    specs += grid(CONTROLS, [0.25], seeds)
    specs += [ScheduleRun('ad', m, seed, 1.0, AD_LONG_EPOCHS, 5) for seed in seeds[:AD_LONG_SEEDS]
              for m in AD_METHODS]
    recs = execute(specs)
    elapsed = time.time() - start
    summary = dict(val_seed=VAL_SEED, seeds=seeds, shares={str(k): v for k, v in {**SHARES, **FULL}.items()},
                   candidates=list(CANDIDATES), val={str(k): v for k, v in val.items()}, choice=choice,
                   wall_s=round(elapsed), failed=[r['error'] for r in pool.records if 'error' in r],
                   runs=[{k: r.get(k) for k in ('run_id', 'phase', 'method', 'seed', 'share', 'epochs', 'metrics',
                                                'best_metrics', 'curve', 'train_loss', 'diagnostics', 'wall_s',
                                                'resumed', 'missing', 'error')} for r in sel + recs])
    with open(osp.join(out_dir, 'schedule.json'), 'w') as f:
        json.dump(summary, f, indent=1, default=str)
    png = osp.join(out_dir, 'schedule_curves.png')
    plotted = plot_curves(recs, ['base', 'mixup', 'cmda', 'cached'] + chosen, png)
    ad_plotted = plot_ad_curves(recs, osp.join(out_dir, 'schedule_ad_curves.png'))
    md = render_markdown(summary, sel, recs, args, elapsed, plotted, ad_plotted)
    with open(osp.join(out_dir, 'schedule.md'), 'w') as f:
        f.write(md)
    print(md)


# ---- the report ---------------------------------------------------------------------------------------------
def _schedule_table(recs: List[dict]) -> str:
    """How each schedule was chosen: Base's final training loss and its validation peak / last point."""
    cells, rows = {}, []
    for share, (epochs, every) in {**SHARES, **FULL}.items():
        base = [r for r in recs if r['phase'] == 'test' and (r['share'], r['method'], r['epochs']) ==
                (share, 'base', epochs) and 'metrics' in r]
        row = _share_name(share)
        rows.append(row)
        steps = {0.1: 4, 0.25: 12, 1.0: 49}.get(share)
        cells[(row, 'epochs × steps')] = f'{epochs} × {steps} = {epochs * steps}' if steps else str(epochs)
        cells[(row, 'val points')] = str(epochs // every)
        losses = [r['train_loss'] for r in base if r.get('train_loss') is not None]
        if losses:
            cells[(row, 'Base final train loss')] = f'{statistics.fmean(losses):.4f}'
        peaks = []
        for r in base:
            c = r.get('curve') or {}
            if c:
                best_epoch = max(c, key=lambda k: (float(c[k]), -int(k)))
                peaks.append((int(best_epoch), float(c[best_epoch]), float(c[max(c, key=int)])))
        if peaks:
            cells[(row, 'Base val peak (epoch)')] = (f'{statistics.fmean(p[1] for p in peaks):.2f} '
                                                     f'(ep. {statistics.fmean(p[0] for p in peaks):.0f})')
            cells[(row, 'Base val last')] = f'{statistics.fmean(p[2] for p in peaks):.2f}'
    cols = ['epochs × steps', 'val points', 'Base final train loss', 'Base val peak (epoch)', 'Base val last']
    return render_table(rows, cols, cells, first='share of train')


def render_markdown(summary: dict, sel: List[dict], recs: List[dict], args, elapsed: float, plotted: bool,
                    ad_plotted: bool = False) -> str:
    choice = summary['choice']
    control = CONTROL_OF.get(choice) if choice else None
    lines = ['# CMDA in the paper\'s regime: long schedules on little data (generated by '
             '`benchmarks/quality.py --study schedule`)', '',
             f'Fashion raw 32 px pixels (narrow ResNet-18 from scratch, caption teacher). Stratified share of every '
             f'class of the training split (seeded by the run\'s seed: every method of a seed sees the same subset), '
             f'the full test split. Test seeds {summary["seeds"][0]}..{summary["seeds"][-1]}, validation seed '
             f'{VAL_SEED}. Wall time of this invocation {elapsed / 60:.1f} min (`--jobs {args.jobs}`, finished runs '
             'are reused with `--resume`).', '',
             '## How the schedules were chosen', '',
             'An equal budget of ~800 SGD steps on the 10 % and 25 % shares (B = 128, `drop_last`), cosine over the '
             'whole schedule; the full split at the configs\' 20 epochs. Base must have over-fitted well before the '
             'end: training loss near 0 and its validation curve flat or falling.', '',
             _schedule_table(recs), '']
    # 1. selection
    cells = {}
    for r in sel:
        if 'metrics' in r:
            cells[(r['method'], _share_name(r['share']))] = f'{r["metrics"]["accuracy/top1"]:.2f}'
    lines += ['## 1. Selection of the teacher-guided variant (validation split, one seed)', '',
              render_table(list(CANDIDATES), [_share_name(s) for s in SHARES], cells, first='candidate'), '',
              f'Choice (best mean over the shares): **`{choice}`** ({DESCRIPTIONS.get(choice, "—")}); its control '
              f'`{control}`.' if choice else 'No candidate finished.', '']
    # 2.-4. test tables per share
    last, best = _by_seed(recs), _by_seed(recs, best=True)
    methods = ['base', 'mixup', 'cutmix', 'cmda', 'shipped', 'cached', 'cmda+mixup', 'random', 'matched',
               'matched-share', *CANDIDATES, 'xclass-random']
    lines += ['## 2. Test accuracy: last epoch, and the epoch chosen on validation', '',
              'Mean ± 95 % t-CI over seeds. "best-val epoch" = the checkpoint with the best validation accuracy '
              '(`tools/train.py --test-best`, how users pick one), tested once; never an epoch chosen on test. '
              '"late drop" = last minus best validation point (how much a run lost after its peak). Cost = '
              'median wall time of a run relative to Base on the same share, with two runs sharing the 2 cores: '
              'indicative only (a run paired with a heavier one is slower); the quiet step times are in '
              '[speed.md](speed.md) and [speed_cached.md](speed_cached.md).', '']
    for share, (epochs, _) in {**SHARES, **FULL}.items():
        cls = [r for r in recs if r['phase'] == 'test' and r['share'] == share and 'metrics' in r]
        if not cls:
            continue
        base_wall = [r['wall_s'] for r in cls if r['method'] == 'base' and r.get('wall_s') and not r.get('resumed')]
        cells, rows = {}, []
        for m in methods:
            mine = [r for r in cls if r['method'] == m]
            if not mine:
                continue
            name = f'`{m}`' + (' ◀' if m == choice else '')
            rows.append(name)
            cells[(name, 'what')] = DESCRIPTIONS[m]
            cells[(name, 'last epoch')] = fmt_ci(last[('test', share, m, epochs)].values())
            cells[(name, 'best-val epoch')] = fmt_ci(best[('test', share, m, epochs)].values())
            ep = [r['best_metrics']['epoch'] for r in mine if r.get('best_metrics')]
            cells[(name, 'chosen epoch')] = f'{statistics.fmean(ep):.0f}' if ep else '—'
            drops = [late_drop(r.get('curve')) for r in mine if r.get('curve')]
            cells[(name, 'late drop')] = f'{statistics.fmean(drops):+.2f}' if drops else '—'
            walls = [r['wall_s'] for r in mine if r.get('wall_s') and not r.get('resumed')]  # whole runs only
            if walls and base_wall:
                cells[(name, 'cost')] = f'{statistics.median(walls) / statistics.median(base_wall):.2f}×'
        lines += [f'### {_share_name(share)} of the training split, {epochs} epochs', '',
                  render_table(rows, ['what', 'last epoch', 'best-val epoch', 'chosen epoch', 'late drop', 'cost'],
                               cells, first='method'), '']
        pairs = [('mixup', 'base'), ('cmda', 'base'), ('cmda', 'mixup'), ('shipped', 'base'), ('shipped', 'mixup'),
                 ('cached', 'base'), ('cached', 'mixup'), ('cached', 'shipped'), ('cmda', 'random')]
        if choice:
            pairs = [(choice, 'mixup'), (choice, control), (choice, 'base'), (choice, 'cmda')] + pairs
        pairs += [('cmda', 'matched'), ('cmda', 'matched-share'), ('cmda+mixup', 'mixup'), ('cutmix', 'base')]
        cells, rows = {}, []
        for a, b in pairs:
            ka, kb = ('test', share, a, epochs), ('test', share, b, epochs)
            if ka not in last or kb not in last:
                continue
            row = f'{a} − {b}'
            rows.append(row)
            cells[(row, 'last epoch')] = verdict(last[ka], last[kb])
            cells[(row, 'best-val epoch')] = verdict(best.get(ka, {}), best.get(kb, {}))
        lines += ['Paired per-seed differences (95 % t-CI; "beats" / "loses" only when the CI excludes 0):', '',
                  render_table(rows, ['last epoch', 'best-val epoch'], cells, first='difference'), '']
    if plotted:
        lines += ['## 3. Validation curves (the paper\'s Fig. 7)', '', '![validation curves](schedule_curves.png)', '']
    # diagnostics
    diag_keys = ['cmda_pair_weight', 'cmda_same_class_weight', 'cmda_effective_n', 'cmda_pair_is_top',
                 'cmda_dca_shift']
    cells, rows = {}, []
    for share, (epochs, _) in SHARES.items():
        for m in methods:
            mine = [r for r in recs if r['phase'] == 'test' and (r['share'], r['method']) == (share, m)
                    and (r.get('diagnostics') or {}).get('cmda_pair_weight') is not None]
            if not mine:
                continue
            row = f'{_share_name(share)} / {m}'
            rows.append(row)
            for k in diag_keys:
                vals = [r['diagnostics'][k] for r in mine if k in r['diagnostics']]
                if vals:
                    cells[(row, k[5:])] = f'{statistics.fmean(vals):.3f}'
    lines += ['## 4. What the mixes were (weight diagnostics, last epoch, mean over seeds)', '',
              '`same_class_weight` = the new sample\'s weight on the pair\'s own class (pair included): 1 − it is the '
              'cross-class mass a mixed target carries.', '',
              render_table(rows, [k[5:] for k in diag_keys], cells, first='share / method'), '']
    # 5. anomaly detection
    ad = [r for r in recs if r['phase'] == 'ad' and 'metrics' in r]
    if ad:
        cells, rows = {}, []
        for ep in sorted({r['epochs'] for r in ad}):
            for m in AD_METHODS:
                row = f'{ep} epochs / {m}'
                key = ('ad', 1.0, m, ep)
                if key not in last:
                    continue
                rows.append(row)
                cells[(row, 'AUROC last epoch')] = fmt_ci(last[key].values())
                cells[(row, 'AUROC best-val epoch')] = fmt_ci(best.get(key, {}).values())
                mine = [r for r in ad if (r['method'], r['epochs']) == (m, ep)]
                peaks = [max(r['curve'], key=lambda k: (float(r['curve'][k]), -int(k))) for r in mine if r.get('curve')]
                cells[(row, 'val peak epoch')] = ' / '.join(str(int(k)) for k in peaks) if peaks else '—'
                drops = [late_drop(r.get('curve')) for r in mine if r.get('curve')]
                cells[(row, 'late drop')] = f'{statistics.fmean(drops):+.2f}' if drops else '—'
                if m != 'base':
                    cells[(row, '− Base (last)')] = verdict(last[key], last.get(('ad', 1.0, 'base', ep), {}))
                if m == 'cmda':
                    cells[(row, '− Mixup (last)')] = verdict(last[key], last.get(('ad', 1.0, 'mixup', ep), {}))
        lines += ['## 5. Anomaly detection (6 article types normal, 24 abnormal; SSD on raw 32 px), AUROC %', '',
                  '`val peak epoch`: the epoch of each seed\'s best validation AUROC; `late drop`: last validation '
                  'point minus the peak, mean over seeds (the paper\'s Fig. 6 has Base and Mixup fall after 75-125 '
                  'epochs).', '',
                  render_table(rows, ['AUROC last epoch', 'AUROC best-val epoch', '− Base (last)', '− Mixup (last)',
                                      'val peak epoch', 'late drop'], cells, first='schedule / method'), '']
        schedules = sorted({r['epochs'] for r in ad})
        if len(schedules) > 1:  # what the longer schedule bought each method, paired by seed
            lo, hi = schedules[0], schedules[-1]
            lines += [f'{hi} − {lo} epochs, paired by seed (last epoch): ' + '; '.join(
                f'{m} {verdict(last[("ad", 1.0, m, hi)], last[("ad", 1.0, m, lo)])}' for m in AD_METHODS
                if ('ad', 1.0, m, hi) in last and ('ad', 1.0, m, lo) in last) + '.', '']
        if ad_plotted:
            lines += ['![anomaly detection: validation AUROC over the schedule](schedule_ad_curves.png)', '']
    lines += _verdict_lines(choice, control, last, best)
    lines += _per_seed_lines(recs, methods)
    lines += _reproduce_lines(choice)
    missing = [r for r in sel + recs if r.get('missing')]
    failed = summary['failed']
    hours = sum(r.get('wall_s') or 0 for r in sel + recs if 'metrics' in r) / 3600
    lines += [f'{len(sel) + len(recs) - len(missing)} runs finished ({hours:.1f} h of one-thread run time, two at a '
              f'time); {len(missing)} planned runs not run yet (`--resume` completes them); {len(failed)} failed.']
    if missing:
        groups = defaultdict(list)
        for r in missing:
            groups[(r['phase'], r['share'], r['epochs'], r['method'])].append(r['seed'])
        lines += ['Not run yet (phase, share, epochs, method: seeds): ' + '; '.join(
            f'{ph} {_share_name(sh)} {ep} ep {m}: {",".join(map(str, sorted(sd)))}'
            for (ph, sh, ep, m), sd in groups.items()) + '.']
    lines += [f'- failed: {e}' for e in failed]
    return '\n'.join(lines) + '\n'


def _verdict_lines(choice: Optional[str], control: Optional[str], last: dict, best: dict) -> List[str]:
    """The issue's bar, stated plainly: the chosen teacher-guided variant beats +Mixup on every long-schedule share
    with a paired CI that excludes 0 (5 seeds) and beats its random-partner control, at the last epoch."""
    if not choice:
        return []
    out, met = [], True
    for share, (epochs, _) in SHARES.items():
        for other in ('mixup', control):
            a, b = last.get(('test', share, choice, epochs)), last.get(('test', share, other, epochs))
            if not a or not b:
                met = None if met else met
                out.append(f'- {_share_name(share)}: `{choice}` − `{other}`: not measured yet')
                continue
            v = verdict(a, b)
            met = met and v.startswith('beats') and len(set(a) & set(b)) >= 5
            key_a, key_b = ('test', share, choice, epochs), ('test', share, other, epochs)
            v_best = verdict(best.get(key_a, {}), best.get(key_b, {}))
            out.append(f'- {_share_name(share)}: `{choice}` − `{other}`: {v} (last epoch); {v_best} (best-val epoch)')
    head = {True: 'met', False: 'not met', None: 'open (cells missing)'}[met]
    return ['## The bar (issue 21): ' + head, '',
            'A teacher-guided variant must beat +Mixup on the 10 % and 25 % rows with a paired 95 % CI that excludes 0 '
            '(5 seeds) and beat its random-partner control at matched strength and share.', ''] + out + ['']


def _per_seed_lines(recs: List[dict], methods: List[str]) -> List[str]:
    """Every finished run's last-epoch / best-val-epoch test metric by seed (the raw JSON is not committed: the
    report carries the numbers behind each mean and paired difference)."""
    done = [r for r in recs if 'metrics' in r]
    seeds = sorted({r['seed'] for r in done})
    cells, rows = {}, []
    for phase, share, epochs in sorted({(r['phase'], r['share'], r['epochs']) for r in done}):
        for m in methods:
            mine = {r['seed']: r for r in done if (r['phase'], r['share'], r['epochs'], r['method'])
                    == (phase, share, epochs, m)}
            if not mine:
                continue
            row = f'{"AD " if phase == "ad" else ""}{_share_name(share)} × {epochs} ep / {m}'
            rows.append(row)
            for seed, r in mine.items():
                b = _metric(r, best=True)
                cells[(row, str(seed))] = f'{_metric(r):.2f}' + (f' / {b:.2f}' if b is not None else '')
    if not rows:
        return []
    return ['## Per seed (last epoch / best-val epoch)', '',
            render_table(rows, [str(s) for s in seeds], cells, first='run'), '']


def _reproduce_lines(choice: Optional[str]) -> List[str]:
    """The commands that reproduce every number of the report, and one cell's run as the study launches it."""
    def command(run: ScheduleRun) -> str:
        cmd = run.commands(f'work_dirs/schedule/{run.run_id}', 'data/fashion_cmda')[0]
        return ' '.join(['python'] + cmd[1:])
    example = ScheduleRun('test', choice or 'mixup', 0, 0.1, *SHARES[0.1])
    ad = ScheduleRun('ad', 'cmda', 0, 1.0, AD_LONG_EPOCHS, 5)
    return ['## Reproduce', '', 'From a clean checkout (the fashion release in `data/fashion`: '
            '[docs/data_preparation.md](../../docs/data_preparation.md)):', '', '```bash',
            'make fashion-data       # once: data/fashion_cmda (each step skipped when its output exists)',
            'make quality-schedule   # = OMP_NUM_THREADS=1 python benchmarks/quality.py --study schedule --jobs 2 '
            '--resume', '```', '',
            'Each cell is `tools/train.py` on a shipped config; e.g. seed 0 of the first table\'s '
            f'`{example.method}` row:', '', '```bash', command(example), '```', '',
            f'and seed 0 of the {AD_LONG_EPOCHS}-epoch anomaly-detection CMDA row:', '', '```bash', command(ad), '```',
            '']
