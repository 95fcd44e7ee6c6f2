from .decoder import SATDecoder, SoftAttention
from .vocab import SPECIALS, CaptionVocab, build_vocab, tokenize

__all__ = ['SATDecoder', 'SoftAttention', 'CaptionVocab', 'build_vocab', 'tokenize', 'SPECIALS']
