"""An MLP tower over precomputed feature vectors (SIFT, LDA, TF-IDF, sentence embeddings)."""
from typing import Optional, Sequence, Tuple

from mmcv.cnn import build_activation_layer, build_norm_layer
from mmengine.model import BaseModule
from torch import Tensor, nn

from cmda_mm.registry import MODELS

__all__ = ['FeatureMLP']


@MODELS.register_module()
class FeatureMLP(BaseModule):
    """Backbone for feature-vector inputs: Linear → norm → act (→ dropout) per hidden layer.

    Returns a 1-tuple like mmpretrain backbones, so ``LinearClsHead`` and necks take it unchanged. With
    ``hidden_channels=()`` it is the identity (the raw features go straight to the head).

    Args:
        in_channels (int): input feature size.
        hidden_channels (Sequence[int]): hidden layer sizes; the last is the output size.
        norm_cfg (dict, optional): norm after each layer. Defaults to BatchNorm1d.
        act_cfg (dict): activation. Defaults to ReLU.
        dropout (float): dropout after each activation.
        init_cfg (dict, optional): initialisation config.
    """

    def __init__(self,
                 in_channels: int,
                 hidden_channels: Sequence[int] = (512, ),
                 norm_cfg: Optional[dict] = dict(type='BN1d'),
                 act_cfg: dict = dict(type='ReLU'),
                 dropout: float = 0.0,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        layers = []
        sizes = [in_channels, *hidden_channels]
        for cin, cout in zip(sizes[:-1], sizes[1:]):
            layers.append(nn.Linear(cin, cout, bias=norm_cfg is None))
            if norm_cfg is not None:
                layers.append(build_norm_layer(norm_cfg, cout)[1])
            layers.append(build_activation_layer(act_cfg))
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
        self.layers = nn.Sequential(*layers)
        self.in_channels, self.out_channels = in_channels, sizes[-1]

    def forward(self, x: Tensor) -> Tuple[Tensor]:
        """Encode (N, in_channels) features.

        Args:
            x (Tensor): (N, in_channels) features.

        Returns:
            tuple[Tensor]: ((N, out_channels), )
        """
        if x.dim() != 2 or x.shape[1] != self.in_channels:
            raise ValueError(f'FeatureMLP expects inputs of shape (N, {self.in_channels}), '
                             f'got {tuple(x.shape)}')
        return (self.layers(x.float()), )
