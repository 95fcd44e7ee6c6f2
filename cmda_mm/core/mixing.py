"""Mixing in the student's raw space: ``x_new = W @ x`` as one matrix product, and soft targets ``W @ Y``."""
from typing import Optional

import torch
from torch import Tensor

__all__ = ['mix', 'soft_targets', 'select_rows']


def mix(x: Tensor, weights: Tensor) -> Tensor:
    """Interpolate raw student samples: ``x_new[r] = Σ_j weights[r, j] · x[j]``.

    One (R, N) @ (N, prod(shape)) product — O(R·N·D) — for any sample shape (N×C×H×W images, N×D features).

    Args:
        x (Tensor): (N, ...) raw student samples.
        weights (Tensor): (R, N) row-stochastic weights.

    Returns:
        Tensor: (R, ...) new samples, in ``x``'s dtype.
    """
    if weights.dim() != 2:
        raise ValueError(f'`weights` must be 2-D (R, N), got shape {tuple(weights.shape)}')
    if x.dim() < 1 or x.shape[0] != weights.shape[1]:
        raise ValueError(f'`x` has {x.shape[0] if x.dim() else 0} samples but `weights` has '
                         f'{weights.shape[1]} columns')
    flat = x.reshape(x.shape[0], -1)
    out = weights.to(flat.dtype) @ flat
    return out.reshape(weights.shape[0], *x.shape[1:])


def soft_targets(weights: Tensor, targets: Tensor) -> Tensor:
    """Soft labels of the new samples, ``Σ_j w_rj · y_j`` (consistent with Mixup).

    Args:
        weights (Tensor): (R, N) row-stochastic weights.
        targets (Tensor): (N, C) one-hot or soft targets.

    Returns:
        Tensor: (R, C) targets summing to 1 per row when ``targets`` rows do, in float32 at least (also for
        bf16 / fp16 ``targets``, e.g. under autocast: bf16 rows would sum to 1 only within ~3e-3).
    """
    if targets.dim() != 2 or targets.shape[0] != weights.shape[1]:
        raise ValueError(f'`targets` must be (N={weights.shape[1]}, C), got shape {tuple(targets.shape)}')
    dtype = torch.promote_types(targets.dtype, torch.float32)
    return weights.to(dtype) @ targets.to(dtype)


def select_rows(batch_size: int, fraction: float, generator: Optional[torch.Generator] = None,
                device=None, min_rows: int = 1) -> Tensor:
    """Pick ``round(fraction · batch_size)`` distinct teacher rows that make new samples.

    When any row is picked, at least ``min_rows`` are (a batch of one new sample would break BatchNorm); a batch
    smaller than ``min_rows`` (e.g. a last batch of 1) and ``round(fraction · batch_size) == 0`` pick none:
    that batch is simply not mixed.

    Args:
        batch_size (int): number of teacher samples in the batch.
        fraction (float): p in [0, 1].
        generator (torch.Generator, optional): source of randomness (CPU).
        device: device of the returned index.
        min_rows (int): lower bound on a non-zero count.

    Returns:
        Tensor: (R,) long indices, sorted; R = max(round(p·B), min_rows), or 0 when round(p·B) == 0 or
        B < min_rows.
    """
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f'`fraction` must lie in [0, 1], got {fraction}')
    n = int(round(fraction * batch_size))
    if batch_size < min_rows:
        n = 0
    elif n > 0:
        n = max(n, min_rows)
    if n >= batch_size:
        return torch.arange(batch_size, device=device)
    idx = torch.randperm(batch_size, generator=generator)[:n].sort().values
    return idx.to(device)
