"""A deterministic, vocabulary-free text featuriser for text teachers.

:class:`HashedBagOfWords` turns a caption into a fixed-size ``float32`` vector
with the hashing trick: word n-grams are hashed with ``zlib.crc32`` (stable
across processes and Python versions, unlike ``hash``) into ``dim`` buckets.
No vocabulary, no network and no model are needed, so it can run inside data
loader workers.
"""
import zlib
from typing import List, Tuple

import numpy as np
from mmcv.transforms import BaseTransform

from cmda_mm.registry import TRANSFORMS
from cmda_mm.utils.text import WORD_RE

__all__ = ['HashedBagOfWords']

# Kept for old imports; the word regex lives in cmda_mm.utils.text.
_WORD_RE = WORD_RE
# Start value of the second crc32 that draws the sign of a bucket.
_SIGN_SEED = 0x9E3779B9


def _describe_sample(results: dict) -> str:
    """Name a sample by ``sample_idx`` / ``img_path`` when they are known."""
    parts = [f'{k}={results[k]!r}' for k in ('sample_idx', 'img_path')
             if k in results]
    return ', '.join(parts) if parts else 'unknown sample'


@TRANSFORMS.register_module()
class HashedBagOfWords(BaseTransform):
    """Hash the word (or character) n-grams of a caption into an L2-normalised vector.

    ``analyzer='char_wb'`` hashes character n-grams inside word boundaries (each word padded with one space, as
    scikit-learn's ``char_wb``): the choice for captions in languages whose words the English tokenizers do not
    know, or without spaces between words (``ngram_range=(2, 4)`` is a good start there).

    **Required Keys:** ``key`` (a non-empty string).

    **Added Keys:** ``out_key`` (``np.float32`` array of shape ``(dim,)``).

    Args:
        key (str): Key of the text. Defaults to 'caption'.
        out_key (str): Key of the output vector. Defaults to 'teacher'.
        dim (int): Number of hash buckets. Defaults to 256.
        ngram_range (Tuple[int, int]): Smallest and largest n-gram size,
            both inclusive (words, or characters with ``analyzer='char_wb'``). Defaults to (1, 2).
        analyzer (str): 'word' (default) or 'char_wb' (character n-grams within words).
        lowercase (bool): Lowercase the text first. Defaults to True.
        normalize (bool): Divide by the L2 norm. Defaults to True.
        signed (bool): Give each n-gram a pseudo-random sign (from a second
            crc32) so that collisions cancel in expectation.
            Defaults to False (plain non-negative counts).
    """

    def __init__(self,
                 key: str = 'caption',
                 out_key: str = 'teacher',
                 dim: int = 256,
                 ngram_range: Tuple[int, int] = (1, 2),
                 lowercase: bool = True,
                 normalize: bool = True,
                 signed: bool = False,
                 analyzer: str = 'word'):
        if analyzer not in ('word', 'char_wb'):
            raise ValueError(f"analyzer must be 'word' or 'char_wb', got {analyzer!r}.")
        lo, hi = (int(n) for n in ngram_range)
        if not 1 <= lo <= hi:
            raise ValueError(f'ngram_range must satisfy 1 <= min <= max, '
                             f'got {tuple(ngram_range)}.')
        if int(dim) < 1:
            raise ValueError(f'dim must be a positive integer, got {dim}.')
        self.key = key
        self.out_key = out_key
        self.dim = int(dim)
        self.ngram_range = (lo, hi)
        self.lowercase = lowercase
        self.normalize = normalize
        self.signed = signed
        self.analyzer = analyzer

    def tokenize(self, text: str) -> List[str]:
        """Split a text into word tokens."""
        if self.lowercase:
            text = text.lower()
        return WORD_RE.findall(text)

    def ngrams(self, tokens: List[str]) -> List[str]:
        """All n-grams of ``tokens`` with n in ``ngram_range`` (characters of each padded word for 'char_wb')."""
        lo, hi = self.ngram_range
        if self.analyzer == 'char_wb':
            return [word[i:i + n] for word in (f' {t} ' for t in tokens) for n in range(lo, hi + 1)
                    for i in range(len(word) - n + 1)]
        return [
            ' '.join(tokens[i:i + n]) for n in range(lo, hi + 1)
            for i in range(len(tokens) - n + 1)
        ]

    def featurize(self, text: str) -> np.ndarray:
        """Hash one text into a ``float32`` vector of shape ``(dim,)``.

        Raises ValueError when the text has no n-gram; the caller names the
        sample.
        """
        grams = self.ngrams(self.tokenize(text))
        if not grams:
            raise ValueError(f'text {text!r} has no {self.analyzer} n-gram in '
                             f'ngram_range={self.ngram_range}')
        vec = np.zeros(self.dim, dtype=np.float64)
        for gram in grams:
            data = gram.encode('utf-8')
            sign = 1.0
            if self.signed and zlib.crc32(data, _SIGN_SEED) & 1:
                sign = -1.0
            vec[zlib.crc32(data) % self.dim] += sign
        if self.normalize:
            norm = np.linalg.norm(vec)
            if norm > 0:  # signed collisions may cancel out completely
                vec /= norm
        return vec.astype(np.float32)

    def transform(self, results: dict) -> dict:
        """Add ``results[out_key]``, the hashed vector of ``results[key]``."""
        if self.key not in results:
            raise KeyError(f"HashedBagOfWords: key '{self.key}' is missing "
                           f'({_describe_sample(results)}).')
        text = results[self.key]
        if not isinstance(text, str):
            raise TypeError(f"HashedBagOfWords: '{self.key}' must be a str, "
                            f'got {type(text).__name__} '
                            f'({_describe_sample(results)}).')
        try:
            results[self.out_key] = self.featurize(text)
        except ValueError as err:
            raise ValueError(f"HashedBagOfWords: empty '{self.key}' for "
                             f'{_describe_sample(results)}: {err}.') from None
        return results

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(key='{self.key}', "
                f"out_key='{self.out_key}', dim={self.dim}, "
                f'ngram_range={self.ngram_range}, '
                f'lowercase={self.lowercase}, normalize={self.normalize}, '
                f'signed={self.signed})')
