from .attenuation_hook import CMDAAttenuationHook
from .dca_hook import DCAHook

__all__ = ['DCAHook', 'CMDAAttenuationHook']
