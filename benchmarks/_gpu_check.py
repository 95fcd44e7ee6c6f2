"""GPU check (run by ``benchmarks/gpu_check.sh``): step time, mix op vs memory floor, GMM fit.

1. Step time of Base / Mixup / CMDA (p = 0.5, DCA on) for ResNet-50, B = 128, 224 px, bf16 autocast,
   channels_last — models built from the project's configs by ``benchmarks/speed.py``'s ``build()``.
2. ``cmda_mm.core.mix`` on a (128, 3, 224, 224) bf16 batch vs its memory-traffic floor: bytes read + written
   ÷ the device copy bandwidth measured with a large ``copy_``.
3. ``cmda_mm.core.GaussianMixture`` fit on 100k × 128 embeddings on the GPU vs scikit-learn on the CPUs.

Writes ``$OUT/gpu_check.json`` and ``$OUT/gpu_check.md``.
"""
import argparse
import copy
import json
import os
import os.path as osp
import statistics
import sys
import time

import torch

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)
sys.path.insert(0, osp.join(REPO, 'benchmarks'))

SETTING = dict(config='configs/oxford102/cmda_resnet50_oxford102-vision.py', batch=128, student=(3, 224, 224),
               teacher=384, classes=10, override={})
VARIANTS = {'Base': dict(teacher=False, mixup=False, cmda=None),
            'Mixup': dict(teacher=False, mixup=True, cmda=None),
            'CMDA p=0.5': dict(teacher=True, mixup=False, cmda=0.5)}


def timed(fn, reps: int, warmup: int = 3) -> float:
    """Median milliseconds of ``fn`` on the GPU (CUDA events)."""
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def step_times(steps: int) -> dict:
    from speed import batch, build
    out = {}
    data = batch(SETTING)
    for name, variant in VARIANTS.items():
        model, optim = build(SETTING, variant)
        # .cuda() / channels_last convert the parameters in place, so the optimiser keeps pointing at them
        model = model.cuda().to(memory_format=torch.channels_last)

        def step():
            d = copy.copy(data)
            d['data_samples'] = copy.deepcopy(data['data_samples'])
            with torch.autocast('cuda', dtype=torch.bfloat16):
                model.train_step(d, optim)  # noqa: F821 (bound in the enclosing loop before step() runs)
        out[name] = timed(step, steps)
        out[name + ' peak_mem_GiB'] = torch.cuda.max_memory_allocated() / 2**30
        print(f'{name}: {out[name]:.1f} ms/step', flush=True)
        del model, optim
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    return out


def mix_vs_floor() -> dict:
    from cmda_mm.core.mixing import mix
    big = torch.empty(2**28, dtype=torch.uint8, device='cuda')  # 256 MiB
    dst = torch.empty_like(big)
    copy_ms = timed(lambda: dst.copy_(big), 20)
    bandwidth = 2 * big.numel() / (copy_ms * 1e-3)  # bytes read + written per second
    x = torch.randn(128, 3, 224, 224, device='cuda', dtype=torch.bfloat16).to(memory_format=torch.channels_last)
    w = torch.softmax(torch.randn(64, 128, device='cuda'), 1).to(torch.bfloat16)
    mix_ms = timed(lambda: mix(x, w), 50)
    bytes_moved = x.numel() * x.element_size() + 64 * x[0].numel() * x.element_size() + w.numel() * 2
    floor_ms = bytes_moved / bandwidth * 1e3
    return dict(copy_bandwidth_GBps=bandwidth / 1e9, mix_ms=mix_ms, floor_ms=floor_ms,
                mix_over_floor=mix_ms / floor_ms, bytes_moved=bytes_moved)


def gmm_fit(n: int = 100_000, m: int = 8) -> dict:
    from sklearn.mixture import GaussianMixture as SkGMM

    from cmda_mm.core import GaussianMixture
    g = torch.Generator().manual_seed(0)
    centers = torch.randn(m, 128, generator=g)
    x = torch.nn.functional.normalize(centers[torch.randint(m, (n, ), generator=g)]
                                      + 0.5 * torch.randn(n, 128, generator=g), dim=1)
    out = {}
    for cov in ('diag', 'full'):
        xc = x.cuda()
        GaussianMixture(m, cov, tol=1e-3, reg_covar=1e-6, seed=0).fit(xc[:2000])  # warm-up (kernels)
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        GaussianMixture(m, cov, tol=1e-3, reg_covar=1e-6, seed=0).fit(xc)
        torch.cuda.synchronize()
        ours = time.perf_counter() - t0
        t0 = time.perf_counter()
        SkGMM(m, covariance_type=cov, tol=1e-3, reg_covar=1e-6, random_state=0).fit(x.double().numpy())
        sk = time.perf_counter() - t0
        out[cov] = dict(ours_gpu_s=ours, sklearn_cpu_s=sk, speedup=sk / ours, cpus=os.cpu_count())
        print(f'GMM {cov}: ours {ours:.2f}s, sklearn {sk:.2f}s', flush=True)
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--out', default=os.environ.get('OUT', 'gpu_check_out'))
    p.add_argument('--steps', type=int, default=20)
    p.add_argument('--parts', nargs='+', default=['mix', 'gmm', 'steps'])
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    if not torch.cuda.is_available():
        with open(osp.join(args.out, 'gpu_check.json'), 'w') as f:
            json.dump(dict(error='no CUDA device', torch=torch.__version__), f)
        sys.exit('no CUDA device')
    torch.backends.cudnn.benchmark = True
    res = dict(device=torch.cuda.get_device_name(0), torch=torch.__version__)
    fns = dict(mix=mix_vs_floor, gmm=gmm_fit, steps=lambda: step_times(args.steps))
    for part in args.parts:  # cheapest first; every part is saved as soon as it finishes
        try:
            res[part] = fns[part]()
        except Exception as e:  # keep the other parts' numbers
            res[part] = dict(error=f'{type(e).__name__}: {e}')
        with open(osp.join(args.out, 'gpu_check.json'), 'w') as f:
            json.dump(res, f, indent=1)
    lines = [f'# GPU check on {res["device"]} (torch {res["torch"]})', '',
             'ResNet-50, B=128, 224 px, bf16 autocast, channels_last; median ms per train_step:', '']
    for k, v in (res.get('steps') or {}).items():
        lines.append(f'- {k}: {v:.2f}' if isinstance(v, float) else f'- {k}: {v}')
    lines += ['', f'Mix op vs memory floor: {json.dumps(res.get("mix"))}', '',
              f'GMM fit 100k×128, M=8: {json.dumps(res.get("gmm"))}', '']
    with open(osp.join(args.out, 'gpu_check.md'), 'w') as f:
        f.write('\n'.join(lines))
    print('\n'.join(lines))


if __name__ == '__main__':
    main()
