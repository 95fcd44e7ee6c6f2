"""Pure helpers of ``benchmarks/quality.py``: confidence intervals, log/scalar parsing, table rendering.

No training and no mmengine here, so the tests can check every piece on fake inputs.
"""
import json
import math
import re
import statistics
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

__all__ = ['mean_ci', 'parse_final_metrics', 'parse_best_metrics', 'parse_scalars', 'last_diagnostics', 'task_loss',
           'eval_curve', 'fmt_ci', 'render_table', 'diagnostics_table', 'paired_diff', 'paired_verdict']

FINAL_RE = re.compile(r'Final test metrics: (.*)$', re.MULTILINE)
BEST_RE = re.compile(r'Best-validation test metrics \(epoch (\d+)[^)]*\): (.*)$', re.MULTILINE)


def mean_ci(values: Sequence[float], confidence: float = 0.95) -> Tuple[float, float, int]:
    """Mean and half-width of the two-sided Student-t confidence interval.

    Args:
        values (Sequence[float]): one number per seed.
        confidence (float): coverage of the interval. Defaults to 0.95.

    Returns:
        tuple: ``(mean, half_width, n)``; the half-width is ``nan`` for fewer than two values.
    """
    vals = [float(v) for v in values]
    n = len(vals)
    if n == 0:
        return math.nan, math.nan, 0
    mean = statistics.fmean(vals)
    if n < 2:
        return mean, math.nan, 1
    from scipy.stats import t
    sem = statistics.stdev(vals) / math.sqrt(n)
    return mean, float(t.ppf(0.5 + confidence / 2, n - 1)) * sem, n


def parse_final_metrics(log_text: str) -> Dict[str, float]:
    """The metrics of the last ``Final test metrics: k: v, ...`` line printed by ``tools/train.py``.

    Args:
        log_text (str): the stdout/stderr of a run.

    Returns:
        dict: metric name -> value (numbers only).

    Raises:
        ValueError: if the log has no such line.
    """
    found = FINAL_RE.findall(log_text)
    if not found:
        raise ValueError('no "Final test metrics:" line in the log')
    out = {}
    for part in found[-1].split(', '):
        key, _, value = part.rpartition(': ')
        try:
            out[key.strip()] = float(value)
        except ValueError:
            continue
    return out


def parse_best_metrics(log_text: str) -> Optional[Dict[str, float]]:
    """The ``Best-validation test metrics (epoch N, ...): k: v, ...`` line of ``tools/train.py --test-best``.

    Returns:
        dict | None: metric name -> value plus ``epoch`` (the epoch chosen on validation); None without the line.
    """
    found = BEST_RE.findall(log_text)
    if not found:
        return None
    epoch, text = found[-1]
    out = parse_final_metrics(f'Final test metrics: {text}')
    out['epoch'] = int(epoch)
    return out


def task_loss(train_records: List[dict]) -> Optional[float]:
    """Mean training task loss over the logged iterations of the last epoch: ``loss_cls`` where a run logs it
    (CMDA: the total ``loss`` adds the contrastive term), else ``loss``; None without records."""
    if not train_records:
        return None
    last = max(r.get('epoch', 0) for r in train_records)
    rows = [r for r in train_records if r.get('epoch', 0) == last]
    key = 'loss_cls' if any('loss_cls' in r for r in rows) else 'loss'
    vals = [r[key] for r in rows if key in r]
    return statistics.fmean(vals) if vals else None


def parse_scalars(path: str) -> Tuple[List[dict], List[dict]]:
    """Split an mmengine ``vis_data/scalars.json`` into training records and evaluation records.

    Training lines carry ``iter``; evaluation lines carry only ``step`` (the epoch) and the metrics.

    Returns:
        tuple: ``(train_records, eval_records)`` in file order.
    """
    train, evals = [], []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            rec = json.loads(line)
            (train if 'iter' in rec else evals).append(rec)
    return train, evals


def last_diagnostics(train_records: List[dict], prefix: Tuple[str, ...] = ('cmda_', 'loss_contrastive', 'loss_cls')
                     ) -> Dict[str, float]:
    """Mean of every ``cmda_*`` scalar (and the loss terms) over the logged iterations of the last epoch."""
    if not train_records:
        return {}
    last = max(r.get('epoch', 0) for r in train_records)
    rows = [r for r in train_records if r.get('epoch', 0) == last]
    keys = sorted({k for r in rows for k in r if k.startswith(prefix)})
    return {k: statistics.fmean(r[k] for r in rows if k in r) for k in keys}


def eval_curve(eval_records: List[dict], metric: str) -> Dict[int, float]:
    """epoch -> metric from the evaluation records (later records win)."""
    return {int(r['step']): float(r[metric]) for r in eval_records if metric in r}


def fmt_ci(values: Iterable[float], scale: float = 1.0, digits: int = 2) -> str:
    """``'mean ± ci (n)'`` or ``'—'`` when there is no value."""
    mean, half, n = mean_ci([v * scale for v in values])
    if n == 0:
        return '—'
    if n == 1:
        return f'{mean:.{digits}f} (n=1)'
    return f'{mean:.{digits}f} ± {half:.{digits}f} (n={n})'


def render_table(rows: List[str], columns: List[str], cells: Dict[Tuple[str, str], str],
                 first: str = '') -> str:
    """A markdown table; missing cells are ``—``."""
    lines = ['| ' + ' | '.join([first] + columns) + ' |', '|' + '---|' * (len(columns) + 1)]
    for row in rows:
        lines.append('| ' + ' | '.join([row] + [cells.get((row, c), '—') for c in columns]) + ' |')
    return '\n'.join(lines)


def diagnostics_table(groups: Sequence[Tuple[str, List[dict]]], keys: Sequence[str], first: str, ci: bool = False,
                      short: bool = False) -> str:
    """A markdown table of last-epoch weight diagnostics, one row per group of runs, mean over its seeds.

    Args:
        groups (Sequence[Tuple[str, List[dict]]]): ``(row name, records)`` pairs in display order. Only the
            records with a non-empty ``'diagnostics'`` dict count; a group without any is left out.
        keys (Sequence[str]): the diagnostics to show, one column each; a key no record of a group logged
            gives ``—``.
        first (str): the header of the first column.
        ci (bool): append `` ± <half-width>`` of the 95 % t-CI (:func:`mean_ci`) to cells of more than one
            value. Defaults to False (the mean only).
        short (bool): strip the ``cmda_`` prefix from the column headers. Defaults to False.

    Returns:
        str: the table (:func:`render_table`); cells are formatted ``{:.3f}``.
    """
    columns = [k[5:] if short and k.startswith('cmda_') else k for k in keys]
    cells, names = {}, []
    for name, records in groups:
        recs = [r for r in records if r.get('diagnostics')]
        if not recs:
            continue
        names.append(name)
        for key, col in zip(keys, columns):
            vals = [r['diagnostics'][key] for r in recs if key in r['diagnostics']]
            if vals:
                mean, half, n = mean_ci(vals)
                cells[(name, col)] = f'{mean:.3f}' + (f' ± {half:.3f}' if ci and n > 1 else '')
    return render_table(names, columns, cells, first=first)


def best_by(results: Dict[str, List[float]], higher: bool = True) -> Optional[str]:
    """Key with the best mean value (ties: first in insertion order)."""
    best, best_v = None, None
    for key, vals in results.items():
        if not vals:
            continue
        v = statistics.fmean(vals)
        if best is None or (v > best_v if higher else v < best_v):
            best, best_v = key, v
    return best


def paired_diff(a: Dict[int, float], b: Dict[int, float]) -> Tuple[float, float, int]:
    """Mean ± 95 % t-CI of ``a[s] - b[s]`` over the seeds ``s`` both have (a paired comparison).

    Runs of one seed share the data order, the data subset (low-data regime) and the evaluation split, so the
    per-seed difference removes that shared variance; its CI is the sharper test of "A beats B".
    """
    seeds = sorted(set(a) & set(b))
    return mean_ci([a[s] - b[s] for s in seeds])


def paired_verdict(a: Dict[int, float], b: Dict[int, float], show_n: bool = True) -> str:
    """'beats' / 'loses' when the paired 95 % CI of a − b excludes 0 (n ≥ 3), else 'ties'; '—' without data.

    Args:
        a, b (dict): seed -> metric of the two methods (paired over the seeds both have).
        show_n (bool): append the number of paired seeds. Defaults to True.

    Returns:
        str: e.g. ``'beats (+1.00 ± 0.25, n=5)'``.
    """
    mean, half, n = paired_diff(a, b)
    if n < 2:
        return '—'
    word = 'beats' if n >= 3 and mean - half > 0 else 'loses' if n >= 3 and mean + half < 0 else 'ties'
    return f'{word} ({mean:+.2f} ± {half:.2f}' + (f', n={n})' if show_n else ')')
