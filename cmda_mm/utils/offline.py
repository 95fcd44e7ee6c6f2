"""Compatibility shim: offline CMDA moved out of ``utils`` (which holds no method logic).

* the pure part — :class:`EmbeddedSet`, :class:`Plan`, :func:`pool_weights`, :func:`make_plan`,
  :func:`generate_rows` — is :mod:`cmda_mm.core.offline`;
* the DCA fit — :func:`fit_dca` — is :mod:`cmda_mm.core.dca` (the one fit used by ``DCAHook``, the per-batch
  path and offline CMDA);
* the runner part — :func:`embed_loader_cfg`, :func:`build_model`, :func:`embed_dataset` — is
  :mod:`cmda_mm.apis.offline`.

Import from those modules; this one only re-exports them so that existing imports keep working.
"""
from cmda_mm.apis.offline import build_model, embed_dataset, embed_loader_cfg
from cmda_mm.core.dca import fit_dca
from cmda_mm.core.offline import EmbeddedSet, Plan, generate_rows, make_plan, pool_weights

__all__ = ['EmbeddedSet', 'Plan', 'embed_loader_cfg', 'build_model', 'embed_dataset', 'fit_dca',
           'pool_weights', 'make_plan', 'generate_rows']
