"""A word vocabulary for captioning, built from training captions and carried by checkpoints.

Tokenisation is the lowercase word regex of :class:`~cmda_mm.datasets.transforms.HashedBagOfWords` (runs of
letters/digits, inner apostrophes kept), so the teacher's bag of words and the decoder see the same words.
The word list lives in a ``uint8`` buffer (UTF-8, newline-separated): it is saved in every checkpoint and
restored on load, so a model rebuilt without its training data (``tools/test.py``) decodes the same words.
"""
import logging
from collections import Counter
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import torch
from mmengine.logging import print_log
from torch import Tensor, nn

from cmda_mm.utils.text import word_tokens

__all__ = ['CaptionVocab', 'tokenize', 'SPECIALS']

SPECIALS = ('<pad>', '<bos>', '<eos>', '<unk>')


def tokenize(text: str) -> List[str]:
    """Lowercase word tokens of ``text`` (:func:`cmda_mm.utils.text.word_tokens`)."""
    return word_tokens(text)


class CaptionVocab(nn.Module):
    """Special tokens (``<pad>``=0, ``<bos>``=1, ``<eos>``=2, ``<unk>``=3), then words by frequency.

    Args:
        min_freq (int): keep words seen at least this often in the training captions.
        max_len (int): captions longer than this many words are truncated (``<eos>`` is extra).
        words (Sequence[str], optional): a ready word list (specials excluded), e.g. from :meth:`build`.
    """

    def __init__(self, min_freq: int = 1, max_len: int = 20, words: Optional[Sequence[str]] = None) -> None:
        super().__init__()
        if min_freq < 1 or max_len < 1:
            raise ValueError(f'`min_freq` and `max_len` must be >= 1, got {min_freq} and {max_len}')
        self.min_freq, self.max_len = int(min_freq), int(max_len)
        self.register_buffer('words_utf8', torch.zeros(0, dtype=torch.uint8))
        self.set_words(words or [])

    # ---- the word list ---------------------------------------------------------------------------------
    def set_words(self, words: Sequence[str]) -> None:
        """Replace the word list (specials are added in front)."""
        bad = [w for w in words if w in SPECIALS or not w or '\n' in w]
        if bad:
            raise ValueError(f'invalid vocabulary words {bad[:5]}')
        data = '\n'.join(words).encode('utf-8')
        self.words_utf8 = torch.tensor(list(data), dtype=torch.uint8, device=self.words_utf8.device)
        self._sync()

    def _sync(self) -> None:
        text = bytes(self.words_utf8.tolist()).decode('utf-8')
        self.itos: List[str] = list(SPECIALS) + (text.split('\n') if text else [])
        self.stoi: Dict[str, int] = {w: i for i, w in enumerate(self.itos)}

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        key = f'{prefix}words_utf8'
        if key in state_dict:  # the checkpoint's list may be longer or shorter: resize first
            self.words_utf8 = torch.empty_like(state_dict[key], device=self.words_utf8.device)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        self._sync()

    def __len__(self) -> int:
        return len(self.itos)

    @property
    def pad(self) -> int:
        return 0

    @property
    def bos(self) -> int:
        return 1

    @property
    def eos(self) -> int:
        return 2

    @property
    def unk(self) -> int:
        return 3

    @property
    def is_empty(self) -> bool:
        """True when only the special tokens are known (nothing built or loaded yet)."""
        return len(self.itos) == len(SPECIALS)

    # ---- building --------------------------------------------------------------------------------------
    def build(self, captions: Iterable[Tuple[str, str]]) -> 'CaptionVocab':
        """Count words over ``(name, caption)`` pairs and keep those with ``min_freq`` occurrences.

        Ties in frequency are broken alphabetically, so every process builds the same list. Empty captions
        are rejected, naming the sample; captions longer than ``max_len`` words are counted and logged.

        Args:
            captions (Iterable[tuple[str, str]]): ``(sample name, caption)`` pairs.

        Returns:
            CaptionVocab: ``self``.
        """
        counts: Counter = Counter()
        n_total = n_long = longest = 0
        for name, caption in captions:
            tokens = self.tokens(caption, name)
            counts.update(tokens)
            n_total += 1
            n_long += len(tokens) > self.max_len
            longest = max(longest, len(tokens))
        if n_total == 0:
            raise ValueError('CaptionVocab.build: no training captions were given')
        words = sorted((w for w, c in counts.items() if c >= self.min_freq), key=lambda w: (-counts[w], w))
        self.set_words(words)
        print_log(f'CaptionVocab: {len(words)} words with frequency >= {self.min_freq} (of {len(counts)}) '
                  f'from {n_total} captions; {n_long} captions longer than max_len={self.max_len} words '
                  f'(longest {longest}) will be truncated', logger='current')
        return self

    # ---- encoding / decoding ---------------------------------------------------------------------------
    @staticmethod
    def tokens(caption, name: str = 'unknown sample') -> List[str]:
        """Tokens of one caption; an empty one (no word) is an error naming the sample."""
        if not isinstance(caption, str):
            raise TypeError(f'caption of {name} must be a str, got {type(caption).__name__}')
        tokens = tokenize(caption)
        if not tokens:
            raise ValueError(f'empty caption {caption!r} for {name}: a caption needs at least one word')
        return tokens

    def encode(self, captions: Sequence[str], names: Optional[Sequence[str]] = None) -> Tuple[Tensor, Tensor, int]:
        """Token ids ``<bos> w1 .. wn <eos> <pad>...`` of a batch of captions.

        Args:
            captions (Sequence[str]): the captions.
            names (Sequence[str], optional): sample names for error messages.

        Returns:
            tuple: ``(tokens (B, T) long, lengths (B,) long counting <bos> and <eos>, n_truncated)``.
        """
        names = names or [f'sample {i}' for i in range(len(captions))]
        ids, n_long = [], 0
        for caption, name in zip(captions, names):
            words = self.tokens(caption, name)
            n_long += len(words) > self.max_len
            ids.append([self.bos] + [self.stoi.get(w, self.unk) for w in words[:self.max_len]] + [self.eos])
        lengths = torch.tensor([len(x) for x in ids], dtype=torch.long)
        out = torch.full((len(ids), int(lengths.max())), self.pad, dtype=torch.long)
        for i, row in enumerate(ids):
            out[i, :len(row)] = torch.tensor(row)
        return out, lengths, n_long

    def decode(self, tokens: Tensor) -> List[str]:
        """Captions of (B, T) generated ids (without ``<bos>``), cut at the first ``<eos>``."""
        out = []
        for row in tokens.tolist():
            words = []
            for t in row:
                if t in (self.eos, self.pad):
                    break
                if t != self.bos:
                    words.append(self.itos[t])
            out.append(' '.join(words))
        return out

    def extra_repr(self) -> str:
        return f'size={len(self)}, min_freq={self.min_freq}, max_len={self.max_len}'


def build_vocab(cfg: dict) -> CaptionVocab:
    """Build a :class:`CaptionVocab` from ``cfg``.

    ``cfg`` holds the vocabulary arguments (``min_freq``, ``max_len``) and where the training captions are:
    ``captions`` (a list of strings) or ``source`` (a dataset config, e.g. the training set's, built
    without its pipeline; its samples' ``caption_key`` field, a string or a list of strings, is read).
    When the source's files do not exist, or neither is given, the vocabulary stays empty and must come
    from a checkpoint (``tools/test.py``); training with an empty vocabulary is an error.

    Args:
        cfg (dict): ``min_freq``, ``max_len``, ``captions`` | ``source``, ``caption_key`` ('caption').

    Returns:
        CaptionVocab: the built (or empty) vocabulary.
    """
    from cmda_mm.registry import DATASETS  # late: keeps this module importable without registries

    cfg = dict(cfg)
    captions, source = cfg.pop('captions', None), cfg.pop('source', None)
    key = cfg.pop('caption_key', 'caption')
    vocab = CaptionVocab(**cfg)
    if captions is not None:
        return vocab.build((f'caption {i}', c) for i, c in enumerate(captions))
    if source is None:
        return vocab
    try:
        dataset = DATASETS.build(dict(source, pipeline=[]))
    except FileNotFoundError as err:
        print_log(f'CaptionVocab: the training captions are not available ({err}); the vocabulary must be '
                  'loaded from a checkpoint', logger='current', level=logging.WARNING)
        return vocab
    return vocab.build(_dataset_captions(dataset, key))


def _dataset_captions(dataset, key: str):
    name = type(dataset).__name__
    for idx in range(len(dataset)):
        info = dataset.get_data_info(idx)
        where = f"{name} sample {idx}" + (f" ({info['img_path']})" if 'img_path' in info else '')
        if key not in info:
            raise KeyError(f"{where} has no '{key}' field to build the caption vocabulary from")
        value = info[key]
        for caption in (value if isinstance(value, (list, tuple)) else [value]):
            yield where, caption
