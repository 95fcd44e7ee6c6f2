from .anomaly_metrics import anomaly_metrics, average_precision, binary_clf_curve, fpr_at_tpr, roc_curve
from .mahalanobis import COVARIANCES, MahalanobisScorer, kmeans, ledoit_wolf_shrinkage

__all__ = [
    'anomaly_metrics', 'average_precision', 'binary_clf_curve', 'fpr_at_tpr', 'roc_curve', 'COVARIANCES',
    'MahalanobisScorer', 'kmeans', 'ledoit_wolf_shrinkage'
]
