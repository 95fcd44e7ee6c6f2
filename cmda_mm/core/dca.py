"""Double Cross-Attention (DCA): intra-modal weights from a Gaussian mixture (paper Eq. 11, Algorithm 1).

With responsibilities ``p(c | x)`` of a mixture fitted on student embeddings, Eq. 11 reads

    w_intra_ij = [α_{c_j} φ(x_i | θ_{c_j}) + α_{c_i} φ(x_i | θ_{c_i})] / Σ_h α_h φ(x_i | θ_h)
               = p(c_j | x_i) + p(c_i | x_i),

where ``c_k`` is sample k's most likely component. It is large when j sits in the cluster that x_i itself
favours, so interpolation stays between close clusters. The mixing weight is ``w_inter_ij · w_intra_ij``,
renormalised to a convex combination (rows ≥ 0, sum 1).
"""
import torch
from torch import Tensor

from ._checks import check_matrix
from .weights import normalize_rows

__all__ = ['dca_weights', 'apply_dca']


def dca_weights(resp_rows: Tensor, resp_cols: Tensor) -> Tensor:
    """Intra-modal weights of Eq. 11 for every (row sample i, column sample j).

    Args:
        resp_rows (Tensor): (R, M) responsibilities ``p(c | x_i)`` of the samples that make new samples
            (the teacher rows' own student samples).
        resp_cols (Tensor): (N, M) responsibilities of the student samples that can be mixed.

    Returns:
        Tensor: (R, N) weights ``p(c_j | x_i) + p(c_i | x_i)`` in [0, 2].
    """
    check_matrix('resp_rows', resp_rows)
    check_matrix('resp_cols', resp_cols, cols=resp_rows.shape[1])
    cluster_cols = resp_cols.argmax(1)                       # c_j, (N,)
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
