"""Inter-modal weights (paper Eq. 10): teacher sample i scores student samples j in the latent space.

The paper writes ``x_new_i = Σ_j (z_t_i·ẑ_j) / Σ_j (z_t_i·ẑ_j) · x̂_j`` over m' student samples. Left as is,
that is not a convex combination: cosine scores can be negative, so a row can sum to zero or leave the data's
range. We make every row a convex combination (≥ 0, sums to 1) and name each choice:

* ``normalization='ratio'`` (default, the paper's formula): negative scores clamped to 0, divided by the row
  sum. A row whose m' scores are all ≤ 0 falls back to its own pair (weight 1).
* ``normalization='softmax'``: ``softmax(score / temperature)`` over the m' chosen samples.
* ``normalization='abs'``: ``|score|`` divided by its row sum (the authors' released code takes |cos| but
  divides by the wrong row's sum; this is that sign handling, correctly normalised). The m' samples are the
  ones with the largest ``|score|``, so a strongly anti-correlated sample can be chosen.

m' (``top_k``): the m' highest-scoring student samples of teacher i (by ``|score|`` for 'abs'), always
including i's own pair (its natural match). ``top_k=None`` uses the whole batch, which blurs every new sample
towards the batch mean.
"""
import math
import numbers
from typing import Optional

import torch
from torch import Tensor

from ._checks import check_matrix

__all__ = [
    'NORMALIZATIONS', 'inter_modal_scores', 'inter_modal_weights', 'normalize_rows', 'validate_top_k',
    'validate_temperature'
]

NORMALIZATIONS = ('ratio', 'softmax', 'abs')


def inter_modal_scores(teacher: Tensor, student: Tensor, check: bool = True) -> Tensor:
    """Scores ``z_t_i · ẑ_j`` of every teacher row against every student row.

    Args:
        teacher (Tensor): (R, D) L2-normalised teacher embeddings.
        student (Tensor): (N, D) L2-normalised student embeddings.
        check (bool): also check that the values are finite (reads them: a host sync on a GPU).

    Returns:
        Tensor: (R, N) scores.
    """
    check_matrix('teacher', teacher, finite=check)
    check_matrix('student', student, cols=teacher.shape[1], finite=check)
    return teacher @ student.t()


def validate_top_k(top_k: Optional[int]) -> Optional[int]:
    """``top_k`` (m') as an int >= 1 or None, else a ``ValueError`` that says what to set."""
    if top_k is None:
        return None
    if isinstance(top_k, bool) or not isinstance(top_k, numbers.Integral) or top_k < 1:
        raise ValueError(f"`top_k` (m', student samples per new sample) must be an integer >= 1 or None "
                         f'(the whole batch), got {top_k!r}')
    return int(top_k)


def validate_temperature(normalization: str, temperature: float) -> float:
    """The softmax ``temperature`` as a float > 0 (checked for ``normalization='softmax'`` only)."""
    if normalization == 'softmax' and not (isinstance(temperature, numbers.Real) and 0 < temperature < math.inf):
        raise ValueError(f"`temperature` must be a finite number > 0 with normalization='softmax', "
                         f'got {temperature!r}')
    return temperature


def _pair_index(pair_index: Optional[Tensor], rows: int, cols: int, device, check: bool = True) -> Tensor:
    if pair_index is None:
        if rows > cols:
            raise ValueError(f'`pair_index` is required when teacher rows ({rows}) > student rows ({cols})')
        return torch.arange(rows, device=device)
    pair_index = torch.as_tensor(pair_index, device=device).long().flatten()
    if pair_index.numel() != rows:
        raise ValueError(f'`pair_index` has {pair_index.numel()} entries, expected one per teacher row ({rows})')
    if check and rows and (int(pair_index.min()) < 0 or int(pair_index.max()) >= cols):
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
    out = weights / total.clamp_min(torch.finfo(weights.dtype).tiny)
    # No ``if empty.any()``: the fallback is blended in unconditionally, so the hot path never syncs.
    onehot = torch.zeros_like(out).scatter_(1, fallback_index.view(-1, 1).to(out.device), 1.0)
    return torch.where(total <= 0, onehot, out)


def inter_modal_weights(teacher: Tensor,
                        student: Tensor,
                        pair_index: Optional[Tensor] = None,
                        normalization: str = 'ratio',
                        temperature: float = 0.1,
                        top_k: Optional[int] = 3,
                        check: bool = True,
                        allowed: Optional[Tensor] = None,
                        perturb: Optional[Tensor] = None) -> Tensor:
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
        check (bool): check values (finite embeddings, pair indices in range); these reads sync a GPU, so
            the training hot path (:class:`~cmda_mm.core.CrossModalMixer`) turns them off.
        allowed (Tensor, optional): (R, N) bool, the columns row r may mix (e.g. same-class partners,
            :func:`~cmda_mm.core.variants.class_pool_mask`); the own pair is always allowed. None allows all.
        perturb (Tensor, optional): (R, N) added to the scores for the *choice* of the m' columns only (the
            weights still come from the scores): Gumbel noise ``τ·G`` draws them ∝ ``exp(score / τ)``
            (:func:`~cmda_mm.core.variants.gumbel_perturbation`). None takes the top m'.

    Returns:
        Tensor: (R, N) weights, each row ≥ 0 and summing to 1, non-zero only on the m' chosen columns.
    """
    if normalization not in NORMALIZATIONS:
        raise ValueError(f'`normalization` must be one of {NORMALIZATIONS}, got {normalization!r}')
    validate_temperature(normalization, temperature)
    top_k = validate_top_k(top_k)
    scores = inter_modal_scores(teacher, student, check)
    rows, cols = scores.shape
    pair = _pair_index(pair_index, rows, cols, scores.device, check)
    k = cols if top_k is None else min(top_k, cols)

    # Choose the top-k columns per row with the pair forced in (its key is +inf for the selection only);
    # 'abs' weighs by |score|, so it also chooses by |score|.
    keys = scores.abs() if normalization == 'abs' else scores
    if perturb is not None:
        if perturb.shape != scores.shape:
            raise ValueError(f'`perturb` has shape {tuple(perturb.shape)}, expected {tuple(scores.shape)}')
        keys = keys + perturb.to(keys)
    if allowed is not None:
        if allowed.shape != scores.shape:
            raise ValueError(f'`allowed` has shape {tuple(allowed.shape)}, expected {tuple(scores.shape)}')
        allowed = allowed.to(scores.device).scatter(1, pair.view(-1, 1), True)
        keys = keys.masked_fill(~allowed, float('-inf'))
    keys = keys.scatter(1, pair.view(-1, 1), float('inf'))
    chosen = torch.zeros_like(scores, dtype=torch.bool)
    chosen.scatter_(1, keys.topk(k, dim=1).indices, True)
    if allowed is not None:  # fewer than k allowed columns: the top-k reaches masked ones
        chosen &= allowed

    if normalization == 'softmax':
        logits = (scores / temperature).masked_fill(~chosen, float('-inf'))
        return torch.softmax(logits, dim=1)
    raw = scores.clamp_min(0) if normalization == 'ratio' else scores.abs()
    return normalize_rows(raw * chosen, pair)
