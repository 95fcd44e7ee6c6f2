"""The numerics of one EM iteration of :class:`GaussianMixture` (see the module docstring of ``gmm.py``).

Precision Cholesky factors and log-determinants, the fused one-pass E/M statistics for 'full' (whitened
frame, float32 products) and 'diag' covariances, and the scatter recovered from the whitened frame.
"""
import math
from typing import Tuple

import torch
from torch import Tensor

__all__ = ['_BLOCK_ELEMENTS', '_block_rows', '_precision_cholesky', '_covariances_from_precision_cholesky',
           '_log_det_cholesky', '_whitening_matrix', '_mahalanobis_full', '_scatter_full', '_em_pass_full',
           '_em_pass_diag', '_scatter_from_whitened']

# Rows per block are chosen so that one (rows, M, D) temporary holds about this many elements (8 MiB in
# float32: big enough to keep the per-block op count low, small enough to bound memory).
_BLOCK_ELEMENTS = 1 << 21


def _block_rows(n_samples: int, n_components: int, n_features: int) -> int:
    """Number of rows per block so that a (rows, M, D) temporary has ~``_BLOCK_ELEMENTS`` entries."""
    return max(1, min(n_samples, _BLOCK_ELEMENTS // max(1, n_components * n_features)))


def _precision_cholesky(covariances: Tensor, covariance_type: str) -> Tuple[Tensor, bool]:
    """Cholesky factors of the precisions: ``P = L^{-T}`` with ``Σ = L Lᵀ`` ('full'), or ``Σ^{-1/2}``.

    Returns:
        Tuple[Tensor, bool]: the factors (same shape as ``covariances``) and whether all were well defined.
    """
    if covariance_type == 'full':
        chol, info = torch.linalg.cholesky_ex(covariances)
        if bool((info != 0).any()):
            return covariances, False
        eye = torch.eye(covariances.shape[-1], dtype=covariances.dtype, device=covariances.device)
        inv = torch.linalg.solve_triangular(chol, eye.expand_as(chol), upper=False)
        return inv.mT.contiguous(), True
    if bool((covariances <= 0).any()):
        return covariances, False
    return covariances.rsqrt(), True


def _covariances_from_precision_cholesky(prec_chol: Tensor, covariance_type: str) -> Tensor:
    """Inverse of :func:`_precision_cholesky`: ``Σ = (P Pᵀ)^{-1}`` ('full') or ``1 / P²`` ('diag')."""
    if covariance_type == 'full':
        eye = torch.eye(prec_chol.shape[-1], dtype=prec_chol.dtype, device=prec_chol.device)
        chol_t = torch.linalg.solve_triangular(prec_chol, eye.expand_as(prec_chol), upper=True)  # = Lᵀ
        return chol_t.mT @ chol_t
    return 1.0 / (prec_chol * prec_chol)


def _log_det_cholesky(prec_chol: Tensor, covariance_type: str) -> Tensor:
    """``log det P`` per component (M,), i.e. ``-½ log det Σ``."""
    if covariance_type == 'full':
        return torch.diagonal(prec_chol, dim1=-2, dim2=-1).log().sum(-1)
    return prec_chol.log().sum(-1)


def _whitening_matrix(means: Tensor, prec_chol: Tensor, dtype: torch.dtype) -> Tensor:
    """(1 + D, M, D) matrix ``A`` such that ``[1, x] @ A`` holds ``(x - μ_k) P_k`` of every component k."""
    return torch.cat([-torch.einsum('kd,kde->ke', means, prec_chol).unsqueeze(0),
                      prec_chol.permute(1, 0, 2)]).to(dtype)


def _mahalanobis_full(x_aug: Tensor, means: Tensor, prec_chol: Tensor) -> Tensor:
    """Squared Mahalanobis distances ``‖(x - μ_k) P_k‖²`` for all samples and components.

    Per block of rows, one (rows, 1 + D) @ (1 + D, M·D) product gives the whitened residuals of all M
    components (the means enter through the leading column of ones of ``x_aug``).

    Args:
        x_aug (Tensor): (N, 1 + D) data with a leading column of ones; it should share a centring with
            ``means``. Its dtype is the dtype of the product.
        means (Tensor): (M, D) means.
        prec_chol (Tensor): (M, D, D) precision Cholesky factors.

    Returns:
        Tensor: (N, M) distances in ``means.dtype``.
    """
    n_samples = x_aug.shape[0]
    n_components, n_features = means.shape
    whiten = _whitening_matrix(means, prec_chol, x_aug.dtype).reshape(1 + n_features, -1)
    out = torch.empty(n_samples, n_components, dtype=x_aug.dtype, device=x_aug.device)
    step = _block_rows(n_samples, n_components, n_features)
    for start in range(0, n_samples, step):
        y = (x_aug[start:start + step] @ whiten).view(-1, n_components, n_features)
        torch.linalg.vector_norm(y, dim=-1, out=out[start:start + step])
    return out.to(means.dtype).square_()


def _scatter_full(x: Tensor, resp: Tensor, means: Tensor) -> Tensor:
    """Weighted scatter matrices ``Σ_n r_nk (x_n - μ_k)(x_n - μ_k)ᵀ`` of all components, directly.

    Per block of rows, one batched (M, D, rows) @ (M, rows, D) product of the centred, sqrt-responsibility
    weighted data, accumulated in ``means.dtype``; hard (one-hot) responsibilities take a per-component
    path that skips the zero rows. Used for the first M-step of a fit (and as the fallback
    of :func:`_em_pass_full`); later M-steps get the scatter from :func:`_em_pass_full`.

    Args:
        x (Tensor): (N, D) data; its dtype is the dtype of the product.
        resp (Tensor): (N, M) responsibilities.
        means (Tensor): (M, D) means.

    Returns:
        Tensor: (M, D, D) symmetric scatter matrices in ``means.dtype``.
    """
    n_samples, n_features = x.shape
    n_components = means.shape[0]
    mu = means.to(x.dtype).unsqueeze(1)  # (M, 1, D)
    scatter = torch.zeros(n_components, n_features, n_features, dtype=means.dtype, device=x.device)
    labels = resp.argmax(1)
    if bool((resp.sum(1) == 1).all()) and bool((resp.gather(1, labels.unsqueeze(1)) == 1).all()):
        # hard responsibilities (the k-means++ / k-means start): each row belongs to one component, so
        # N·D² work instead of M·N·D² — one product per component on its own rows (a loop over M only)
        order = torch.argsort(labels)
        xs, start = x[order], 0
        for k, count in enumerate(torch.bincount(labels, minlength=n_components).tolist()):
            d = xs[start:start + count] - mu[k]
            scatter[k] = (d.T @ d).to(means.dtype)
            start += count
        return 0.5 * (scatter + scatter.mT)
    root = resp.sqrt().T.to(x.dtype).unsqueeze(-1)  # (M, N, 1)
    step = _block_rows(n_samples, n_components, n_features)
    for start in range(0, n_samples, step):
        w = (x[start:start + step].unsqueeze(0) - mu).mul_(root[:, start:start + step])  # (M, rows, D)
        scatter += torch.bmm(w.mT, w).to(means.dtype)
    return 0.5 * (scatter + scatter.mT)


def _em_pass_full(x_aug: Tensor, weights: Tensor, means: Tensor,
                  prec_chol: Tensor) -> Tuple[float, Tensor, Tensor]:
    """E-step and the statistics of the next M-step in one pass over blocks of rows ('full').

    For every block: the whitened residuals ``y_k = (x - μ_k) P_k`` of all components, the log-densities
    and responsibilities ``r`` (log-sum-exp over components), and the whitened scatter
    ``G_k = Σ_n r_nk y_nkᵀ y_nk`` (batched products). Since ``x - μ_k = y_k P_k^{-1}``, the scatter about
    the *old* mean is ``P_k^{-T} G_k P_k^{-1}`` (see :func:`_scatter_from_whitened`). ``G_k`` is well
    conditioned (≈ ``n_k I`` once the fit settles), so accumulating it in float32 loses nothing that matters
    even when ``Σ_k`` is ill-conditioned, unlike a float32 ``Σ_n r_nk x_n x_nᵀ``.

    Structure is used to save a quarter of the work: the features are split in two halves. ``P_k`` is upper
    triangular, so the residuals of the first half only need the first half of the features (two products,
    (rows, 1 + D/2) @ (1 + D/2, M·D/2) and (rows, 1 + D) @ (1 + D, M·D/2)); ``G_k`` is symmetric, so only
    three of its four blocks are computed (three batched products).

    Args:
        x_aug (Tensor): (N, 1 + D) centred data with a leading column of ones, in the dtype of the
            products.
        weights (Tensor): (M,) mixing weights.
        means (Tensor): (M, D) means (same centring as ``x_aug``).
        prec_chol (Tensor): (M, D, D) upper-triangular precision Cholesky factors.

    Returns:
        Tuple[float, Tensor, Tensor]: the mean log-likelihood (the lower bound), the (N, M)
        responsibilities and the (M, D, D) whitened scatter ``G``, both in the parameters' dtype.
    """
    n_samples = x_aug.shape[0]
    n_components, n_features = means.shape
    compute_dtype, device, dtype = x_aug.dtype, x_aug.device, means.dtype
    half = n_features // 2 if n_features >= 32 else n_features
    edges = [(0, half), (half, n_features)] if half < n_features else [(0, n_features)]
    whiten = _whitening_matrix(means, prec_chol, compute_dtype)  # (1 + D, M, D)
    # column block [lo, hi) of P_k only has non-zeros in rows < hi (+ the leading row of the means)
    blocks = [whiten[:1 + hi, :, lo:hi].reshape(1 + hi, -1) for lo, hi in edges]
    const = (_log_det_cholesky(prec_chol, 'full') + weights.log() -
             0.5 * n_features * math.log(2 * math.pi))  # (M,)
    resp = torch.empty(n_samples, n_components, dtype=dtype, device=device)
    gram = torch.zeros(n_components, n_features, n_features, dtype=dtype, device=device)
    log_likelihood = torch.zeros((), dtype=dtype, device=device)
    step = _block_rows(n_samples, n_components, n_features)
    for start in range(0, n_samples, step):
        xs = x_aug[start:start + step]
        # (rows, M, hi - lo) residual blocks
        ys = [(xs[:, :1 + hi] @ block).view(xs.shape[0], n_components, hi - lo)
              for (lo, hi), block in zip(edges, blocks)]
        sq_norm = sum(torch.linalg.vector_norm(y, dim=-1).to(dtype).square_() for y in ys)
        weighted = const - 0.5 * sq_norm
        log_norm = torch.logsumexp(weighted, dim=1, keepdim=True)
        log_likelihood += log_norm.sum()
        r = resp[start:start + step]
        torch.exp(weighted - log_norm, out=r)
        root = r.sqrt().to(compute_dtype).unsqueeze(-1)
        ys = [y.mul_(root).transpose(0, 1) for y in ys]  # (M, rows, hi - lo): √r_nk y_nk
        for i, (lo_i, hi_i) in enumerate(edges):
            for j in range(i, len(edges)):
                lo_j, hi_j = edges[j]
                gram[:, lo_i:hi_i, lo_j:hi_j] += torch.bmm(ys[i].mT, ys[j]).to(dtype)
    for i, (lo_i, hi_i) in enumerate(edges):  # mirror the upper off-diagonal blocks
        for lo_j, hi_j in edges[i + 1:]:
            gram[:, lo_j:hi_j, lo_i:hi_i] = gram[:, lo_i:hi_i, lo_j:hi_j].mT
    return float(log_likelihood) / n_samples, resp, 0.5 * (gram + gram.mT)


def _em_pass_diag(xx: Tensor, weights: Tensor, means: Tensor,
                  prec_chol: Tensor) -> Tuple[float, Tensor, Tensor]:
    """E-step and the statistics of the next M-step in one pass over blocks of rows ('diag').

    Per block of ``[x, x²]`` (small enough to stay in cache between the two products): the log-densities
    ``log π_k - ½ (D log 2π + Σ_d p_kd (x_d - μ_kd)²) + ½ Σ_d log p_kd`` from one product with
    ``[-2 μ_k p_k, p_k]`` (scikit-learn's expansion), the responsibilities, and the moments
    ``Σ_n r_nk [x_n, x_n²]`` from a second product.

    Args:
        xx (Tensor): (N, 2D) centred data and its square.
        weights (Tensor): (M,) mixing weights.
        means (Tensor): (M, D) means (same centring as ``xx``).
        prec_chol (Tensor): (M, D) inverse standard deviations.

    Returns:
        Tuple[float, Tensor, Tensor]: the mean log-likelihood (the lower bound), the (N, M)
        responsibilities and the (M, 2D) moments.
    """
    n_samples, n_features = xx.shape[0], means.shape[1]
    precisions = prec_chol * prec_chol
    coefs = torch.cat([-2.0 * means * precisions, precisions], 1).T  # (2D, M)
    const = (_log_det_cholesky(prec_chol, 'diag') + weights.log() - 0.5 * (
        n_features * math.log(2 * math.pi) + (means * means * precisions).sum(1)))  # (M,)
    resp = torch.empty(n_samples, means.shape[0], dtype=xx.dtype, device=xx.device)
    moments = torch.zeros(means.shape[0], xx.shape[1], dtype=xx.dtype, device=xx.device)
    log_likelihood = torch.zeros((), dtype=xx.dtype, device=xx.device)
    step = max(1, min(n_samples, (_BLOCK_ELEMENTS // 8) // xx.shape[1]))  # ~2 MiB of float64 rows
    for start in range(0, n_samples, step):
        block = xx[start:start + step]
        weighted = torch.addmm(const, block, coefs, alpha=-0.5)
        log_norm = torch.logsumexp(weighted, dim=1, keepdim=True)
        log_likelihood += log_norm.sum()
        r = resp[start:start + step]
        torch.exp(weighted - log_norm, out=r)
        moments.addmm_(r.T, block)
    return float(log_likelihood) / n_samples, resp, moments


def _scatter_from_whitened(gram: Tensor, prec_chol: Tensor, old_means: Tensor, means: Tensor,
                           nk: Tensor) -> Tensor:
    """Scatter about the new means from the whitened scatter of :func:`_em_pass_full`.

    ``Σ_n r_nk (x_n - μ'_k)(x_n - μ'_k)ᵀ = P_k^{-T} G_k P_k^{-1} - n_k δ_k δ_kᵀ``, where
    ``δ_k = μ'_k - μ_k``.
    """
    eye = torch.eye(gram.shape[-1], dtype=gram.dtype, device=gram.device)
    chol_t = torch.linalg.solve_triangular(prec_chol, eye.expand_as(prec_chol), upper=True)  # P^{-1} = Lᵀ
    delta = means - old_means
    scatter = chol_t.mT @ gram @ chol_t - nk.view(-1, 1, 1) * (delta.unsqueeze(2) * delta.unsqueeze(1))
    return 0.5 * (scatter + scatter.mT)
