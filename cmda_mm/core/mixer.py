"""The CMDA mixer: settings, DCA state and the weights for one batch, as one framework-free module.

It holds what the method needs between batches — the fitted Gaussian mixture (as buffers, so checkpoints
and resume carry it) and a memory bank of the student embeddings seen since the last fit — and turns the
detached teacher/student embeddings of a batch into mixing weights. The caller mixes raw inputs with
:func:`~cmda_mm.core.mixing.mix`.
"""
from typing import Dict, List, NamedTuple, Optional

import torch
from torch import Tensor, nn

from .dca import apply_dca, dca_weights
from .diagnostics import weight_diagnostics
from .gmm import GaussianMixture
from .mixing import select_rows
from .weights import NORMALIZATIONS, inter_modal_weights

__all__ = ['CrossModalMixer', 'MixPlan']

_GMM_BUFFERS = ('weights', 'means', 'precisions_cholesky')


class MixPlan(NamedTuple):
    """What one batch mixes: ``x_new = weights @ x`` for the teacher ``rows``."""
    rows: Tensor          # (R,) teacher rows that make new samples (their own pair = the same index)
    weights: Tensor       # (R, N) final row-stochastic weights
    diagnostics: Dict[str, Tensor]


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
        seed (int): seed of the row selection and per-batch fits.
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
                 seed: int = 0) -> None:
        super().__init__()
        if normalization not in NORMALIZATIONS:
            raise ValueError(f'`normalization` must be one of {NORMALIZATIONS}, got {normalization!r}')
        if mode not in ('append', 'replace'):
            raise ValueError(f"`mode` must be 'append' or 'replace', got {mode!r}")
        if dca_fit not in ('epoch', 'batch'):
            raise ValueError(f"`dca_fit` must be 'epoch' or 'batch', got {dca_fit!r}")
        if not 0.0 <= fraction <= 1.0:
            raise ValueError(f'`fraction` must lie in [0, 1], got {fraction}')
        self.normalization, self.temperature, self.top_k = normalization, temperature, top_k
        self.fraction, self.mode = fraction, mode
        self.dca, self.dca_fit = dca, dca_fit
        self.n_components, self.covariance_type, self.seed = n_components, covariance_type, seed
        self.generator = torch.Generator().manual_seed(seed)
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

    # ---- weights for a batch ---------------------------------------------------------------------------
    def _intra(self, student: Tensor, rows: Tensor) -> Optional[Tensor]:
        if not self.dca:
            return None
        if self.dca_fit == 'batch':
            gmm = GaussianMixture(min(self.n_components, student.shape[0]), self.covariance_type,
                                  seed=int(torch.randint(2**31 - 1, (1,), generator=self.generator)))
            gmm.fit(student)
        else:
            gmm = self.get_gmm()
            if gmm is None:
                return None
        resp = gmm.predict_proba(student).to(student.dtype)
        return dca_weights(resp[rows], resp)

    @torch.no_grad()
    def forward(self, teacher: Tensor, student: Tensor, labels: Optional[Tensor] = None) -> MixPlan:
        """Mixing weights for a batch.

        Args:
            teacher (Tensor): (B, D) L2-normalised, detached teacher embeddings.
            student (Tensor): (B, D) L2-normalised, detached student embeddings (row i = i's pair).
            labels (Tensor, optional): (B,) hard labels, for the diagnostics only.

        Returns:
            MixPlan: rows, (R, B) weights and diagnostics.
        """
        if teacher.shape[0] != student.shape[0]:
            raise ValueError(f'`teacher` has {teacher.shape[0]} rows but `student` has {student.shape[0]}: '
                             'each teacher row must be paired with the student row of the same index')
        rows = select_rows(teacher.shape[0], self.fraction, self.generator, device=teacher.device, min_rows=2)
        inter = inter_modal_weights(teacher[rows], student, rows, self.normalization, self.temperature,
                                    self.top_k)
        intra = self._intra(student, rows) if rows.numel() else None
        weights = inter if intra is None else apply_dca(inter, intra, rows)
        diag = weight_diagnostics(weights, rows, labels, reference=None if intra is None else inter)
        return MixPlan(rows, weights, diag)

    def extra_repr(self) -> str:
        return (f'normalization={self.normalization}, temperature={self.temperature}, top_k={self.top_k}, '
                f'fraction={self.fraction}, mode={self.mode}, dca={self.dca}, dca_fit={self.dca_fit}')
