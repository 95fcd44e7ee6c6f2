"""High-level entry points that drive the core with MMEngine (what the tools call)."""
from .offline import build_model, embed_dataset, embed_loader_cfg

__all__ = ['build_model', 'embed_dataset', 'embed_loader_cfg']
