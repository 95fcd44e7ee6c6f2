"""Training-step speed and memory of Base / Mixup / CMDA, side by side, through the project's own models.

Measured in one run on this machine (as ratios, so machines compare):

1. Step time (``model.train_step``: preprocessor + forward + backward + SGD step) of Base, Mixup, CMDA p=0.5,
   CMDA p=1.0 (DCA on, a fitted mixture in the buffers) and CMDA cached replace (p=0.5, weights from the
   per-sample embedding cache, filled by the warm-up rounds; one forward of B rows) for the same model and
   batch: ResNet-18
   (CIFAR stem) at 32 px, B=32, and the Wikipedia MLP towers at B=128. Variants are interleaved round by round
   so drift in the machine's load hits all of them alike; the median is reported.
2. The mix op vs a per-sample Python loop (from ``bench_core``).
3. The DCA hook's epoch-end fit (our GaussianMixture) vs scikit-learn on the same embeddings.
4. Peak memory of a step per variant (peak RSS growth of a fresh process over its RSS after one warm-up
   step; the peak is reset through /proc/self/clear_refs).

Usage::

    python benchmarks/speed.py [--steps 20] [--out benchmarks/results/speed.md]
    python benchmarks/speed.py --settings resnet18-32px-B32 --steps-only --out /tmp/speed.md  # step times only
"""
import argparse
import copy
import datetime
import multiprocessing as mp
import os.path as osp
import platform
import statistics
import sys
import time

import torch

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)
sys.path.insert(0, osp.join(REPO, 'benchmarks'))

SETTINGS = {
    'resnet18-32px-B32': dict(
        config='configs/cmda_demo.py', batch=32, student=(3, 32, 32), teacher=256, classes=6,
        override=dict(backbone=dict(type='ResNet_CIFAR', depth=18, stem_channels=64, base_channels=64, num_stages=4,
                                    out_indices=(3, ), _delete_=True),
                      head=dict(in_channels=512), student_projector=dict(in_channels=512))),
    'wikipedia-mlp-B128': dict(config='configs/wikipedia/cmda_mlp_wikipedia-vision.py', batch=128,
                               student=(128, ), teacher=384, classes=10, override={}),
}
VARIANTS = {
    'Base': dict(teacher=False, cmda=None, mixup=False),
    'Mixup': dict(teacher=False, cmda=None, mixup=True),
    'Towers p=0': dict(teacher=True, cmda=0.0, mixup=False),
    'CMDA p=0.5': dict(teacher=True, cmda=0.5, mixup=False),
    'CMDA p=1.0': dict(teacher=True, cmda=1.0, mixup=False),
    'CMDA cached replace': dict(teacher=True, cmda=0.5, mixup=False, cached=True),
}
CACHED = 'CMDA cached replace'


def build(setting: dict, variant: dict):
    """Model + optimiser wrapper for one (setting, variant), built from the project's configs."""
    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper
    from mmpretrain.registry import MODELS

    import cmda_mm  # noqa: F401
    from cmda_mm.core import GaussianMixture
    cfg = Config.fromfile(osp.join(REPO, setting['config']))
    model_cfg = Config(dict(model=cfg.model))
    model_cfg.merge_from_dict(dict(model=copy.deepcopy(setting['override'])))
    m = model_cfg.model.to_dict()
    pre = m['data_preprocessor']
    if not variant['teacher']:
        for key in ('teacher_encoder', 'student_projector', 'teacher_projector', 'contrastive_loss'):
            m.pop(key, None)
        pre.pop('cmda', None)
    else:
        pre['cmda'] = dict(pre['cmda'], fraction=variant['cmda'])
        if variant.get('cached'):  # the batch's sample_idx are 0..B-1
            pre['cmda'].update(mode='replace', cache_size=setting['batch'])
    if variant['mixup']:
        m['train_cfg'] = dict(augments=dict(type='Mixup', alpha=0.25))
    torch.manual_seed(0)
    model = MODELS.build(m)
    mixer = getattr(model.data_preprocessor, 'cmda', None)
    if mixer is not None:  # a fitted mixture, so the DCA path runs as after the first epoch
        dim = model.student_projector.out_channels
        emb = torch.nn.functional.normalize(torch.randn(512, dim), dim=1)
        mixer.set_gmm(GaussianMixture(2, 'diag', seed=0).fit(emb))
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    model.train()
    return model, optim


def batch(setting: dict, seed: int = 0):
    from mmpretrain.structures import DataSample
    g = torch.Generator().manual_seed(seed)
    b = setting['batch']
    student = torch.randn(b, *setting['student'], generator=g)
    if len(setting['student']) == 3:
        student = (student * 60 + 127).clamp(0, 255)
    teacher = torch.rand(b, setting['teacher'], generator=g)
    labels = torch.randint(setting['classes'], (b, ), generator=g)
    return dict(inputs=dict(student=student, teacher=teacher),
                data_samples=[DataSample(metainfo=dict(sample_idx=i)).set_gt_label(int(y))
                              for i, y in enumerate(labels)])


def step_times(setting: dict, steps: int) -> dict:
    """Median step time (ms) per variant, variants interleaved round by round."""
    built = {name: build(setting, v) for name, v in VARIANTS.items()}
    data = {name: batch(setting) for name in VARIANTS}
    # The floor of append-mode CMDA at p = 0.5: Base on a batch of 1.5·B real samples (the same number of
    # forward/backward rows as CMDA's B real + 0.5·B new ones).
    built[FLOOR] = build(setting, VARIANTS['Base'])
    data[FLOOR] = batch(dict(setting, batch=int(round(1.5 * setting['batch']))))
    times = {name: [] for name in built}
    for round_ in range(steps + 2):
        for name, (model, optim) in built.items():
            d = copy.copy(data[name])
            d['data_samples'] = copy.deepcopy(data[name]['data_samples'])
            start = time.perf_counter()
            model.train_step(d, optim)
            if round_ >= 2:  # warm-up rounds
                times[name].append(time.perf_counter() - start)
    return {name: 1e3 * statistics.median(t) for name, t in times.items()}


FLOOR = 'Base, 1.5·B'
KEEP_MARKER = '<!-- hand-written below this line: kept when speed.py regenerates the file -->'


def _rss_kb(field: str) -> int:
    with open('/proc/self/status') as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field))


def _peak_child(setting_name: str, variant_name: str, queue) -> None:
    setting = SETTINGS[setting_name]
    model, optim = build(setting, VARIANTS[variant_name])
    data = batch(setting)
    d = copy.copy(data)
    d['data_samples'] = copy.deepcopy(data['data_samples'])
    model.train_step(d, optim)  # allocate optimiser state and caches before the baseline
    with open('/proc/self/clear_refs', 'w') as f:  # reset the peak RSS (VmHWM) to the current RSS
        f.write('5')
    base = _rss_kb('VmRSS:')
    for _ in range(3):
        d = copy.copy(data)
        d['data_samples'] = copy.deepcopy(data['data_samples'])
        model.train_step(d, optim)
    queue.put((_rss_kb('VmHWM:') - base) / 1024.0)


def peak_memory(setting_name: str) -> dict:
    ctx = mp.get_context('spawn')
    out = {}
    for name in VARIANTS:
        queue = ctx.Queue()
        proc = ctx.Process(target=_peak_child, args=(setting_name, name, queue))
        proc.start()
        out[name] = queue.get(timeout=600)
        proc.join()
    return out


def dca_fit_rows(repeats: int = 5):
    """Fit time (best of ``repeats``) and EM iterations of our GMM vs scikit-learn on the same embeddings."""
    import numpy as np  # noqa: F401  (scikit-learn input)
    from sklearn.mixture import GaussianMixture as SkGMM

    from cmda_mm.core import GaussianMixture
    rows = ['| embeddings | M | cov | sklearn (s) | ours (s) | speed-up | EM iterations (sklearn / ours) |',
            '|---|---|---|---|---|---|---|']
    for n, m, cov in ((2173, 2, 'diag'), (10000, 2, 'diag'), (10000, 8, 'diag'), (10000, 8, 'full')):
        g = torch.Generator().manual_seed(0)
        centers = torch.randn(m, 128, generator=g)
        x = torch.nn.functional.normalize(centers[torch.randint(m, (n, ), generator=g)]
                                          + 0.5 * torch.randn(n, 128, generator=g), dim=1)
        x64 = x.double().numpy()
        # Best of N, each library in its own block: interleaving them makes each run pay for the other's
        # spinning thread pool (torch's OpenMP vs NumPy's BLAS), which cost either side up to 3× here.
        t_sk = t_ours = float('inf')
        for _ in range(repeats):
            t0 = time.perf_counter()
            sk = SkGMM(m, covariance_type=cov, tol=1e-3, reg_covar=1e-6, random_state=0,
                       init_params='k-means++').fit(x64)
            t_sk = min(t_sk, time.perf_counter() - t0)
        for _ in range(repeats):
            t0 = time.perf_counter()
            ours = GaussianMixture(m, cov, tol=1e-3, reg_covar=1e-6, seed=0).fit(x)
            t_ours = min(t_ours, time.perf_counter() - t0)
        rows.append(f'| {n}×128 | {m} | {cov} | {t_sk:.3f} | {t_ours:.3f} | {t_sk / t_ours:.1f}× | '
                    f'{sk.n_iter_} / {ours.n_iter_} |')
        print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--steps', type=int, default=20, help='timed steps per variant')
    parser.add_argument('--no-memory', action='store_true', help='skip the per-variant peak memory runs')
    parser.add_argument('--settings', nargs='+', choices=sorted(SETTINGS), default=list(SETTINGS),
                        help='time these settings only (default: all)')
    parser.add_argument('--steps-only', action='store_true',
                        help='step times only: skip peak memory, the DCA fit and the mix-op sections')
    parser.add_argument('--out', default=osp.join(REPO, 'benchmarks', 'results', 'speed.md'))
    args = parser.parse_args()
    import bench_core

    lines = ['# Speed: Base vs Mixup vs CMDA', '',
             f'{datetime.date.today()}, {platform.processor() or platform.machine()}, '
             f'{torch.get_num_threads()} threads, torch {torch.__version__}. Command: '
             f'`python benchmarks/speed.py {" ".join(sys.argv[1:])}`.', '',
             '## 1. Training step time (median ms) and ratios', '',
             '`Towers p=0` is the CMDA model (teacher tower, projectors, contrastive loss) with p = 0: it '
             'separates what the common latent space costs from what the augmentation (weights, DCA, mix, '
             'forward of the new samples) costs. `Base, 1.5·B` is Base on 1.5× the batch: the same number of '
             'rows through the network as CMDA p = 0.5 in append mode, i.e. the floor of its cost.', '',
             '| setting | ' + ' | '.join(VARIANTS) + ' | CMDA p=0.5 / Base | CMDA p=0.5 / Mixup | '
             f'CMDA p=1.0 / Base | CMDA p=0.5 / Towers p=0 | {FLOOR} | CMDA p=0.5 / ({FLOOR}) | '
             f'{CACHED} / Mixup |',
             '|---' * (len(VARIANTS) + 8) + '|']
    mem = {}
    for name in args.settings:
        setting = SETTINGS[name]
        print(f'timing {name} ...', flush=True)
        t = step_times(setting, args.steps)
        lines.append(f'| {name} | ' + ' | '.join(f'{t[v]:.1f}' for v in VARIANTS) +
                     f" | {t['CMDA p=0.5'] / t['Base']:.2f}× | {t['CMDA p=0.5'] / t['Mixup']:.2f}× | "
                     f"{t['CMDA p=1.0'] / t['Base']:.2f}× | {t['CMDA p=0.5'] / t['Towers p=0']:.2f}× | "
                     f"{t[FLOOR]:.1f} | {t['CMDA p=0.5'] / t[FLOOR]:.2f}× | {t[CACHED] / t['Mixup']:.2f}× |")
        print(lines[-1], flush=True)
        if not args.no_memory and not args.steps_only:
            mem[name] = peak_memory(name)
    lines += ['', f'Targets: CMDA p=0.5 ≤ 1.6× Base and ≤ 1.5× Mixup; {CACHED} ≤ 1.1× Mixup.', '']
    if mem:
        lines += ['## 2. Peak memory of a training step (MB of peak RSS above the RSS after a warm-up step)', '',
                  '| setting | ' + ' | '.join(VARIANTS) + ' |', '|---' * (len(VARIANTS) + 1) + '|']
        lines += [f'| {n} | ' + ' | '.join(f'{m[v]:.0f}' for v in VARIANTS) + ' |' for n, m in mem.items()]
        lines.append('')
    if not args.steps_only:
        lines += ['## 3. DCA epoch-end fit: our GaussianMixture vs scikit-learn (same embeddings, same CPU)', '']
        lines += dca_fit_rows() + ['', 'Target: ≥ 5× faster than scikit-learn for full covariance.', '']
        mix_lines = bench_core.bench_mix()
        mix_lines[0] = mix_lines[0].replace('## 1.', '## 4.', 1)
        lines += mix_lines
    text = '\n'.join(lines) + '\n'
    print(text)
    if osp.exists(args.out):  # hand-written analysis below the marker survives a regeneration
        with open(args.out) as f:
            old = f.read()
        if KEEP_MARKER in old:
            text += '\n' + KEEP_MARKER + old.split(KEEP_MARKER, 1)[1]
    with open(args.out, 'w') as f:
        f.write(text)


if __name__ == '__main__':
    main()
