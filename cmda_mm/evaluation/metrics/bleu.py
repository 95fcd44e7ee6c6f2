"""Corpus BLEU-1..N (Papineni et al., 2002) in pure Python, and an MMEngine metric for captioning.

Standard corpus BLEU: clipped n-gram counts (each n-gram counted at most as often as in the reference that
has most of it) summed over the corpus, the geometric mean of the n-gram precisions with uniform weights,
and the brevity penalty ``exp(1 − r/c)`` when the candidate corpus length c is shorter than the effective
reference length r (per sentence, the reference length closest to the candidate's, the shorter on a tie —
as NLTK and the COCO caption toolkit). No smoothing by default: a zero precision gives BLEU 0.
"""
import math
from collections import Counter
from typing import Dict, List, Optional, Sequence

from mmengine.evaluator import BaseMetric

from cmda_mm.registry import METRICS
from cmda_mm.utils.text import word_tokens as tokenize

__all__ = ['BLEU', 'corpus_bleu']

SMOOTHING = (None, 'add1', 'epsilon')


def _ngrams(tokens: Sequence[str], n: int) -> Counter:
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def corpus_bleu(candidates: Sequence[Sequence[str]], references: Sequence[Sequence[Sequence[str]]],
                max_n: int = 4, smooth: Optional[str] = None, epsilon: float = 0.1) -> Dict[int, float]:
    """BLEU-1..``max_n`` of a tokenised corpus, in [0, 1].

    Args:
        candidates (Sequence[Sequence[str]]): one token list per sentence.
        references (Sequence[Sequence[Sequence[str]]]): per sentence, one or more reference token lists.
        max_n (int): highest n-gram order.
        smooth (str, optional): None (standard); 'add1' (Lin & Och 2004: +1 to the numerator and denominator
            of the n ≥ 2 precisions); 'epsilon' (a zero count becomes ``epsilon``, NLTK's method 1).
        epsilon (float): the 'epsilon' smoothing count.

    Returns:
        dict: ``{n: BLEU-n}`` for n = 1..max_n.
    """
    if len(candidates) != len(references):
        raise ValueError(f'{len(candidates)} candidates but {len(references)} reference sets')
    if smooth not in SMOOTHING:
        raise ValueError(f'`smooth` must be one of {SMOOTHING}, got {smooth!r}')
    matches, totals = [0] * max_n, [0] * max_n
    cand_len = ref_len = 0
    for i, (cand, refs) in enumerate(zip(candidates, references)):
        if not refs:
            raise ValueError(f'sentence {i} has no reference')
        cand_len += len(cand)
        ref_len += min((len(r) for r in refs), key=lambda n: (abs(n - len(cand)), n))
        for n in range(1, max_n + 1):
            counts = _ngrams(cand, n)
            best: Counter = Counter()
            for ref in refs:
                best |= _ngrams(ref, n)  # elementwise max over references
            matches[n - 1] += sum(min(c, best[g]) for g, c in counts.items())
            totals[n - 1] += max(len(cand) - n + 1, 0)

    if cand_len == 0:
        return {n: 0.0 for n in range(1, max_n + 1)}
    brevity = 1.0 if cand_len > ref_len else math.exp(1 - ref_len / cand_len)
    log_p: List[float] = []
    for n in range(1, max_n + 1):
        m, t = matches[n - 1], totals[n - 1]
        if smooth == 'add1' and n > 1:
            m, t = m + 1, t + 1
        elif smooth == 'epsilon' and m == 0 and t > 0:
            m = epsilon
        log_p.append(math.log(m / t) if m > 0 and t > 0 else float('-inf'))
    out = {}
    for n in range(1, max_n + 1):
        mean = sum(log_p[:n]) / n
        out[n] = brevity * math.exp(mean) if mean != float('-inf') else 0.0
    return out


@METRICS.register_module()
class BLEU(BaseMetric):
    """Corpus BLEU-1..``max_n`` (×100) of generated captions against one or more references.

    Reads ``pred_caption`` from each predicted data sample and the references from the first of
    ``ref_keys`` present (a string or a list of strings: Karpathy COCO has five per image). Captions are
    tokenised with the lowercase word regex of the captioner's vocabulary.

    Args:
        max_n (int): highest n-gram order. Defaults to 4.
        smooth (str, optional): see :func:`corpus_bleu`. Defaults to None.
        ref_keys (Sequence[str]): reference fields, in order of preference.
        collect_device (str): 'cpu' or 'gpu'.
        prefix (str, optional): metric name prefix. Defaults to 'caption'.
    """

    default_prefix = 'caption'

    def __init__(self, max_n: int = 4, smooth: Optional[str] = None,
                 ref_keys: Sequence[str] = ('gt_caption', 'caption'), collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if smooth not in SMOOTHING:
            raise ValueError(f'`smooth` must be one of {SMOOTHING}, got {smooth!r}')
        self.max_n, self.smooth, self.ref_keys = max_n, smooth, tuple(ref_keys)

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            name = f"sample {sample.get('sample_idx', '?')}"
            if 'pred_caption' not in sample:
                raise KeyError(f"BLEU: {name} has no 'pred_caption' (is the model a captioner?)")
            key = next((k for k in self.ref_keys if k in sample), None)
            if key is None:
                raise KeyError(f'BLEU: {name} has none of the reference fields {self.ref_keys}')
            refs = sample[key]
            refs = [refs] if isinstance(refs, str) else list(refs)
            if not refs:
                raise ValueError(f"BLEU: {name} has an empty '{key}'")
            self.results.append((tokenize(sample['pred_caption']), [tokenize(r) for r in refs]))

    def compute_metrics(self, results: List) -> Dict[str, float]:
        scores = corpus_bleu([c for c, _ in results], [r for _, r in results], self.max_n, self.smooth)
        return {f'BLEU-{n}': 100.0 * v for n, v in scores.items()}
