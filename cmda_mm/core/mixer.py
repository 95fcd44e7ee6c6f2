"""The CMDA step — record embeddings → plan weights → mix → soft targets — as one framework-free module.

Every algorithm (classifier, anomaly detector, captioner) calls :meth:`CrossModalMixer.augment` once per
training batch with its raw student inputs and the *detached* embeddings of the same forward pass; the whole
step reads here, top to bottom:

1. :meth:`~CrossModalMixer.record` the student embeddings in a memory bank (``DCAHook`` fits DCA on it
   after the epoch);
2. :meth:`~CrossModalMixer.forward` plans the weights: :func:`~cmda_mm.core.mixing.select_rows` picks the
   teacher rows, :func:`~cmda_mm.core.weights.inter_modal_weights` scores them against every student sample
   (Eq. 10) and :func:`~cmda_mm.core.dca.apply_dca` multiplies the DCA weights (Eq. 11);
3. :func:`~cmda_mm.core.mixing.mix` makes ``x_new = W @ x`` in the raw student space;
4. :func:`~cmda_mm.core.mixing.soft_targets` gives their labels ``W @ Y``.

The algorithm then only does what is task-specific: run the new samples through its network and put them in
its loss. Who owns what: the data preprocessor (``data_preprocessor=dict(cmda=dict(...))``) is where users
configure CMDA and it builds and holds this module (``preprocessor.cmda``, like ``batch_augments``), but it
cannot mix — the weights need the model's embeddings — so the algorithms call it (``model.mixer``).

State kept between batches: the fitted Gaussian mixture (as buffers, so checkpoints and resume carry it), the
memory bank, the row-selection generator (its state travels in checkpoints), the gate's batch count and latch
(in checkpoints), the alignment EMA and the embedding cache (buffers).

Variants (issue 16, ``docs/variants.md``; each one option): the alignment gate (``warmup_iters``,
``align_threshold``), the mixing strength (``pair_weight``; the default draws the own pair's weight from
Beta(0.25), the setting that never lost to Base in the study; ``dict(type='teacher')`` is the paper's step, which
every shipped reproduction config states), the partner choice (``partners``: teacher / sampled / random control;
``partner_pool``: any / same_class / other_class, issue 21), hard DCA gating (``dca_mode='hard'``) and weights from a
per-sample embedding cache (``cache_size``: :meth:`augment_cached`, the mix before the forward, one forward of B
rows in ``mode='replace'``).

Tiny batches: a batch smaller than 2 samples, or one where ``round(fraction · B) == 0``, is not mixed
(:meth:`augment` returns None); otherwise at least 2 new samples are made, so BatchNorm never sees one.

Sync-free: the hot path reads no tensor value on the host (no ``bool(x.any())`` / ``int(x.min())``); value
checks run at build time, in ``debug=True`` mode, or when the core functions are called directly.
"""
import math
import numbers
import warnings
from typing import Dict, List, NamedTuple, Optional

import torch
from torch import Tensor, nn

from .dca import DCA_MODES, apply_dca, dca_weights, fit_dca, validate_components
from .diagnostics import total_variation, weight_diagnostics
from .gmm import _COVARIANCE_TYPES, GaussianMixture
from .mixing import mix, select_rows, soft_targets
from .variants import (PARTNER_POOLS, PARTNERS, class_pool_mask, floor_pair_weight, gumbel_perturbation,
                       random_partners, sample_pair_weights, set_pair_weight, validate_pair_weight)
from .weights import NORMALIZATIONS, inter_modal_weights, validate_temperature, validate_top_k

__all__ = ['CrossModalMixer', 'MixPlan', 'MixedBatch', 'run_seed']

_GMM_BUFFERS = ('weights', 'means', 'precisions_cholesky')
_CACHE_BUFFERS = ('cache_teacher', 'cache_student', 'cache_teacher_seen', 'cache_student_seen')


class MixPlan(NamedTuple):
    """What one batch mixes: ``x_new = weights @ x`` for the teacher ``rows``."""
    rows: Tensor          # (R,) teacher rows that make new samples (their own pair = the same index)
    weights: Tensor       # (R, N) final row-stochastic weights
    diagnostics: Dict[str, Tensor]


class MixedBatch(NamedTuple):
    """The new samples of one batch: ``inputs[r] = weights[r] @ x`` made for teacher ``rows[r]``."""
    rows: Tensor                  # (R,) teacher rows that asked for the new samples
    weights: Tensor               # (R, B) final row-stochastic weights (float32)
    inputs: Tensor                # (R, ...) new raw student samples, in the inputs' dtype
    targets: Optional[Tensor]     # (R, C) soft targets W @ Y (None when no targets were given)
    diagnostics: Dict[str, Tensor]


def run_seed() -> int:
    """A seed derived from the run's seed: ``torch.initial_seed()``, which MMEngine's ``randomness.seed``
    sets (``torch.manual_seed``) before the model is built. Reading it draws nothing from the global RNG."""
    return int(torch.initial_seed()) % (2**63)


class CrossModalMixer(nn.Module):
    """Cross-modal mixing weights with optional DCA (paper Eq. 10–11).

    Args:
        normalization (str): 'ratio' (paper, default) | 'softmax' | 'abs'; see :mod:`cmda_mm.core.weights`.
        temperature (float): softmax temperature.
        top_k (int, optional): m', student samples per new sample (the pair always included).
        fraction (float): p, the share of each batch's teacher samples that make a new sample.
        mode (str): 'append' (new samples are added to the batch) or 'replace' (they replace their pair).
        dca (bool): multiply by the DCA intra-modal weights once a mixture has been fitted.
        dca_fit (str): 'epoch' (fit on the memory bank, driven by ``DCAHook``) or 'batch' (fit on every
            batch's student embeddings, the paper's per-batch complexity count).
        n_components (int): M for per-batch fits (the hook chooses M for epoch fits).
        covariance_type (str): 'diag' or 'full' for per-batch fits.
        seed (int, optional): seed of the row selection and per-batch fits; None (default) derives it from
            the run's seed (:func:`run_seed`), so every ``randomness.seed`` mixes other rows.
        debug (bool): check values on every batch (finite embeddings, ...); each check is a host sync on a
            GPU. Defaults to False.
        warmup_iters (int): training batches (calls of :meth:`augment` in train mode) that are not mixed, while
            the common space aligns. Motivated by the first-epoch diagnostics: the pair is often clamped to 0
            and ``cmda_pair_is_top`` is low, i.e. the partners are random. Defaults to 0 (mix from the start).
        align_threshold (float, optional): also keep mixing off until an EMA over batches of the alignment
            (the share of rows whose own pair is the teacher's top-scored student, ``cmda_align``) reaches this
            value; once reached the gate stays open. While closed, each batch reads the EMA on the host (one
            sync per batch during warm-up only). None (default) disables it.
        align_momentum (float): EMA momentum of the alignment measure (``ema = m·ema + (1 − m)·x``).
        pair_weight (dict, optional): mixing strength — the own pair's weight ``dict(type='beta', alpha=α)``
            (drawn from Beta(α, α) per new sample, folded to ``max(λ, 1 − λ)`` like Mixup),
            ``dict(type='floor', min=m)`` (at least m) or ``dict(type='teacher')`` (the paper: the teacher's
            own pair weight, ≈ 0.45 measured: ``cmda_pair_weight``); the partners keep the teacher's relative
            weights. None (default) is :data:`~cmda_mm.core.variants.DEFAULT_PAIR_WEIGHT`, Beta(0.25): the
            setting that never lost to Base on validation in issue 16's study (the paper's step did).
        partners (str): how the partners are chosen: 'teacher' (default, Eq. 10: the teacher's top m'),
            'sampled' (m' − 1 partners drawn ∝ ``exp(score / partner_temperature)``, Gumbel-top-k: the teacher's
            preference with diversity) or 'random' (control: the same weights on random partners of the same
            pool). 'same_class' (old configs) is 'teacher' with ``partner_pool='same_class'``.
        partner_pool (str): which samples may be partners: 'any' (default), 'same_class' or 'other_class'
            (only samples of other classes: the new sample gets real cross-class mass, like Mixup's, but on the
            partners the teacher chooses). Both class pools need labels.
        partner_temperature (float): τ of ``partners='sampled'``, in cosine units. Defaults to 0.1.
        dca_mode (str): 'soft' (Eq. 11 product, default) or 'hard' (partners from the pair's own GMM cluster
            only, see :func:`~cmda_mm.core.dca.dca_weights`).
        cache_size (int, optional): number of training samples (the dataset's length) of a per-sample
            embedding cache for :meth:`augment_cached`; None (default) disables the cache. Use
            ``fraction < 1`` (warned otherwise): only real rows refresh the cache and feed DCA. The
            replace-mode share of mixed rows that matches append mode's is ``p / (1 + p)`` (append
            p = 0.5 -> 1/3, p = 1 -> 0.5). Keep ``DCAHook`` in the run: it refuses a ``ConcatDataset`` (whose
            sub-datasets share ``sample_idx``), resets a cache loaded with ``load_from`` and merges the ranks'
            caches after every epoch under DDP. A checkpoint's cache of another size is not loaded (warned).
    """

    def __init__(self,
                 normalization: str = 'ratio',
                 temperature: float = 0.1,
                 top_k: Optional[int] = 3,
                 fraction: float = 1.0,
                 mode: str = 'append',
                 dca: bool = True,
                 dca_fit: str = 'epoch',
                 n_components: int = 2,
                 covariance_type: str = 'diag',
                 seed: Optional[int] = None,
                 debug: bool = False,
                 warmup_iters: int = 0,
                 align_threshold: Optional[float] = None,
                 align_momentum: float = 0.9,
                 pair_weight: Optional[dict] = None,
                 partners: str = 'teacher',
                 partner_pool: str = 'any',
                 partner_temperature: float = 0.1,
                 dca_mode: str = 'soft',
                 cache_size: Optional[int] = None) -> None:
        super().__init__()
        if normalization not in NORMALIZATIONS:
            raise ValueError(f'`normalization` must be one of {NORMALIZATIONS}, got {normalization!r}')
        if mode not in ('append', 'replace'):
            raise ValueError(f"`mode` must be 'append' or 'replace', got {mode!r}")
        if dca_fit not in ('epoch', 'batch'):
            raise ValueError(f"`dca_fit` must be 'epoch' or 'batch', got {dca_fit!r}")
        if not 0.0 <= fraction <= 1.0:
            raise ValueError(f'`fraction` must lie in [0, 1], got {fraction}')
        if covariance_type not in _COVARIANCE_TYPES:
            raise ValueError(f'`covariance_type` must be one of {_COVARIANCE_TYPES}, got {covariance_type!r}')
        if isinstance(warmup_iters, bool) or not isinstance(warmup_iters, int) or warmup_iters < 0:
            raise ValueError(f'`warmup_iters` must be an integer >= 0, got {warmup_iters!r}')
        if align_threshold is not None and not 0.0 <= align_threshold <= 1.0:
            raise ValueError(f'`align_threshold` must be None or lie in [0, 1], got {align_threshold!r}')
        if not 0.0 <= align_momentum < 1.0:
            raise ValueError(f'`align_momentum` must lie in [0, 1), got {align_momentum!r}')
        if partners not in PARTNERS:
            raise ValueError(f'`partners` must be one of {PARTNERS}, got {partners!r}')
        if partner_pool not in PARTNER_POOLS:
            raise ValueError(f'`partner_pool` must be one of {PARTNER_POOLS}, got {partner_pool!r}')
        if partners == 'same_class':  # the old spelling of the teacher's choice among the pair's class
            if partner_pool not in ('any', 'same_class'):
                raise ValueError(f"partners='same_class' contradicts partner_pool={partner_pool!r}; use "
                                 f"partners='teacher', partner_pool={partner_pool!r}")
            partners, partner_pool = 'teacher', 'same_class'
        if partners == 'sampled' and not (isinstance(partner_temperature, numbers.Real)
                                          and not isinstance(partner_temperature, bool)
                                          and 0 < partner_temperature < math.inf):
            raise ValueError(f"`partner_temperature` must be a finite number > 0 with partners='sampled', "
                             f'got {partner_temperature!r}')
        if dca_mode not in DCA_MODES:
            raise ValueError(f'`dca_mode` must be one of {DCA_MODES}, got {dca_mode!r}')
        if cache_size is not None:
            if isinstance(cache_size, bool) or not isinstance(cache_size, int) or cache_size < 2:
                raise ValueError(f'`cache_size` must be None or the number of training samples (>= 2), '
                                 f'got {cache_size!r}')
            if mode != 'replace':
                raise ValueError(f"`cache_size` (cached CMDA) needs mode='replace' (one forward of B rows), "
                                 f'got mode={mode!r}')
            if fraction >= 1:  # every row replaced: no real row ever refreshes the cache or feeds DCA
                warnings.warn(f'cached CMDA with fraction={fraction}: every row is replaced, so no real row '
                              'refreshes the cached student embeddings or feeds DCA after the first epoch; '
                              "fraction = p / (1 + p) keeps append mode's share of mixed rows (p = 1 -> 0.5)")
        self.normalization = normalization
        self.temperature = validate_temperature(normalization, temperature)
        self.top_k = validate_top_k(top_k)
        self.fraction = fraction
        self.mode = mode
        self.dca = dca
        self.dca_fit = dca_fit
        self.n_components = validate_components(n_components)
        self.covariance_type = covariance_type
        self.seed = run_seed() if seed is None else int(seed)
        self.debug = bool(debug)
        self.warmup_iters = warmup_iters
        self.align_threshold = align_threshold
        self.align_momentum = float(align_momentum)
        self.pair_weight = validate_pair_weight(pair_weight)
        self.partners = partners
        self.partner_pool = partner_pool
        self.partner_temperature = partner_temperature
        self.dca_mode = dca_mode
        self.cache_size = cache_size
        self.generator = torch.Generator().manual_seed(self.seed)
        for name in _GMM_BUFFERS:
            self.register_buffer(f'gmm_{name}', torch.empty(0))
        # The gate's state: training batches seen (host int) and whether the alignment gate has opened (host
        # bool, latched); both travel in checkpoints. The alignment EMA is a buffer (device, no sync).
        self.iters = 0
        self.gate_open = align_threshold is None
        if align_threshold is not None:
            self.register_buffer('align_ema', torch.zeros(()))
        if cache_size is not None:  # embeddings allocated at the first update (their dimension is known then)
            self.register_buffer('cache_teacher', torch.empty(0))
            self.register_buffer('cache_student', torch.empty(0))
            self.register_buffer('cache_teacher_seen', torch.zeros(cache_size, dtype=torch.bool))
            self.register_buffer('cache_student_seen', torch.zeros(cache_size, dtype=torch.bool))
            # slots written since the last merge across ranks (:meth:`pop_cache_updates`); not saved
            self.register_buffer('cache_teacher_dirty', torch.zeros(cache_size, dtype=torch.bool), persistent=False)
            self.register_buffer('cache_student_dirty', torch.zeros(cache_size, dtype=torch.bool), persistent=False)
        # set when a checkpoint's cache of another size was not loaded (DCAHook refuses to resume with it)
        self.cache_load_mismatch: Optional[str] = None
        self.bank: List[Tensor] = []
        self._gmm: Optional[GaussianMixture] = None

    # ---- DCA state -------------------------------------------------------------------------------------
    @property
    def dca_ready(self) -> bool:
        """Whether a mixture has been fitted (before that, DCA weights are 1)."""
        return self.gmm_weights.numel() > 0

    def set_gmm(self, gmm: GaussianMixture) -> None:
        """Store a fitted mixture in the buffers (so it is saved, resumed and broadcast with the model)."""
        for name in _GMM_BUFFERS:
            value = getattr(gmm, f'{name}_').to(self.gmm_weights.device, torch.float32)
            setattr(self, f'gmm_{name}', value)
        self._gmm = None

    def get_gmm(self) -> Optional[GaussianMixture]:
        """The mixture held in the buffers, or None before the first fit."""
        if not self.dca_ready:
            return None
        if self._gmm is None:
            state = {name: getattr(self, f'gmm_{name}') for name in _GMM_BUFFERS}
            self._gmm = GaussianMixture.from_state_dict(state)
        return self._gmm

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        super()._save_to_state_dict(destination, prefix, keep_vars)
        # The row-selection RNG travels with checkpoints, so a resumed run mixes the same rows.
        destination[f'{prefix}rng_state'] = self.generator.get_state()
        destination[f'{prefix}gate_state'] = torch.tensor([self.iters, int(self.gate_open)])

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        rng_state = state_dict.pop(f'{prefix}rng_state', None)
        if rng_state is not None:
            self.generator.set_state(rng_state.cpu())
        gate_state = state_dict.pop(f'{prefix}gate_state', None)
        if gate_state is not None:
            self.iters = int(gate_state[0])
            self.gate_open = bool(gate_state[1]) or self.align_threshold is None
        # A corrupt mixture fails here, naming the checkpoint key, not as NaN weights in the next epoch.
        gmm_keys = {name: f'{prefix}gmm_{name}' for name in _GMM_BUFFERS}
        if gmm_keys['weights'] in state_dict and state_dict[gmm_keys['weights']].numel():
            GaussianMixture.from_state_dict({name: state_dict[key] for name, key in gmm_keys.items()
                                             if key in state_dict}, names=gmm_keys)
        # The number of components (and covariance type) can differ between checkpoints, and the cache is
        # allocated lazily: resize first.
        names = [f'gmm_{name}' for name in _GMM_BUFFERS]
        if self.cache_size is not None:
            self.cache_load_mismatch = None
            seen_key = f'{prefix}cache_teacher_seen'
            if seen_key in state_dict and state_dict[seen_key].shape != (self.cache_size, ):
                # Another training set's cache (e.g. load_from into a bigger dataset): never index past it or
                # reuse its slots; the cache starts empty and DCAHook refuses to *resume* with it.
                size = state_dict[seen_key].shape[0]
                self.cache_load_mismatch = (f'`{seen_key}`: the checkpoint holds an embedding cache of {size} '
                                            f'samples but cmda.cache_size={self.cache_size}')
                warnings.warn(f'{self.cache_load_mismatch}; its cache is not loaded (cached CMDA starts empty). '
                              "Set cmda.cache_size to the training set's length; resuming needs the same one")
                self.reset_cache()
                for name in _CACHE_BUFFERS:  # load this (empty) cache instead: strict loading still passes
                    state_dict[f'{prefix}{name}'] = getattr(self, name)
            names += list(_CACHE_BUFFERS)
        for name in names:
            key = f'{prefix}{name}'
            if key in state_dict:
                setattr(self, name, torch.empty_like(state_dict[key]))
        self._gmm = None
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        if self.cache_size is not None:  # a loaded cache is in sync across ranks (every rank loads it)
            self.cache_teacher_dirty.zero_()
            self.cache_student_dirty.zero_()

    def record(self, student_emb: Tensor) -> None:
        """Remember detached student embeddings for the next epoch fit (no extra forward pass)."""
        if self.dca and self.dca_fit == 'epoch':
            self.bank.append(student_emb.detach().float())

    def pop_bank(self) -> Optional[Tensor]:
        """All embeddings recorded since the last call, concatenated; the bank is emptied."""
        if not self.bank:
            return None
        out = torch.cat(self.bank)
        self.bank = []
        return out

    # ---- the CMDA step ----------------------------------------------------------------------------------
    def augment(self,
                inputs: Tensor,
                teacher: Tensor,
                student: Tensor,
                targets: Optional[Tensor] = None,
                labels: Optional[Tensor] = None,
                active: bool = True) -> Optional[MixedBatch]:
        """One CMDA step on a training batch: record, plan, mix, soft targets.

        Args:
            inputs (Tensor): (B, ...) raw student samples (images or feature vectors) to mix.
            teacher (Tensor): (B, D) L2-normalised teacher embeddings of this forward pass (detached here).
            student (Tensor): (B, D) L2-normalised student embeddings (row i = teacher i's pair).
            targets (Tensor, optional): (B, C) one-hot or soft targets; the new samples get ``W @ targets``.
            labels (Tensor, optional): (B,) hard labels, for the diagnostics only.
            active (bool): False only records the embeddings (e.g. an attenuated captioning loss).

        Returns:
            MixedBatch | None: the new samples, or None when this batch is not mixed (``fraction`` 0,
            ``active`` False, fewer than 2 samples, ``round(fraction · B) == 0``, or, in training, the
            alignment gate closed: within ``warmup_iters`` or below ``align_threshold``).
        """
        student = student.detach()
        if self.training:
            self.record(student)
            if not self._gate(teacher.detach(), student):
                return None
        if not active or self.fraction <= 0:
            return None
        with torch.autocast(device_type=inputs.device.type, enabled=False):
            plan = self(teacher.detach(), student, labels)
            if not plan.rows.numel():
                return None
            new_targets = None if targets is None else soft_targets(plan.weights, targets)
            return MixedBatch(plan.rows, plan.weights, mix(inputs, plan.weights), new_targets, plan.diagnostics)

    # ---- the alignment gate -----------------------------------------------------------------------------
    @torch.no_grad()
    def _gate(self, teacher: Tensor, student: Tensor) -> bool:
        """Count a training batch, update the alignment EMA; whether this batch may be mixed."""
        self.iters += 1
        if self.align_threshold is not None:  # the EMA keeps updating (logged), read on the host while closed
            scores = teacher.float() @ student.float().t()
            aligned = (scores.argmax(1) == torch.arange(scores.shape[0], device=scores.device)).float().mean()
            m = self.align_momentum
            self.align_ema.mul_(m).add_((1 - m) * aligned.to(self.align_ema.device))
            if not self.gate_open:
                self.gate_open = bool(self.align_ema >= self.align_threshold)  # a host read: only while closed
        return self.iters > self.warmup_iters and self.gate_open

    # ---- the embedding cache (CMDA at Mixup's cost) -----------------------------------------------------
    @property
    def cached(self) -> bool:
        """Whether weights come from the per-sample embedding cache (:meth:`augment_cached`)."""
        return self.cache_size is not None

    @torch.no_grad()
    def update_cache(self, index: Tensor, teacher: Optional[Tensor] = None, student: Optional[Tensor] = None,
                     real: Optional[Tensor] = None) -> None:
        """Store detached embeddings by dataset index (the samples' ``sample_idx``).

        Args:
            index (Tensor): (B,) dataset indices of the batch, in ``[0, cache_size)``.
            teacher (Tensor, optional): (B, D) teacher embeddings of the batch.
            student (Tensor, optional): (B, D) student embeddings of the batch; only ``real`` rows are stored.
            real (Tensor, optional): (B,) bool, the rows whose student embedding is a real sample's (in
                ``mode='replace'`` the mixed rows are not); None: all. Masked writes, no host sync. The real
                rows are also recorded in the DCA memory bank.
        """
        if not self.cached:
            raise ValueError('`update_cache` needs `cache_size` (the number of training samples)')
        if real is not None and (real.dtype != torch.bool or real.shape != index.shape):
            raise ValueError(f'`real` must be a bool mask like `index` {tuple(index.shape)}, got '
                             f'{real.dtype} {tuple(real.shape)}')
        if self.training and student is not None:  # the DCA memory bank: real samples only
            self.record(student if real is None else student[real])
        index = index.to(self.cache_teacher_seen.device).long()
        for kind, emb in (('teacher', teacher), ('student', student)):
            if emb is None:
                continue
            emb = emb.detach().float()
            name = f'cache_{kind}'
            if getattr(self, name).numel() == 0:  # lazy allocation at the first update
                setattr(self, name, emb.new_zeros(self.cache_size, emb.shape[1]))
            cache, seen = getattr(self, name), getattr(self, f'{name}_seen')
            dirty = getattr(self, f'{name}_dirty')
            if kind == 'student' and real is not None:  # keep the cached value where the row was mixed
                mask = real.to(index.device)
                cache.index_copy_(0, index, torch.where(mask.view(-1, 1), emb.to(cache.device), cache[index]))
                seen.index_copy_(0, index, seen[index] | mask)
                dirty.index_copy_(0, index, dirty[index] | mask)
            else:
                cache.index_copy_(0, index, emb.to(cache.device))
                seen.index_fill_(0, index, True)
                dirty.index_fill_(0, index, True)

    @torch.no_grad()
    def reset_cache(self) -> None:
        """Forget every cached embedding (e.g. a cache loaded with ``load_from`` from another run's training
        set: its slots belong to other samples). Cached CMDA then refills it from the next batch on."""
        if not self.cached:
            raise ValueError('`reset_cache` needs `cache_size` (the number of training samples)')
        device = self.cache_teacher_seen.device
        self.cache_teacher = torch.empty(0, device=device)
        self.cache_student = torch.empty(0, device=device)
        for name in ('cache_teacher_seen', 'cache_student_seen', 'cache_teacher_dirty', 'cache_student_dirty'):
            getattr(self, name).zero_()

    @torch.no_grad()
    def pop_cache_updates(self) -> Dict[str, Tensor]:
        """The cache slots written since the last call (CPU tensors), to merge into the other ranks' caches.

        Under DDP each rank writes the samples of its own batches; :class:`~cmda_mm.engine.DCAHook` gathers
        every rank's updates after each epoch and each rank applies all of them (:meth:`merge_cache_updates`),
        so every rank's cache (and the checkpoint, saved from rank 0) holds every sample. Reads the written
        slots on the host: once per epoch, not in the hot path.

        Returns:
            dict: ``teacher_index`` (K,), ``teacher`` (K, D), ``student_index`` (L,), ``student`` (L, D);
            empty tensors when nothing was written.
        """
        if not self.cached:
            raise ValueError('`pop_cache_updates` needs `cache_size` (the number of training samples)')
        out = {}
        for kind in ('teacher', 'student'):
            dirty = getattr(self, f'cache_{kind}_dirty')
            index = dirty.nonzero().flatten()
            cache = getattr(self, f'cache_{kind}')
            out[f'{kind}_index'] = index.cpu()
            out[kind] = cache[index].cpu() if cache.numel() else torch.empty(0, 0)
            dirty.zero_()
        return out

    @torch.no_grad()
    def merge_cache_updates(self, updates: List[Dict[str, Tensor]]) -> None:
        """Apply every rank's :meth:`pop_cache_updates`, in rank order (a sample written on two ranks, e.g. a
        padded duplicate of the sampler, takes the last rank's value), so that all ranks end up identical."""
        if not self.cached:
            raise ValueError('`merge_cache_updates` needs `cache_size` (the number of training samples)')
        for part in updates:
            for kind in ('teacher', 'student'):
                index, emb = part[f'{kind}_index'], part[kind]
                if not index.numel():
                    continue
                name = f'cache_{kind}'
                if getattr(self, name).numel() == 0:
                    setattr(self, name, emb.new_zeros(self.cache_size, emb.shape[1]).to(
                        self.cache_teacher_seen.device))
                cache, seen = getattr(self, name), getattr(self, f'{name}_seen')
                index = index.to(seen.device)
                cache.index_copy_(0, index, emb.to(cache))
                seen.index_fill_(0, index, True)

    def augment_cached(self,
                       inputs: Tensor,
                       index: Tensor,
                       targets: Optional[Tensor] = None,
                       labels: Optional[Tensor] = None,
                       active: bool = True) -> Optional[MixedBatch]:
        """The CMDA step BEFORE the forward: weights from cached embeddings (stale by at most an epoch for the
        teacher; a student embedding is refreshed whenever its sample is not mixed), so that ``mode='replace'``
        needs one forward of B rows — CMDA at Mixup's cost. The algorithm replaces ``inputs[rows]`` by
        ``inputs`` of the result, forwards once, and calls :meth:`update_cache` with the fresh embeddings
        (student: the real rows — those not selected, and selected rows that stayed their own sample, i.e.
        whose weight on the pair is 1). A sample's student embedding is thus refreshed whenever it is drawn
        as a real row (at least with probability 1 − p per epoch); its teacher embedding every epoch.

        Fallback for samples not cached yet: a column without a cached student embedding is never a partner;
        a row whose own teacher or student embedding is not cached stays its own sample (weight 1 on the pair,
        target unchanged). Before the first update nothing is mixed (returns None).

        Args:
            inputs (Tensor): (B, ...) raw student samples.
            index (Tensor): (B,) their dataset indices (``sample_idx``), in ``[0, cache_size)``.
            targets (Tensor, optional): (B, C) targets; the new samples get ``W @ targets``.
            labels (Tensor, optional): (B,) hard labels ('same_class' partners, diagnostics).
            active (bool): False does not mix.

        Returns:
            MixedBatch | None: as :meth:`augment`.
        """
        if not self.cached:
            raise ValueError('`augment_cached` needs `cache_size` (the number of training samples)')
        if self.cache_teacher.numel() == 0 or self.cache_student.numel() == 0:
            if self.training:
                self.iters += 1
            return None
        index = index.to(self.cache_teacher.device).long()
        teacher, student = self.cache_teacher[index], self.cache_student[index]
        if self.debug and (int(index.min()) < 0 or int(index.max()) >= self.cache_size):
            raise ValueError(f'`index` (sample_idx) must lie in [0, cache_size={self.cache_size})')
        if self.training and not self._gate(teacher, student):
            return None
        if not active or self.fraction <= 0:
            return None
        seen_s = self.cache_student_seen[index]
        with torch.autocast(device_type=inputs.device.type, enabled=False):
            plan = self(teacher, student, labels, available=seen_s)
            if not plan.rows.numel():
                return None
            ready = (self.cache_teacher_seen[index] & seen_s)[plan.rows.to(index.device)].view(-1, 1)
            onehot = torch.zeros_like(plan.weights).scatter_(1, plan.rows.view(-1, 1).to(plan.weights.device), 1.0)
            weights = torch.where(ready.to(plan.weights.device), plan.weights, onehot)
            new_targets = None if targets is None else soft_targets(weights, targets)
            return MixedBatch(plan.rows, weights, mix(inputs, weights), new_targets, plan.diagnostics)

    # ---- weights for a batch ---------------------------------------------------------------------------
    def _intra(self, student: Tensor, rows: Tensor) -> Optional[Tensor]:
        if not self.dca:
            return None
        if self.dca_fit == 'batch':
            seed = int(torch.randint(2**31 - 1, (1, ), generator=self.generator))  # CPU generator: no sync
            gmm, _ = fit_dca(student, self.n_components, covariance_type=self.covariance_type, seed=seed)
        else:
            gmm = self.get_gmm()
            if gmm is None:
                return None
        resp = gmm.predict_proba(student, check_input=self.debug).to(student.dtype)
        return dca_weights(resp[rows], resp, check=self.debug, mode=self.dca_mode)

    def _variants(self, weights: Tensor, rows: Tensor, allowed: Optional[Tensor]) -> Tensor:
        """The strength (``pair_weight``) and the random-partner control (within the rows' ``allowed`` pool)
        applied to the final weights."""
        if self.pair_weight is not None:
            if self.pair_weight['type'] == 'beta':
                lam = sample_pair_weights(rows.numel(), self.pair_weight['alpha'], self.generator, fold=True)
                weights = set_pair_weight(weights, rows, lam.to(weights.device))
            else:
                weights = floor_pair_weight(weights, rows, self.pair_weight['min'])
        if self.partners == 'random':
            weights = random_partners(weights, rows, self.generator, allowed=allowed)
        return weights

    @torch.no_grad()
    def forward(self, teacher: Tensor, student: Tensor, labels: Optional[Tensor] = None,
                available: Optional[Tensor] = None) -> MixPlan:
        """Mixing weights for a batch, computed in float32 (also under autocast).

        Args:
            teacher (Tensor): (B, D) L2-normalised, detached teacher embeddings.
            student (Tensor): (B, D) L2-normalised, detached student embeddings (row i = i's pair).
            labels (Tensor, optional): (B,) hard labels: the diagnostics, and the partner pools
                'same_class' / 'other_class' (required there).
            available (Tensor, optional): (B,) bool, the student samples that may be partners (the cache's
                filled rows); None: all.

        Returns:
            MixPlan: rows, (R, B) float32 weights and diagnostics; R = 0 when the batch is not mixed.
        """
        if teacher.shape[0] != student.shape[0]:
            raise ValueError(f'`teacher` has {teacher.shape[0]} rows but `student` has {student.shape[0]}: '
                             'each teacher row must be paired with the student row of the same index')
        if self.partner_pool != 'any' and labels is None:
            raise ValueError(f"partner_pool={self.partner_pool!r} (or partners='same_class') needs the batch's "
                             'class `labels`, and this batch has none (a sample without gt_label?): train on labelled '
                             "data or use partner_pool='any'")
        rows = select_rows(teacher.shape[0], self.fraction, self.generator, device=teacher.device, min_rows=2)
        if not rows.numel():  # host-side count (the index is drawn on the CPU)
            return MixPlan(rows, teacher.new_zeros(0, teacher.shape[0], dtype=torch.float32), {})
        with torch.autocast(device_type=teacher.device.type, enabled=False):
            teacher, student = teacher.float(), student.float()
            allowed = class_pool_mask(labels.to(teacher.device), rows, self.partner_pool) \
                if self.partner_pool != 'any' else None
            if available is not None:
                avail = available.to(teacher.device).view(1, -1).expand(rows.numel(), -1)
                allowed = avail if allowed is None else allowed & avail
            perturb = None
            if self.partners == 'sampled':
                perturb = gumbel_perturbation((rows.numel(), student.shape[0]), self.partner_temperature,
                                              self.generator).to(teacher.device)
            inter = inter_modal_weights(teacher[rows], student, rows, self.normalization, self.temperature,
                                        self.top_k, check=self.debug, allowed=allowed, perturb=perturb)
            intra = self._intra(student, rows)
            weights = inter if intra is None else apply_dca(inter, intra, rows)
            # DCA's own move, measured before the variants (a drawn pair weight or random partners would
            # otherwise count as DCA's doing)
            shift = None if intra is None else total_variation(weights, inter)
            weights = self._variants(weights, rows, allowed)
            diag = weight_diagnostics(weights, rows, labels)
            if shift is not None:
                diag['dca_shift'] = shift
            if self.align_threshold is not None:
                diag['align_ema'] = self.align_ema.clone()
        return MixPlan(rows, weights, diag)

    def extra_repr(self) -> str:
        return (f'normalization={self.normalization}, temperature={self.temperature}, top_k={self.top_k}, '
                f'fraction={self.fraction}, mode={self.mode}, dca={self.dca}, dca_fit={self.dca_fit}, '
                f'dca_mode={self.dca_mode}, partners={self.partners}, partner_pool={self.partner_pool}, '
                f'pair_weight={self.pair_weight}, '
                f'warmup_iters={self.warmup_iters}, align_threshold={self.align_threshold}, '
                f'cache_size={self.cache_size}, seed={self.seed}')
