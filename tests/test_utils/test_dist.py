"""``teardown_distributed`` ends the process group that ``setup_cpu_distributed`` started (one gloo rank)."""
import socket

import pytest
import torch
import torch.distributed as dist
from mmengine.config import Config

from cmda_mm.utils import setup_cpu_distributed, teardown_distributed


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@pytest.mark.skipif(torch.cuda.is_available(), reason='the gloo CPU path')
def test_teardown_destroys_the_group_setup_started(monkeypatch):
    for key, value in dict(RANK='0', LOCAL_RANK='0', WORLD_SIZE='1', MASTER_ADDR='127.0.0.1',
                           MASTER_PORT=str(_free_port())).items():
        monkeypatch.setenv(key, value)
    cfg = Config(dict(launcher='pytorch'))
    try:
        assert setup_cpu_distributed(cfg) and dist.is_initialized()
        assert cfg.model_wrapper_cfg['device_ids'] is None and cfg.env_cfg['dist_cfg']['backend'] == 'gloo'
        teardown_distributed()
        assert not dist.is_initialized()
        teardown_distributed()  # no group: nothing to do
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
