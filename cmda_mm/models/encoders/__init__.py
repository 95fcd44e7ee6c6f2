from .feature_mlp import FeatureMLP
from .hf_text_encoder import HFTextEncoder  # noqa: F401

__all__ = ['FeatureMLP']
