from .cmda_preprocessor import CMDADataPreprocessor

__all__ = ['CMDADataPreprocessor']
