"""Diagnostics of the mixing weights, logged every iteration so the evidence says where CMDA helps.

The Wikipedia grid (benchmarks/results/quality.md) showed that once the pairs are aligned, the teacher's own pair
wins 97.5-100 % of rows, 'ratio' weights go near-uniform over m', and DCA moves the weights little (4-5 %).
These numbers make that visible in every training log.
"""
from typing import Dict, Optional

import torch
from torch import Tensor

__all__ = ['weight_diagnostics', 'total_variation']


@torch.no_grad()
def weight_diagnostics(weights: Tensor,
                       pair_index: Tensor,
                       labels: Optional[Tensor] = None) -> Dict[str, Tensor]:
    """Summaries of row-stochastic mixing weights.

    Args:
        weights (Tensor): (R, N) final mixing weights.
        pair_index (Tensor): (R,) each row's own student sample.
        labels (Tensor, optional): (N,) hard labels of the student samples.

    Returns:
        dict: scalar tensors (no host sync; the logger reads them): ``max_weight`` (mean largest weight per
        row), ``pair_weight`` (mean weight on the own pair) and ``pair_weight_std`` (its spread over the rows:
        with the mean, what ``MatchedMixup`` fits its λ distribution to),
        ``pair_is_top`` (share of rows whose largest weight is the pair), ``effective_n`` (mean 1/Σw²),
        and with labels ``same_class_weight`` (mean weight on samples of the pair's class).
    """
    if weights.numel() == 0:
        return {}
    w = weights.float()
    pair = pair_index.view(-1, 1).to(w.device)
    out = dict(
        max_weight=w.max(1).values.mean(),
        pair_weight=w.gather(1, pair).mean(),
        pair_weight_std=w.gather(1, pair).std(unbiased=False),
        pair_is_top=(w.argmax(1, keepdim=True) == pair).float().mean(),
        effective_n=(1.0 / w.pow(2).sum(1)).mean())
    if labels is not None:
        labels = labels.to(w.device).view(-1)
        same = labels.view(1, -1) == labels[pair]
        out['same_class_weight'] = (w * same).sum(1).mean()
    return out


@torch.no_grad()
def total_variation(weights: Tensor, reference: Tensor) -> Tensor:
    """Mean total variation ½Σ|W − W_ref| between two (R, N) row-stochastic weight matrices.

    The mixer logs it as ``dca_shift``: the weights after DCA against the same rows before it (measured before
    any variant, so a drawn pair weight or random partners do not count as DCA's move).

    Args:
        weights (Tensor): (R, N) weights.
        reference (Tensor): (R, N) weights to compare with.

    Returns:
        Tensor: scalar (no host sync).
    """
    return 0.5 * (weights.float() - reference.float()).abs().sum(1).mean()
