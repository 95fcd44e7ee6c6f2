from .formatting import PackPairedInputs
from .loading import LoadFeatureRow, open_feature_matrix
from .text import HashedBagOfWords

__all__ = [
    'PackPairedInputs', 'LoadFeatureRow', 'open_feature_matrix',
    'HashedBagOfWords'
]
