"""Small input checks shared by the core functions (clear errors naming the argument)."""
from torch import Tensor

__all__ = ['check_matrix', 'check_finite']


def check_finite(name: str, x: Tensor) -> None:
    """Raise ``ValueError`` naming ``name`` when ``x`` holds NaN or Inf."""
    if not bool(x.isfinite().all()):
        bad = (~x.isfinite()).reshape(x.shape[0], -1).any(1).nonzero().flatten()[:5].tolist()
        raise ValueError(f'`{name}` contains NaN or Inf (first bad rows: {bad})')


def check_matrix(name: str, x: Tensor, rows: int = None, cols: int = None, finite: bool = True) -> None:
    """Raise ``ValueError`` unless ``x`` is a finite, non-empty 2-D tensor of the given shape.

    The shape checks read host-side metadata only; ``finite=False`` skips the finiteness check, the one part
    that reads the values (a device-to-host sync on a GPU), for callers in the training hot path.
    """
    if not isinstance(x, Tensor):
        raise ValueError(f'`{name}` must be a torch.Tensor, got {type(x).__name__}')
    if x.dim() != 2:
        raise ValueError(f'`{name}` must be 2-D (N, D), got shape {tuple(x.shape)}')
    if x.shape[0] == 0:
        raise ValueError(f'`{name}` is empty (0 rows)')
    if rows is not None and x.shape[0] != rows:
        raise ValueError(f'`{name}` has {x.shape[0]} rows, expected {rows}')
    if cols is not None and x.shape[1] != cols:
        raise ValueError(f'`{name}` has {x.shape[1]} columns, expected {cols}')
    if finite:
        check_finite(name, x)
