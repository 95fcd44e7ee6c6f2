from .attenuation_hook import CMDAAttenuationHook
from .checkpoint_hook import AtomicCheckpointHook
from .dca_hook import DCAHook
from .visualization_hook import CMDAVisualizationHook

__all__ = ['DCAHook', 'CMDAAttenuationHook', 'CMDAVisualizationHook', 'AtomicCheckpointHook']
