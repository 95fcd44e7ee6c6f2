from .checkpoint import checkpoint_safe_globals, register_checkpoint_safe_globals
from .config import set_data_root
from .dist import cpu_ddp_wrapper_cfg, setup_cpu_distributed, teardown_distributed

__all__ = [
    'checkpoint_safe_globals', 'register_checkpoint_safe_globals', 'cpu_ddp_wrapper_cfg',
    'setup_cpu_distributed', 'set_data_root', 'teardown_distributed'
]
