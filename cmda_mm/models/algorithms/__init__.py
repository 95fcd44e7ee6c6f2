from .cmda_classifier import CMDAClassifier

__all__ = ['CMDAClassifier']
