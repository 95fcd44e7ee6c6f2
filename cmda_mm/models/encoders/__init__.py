from .feature_mlp import FeatureMLP

__all__ = ['FeatureMLP']
