"""``benchmarks/quality.py --study variants``: select CMDA variants on validation, test them, map the regimes.

1. **Select** (validation split, seed 100): Base, +Mixup, every candidate of ``_variants.CANDIDATES`` and the
   two controls on each row of ``STUDY_ROWS``. A row's choice is its best candidate on validation. The
   **default** is the candidate whose worst margin over Base across the rows is the largest (the setting that
   never loses to Base on validation if one exists); ties keep the earlier candidate (the paper's step first).
2. **Test** (test split, seeds 0..n-1): Base, +Mixup, the paper's CMDA, the row's choice, the default, the
   shipped ``cmda=dict()`` and the controls; paired per-seed differences (choice − Base / − Mixup / − random
   partners / − matched Mixup, default and shipped − Base).
3. **Regime map**: Base, +Mixup and the row's choice trained on a stratified 10 % and 25 % of every class
   (same epochs), tested on the full test split; with 100 % from step 2.

Writes ``<out>/variants.md`` and ``variants.json``; README tables come from them.
"""
import json
import os
import os.path as osp
import time
from collections import defaultdict
from typing import Dict, List, Optional

from _fashion_grid import HP_GRID as FASHION_HP_GRID
from _fashion_main import hp_search as fashion_hp_search
from _variants import (CANDIDATES, CHECKS, CONTROLS, DESCRIPTIONS, LEFT_OUT, STUDY_ROWS, WIKIPEDIA_HP, StudyRow,
                       VariantRun, matched_moments)

from _quality_grid import REPO
from _quality_stats import diagnostics_table, fmt_ci, mean_ci, paired_verdict, render_table

__all__ = ['run_variants', 'select', 'choose_default', 'regime_verdict']

VAL_SEED = 100
FRACTIONS = (0.1, 0.25)
METRIC = 'accuracy/top1'
DIAG = ['cmda_pair_weight', 'cmda_pair_weight_std', 'cmda_pair_is_top', 'cmda_effective_n', 'cmda_same_class_weight',
        'cmda_dca_shift']


def _score(rec: dict) -> Optional[float]:
    return rec.get('metrics', {}).get(METRIC)


def _by(records: List[dict]) -> Dict[tuple, Dict[int, float]]:
    """(row, method, fraction) -> seed -> metric, over finished runs."""
    out = defaultdict(dict)
    for rec in records:
        if _score(rec) is not None:
            out[(rec['student'], rec['method'], rec.get('fraction'))][int(rec['seed'])] = _score(rec)
    return out


def select(val: Dict[str, Dict[str, float]]) -> Dict[str, Optional[str]]:
    """Each row's best candidate on validation (None when none finished)."""
    out = {}
    for row, scores in val.items():
        cands = {m: v for m, v in scores.items() if m in CANDIDATES}
        out[row] = max(cands, key=lambda m: (cands[m], -list(CANDIDATES).index(m))) if cands else None
    return out


def choose_default(val: Dict[str, Dict[str, float]]) -> Optional[dict]:
    """The candidate with the largest worst-case validation margin over Base across the rows.

    Only candidates measured on every row with a Base score compete. Returns ``dict(method, worst_margin,
    margins)`` or None.
    """
    rows = [r for r, s in val.items() if 'base' in s]
    best = None
    for m in CANDIDATES:
        if not rows or any(m not in val[r] for r in rows):
            continue
        margins = {r: val[r][m] - val[r]['base'] for r in rows}
        worst = min(margins.values())
        if best is None or worst > best['worst_margin']:
            best = dict(method=m, worst_margin=worst, margins=margins)
    return best


def regime_verdict(a: Dict[int, float], b: Dict[int, float]) -> str:
    """'beats' / 'loses' when the paired 95 % CI of a − b excludes 0 (n ≥ 3), else 'ties' (n is the row's)."""
    return paired_verdict(a, b, show_n=False)


def priority(row: StudyRow) -> tuple:
    """Run order of the test and regime phases: the raw-pixel row, fashion's feature rows, then Wikipedia."""
    return (row.key != 'fashion/pixels', row.dataset != 'fashion')


def _hp_of(pool, rows: List[StudyRow]) -> Dict[str, dict]:
    """The rows' CMDA settings: fashion's validation search (reused runs), Wikipedia's from quality.md."""
    fashion = [r.name for r in rows if r.dataset == 'fashion']
    search = fashion_hp_search(pool, [r for r in fashion if r in FASHION_HP_GRID], None, seeds=[VAL_SEED])
    return {r.key: (search[r.name]['chosen'] if r.dataset == 'fashion' else WIKIPEDIA_HP[r.name]) for r in rows}


def _records_with_fraction(recs: List[dict], runs: List[VariantRun]) -> List[dict]:
    for rec, run in zip(recs, runs):
        rec['fraction'] = run.train_fraction
        rec['method'] = run.method
        rec['student'] = run.row.key
    return recs


def run_variants(args, pool) -> None:
    start = time.time()
    out_dir = osp.join(REPO, args.out)
    os.makedirs(out_dir, exist_ok=True)
    rows = [r for r in STUDY_ROWS if not args.rows or r.key in args.rows or r.name in args.rows]
    roots = {'fashion': osp.abspath(osp.join(REPO, 'data', 'fashion_cmda')),
             'wikipedia': osp.abspath(osp.join(REPO, 'data', 'wikipedia'))}
    for row in rows:
        if not osp.isdir(roots[row.dataset]):
            raise FileNotFoundError(f'row {row.key}: {roots[row.dataset]} not found (fashion: make fashion-data; '
                                    'wikipedia: ln -s ../shared/data/wikipedia data/wikipedia)')
    hp = _hp_of(pool, rows)

    def runs(phase, methods, seeds, fraction=None, val=False, moments=None):
        # selection: the cheap feature rows first (the default needs every row); test and regime: the raw-pixel
        # row first (issue 16's target), then fashion's feature rows, then Wikipedia. An interrupted study
        # (rerun with --resume) holds whole rows in that order.
        order = sorted(rows, key=lambda r: r.key == 'fashion/pixels') if phase == 'select' else \
            sorted(rows, key=priority)
        return [VariantRun(phase, r, m, s, hp[r.key], val=val, train_fraction=fraction, data_roots=roots,
                           moments=(moments or {}).get(r.key) if m == 'matched' else None)
                for r in order for m in methods(r) for s in seeds(r)]

    def execute(specs: List[VariantRun]) -> List[dict]:
        return _records_with_fraction(pool.run(specs), specs)

    # 1. selection on validation
    sel = execute(runs('select', lambda r: ['base', 'mixup', *CANDIDATES, 'random', *CHECKS], lambda r: [VAL_SEED],
                       val=True))
    moments = {}
    for row in rows:  # fitted to the paper step's pair weight; the random control logs the same weights
        for m in ('cmda', 'random'):
            rec = next((x for x in sel if x['student'] == row.key and x['method'] == m and x.get('diagnostics')
                        and matched_moments(x['diagnostics'])), None)
            if rec:
                moments[row.key] = matched_moments(rec['diagnostics'])
                break
    sel += execute([r for r in runs('select', lambda r: ['matched'] if r.key in moments else [],
                                    lambda r: [VAL_SEED], val=True, moments=moments)])
    val = {row.key: {m: s[VAL_SEED] for (k, m, _), s in _by(sel).items() if k == row.key and VAL_SEED in s}
           for row in rows}
    choice = select(val)
    default = choose_default(val)

    # 2. test; 3. regime map; 4. extras: the Wikipedia controls and the cached CMDA on pixels (quality beside the
    # fresh-embedding CMDA) run last, so that a time-boxed study (rerun with --resume) first holds every row's
    # choice, default and fashion controls, then the regime map
    def test_methods(r):
        ms = ['base', 'mixup', 'cmda', choice.get(r.key), default['method'] if default else None]
        ms += ['random'] + (['matched'] if r.key in moments else []) if r.dataset == 'fashion' else []
        ms += list(CHECKS)
        return [m for i, m in enumerate(ms) if m and m not in ms[:i]]

    def extra_methods(r):
        ms = ['random'] + (['matched'] if r.key in moments else []) if r.dataset != 'fashion' else []
        return ms + (['cached'] if r.key == 'fashion/pixels' else [])
    seeds = lambda r: list(range(r.seeds))  # noqa: E731
    tests_all = runs('test', test_methods, seeds, moments=moments)
    regime_all = [x for f in FRACTIONS for x in runs(
        'regime', lambda r: [m for m in ('base', 'mixup', choice.get(r.key)) if m], seeds, fraction=f)]
    extras = runs('test', extra_methods, seeds, moments=moments)
    # group by priority: the raw-pixel row, fashion's feature rows, Wikipedia; in each, test then regime map
    specs = sorted(tests_all + regime_all, key=lambda x: (priority(x.row), x.phase != 'test')) + extras
    recs = execute(specs)
    tests = [r for r, x in zip(recs, specs) if x.phase == 'test']
    regime = [r for r, x in zip(recs, specs) if x.phase == 'regime']
    elapsed = time.time() - start
    # a CMDA variant whose runs logged no weight diagnostics never mixed (e.g. an alignment gate that stayed
    # closed): it trained Base + the cross-modal contrastive loss only, and the report says so
    never_mixed = sorted({f'{r["student"]}/{r["method"]}' for r in sel + tests + regime
                          if r['method'] not in ('base', 'mixup', 'matched') and 'metrics' in r
                          and 'cmda_pair_weight' not in (r.get('diagnostics') or {})})
    summary = dict(rows=[r.key for r in rows], val_seed=VAL_SEED, hp=hp, candidates=list(CANDIDATES),
                   controls=list(CONTROLS), left_out=LEFT_OUT, val=val, choice=choice, default=default,
                   never_mixed=never_mixed,
                   moments=moments, fractions=list(FRACTIONS), wall_s=round(elapsed),
                   failed=[r['error'] for r in pool.records if 'error' in r],
                   runs=[{k: r.get(k) for k in ('run_id', 'student', 'method', 'seed', 'fraction', 'metrics',
                                                'diagnostics', 'wall_s', 'missing', 'error')}
                         for r in sel + tests + regime])
    with open(osp.join(out_dir, 'variants.json'), 'w') as f:
        json.dump(summary, f, indent=1, default=str)
    md = render_markdown(summary, rows, sel, tests, regime, args, elapsed)
    with open(osp.join(out_dir, 'variants.md'), 'w') as f:
        f.write(md)
    print(md)


def render_markdown(summary: dict, rows: List[StudyRow], sel: List[dict], tests: List[dict], regime: List[dict],
                    args, elapsed: float) -> str:
    keys = [r.key for r in rows]
    val, choice, default = summary['val'], summary['choice'], summary['default']
    methods = ['base', 'mixup', *CANDIDATES, *CONTROLS, *CHECKS]
    lines = ['# Which CMDA variant pays off (generated by `benchmarks/quality.py --study variants`)', '',
             f'Rows: {", ".join(keys)}. Validation seed {VAL_SEED}; test seeds 0..{max(r.seeds for r in rows) - 1}; '
             f'accuracy % (last epoch). Wall time of this invocation {elapsed / 60:.1f} min (2 cores, '
             f'`--jobs {args.jobs}`; finished runs are reused with `--resume`). Left out of the search: ' +
             '; '.join(f'`{k}` ({v})' for k, v in LEFT_OUT.items()) + '.', '',
             '## 1. Validation (one seed): accuracy, and Δ to Base', '']
    cells = {}
    for k in keys:
        for m in methods:
            if m in val.get(k, {}):
                v = val[k][m]
                delta = f' ({v - val[k]["base"]:+.2f})' if 'base' in val[k] and m != 'base' else ''
                mark = ' ◀' if m == choice.get(k) else ''
                mark += ' †' if f'{k}/{m}' in summary.get('never_mixed', []) else ''
                cells[(k, m)] = f'{v:.2f}{delta}{mark}'
    for row in rows:  # what one validation run can resolve: 2 binomial standard errors of Base's accuracy
        if 'base' in val.get(row.key, {}):
            p = val[row.key]['base'] / 100
            cells[(row.key, '±2 SE')] = f'{200 * (p * (1 - p) / row.val_size) ** 0.5:.1f}'
    lines += [render_table(keys, methods + ['±2 SE'], cells, first='row \\ method'), '',
              '±2 SE = two binomial standard errors of one validation accuracy (n = the val split): margins '
              'below it are ties that one seed cannot resolve.', '',
              '◀ = the row\'s choice (best candidate; controls and checks never chosen). † = the run never mixed '
              '(no weight diagnostics logged: the alignment gate stayed closed), so it trained Base + the cross-modal '
              'contrastive loss (Eq. 7) only. Methods: ' +
              '; '.join(f'`{m}` {DESCRIPTIONS[m]}' for m in methods if m in DESCRIPTIONS) + '.', '']
    if default:
        lines += [f'**Default** (largest worst-case margin over Base on validation): `{default["method"]}`, worst '
                  f'margin {default["worst_margin"]:+.2f} (' +
                  ', '.join(f'{k} {v:+.2f}' for k, v in default['margins'].items()) + ').', '']
    # 2. test
    by = _by(tests)
    cols = ['base', 'mixup', 'cmda', 'choice', 'default', 'shipped', 'random', 'matched', 'cached']
    cells = {}
    for k in keys:
        for c in cols:
            m = choice.get(k) if c == 'choice' else (default or {}).get('method') if c == 'default' else c
            vals = list(by.get((k, m, None), {}).values()) if m else []
            cells[(k, c)] = fmt_ci(vals) + (f' [`{m}`]' if c in ('choice', 'default') and vals else '')
    lines += ['## 2. Test: mean ± 95 % CI over seeds', '', render_table(keys, cols, cells, first='row'), '']
    pcols = ['choice − Base', 'choice − Mixup', 'choice − random partners', 'choice − matched Mixup',
             'default − Base', 'shipped − Base', 'cached − CMDA']
    pairs = [('choice', 'base'), ('choice', 'mixup'), ('choice', 'random'), ('choice', 'matched'),
             ('default', 'base'), ('shipped', 'base'), ('cached', 'cmda')]
    cells = {}
    for k in keys:
        for name, (a, b) in zip(pcols, pairs):
            a = choice.get(k) if a == 'choice' else (default or {}).get('method') if a == 'default' else a
            if a:
                cells[(k, name)] = regime_verdict(by.get((k, a, None), {}), by.get((k, b, None), {}))
    lines += ['Paired per-seed differences (95 % t-CI; "beats"/"loses" only when the CI excludes 0):', '',
              render_table(keys, pcols, cells, first='row'), '']
    # diagnostics of the CMDA runs on test
    diag = {}  # (student, method) -> its test records that logged a DIAG key, in first-seen order
    for rec in tests:
        if any(key in DIAG for key in rec.get('diagnostics') or {}):
            diag.setdefault((rec['student'], rec['method']), []).append(rec)
    lines += ['Weight diagnostics (test runs, last epoch, mean over seeds):', '',
              diagnostics_table([(f'{k} / {m}', recs) for (k, m), recs in diag.items()], DIAG, first='row / method'),
              '']
    # 3. regime map
    rby = _by(regime)
    fr_cols = [f'{int(f * 100)} %' for f in FRACTIONS] + ['100 %']
    cells = {}
    for k in keys:
        m = choice.get(k)
        for f, col in zip(list(FRACTIONS) + [None], fr_cols):
            src = rby if f is not None else by
            if not m:
                continue
            c = src.get((k, m, f), {})
            if not c:
                continue
            cells[(k, col)] = (f'{mean_ci(list(c.values()))[0]:.2f}: vs Base '
                               f'{regime_verdict(c, src.get((k, "base", f), {}))}, vs Mixup '
                               f'{regime_verdict(c, src.get((k, "mixup", f), {}))}')
    lines += ['## 3. Regime map: the row\'s chosen CMDA vs Base and Mixup, by share of the training split', '',
              'Stratified share of every class (seeded by the run\'s seed: every method of a seed sees the same '
              'subset), the same number of epochs, the full test split.', '',
              render_table([f'{k} [`{choice.get(k)}`]' for k in keys], fr_cols,
                           {(f'{k} [`{choice.get(k)}`]', c): v for (k, c), v in cells.items()}, first='row'), '']
    missing = sum(1 for r in sel + tests + regime if r.get('missing'))
    failed = summary['failed']
    lines += [f'{missing} planned runs not run yet (`--resume` completes them); {len(failed)} failed.'] + \
        [f'- failed: {e}' for e in failed]
    return '\n'.join(lines) + '\n'
