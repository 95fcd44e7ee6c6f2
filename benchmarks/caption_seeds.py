"""Base vs CMDA captioning over seeds (paper Fig. 10 style): BLEU-4 box plot + markdown table.

Each (config, seed) run is ``tools/train.py`` in a subprocess (train, then the test loop; the reported number is
the last epoch's test BLEU-4 — no epoch is picked on the test set). ``--epochs`` shortens the schedule: the
cosine/step scheduler and the attenuation hook's ``end_epoch`` are scaled with it. ``--untrained`` adds the
untrained model's BLEU-4 (``max_epochs=0``) per seed as a floor. Wall time, CPU time and the load average are
recorded per run, because the machine may be shared.

Usage::

    python benchmarks/caption_seeds.py --seeds 0 1 2 [--epochs 12] [--threads 1] [--jobs 2] [--untrained]
        [--configs configs/captioning/base_sat_shapes.py configs/captioning/cmda_sat_shapes.py]
        [--out benchmarks/results/caption_seeds]
"""
import argparse
import json
import os
import os.path as osp
import re
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEFAULT_CONFIGS = ['configs/captioning/base_sat_shapes.py', 'configs/captioning/cmda_sat_shapes.py']
METRIC_RE = re.compile(r'caption/BLEU-(\d): ([0-9.]+)')


def derived_config(path: str, seed: int, epochs, work_dir: str) -> str:
    """Write the config with the seed (and a rescaled schedule) into ``work_dir``; return its path."""
    sys.path.insert(0, REPO)
    from mmengine.config import Config

    import cmda_mm  # noqa: F401
    cfg = Config.fromfile(osp.join(REPO, path))
    cfg.randomness = dict(seed=seed, deterministic=False)
    if epochs is not None:
        old = cfg.train_cfg.max_epochs
        scale = epochs / old if old else 1.0
        cfg.train_cfg.max_epochs = epochs
        cfg.train_cfg.val_interval = max(epochs, 1)
        for sched in cfg.get('param_scheduler') or []:
            for key in ('T_max', 'end'):
                if key in sched:
                    sched[key] = max(1, round(sched[key] * scale))
            if 'milestones' in sched:
                sched['milestones'] = [max(1, round(m * scale)) for m in sched['milestones']]
        for hook in cfg.get('custom_hooks') or []:
            if hook.get('type') == 'CMDAAttenuationHook' and hook.get('end_epoch') and epochs > 0:
                hook['end_epoch'] = max(hook.get('begin_epoch', 0) + 1, round(hook['end_epoch'] * scale))
    os.makedirs(work_dir, exist_ok=True)
    out = osp.join(work_dir, 'config.py')
    cfg.dump(out)
    return out


def run_one(name: str, path: str, seed: int, epochs, args) -> dict:
    work_dir = osp.join(args.work_root, f'{name}_seed{seed}')
    config = derived_config(path, seed, epochs, work_dir)
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get('PYTHONPATH', ''))
    if args.threads:
        env['OMP_NUM_THREADS'] = str(args.threads)
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, osp.join(REPO, 'tools/train.py'), config, '--work-dir', work_dir],
                          cwd=REPO, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    with open(osp.join(work_dir, 'stdout.log'), 'w') as f:
        f.write(proc.stdout + proc.stderr)
    final = [line for line in (proc.stdout + proc.stderr).splitlines() if 'Final test metrics' in line]
    if proc.returncode != 0 or not final:
        raise RuntimeError(f'{name} seed {seed} failed (rc={proc.returncode}); see {work_dir}/stdout.log')
    bleu = {f'BLEU-{n}': float(v) for n, v in METRIC_RE.findall(final[-1])}
    result = dict(name=name, config=path, seed=seed, epochs=epochs, wall_s=wall, load_before=load_before,
                  load_after=os.getloadavg()[0], **bleu)
    print(f"{name:>10s} seed {seed}: BLEU-4 {bleu['BLEU-4']:.2f}  wall {wall:.0f}s  "
          f"load {load_before:.1f}->{result['load_after']:.1f}", flush=True)
    return result


def summarise(values):
    from scipy import stats
    mean = statistics.mean(values)
    ci = stats.t.ppf(0.975, len(values) - 1) * statistics.stdev(values) / len(values)**0.5 if len(values) > 1 \
        else float('nan')
    return mean, ci


def report(results, args, out: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    names = [n for n in args.names if any(r['name'] == n for r in results)]
    data = [[r['BLEU-4'] for r in results if r['name'] == n] for n in names]
    fig, ax = plt.subplots(figsize=(1.8 + 1.4 * len(names), 3.6))
    ax.boxplot(data, whis=(0, 100), showfliers=False, medianprops=dict(visible=False))
    ax.scatter(range(1, len(names) + 1), [statistics.median(d) for d in data], marker='^', color='C1', zorder=3,
               label='median')
    for i, d in enumerate(data, 1):
        ax.scatter([i] * len(d), d, s=10, color='k', alpha=0.6, zorder=3)
    ax.set_xticks(range(1, len(names) + 1), names)
    ax.set_ylabel('test BLEU-4')
    ax.set_title(f'Captioning on the shapes demo, {len(args.seeds)} seeds (whiskers: min/max)', fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out + '.png', dpi=120)

    lines = ['# Captioning: Base vs CMDA over seeds (BLEU-4, test split, last epoch)', '',
             f"Command: `python benchmarks/caption_seeds.py {' '.join(sys.argv[1:])}`  ",
             f'Seeds: {args.seeds}; epochs: {args.epochs or "config default"}; OMP threads: '
             f'{args.threads or "default"}; parallel jobs: {args.jobs}; CPUs: {os.cpu_count()}.', '',
             '| method | BLEU-4 mean ± 95% CI | median | min | max | BLEU-1 | per seed | mean wall (s) | '
             'load avg (1 min) |', '|---|---|---|---|---|---|---|---|---|']
    for name, d in zip(names, data):
        rows = [r for r in results if r['name'] == name]
        mean, ci = summarise(d)
        b1 = statistics.mean(r['BLEU-1'] for r in rows)
        wall = statistics.mean(r['wall_s'] for r in rows)
        load = statistics.mean((r['load_before'] + r['load_after']) / 2 for r in rows)
        lines.append(f'| {name} | {mean:.2f} ± {ci:.2f} | {statistics.median(d):.2f} | {min(d):.2f} | '
                     f"{max(d):.2f} | {b1:.2f} | {', '.join(f'{v:.2f}' for v in d)} | {wall:.0f} | {load:.1f} |")
    lines += ['', f'![box plot]({osp.basename(out)}.png)', '']
    with open(out + '.md', 'w') as f:
        f.write('\n'.join(lines))
    with open(out + '.json', 'w') as f:
        json.dump(results, f, indent=1)
    print('\n'.join(lines))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--configs', nargs='+', default=DEFAULT_CONFIGS)
    parser.add_argument('--names', nargs='+', help='labels of the configs (default: base, cmda, ...)')
    parser.add_argument('--seeds', nargs='+', type=int, default=[0, 1, 2])
    parser.add_argument('--epochs', type=int, help='shorter/longer schedule (scheduler and attenuation scaled)')
    parser.add_argument('--untrained', action='store_true', help="also report the untrained model's BLEU-4")
    parser.add_argument('--threads', type=int, default=1, help='OMP_NUM_THREADS per run (0: default)')
    parser.add_argument('--jobs', type=int, default=1, help='runs in parallel')
    parser.add_argument('--work-root', default='work_dirs/caption_seeds')
    parser.add_argument('--out', default=osp.join(REPO, 'benchmarks/results/caption_seeds'))
    args = parser.parse_args(argv)
    args.work_root = osp.abspath(args.work_root)
    args.names = args.names or [osp.basename(c).split('_')[0] for c in args.configs]
    if len(args.names) != len(args.configs):
        raise SystemExit('--names must match --configs')
    tasks = [(n, c, s, args.epochs) for s in args.seeds for n, c in zip(args.names, args.configs)]
    if args.untrained:
        args.names = ['untrained'] + args.names
        tasks = [('untrained', args.configs[0], s, 0) for s in args.seeds] + tasks
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(lambda t: run_one(*t, args), tasks))
    os.makedirs(osp.dirname(args.out) or '.', exist_ok=True)
    report(results, args, args.out)


if __name__ == '__main__':
    main()
