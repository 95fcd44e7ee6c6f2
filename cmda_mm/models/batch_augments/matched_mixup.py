"""Mixup at CMDA's strength: the control that separates "how strongly" from "with whom" (issue 16, item 4)."""
from typing import Optional, Tuple

import torch
from torch import Tensor

from cmda_mm.core.mixer import run_seed
from cmda_mm.core.mixing import select_rows
from cmda_mm.core.variants import beta_from_moments, sample_pair_weights
from cmda_mm.registry import BATCH_AUGMENTS

__all__ = ['MatchedMixup']


@BATCH_AUGMENTS.register_module()
class MatchedMixup:
    """Mixup whose per-sample λ follows CMDA's pair-weight distribution instead of Beta(α, α).

    Why: CMDA's new samples keep ≈ 0.45 on their own pair (diagnostic ``cmda_pair_weight``) — far stronger than
    Mixup with α = 0.25, whose U-shaped λ keeps most samples near-originals. Comparing CMDA with that Mixup
    confounds strength with partner choice; this control has CMDA's strength and random partners (one, as
    Mixup). Each sample i becomes ``λ_i x_i + (1 − λ_i) x_π(i)`` (π a random permutation) with its own
    ``λ_i ~ Beta(a, b)``; the scores are mixed alike.

    Which distribution: a Beta, either given (``alpha``, ``beta``) or fitted by the method of moments
    (:func:`~cmda_mm.core.variants.beta_from_moments`) to the ``mean`` and ``std`` of CMDA's per-row pair weight
    — the logged ``cmda_pair_weight`` and ``cmda_pair_weight_std`` of a CMDA run on the same data. Unlike
    mmpretrain's ``Mixup`` (one λ per batch from ``np.random``) λ is drawn per sample from a local generator
    seeded from the run's seed.

    Args:
        alpha (float, optional): Beta's a (> 0); with ``beta``.
        beta (float, optional): Beta's b (> 0); with ``alpha``.
        mean (float, optional): mean pair weight to match, in (0, 1); with ``std`` instead of alpha/beta.
        std (float, optional): standard deviation of the pair weight to match (> 0).
        fraction (float): the share of each batch's rows that are mixed, in (0, 1]; the others stay real
            (λ = 1). CMDA in append mode with p = 0.5 trains on B real rows and B/2 new ones, so its share of
            mixed rows is p / (1 + p) = 1/3: ``fraction=1/3`` matches CMDA's share as well as its strength
            (issue 21). Defaults to 1.0 (every row, as Mixup).
        seed (int, optional): seed of λ, π and the mixed rows; None derives it from the run's seed.
    """

    def __init__(self,
                 alpha: Optional[float] = None,
                 beta: Optional[float] = None,
                 mean: Optional[float] = None,
                 std: Optional[float] = None,
                 fraction: float = 1.0,
                 seed: Optional[int] = None) -> None:
        given = alpha is not None and beta is not None
        moments = mean is not None and std is not None
        if given == moments or (alpha is None) != (beta is None) or (mean is None) != (std is None):
            raise ValueError('MatchedMixup needs either `alpha` and `beta` or `mean` and `std` (of CMDA\'s pair '
                             f'weight), got alpha={alpha}, beta={beta}, mean={mean}, std={std}')
        if moments:
            if not std > 0:
                raise ValueError(f'`std` must be > 0, got {std}')
            alpha, beta = beta_from_moments(float(mean), float(std)**2)
        if not (alpha > 0 and beta > 0):
            raise ValueError(f'`alpha` and `beta` must be > 0, got alpha={alpha}, beta={beta}')
        if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 < fraction <= 1:
            raise ValueError(f'`fraction` (the share of mixed rows) must lie in (0, 1], got {fraction!r}')
        self.alpha = float(alpha)
        self.beta = float(beta)
        self.fraction = float(fraction)
        self.generator = torch.Generator().manual_seed(run_seed() if seed is None else int(seed))

    def mix(self, batch_inputs: Tensor, batch_scores: Tensor) -> Tuple[Tensor, Tensor]:
        """Mix inputs (N, ...) and one-hot / soft scores (N, C) with per-sample λ."""
        n = batch_inputs.size(0)
        lam = sample_pair_weights(n, self.alpha, self.generator, beta=self.beta)
        index = torch.randperm(n, generator=self.generator).to(batch_inputs.device)
        if self.fraction < 1:  # the other rows stay real: λ = 1 (drawn on the CPU generator: no host sync)
            mixed = select_rows(n, self.fraction, self.generator, min_rows=1)
            lam = torch.ones(n).index_copy_(0, mixed, lam[mixed])
        lam = lam.to(batch_inputs.device)
        lam_x = lam.view(-1, *([1] * (batch_inputs.dim() - 1))).to(batch_inputs.dtype)
        lam_y = lam.view(-1, 1).to(batch_scores.dtype)
        mixed_inputs = lam_x * batch_inputs + (1 - lam_x) * batch_inputs[index]
        mixed_scores = lam_y * batch_scores + (1 - lam_y) * batch_scores[index]
        return mixed_inputs, mixed_scores

    def __call__(self, batch_inputs: Tensor, batch_score: Tensor) -> Tuple[Tensor, Tensor]:
        if batch_score.dim() != 2:
            raise ValueError(f'`batch_score` must be (N, num_classes) one-hot or soft scores, got shape '
                             f'{tuple(batch_score.shape)}')
        return self.mix(batch_inputs, batch_score.float())

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(alpha={self.alpha:.4g}, beta={self.beta:.4g}, fraction={self.fraction:.4g})'
