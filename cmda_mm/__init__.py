"""cmda-mm: Cross-Modal Data Augmentation (CMDA) for MMPretrain.

Importing the package registers its components in its own registries (``cmda_mm.registry``: children of
MMPretrain's, scope ``cmda_mm``, the ``default_scope`` of every shipped config; each name also in MMPretrain's
registry while free there) and lets MMEngine checkpoints load under torch's ``weights_only`` default.
"""
from .utils import register_checkpoint_safe_globals
from .version import __version__

register_checkpoint_safe_globals()

from . import core  # noqa: E402,F401
from . import datasets  # noqa: E402,F401
from . import engine  # noqa: E402,F401
from . import evaluation  # noqa: E402,F401
from . import models  # noqa: E402,F401

__all__ = ['__version__']
