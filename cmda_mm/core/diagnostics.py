"""Diagnostics of the mixing weights, logged every iteration so the evidence says where CMDA helps.

The Wikipedia grid (benchmarks/results/quality.md) showed that once the pairs are aligned, the teacher's own pair
wins 97.5-100 % of rows, 'ratio' weights go near-uniform over m', and DCA moves the weights little (4-5 %).
These numbers make that visible in every training log.
"""
from typing import Dict, Optional

import torch
from torch import Tensor

__all__ = ['weight_diagnostics']


@torch.no_grad()
def weight_diagnostics(weights: Tensor,
                       pair_index: Tensor,
                       labels: Optional[Tensor] = None,
                       reference: Optional[Tensor] = None) -> Dict[str, Tensor]:
    """Summaries of row-stochastic mixing weights.

    Args:
        weights (Tensor): (R, N) final mixing weights.
        pair_index (Tensor): (R,) each row's own student sample.
        labels (Tensor, optional): (N,) hard labels of the student samples.
        reference (Tensor, optional): (R, N) weights before DCA; gives how far DCA moved them.

    Returns:
        dict: scalar tensors (no host sync; the logger reads them): ``max_weight`` (mean largest weight per
        row), ``pair_weight`` (mean weight on the own pair) and ``pair_weight_std`` (its spread over the rows:
        with the mean, what ``MatchedMixup`` fits its λ distribution to),
        ``pair_is_top`` (share of rows whose largest weight is the pair), ``effective_n`` (mean 1/Σw²),
        and when given ``same_class_weight`` (mean weight on samples of the pair's class) and
        ``dca_shift`` (mean total variation ½Σ|W − W_ref|).
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
    if reference is not None:
        out['dca_shift'] = 0.5 * (w - reference.float()).abs().sum(1).mean()
    return out
