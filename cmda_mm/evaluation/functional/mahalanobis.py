"""Mahalanobis anomaly scoring of SSD (Sehwag et al., 2021), framework-free (torch only).

SSD scores a test feature by its Mahalanobis distance to the features of the normal training data (the
"bank"): features are L2-normalised, the bank is split into ``k`` clusters by k-means (``k = 1``: one
Gaussian), every cluster gets a mean and a precision matrix, and the score is the smallest squared distance
over the clusters — higher means more anomalous.

The precision matrix comes from the biased (``1/n``) empirical covariance of the cluster, either

* ``'pinv'``: its Moore–Penrose pseudo-inverse (SSD's released code, ``np.linalg.pinv(np.cov(x.T, bias=True))``);
* ``'shrinkage'``: the inverse of ``(1 - a)·S + a·(tr S / D)·I`` with a fixed ``a`` in [0, 1];
* ``'ledoit_wolf'``: the same with ``a`` estimated by the Ledoit–Wolf formula (scikit-learn's
  ``sklearn.covariance.ledoit_wolf_shrinkage``), which keeps the estimate well-conditioned when a cluster has
  fewer rows than dimensions.

All arithmetic is float64.
"""
from typing import Optional, Tuple, Union

import numpy as np
import torch
from sklearn.covariance import ledoit_wolf_shrinkage as sk_ledoit_wolf_shrinkage
from torch import Tensor

from cmda_mm.core.kmeans import kmeans  # the one k-means (k-means++ seeding, Lloyd)

__all__ = ['MahalanobisScorer', 'kmeans', 'ledoit_wolf_shrinkage', 'COVARIANCES']

COVARIANCES = ('pinv', 'shrinkage', 'ledoit_wolf')
ArrayLike = Union[Tensor, np.ndarray]


def _as_matrix(x: ArrayLike, name: str) -> Tensor:
    """``x`` as a finite float64 ``(N, D)`` CPU tensor, or a clear ValueError."""
    x = torch.as_tensor(np.asarray(x) if not isinstance(x, Tensor) else x.detach()).cpu().double()
    if x.dim() != 2:
        raise ValueError(f'{name} must be an (N, D) matrix, got shape {tuple(x.shape)}')
    if x.shape[0] == 0:
        raise ValueError(f'{name} is empty')
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f'{name} contains NaN or Inf values')
    return x


def ledoit_wolf_shrinkage(x: Tensor) -> float:
    """Ledoit–Wolf shrinkage coefficient of the rows of ``x`` (centred here): ``sklearn.covariance``'s.

    Args:
        x (Tensor): (N, D) samples.

    Returns:
        float: the coefficient ``a`` in [0, 1] of ``(1 - a)·S + a·(tr S / D)·I``.
    """
    samples = x.detach().cpu().double().numpy() if isinstance(x, Tensor) else np.asarray(x, dtype=np.float64)
    return float(sk_ledoit_wolf_shrinkage(samples, assume_centered=False))


class MahalanobisScorer:
    """Fit Gaussian clusters on normal features and score new features by the Mahalanobis distance.

    Args:
        n_clusters (int): k-means clusters of the bank (1: one Gaussian). Defaults to 1.
        covariance (str): 'pinv' (default, SSD), 'shrinkage' or 'ledoit_wolf'; see the module docstring.
        shrinkage (float): the fixed coefficient of ``covariance='shrinkage'``. Defaults to 0.1.
        normalize (bool): L2-normalise bank and test features first (SSD does). Defaults to True.
        seed (int): seed of k-means. Defaults to 0.
    """

    def __init__(self, n_clusters: int = 1, covariance: str = 'pinv', shrinkage: float = 0.1,
                 normalize: bool = True, seed: int = 0) -> None:
        if covariance not in COVARIANCES:
            raise ValueError(f'covariance must be one of {COVARIANCES}, got {covariance!r}')
        if not 0.0 <= shrinkage <= 1.0:
            raise ValueError(f'shrinkage must lie in [0, 1], got {shrinkage}')
        if int(n_clusters) < 1:
            raise ValueError(f'n_clusters must be >= 1, got {n_clusters}')
        self.n_clusters, self.covariance, self.shrinkage = int(n_clusters), covariance, float(shrinkage)
        self.normalize, self.seed = normalize, seed
        self.means: Optional[Tensor] = None        # (k, D)
        self.precisions: Optional[Tensor] = None   # (k, D, D)
        self.shrinkages: Optional[Tensor] = None   # (k,) the coefficient used per cluster

    def _prepare(self, x: ArrayLike, name: str) -> Tensor:
        x = _as_matrix(x, name)
        return torch.nn.functional.normalize(x, dim=1) if self.normalize else x

    def _precision(self, x: Tensor) -> Tuple[Tensor, float]:
        centred = x - x.mean(dim=0)
        cov = centred.t() @ centred / x.shape[0]
        if self.covariance == 'pinv':
            return torch.linalg.pinv(cov, hermitian=True), 0.0
        a = self.shrinkage if self.covariance == 'shrinkage' else ledoit_wolf_shrinkage(x)
        mu = torch.trace(cov) / cov.shape[0]
        eye = torch.eye(cov.shape[0], dtype=cov.dtype)
        return torch.linalg.pinv((1.0 - a) * cov + a * mu * eye, hermitian=True), a

    def fit(self, bank: ArrayLike) -> 'MahalanobisScorer':
        """Fit the clusters on the normal training features.

        Args:
            bank (Tensor | np.ndarray): (N, D) features of normal training samples.

        Returns:
            MahalanobisScorer: self.
        """
        x = self._prepare(bank, 'bank')
        if x.shape[0] < 2 * self.n_clusters:
            raise ValueError(f'the bank has {x.shape[0]} rows: at least 2 per cluster are needed for a '
                             f'covariance ({self.n_clusters} clusters)')
        if self.n_clusters == 1:
            labels = torch.zeros(x.shape[0], dtype=torch.long)
        else:
            labels = kmeans(x, self.n_clusters, seed=self.seed)[1]
        sizes = torch.bincount(labels, minlength=self.n_clusters)
        if bool((sizes < 2).any()):
            raise ValueError(f'k-means left clusters with fewer than 2 bank rows (sizes {sizes.tolist()}); '
                             'use fewer clusters')
        means, precisions, coefs = [], [], []
        for c in range(self.n_clusters):  # k (a handful) per-cluster fits, each vectorised over rows
            members = x[labels == c]
            precision, a = self._precision(members)
            means.append(members.mean(dim=0))
            precisions.append(precision)
            coefs.append(a)
        self.means, self.precisions = torch.stack(means), torch.stack(precisions)
        self.shrinkages = torch.tensor(coefs, dtype=torch.float64)
        return self

    def score(self, x: ArrayLike) -> Tensor:
        """Squared Mahalanobis distance to the nearest cluster (higher = more anomalous).

        Args:
            x (Tensor | np.ndarray): (M, D) test features.

        Returns:
            Tensor: (M,) float64 scores.
        """
        if self.means is None:
            raise RuntimeError('MahalanobisScorer.score() called before fit()')
        x = self._prepare(x, 'features')
        if x.shape[1] != self.means.shape[1]:
            raise ValueError(f'features have dimension {x.shape[1]} but the bank had {self.means.shape[1]}')
        diff = x[None] - self.means[:, None]                                     # (k, M, D)
        dist = torch.einsum('kmd,kde,kme->km', diff, self.precisions, diff)     # (k, M)
        return dist.min(dim=0).values
