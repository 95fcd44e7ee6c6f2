"""cmda-mm: Cross-Modal Data Augmentation (CMDA) for MMPretrain.

Importing the package registers its components in MMPretrain's registries (MODELS, DATASETS, TRANSFORMS,
HOOKS, METRICS) and lets MMEngine checkpoints load under torch's ``weights_only`` default.
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
