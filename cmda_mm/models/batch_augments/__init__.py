from .matched_mixup import MatchedMixup

__all__ = ['MatchedMixup']
