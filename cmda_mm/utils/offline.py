"""Shared machinery of the offline CMDA tools (augment_offline, select_clusters, visualize_augment).

Embedding a whole training set with a trained model (:class:`CMDAAligner` or :class:`CMDAClassifier`:
both expose ``extract_feat`` + ``embed``), fitting DCA on the student embeddings, planning which teacher
makes which new sample from which candidate pool, and computing the weights of a block of new samples
with the core functions (``inter_modal_weights``, ``dca_weights``, ``apply_dca``, ``mix``, ``soft_targets``).
"""
import copy
import math
from typing import Dict, NamedTuple, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.config import ConfigDict
from mmengine.registry import init_default_scope
from mmengine.runner import Runner, load_checkpoint
from mmengine.utils import ProgressBar
from torch import Tensor

from cmda_mm.core import (GaussianMixture, apply_dca, dca_weights, inter_modal_weights, mix,
                          select_n_components, soft_targets)
from .checkpoint import register_checkpoint_safe_globals

__all__ = ['EmbeddedSet', 'Plan', 'embed_loader_cfg', 'build_model', 'embed_dataset', 'fit_dca',
           'pool_weights', 'make_plan', 'generate_rows']


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


def embed_loader_cfg(cfg) -> ConfigDict:
    """The dataloader that embeds the training set: ``cfg.augment.dataloader`` when the config has one,
    else ``cfg.train_dataloader`` with the test pipeline (no random augmentation), never shuffled."""
    augment = cfg.get('augment') or {}
    if augment.get('dataloader') is not None:
        loader = copy.deepcopy(augment['dataloader'])
    else:
        loader = copy.deepcopy(cfg.train_dataloader)
        test_loader = cfg.get('test_dataloader') or cfg.get('val_dataloader')
        if test_loader is not None and 'pipeline' in test_loader.get('dataset', {}):
            loader['dataset']['pipeline'] = copy.deepcopy(test_loader['dataset']['pipeline'])
    loader = ConfigDict(loader)
    loader['sampler'] = dict(type='DefaultSampler', shuffle=False)
    loader.setdefault('num_workers', 0)
    loader.setdefault('collate_fn', dict(type='default_collate'))
    if not loader.get('num_workers'):
        loader.pop('persistent_workers', None)  # only valid with workers
    return loader


def build_model(cfg, checkpoint: Optional[str] = None, device: str = 'cpu') -> torch.nn.Module:
    """Build ``cfg.model`` (registered in mmpretrain's scope), load ``checkpoint``, eval mode."""
    from mmpretrain.registry import MODELS
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    model = MODELS.build(cfg.model)
    if checkpoint is not None:
        register_checkpoint_safe_globals()
        load_checkpoint(model, checkpoint, map_location='cpu', strict=False, logger='current')
    for name in ('extract_feat', 'embed'):
        if not hasattr(model, name):
            raise TypeError(f'{type(model).__name__} has no `{name}`: use a CMDAAligner or a CMDAClassifier '
                            'with a teacher tower')
    if not hasattr(model, 'teacher_encoder'):
        raise TypeError(f'{type(model).__name__} has no teacher tower (teacher_encoder): nothing to align')
    return model.to(device).eval()


@torch.no_grad()
def embed_dataset(model: torch.nn.Module, loader_cfg, progress: bool = True) -> EmbeddedSet:
    """Embed every sample of a dataloader (batched, no grad), keeping the raw student inputs.

    Args:
        model: a model with ``data_preprocessor``, ``extract_feat`` and ``embed`` (in eval mode).
        loader_cfg (dict): dataloader config (see :func:`embed_loader_cfg`) or a built DataLoader.
        progress (bool): show a progress bar.

    Returns:
        EmbeddedSet: raw student inputs, student/teacher embeddings and labels, in dataset order.
    """
    if isinstance(loader_cfg, dict):
        init_default_scope('mmpretrain')
        loader = Runner.build_dataloader(loader_cfg)
    else:
        loader = loader_cfg
    students, z_s, z_t, labels = [], [], [], []
    bar = ProgressBar(len(loader.dataset)) if progress else None
    for data in loader:
        inputs = data['inputs']
        if not isinstance(inputs, dict) or 'teacher' not in inputs:
            raise ValueError('the embedding pipeline must pack a student and a teacher (PackPairedInputs); '
                             f"got inputs of type {type(inputs).__name__}")
        student = inputs['student']
        if isinstance(student, (list, tuple)):
            shapes = {tuple(s.shape) for s in student}
            if len(shapes) > 1:
                raise ValueError(f'student samples have different shapes {sorted(shapes)}: raw samples are '
                                 'mixed as x_new = W @ x, so resize them to one shape in the pipeline')
            student = torch.stack(list(student))
        out = model.data_preprocessor(data, False)
        z = model.embed(model.extract_feat(out['inputs']), out['teacher'])
        students.append(student.cpu())
        z_s.append(z[0].float().cpu())
        z_t.append(z[1].float().cpu())
        samples = out.get('data_samples') or []
        if samples and all('gt_label' in s for s in samples):
            labels.append(torch.cat([s.gt_label.view(-1)[:1] for s in samples]).cpu())
        else:
            labels.append(None)
        if bar is not None:
            bar.update(len(student))
    if bar is not None:
        bar.file.write('\n')
    y = None if any(v is None for v in labels) else torch.cat(labels).long()
    return EmbeddedSet(torch.cat(students), torch.cat(z_s), torch.cat(z_t), y)


def fit_dca(z: Tensor, n_components: Union[int, Sequence[int], None] = 2, criterion: str = 'bic',
            covariance_type: str = 'diag', seed: int = 0, **gmm_kwargs
            ) -> Tuple[Optional[GaussianMixture], Dict[int, float]]:
    """Fit the DCA mixture on student embeddings: M fixed, or chosen by BIC/AIC among candidates.

    Returns:
        (GaussianMixture | None, dict): the fitted mixture (None when ``n_components`` is None or 0: no
        DCA) and ``{M: criterion}`` for every candidate tried (empty for a fixed M).
    """
    if not n_components:
        return None, {}
    if isinstance(n_components, int):
        gmm = GaussianMixture(n_components, covariance_type, seed=seed, **gmm_kwargs).fit(z)
        return gmm, {}
    _, scores, gmm = select_n_components(z, list(n_components), criterion, covariance_type=covariance_type,
                                         seed=seed, **gmm_kwargs)
    return gmm, scores


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
