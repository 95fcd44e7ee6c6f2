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
memory bank, and the row-selection generator (its state travels in checkpoints).

Tiny batches: a batch smaller than 2 samples, or one where ``round(fraction · B) == 0``, is not mixed
(:meth:`augment` returns None); otherwise at least 2 new samples are made, so BatchNorm never sees one.

Sync-free: the hot path reads no tensor value on the host (no ``bool(x.any())`` / ``int(x.min())``); value
checks run at build time, in ``debug=True`` mode, or when the core functions are called directly.
"""
from typing import Dict, List, NamedTuple, Optional

import torch
from torch import Tensor, nn

from .dca import apply_dca, dca_weights, fit_dca, validate_components
from .diagnostics import weight_diagnostics
from .gmm import _COVARIANCE_TYPES, GaussianMixture
from .mixing import mix, select_rows, soft_targets
from .weights import NORMALIZATIONS, inter_modal_weights, validate_temperature, validate_top_k

__all__ = ['CrossModalMixer', 'MixPlan', 'MixedBatch', 'run_seed']

_GMM_BUFFERS = ('weights', 'means', 'precisions_cholesky')


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
                 debug: bool = False) -> None:
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
        self.generator = torch.Generator().manual_seed(self.seed)
        for name in _GMM_BUFFERS:
            self.register_buffer(f'gmm_{name}', torch.empty(0))
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

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        rng_state = state_dict.pop(f'{prefix}rng_state', None)
        if rng_state is not None:
            self.generator.set_state(rng_state.cpu())
        # The number of components (and covariance type) can differ between checkpoints: resize first.
        for name in _GMM_BUFFERS:
            key = f'{prefix}gmm_{name}'
            if key in state_dict:
                setattr(self, f'gmm_{name}', torch.empty_like(state_dict[key]))
        self._gmm = None
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

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
            ``active`` False, fewer than 2 samples, or ``round(fraction · B) == 0``).
        """
        student = student.detach()
        if self.training:
            self.record(student)
        if not active or self.fraction <= 0:
            return None
        with torch.autocast(device_type=inputs.device.type, enabled=False):
            plan = self(teacher.detach(), student, labels)
            if not plan.rows.numel():
                return None
            new_targets = None if targets is None else soft_targets(plan.weights, targets)
            return MixedBatch(plan.rows, plan.weights, mix(inputs, plan.weights), new_targets, plan.diagnostics)

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
        return dca_weights(resp[rows], resp, check=self.debug)

    @torch.no_grad()
    def forward(self, teacher: Tensor, student: Tensor, labels: Optional[Tensor] = None) -> MixPlan:
        """Mixing weights for a batch, computed in float32 (also under autocast).

        Args:
            teacher (Tensor): (B, D) L2-normalised, detached teacher embeddings.
            student (Tensor): (B, D) L2-normalised, detached student embeddings (row i = i's pair).
            labels (Tensor, optional): (B,) hard labels, for the diagnostics only.

        Returns:
            MixPlan: rows, (R, B) float32 weights and diagnostics; R = 0 when the batch is not mixed.
        """
        if teacher.shape[0] != student.shape[0]:
            raise ValueError(f'`teacher` has {teacher.shape[0]} rows but `student` has {student.shape[0]}: '
                             'each teacher row must be paired with the student row of the same index')
        rows = select_rows(teacher.shape[0], self.fraction, self.generator, device=teacher.device, min_rows=2)
        if not rows.numel():  # host-side count (the index is drawn on the CPU)
            return MixPlan(rows, teacher.new_zeros(0, teacher.shape[0], dtype=torch.float32), {})
        with torch.autocast(device_type=teacher.device.type, enabled=False):
            teacher, student = teacher.float(), student.float()
            inter = inter_modal_weights(teacher[rows], student, rows, self.normalization, self.temperature,
                                        self.top_k, check=self.debug)
            intra = self._intra(student, rows)
            weights = inter if intra is None else apply_dca(inter, intra, rows)
            diag = weight_diagnostics(weights, rows, labels, reference=None if intra is None else inter)
        return MixPlan(rows, weights, diag)

    def extra_repr(self) -> str:
        return (f'normalization={self.normalization}, temperature={self.temperature}, top_k={self.top_k}, '
                f'fraction={self.fraction}, mode={self.mode}, dca={self.dca}, dca_fit={self.dca_fit}, '
                f'seed={self.seed}')
