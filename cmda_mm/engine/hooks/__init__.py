from .attenuation_hook import CMDAAttenuationHook
from .checkpoint_hook import AtomicCheckpointHook
from .dca_hook import DCAHook
from .log_warnings_hook import CMDALogWarningsHook
from .visualization_hook import CMDAVisualizationHook

__all__ = ['DCAHook', 'CMDAAttenuationHook', 'CMDAVisualizationHook', 'AtomicCheckpointHook', 'CMDALogWarningsHook']
