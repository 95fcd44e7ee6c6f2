"""Corpus BLEU against hand-computed values (Papineni et al. 2002), and the BLEU metric end to end."""
import math

import pytest

import cmda_mm  # noqa: F401
from cmda_mm.evaluation.metrics.bleu import BLEU, corpus_bleu


def toks(s):
    return s.split()


CAND = toks('the cat sat on the mat')
REF = toks('the cat is on the mat')


def test_single_sentence_hand_computed():
    # 1-grams: the×2, cat, on, mat match (5/6); 2-grams: the cat, on the, the mat (3/5);
    # 3-grams: on the mat (1/4); 4-grams: none (0/3); c = r = 6 -> BP = 1.
    b = corpus_bleu([CAND], [[REF]])
    assert b[1] == pytest.approx(5 / 6, abs=1e-12)
    assert b[2] == pytest.approx(math.sqrt(5 / 6 * 3 / 5), abs=1e-12)
    assert b[3] == pytest.approx(0.5, abs=1e-12)  # (5/6 · 3/5 · 1/4)^(1/3) = (1/8)^(1/3)
    assert b[4] == 0.0  # no smoothing: a zero precision gives 0


def test_clipping_against_the_best_reference():
    # Papineni's example: 'the' is clipped to its largest count in any one reference (2).
    cand = toks('the the the the the the the')
    refs = [toks('the cat is on the mat'), toks('there is a cat on the mat')]
    assert corpus_bleu([cand], [refs], max_n=1)[1] == pytest.approx(2 / 7, abs=1e-12)


def test_brevity_penalty_uses_closest_reference_length_shorter_on_ties():
    # c = 2, closest reference length 4 (not 6): BP = exp(1 - 4/2); all n-grams match.
    b = corpus_bleu([toks('the cat')], [[toks('the cat sat on the mat'), toks('the cat is here')]], max_n=2)
    assert b[1] == pytest.approx(math.exp(-1), abs=1e-12)
    assert b[2] == pytest.approx(math.exp(-1), abs=1e-12)
    # c = 5 between reference lengths 4 and 6: the tie goes to the shorter one, so c > r and BP = 1.
    b = corpus_bleu([toks('a b c d e')], [[toks('a b c d'), toks('a b c d e f')]], max_n=1)
    assert b[1] == pytest.approx(1.0, abs=1e-12)


def test_corpus_level_sums_counts_and_lengths():
    cands = [CAND, toks('the cat')]
    refs = [[REF], [toks('the cat sat on the mat'), toks('the cat is here')]]
    b = corpus_bleu(cands, refs, max_n=2)
    # c = 6 + 2, r = 6 + 4; p1 = (5 + 2) / (6 + 2); p2 = (3 + 1) / (5 + 1).
    bp = math.exp(1 - 10 / 8)
    assert b[1] == pytest.approx(bp * 7 / 8, abs=1e-12)
    assert b[2] == pytest.approx(bp * math.sqrt(7 / 8 * 4 / 6), abs=1e-12)


def test_smoothing_options():
    add1 = corpus_bleu([CAND], [[REF]], smooth='add1')
    # p1 = 5/6 unsmoothed; p2 = 4/6, p3 = 2/5, p4 = 1/4 -> product 1/18.
    assert add1[4] == pytest.approx((1 / 18)**0.25, abs=1e-12)
    assert add1[1] == pytest.approx(5 / 6, abs=1e-12)
    eps = corpus_bleu([CAND], [[REF]], smooth='epsilon')
    assert eps[4] == pytest.approx((5 / 6 * 3 / 5 * 1 / 4 * 0.1 / 3)**0.25, abs=1e-12)
    with pytest.raises(ValueError, match='smooth'):
        corpus_bleu([CAND], [[REF]], smooth='laplace')


def test_degenerate_inputs():
    assert corpus_bleu([[]], [[REF]]) == {1: 0.0, 2: 0.0, 3: 0.0, 4: 0.0}
    with pytest.raises(ValueError, match='no reference'):
        corpus_bleu([CAND], [[]])
    with pytest.raises(ValueError, match='reference sets'):
        corpus_bleu([CAND, CAND], [[REF]])


def run_metric(samples, **kwargs):
    metric = BLEU(**kwargs)
    metric.process(None, samples)
    return metric.evaluate(len(samples))


def test_metric_identical_corpora_score_100_with_prefix_and_tokenisation():
    samples = [dict(pred_caption='A large red Circle, in the top left.', caption='a large red circle in the top left'),
               dict(pred_caption='a small blue square at the center',
                    gt_caption=['x y z', 'A small blue square at the center'])]
    out = run_metric(samples)
    assert set(out) == {f'caption/BLEU-{n}' for n in range(1, 5)}
    for value in out.values():
        assert value == pytest.approx(100.0, abs=1e-9)


def test_metric_matches_the_function_and_names_bad_samples():
    out = run_metric([dict(pred_caption=' '.join(CAND), caption=' '.join(REF))], prefix='val')
    assert out['val/BLEU-3'] == pytest.approx(50.0, abs=1e-9)
    with pytest.raises(KeyError, match='sample 7'):
        run_metric([dict(pred_caption='a', sample_idx=7)])
    with pytest.raises(KeyError, match='pred_caption'):
        run_metric([dict(caption='a', sample_idx=3)])
