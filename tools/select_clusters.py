"""Choose the number of DCA clusters M with BIC and AIC (paper Fig. 5) and plot both curves.

Student embeddings come from a trained model (``CONFIG --checkpoint CKPT``: the training set embedded
with the student tower of a CMDAAligner or CMDAClassifier, test pipeline, no shuffling) or from a file
(``--features``: an ``(N, D)`` ``.npy``, or the ``embeddings.pth`` written by ``tools/augment_offline.py``).

    python tools/select_clusters.py --features OUT/embeddings.pth --range 1 8 --out bic_aic.png

A range reaching above N/2 is refused (two embeddings per component at least); a chosen M at an end of the range
warns, since the criterion's minimum may lie beyond it.
"""
import argparse
import os
import os.path as osp
import sys
import warnings
from typing import Dict, Optional

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # this checkout's cmda_mm, not an installed one

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='BIC/AIC curves over the number of GMM components')
    p.add_argument('config', nargs='?', help='config of the model that embeds the training set')
    p.add_argument('--checkpoint', help='checkpoint of that model')
    p.add_argument('--features', help='(N, D) .npy, or an augment_offline embeddings.pth')
    p.add_argument('--range', type=int, nargs=2, default=(1, 10), metavar=('MIN', 'MAX'),
                   help='candidate M, both inclusive')
    p.add_argument('--criterion', choices=['bic', 'aic'], default='bic', help='which curve chooses M')
    p.add_argument('--covariance-type', choices=['diag', 'full'], default='diag')
    p.add_argument('--l2-normalize', action='store_true', help='L2-normalise --features rows first')
    p.add_argument('--max-samples', type=int, help='fit on a seeded random subset of this many rows')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--data-root', help='dataset root (with CONFIG)')
    p.add_argument('--out', default='bic_aic.png', help='output PNG')
    p.add_argument('--title', help='plot title')
    return p.parse_args(argv)


def load_embeddings(args) -> torch.Tensor:
    """(N, D) float64 student embeddings from --features or CONFIG + --checkpoint."""
    if args.features:
        path = args.features
        if not osp.isfile(path):
            raise FileNotFoundError(f'features file not found: {path}')
        if path.endswith('.npy'):
            z = torch.from_numpy(np.asarray(np.load(path), dtype=np.float64))
        else:
            state = torch.load(path, map_location='cpu', weights_only=True)
            if not isinstance(state, dict) or 'z_student' not in state:
                raise ValueError(f'{path} is neither a .npy matrix nor an augment_offline embeddings.pth')
            z = state['z_student'].double()
        if z.dim() != 2:
            raise ValueError(f'{path}: expected an (N, D) matrix, got shape {tuple(z.shape)}')
        return F.normalize(z, dim=1) if args.l2_normalize else z
    if not (args.config and args.checkpoint):
        raise ValueError('give --features, or CONFIG and --checkpoint')
    from mmengine.config import Config

    import cmda_mm  # noqa: F401
    from cmda_mm.apis.offline import build_model, embed_dataset, embed_loader_cfg
    from cmda_mm.utils import set_data_root
    from cmda_mm.utils.checkpoint import load_checkpoint_strict
    cfg = Config.fromfile(args.config)
    if args.data_root:
        set_data_root(cfg, args.data_root)
    model = build_model(cfg)
    load_checkpoint_strict(model, args.checkpoint)  # another model's weights are an error
    data = embed_dataset(model, embed_loader_cfg(cfg))
    return data.z_student.double()


def max_components(n: int) -> int:
    """The largest M worth scoring on ``n`` embeddings: two embeddings per component on average.

    A component on one embedding has only the ``reg_covar`` floor as its variance: its likelihood grows without
    bound as the floor shrinks, so BIC/AIC reward it and the curve "chooses" M = N (one component per point).
    """
    return n // 2


def select(z: torch.Tensor, m_min: int, m_max: int, covariance_type: str = 'diag', seed: int = 0
           ) -> Dict[str, Dict[int, float]]:
    """BIC and AIC of one fitted mixture per M in [m_min, m_max]; M above N/2 is refused (:func:`max_components`)."""
    from cmda_mm.core import GaussianMixture
    if not 1 <= m_min <= m_max:
        raise ValueError(f'--range must satisfy 1 <= MIN <= MAX, got {m_min} {m_max}')
    cap = max_components(len(z))
    if m_max > cap:
        fix = (f'use MAX <= {cap} (e.g. --range {m_min if m_min <= cap else 1} {cap})' if cap >= 1 else
               'give at least 2 embeddings')
        raise ValueError(f'--range {m_min} {m_max}: {len(z)} embeddings support at most M = {cap} components (two '
                         'embeddings per component; with one per point BIC/AIC pick M = N); '
                         f'{fix}, or give more embeddings (--max-samples counts too)')
    curves = dict(bic={}, aic={})
    for m in range(m_min, m_max + 1):
        gmm = GaussianMixture(m, covariance_type, seed=seed).fit(z)
        curves['bic'][m], curves['aic'][m] = gmm.bic(z), gmm.aic(z)
    return curves


def warn_on_edge(best: int, m_min: int, m_max: int, criterion: str, n: int) -> None:
    """Warn when the chosen M is an end of the range (the minimum may lie beyond it) and say how to widen it."""
    if m_min == m_max:
        return
    name = criterion.upper()
    if best == m_max:
        cap = max_components(n)
        fix = (f'widen the range (e.g. --range {m_min} {min(2 * m_max, cap)})' if m_max < cap else
               f'M = {cap} is already the most {n} embeddings support: give more embeddings')
        warnings.warn(f'chosen M = {best} is the top of --range {m_min} {m_max}: {name} may fall further above '
                      f'it; {fix} before trusting M', stacklevel=2)
    elif best == m_min and m_min > 1:
        warnings.warn(f'chosen M = {best} is the bottom of --range {m_min} {m_max}: {name} may be lower below '
                      f'it; widen the range (e.g. --range 1 {m_max}) before trusting M', stacklevel=2)


def plot(curves: Dict[str, Dict[int, float]], best: int, criterion: str, out: str,
         title: Optional[str] = None) -> None:
    """BIC (blue) and AIC (red) against M, the chosen M marked (as the paper's Fig. 5)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 3.8), dpi=120)
    for name, colour in (('bic', 'tab:blue'), ('aic', 'tab:red')):
        ms = sorted(curves[name])
        ax.plot(ms, [curves[name][m] for m in ms], 'o-', color=colour, label=name.upper())
    ax.axvline(best, color='grey', ls='--', lw=1, label=f'chosen M = {best} ({criterion.upper()})')
    ax.set_xlabel('number of components M')
    ax.set_ylabel('criterion (lower is better)')
    ms = sorted(curves['bic'])
    ax.set_xticks(ms if len(ms) <= 12 else ms[::2])
    ax.legend()
    ax.set_title(title or 'BIC / AIC of the student-embedding GMM', fontsize=9)
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    fig.savefig(out)
    plt.close(fig)


def main(argv=None):
    args = parse_args(argv)
    z = load_embeddings(args)
    if args.max_samples and len(z) > args.max_samples:
        g = torch.Generator().manual_seed(args.seed)
        z = z[torch.randperm(len(z), generator=g)[:args.max_samples]]
    curves = select(z, args.range[0], args.range[1], args.covariance_type, args.seed)
    best = min(curves[args.criterion], key=lambda m: (curves[args.criterion][m], m))
    warn_on_edge(best, args.range[0], args.range[1], args.criterion, len(z))
    print(f'{"M":>3} {"BIC":>14} {"AIC":>14}   ({len(z)} x {z.shape[1]} embeddings, '
          f'{args.covariance_type} covariances)')
    for m in sorted(curves['bic']):
        print(f'{m:>3} {curves["bic"][m]:>14.1f} {curves["aic"][m]:>14.1f}')
    plot(curves, best, args.criterion, args.out, args.title)
    print(f'Chosen M ({args.criterion.upper()}): {best}   plot: {args.out}')
    return best, curves


if __name__ == '__main__':
    main()
