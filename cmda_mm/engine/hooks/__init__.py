from .attenuation_hook import CMDAAttenuationHook
from .dca_hook import DCAHook
from .visualization_hook import CMDAVisualizationHook

__all__ = ['DCAHook', 'CMDAAttenuationHook', 'CMDAVisualizationHook']
