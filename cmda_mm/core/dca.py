"""Double Cross-Attention (DCA): the Gaussian mixture fit and its intra-modal weights (paper Eq. 11, Algorithm 1).

:func:`fit_dca` is the one place the mixture is fitted — by :class:`~cmda_mm.engine.DCAHook` (every epoch, on
the memory bank), by :class:`~cmda_mm.core.CrossModalMixer` (``dca_fit='batch'``) and by offline CMDA.

With responsibilities ``p(c | x)`` of a mixture fitted on student embeddings, Eq. 11 reads

    w_intra_ij = [α_{c_j} φ(x_i | θ_{c_j}) + α_{c_i} φ(x_i | θ_{c_i})] / Σ_h α_h φ(x_i | θ_h)
               = p(c_j | x_i) + p(c_i | x_i),

where ``c_k`` is sample k's most likely component. It is large when j sits in the cluster that x_i itself
favours, so interpolation stays between close clusters. The mixing weight is ``w_inter_ij · w_intra_ij``,
renormalised to a convex combination (rows ≥ 0, sum 1).
"""
import warnings
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor

from ._checks import check_matrix
from .gmm import GaussianMixture, select_n_components
from .weights import normalize_rows

__all__ = ['DCA_MODES', 'dca_weights', 'apply_dca', 'fit_dca', 'clip_components', 'validate_components']

Components = Union[int, Sequence[int]]


def validate_components(n_components: Optional[Components], allow_none: bool = False) -> Optional[Components]:
    """``n_components`` (M, or candidates for M) checked at build time: ints >= 1, a non-empty sequence."""
    if n_components is None or (allow_none and not n_components):
        if allow_none:
            return None
        raise ValueError('`n_components` (M) must be an integer >= 1 or a sequence of candidates, got None')
    values = [n_components] if isinstance(n_components, int) else list(n_components)
    if not values or any(isinstance(m, bool) or not isinstance(m, int) or m < 1 for m in values):
        raise ValueError('`n_components` (M) must be an integer >= 1 or a non-empty sequence of them, got '
                         f'{n_components!r}')
    return n_components if isinstance(n_components, int) else values


def clip_components(n_components: Components, n_samples: int, source: str = 'embeddings') -> Components:
    """Clip M (or every candidate M) to the ``n_samples`` available, with a warning naming what was clipped.

    A mixture cannot have more components than samples: a small memory bank, ``max_samples`` or a tiny last
    batch then fits fewer components instead of failing.

    Args:
        n_components (int | Sequence[int]): M or candidates for M.
        n_samples (int): number of embeddings available (>= 1).
        source (str): what the embeddings are, for the warning.

    Returns:
        int | list[int]: M clipped to ``n_samples`` (candidates clipped and de-duplicated).
    """
    if isinstance(n_components, int):
        if n_components <= n_samples:
            return n_components
        warnings.warn(f'DCA: M={n_components} components but only {n_samples} {source}; fitting M={n_samples}',
                      stacklevel=2)
        return n_samples
    values = list(n_components)
    clipped = sorted({min(int(m), n_samples) for m in values})
    if max(values) > n_samples:
        warnings.warn(f'DCA: candidates M={values} but only {n_samples} {source}; trying M={clipped}',
                      stacklevel=2)
    return clipped


def fit_dca(z: Tensor,
            n_components: Optional[Components] = 2,
            criterion: str = 'bic',
            covariance_type: str = 'diag',
            seed: Optional[int] = 0,
            max_samples: Optional[int] = None,
            previous: Optional[GaussianMixture] = None,
            **gmm_kwargs) -> Tuple[Optional[GaussianMixture], Dict[int, float]]:
    """Fit the DCA mixture on student embeddings: M fixed, or chosen by BIC/AIC among candidates.

    Args:
        z (Tensor): (N, D) student embeddings.
        n_components (int | Sequence[int], optional): M, or candidates for M chosen by ``criterion``; None or
            0 means no DCA. M larger than the embeddings available is clipped with a warning
            (:func:`clip_components`).
        criterion (str): 'bic' or 'aic' for candidates.
        covariance_type (str): 'diag' or 'full'.
        seed (int, optional): seed of the fit and of the subsampling.
        max_samples (int, optional): fit on a seeded random subset of at most this many embeddings.
        previous (GaussianMixture, optional): the last fit; with ``warm_start=True`` in ``gmm_kwargs`` a fixed M
            starts from its parameters (scikit-learn's warm start: the per-epoch refit), when M and D match.
        **gmm_kwargs: more :class:`GaussianMixture` arguments (tol, reg_covar, max_iter, n_init, warm_start...).

    Returns:
        (GaussianMixture | None, dict): the fitted mixture (None without DCA) and ``{M: criterion}`` for every
        candidate tried (empty for a fixed M).
    """
    if not n_components:
        return None, {}
    if max_samples is not None and z.shape[0] > max_samples:
        g = torch.Generator().manual_seed(0 if seed is None else int(seed))
        z = z[torch.randperm(z.shape[0], generator=g)[:max_samples].to(z.device)]
    n_components = clip_components(n_components, z.shape[0])
    kwargs = dict(covariance_type=covariance_type, seed=seed, **gmm_kwargs)
    if isinstance(n_components, int):
        gmm = GaussianMixture(n_components, **kwargs)
        if previous is not None and gmm.warm_start and previous.covariance_type == gmm.covariance_type:
            for name in ('weights_', 'means_', 'covariances_', 'precisions_cholesky_'):
                setattr(gmm, name, getattr(previous, name).to(dtype=gmm.dtype))
        return gmm.fit(z), {}
    _, scores, gmm = select_n_components(z, n_components, criterion, **kwargs)
    return gmm, scores


DCA_MODES = ('soft', 'hard')


def dca_weights(resp_rows: Tensor, resp_cols: Tensor, check: bool = True, mode: str = 'soft') -> Tensor:
    """Intra-modal weights of Eq. 11 for every (row sample i, column sample j).

    ``mode='hard'`` gates instead of weighing: ``w_intra_ij = 1`` when j's most likely component is the one
    of the row's own sample (``c_j == c_i``), else 0 — partners from the pair's own cluster only. Motivated by
    the ``cmda_dca_shift`` diagnostic: the soft product moves the weights by only 3–5 % (posteriors nearly hard),
    so the soft Eq. 11 barely differs from no DCA; the hard gate is the strongest form of "stay in the cluster".

    Args:
        resp_rows (Tensor): (R, M) responsibilities ``p(c | x_i)`` of the samples that make new samples
            (the teacher rows' own student samples).
        resp_cols (Tensor): (N, M) responsibilities of the student samples that can be mixed.
        check (bool): check that the values are finite (a host sync on a GPU; off in the training hot path).
        mode (str): 'soft' (Eq. 11, default) or 'hard' (0/1 gate on the row's own cluster).

    Returns:
        Tensor: (R, N) weights ``p(c_j | x_i) + p(c_i | x_i)`` in [0, 2] ('soft'), or ``[c_j == c_i]`` ('hard').
    """
    if mode not in DCA_MODES:
        raise ValueError(f'`mode` (dca_mode) must be one of {DCA_MODES}, got {mode!r}')
    check_matrix('resp_rows', resp_rows, finite=check)
    check_matrix('resp_cols', resp_cols, cols=resp_rows.shape[1], finite=check)
    cluster_cols = resp_cols.argmax(1)                       # c_j, (N,)
    if mode == 'hard':
        return (cluster_cols.view(1, -1) == resp_rows.argmax(1, keepdim=True)).to(resp_rows.dtype)
    own = resp_rows.gather(1, resp_rows.argmax(1, keepdim=True))  # p(c_i | x_i), (R, 1)
    return resp_rows[:, cluster_cols] + own                  # p(c_j | x_i) + p(c_i | x_i)


def apply_dca(inter: Tensor, intra: Tensor, pair_index: Tensor) -> Tensor:
    """Combine inter- and intra-modal weights: ``normalise(w_inter ⊙ w_intra)``.

    Args:
        inter (Tensor): (R, N) row-stochastic inter-modal weights.
        intra (Tensor): (R, N) DCA weights from :func:`dca_weights`.
        pair_index (Tensor): (R,) each row's own student sample (fallback for a row without mass).

    Returns:
        Tensor: (R, N) row-stochastic weights.
    """
    if inter.shape != intra.shape:
        raise ValueError(f'`intra` has shape {tuple(intra.shape)}, expected {tuple(inter.shape)} like `inter`')
    return normalize_rows(inter * intra.to(inter.dtype), torch.as_tensor(pair_index, device=inter.device))
