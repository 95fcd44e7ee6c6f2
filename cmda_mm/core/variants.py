"""Named variants of the CMDA weights (issue 16): mixing strength, partner choice and the matched controls.

Each function takes the final row-stochastic weights ``W`` (R, N) of :class:`~cmda_mm.core.CrossModalMixer` (or
the inputs of Eq. 10) and changes one thing, so that a variant is one option with one reason
(``docs/variants.md``):

* :func:`set_pair_weight` — *mixing strength*. CMDA's own pair keeps ≈ 0.45 of the weight and the rest goes to
  ~2 partners (diagnostics ``cmda_pair_weight``, ``cmda_effective_n``): a much stronger perturbation than
  Mixup with α = 0.25, whose U-shaped λ keeps most samples near-originals. Here the pair's weight is drawn from
  Beta(α, α) folded to ``max(λ, 1 − λ)`` (Mixup's strength) or floored at a minimum, and the teacher only chooses
  *which* partners and their relative weights.
* :func:`random_partners` — *control*: the same weights per row (pair weight and the sorted partner weights
  unchanged) put on partners drawn at random from the same pool, i.e. the teacher ignored. CMDA's partner choice
  only helps if it beats this at matched strength.
* :func:`same_class_mask` / :func:`class_pool_mask` — *partner pool*: only samples of the pair's class may be
  partners (diagnostic ``cmda_same_class_weight``), or only samples of *other* classes (issue 21: in the long,
  low-data schedules 82–95 % of CMDA's partner weight lands on the pair's own class, so its new samples are
  near-duplicates with near one-hot targets, while Mixup's cross-class mixes also regularise the labels; the
  teacher then chooses *which* other-class samples — the semantically nearest ones — get the mass).
* :func:`gumbel_perturbation` — *sampled partners*: the m' − 1 partners drawn without replacement with
  probability ∝ ``exp(score / τ)`` (Gumbel-top-k) instead of the deterministic top-m' (the same partners for a
  caption in every batch it meets them): the teacher's preference with Mixup's diversity.
* :func:`beta_from_moments` / :func:`sample_pair_weights` — the λ distribution of the matched Mixup control
  (``MatchedMixup``): a Beta fitted by the method of moments to CMDA's logged pair weight.

All are vectorised and read no tensor value on the host.
"""
import math
import numbers
from typing import Optional, Tuple

import torch
from torch import Tensor

__all__ = [
    'PAIR_WEIGHTS', 'PARTNERS', 'PARTNER_POOLS', 'DEFAULT_PAIR_WEIGHT', 'validate_pair_weight', 'set_pair_weight',
    'floor_pair_weight', 'random_partners', 'same_class_mask', 'class_pool_mask', 'gumbel_perturbation',
    'beta_from_moments', 'sample_pair_weights'
]

PAIR_WEIGHTS = ('teacher', 'beta', 'floor')
# how the partners are chosen: the teacher's top m' (Eq. 10), drawn ∝ exp(score / τ), or at random (control);
# 'same_class' is kept for old configs: the teacher's top m' in the pool 'same_class'
PARTNERS = ('teacher', 'sampled', 'random', 'same_class')
# which student samples may be partners of row r (its own pair always may)
PARTNER_POOLS = ('any', 'same_class', 'other_class')
# The shipped default of ``pair_weight`` (``cmda=dict()`` with no arguments), chosen on validation by issue 16's
# study (``benchmarks/quality.py --study variants``, benchmarks/results/variants.md): of the candidates it has the
# largest worst-case margin over Base across the five dataset × student rows, and it ties Base on every test row.
# The paper's step (the teacher's own pair weight, ≈ 0.45) loses to Base on fashion's language row, so every
# shipped config that reproduces the paper states ``pair_weight=dict(type='teacher')``.
DEFAULT_PAIR_WEIGHT = dict(type='beta', alpha=0.25)
# the keys each pair-weight type takes besides ``type``
_PAIR_WEIGHT_KEYS = dict(teacher=(), beta=('alpha', ), floor=('min', ))


def validate_pair_weight(pair_weight: Optional[dict]) -> Optional[dict]:
    """``pair_weight`` checked at build time: None (:data:`DEFAULT_PAIR_WEIGHT`), ``dict(type='teacher')`` (the
    paper), ``dict(type='beta', alpha>0)`` (alpha defaults to the shipped 0.25) or ``dict(type='floor', min in
    [0, 1])`` (min defaults to 0.5); a key of another type is refused. Returns a normalised copy (None for the
    teacher's own pair weight)."""
    if pair_weight is None:
        pair_weight = DEFAULT_PAIR_WEIGHT
    if not isinstance(pair_weight, dict) or pair_weight.get('type') not in PAIR_WEIGHTS:
        raise ValueError(f"`pair_weight` must be None or a dict with type in {PAIR_WEIGHTS}, got {pair_weight!r}")
    kind = pair_weight['type']
    extra = set(pair_weight) - {'type'} - set(_PAIR_WEIGHT_KEYS[kind])
    if extra:  # e.g. dict(type='floor', alpha=0.3) would otherwise train with the floor's default min
        allowed = ', '.join(_PAIR_WEIGHT_KEYS[kind]) or 'no other key'
        raise ValueError(f"`pair_weight` of type={kind!r} takes {allowed}, got {sorted(extra)}: "
                         "alpha belongs to type='beta', min to type='floor'")
    if kind == 'teacher':
        return None
    if kind == 'beta':  # without alpha: the shipped default's Beta(0.25), not Beta(1, 1)
        alpha = pair_weight.get('alpha', DEFAULT_PAIR_WEIGHT['alpha'])
        if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not 0 < alpha < math.inf:
            raise ValueError(f"`pair_weight.alpha` must be a finite number > 0 for type='beta', got {alpha!r}")
        return dict(type='beta', alpha=float(alpha))
    low = pair_weight.get('min', 0.5)
    if isinstance(low, bool) or not isinstance(low, numbers.Real) or not 0 <= low <= 1:
        raise ValueError(f"`pair_weight.min` must lie in [0, 1] for type='floor', got {low!r}")
    return dict(type='floor', min=float(low))


def _log_gamma_draws(shape: float, n: int, generator: torch.Generator, candidates: int = 8) -> Tensor:
    """``log X`` for n draws X ~ Gamma(shape, 1), float64 on the CPU, from ``generator`` only.

    Marsaglia & Tsang (2000) for shape ≥ 1, vectorised: each draw gets ``candidates`` proposals and keeps the first
    accepted one (acceptance ≥ 95 %, so all 8 rejected has probability < 1e-10; then the proposal's mode d is
    used). Shape < 1 uses Gamma(a) = Gamma(a + 1) · U^(1/a), in logs so that tiny draws do not underflow.
    """
    boost = shape < 1
    a = shape + 1 if boost else shape
    d = a - 1 / 3
    c = 1 / math.sqrt(9 * d)
    x = torch.randn(n, candidates, generator=generator, dtype=torch.float64)
    u = torch.rand(n, candidates, generator=generator, dtype=torch.float64).clamp_min(1e-300)
    v = (1 + c * x)**3
    log_v = v.clamp_min(1e-300).log()
    ok = (v > 0) & (u.log() < 0.5 * x**2 + d - d * v + d * log_v)
    first = ok.to(torch.int8).argmax(1, keepdim=True)  # the first accepted proposal (0 when none is)
    log_x = math.log(d) + torch.where(ok.any(1), log_v.gather(1, first).squeeze(1), 0.0)
    if boost:
        log_x = log_x + torch.rand(n, generator=generator, dtype=torch.float64).clamp_min(1e-300).log() / shape
    return log_x


def sample_pair_weights(n: int, alpha: float, generator: torch.Generator, beta: Optional[float] = None,
                        fold: bool = False) -> Tensor:
    """``n`` draws of λ ~ Beta(α, β) (β = α when None) on the CPU, optionally folded to ``max(λ, 1 − λ)``.

    Torch ops on the CPU ``generator`` only (whose state travels in checkpoints, so a resumed run draws alike):
    no NumPy round trip and no host read of a tensor value. λ = X / (X + Y) with X ~ Gamma(α), Y ~ Gamma(β),
    computed as ``sigmoid(log X − log Y)``, exact for small α (Mixup's α = 0.25 puts most mass near 0 and 1).

    Args:
        n (int): number of draws.
        alpha (float): first Beta parameter (> 0).
        generator (torch.Generator): CPU generator of the draws.
        beta (float, optional): second Beta parameter (> 0); defaults to ``alpha``.
        fold (bool): fold to ``max(λ, 1 − λ)`` so that the first sample dominates (as Mixup does implicitly).

    Returns:
        Tensor: (n,) float32 on the CPU.
    """
    log_x = _log_gamma_draws(float(alpha), n, generator)
    log_y = _log_gamma_draws(float(alpha if beta is None else beta), n, generator)
    lam = torch.sigmoid(log_x - log_y).float()
    return torch.maximum(lam, 1 - lam) if fold else lam


def set_pair_weight(weights: Tensor, pair_index: Tensor, pair_weight: Tensor) -> Tensor:
    """Give each row's own pair the weight ``pair_weight`` and rescale its partners to ``1 − pair_weight``.

    The teacher keeps choosing which partners and their relative weights; only the strength changes. A row with
    no partner mass (every partner score clamped to 0) stays on its own pair (weight 1): there is nothing to mix.

    Args:
        weights (Tensor): (R, N) row-stochastic weights.
        pair_index (Tensor): (R,) each row's own pair.
        pair_weight (Tensor): (R,) or (R, 1) target weights of the pairs, in [0, 1].

    Returns:
        Tensor: (R, N) row-stochastic weights with ``weights[r, pair[r]] = pair_weight[r]`` where a partner exists.
    """
    pair = pair_index.view(-1, 1).to(weights.device)
    lam = pair_weight.to(weights).view(-1, 1)
    partners = weights.scatter(1, pair, 0.0)
    mass = partners.sum(1, keepdim=True)
    rescaled = partners * ((1 - lam) / mass.clamp_min(torch.finfo(weights.dtype).tiny))
    rescaled = rescaled.scatter(1, pair, lam)
    onehot = torch.zeros_like(weights).scatter_(1, pair, 1.0)
    return torch.where(mass > 0, rescaled, onehot)


def floor_pair_weight(weights: Tensor, pair_index: Tensor, low: float) -> Tensor:
    """:func:`set_pair_weight` with ``max(own pair weight, low)``: weaker mixes, same partners."""
    pair = pair_index.view(-1, 1).to(weights.device)
    return set_pair_weight(weights, pair_index, weights.gather(1, pair).clamp_min(low))


def random_partners(weights: Tensor, pair_index: Tensor, generator: torch.Generator,
                    allowed: Optional[Tensor] = None) -> Tensor:
    """Control: keep each row's pair weight and partner weights, move the partner weights to random samples.

    Row r's non-pair weights, sorted, are put on distinct samples other than the pair drawn uniformly at random
    among the ``allowed`` ones (all N − 1 when None, so every weight is kept); the weight distribution is exactly
    CMDA's, only the teacher's choice of partners is gone. Where a row has fewer allowed samples than partner
    weights (e.g. no other-class sample in the batch), the weight that finds no allowed partner goes back to the
    pair: the row stays a convex combination and never reaches a sample outside its pool.

    Args:
        weights (Tensor): (R, N) row-stochastic weights.
        pair_index (Tensor): (R,) each row's own pair.
        generator (torch.Generator): CPU generator of the random partners.
        allowed (Tensor, optional): (R, N) bool, the samples row r may mix (its partner pool, the cache's filled
            rows); None allows all.

    Returns:
        Tensor: (R, N) row-stochastic weights.
    """
    rows, cols = weights.shape
    pair = pair_index.view(-1, 1).to(weights.device)
    own = weights.gather(1, pair)
    values = weights.scatter(1, pair, -1.0).sort(1, descending=True).values[:, :cols - 1]  # partner weights
    keys = torch.rand(rows, cols, generator=generator).to(weights.device)
    if allowed is not None:  # allowed samples first (keys in [0, 1)), the others after them (keys in [-2, -1))
        allowed = allowed.to(weights.device)
        keys = torch.where(allowed, keys, keys - 2.0)
    targets = keys.scatter(1, pair, -3.0).topk(cols - 1, dim=1).indices                    # random non-pairs
    out = torch.zeros_like(weights).scatter(1, targets, values.clamp_min(0))
    if allowed is None:
        return out.scatter(1, pair, own)
    out = out * allowed.scatter(1, pair, False)
    return out.scatter(1, pair, 1 - out.sum(1, keepdim=True))


def same_class_mask(labels: Tensor, pair_index: Tensor) -> Tensor:
    """(R, N) bool: column j may be a partner of row r when ``labels[j] == labels[pair[r]]`` (the pair included).

    Args:
        labels (Tensor): (N,) hard labels of the student samples.
        pair_index (Tensor): (R,) each row's own pair.
    """
    labels = labels.view(-1)
    return labels.view(1, -1) == labels[pair_index.to(labels.device)].view(-1, 1)


def class_pool_mask(labels: Tensor, pair_index: Tensor, pool: str) -> Optional[Tensor]:
    """(R, N) bool partner pool of each row by class, or None for ``pool='any'``.

    Args:
        labels (Tensor): (N,) hard labels of the student samples.
        pair_index (Tensor): (R,) each row's own pair.
        pool (str): 'any' | 'same_class' (``labels[j] == labels[pair[r]]``) | 'other_class' (``!=``; the own
            pair is added back by :func:`~cmda_mm.core.weights.inter_modal_weights`).
    """
    if pool not in PARTNER_POOLS:
        raise ValueError(f'`partner_pool` must be one of {PARTNER_POOLS}, got {pool!r}')
    if pool == 'any':
        return None
    same = same_class_mask(labels, pair_index)
    return same if pool == 'same_class' else ~same


def gumbel_perturbation(shape: Tuple[int, int], temperature: float, generator: torch.Generator) -> Tensor:
    """``τ · G`` with G ~ Gumbel(0, 1) i.i.d., on the CPU ``generator``.

    Added to the scores for the choice only (``inter_modal_weights(perturb=...)``), the top m' of
    ``score + τ·G`` are m' samples drawn without replacement with probability ∝ ``exp(score / τ)`` (the
    Gumbel-top-k trick), in one vectorised step. τ → 0 is the teacher's top m'; τ → ∞ is random partners.

    Args:
        shape (tuple): (R, N).
        temperature (float): τ > 0, in the scores' units (cosine similarities in [-1, 1]).
        generator (torch.Generator): CPU generator.

    Returns:
        Tensor: (R, N) float32 on the CPU.
    """
    u = torch.rand(shape, generator=generator, dtype=torch.float64).clamp_(1e-12, 1 - 1e-12)
    return (-temperature * torch.log(-torch.log(u))).float()


def beta_from_moments(mean: float, var: float) -> Tuple[float, float]:
    """Beta(a, b) with the given mean and variance (method of moments), e.g. CMDA's logged ``cmda_pair_weight``.

    Args:
        mean (float): in (0, 1).
        var (float): in (0, mean · (1 − mean)).

    Returns:
        (float, float): ``a, b``.
    """
    if not 0 < mean < 1:
        raise ValueError(f'`mean` must lie in (0, 1), got {mean}')
    if not 0 < var < mean * (1 - mean):
        raise ValueError(f'`var` must lie in (0, mean·(1 − mean) = {mean * (1 - mean):.4g}), got {var}')
    common = mean * (1 - mean) / var - 1
    return mean * common, (1 - mean) * common
