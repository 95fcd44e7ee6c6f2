"""Gaussian mixture model fitted by EM, in pure torch (a batched counterpart of scikit-learn's).

The semantics follow :class:`sklearn.mixture.GaussianMixture` ('full' and 'diag' covariances): the same
E/M steps, ``reg_covar`` added to the diagonal of every covariance, the Cholesky factor of the precision
matrices, the lower bound (mean log-likelihood) and its ``tol`` stopping rule, the best of ``n_init`` runs
kept by lower bound, and the same free-parameter count for :meth:`GaussianMixture.bic` /
:meth:`GaussianMixture.aic`.

Why it is faster than scikit-learn for 'full' (scikit-learn loops over components with one
(N, D) @ (D, D) float64 product per component in the E-step and another in the M-step, plus a few
(N, D) temporaries per component and step):

* One pass over the data per EM iteration, in blocks of rows (``gmm_em._em_pass_full``): batched products
  give the whitened residuals ``y_k = (x - μ_k) P_k`` of all M components at once (the means enter
  through a column of ones), then the log-densities and responsibilities (``logsumexp``), then batched
  products accumulate the whitened scatter ``G_k = Σ_n r_nk y_nkᵀ y_nk`` that the M-step needs. The M-step
  turns it back into the scatter about the new means, ``P_k^{-T} G_k P_k^{-1} - n_k δ_k δ_kᵀ`` (``δ_k``
  the mean update), with (M, D, D)-sized batched algebra; the M Cholesky factorisations and triangular
  inversions are one batched call each. ``P_k`` being triangular and ``G_k`` symmetric, a split of the
  features in two halves skips a quarter of the products' work.
* Precision (``fast_matmul=True``, the default): these products, ~all the work, run in float32 (on
  data centred by its mean); everything else (means, weights, the (M, D, D) algebra, Cholesky,
  log-determinants, ``logsumexp``, the lower bound) stays in ``dtype`` (float64 by default). Accumulating
  ``G_k`` in the whitened frame is what makes float32 safe: ``G_k ≈ n_k I`` is well conditioned, so its
  rounding errors map back to errors *relative to* ``Σ_k`` in every direction, even for ill-conditioned
  covariances (a float32 ``Σ_n r_nk x_n x_nᵀ`` would swamp small eigenvalues). Should a covariance still
  fail to factorise, that M-step is redone directly in ``dtype``. Scoring a fitted model
  (:meth:`GaussianMixture.score_samples`, :meth:`GaussianMixture.predict_proba`, ...) always runs fully in
  ``dtype``; ``fast_matmul=False`` runs the fit fully in ``dtype`` as well. On a 2-core CPU the float32
  products are ~3.5× faster than float64 ones; the fitted log-likelihoods agree with the float64 path to
  ~1e-7 relative (see ``tests/test_core/test_gmm.py`` and ``benchmarks/bench_core.py``).
* 'diag' uses scikit-learn's closed forms in ``dtype``, in one pass per iteration over blocks of
  ``[x, x²]`` (built once per fit) with one product for the E-step and one for the M-step statistics
  (``gmm_em._em_pass_diag``).

Initialisation: ``'k-means++'`` draws k-means++ seeds (greedy, ``2 + ln M`` local trials, as
scikit-learn's ``kmeans_plusplus``) and assigns every sample to its nearest seed (hard responsibilities).
This is what scikit-learn's ``'k-means++'`` amounts to: it starts from covariances ``reg_covar·I`` centred
on the seeds, so its first E-step is that nearest-seed hard assignment; here it costs one O(N·M·D)
distance computation instead of a full E-step. ``'k-means'`` additionally runs Lloyd iterations from the
seeds (scikit-learn's ``'kmeans'``) and ``'random'`` uses uniformly random, row-normalised
responsibilities. All random draws come from a local CPU :class:`torch.Generator` seeded with ``seed``
(the global RNG is never touched), so a fit is reproducible and independent of the device.
"""
import math
import warnings
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor

from .gmm_em import (_covariances_from_precision_cholesky, _em_pass_diag, _em_pass_full, _log_det_cholesky,
                     _mahalanobis_full, _precision_cholesky, _scatter_from_whitened, _scatter_full)
from .kmeans import _kmeans_plusplus, _lloyd, _nearest, _sq_norms

__all__ = ['GaussianMixture', 'NotFittedError', 'select_n_components']

_COVARIANCE_TYPES = ('full', 'diag')
_INIT_PARAMS = ('k-means++', 'k-means', 'random')
_INIT_ALIASES = {'kmeans': 'k-means'}  # scikit-learn's spelling
_PRECISION_ERROR = ('Fitting the mixture model failed because some components have ill-defined empirical '
                    'covariance (for instance caused by singleton or collapsed samples). Try to decrease '
                    'the number of components, increase reg_covar, or scale the input data.')


class NotFittedError(ValueError, RuntimeError):
    """Raised when a :class:`GaussianMixture` is used before :meth:`GaussianMixture.fit`."""


def _check_x(x: Tensor, name: str = 'x') -> None:
    """Raise ``ValueError`` naming ``name`` unless ``x`` is a non-empty, finite (N, D) tensor."""
    if not isinstance(x, Tensor):
        raise ValueError(f'`{name}` must be a torch.Tensor, got {type(x).__name__}')
    if x.dim() != 2:
        raise ValueError(f'`{name}` must be a 2-D tensor (N, D), got shape {tuple(x.shape)}')
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f'`{name}` is empty, got shape {tuple(x.shape)}')
    if x.is_complex():
        raise ValueError(f'`{name}` must be real, got dtype {x.dtype}')
    # a finite sum proves every entry finite (NaN and ±Inf propagate); only an overflowing sum needs the
    # element-wise check
    if x.is_floating_point() and not bool(torch.isfinite(x.sum())) and not bool(torch.isfinite(x).all()):
        raise ValueError(f'`{name}` contains NaN or Inf')


def _make_generator(seed: Optional[int]) -> torch.Generator:
    """A local CPU generator seeded with ``seed`` (fresh entropy when ``None``)."""
    generator = torch.Generator(device='cpu')
    if seed is None:
        generator.seed()
    else:
        generator.manual_seed(int(seed))
    return generator


class GaussianMixture:
    """Gaussian mixture model with 'full' or 'diag' covariances, fitted by EM (scikit-learn semantics).

    Args:
        n_components (int): number of mixture components M. Defaults to 2.
        covariance_type (str): ``'full'`` (one (D, D) covariance per component) or ``'diag'``.
            Defaults to ``'full'``.
        tol (float): EM stops when the lower bound (mean log-likelihood) changes by less than this.
            Defaults to 1e-3.
        reg_covar (float): non-negative value added to the diagonal of every covariance. Defaults to 1e-6.
        max_iter (int): EM iterations per initialisation (0 keeps the initial parameters).
            Defaults to 100.
        n_init (int): number of initialisations; the one with the highest lower bound is kept.
            Defaults to 1.
        init_params (str): ``'k-means++'`` (k-means++ seeds, then nearest-seed hard responsibilities),
            ``'kmeans'`` (scikit-learn's name; ``'k-means'`` is accepted too: k-means++ seeds refined by
            Lloyd iterations) or ``'random'``. Defaults to ``'k-means++'``.
        seed (int, optional): seed of the local generator; ``None`` for a fresh random seed. Defaults to 0.
        random_state (int, optional): scikit-learn's name for ``seed``; when given it replaces ``seed``.
        warm_start (bool): as scikit-learn: a refit starts from the current parameters (one initialisation,
            ``n_init`` ignored) when the model is fitted with the same M and D — e.g. the per-epoch DCA refit.
            Defaults to False.
        dtype (torch.dtype): dtype of the parameters and of all accumulations. Defaults to torch.float64.
        fast_matmul (bool): for ``'full'`` with ``dtype=torch.float64``, run the O(N·M·D²) products of
            each EM iteration in float32 (see the module docstring); scoring a fitted model is unaffected.
            Only used while float32 matmuls run at full precision (``torch.get_float32_matmul_precision()
            == 'highest'``, the default; TF32/bf16 would be too coarse). Defaults to True.

    Attributes (after :meth:`fit`, tensors in ``dtype`` on the device of the data):
        weights_ (Tensor): (M,) mixing weights.
        means_ (Tensor): (M, D) means.
        covariances_ (Tensor): (M, D, D) for 'full', (M, D) for 'diag'.
        precisions_cholesky_ (Tensor): Cholesky factors of the precisions, same shape as covariances_.
        converged_ (bool): whether the best initialisation converged.
        n_iter_ (int): EM iterations of the best initialisation.
        lower_bound_ (float): lower bound (mean log-likelihood) of the best initialisation.
    """

    def __init__(self,
                 n_components: int = 2,
                 covariance_type: str = 'full',
                 tol: float = 1e-3,
                 reg_covar: float = 1e-6,
                 max_iter: int = 100,
                 n_init: int = 1,
                 init_params: str = 'k-means++',
                 seed: Optional[int] = 0,
                 dtype: torch.dtype = torch.float64,
                 fast_matmul: bool = True,
                 random_state: Optional[int] = None,
                 warm_start: bool = False) -> None:
        init_params = _INIT_ALIASES.get(init_params, init_params)
        if isinstance(n_components, bool) or not isinstance(n_components, int) or n_components < 1:
            raise ValueError(f'`n_components` must be an integer >= 1, got {n_components!r}')
        if covariance_type not in _COVARIANCE_TYPES:
            raise ValueError(f'`covariance_type` must be one of {_COVARIANCE_TYPES}, got {covariance_type!r}')
        if init_params not in _INIT_PARAMS:
            raise ValueError(f'`init_params` must be one of {_INIT_PARAMS}, got {init_params!r}')
        if not tol >= 0:
            raise ValueError(f'`tol` must be >= 0, got {tol!r}')
        if not reg_covar >= 0:
            raise ValueError(f'`reg_covar` must be >= 0, got {reg_covar!r}')
        if isinstance(max_iter, bool) or not isinstance(max_iter, int) or max_iter < 0:
            raise ValueError(f'`max_iter` must be an integer >= 0, got {max_iter!r}')
        if isinstance(n_init, bool) or not isinstance(n_init, int) or n_init < 1:
            raise ValueError(f'`n_init` must be an integer >= 1, got {n_init!r}')
        if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
            raise ValueError(f'`dtype` must be a floating torch.dtype, got {dtype!r}')
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = float(tol)
        self.reg_covar = float(reg_covar)
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.seed = seed if random_state is None else random_state
        self.dtype = dtype
        self.fast_matmul = bool(fast_matmul)
        self.warm_start = bool(warm_start)

        self.weights_: Optional[Tensor] = None
        self.means_: Optional[Tensor] = None
        self.covariances_: Optional[Tensor] = None
        self.precisions_cholesky_: Optional[Tensor] = None
        self.converged_ = False
        self.n_iter_ = 0
        self.lower_bound_ = -math.inf

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(n_components={self.n_components}, '
                f'covariance_type={self.covariance_type!r}, tol={self.tol}, reg_covar={self.reg_covar}, '
                f'max_iter={self.max_iter}, n_init={self.n_init}, init_params={self.init_params!r}, '
                f'seed={self.seed}, dtype={self.dtype}, warm_start={self.warm_start})')

    @property
    def random_state(self) -> Optional[int]:
        """scikit-learn's name for :attr:`seed`."""
        return self.seed

    # ------------------------------------------------------------------ internals
    @property
    def _compute_dtype(self) -> torch.dtype:
        """dtype of the O(N·M·D²) products inside EM."""
        if (self.covariance_type == 'full' and self.fast_matmul and self.dtype == torch.float64
                and torch.get_float32_matmul_precision() == 'highest'
                and not torch.backends.cuda.matmul.allow_tf32):
            return torch.float32
        return self.dtype

    def _check_fitted(self) -> None:
        if self.means_ is None:
            raise NotFittedError(f'This {self.__class__.__name__} is not fitted yet: call `fit` first (or '
                                 'build it with `from_state_dict`).')

    def _prepare(self, x: Tensor, check_input: bool = True) -> Tensor:
        """Validate ``x`` against the fitted model and cast it to ``dtype`` (``check_input=False``: shapes
        only, no read of the values)."""
        self._check_fitted()
        if check_input:
            _check_x(x)
        elif x.dim() != 2:
            raise ValueError(f'`x` must be a 2-D tensor (N, D), got shape {tuple(x.shape)}')
        if x.shape[1] != self.means_.shape[1]:
            raise ValueError(f'`x` has {x.shape[1]} features but the model was fitted with '
                             f'{self.means_.shape[1]} features')
        return x.to(self.dtype)

    def _params(self, device: torch.device) -> Tuple[Tensor, Tensor, Tensor]:
        """(weights, means, precisions_cholesky) on ``device``."""
        return (self.weights_.to(device), self.means_.to(device), self.precisions_cholesky_.to(device))

    def _data(self, x: Tensor, center: Tensor, compute_dtype: torch.dtype) -> Dict[str, Tensor]:
        """What the E and M steps read: the centred data ``x - center`` as ``x`` (in ``dtype``), plus
        ``aug`` = [1, x] in ``compute_dtype`` ('full') or ``xx`` = [x, x²] ('diag', so that each step is
        one product; ``x`` is then a view of it)."""
        n_samples, n_features = x.shape
        if self.covariance_type == 'full':
            xc = x - center
            aug = torch.empty(n_samples, 1 + n_features, dtype=compute_dtype, device=x.device)
            aug[:, 0] = 1
            aug[:, 1:] = xc
            return dict(x=xc, aug=aug)
        xx = torch.empty(n_samples, 2 * n_features, dtype=x.dtype, device=x.device)
        xc = torch.sub(x, center, out=xx[:, :n_features])
        torch.mul(xc, xc, out=xx[:, n_features:])
        return dict(x=xc, xx=xx)

    def _estimate_weighted_log_prob(self, data: Dict[str, Tensor], weights: Tensor, means: Tensor,
                                    prec_chol: Tensor) -> Tensor:
        """``log π_k + log N(x | μ_k, Σ_k)`` (N, M) for the output of :meth:`_data` (same centring as
        ``means``)."""
        n_features = means.shape[1]
        log_det = _log_det_cholesky(prec_chol, self.covariance_type)
        if self.covariance_type == 'full':
            maha = _mahalanobis_full(data['aug'], means, prec_chol)
        else:
            precisions = prec_chol * prec_chol  # (M, D)
            coefs = torch.cat([-2.0 * means * precisions, precisions], 1)  # (M, 2D)
            maha = (means * means * precisions).sum(1) + data['xx'] @ coefs.T
        return -0.5 * (n_features * math.log(2 * math.pi) + maha) + log_det + weights.log()

    def _m_step(self, data: Dict[str, Tensor], resp: Tensor, stats: Optional[Tensor] = None) -> None:
        """Set weights, means, covariances and precision factors from responsibilities (N, M).

        ``stats`` are the statistics gathered by the E-step pass: for 'full' the whitened scatter of
        :func:`_em_pass_full` about the current parameters, for 'diag' the moments of
        :func:`_em_pass_diag`; without them (first M-step) they are computed here. When a 'full' scatter
        made with float32 products does not factorise, it is recomputed directly in ``dtype``.
        """
        x = data['x']
        n_samples, n_features = x.shape
        nk = resp.sum(0) + 10 * torch.finfo(resp.dtype).eps
        gram = stats
        if self.covariance_type == 'diag':
            moments = resp.T @ data['xx'] if stats is None else stats
            moments = moments / nk.unsqueeze(1)  # (M, 2D): E[x], E[x²] per component
            means = moments[:, :n_features].contiguous()
            covariances = moments[:, n_features:] - means * means + self.reg_covar
            prec_chol, ok = _precision_cholesky(covariances, 'diag')
        else:
            means = (resp.T @ x) / nk.unsqueeze(1)
            if gram is not None:
                scatter = _scatter_from_whitened(gram, self.precisions_cholesky_, self.means_, means, nk)
            else:
                scatter = _scatter_full(data['aug'][:, 1:], resp, means)
            covariances = scatter / nk.view(-1, 1, 1)
            covariances.diagonal(dim1=-2, dim2=-1).add_(self.reg_covar)
            prec_chol, ok = _precision_cholesky(covariances, 'full')
            if not ok and (gram is not None or data['aug'].dtype != self.dtype):
                covariances = _scatter_full(x, resp, means) / nk.view(-1, 1, 1)
                covariances.diagonal(dim1=-2, dim2=-1).add_(self.reg_covar)
                prec_chol, ok = _precision_cholesky(covariances, 'full')
        if not ok:
            raise ValueError(_PRECISION_ERROR)
        weights = nk / n_samples
        self.weights_ = weights / weights.sum()
        self.means_ = means
        self.covariances_ = covariances
        self.precisions_cholesky_ = prec_chol

    def _em_iteration(self, data: Dict[str, Tensor]) -> float:
        """One E-step + M-step; returns the lower bound of the E-step (mean log-likelihood)."""
        if self.covariance_type == 'full':
            lower_bound, resp, gram = _em_pass_full(data['aug'], self.weights_, self.means_,
                                                    self.precisions_cholesky_)
            self._m_step(data, resp, gram)
            return lower_bound
        lower_bound, resp, moments = _em_pass_diag(data['xx'], self.weights_, self.means_,
                                                   self.precisions_cholesky_)
        self._m_step(data, resp, moments)
        return lower_bound

    def _initial_resp(self, x: Tensor, generator: torch.Generator) -> Tensor:
        """Initial responsibilities (N, M) according to ``init_params``."""
        n_samples, n_components = x.shape[0], self.n_components
        if self.init_params == 'random':
            resp = torch.rand(n_samples, n_components, generator=generator, dtype=self.dtype).to(x.device)
            return resp / resp.sum(1, keepdim=True)
        x_sq = _sq_norms(x)
        seeds = x[_kmeans_plusplus(x, n_components, generator, x_sq)]
        if self.init_params == 'k-means':
            labels = _lloyd(x, seeds, x_sq)
        else:
            labels = _nearest(x, seeds, x_sq)
        return torch.nn.functional.one_hot(labels, n_components).to(self.dtype)

    def _warm_resp(self, data: Dict[str, Tensor], center: Tensor) -> Optional[Tensor]:
        """With ``warm_start``, the responsibilities of the current parameters on the (centred) data, else None."""
        if not self.warm_start or self.means_ is None or self.means_.shape != (self.n_components, data['x'].shape[1]):
            return None
        weights, means, prec_chol = (t.to(device=center.device, dtype=self.dtype) for t in
                                     (self.weights_, self.means_, self.precisions_cholesky_))
        exact = self._data(data['x'], torch.zeros_like(center), self.dtype)
        return torch.softmax(self._estimate_weighted_log_prob(exact, weights, means - center, prec_chol), dim=1)

    # ------------------------------------------------------------------ public API
    @torch.no_grad()
    def fit(self, x: Tensor) -> 'GaussianMixture':
        """Estimate the parameters with EM, keeping the best of ``n_init`` initialisations.

        Args:
            x (Tensor): (N, D) data on any device; it is cast to ``dtype``.

        Returns:
            GaussianMixture: ``self``, fitted; parameters live on ``x``'s device.
        """
        _check_x(x)
        n_samples = x.shape[0]
        if self.n_components > n_samples:
            raise ValueError(f'`n_components`={self.n_components} must be <= the number of samples '
                             f'N={n_samples}')
        x = x.to(self.dtype)
        # Centre once: no large offsets to cancel in the products; parameters are shifted back at the end.
        center = x.mean(0)
        data = self._data(x, center, self._compute_dtype)
        xc = data['x']
        generator = _make_generator(self.seed)
        warm = self._warm_resp(data, center)
        n_init = 1 if warm is not None else self.n_init

        best, best_lower_bound = None, -math.inf
        try:
            for _ in range(n_init):
                self._m_step(data, warm if warm is not None else self._initial_resp(xc, generator))
                lower_bound, converged, n_iter = -math.inf, False, 0
                for n_iter in range(1, self.max_iter + 1):
                    prev_lower_bound = lower_bound
                    lower_bound = self._em_iteration(data)
                    if abs(lower_bound - prev_lower_bound) < self.tol:
                        converged = True
                        break
                if best is None or lower_bound > best_lower_bound:
                    best_lower_bound = lower_bound
                    best = (self.weights_, self.means_, self.covariances_, self.precisions_cholesky_, n_iter,
                            converged)
        except Exception:
            self.weights_ = self.means_ = self.covariances_ = self.precisions_cholesky_ = None
            raise

        (self.weights_, means, self.covariances_, self.precisions_cholesky_, self.n_iter_,
         self.converged_) = best
        self.means_ = means + center
        self.lower_bound_ = best_lower_bound
        if not self.converged_ and self.max_iter > 0:
            warnings.warn('Best performing initialization did not converge. Try different init parameters, '
                          'or increase max_iter, tol, or check for degenerate data.')
        return self

    @torch.no_grad()
    def score_samples(self, x: Tensor) -> Tensor:
        """Log-density ``log p(x)`` of every sample under the fitted mixture.

        Args:
            x (Tensor): (N, D) data.

        Returns:
            Tensor: (N,) log-likelihoods, in ``x``'s floating dtype (``dtype`` for integer input).
        """
        return torch.logsumexp(self._weighted_log_prob(x), dim=1).to(self._out_dtype(x))

    @torch.no_grad()
    def predict_proba(self, x: Tensor, check_input: bool = True) -> Tensor:
        """Posterior probability (responsibility) of each component for every sample.

        Args:
            x (Tensor): (N, D) data.
            check_input (bool): check that ``x`` is finite (reads the values: a host sync on a GPU; the
                training hot path turns it off). Defaults to True.

        Returns:
            Tensor: (N, M) non-negative rows summing to 1, in ``x``'s floating dtype.
        """
        return torch.softmax(self._weighted_log_prob(x, check_input), dim=1).to(self._out_dtype(x))

    @torch.no_grad()
    def predict(self, x: Tensor) -> Tensor:
        """Most likely component of every sample.

        Args:
            x (Tensor): (N, D) data.

        Returns:
            Tensor: (N,) long labels in ``[0, M)``.
        """
        return torch.argmax(self._weighted_log_prob(x), dim=1)

    def score(self, x: Tensor) -> float:
        """Mean log-likelihood of ``x`` under the fitted mixture.

        Args:
            x (Tensor): (N, D) data.

        Returns:
            float: ``mean(score_samples(x))`` (computed in ``dtype``).
        """
        return float(self._score_samples_dtype(x).mean())

    def n_parameters(self) -> int:
        """Number of free parameters (as scikit-learn: covariances + means + M - 1 weights).

        Returns:
            int: the count.
        """
        self._check_fitted()
        n_features = self.means_.shape[1]
        m = self.n_components
        if self.covariance_type == 'full':
            cov_params = m * n_features * (n_features + 1) / 2.0
        else:
            cov_params = m * n_features
        return int(cov_params + n_features * m + m - 1)

    def bic(self, x: Tensor) -> float:
        """Bayesian information criterion ``-2·N·score(x) + n_parameters·ln N`` (lower is better).

        Args:
            x (Tensor): (N, D) data.

        Returns:
            float: the BIC.
        """
        return -2 * self.score(x) * x.shape[0] + self.n_parameters() * math.log(x.shape[0])

    def aic(self, x: Tensor) -> float:
        """Akaike information criterion ``-2·N·score(x) + 2·n_parameters`` (lower is better).

        Args:
            x (Tensor): (N, D) data.

        Returns:
            float: the AIC.
        """
        return -2 * self.score(x) * x.shape[0] + 2 * self.n_parameters()

    def state_dict(self) -> Dict[str, Tensor]:
        """Parameters and fit statistics as tensors (safe for ``torch.load(weights_only=True)``).

        Returns:
            Dict[str, Tensor]: ``weights``, ``means``, ``covariances``, ``precisions_cholesky``,
            ``covariance_type`` (0-d long index into ``('full', 'diag')``), ``converged``, ``n_iter`` and
            ``lower_bound``.
        """
        self._check_fitted()
        return dict(
            weights=self.weights_.clone(),
            means=self.means_.clone(),
            covariances=self.covariances_.clone(),
            precisions_cholesky=self.precisions_cholesky_.clone(),
            covariance_type=torch.tensor(_COVARIANCE_TYPES.index(self.covariance_type)),
            converged=torch.tensor(bool(self.converged_)),
            n_iter=torch.tensor(int(self.n_iter_)),
            lower_bound=torch.tensor(float(self.lower_bound_), dtype=torch.float64))

    @classmethod
    def from_state_dict(cls, state: Dict[str, Union[Tensor, str]], names: Optional[Dict[str, str]] = None,
                        **kwargs) -> 'GaussianMixture':
        """Rebuild a fitted model from :meth:`state_dict` (or from any set of mixture parameters).

        ``weights`` and ``means`` are required, plus ``covariances`` and/or ``precisions_cholesky`` (the
        missing one is derived). ``covariance_type`` may be the stored index, a string, or absent (then it
        is inferred from the shapes). The values are validated (a corrupt checkpoint fails here, naming the
        parameter, instead of giving NaN weights later): mixture weights finite, > 0 and summing to 1, means
        finite, precision factors finite with a positive diagonal (upper triangular for 'full'), covariances
        finite and positive (definite).

        Args:
            state (dict): the parameters.
            names (dict, optional): how errors name each key (e.g. ``{'weights': 'model.gmm_weights'}`` for a
                checkpoint buffer); defaults to ``state["key"]``.
            **kwargs: further constructor arguments (e.g. ``reg_covar``) for later refits.

        Returns:
            GaussianMixture: a fitted model whose dtype is that of ``means``.
        """
        names = dict(names or {})
        for key in ('weights', 'means', 'covariances', 'precisions_cholesky'):
            names.setdefault(key, f'state["{key}"]')
        for key in ('weights', 'means'):
            if key not in state:
                raise ValueError(f'`state` lacks {key!r}')
        if 'covariances' not in state and 'precisions_cholesky' not in state:
            raise ValueError('`state` needs `covariances` or `precisions_cholesky`')
        means = torch.as_tensor(state['means'])
        if means.dim() != 2:
            raise ValueError(f'`{names["means"]}` must be (M, D), got shape {tuple(means.shape)}')
        if not means.is_floating_point():
            means = means.to(torch.float64)
        dtype = means.dtype
        given = state.get('covariances', state.get('precisions_cholesky'))
        cov_type = state.get('covariance_type')
        if cov_type is None:
            cov_type = 'full' if torch.as_tensor(given).dim() == 3 else 'diag'
        elif isinstance(cov_type, Tensor):
            cov_type = _COVARIANCE_TYPES[int(cov_type)]
        model = cls(n_components=means.shape[0], covariance_type=cov_type, dtype=dtype, **kwargs)
        m, d = means.shape
        expected = (m, d, d) if cov_type == 'full' else (m, d)
        weights = torch.as_tensor(state['weights']).to(dtype=dtype, device=means.device)
        if tuple(weights.shape) != (m, ):
            raise ValueError(f'`{names["weights"]}` must have shape ({m},), got {tuple(weights.shape)}')
        tensors = {}
        for key in ('covariances', 'precisions_cholesky'):
            if key in state:
                tensors[key] = torch.as_tensor(state[key]).to(dtype=dtype, device=means.device)
                if tuple(tensors[key].shape) != expected:
                    raise ValueError(f'`{names[key]}` must have shape {expected} for covariance_type='
                                     f'{cov_type!r}, got {tuple(tensors[key].shape)}')
        _check_parameters(weights, means, tensors, cov_type, names)
        if 'precisions_cholesky' not in tensors:
            tensors['precisions_cholesky'], ok = _precision_cholesky(tensors['covariances'], cov_type)
            if not ok:
                raise ValueError(f'`{names["covariances"]}` are not positive definite')
        if 'covariances' not in tensors:
            tensors['covariances'] = _covariances_from_precision_cholesky(tensors['precisions_cholesky'], cov_type)
        model.weights_ = weights.clone()
        model.means_ = means.clone()
        model.covariances_ = tensors['covariances'].clone()
        model.precisions_cholesky_ = tensors['precisions_cholesky'].clone()
        model.converged_ = bool(state['converged']) if 'converged' in state else True
        model.n_iter_ = int(state['n_iter']) if 'n_iter' in state else 0
        model.lower_bound_ = float(state['lower_bound']) if 'lower_bound' in state else -math.inf
        return model

    # ------------------------------------------------------------------ scoring helpers
    def _out_dtype(self, x: Tensor) -> torch.dtype:
        return x.dtype if x.is_floating_point() else self.dtype

    def _weighted_log_prob(self, x: Tensor, check_input: bool = True) -> Tensor:
        """Fully-``dtype`` ``log π_k + log N(x | μ_k, Σ_k)`` (N, M) for a fitted model."""
        x = self._prepare(x, check_input)
        weights, means, prec_chol = self._params(x.device)
        center = weights @ means  # mixture mean: centring keeps the products well conditioned
        return self._estimate_weighted_log_prob(self._data(x, center, self.dtype), weights, means - center,
                                                prec_chol)

    def _score_samples_dtype(self, x: Tensor) -> Tensor:
        with torch.no_grad():
            return torch.logsumexp(self._weighted_log_prob(x), dim=1)


def _check_parameters(weights: Tensor, means: Tensor, tensors: Dict[str, Tensor], cov_type: str,
                      names: Dict[str, str]) -> None:
    """Raise ``ValueError`` naming the parameter when a mixture's values cannot describe a mixture (NaN, a
    weight <= 0 or weights not summing to 1, a non-positive precision or variance). Reads the values: a
    load-time check, not for the training hot path."""
    def bad(key: str, why: str, value: Tensor) -> ValueError:
        return ValueError(f'`{names[key]}` {why} (got {value.flatten()[:6].tolist()}): the mixture is corrupt; '
                          'refit it (DCAHook fits one after the next epoch) or load an earlier checkpoint')

    if not bool(weights.isfinite().all()) or not bool((weights > 0).all()):
        raise bad('weights', 'must hold finite mixture weights > 0', weights)
    if abs(float(weights.sum()) - 1) > 1e-4:
        raise bad('weights', f'must sum to 1, sum is {float(weights.sum()):.6g}', weights)
    if not bool(means.isfinite().all()):
        raise bad('means', 'must be finite', means)
    for key, value in tensors.items():
        if not bool(value.isfinite().all()):
            raise bad(key, 'must be finite', value)
        diag = value.diagonal(dim1=-2, dim2=-1) if cov_type == 'full' else value
        if not bool((diag > 0).all()):
            raise bad(key, 'must have a positive diagonal' if cov_type == 'full' else 'must be > 0', diag)
        if key == 'precisions_cholesky' and cov_type == 'full' and bool(value.tril(-1).ne(0).any()):
            raise bad(key, 'must be upper triangular (the Cholesky factor of the precision)', value)


def select_n_components(x: Tensor,
                        candidates: Sequence[int],
                        criterion: str = 'bic',
                        **gmm_kwargs) -> Tuple[int, Dict[int, float], GaussianMixture]:
    """Fit one :class:`GaussianMixture` per candidate number of components and keep the best.

    Args:
        x (Tensor): (N, D) data.
        candidates (Sequence[int]): numbers of components M to try (each in ``[1, N]``).
        criterion (str): ``'bic'`` or ``'aic'``; the lowest value wins (ties: the smaller M).
            Defaults to ``'bic'``.
        **gmm_kwargs: further :class:`GaussianMixture` arguments (``covariance_type``, ``seed``, ...).

    Returns:
        Tuple[int, Dict[int, float], GaussianMixture]: the best M, ``{M: criterion value}`` for every
        candidate, and the model fitted with the best M.
    """
    if criterion not in ('bic', 'aic'):
        raise ValueError(f"`criterion` must be 'bic' or 'aic', got {criterion!r}")
    candidates = list(candidates)
    if not candidates:
        raise ValueError('`candidates` is empty')
    if 'n_components' in gmm_kwargs:
        raise ValueError('pass the numbers of components through `candidates`, not `n_components`')
    _check_x(x)
    scores: Dict[int, float] = {}
    best_m, best_model = None, None
    for m in sorted(set(int(c) for c in candidates)):
        model = GaussianMixture(n_components=m, **gmm_kwargs).fit(x)
        scores[m] = model.bic(x) if criterion == 'bic' else model.aic(x)
        if best_m is None or scores[m] < scores[best_m]:
            best_m, best_model = m, model
    return best_m, scores, best_model
