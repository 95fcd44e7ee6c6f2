"""The metrics now computed by scikit-learn give the numbers of the former hand-written numpy/torch code.

The ``_old_*`` functions below are the implementations this package used before it called
``sklearn.metrics`` / ``sklearn.covariance``; they stay here as the reference the new code must reproduce.
"""
import numpy as np
import pytest
import torch

from cmda_mm.evaluation.functional import (anomaly_metrics, average_precision, binary_clf_curve, fpr_at_tpr,
                                           ledoit_wolf_shrinkage, roc_curve)


def _old_binary_clf_curve(scores, positive):
    order = np.argsort(-scores, kind='mergesort')
    scores, positive = scores[order], positive[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(scores)), scores.size - 1]
    tps = np.cumsum(positive, dtype=np.float64)[last_of_tie]
    return tps, (last_of_tie + 1) - tps, scores[last_of_tie]


def _old_roc_curve(scores, positive):
    tps, fps, _ = _old_binary_clf_curve(scores, positive)
    return np.r_[0.0, fps / fps[-1]], np.r_[0.0, tps / tps[-1]]


def _old_average_precision(scores, positive):
    tps, fps, _ = _old_binary_clf_curve(scores, positive)
    return float(np.sum(np.diff(np.r_[0.0, tps / tps[-1]]) * tps / (tps + fps)))


def _old_anomaly_metrics(scores, labels):
    fpr, tpr = _old_roc_curve(scores, labels)
    return dict(auroc=float(np.trapezoid(tpr, fpr)), aupr_out=_old_average_precision(scores, labels),
                aupr_in=_old_average_precision(-scores, ~labels), fpr95=fpr_at_tpr(fpr, tpr, 0.95))


def _old_ledoit_wolf(x):
    x = x - x.mean(dim=0)
    num, dim = x.shape
    x2 = x.pow(2)
    cov_trace = x2.sum(dim=0) / num
    mu = cov_trace.sum() / dim
    beta_ = (x2.t() @ x2).sum()
    delta_ = (x.t() @ x).pow(2).sum() / num**2
    beta = (beta_ / num - delta_) / (dim * num)
    delta = (delta_ - 2.0 * mu * cov_trace.sum() + dim * mu**2) / dim
    beta = torch.minimum(beta, delta)
    return 0.0 if float(beta) == 0 else float(beta / delta)


@pytest.mark.parametrize('seed', range(6))
@pytest.mark.parametrize('decimals', [None, 1])  # continuous scores, and many ties
def test_anomaly_metrics_equal_the_former_implementation(seed, decimals):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 400))
    labels = rng.random(n) < rng.uniform(0.1, 0.6)
    labels[:2] = [True, False]
    scores = rng.normal(size=n) + labels * rng.uniform(0, 2)
    if decimals is not None:
        scores = np.round(scores, decimals)
    new, old = anomaly_metrics(scores, labels), _old_anomaly_metrics(scores, labels)
    assert new.keys() == old.keys()
    for key in old:
        assert new[key] == pytest.approx(old[key], abs=1e-12), key
    np.testing.assert_array_equal(binary_clf_curve(scores, labels)[0], _old_binary_clf_curve(scores, labels)[0])
    np.testing.assert_array_equal(binary_clf_curve(scores, labels)[1], _old_binary_clf_curve(scores, labels)[1])
    np.testing.assert_array_equal(binary_clf_curve(scores, labels)[2], _old_binary_clf_curve(scores, labels)[2])
    for got, want in zip(roc_curve(scores, labels), _old_roc_curve(scores, labels)):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-15)
    assert average_precision(scores, labels) == pytest.approx(_old_average_precision(scores, labels), abs=1e-12)


@pytest.mark.parametrize('shape', [(30, 50), (200, 16), (7, 3), (1000, 64)])
def test_ledoit_wolf_equals_the_former_implementation(shape):
    x = torch.from_numpy(np.random.default_rng(sum(shape)).normal(size=shape) * np.linspace(0.1, 3, shape[1]))
    assert ledoit_wolf_shrinkage(x) == pytest.approx(_old_ledoit_wolf(x), abs=1e-12)
    assert ledoit_wolf_shrinkage(x.numpy()) == ledoit_wolf_shrinkage(x)


def test_ledoit_wolf_of_identical_rows_is_zero():
    assert ledoit_wolf_shrinkage(torch.ones(5, 3, dtype=torch.float64)) == _old_ledoit_wolf(torch.ones(5, 3).double())
