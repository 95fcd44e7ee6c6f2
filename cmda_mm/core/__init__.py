"""The method itself, framework-free (torch only): weights, GMM, DCA, mixing."""
from .dca import apply_dca, dca_weights
from .diagnostics import weight_diagnostics
from .gmm import GaussianMixture, select_n_components
from .mixer import CrossModalMixer, MixPlan
from .mixing import mix, select_rows, soft_targets
from .weights import NORMALIZATIONS, inter_modal_scores, inter_modal_weights, normalize_rows

__all__ = [
    'apply_dca', 'dca_weights', 'weight_diagnostics', 'GaussianMixture', 'select_n_components',
    'CrossModalMixer', 'MixPlan', 'mix', 'select_rows', 'soft_targets', 'NORMALIZATIONS',
    'inter_modal_scores', 'inter_modal_weights', 'normalize_rows'
]
