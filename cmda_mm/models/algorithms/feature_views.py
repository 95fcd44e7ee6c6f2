"""Two (or more) random views of feature-vector students: Gaussian noise + feature dropout, vectorised."""
from typing import List

import torch
from torch import Tensor, nn

from cmda_mm.registry import MODELS

__all__ = ['FeatureViews']


@MODELS.register_module()
class FeatureViews(nn.Module):
    """Random views of a batch of feature vectors for contrastive self-supervision.

    Images get their views from mmpretrain's ``MultiView`` transform in the pipeline; precomputed feature
    vectors (SIFT histograms, sentence embeddings, ...) get them here, on the whole batch at once: every view
    adds Gaussian noise and then zeroes each feature with probability ``dropout``::

        view = (x + noise_std * s * eps) * mask / (1 - dropout),   eps ~ N(0, 1),  mask ~ Bernoulli(1 - dropout)

    ``s`` is the per-feature standard deviation of the batch (``relative=True``, so the strength means the
    same for histograms summing to 1 and for unit-norm embeddings) or 1. The ``1 / (1 - dropout)`` rescaling
    (``rescale=True``) keeps every view's expectation equal to the clean input, which is what the encoder sees
    at test time. Randomness comes from torch's global generator (seeded by the runner).

    Args:
        num_views (int): views per sample. Defaults to 2.
        noise_std (float): noise strength (>= 0). Defaults to 0.1.
        dropout (float): feature-dropout probability in [0, 1). Defaults to 0.1.
        relative (bool): scale the noise by the batch's per-feature std. Defaults to True.
        rescale (bool): divide kept features by ``1 - dropout``. Defaults to True.
    """

    def __init__(self, num_views: int = 2, noise_std: float = 0.1, dropout: float = 0.1,
                 relative: bool = True, rescale: bool = True) -> None:
        super().__init__()
        if num_views < 2:
            raise ValueError(f'num_views must be >= 2 for contrastive views, got {num_views}')
        if noise_std < 0:
            raise ValueError(f'noise_std must be >= 0, got {noise_std}')
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f'dropout must lie in [0, 1), got {dropout}')
        self.num_views, self.noise_std, self.dropout = int(num_views), float(noise_std), float(dropout)
        self.relative, self.rescale = relative, rescale

    def forward(self, x: Tensor) -> List[Tensor]:
        """Make the views.

        Args:
            x (Tensor): (B, D) feature vectors.

        Returns:
            list[Tensor]: ``num_views`` tensors of shape (B, D).
        """
        if x.dim() != 2:
            raise ValueError(f'FeatureViews expects (B, D) feature vectors, got shape {tuple(x.shape)}; '
                             "give image students their views with the 'MultiView' transform")
        views = x.detach().float().unsqueeze(0).expand(self.num_views, *x.shape)
        if self.noise_std > 0:
            scale = x.detach().float().std(dim=0, unbiased=False) if self.relative and x.shape[0] > 1 else 1.0
            views = views + torch.randn_like(views) * (self.noise_std * scale)
        if self.dropout > 0:
            keep = (torch.rand_like(views) >= self.dropout).to(views.dtype)
            views = views * keep / (1.0 - self.dropout if self.rescale else 1.0)
        return list(views.unbind(0))

    def extra_repr(self) -> str:
        return (f'num_views={self.num_views}, noise_std={self.noise_std}, dropout={self.dropout}, '
                f'relative={self.relative}, rescale={self.rescale}')
