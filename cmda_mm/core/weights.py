"""Inter-modal weights (paper Eq. 10): teacher sample i scores student samples j in the latent space.

The paper writes ``x_new_i = Σ_j (z_t_i·ẑ_j) / Σ_j (z_t_i·ẑ_j) · x̂_j`` over m' student samples. Left as is,
that is not a convex combination: cosine scores can be negative, so a row can sum to zero or leave the data's
range. We make every row a convex combination (≥ 0, sums to 1) and name each choice:

* ``normalization='ratio'`` (default, the paper's formula): negative scores clamped to 0, divided by the row
  sum. A row whose m' scores are all ≤ 0 falls back to its own pair (weight 1).
* ``normalization='softmax'``: ``softmax(score / temperature)`` over the m' chosen samples.
* ``normalization='abs'``: ``|score|`` divided by its row sum (the authors' released code takes |cos| but
  divides by the wrong row's sum; this is that sign handling, correctly normalised).

m' (``top_k``): the m' highest-scoring student samples of teacher i, always including i's own pair (its natural
match). ``top_k=None`` uses the whole batch, which blurs every new sample towards the batch mean.
"""
from typing import Optional

import torch
from torch import Tensor

from ._checks import check_matrix

__all__ = ['NORMALIZATIONS', 'inter_modal_scores', 'inter_modal_weights', 'normalize_rows']

NORMALIZATIONS = ('ratio', 'softmax', 'abs')


def inter_modal_scores(teacher: Tensor, student: Tensor) -> Tensor:
    """Scores ``z_t_i · ẑ_j`` of every teacher row against every student row.

    Args:
        teacher (Tensor): (R, D) L2-normalised teacher embeddings.
        student (Tensor): (N, D) L2-normalised student embeddings.

    Returns:
        Tensor: (R, N) scores.
    """
    check_matrix('teacher', teacher)
    check_matrix('student', student, cols=teacher.shape[1])
    return teacher @ student.t()


def _pair_index(pair_index: Optional[Tensor], rows: int, cols: int, device) -> Tensor:
    if pair_index is None:
        if rows > cols:
            raise ValueError(f'`pair_index` is required when teacher rows ({rows}) > student rows ({cols})')
        return torch.arange(rows, device=device)
    pair_index = torch.as_tensor(pair_index, device=device).long().flatten()
    if pair_index.numel() != rows:
        raise ValueError(f'`pair_index` has {pair_index.numel()} entries, expected one per teacher row ({rows})')
    if rows and (int(pair_index.min()) < 0 or int(pair_index.max()) >= cols):
        raise ValueError(f'`pair_index` must lie in [0, {cols}), got range '
                         f'[{int(pair_index.min())}, {int(pair_index.max())}]')
    return pair_index


def normalize_rows(weights: Tensor, fallback_index: Tensor) -> Tensor:
    """Divide each row by its sum; a row summing to ≤ 0 becomes one-hot at ``fallback_index``.

    Args:
        weights (Tensor): (R, N) non-negative weights.
        fallback_index (Tensor): (R,) column used for rows without positive mass.

    Returns:
        Tensor: (R, N) row-stochastic weights.
    """
    total = weights.sum(1, keepdim=True)
    empty = total.squeeze(1) <= 0
    out = weights / total.clamp_min(torch.finfo(weights.dtype).tiny)
    if bool(empty.any()):
        onehot = torch.zeros_like(out)
        onehot.scatter_(1, fallback_index.view(-1, 1), 1.0)
        out = torch.where(empty.view(-1, 1), onehot, out)
    return out


def inter_modal_weights(teacher: Tensor,
                        student: Tensor,
                        pair_index: Optional[Tensor] = None,
                        normalization: str = 'ratio',
                        temperature: float = 0.1,
                        top_k: Optional[int] = 3) -> Tensor:
    """Row-stochastic inter-modal weights ``W`` (R, N) so that ``x_new = W @ x_student``.

    Args:
        teacher (Tensor): (R, D) L2-normalised teacher embeddings (the rows that make new samples).
        student (Tensor): (N, D) L2-normalised student embeddings of the batch.
        pair_index (Tensor, optional): (R,) index of each teacher row's own student sample. Defaults to
            ``arange(R)`` (teacher row i is paired with student row i).
        normalization (str): 'ratio' | 'softmax' | 'abs'. See the module docstring.
        temperature (float): softmax temperature (only for 'softmax').
        top_k (int, optional): m', the number of student samples mixed per new sample (pair included).
            None mixes over the whole batch.

    Returns:
        Tensor: (R, N) weights, each row ≥ 0 and summing to 1, non-zero only on the m' chosen columns.
    """
    if normalization not in NORMALIZATIONS:
        raise ValueError(f'`normalization` must be one of {NORMALIZATIONS}, got {normalization!r}')
    if normalization == 'softmax' and not temperature > 0:
        raise ValueError(f'`temperature` must be > 0, got {temperature}')
    scores = inter_modal_scores(teacher, student)
    rows, cols = scores.shape
    pair = _pair_index(pair_index, rows, cols, scores.device)
    k = cols if top_k is None else int(top_k)
    if k < 1:
        raise ValueError(f'`top_k` (m\') must be >= 1 or None, got {top_k}')
    k = min(k, cols)

    # Choose the top-k columns per row with the pair forced in (its key is +inf for the selection only).
    keys = scores.scatter(1, pair.view(-1, 1), float('inf'))
    chosen = torch.zeros_like(scores, dtype=torch.bool)
    chosen.scatter_(1, keys.topk(k, dim=1).indices, True)

    if normalization == 'softmax':
        logits = (scores / temperature).masked_fill(~chosen, float('-inf'))
        return torch.softmax(logits, dim=1)
    raw = scores.clamp_min(0) if normalization == 'ratio' else scores.abs()
    return normalize_rows(raw * chosen, pair)
