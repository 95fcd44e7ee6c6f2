"""Checkpoint loading under torch's ``weights_only=True`` default.

torch >= 2.6 loads checkpoints with ``weights_only=True``. MMEngine 0.10.7 checkpoints carry a
``HistoryBuffer`` and numpy objects in their message hub, so resuming fails with
``UnpicklingError: Unsupported global``. Instead of switching the safety check off for every file
(``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1``), we allow exactly the globals those checkpoints contain.

MMEngine loads weights non-strictly, so the checkpoint of another model "loads" and the tools then run on
random weights. :func:`load_checkpoint_strict` makes any missing, unexpected or mis-shaped key an error that
names the file, and :func:`read_checkpoint` says what is wrong with an empty or truncated file.
"""
import builtins
import os.path as osp
import pickle
import re
import zipfile
from collections import OrderedDict
from typing import List, Sequence

import numpy as np
import torch
from torch import nn

__all__ = ['checkpoint_safe_globals', 'register_checkpoint_safe_globals', 'read_checkpoint', 'load_state_dict_strict',
           'load_checkpoint_strict']


def _numpy_multiarray():
    """NumPy's ``multiarray`` module under the name this NumPy pickles it as.

    NumPy 2 pickles arrays through ``numpy._core.multiarray._reconstruct``, NumPy 1.x through
    ``numpy.core.multiarray._reconstruct``; NumPy 1.25 and older have no ``numpy._core`` at all. torch matches a
    safe global by the object's ``__module__``, which is the running NumPy's own name either way, so the same two
    objects are allowed on both (checked with NumPy 1.23.2 and 2.4.6: import, train, resume).
    """
    try:
        from numpy._core import multiarray
    except ImportError:  # NumPy 1.x without the numpy._core module
        from numpy.core import multiarray
    return multiarray


def checkpoint_safe_globals() -> List[object]:
    """The objects an MMEngine 0.10.x checkpoint needs beyond plain tensors.

    Returns:
        list: globals to pass to :func:`torch.serialization.add_safe_globals`.
    """
    from mmengine.logging import HistoryBuffer
    multiarray = _numpy_multiarray()
    _reconstruct, scalar = multiarray._reconstruct, multiarray.scalar
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


def read_checkpoint(filename: str, map_location: str = 'cpu') -> dict:
    """Read a local checkpoint file, with errors that name it.

    Args:
        filename (str): Path of the checkpoint (``.pth``).
        map_location (str): Where to put the tensors. Defaults to 'cpu'.

    Returns:
        dict: The checkpoint (a dict with ``state_dict``, or a bare state dict).

    Raises:
        FileNotFoundError: The file does not exist.
        ValueError: The file is empty, truncated or not a checkpoint.
    """
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint {filename} does not exist')
    if osp.getsize(filename) == 0:
        raise ValueError(f'checkpoint {filename} is empty (0 bytes): an interrupted save or copy? Use another '
                         'checkpoint (e.g. the previous epoch_*.pth)')
    register_checkpoint_safe_globals()
    try:
        checkpoint = torch.load(filename, map_location=map_location)
    except pickle.UnpicklingError as err:
        raise ValueError(f'checkpoint {filename} holds objects torch will not load with weights_only=True: '
                         f'{err}') from None
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile) as err:
        raise ValueError(f'checkpoint {filename} cannot be read (truncated or not a torch checkpoint): '
                         f'{type(err).__name__}: {err}') from None
    if not isinstance(checkpoint, dict):
        raise ValueError(f'checkpoint {filename} holds a {type(checkpoint).__name__}, not a state dict')
    return checkpoint


_SIZE = re.compile(r'size mismatch for (\S+): copying a param with shape torch.Size\((\[[^\]]*\])\) from '
                   r'checkpoint, the shape in current model is torch.Size\((\[[^\]]*\])\)')


def _shape(text: str) -> str:
    return text.replace(' ', '')


def _first(keys: Sequence[str], n: int = 5) -> str:
    keys = list(keys)
    shown = ', '.join(keys[:n])
    return f'{shown} (+{len(keys) - n} more)' if len(keys) > n else shown


def load_state_dict_strict(model: nn.Module, checkpoint: dict, filename: str) -> None:
    """Load a checkpoint's weights into ``model``; any missing, unexpected or mis-shaped key is an error.

    Modules that resize their buffers from the checkpoint (the mixer's mixture, a captioner's vocabulary)
    still load, since the comparison is torch's own ``load_state_dict``. A ``module.`` prefix (a wrapped
    model's state) is stripped, as MMEngine does.

    Args:
        model (nn.Module): The (unwrapped) model.
        checkpoint (dict): What :func:`read_checkpoint` returned.
        filename (str): The checkpoint's path, for the error message.

    Raises:
        ValueError: The checkpoint belongs to another model; the message names the file and the first
            mismatching keys.
    """
    state = checkpoint.get('state_dict', checkpoint)
    if not isinstance(state, dict) or not all(isinstance(k, str) for k in state):
        raise ValueError(f'checkpoint {filename} has no state dict (keys: {_first(map(str, checkpoint))})')
    state = OrderedDict((re.sub(r'^module\.', '', k), v) for k, v in state.items())
    name = type(model).__name__
    try:
        result = model.load_state_dict(state, strict=False)
    except RuntimeError as err:
        shapes = [f'{key} (checkpoint {_shape(a)}, model {_shape(b)})' for key, a, b in _SIZE.findall(str(err))]
        if not shapes:
            raise ValueError(f'checkpoint {filename} does not load into this {name}: {err}') from None
        raise ValueError(f'checkpoint {filename} does not fit this {name} (another model or config?): '
                         f'{len(shapes)} key(s) of another shape: {_first(shapes, 3)}') from None
    problems = []
    if result.missing_keys:
        problems.append(f'{len(result.missing_keys)} key(s) of the model missing from the checkpoint: '
                        f'{_first(result.missing_keys)}')
    if result.unexpected_keys:
        problems.append(f'{len(result.unexpected_keys)} key(s) of the checkpoint not in the model: '
                        f'{_first(result.unexpected_keys)}')
    if problems:
        raise ValueError(f'checkpoint {filename} does not fit this {name} (another model or config?): '
                         + '; '.join(problems))


def load_checkpoint_strict(model: nn.Module, filename: str, map_location: str = 'cpu') -> dict:
    """Read ``filename`` and load it into ``model`` strictly (see :func:`load_state_dict_strict`).

    Args:
        model (nn.Module): The model; a wrapper (DDP) is unwrapped.
        filename (str): The checkpoint.
        map_location (str): Where to read the tensors to. Defaults to 'cpu'.

    Returns:
        dict: The checkpoint (its ``meta`` etc.).
    """
    from mmengine.model import is_model_wrapper
    checkpoint = read_checkpoint(filename, map_location)
    load_state_dict_strict(model.module if is_model_wrapper(model) else model, checkpoint, filename)
    return checkpoint
