import pytest
import torch
import torch.nn.functional as F

from cmda_mm.core.weights import NORMALIZATIONS, inter_modal_weights


def _emb(n, d=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    return F.normalize(torch.randn(n, d, generator=g), dim=1)


@pytest.mark.parametrize('normalization', NORMALIZATIONS)
@pytest.mark.parametrize('top_k', [1, 2, 4, None])
def test_rows_are_convex_and_contain_pair(normalization, top_k):
    t, s = _emb(16, seed=1), _emb(16, seed=2)
    w = inter_modal_weights(t, s, normalization=normalization, top_k=top_k, temperature=0.5)
    assert w.shape == (16, 16)
    assert (w >= 0).all()
    torch.testing.assert_close(w.sum(1), torch.ones(16))
    k = 16 if top_k is None else top_k
    assert ((w > 0).sum(1) <= k).all()
    # 'ratio' can zero a chosen column with a negative score; the pair is chosen, and keeps weight
    # unless its own score is <= 0 while another chosen score is positive.
    if normalization != 'ratio':
        assert (w.diagonal() > 0).all()


def test_pair_always_selected_even_when_scored_low():
    s = _emb(8, seed=3)
    t = -s.clone()  # each teacher row anti-aligned with its own pair: the pair scores lowest
    w = inter_modal_weights(t, s, normalization='softmax', top_k=2)
    assert (w.diagonal() > 0).all()
    assert ((w > 0).sum(1) == 2).all()


def test_ratio_all_nonpositive_row_falls_back_to_pair():
    s = torch.eye(4)
    t = -torch.eye(4)  # every score <= 0
    w = inter_modal_weights(t, s, normalization='ratio', top_k=3)
    torch.testing.assert_close(w, torch.eye(4))


def test_ratio_matches_paper_formula_on_positive_scores():
    s = F.normalize(torch.rand(6, 5) + 0.1, dim=1)  # non-negative vectors: all scores > 0
    t = F.normalize(torch.rand(6, 5) + 0.1, dim=1)
    w = inter_modal_weights(t, s, normalization='ratio', top_k=None)
    scores = t @ s.t()
    torch.testing.assert_close(w, scores / scores.sum(1, keepdim=True))


def test_softmax_temperature_sharpens():
    t, s = _emb(10, seed=4), _emb(10, seed=5)
    soft = inter_modal_weights(t, s, normalization='softmax', temperature=1.0, top_k=None)
    sharp = inter_modal_weights(t, s, normalization='softmax', temperature=0.01, top_k=None)
    assert sharp.max(1).values.mean() > soft.max(1).values.mean()


def test_abs_gives_weight_to_anticorrelated():
    s = torch.tensor([[1.0, 0.0], [-1.0, 0.0]])
    t = torch.tensor([[1.0, 0.0]])
    w_abs = inter_modal_weights(t, s, pair_index=torch.tensor([0]), normalization='abs', top_k=None)
    w_ratio = inter_modal_weights(t, s, pair_index=torch.tensor([0]), normalization='ratio', top_k=None)
    torch.testing.assert_close(w_abs, torch.tensor([[0.5, 0.5]]))
    torch.testing.assert_close(w_ratio, torch.tensor([[1.0, 0.0]]))


def test_subset_rows_with_pair_index():
    t, s = _emb(10, seed=6), _emb(10, seed=7)
    rows = torch.tensor([1, 4, 7])
    full = inter_modal_weights(t, s, top_k=3, normalization='softmax')
    sub = inter_modal_weights(t[rows], s, pair_index=rows, top_k=3, normalization='softmax')
    torch.testing.assert_close(sub, full[rows])


@pytest.mark.parametrize('kwargs, match', [
    (dict(teacher=torch.randn(4, 3), student=torch.randn(5, 4)), 'student'),
    (dict(teacher=torch.randn(4), student=torch.randn(4, 4)), 'teacher'),
    (dict(teacher=torch.randn(0, 4), student=torch.randn(4, 4)), 'teacher'),
    (dict(teacher=torch.full((4, 4), float('nan')), student=torch.randn(4, 4)), 'teacher'),
    (dict(teacher=torch.randn(4, 4), student=torch.tensor([[float('inf')] * 4] * 4)), 'student'),
    (dict(teacher=torch.randn(4, 4), student=torch.randn(4, 4), normalization='l1'), 'normalization'),
    (dict(teacher=torch.randn(4, 4), student=torch.randn(4, 4), top_k=0), 'top_k'),
    (dict(teacher=torch.randn(4, 4), student=torch.randn(4, 4), pair_index=torch.tensor([0, 1])),
     'pair_index'),
    (dict(teacher=torch.randn(2, 4), student=torch.randn(4, 4), pair_index=torch.tensor([0, 9])),
     'pair_index'),
    (dict(teacher=torch.randn(6, 4), student=torch.randn(4, 4)), 'pair_index'),
    (dict(teacher=torch.randn(4, 4), student=torch.randn(4, 4), normalization='softmax', temperature=0),
     'temperature'),
])
def test_bad_input_names_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        inter_modal_weights(**kwargs)


def test_abs_chooses_top_k_by_magnitude():
    """'abs' weighs by |score|, so it must also choose m' by |score|: the anti-correlated sample is picked."""
    t = torch.tensor([[1.0, 0.0]])
    s = torch.tensor([[1.0, 0.0], [-0.95, 0.31], [0.6, 0.8]])  # pair, anti-correlated, weakly correlated
    w = inter_modal_weights(t, s, normalization='abs', top_k=2)
    assert w[0].nonzero().flatten().tolist() == [0, 1]
    ratio = inter_modal_weights(t, s, normalization='ratio', top_k=2)
    assert ratio[0].nonzero().flatten().tolist() == [0, 2]
