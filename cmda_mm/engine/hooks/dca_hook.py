"""Fit the DCA Gaussian mixture on the student embeddings of the past epoch (all ranks)."""
import time
import warnings
from typing import Dict, Optional, Sequence, Union

import torch
from mmengine import dist
from mmengine.hooks import Hook
from mmpretrain.registry import HOOKS
from mmpretrain.utils import get_ori_model

from cmda_mm.core.dca import clip_components, fit_dca, validate_components
from cmda_mm.core.gmm import _COVARIANCE_TYPES, GaussianMixture

__all__ = ['DCAHook']


@HOOKS.register_module()
class DCAHook(Hook):
    """Fit the DCA mixture every ``interval`` epochs from the mixer's memory bank.

    During an epoch the algorithm records the detached student embeddings of every batch (no extra pass).
    After the epoch the bank is gathered from all ranks (``mmengine.dist.all_gather_object``), rank 0 fits
    a :class:`GaussianMixture` with :func:`cmda_mm.core.fit_dca` (M fixed, or chosen by BIC/AIC from a range,
    paper Fig. 5) and the parameters are broadcast (``broadcast_object_list``) into every rank's mixer
    buffers, so every rank uses the same clusters and checkpoints/resume carry them. Before the first fit,
    DCA weights are 1. M larger than the embeddings available is clipped with a warning on every rank; a
    fit that fails on rank 0 raises the same error on every rank.

    Args:
        interval (int): fit every ``interval`` epochs (>= 1).
        n_components (int | Sequence[int]): M, or candidates for M chosen by ``criterion``.
        criterion (str): 'bic' or 'aic' when ``n_components`` is a sequence.
        covariance_type (str): 'diag' (default) or 'full'.
        max_samples (int, optional): fit on a seeded random subset of at most this many embeddings.
        gmm_cfg (dict, optional): more :class:`GaussianMixture` arguments (tol, reg_covar, max_iter, n_init;
            ``warm_start=True`` starts each refit of a fixed M from the last epoch's mixture).
        seed (int, optional): seed of the fit and the subsampling; None (default) uses the run's seed
            (``randomness.seed``, :attr:`mmengine.runner.Runner.seed`).
    """

    priority = 'NORMAL'

    def __init__(self,
                 interval: int = 1,
                 n_components: Union[int, Sequence[int]] = 2,
                 criterion: str = 'bic',
                 covariance_type: str = 'diag',
                 max_samples: Optional[int] = None,
                 gmm_cfg: Optional[dict] = None,
                 seed: Optional[int] = None) -> None:
        if isinstance(interval, bool) or not isinstance(interval, int) or interval < 1:
            raise ValueError(f'DCAHook: `interval` must be an integer >= 1 (fit every `interval` epochs), '
                             f'got {interval!r}')
        if criterion not in ('bic', 'aic'):
            raise ValueError(f"DCAHook: `criterion` must be 'bic' or 'aic', got {criterion!r}")
        if covariance_type not in _COVARIANCE_TYPES:
            raise ValueError(f'DCAHook: `covariance_type` must be one of {_COVARIANCE_TYPES}, '
                             f'got {covariance_type!r}')
        if max_samples is not None and (isinstance(max_samples, bool) or not isinstance(max_samples, int)
                                        or max_samples < 1):
            raise ValueError(f'DCAHook: `max_samples` must be None or an integer >= 1, got {max_samples!r}')
        self.interval = interval
        self.n_components = validate_components(n_components)
        self.criterion = criterion
        self.covariance_type = covariance_type
        self.max_samples = max_samples
        self.seed = seed
        self.gmm_cfg = dict(gmm_cfg or {})
        GaussianMixture(covariance_type=covariance_type, **self.gmm_cfg)  # bad gmm_cfg fails at build time

    def before_run(self, runner) -> None:
        if self.seed is None:
            self.seed = int(getattr(runner, 'seed', 0) or 0)

    @staticmethod
    def _mixer(runner):
        return getattr(get_ori_model(runner.model).data_preprocessor, 'cmda', None)

    def after_train_epoch(self, runner) -> None:
        mixer = self._mixer(runner)
        if mixer is None or not mixer.dca or mixer.dca_fit != 'epoch':
            return
        local = mixer.pop_bank()  # always emptied: each fit sees the latest epoch only
        if not self.every_n_epochs(runner, self.interval):
            return
        bank = self.gather(local)
        if bank is None:
            runner.logger.warning('DCAHook: no student embeddings were recorded this epoch; DCA not fitted')
            return
        # Every rank knows the bank size: clip M (with a warning) everywhere, not on rank 0 only.
        n_fit = bank.shape[0] if self.max_samples is None else min(bank.shape[0], self.max_samples)
        n_components = clip_components(self.n_components, n_fit, 'student embeddings in the DCA bank')
        result = None
        if dist.get_rank() == 0:
            start = time.perf_counter()
            try:
                gmm, scores = self.fit(bank, n_components, previous=mixer.get_gmm())
                result = dict(state=gmm.state_dict(), scores=scores, seconds=time.perf_counter() - start,
                              loglik=gmm.score(bank))
            except Exception as exc:  # raised on every rank below, instead of rank 0 alone
                result = dict(error=f'{type(exc).__name__}: {exc}')
        result = self.broadcast(result)
        if 'error' in result:
            raise RuntimeError(f'DCAHook: the DCA fit on {bank.shape[0]} embeddings failed on rank 0: '
                               f"{result['error']}")
        gmm = GaussianMixture.from_state_dict(result['state'])
        mixer.set_gmm(gmm)
        msg = (f'DCA fit: M={gmm.n_components} ({gmm.covariance_type}) on {bank.shape[0]} embeddings, '
               f"mean log-likelihood {result['loglik']:.3f}, {result['seconds']:.2f}s")
        if result['scores']:
            msg += f', {self.criterion.upper()}: ' + ', '.join(f'M={m}: {v:.1f}'
                                                               for m, v in result['scores'].items())
        runner.logger.info(msg)
        runner.message_hub.update_scalar('train/dca_n_components', gmm.n_components)

    def fit(self, bank: torch.Tensor, n_components=None, previous: Optional[GaussianMixture] = None):
        """Fit on ``bank`` (N, D) with :func:`cmda_mm.core.fit_dca` (from ``previous`` with ``warm_start``);
        returns the mixture and the criterion per candidate M (or {})."""
        with warnings.catch_warnings():
            if n_components is not None:  # already clipped (and warned about) on every rank
                warnings.filterwarnings('ignore', message='DCA: ')
            return fit_dca(bank, self.n_components if n_components is None else n_components, self.criterion,
                           self.covariance_type, seed=0 if self.seed is None else self.seed,
                           max_samples=self.max_samples, previous=previous, **self.gmm_cfg)

    @staticmethod
    def gather(local: Optional[torch.Tensor], device=None) -> Optional[torch.Tensor]:
        """Concatenate every rank's bank (ranks may hold different numbers of rows, or none), on CPU."""
        if dist.get_world_size() == 1:
            return local if local is not None and local.shape[0] else None
        parts = [p for p in dist.all_gather_object(None if local is None else local.cpu()) if p is not None]
        if not parts:
            return None
        bank = torch.cat(parts)
        return bank if bank.shape[0] else None

    @staticmethod
    def broadcast(result: Optional[Dict]) -> Dict:
        """Rank 0's fit result (mixture state, or the error) on every rank."""
        if dist.get_world_size() == 1:
            return result
        box = [result]
        dist.broadcast_object_list(box, src=0)
        return box[0]
