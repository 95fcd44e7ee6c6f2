from .dca_hook import DCAHook

__all__ = ['DCAHook']
