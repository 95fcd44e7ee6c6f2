"""Mahalanobis scorer vs numpy/scikit-learn references; anomaly metrics vs scikit-learn and by hand."""
import numpy as np
import pytest
import torch
from sklearn.cluster import KMeans
from sklearn.covariance import ledoit_wolf
from sklearn.metrics import average_precision_score, roc_auc_score

from cmda_mm.evaluation.functional import MahalanobisScorer, anomaly_metrics, kmeans, ledoit_wolf_shrinkage


def unit(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def blobs(n_per, centers, scale=0.3, seed=0):
    rng = np.random.default_rng(seed)
    return np.concatenate([c + scale * rng.normal(size=(n_per, len(c))) for c in centers])


def reference(bank, test, labels, precision_of):
    """Numpy reference: per-cluster mean + precision, min over clusters of the squared distance."""
    bank, test = unit(bank), unit(test)
    dists = []
    for c in np.unique(labels):
        x = bank[labels == c]
        mu = x.mean(0)
        diff = test - mu
        dists.append(np.einsum('md,de,me->m', diff, precision_of(x), diff))
    return np.min(dists, axis=0)


def pinv_precision(x):
    return np.linalg.pinv(np.cov(x.T, bias=True))


def test_one_cluster_pinv_matches_numpy():
    rng = np.random.default_rng(0)
    bank, test = rng.normal(size=(200, 6)) + 2.0, rng.normal(size=(50, 6))
    got = MahalanobisScorer(1, 'pinv').fit(bank).score(test).numpy()
    want = reference(bank, test, np.zeros(200, int), pinv_precision)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


def test_rank_deficient_bank_uses_pseudo_inverse():
    rng = np.random.default_rng(1)
    bank = np.concatenate([rng.normal(size=(5, 4)), np.zeros((5, 8))], axis=1)  # 5 rows, 12-d: singular
    test = rng.normal(size=(7, 12))
    got = MahalanobisScorer(1, 'pinv').fit(bank).score(test).numpy()
    np.testing.assert_allclose(got, reference(bank, test, np.zeros(5, int), pinv_precision), rtol=1e-6,
                               atol=1e-6)


@pytest.mark.parametrize('a', [0.0, 0.25, 1.0])
def test_fixed_shrinkage_matches_numpy(a):
    rng = np.random.default_rng(2)
    bank, test = rng.normal(size=(40, 10)) * np.arange(1, 11), rng.normal(size=(20, 10))

    def precision(x):
        cov = np.cov(x.T, bias=True)
        return np.linalg.inv((1 - a) * cov + a * np.trace(cov) / cov.shape[0] * np.eye(cov.shape[0]))

    got = MahalanobisScorer(1, 'shrinkage', shrinkage=a).fit(bank).score(test).numpy()
    np.testing.assert_allclose(got, reference(bank, test, np.zeros(40, int), precision), rtol=1e-6, atol=1e-6)


def test_ledoit_wolf_matches_sklearn():
    rng = np.random.default_rng(3)
    bank, test = rng.normal(size=(30, 50)), rng.normal(size=(10, 50))  # n < d: shrinkage matters
    x = unit(bank)
    cov_lw, a_lw = ledoit_wolf(x)
    assert ledoit_wolf_shrinkage(torch.from_numpy(x)) == pytest.approx(a_lw, abs=1e-10)
    scorer = MahalanobisScorer(1, 'ledoit_wolf').fit(bank)
    assert float(scorer.shrinkages[0]) == pytest.approx(a_lw, abs=1e-10)
    got = scorer.score(test).numpy()
    want = reference(bank, test, np.zeros(30, int), lambda m: np.linalg.inv(ledoit_wolf(m)[0]))
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


def test_k_clusters_match_numpy_with_sklearn_kmeans():
    centers = 3.0 * np.eye(5)[:3]
    bank, test = blobs(60, centers, seed=4), blobs(10, centers, seed=5)
    labels = KMeans(3, n_init=10, random_state=0).fit(unit(bank)).labels_
    got = MahalanobisScorer(3, 'pinv', seed=0).fit(bank).score(test).numpy()
    np.testing.assert_allclose(got, reference(bank, test, labels, pinv_precision), rtol=1e-6, atol=1e-6)


def test_kmeans_recovers_separated_clusters():
    centers = 5.0 * np.eye(4)
    x = torch.from_numpy(blobs(25, centers, scale=0.2, seed=6))
    centres, labels = kmeans(x, 4, seed=0)
    truth = np.repeat(np.arange(4), 25)
    # each found cluster is exactly one true cluster
    assert len({(t, int(l)) for t, l in zip(truth, labels)}) == 4
    assert centres.shape == (4, 4)


def test_scorer_errors():
    rng = np.random.default_rng(7)
    with pytest.raises(RuntimeError, match='before fit'):
        MahalanobisScorer().score(rng.normal(size=(3, 4)))
    with pytest.raises(ValueError, match='covariance must be one of'):
        MahalanobisScorer(covariance='diag')
    scorer = MahalanobisScorer().fit(rng.normal(size=(10, 4)))
    with pytest.raises(ValueError, match='dimension 5'):
        scorer.score(rng.normal(size=(3, 5)))
    with pytest.raises(ValueError, match='at least 2 per cluster'):
        MahalanobisScorer(3).fit(rng.normal(size=(5, 4)))
    with pytest.raises(ValueError, match='NaN'):
        MahalanobisScorer().fit(np.full((4, 2), np.nan))


def test_metrics_match_sklearn_exactly_with_ties():
    rng = np.random.default_rng(8)
    scores = np.round(rng.normal(size=500), 1)  # many ties
    is_anomaly = rng.random(500) < 0.3
    got = anomaly_metrics(scores, is_anomaly)
    assert got['auroc'] == pytest.approx(roc_auc_score(is_anomaly, scores), abs=1e-12)
    assert got['aupr_out'] == pytest.approx(average_precision_score(is_anomaly, scores), abs=1e-12)
    assert got['aupr_in'] == pytest.approx(average_precision_score(~is_anomaly, -scores), abs=1e-12)
    torch_got = anomaly_metrics(torch.from_numpy(scores), torch.from_numpy(is_anomaly))
    assert torch_got == got


def test_fpr95_hand_computed():
    normals = np.arange(10) + 0.5          # 0.5 .. 9.5
    anomalies = np.arange(3, 23, dtype=float)  # 3 .. 22, 20 anomalies
    scores = np.r_[normals, anomalies]
    is_anomaly = np.r_[np.zeros(10, bool), np.ones(20, bool)]
    # 95 % of 20 anomalies = 19: the strictest threshold flagging 19 is 4 (anomalies 4..22);
    # normals >= 4 are 4.5 .. 9.5, i.e. 6 of 10 -> FPR 0.6 (no interpolation).
    assert anomaly_metrics(scores, is_anomaly)['fpr95'] == pytest.approx(0.6, abs=1e-12)
    # perfect separation: FPR95 = 0, AUROC = AUPR = 1
    perfect = anomaly_metrics(np.r_[np.zeros(5), np.ones(5)], np.r_[np.zeros(5), np.ones(5)].astype(bool))
    assert perfect == dict(auroc=1.0, aupr_out=1.0, aupr_in=1.0, fpr95=0.0)
    # one tie block of everything: AUROC 0.5, FPR95 1
    tie = anomaly_metrics(np.zeros(6), np.array([0, 1, 0, 1, 1, 0], bool))
    assert tie['auroc'] == 0.5 and tie['fpr95'] == 1.0 and tie['aupr_out'] == 0.5


def test_separated_vs_shuffled_end_to_end():
    rng = np.random.default_rng(9)
    dim = 16
    bank = np.eye(dim)[0] + 0.2 * rng.normal(size=(300, dim))
    normal = np.eye(dim)[0] + 0.2 * rng.normal(size=(200, dim))
    anomaly = np.eye(dim)[1] + 0.2 * rng.normal(size=(200, dim))
    scores = MahalanobisScorer(1, 'ledoit_wolf').fit(bank).score(np.r_[normal, anomaly]).numpy()
    labels = np.r_[np.zeros(200, bool), np.ones(200, bool)]
    assert anomaly_metrics(scores, labels)['auroc'] > 0.95
    shuffled = anomaly_metrics(scores, rng.permutation(labels))
    assert abs(shuffled['auroc'] - 0.5) < 0.1


def test_metric_input_errors():
    with pytest.raises(ValueError, match='both anomalies and normals'):
        anomaly_metrics(np.arange(4.0), np.ones(4, bool))
    with pytest.raises(ValueError, match='is_anomaly has 3'):
        anomaly_metrics(np.arange(4.0), np.ones(3, bool))
    with pytest.raises(ValueError, match='0/1'):
        anomaly_metrics(np.arange(3.0), np.array([0, 2, 1]))
