"""The method itself, framework-free (torch only): weights, GMM, DCA, mixing, the CMDA step, offline CMDA."""
from .dca import apply_dca, clip_components, dca_weights, fit_dca
from .diagnostics import weight_diagnostics
from .gmm import GaussianMixture, select_n_components
from .kmeans import kmeans
from .mixer import CrossModalMixer, MixedBatch, MixPlan, run_seed
from .mixing import mix, select_rows, soft_targets
from .variants import (DEFAULT_PAIR_WEIGHT, beta_from_moments, random_partners, same_class_mask, sample_pair_weights,
                       set_pair_weight)
from .weights import NORMALIZATIONS, inter_modal_scores, inter_modal_weights, normalize_rows

__all__ = [
    'apply_dca', 'clip_components', 'dca_weights', 'fit_dca', 'weight_diagnostics', 'GaussianMixture',
    'select_n_components', 'kmeans', 'CrossModalMixer', 'MixedBatch', 'MixPlan', 'run_seed', 'mix', 'select_rows',
    'soft_targets', 'DEFAULT_PAIR_WEIGHT', 'beta_from_moments', 'random_partners', 'same_class_mask',
    'sample_pair_weights', 'set_pair_weight', 'NORMALIZATIONS', 'inter_modal_scores', 'inter_modal_weights',
    'normalize_rows'
]
