"""Fit the DCA Gaussian mixture on the student embeddings of the past epoch (all ranks)."""
import time
from typing import Optional, Sequence, Union

import torch
from mmengine import dist
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmpretrain.registry import HOOKS

from cmda_mm.core.gmm import GaussianMixture, select_n_components

__all__ = ['DCAHook']


@HOOKS.register_module()
class DCAHook(Hook):
    """Fit the DCA mixture every ``interval`` epochs from the mixer's memory bank.

    During an epoch the algorithm records the detached student embeddings of every batch (no extra pass).
    After the epoch the bank is gathered from all ranks, rank 0 fits a :class:`GaussianMixture` (M fixed, or
    chosen by BIC/AIC from a range, paper Fig. 5) and the parameters are broadcast into the mixer's buffers,
    so every rank uses the same clusters and checkpoints/resume carry them. Before the first fit, DCA
    weights are 1.

    Args:
        interval (int): fit every ``interval`` epochs.
        n_components (int | Sequence[int]): M, or candidates for M chosen by ``criterion``.
        criterion (str): 'bic' or 'aic' when ``n_components`` is a sequence.
        covariance_type (str): 'diag' (default) or 'full'.
        max_samples (int, optional): fit on a seeded random subset of at most this many embeddings.
        gmm_cfg (dict, optional): more :class:`GaussianMixture` arguments (tol, reg_covar, max_iter, n_init).
        seed (int): seed of the fit and the subsampling.
    """

    priority = 'NORMAL'

    def __init__(self,
                 interval: int = 1,
                 n_components: Union[int, Sequence[int]] = 2,
                 criterion: str = 'bic',
                 covariance_type: str = 'diag',
                 max_samples: Optional[int] = None,
                 gmm_cfg: Optional[dict] = None,
                 seed: int = 0) -> None:
        if criterion not in ('bic', 'aic'):
            raise ValueError(f"`criterion` must be 'bic' or 'aic', got {criterion!r}")
        self.interval, self.n_components, self.criterion = interval, n_components, criterion
        self.covariance_type, self.max_samples, self.seed = covariance_type, max_samples, seed
        self.gmm_cfg = dict(gmm_cfg or {})

    @staticmethod
    def _mixer(runner):
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        return getattr(model.data_preprocessor, 'cmda', None)

    def after_train_epoch(self, runner) -> None:
        mixer = self._mixer(runner)
        if mixer is None or not mixer.dca or mixer.dca_fit != 'epoch':
            return
        local = mixer.pop_bank()  # always emptied: each fit sees the latest epoch only
        if not self.every_n_epochs(runner, self.interval):
            return
        bank = self.gather(local, mixer.gmm_weights.device)
        if bank is None:
            runner.logger.warning('DCAHook: no student embeddings were recorded this epoch; DCA not fitted')
            return
        if dist.get_rank() == 0:
            start = time.perf_counter()
            gmm, scores = self.fit(bank)
            mixer.set_gmm(gmm)
            msg = (f'DCA fit: M={gmm.n_components} ({gmm.covariance_type}) on {bank.shape[0]} embeddings, '
                   f'mean log-likelihood {gmm.score(bank):.3f}, {time.perf_counter() - start:.2f}s')
            if scores:
                msg += f', {self.criterion.upper()}: ' + ', '.join(f'M={m}: {v:.1f}' for m, v in scores.items())
            runner.logger.info(msg)
            runner.message_hub.update_scalar('train/dca_n_components', gmm.n_components)
        self.broadcast(mixer)

    def fit(self, bank: torch.Tensor):
        """Fit on ``bank`` (N, D); returns the mixture and the criterion per candidate M (or {})."""
        if self.max_samples is not None and bank.shape[0] > self.max_samples:
            g = torch.Generator().manual_seed(self.seed)
            bank = bank[torch.randperm(bank.shape[0], generator=g)[:self.max_samples].to(bank.device)]
        kwargs = dict(covariance_type=self.covariance_type, seed=self.seed, **self.gmm_cfg)
        if isinstance(self.n_components, int):
            return GaussianMixture(self.n_components, **kwargs).fit(bank), {}
        best, scores, gmm = select_n_components(bank, list(self.n_components), self.criterion, **kwargs)
        return gmm, scores

    @staticmethod
    def gather(local: Optional[torch.Tensor], device) -> Optional[torch.Tensor]:
        """Concatenate every rank's bank (ranks may hold different numbers of rows)."""
        if dist.get_world_size() == 1:
            return local
        dim = torch.tensor([0 if local is None else local.shape[1]], device=device)
        dim = int(max(t.item() for t in dist.all_gather(dim)))
        local = torch.zeros(0, dim, device=device) if local is None else local.to(device)
        sizes = [int(s.item()) for s in dist.all_gather(torch.tensor([local.shape[0]], device=device))]
        padded = torch.zeros(max(sizes), dim, device=device)
        padded[:local.shape[0]] = local
        parts = [p[:n] for p, n in zip(dist.all_gather(padded), sizes)]
        bank = torch.cat(parts)
        return bank if bank.shape[0] else None

    @staticmethod
    def broadcast(mixer) -> None:
        """Copy rank 0's mixture buffers to every rank (shapes first: M can differ per fit)."""
        if dist.get_world_size() == 1:
            return
        names = ('gmm_weights', 'gmm_means', 'gmm_precisions_cholesky')
        device = mixer.gmm_weights.device
        for name in names:
            buf = getattr(mixer, name)
            shape = torch.zeros(4, dtype=torch.long, device=device)
            if dist.get_rank() == 0:
                shape[0] = buf.dim()
                shape[1:1 + buf.dim()] = torch.tensor(buf.shape)
            dist.broadcast(shape, src=0)
            dims = shape[1:1 + int(shape[0])].tolist()
            if dist.get_rank() != 0:
                buf = torch.empty(dims, device=device)
            dist.broadcast(buf, src=0)
            setattr(mixer, name, buf)
        mixer._gmm = None
