from .caption import RandomCaption
from .formatting import PackPairedInputs
from .label_to_score import LabelToScore
from .loading import LoadFeatureRow, open_feature_matrix
from .text import HashedBagOfWords
from .tokenize import PackPairedTokenInputs, TokenizeCaption

__all__ = [
    'PackPairedInputs', 'LoadFeatureRow', 'open_feature_matrix', 'HashedBagOfWords', 'LabelToScore',
    'RandomCaption', 'PackPairedTokenInputs', 'TokenizeCaption'
]
