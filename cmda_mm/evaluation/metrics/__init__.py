from .anomaly import AnomalyMetric
from .bleu import BLEU, corpus_bleu

__all__ = ['AnomalyMetric', 'BLEU', 'corpus_bleu']
