"""Distributed set-up that also works on machines without CUDA.

MMEngine's ``launcher='pytorch'`` calls ``torch.cuda.set_device`` unconditionally, which fails on a CPU
machine. :func:`setup_cpu_distributed` initialises a gloo process group first (MMEngine then skips its own
initialisation) and points the model wrapper at CPU DDP.
"""
import os

import torch
import torch.distributed as dist

__all__ = ['setup_cpu_distributed', 'cpu_ddp_wrapper_cfg']


def cpu_ddp_wrapper_cfg() -> dict:
    """Model wrapper config for DDP over CPU tensors (no ``device_ids``)."""
    return dict(type='MMDistributedDataParallel', device_ids=None, broadcast_buffers=False)


def setup_cpu_distributed(cfg) -> bool:
    """Initialise gloo DDP when a pytorch launcher runs on a machine without CUDA.

    Args:
        cfg (mmengine.Config): the runner config; ``model_wrapper_cfg`` is set for CPU DDP.

    Returns:
        bool: True when the gloo process group was set up here.
    """
    if torch.cuda.is_available() or cfg.get('launcher', 'none') == 'none':
        return False
    if 'RANK' not in os.environ or 'WORLD_SIZE' not in os.environ:
        raise ValueError('launcher=pytorch needs RANK and WORLD_SIZE (start it with torchrun or '
                         'tools/dist_train.sh)')
    if not dist.is_initialized():
        dist.init_process_group(backend='gloo')
    wrapper = dict(cfg.get('model_wrapper_cfg') or {})
    wrapper = {**cpu_ddp_wrapper_cfg(), **{k: v for k, v in wrapper.items() if k != 'device_ids'}}
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
    env_cfg = cfg.get('env_cfg', {})
    env_cfg.setdefault('dist_cfg', {})['backend'] = 'gloo'
    cfg.env_cfg = env_cfg
    return True
