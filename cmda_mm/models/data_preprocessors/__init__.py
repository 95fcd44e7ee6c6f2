from .cmda_preprocessor import CMDADataPreprocessor
from .multiview_preprocessor import CMDAMultiViewDataPreprocessor

__all__ = ['CMDADataPreprocessor', 'CMDAMultiViewDataPreprocessor']
