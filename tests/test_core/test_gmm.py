import io
import math

import numpy as np
import pytest
import torch
from sklearn.datasets import make_blobs
from sklearn.mixture import GaussianMixture as SkGaussianMixture

from cmda_mm.core import gmm as gmm_module
from cmda_mm.core.gmm import GaussianMixture, select_n_components


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny problems: intra-op threads only add contention (and flakiness on a busy 2-core runner)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _blobs(n=300, d=8, m=3, std=1.0, seed=0):
    x, y = make_blobs(n_samples=n, n_features=d, centers=m, cluster_std=std, random_state=seed)
    return x, torch.from_numpy(x), y


def _sk(x, m, cov, **kw):
    kw = {**dict(tol=1e-3, reg_covar=1e-6, max_iter=100, n_init=1, random_state=0), **kw}
    return SkGaussianMixture(m, covariance_type=cov, init_params='k-means++', **kw).fit(x)


def _from_sk(sk, cov, keys=('weights', 'means', 'covariances', 'precisions_cholesky')):
    full = dict(weights=sk.weights_, means=sk.means_, covariances=sk.covariances_,
                precisions_cholesky=sk.precisions_cholesky_, covariance_type=cov)
    return GaussianMixture.from_state_dict(
        {k: (torch.from_numpy(v) if isinstance(v, np.ndarray) else v) for k, v in full.items()
         if k in keys or k == 'covariance_type'})


@pytest.mark.parametrize('cov', ['diag', 'full'])
@pytest.mark.parametrize('d, m, n_init', [(4, 2, 1), (8, 3, 2), (16, 4, 1)])
def test_score_within_one_percent_of_sklearn(cov, d, m, n_init):
    x_np, x, _ = _blobs(n=240 + 30 * m, d=d, m=m, std=1.5, seed=d + m)
    sk = _sk(x_np, m, cov, n_init=n_init)
    ours = GaussianMixture(m, covariance_type=cov, tol=1e-3, reg_covar=1e-6, max_iter=100, n_init=n_init,
                           seed=0).fit(x)
    ref = sk.score(x_np)
    assert abs(ours.score(x) - ref) <= 0.01 * abs(ref)
    assert ours.converged_ and 1 <= ours.n_iter_ <= 100
    assert math.isclose(ours.lower_bound_, ours.score(x), rel_tol=1e-3)
    # fitted attributes: shapes and dtype
    shape = (m, d, d) if cov == 'full' else (m, d)
    assert ours.covariances_.shape == ours.precisions_cholesky_.shape == shape
    assert ours.means_.shape == (m, d) and ours.weights_.shape == (m, )
    assert ours.means_.dtype == ours.weights_.dtype == torch.float64
    torch.testing.assert_close(ours.weights_.sum(), torch.tensor(1.0, dtype=torch.float64))


@pytest.mark.parametrize('cov', ['diag', 'full'])
def test_proba_predict_and_output_dtype(cov):
    _, x, y = _blobs(n=200, d=6, m=3)
    gmm = GaussianMixture(3, covariance_type=cov).fit(x)
    proba = gmm.predict_proba(x)
    assert proba.shape == (200, 3) and proba.dtype == torch.float64
    assert (proba >= 0).all()
    torch.testing.assert_close(proba.sum(1), torch.ones(200, dtype=torch.float64))
    labels = gmm.predict(x)
    assert labels.dtype == torch.long and torch.equal(labels, proba.argmax(1))
    # well-separated blobs: the clustering equals the truth up to a permutation
    contingency = torch.zeros(3, 3)
    contingency.index_put_((labels, torch.from_numpy(y)), torch.ones(200), accumulate=True)
    assert (contingency.max(1).values == contingency.sum(1)).all()
    x32 = x.float()
    assert gmm.predict_proba(x32).dtype == torch.float32 and gmm.score_samples(x32).dtype == torch.float32
    torch.testing.assert_close(gmm.predict_proba(x32), proba.float(), atol=1e-5, rtol=0)
    assert gmm.score_samples(x.long()).dtype == torch.float64  # integer input: results in gmm.dtype


@pytest.mark.parametrize('cov', ['diag', 'full'])
@pytest.mark.parametrize('keys', [('weights', 'means', 'covariances', 'precisions_cholesky'),
                                  ('weights', 'means', 'covariances'),
                                  ('weights', 'means', 'precisions_cholesky')])
def test_density_equals_sklearn_for_equal_parameters(cov, keys):
    x_np, x, _ = _blobs(n=250, d=5, m=3, std=2.0, seed=3)
    sk = _sk(x_np, 3, cov)
    ours = _from_sk(sk, cov, keys)
    new_np = x_np + np.random.default_rng(0).normal(scale=3.0, size=x_np.shape)  # also far from the data
    for data in (x_np, new_np):
        t = torch.from_numpy(data)
        np.testing.assert_allclose(ours.score_samples(t).numpy(), sk.score_samples(data), rtol=0, atol=1e-6)
        np.testing.assert_allclose(ours.predict_proba(t).numpy(), sk.predict_proba(data), rtol=0, atol=1e-6)
        np.testing.assert_array_equal(ours.predict(t).numpy(), sk.predict(data))
        assert math.isclose(ours.score(t), sk.score(data), rel_tol=1e-10)
    np.testing.assert_allclose(ours.covariances_.numpy(), sk.covariances_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.precisions_cholesky_.numpy(), sk.precisions_cholesky_, rtol=1e-9,
                               atol=1e-12)


@pytest.mark.parametrize('cov', ['diag', 'full'])
def test_bic_aic_equal_sklearn(cov):
    x_np, x, _ = _blobs(n=200, d=7, m=2, seed=5)
    sk = _sk(x_np, 2, cov)
    ours = _from_sk(sk, cov)
    assert ours.n_parameters() == sk._n_parameters()
    assert ours.n_parameters() == (2 * 7 * 8 // 2 if cov == 'full' else 2 * 7) + 2 * 7 + 1
    assert math.isclose(ours.bic(x), sk.bic(x_np), rel_tol=1e-10)
    assert math.isclose(ours.aic(x), sk.aic(x_np), rel_tol=1e-10)
    assert ours.bic(x) - ours.aic(x) == pytest.approx(ours.n_parameters() * (math.log(200) - 2))


@pytest.mark.parametrize('cov', ['diag', 'full'])
def test_select_n_components_bic_finds_true_m(cov):
    _, x, _ = _blobs(n=300, d=4, m=3, std=0.6, seed=7)
    best_m, scores, model = select_n_components(x, range(1, 7), criterion='bic', covariance_type=cov)
    assert best_m == 3 and sorted(scores) == [1, 2, 3, 4, 5, 6]
    assert scores[3] == min(scores.values())
    assert model.n_components == 3 and math.isclose(model.bic(x), scores[3])
    best_aic, aic_scores, _ = select_n_components(x, [2, 3], criterion='aic', covariance_type=cov)
    assert best_aic == 3 and aic_scores[3] < aic_scores[2]


@pytest.mark.parametrize('init', ['k-means++', 'k-means', 'random'])
def test_same_seed_same_fit_and_global_rng_untouched(init):
    _, x, _ = _blobs(n=200, d=5, m=3, std=2.5, seed=11)
    rng_state = torch.get_rng_state()
    a = GaussianMixture(3, init_params=init, seed=4).fit(x)
    b = GaussianMixture(3, init_params=init, seed=4).fit(x)
    assert torch.equal(torch.get_rng_state(), rng_state)
    for name in ('weights_', 'means_', 'covariances_', 'precisions_cholesky_'):
        assert torch.equal(getattr(a, name), getattr(b, name)), name
    assert a.n_iter_ == b.n_iter_ and a.lower_bound_ == b.lower_bound_


def test_n_init_keeps_the_best_lower_bound(monkeypatch):
    # overlapping blobs: the inits reach different optima; the kept one must be the best, not the last
    _, x, _ = _blobs(n=300, d=3, m=6, std=3.0, seed=2)
    finals, original = [], GaussianMixture._em_iteration

    def recording(self, data):
        bound = original(self, data)
        if self._probe_iters == 0:
            finals.append(bound)
        else:
            finals[-1] = bound
        self._probe_iters += 1
        return bound

    original_init = GaussianMixture._initial_resp

    def counting_init(self, *args):
        self._probe_iters = 0
        return original_init(self, *args)

    monkeypatch.setattr(GaussianMixture, '_em_iteration', recording)
    monkeypatch.setattr(GaussianMixture, '_initial_resp', counting_init)
    for seed in range(3):
        finals.clear()
        gmm = GaussianMixture(6, 'full', n_init=4, init_params='random', seed=seed).fit(x)
        assert len(finals) == 4 and gmm.lower_bound_ == max(finals)
        if finals[-1] < max(finals):
            break
    else:
        pytest.fail('every draw ended with its best init; the test data no longer discriminate')


@pytest.mark.filterwarnings('ignore::sklearn.exceptions.ConvergenceWarning')
@pytest.mark.parametrize('cov', ['diag', 'full'])
@pytest.mark.parametrize('fast', [False, True])
@pytest.mark.parametrize('d', [5, 33])  # 33: the 'full' pass splits the features in two (uneven) halves
def test_one_em_iteration_equals_sklearn(cov, fast, d, monkeypatch):
    """From identical parameters, one E-step + M-step gives sklearn's parameters (pins both steps)."""
    # the direct scatter is the fallback of the whitened one: it must not be what makes this test pass
    monkeypatch.setattr(gmm_module, '_scatter_full', lambda *args: pytest.fail('fallback scatter used'))
    x_np, x, _ = _blobs(n=300, d=d, m=3, std=2.0, seed=8)
    start = _sk(x_np, 3, cov, max_iter=2)
    # far from a fixed point, so that the M-step moves the means
    start.means_ = start.means_ + np.random.default_rng(1).normal(size=start.means_.shape)
    sk = SkGaussianMixture(3, covariance_type=cov, max_iter=1, tol=0.0, reg_covar=1e-4,
                           weights_init=start.weights_, means_init=start.means_,
                           precisions_init=start.precisions_).fit(x_np)
    ours = _from_sk(start, cov)
    ours.reg_covar, ours.fast_matmul = 1e-4, fast
    lower_bound = ours._em_iteration(ours._data(x, torch.zeros(d, dtype=x.dtype), ours._compute_dtype))
    assert math.isclose(lower_bound, start.score(x_np), rel_tol=1e-6 if fast else 1e-12)
    rtol = 1e-5 if fast else 1e-9  # fast: float32 products, errors ~1e-7 of each array's scale
    for name in ('weights_', 'means_', 'covariances_', 'precisions_cholesky_'):
        ref = getattr(sk, name)
        np.testing.assert_allclose(getattr(ours, name).numpy(), ref, rtol=rtol,
                                   atol=0.1 * rtol * np.abs(ref).max(), err_msg=name)


@pytest.mark.parametrize('cov', ['diag', 'full'])
def test_state_dict_round_trip(cov):
    _, x, _ = _blobs(n=150, d=4, m=2)
    gmm = GaussianMixture(2, covariance_type=cov).fit(x)
    state = gmm.state_dict()
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    buf = io.BytesIO()
    torch.save(state, buf)
    buf.seek(0)
    restored = GaussianMixture.from_state_dict(torch.load(buf, weights_only=True))
    assert restored.covariance_type == cov and restored.n_components == 2
    assert torch.equal(restored.predict_proba(x), gmm.predict_proba(x))
    assert torch.equal(restored.score_samples(x), gmm.score_samples(x))
    assert restored.n_iter_ == gmm.n_iter_ and restored.converged_ == gmm.converged_
    state['means'] += 1.0  # the state is a copy
    assert not torch.equal(gmm.means_, state['means'])


def _corrupt(state, key, fn):
    state = {k: v.clone() for k, v in state.items()}
    fn(state[key])
    return state


@pytest.mark.parametrize('cov', ['diag', 'full'])
@pytest.mark.parametrize('key, corrupt, match', [
    ('weights', lambda w: w.__setitem__(0, float('nan')), 'finite mixture weights > 0'),
    ('weights', lambda w: w.__setitem__(0, -w[0]), 'finite mixture weights > 0'),
    ('weights', lambda w: w.__setitem__(0, 0.0), 'finite mixture weights > 0'),
    ('weights', lambda w: w.mul_(0.5), 'must sum to 1'),
    ('means', lambda m: m.__setitem__((0, 0), float('nan')), 'must be finite'),
    ('precisions_cholesky', lambda p: p.mul_(-1), 'positive diagonal|must be > 0'),
    ('precisions_cholesky', lambda p: p.__setitem__((0, 0), float('inf')), 'must be finite'),
])
def test_from_state_dict_refuses_a_corrupt_mixture_naming_the_parameter(cov, key, corrupt, match):
    """Was accepted: a resumed run then logged cmda_dca_shift: nan and made no new samples that epoch."""
    _, x, _ = _blobs(n=150, d=4, m=2)
    state = GaussianMixture(2, covariance_type=cov).fit(x).state_dict()
    bad = _corrupt(state, key, corrupt)
    bad.pop('covariances')  # the mixer's buffers hold weights, means and precision factors only
    with pytest.raises(ValueError, match=rf'`state\["{key}"\]` .*({match})'):
        GaussianMixture.from_state_dict(bad)
    with pytest.raises(ValueError, match=f'`ckpt.{key}`'):
        GaussianMixture.from_state_dict(bad, names={key: f'ckpt.{key}'})
    GaussianMixture.from_state_dict(state)  # the intact state loads


def test_from_state_dict_refuses_bad_covariances_and_a_lower_triangular_factor():
    _, x, _ = _blobs(n=150, d=4, m=2)
    full = GaussianMixture(2, covariance_type='full').fit(x).state_dict()
    with pytest.raises(ValueError, match='upper triangular'):
        GaussianMixture.from_state_dict(dict(weights=full['weights'], means=full['means'],
                                             precisions_cholesky=full['precisions_cholesky'].mT))
    diag = GaussianMixture(2, covariance_type='diag').fit(x).state_dict()
    with pytest.raises(ValueError, match=r'`state\["covariances"\]` must be > 0'):
        GaussianMixture.from_state_dict(dict(weights=diag['weights'], means=diag['means'],
                                             covariances=-diag['covariances']))


def test_fast_matmul_matches_float64_path():
    _, x, _ = _blobs(n=400, d=16, m=4, std=2.0, seed=9)
    fast = GaussianMixture(4, 'full', fast_matmul=True).fit(x)
    exact = GaussianMixture(4, 'full', fast_matmul=False).fit(x)
    assert fast._compute_dtype == torch.float32 and exact._compute_dtype == torch.float64
    assert fast.n_iter_ == exact.n_iter_
    torch.testing.assert_close(fast.means_, exact.means_, rtol=0, atol=1e-4)
    assert abs(fast.score(x) - exact.score(x)) < 1e-5 * abs(exact.score(x))


def test_fast_matmul_falls_back_when_a_covariance_does_not_factorise(monkeypatch):
    _, x, _ = _blobs(n=300, d=6, m=3, std=2.0, seed=6)
    exact = GaussianMixture(3, 'full', fast_matmul=False).fit(x)
    calls, original = [], gmm_module._scatter_from_whitened

    def broken(*args):  # a scatter that is not positive definite
        calls.append(1)
        return -original(*args)

    monkeypatch.setattr(gmm_module, '_scatter_from_whitened', broken)
    fallback = GaussianMixture(3, 'full').fit(x)
    assert len(calls) == fallback.n_iter_ >= 1
    torch.testing.assert_close(fallback.covariances_, exact.covariances_, rtol=1e-4, atol=1e-6)
    assert abs(fallback.score(x) - exact.score(x)) < 1e-5 * abs(exact.score(x))


def test_no_float32_products_under_tf32_precision():
    gmm = GaussianMixture(2, 'full')
    previous = torch.get_float32_matmul_precision()
    try:
        torch.set_float32_matmul_precision('high')
        assert gmm._compute_dtype == torch.float64
    finally:
        torch.set_float32_matmul_precision(previous)
    assert gmm._compute_dtype == torch.float32
    assert GaussianMixture(2, 'diag')._compute_dtype == torch.float64


@pytest.mark.parametrize('cov', ['diag', 'full'])
def test_degenerate_data_raise_and_leave_the_model_unfitted(cov):
    x = torch.ones(20, 3, dtype=torch.float64)
    gmm = GaussianMixture(2, covariance_type=cov, reg_covar=0.0)
    with pytest.raises(ValueError, match='ill-defined empirical covariance'):
        gmm.fit(x)
    with pytest.raises(ValueError, match='fit'):
        gmm.predict(x)
    assert GaussianMixture(2, covariance_type=cov).fit(x).predict(x).shape == (20, )  # reg_covar saves it


@pytest.mark.parametrize('cov', ['diag', 'full'])
def test_reg_covar_is_added_to_the_diagonal(cov):
    _, x, _ = _blobs(n=120, d=3, m=2, seed=4)
    x = torch.cat([x, torch.full((120, 1), 5.0, dtype=torch.float64)], 1)  # a constant feature
    gmm = GaussianMixture(2, covariance_type=cov, reg_covar=1e-3).fit(x)
    var = gmm.covariances_[:, 3, 3] if cov == 'full' else gmm.covariances_[:, 3]
    torch.testing.assert_close(var, torch.full((2, ), 1e-3, dtype=torch.float64), rtol=1e-6, atol=0)
    torch.testing.assert_close(gmm.means_[:, 3], torch.full((2, ), 5.0, dtype=torch.float64))


@pytest.mark.parametrize('kwargs, match', [
    (dict(n_components=0), 'n_components'),
    (dict(covariance_type='tied'), 'covariance_type'),
    (dict(init_params='spectral'), 'init_params'),
    (dict(tol=-1.0), 'tol'),
    (dict(reg_covar=-1e-6), 'reg_covar'),
    (dict(n_init=0), 'n_init'),
])
def test_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        GaussianMixture(**kwargs)


@pytest.mark.parametrize('x, match', [
    (torch.zeros(10), '2-D'),
    (torch.zeros(2, 3, 4), '2-D'),
    (torch.zeros(0, 3), 'empty'),
    (torch.tensor([[0.0, 1.0], [float('nan'), 2.0], [1.0, 1.0]]), 'NaN or Inf'),
    (torch.tensor([[0.0, 1.0], [float('inf'), 2.0], [1.0, 1.0]]), 'NaN or Inf'),
])
def test_bad_x_raises(x, match):
    with pytest.raises(ValueError, match=r'`x`.*' + match):
        GaussianMixture(2).fit(x)


def test_finite_check_survives_an_overflowing_sum():
    big = torch.full((3, 2), 1e308, dtype=torch.float64)  # finite entries, infinite sum
    gmm_module._check_x(big)
    big[1, 0] = float('-inf')
    with pytest.raises(ValueError, match='NaN or Inf'):
        gmm_module._check_x(big)


def test_too_many_components_and_unfitted_and_feature_mismatch():
    x = torch.randn(5, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    with pytest.raises(ValueError, match=r'n_components.*6.*N=5'):
        GaussianMixture(6).fit(x)
    gmm = GaussianMixture(2)
    for method in (gmm.predict, gmm.predict_proba, gmm.score_samples, gmm.score):
        with pytest.raises(ValueError, match='fit'):
            method(x)
    with pytest.raises(RuntimeError, match='fit'):
        gmm.state_dict()
    gmm.fit(x)
    with pytest.raises(ValueError, match=r'`x` has 3 features.*2'):
        gmm.predict_proba(torch.zeros(4, 3))
    with pytest.raises(ValueError, match='NaN or Inf'):
        gmm.predict(torch.tensor([[0.0, float('nan')]]))
    with pytest.raises(ValueError, match='criterion'):
        select_n_components(x, [1, 2], criterion='icl')
    with pytest.raises(ValueError, match='candidates'):
        select_n_components(x, [])


def _three_blobs(n=300, d=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    centers = 4 * torch.randn(3, d, generator=g, dtype=torch.float64)
    return centers.repeat_interleave(n // 3, 0) + torch.randn(n, d, generator=g, dtype=torch.float64)


def test_scikit_learn_parameter_names():
    x = _three_blobs()
    by_seed = GaussianMixture(3, 'diag', seed=5).fit(x)
    by_random_state = GaussianMixture(3, 'diag', random_state=5).fit(x)
    assert by_random_state.seed == by_random_state.random_state == 5
    torch.testing.assert_close(by_seed.means_, by_random_state.means_)
    kmeans = GaussianMixture(3, 'diag', init_params='kmeans').fit(x)
    old_name = GaussianMixture(3, 'diag', init_params='k-means').fit(x)
    assert kmeans.init_params == 'k-means'
    torch.testing.assert_close(kmeans.means_, old_name.means_)


@pytest.mark.parametrize('cov', ['diag', 'full'])
def test_warm_start_refits_from_the_current_parameters(cov):
    x = _three_blobs()
    cold = GaussianMixture(3, cov, max_iter=200, tol=1e-6).fit(x)
    warm = GaussianMixture(3, cov, max_iter=200, tol=1e-6, warm_start=True, n_init=5).fit(x)
    first_iters = warm.n_iter_
    shifted = x + 0.01  # next epoch's embeddings: close to the last ones
    warm.fit(shifted)
    assert warm.n_iter_ < first_iters  # starts near the optimum
    fresh = GaussianMixture(3, cov, max_iter=200, tol=1e-6, n_init=5).fit(shifted)
    assert warm.lower_bound_ >= fresh.lower_bound_ - 1e-3  # as good as a fresh best-of-5 fit
    assert cold.warm_start is False
    other_dim = GaussianMixture(3, cov, warm_start=True).fit(x)
    other_dim.fit(x[:, :2])  # different D: a fresh initialisation, no error
    assert other_dim.means_.shape == (3, 2)


def test_one_kmeans():
    from cmda_mm.core import kmeans
    x = _three_blobs(n=90)
    centers, labels = kmeans(x, 3, seed=0)
    assert centers.shape == (3, 4) and labels.shape == (90, )
    # three well separated blobs: each blob is one cluster
    assert all(labels[i * 30:(i + 1) * 30].unique().numel() == 1 for i in range(3))
    assert labels.unique().numel() == 3
    again = kmeans(x, 3, seed=0)
    assert torch.equal(again[1], labels)
    with pytest.raises(ValueError, match='n_clusters'):
        kmeans(x, 91)
