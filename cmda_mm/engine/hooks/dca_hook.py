"""Fit the DCA Gaussian mixture on the student embeddings of the past epoch (all ranks)."""
import time
import warnings
from typing import Dict, Optional, Sequence, Union

import torch
from mmengine import dist
from mmengine.hooks import Hook
from mmpretrain.utils import get_ori_model

from cmda_mm.core.dca import clip_components, fit_dca, validate_components
from cmda_mm.core.gmm import _COVARIANCE_TYPES, GaussianMixture
from cmda_mm.registry import HOOKS

__all__ = ['DCAHook', 'check_cache_dataset']


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

    Cached CMDA (``cmda.cache_size``) keeps this hook in ``custom_hooks`` for the cache as well (also with
    ``dca=False``): before training it checks the cache against the training set and resets a cache that came
    with ``load_from`` (:meth:`before_train`); after every epoch it merges the ranks' caches
    (:meth:`merge_caches`), so that under DDP every rank — and the checkpoint, saved from rank 0 — holds every
    sample's embeddings (each rank writes only the samples of its own batches). Iteration-based checkpoints
    taken mid-epoch hold rank 0's writes of that epoch only; the others refill within an epoch after a resume.

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

    def before_train(self, runner) -> None:
        """Cached CMDA: check the cache against the training set, after ``load_from`` / ``--resume``.

        * A ``ConcatDataset`` (at any depth of dataset wrappers) is refused: its sub-datasets number
          ``sample_idx`` from 0, so samples of different sub-datasets would share cache slots. Mapping to global
          indices would need every dataset to renumber its samples; one annotation file is the fix.
        * A training set longer than ``cache_size`` is refused here, before the first batch.
        * A cache loaded with ``load_from`` (training starts at iteration 0) belongs to the run that saved it —
          another dataset, or another split — and is reset; a resumed run (iteration > 0) keeps its cache, and
          refuses one of another size (:attr:`CrossModalMixer.cache_load_mismatch`).
        """
        mixer = self._mixer(runner)
        if mixer is None or not mixer.cached:
            return
        dataset = _train_dataset(runner)
        if dataset is not None:
            check_cache_dataset(dataset, mixer.cache_size)
        if runner.iter > 0:
            if mixer.cache_load_mismatch is not None:
                raise ValueError(f'DCAHook: cannot resume cached CMDA: {mixer.cache_load_mismatch}; resume with '
                                 "the training set (and cmda.cache_size) of the checkpoint's run")
            return
        if mixer.cache_load_mismatch is not None or bool(mixer.cache_teacher_seen.any()):
            runner.logger.info('DCAHook: the embedding cache loaded with the checkpoint (load_from) belongs to '
                               "another run's training set; it is reset and refills during the first epoch")
            mixer.reset_cache()
            mixer.cache_load_mismatch = None

    def after_train_epoch(self, runner) -> None:
        mixer = self._mixer(runner)
        if mixer is not None and mixer.cached:
            self.merge_caches(mixer)
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
    def merge_caches(mixer) -> None:
        """Make every rank's embedding cache hold every rank's writes of the epoch (identical on all ranks, so
        the checkpoint saved from rank 0 holds every sample). One process: nothing to merge."""
        updates = mixer.pop_cache_updates()
        if dist.get_world_size() == 1:
            return
        mixer.merge_cache_updates(dist.all_gather_object(updates))

    @staticmethod
    def broadcast(result: Optional[Dict]) -> Dict:
        """Rank 0's fit result (mixture state, or the error) on every rank."""
        if dist.get_world_size() == 1:
            return result
        box = [result]
        dist.broadcast_object_list(box, src=0)
        return box[0]


def _train_dataset(runner):
    """The runner's training dataset, or None (a runner without a training loader)."""
    try:
        return runner.train_dataloader.dataset
    except (AttributeError, RuntimeError):
        return None


def check_cache_dataset(dataset, cache_size: int) -> None:
    """Raise ``ValueError`` when the embedding cache cannot index ``dataset`` by ``sample_idx``.

    Wrappers with one ``dataset`` (RepeatDataset, ClassBalancedDataset, ...) keep the inner dataset's
    ``sample_idx``, so the inner dataset's length counts; a wrapper with several ``datasets`` (ConcatDataset)
    restarts ``sample_idx`` at 0 in each, so its samples would share slots and is refused.

    Args:
        dataset: the training dataset (possibly wrapped).
        cache_size (int): ``cmda.cache_size``.
    """
    inner = dataset
    while True:
        parts = getattr(inner, 'datasets', None)
        if isinstance(parts, (list, tuple)) and len(parts) > 1:
            sizes = [len(d) for d in parts]
            raise ValueError(f'cached CMDA (cmda.cache_size) cannot train on {type(inner).__name__} of {sizes} '
                             'samples: each sub-dataset numbers sample_idx from 0, so their samples would share '
                             'cache slots. Merge them into one annotation file, or drop cmda.cache_size')
        if isinstance(parts, (list, tuple)) and parts:
            inner = parts[0]
        elif hasattr(getattr(inner, 'dataset', None), '__len__'):
            inner = inner.dataset
        else:
            break
    if len(inner) > cache_size:
        raise ValueError(f'cached CMDA: the training set has {len(inner)} samples but cmda.cache_size='
                         f"{cache_size}; set cache_size to the training set's length ({len(inner)})")
