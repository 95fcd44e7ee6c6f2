"""bfloat16 autocast on CPU for ``tools/train.py --amp``."""
import torch
from mmengine.optim import AmpOptimWrapper, OptimWrapper

from cmda_mm.registry import OPTIM_WRAPPERS

__all__ = ['CPUAmpOptimWrapper']


@OPTIM_WRAPPERS.register_module()
class CPUAmpOptimWrapper(AmpOptimWrapper):
    """AMP without CUDA: bfloat16 autocast on CPU.

    MMEngine's ``AmpOptimWrapper`` asserts a GPU in ``__init__``; bf16 needs no loss scaling, so the scaler is
    a disabled ``torch.amp.GradScaler`` (a no-op in backward/step).

    Args:
        loss_scale: ignored (kept for config compatibility).
        dtype (str | torch.dtype): autocast dtype. Defaults to bfloat16.
        use_fsdp (bool): ignored.
        **kwargs: :class:`OptimWrapper` arguments.
    """

    def __init__(self, loss_scale='dynamic', dtype='bfloat16', use_fsdp=False, **kwargs) -> None:
        OptimWrapper.__init__(self, **kwargs)
        self._scale_update_param = None
        self.loss_scaler = torch.amp.GradScaler('cpu', enabled=False)
        self.cast_dtype = getattr(torch, dtype) if isinstance(dtype, str) else dtype
