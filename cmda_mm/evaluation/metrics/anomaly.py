"""SSD anomaly detection metric: Mahalanobis distance to the normal training bank, AUROC / AUPR / FPR95."""
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric

from cmda_mm.registry import METRICS
from ..functional import MahalanobisScorer, anomaly_metrics

__all__ = ['AnomalyMetric']

ROLES = ('bank', 'normal', 'anomaly')


@METRICS.register_module()
class AnomalyMetric(BaseMetric):
    """Unsupervised anomaly detection metric of SSD.

    The evaluation set holds three kinds of rows, told apart by the ``role`` field of each data sample
    (``AnomalySplitDataset(mode='eval')`` sets it): ``'bank'`` (normal training samples, used only to fit the
    scorer), ``'normal'`` (normal test samples) and ``'anomaly'`` (test samples of the other classes). The
    model's ``predict`` puts the L2-normalised feature in ``feat``. :meth:`compute_metrics` fits a
    :class:`~cmda_mm.evaluation.functional.MahalanobisScorer` on the bank and reports, as percentages,
    ``auroc``, ``aupr_out`` (anomalies positive), ``aupr_in`` (normals positive) and ``fpr95`` (share of
    normals flagged at 95 % of anomalies detected). See :mod:`cmda_mm.evaluation.functional.anomaly_metrics`
    for the exact conventions. Results of every rank are gathered by :class:`BaseMetric` before scoring.

    Args:
        n_clusters (int): k-means clusters of the bank (SSD uses 1 when unsupervised). Defaults to 1.
        covariance (str): 'pinv' (SSD), 'shrinkage' or 'ledoit_wolf'. Defaults to 'pinv'.
        shrinkage (float): coefficient for ``covariance='shrinkage'``. Defaults to 0.1.
        feat_key (str): data sample field holding the feature. Defaults to 'feat'.
        seed (int): seed of k-means. Defaults to 0.
        collect_device (str): 'cpu' or 'gpu' for gathering results across ranks. Defaults to 'cpu'.
        prefix (str, optional): metric name prefix. Defaults to 'anomaly'.
    """

    default_prefix: Optional[str] = 'anomaly'

    def __init__(self,
                 n_clusters: int = 1,
                 covariance: str = 'pinv',
                 shrinkage: float = 0.1,
                 feat_key: str = 'feat',
                 seed: int = 0,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.scorer_cfg = dict(n_clusters=n_clusters, covariance=covariance, shrinkage=shrinkage, seed=seed)
        MahalanobisScorer(**self.scorer_cfg)  # validate the arguments now, not after an epoch of training
        self.feat_key = feat_key

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Keep the feature, role and anomaly flag of every sample.

        Args:
            data_batch: the batch from the dataloader (unused).
            data_samples (Sequence[dict]): the model's outputs, as dicts.
        """
        for sample in data_samples:
            get = sample.get if isinstance(sample, dict) else (lambda k, s=sample: getattr(s, k, None))
            feat, role = get(self.feat_key), get('role')
            if feat is None:
                raise ValueError(f"AnomalyMetric: a data sample has no '{self.feat_key}' field; the model's "
                                 "predict mode must return the feature there")
            if role not in ROLES:
                raise ValueError(f'AnomalyMetric: a data sample has role {role!r}, expected one of {ROLES}; '
                                 "evaluate on AnomalySplitDataset(mode='eval') and pack 'role' "
                                 "(PackPairedInputs(algorithm_keys=('role', 'is_anomaly')))")
            is_anomaly = get('is_anomaly')
            self.results.append(dict(
                feat=torch.as_tensor(feat).detach().float().cpu().reshape(-1),
                role=role,
                is_anomaly=None if is_anomaly is None else bool(is_anomaly)))

    @staticmethod
    def check(results: List[dict]) -> np.ndarray:
        """Validate the gathered rows and return their roles.

        Raises:
            ValueError: no bank rows, no normal test rows, no anomalies, or a bank row flagged as anomaly.
        """
        roles = np.array([r['role'] for r in results])
        counts = {role: int((roles == role).sum()) for role in ROLES}
        if counts['bank'] == 0:
            raise ValueError(f"AnomalyMetric: the evaluation set has no 'bank' rows (normal training samples) "
                             f'to fit the Mahalanobis scorer on (rows per role: {counts}); use '
                             "AnomalySplitDataset(mode='eval')")
        if counts['normal'] == 0 or counts['anomaly'] == 0:
            raise ValueError(f"AnomalyMetric: the evaluation set needs both 'normal' and 'anomaly' test rows "
                             f'(rows per role: {counts})')
        flagged = [i for i, r in enumerate(results) if r['role'] == 'bank' and r['is_anomaly']]
        if flagged:
            raise ValueError(f'AnomalyMetric: {len(flagged)} bank rows are anomalies (first at result index '
                             f'{flagged[0]}): the training bank must hold normal samples only')
        bad = [i for i, r in enumerate(results) if r['role'] != 'bank' and r['is_anomaly'] is not None
               and r['is_anomaly'] != (r['role'] == 'anomaly')]
        if bad:
            raise ValueError(f"AnomalyMetric: {len(bad)} rows have an 'is_anomaly' flag that contradicts their "
                             f'role (first at result index {bad[0]})')
        return roles

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Fit on the bank, score the test rows, compute the metrics (percentages)."""
        roles = self.check(results)
        feats = torch.stack([r['feat'] for r in results])
        bank, test = feats[roles == 'bank'], feats[roles != 'bank']
        scores = MahalanobisScorer(**self.scorer_cfg).fit(bank).score(test)
        values = anomaly_metrics(scores.numpy(), roles[roles != 'bank'] == 'anomaly')
        return {k: 100.0 * v for k, v in values.items()}
