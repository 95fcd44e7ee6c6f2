"""Threshold-free anomaly detection metrics: AUROC, AUPR-out, AUPR-in, FPR at 95 % TPR, via scikit-learn.

Conventions (the usual ones of SSD and the OOD literature, stated once):

* a **higher score means more anomalous**;
* ``auroc``: ``sklearn.metrics.roc_auc_score`` with anomalies as the positive class (ties count one half);
* ``aupr_out``: ``sklearn.metrics.average_precision_score`` with anomalies as positives, ranked by ``score``;
  ``aupr_in``: the same with normals as positives, ranked by ``-score`` (step-wise, no interpolation);
* ``fpr95``: the false-positive rate (share of normals flagged) at the strictest threshold whose
  true-positive rate (share of anomalies flagged) is at least 95 %, read off the exact ROC curve
  (``sklearn.metrics.roc_curve(drop_intermediate=False)``, no interpolation between its points).

All values are fractions in [0, 1]. This module validates the inputs and names the conventions; scikit-learn
does the arithmetic.
"""
from typing import Dict, Tuple, Union

import numpy as np
from sklearn import metrics as sk_metrics

__all__ = ['anomaly_metrics', 'binary_clf_curve', 'roc_curve', 'average_precision', 'fpr_at_tpr']

ArrayLike = Union[np.ndarray, 'torch.Tensor', list]  # noqa: F821


def _to_numpy(x: ArrayLike) -> np.ndarray:
    if hasattr(x, 'detach'):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def _exact_roc(scores: np.ndarray, positive: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """scikit-learn's ROC curve with one point per distinct threshold (``drop_intermediate=False``)."""
    return sk_metrics.roc_curve(positive, scores, drop_intermediate=False)


def binary_clf_curve(scores: np.ndarray, positive: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """True/false positive counts at every distinct threshold, from the highest score down.

    Args:
        scores (np.ndarray): (N,) scores, higher = more positive.
        positive (np.ndarray): (N,) bool, the positive class (both classes present).

    Returns:
        Tuple: ``tps`` (T,), ``fps`` (T,) counts of samples with ``score >= threshold`` and the thresholds (T,).
    """
    positive = np.asarray(positive, dtype=bool)
    fpr, tpr, thresholds = _exact_roc(scores, positive)
    n_pos = float(positive.sum())
    n_neg = float(positive.size - n_pos)
    return np.rint(tpr[1:] * n_pos), np.rint(fpr[1:] * n_neg), thresholds[1:]


def roc_curve(scores: np.ndarray, positive: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """ROC points ``(fpr, tpr)`` starting at (0, 0), one per distinct threshold."""
    fpr, tpr, _ = _exact_roc(scores, positive)
    return fpr, tpr


def average_precision(scores: np.ndarray, positive: np.ndarray) -> float:
    """Step-wise average precision (``sklearn.metrics.average_precision_score``)."""
    return float(sk_metrics.average_precision_score(positive, scores))


def fpr_at_tpr(fpr: np.ndarray, tpr: np.ndarray, level: float = 0.95) -> float:
    """Smallest FPR among the ROC points whose TPR reaches ``level`` (the curve is monotone)."""
    return float(fpr[np.flatnonzero(tpr >= level - 1e-12)[0]])


def anomaly_metrics(scores: ArrayLike, is_anomaly: ArrayLike) -> Dict[str, float]:
    """AUROC, AUPR-out, AUPR-in and FPR95 of anomaly scores.

    Args:
        scores (array-like): (N,) anomaly scores, higher = more anomalous.
        is_anomaly (array-like): (N,) bool (or 0/1), True for anomalies.

    Returns:
        dict: ``auroc``, ``aupr_out``, ``aupr_in``, ``fpr95`` as fractions in [0, 1].
    """
    scores = _to_numpy(scores).astype(np.float64).ravel()
    labels = _to_numpy(is_anomaly).ravel()
    if scores.shape != labels.shape:
        raise ValueError(f'scores has {scores.size} values but is_anomaly has {labels.size}')
    if not np.isin(labels, (0, 1)).all():
        raise ValueError('is_anomaly must hold booleans or 0/1 values')
    labels = labels.astype(bool)
    if not np.isfinite(scores).all():
        raise ValueError('scores contain NaN or Inf values')
    if labels.all() or not labels.any():
        raise ValueError(f'anomaly metrics need both anomalies and normals, got {int(labels.sum())} '
                         f'anomalies among {labels.size} samples')
    fpr, tpr = roc_curve(scores, labels)
    return dict(
        auroc=float(sk_metrics.roc_auc_score(labels, scores)),
        aupr_out=average_precision(scores, labels),
        aupr_in=average_precision(-scores, ~labels),
        fpr95=fpr_at_tpr(fpr, tpr, 0.95))
