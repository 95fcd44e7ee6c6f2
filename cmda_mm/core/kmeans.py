"""k-means in torch (k-means++ seeding, Lloyd iterations): :func:`kmeans`, and the initialisation of
:class:`GaussianMixture`. The project's one k-means."""
import math
from typing import Tuple

import torch
from torch import Tensor

__all__ = ['kmeans', '_sq_distances', '_sq_norms', '_kmeans_plusplus', '_nearest', '_lloyd']


def _sq_distances(a: Tensor, b: Tensor, b_sq: Tensor) -> Tensor:
    """Squared Euclidean distances (len(a), len(b)), given ``b_sq = (b * b).sum(1)``."""
    d = (a * a).sum(1, keepdim=True) - 2.0 * (a @ b.T) + b_sq.unsqueeze(0)
    return d.clamp_min_(0.0)


def _sq_norms(x: Tensor) -> Tensor:
    """Squared row norms (N,) without an (N, D) temporary."""
    return torch.linalg.vector_norm(x, dim=1).square_()


def _kmeans_plusplus(x: Tensor, n_clusters: int, generator: torch.Generator, x_sq: Tensor) -> Tensor:
    """Greedy k-means++ seeding, as scikit-learn's ``kmeans_plusplus``.

    Args:
        x (Tensor): (N, D) data.
        n_clusters (int): number of seeds M.
        generator (torch.Generator): CPU generator for all random draws.
        x_sq (Tensor): (N,) squared row norms of ``x``.

    Returns:
        Tensor: (M,) long indices of the seeds in ``x`` (on ``x``'s device).
    """
    n_samples = x.shape[0]
    n_local_trials = 2 + int(math.log(n_clusters))
    first = torch.randint(n_samples, (1, ), generator=generator).to(x.device)
    indices = [first]
    closest = _sq_distances(x[first], x, x_sq)[0]  # (N,)
    potential = closest.sum()
    for _ in range(1, n_clusters):
        rand = torch.rand(n_local_trials, generator=generator, dtype=x.dtype).to(x.device) * potential
        candidates = torch.searchsorted(torch.cumsum(closest, 0), rand).clamp_(max=n_samples - 1)
        dist = torch.minimum(closest.unsqueeze(0), _sq_distances(x[candidates], x, x_sq))  # (T, N)
        potentials = dist.sum(1)
        best = torch.argmin(potentials)
        potential, closest = potentials[best], dist[best]
        indices.append(candidates[best].reshape(1))
    return torch.cat(indices)


def _nearest(x: Tensor, centers: Tensor, x_sq: Tensor) -> Tensor:
    """Index of the nearest center of every row of ``x`` (N,)."""
    return torch.argmin(_sq_distances(centers, x, x_sq), dim=0)


def _lloyd(x: Tensor, centers: Tensor, x_sq: Tensor, max_iter: int = 300, tol: float = 1e-4) -> Tensor:
    """Lloyd's k-means iterations from ``centers``; returns the final (N,) labels.

    Stops when the labels no longer change or the squared center shift falls under ``tol`` times the mean
    feature variance (scikit-learn's rule). Empty clusters keep their previous center. ``x_sq`` holds the
    squared row norms of ``x``.
    """
    tol = tol * float(x.var(0, unbiased=False).mean())
    labels = _nearest(x, centers, x_sq)
    for _ in range(max_iter):
        one_hot = torch.nn.functional.one_hot(labels, centers.shape[0]).to(x.dtype)  # (N, M)
        counts = one_hot.sum(0)
        sums = one_hot.T @ x
        new_centers = torch.where(counts.unsqueeze(1) > 0, sums / counts.clamp_min(1).unsqueeze(1), centers)
        shift = float(((new_centers - centers)**2).sum())
        centers = new_centers
        new_labels = _nearest(x, centers, x_sq)
        if shift <= tol or bool((new_labels == labels).all()):
            return new_labels
        labels = new_labels
    return labels


def kmeans(x: Tensor, n_clusters: int, n_init: int = 5, max_iter: int = 300, tol: float = 1e-4,
           seed: int = 0) -> Tuple[Tensor, Tensor]:
    """k-means: the best of ``n_init`` runs (lowest inertia) of k-means++ seeding + Lloyd iterations.

    Args:
        x (Tensor): (N, D) points.
        n_clusters (int): k, in [1, N].
        n_init (int): restarts. Defaults to 5.
        max_iter (int): Lloyd iterations per run. Defaults to 300.
        tol (float): stop when the squared center shift falls under ``tol`` times the mean feature variance
            (scikit-learn's rule). Defaults to 1e-4.
        seed (int): seed of a local generator (the global RNG is not touched). Defaults to 0.

    Returns:
        Tuple[Tensor, Tensor]: centers (k, D) and the cluster of every point (N,).

    Example:
        >>> centers, labels = kmeans(torch.randn(100, 2), n_clusters=3)
    """
    if x.dim() != 2 or x.shape[0] == 0:
        raise ValueError(f'`x` must be a non-empty (N, D) matrix, got shape {tuple(x.shape)}')
    num = x.shape[0]
    if isinstance(n_clusters, bool) or not isinstance(n_clusters, int) or not 1 <= n_clusters <= num:
        raise ValueError(f'`n_clusters` must be an integer in [1, {num}] (the number of points), got {n_clusters!r}')
    generator = torch.Generator().manual_seed(int(seed))
    x_sq = _sq_norms(x)
    best = (math.inf, None, None)
    for _ in range(max(1, int(n_init))):
        labels = _lloyd(x, x[_kmeans_plusplus(x, n_clusters, generator, x_sq)], x_sq, max_iter, tol)
        one_hot = torch.nn.functional.one_hot(labels, n_clusters).to(x.dtype)
        counts = one_hot.sum(0)
        centers = (one_hot.T @ x) / counts.clamp_min(1).unsqueeze(1)
        inertia = float(((x - centers[labels])**2).sum())
        if inertia < best[0]:
            best = (inertia, centers, labels)
    return best[1], best[2]
