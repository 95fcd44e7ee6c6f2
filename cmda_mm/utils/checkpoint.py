"""Checkpoint loading under torch's ``weights_only=True`` default.

torch >= 2.6 loads checkpoints with ``weights_only=True``. MMEngine 0.10.7 checkpoints carry a
``HistoryBuffer`` and numpy objects in their message hub, so resuming fails with
``UnpicklingError: Unsupported global``. Instead of switching the safety check off for every file
(``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1``), we allow exactly the globals those checkpoints contain.
"""
import builtins
from typing import List

import numpy as np
import torch

__all__ = ['checkpoint_safe_globals', 'register_checkpoint_safe_globals']


def checkpoint_safe_globals() -> List[object]:
    """The objects an MMEngine 0.10.x checkpoint needs beyond plain tensors.

    Returns:
        list: globals to pass to :func:`torch.serialization.add_safe_globals`.
    """
    from mmengine.logging import HistoryBuffer
    from numpy._core.multiarray import _reconstruct, scalar
    dtype_classes = [type(np.dtype(name)) for name in ('float64', 'float32', 'int64', 'int32')]
    return [HistoryBuffer, _reconstruct, scalar, np.ndarray, np.dtype, builtins.getattr, *dtype_classes]


_REGISTERED = False


def register_checkpoint_safe_globals() -> None:
    """Allow MMEngine checkpoints to load with ``weights_only=True`` (idempotent)."""
    global _REGISTERED
    if _REGISTERED or not hasattr(torch.serialization, 'add_safe_globals'):
        return
    torch.serialization.add_safe_globals(checkpoint_safe_globals())
    _REGISTERED = True
