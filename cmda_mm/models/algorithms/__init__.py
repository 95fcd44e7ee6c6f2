from .cmda_aligner import CMDAAligner
from .cmda_anomaly import CMDAAnomalyDetector
from .cmda_captioner import CMDACaptioner
from .cmda_classifier import CMDAClassifier
from .feature_views import FeatureViews

__all__ = ['CMDAAligner', 'CMDAAnomalyDetector', 'CMDAClassifier', 'CMDACaptioner', 'FeatureViews']
