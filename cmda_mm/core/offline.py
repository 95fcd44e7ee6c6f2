"""Offline CMDA, the pure part: plan which teacher makes which new sample from which candidate pool, and
compute a block of new samples with the same core functions as online CMDA (``inter_modal_weights``,
``dca_weights``, ``apply_dca``, ``mix``, ``soft_targets``). The mixture is fitted by :func:`cmda_mm.core.fit_dca`.

Framework-free (torch only); the runner part — building the model, embedding a dataset through a dataloader —
is :mod:`cmda_mm.apis.offline`, which ``tools/augment_offline.py`` calls.
"""
import math
from typing import Dict, NamedTuple, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from .dca import apply_dca, dca_weights
from .mixing import mix, soft_targets
from .weights import inter_modal_weights

__all__ = ['EmbeddedSet', 'Plan', 'pool_weights', 'make_plan', 'generate_rows']


class EmbeddedSet(NamedTuple):
    """A dataset seen through a trained model, row i = dataset sample i."""
    student: Tensor             # (N, ...) raw student inputs as packed (uint8 C×H×W images, float features)
    z_student: Tensor           # (N, D) L2-normalised student embeddings
    z_teacher: Tensor           # (N, D) L2-normalised teacher embeddings
    labels: Optional[Tensor]    # (N,) class ids, or None for unlabelled data


class Plan(NamedTuple):
    """Which teacher makes new sample r, and among which candidates (``pools`` None: the whole set)."""
    teacher: Tensor             # (num,) dataset index of the teacher (its own pair is the same index)
    pool_of: Optional[Tensor]   # (num,) row of ``pools`` used by sample r
    position: Optional[Tensor]  # (num,) position of the teacher's pair inside its pool
    pools: Optional[Tensor]     # (P, B) dataset indices of each candidate pool


def pool_weights(z_teacher: Tensor, z_pool: Tensor, position: Tensor, resp_rows: Optional[Tensor],
                 resp_pool: Optional[Tensor], normalization: str = 'ratio', temperature: float = 0.1,
                 top_k: Optional[int] = 3) -> Tuple[Tensor, Optional[Tensor], Tensor]:
    """Inter-modal, intra-modal (DCA) and final weights of R teacher rows over one candidate pool.

    Args:
        z_teacher (Tensor): (R, D) teacher embeddings of the rows that make new samples.
        z_pool (Tensor): (B, D) student embeddings of the candidates.
        position (Tensor): (R,) position of each row's own pair in the pool.
        resp_rows (Tensor, optional): (R, M) GMM responsibilities of the rows' own student samples.
        resp_pool (Tensor, optional): (B, M) responsibilities of the candidates. None: no DCA.
        normalization, temperature, top_k: see :func:`cmda_mm.core.inter_modal_weights`.

    Returns:
        (inter (R, B), intra (R, B) or None, final (R, B)): final = normalise(inter ⊙ intra).
    """
    inter = inter_modal_weights(z_teacher, z_pool, position, normalization, temperature, top_k)
    if resp_rows is None or resp_pool is None:
        return inter, None, inter
    intra = dca_weights(resp_rows, resp_pool)
    return inter, intra, apply_dca(inter, intra, position)


def _permutations(candidates: Tensor, num: int, generator: torch.Generator):
    """Teacher order: fresh random permutations of the candidates, one per pass, truncated to ``num``."""
    passes = math.ceil(num / len(candidates))
    return [candidates[torch.randperm(len(candidates), generator=generator)] for _ in range(passes)]


def make_plan(num_samples: int, num: int, pool: str = 'batch', pool_size: int = 128,
              candidates: Optional[Tensor] = None, seed: int = 0) -> Plan:
    """Decide, reproducibly from ``seed``, the teacher and the candidate pool of every new sample.

    Teachers cycle through ``candidates`` (default: every sample) in a fresh random order per pass, so
    each is the teacher of ⌊num/n⌋ or ⌈num/n⌉ new samples. With ``pool='batch'`` each pass is cut into
    pools of ``pool_size`` teachers (as a shuffled training batch); a short pool is filled up with random
    other samples (candidates only), so every pool has ``min(pool_size, num_samples)`` members and
    contains the pair of each of its teachers. With ``pool='all'`` every sample is a candidate, which is
    deterministic per teacher: a teacher may then be used once only (``num <= len(candidates)``).
    """
    if pool not in ('batch', 'all'):
        raise ValueError(f"`pool` must be 'batch' or 'all', got {pool!r}")
    candidates = torch.arange(num_samples) if candidates is None else torch.as_tensor(candidates).long()
    if num < 0 or len(candidates) == 0:
        raise ValueError(f'cannot plan {num} samples from {len(candidates)} candidate teachers')
    g = torch.Generator().manual_seed(int(seed))
    if pool == 'all':
        if num > len(candidates):
            raise ValueError(f"pool='all' makes the same sample every time a teacher is reused: num={num} "
                             f'exceeds the {len(candidates)} candidate teachers; use pool="batch"')
        return Plan(_permutations(candidates, num, g)[0][:num], None, None, None)
    size = min(int(pool_size), num_samples)
    teachers, pools, pool_of, position = [], [], [], []
    for order in _permutations(candidates, num, g):
        for chunk in order.split(size):
            if len(chunk) < size:  # fill with random non-members
                free = torch.ones(num_samples, dtype=torch.bool)
                free[chunk] = False
                others = free.nonzero().flatten()
                chunk_pool = torch.cat([chunk, others[torch.randperm(len(others), generator=g)[:size - len(chunk)]]])
            else:
                chunk_pool = chunk
            pool_of.append(torch.full((len(chunk), ), len(pools), dtype=torch.long))
            position.append(torch.arange(len(chunk)))
            teachers.append(chunk)
            pools.append(chunk_pool)
    return Plan(torch.cat(teachers)[:num], torch.cat(pool_of)[:num], torch.cat(position)[:num],
                torch.stack(pools))


def generate_rows(plan: Plan, start: int, stop: int, data: EmbeddedSet, resp: Optional[Tensor],
                  num_classes: Optional[int], normalization: str = 'ratio', temperature: float = 0.1,
                  top_k: Optional[int] = 3, chunk_size: int = 256) -> Dict[str, Optional[Tensor]]:
    """New samples ``start:stop`` of a plan: one batched call per candidate pool (or row chunk).

    Returns:
        dict: ``x`` (R, ...) float new samples; ``score`` (R, C) soft labels or None; ``teacher`` (R,);
        ``students`` (R, k) dataset indices of the k highest-weighted candidates (k = m' or the pool);
        ``weights``/``inter`` (R, k) and ``intra`` (R, k) or None at those candidates.
    """
    onehot = None if data.labels is None else F.one_hot(data.labels, num_classes).float()
    teacher = plan.teacher[start:stop]
    if plan.pools is None:
        groups = [(idx, None) for idx in torch.arange(len(teacher)).split(chunk_size)]
    else:
        ids, counts = torch.unique_consecutive(plan.pool_of[start:stop], return_counts=True)
        groups = list(zip(torch.arange(len(teacher)).split(counts.tolist()), ids.tolist()))
    parts = []
    for idx, pool_id in groups:
        rows = teacher[idx]
        if pool_id is None:
            pool, position = torch.arange(len(data.z_student)), rows
        else:
            pool, position = plan.pools[pool_id], plan.position[start:stop][idx]
        inter, intra, final = pool_weights(data.z_teacher[rows], data.z_student[pool], position,
                                           None if resp is None else resp[rows],
                                           None if resp is None else resp[pool],
                                           normalization, temperature, top_k)
        k = min(len(pool), top_k or len(pool))
        weights, cols = final.topk(k, dim=1)
        parts.append(dict(
            x=mix(data.student[pool].float(), final), teacher=rows, students=pool[cols], weights=weights,
            inter=inter.gather(1, cols), intra=None if intra is None else intra.gather(1, cols),
            score=None if onehot is None else soft_targets(final, onehot[pool])))
    out = {}
    for key in parts[0]:
        out[key] = None if parts[0][key] is None else torch.cat([p[key] for p in parts])
    return out
