"""Projection MLP into the common latent space (paper §IV-B: 2048-128 for vision, 4096-4096-128 language)."""
from typing import Optional, Sequence, Tuple, Union

import torch
from mmcv.cnn import build_activation_layer, build_norm_layer
from mmengine.model import BaseModule
from torch import Tensor, nn

from cmda_mm.registry import MODELS

__all__ = ['ProjectionNeck']


@MODELS.register_module()
class ProjectionNeck(BaseModule):
    """Fully-connected layers, each followed by norm + activation except the last.

    Accepts a backbone's tuple of outputs (uses the last) and global-average-pools 4-D maps, so it sits
    directly on any mmpretrain backbone or on a feature encoder.

    Args:
        in_channels (int): input feature size.
        hidden_channels (Sequence[int]): sizes of the hidden layers (may be empty: one linear layer).
        out_channels (int): latent size. Defaults to 128.
        norm_cfg (dict, optional): norm after each hidden layer. Defaults to BatchNorm1d (never SyncBN by
            default: it fails in a single process).
        act_cfg (dict): activation after each hidden layer. Defaults to ReLU.
        init_cfg (dict, optional): initialisation config.
    """

    def __init__(self,
                 in_channels: int,
                 hidden_channels: Sequence[int] = (2048, ),
                 out_channels: int = 128,
                 norm_cfg: Optional[dict] = dict(type='BN1d'),
                 act_cfg: dict = dict(type='ReLU'),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        layers = []
        sizes = [in_channels, *hidden_channels]
        for cin, cout in zip(sizes[:-1], sizes[1:]):
            layers.append(nn.Linear(cin, cout, bias=norm_cfg is None))
            if norm_cfg is not None:
                layers.append(build_norm_layer(norm_cfg, cout)[1])
            layers.append(build_activation_layer(act_cfg))
        layers.append(nn.Linear(sizes[-1], out_channels))
        self.mlp = nn.Sequential(*layers)
        self.in_channels, self.out_channels = in_channels, out_channels

    def forward(self, x: Union[Tensor, Tuple[Tensor, ...]]) -> Tensor:
        """Project features.

        Args:
            x (Tensor | tuple[Tensor]): (N, C) features, (N, C, H, W) maps, or a tuple whose last item is one.

        Returns:
            Tensor: (N, out_channels) projections (not normalised; the algorithm L2-normalises).
        """
        if isinstance(x, (tuple, list)):
            x = x[-1]
        if x.dim() > 2:
            x = torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1)
        return self.mlp(x)
