import pytest
import torch
import torch.nn.functional as F

from cmda_mm.core.mixing import mix, select_rows, soft_targets
from cmda_mm.core.weights import inter_modal_weights


def _weights(r, n, seed=0, k=3):
    g = torch.Generator().manual_seed(seed)
    t, s = F.normalize(torch.randn(n, 6, generator=g), dim=1), F.normalize(torch.randn(n, 6, generator=g), dim=1)
    rows = torch.arange(r)
    return inter_modal_weights(t[rows], s, pair_index=rows, normalization='softmax', top_k=k)


@pytest.mark.parametrize('shape', [(10, 7), (10, 3, 5, 4)])
def test_mix_equals_loop_and_stays_in_range(shape):
    g = torch.Generator().manual_seed(1)
    x = torch.rand(*shape, generator=g)
    w = _weights(6, 10)
    out = mix(x, w)
    ref = torch.stack([sum(w[r, j] * x[j] for j in range(10)) for r in range(6)])
    torch.testing.assert_close(out, ref)
    lo, hi = x.min(0).values, x.max(0).values
    assert (out >= lo - 1e-6).all() and (out <= hi + 1e-6).all()


def test_soft_targets_sum_to_one_and_equal_label_when_same_class():
    w = _weights(4, 8)
    y = F.one_hot(torch.tensor([0, 1, 2, 0, 1, 2, 0, 1]), 3).float()
    t = soft_targets(w, y)
    torch.testing.assert_close(t.sum(1), torch.ones(4))
    same = F.one_hot(torch.zeros(8, dtype=torch.long), 3).float()
    torch.testing.assert_close(soft_targets(w, same), same[:4])


@pytest.mark.parametrize('fraction, expected', [(0.0, 0), (0.5, 4), (0.3, 2), (1.0, 8)])
def test_select_rows_count(fraction, expected):
    rows = select_rows(8, fraction, torch.Generator().manual_seed(0))
    assert rows.numel() == expected
    assert rows.unique().numel() == expected


def test_bad_input():
    with pytest.raises(ValueError, match='x'):
        mix(torch.rand(5, 3), torch.rand(2, 4))
    with pytest.raises(ValueError, match='weights'):
        mix(torch.rand(5, 3), torch.rand(5))
    with pytest.raises(ValueError, match='targets'):
        soft_targets(torch.rand(2, 4), torch.rand(3, 2))
    with pytest.raises(ValueError, match='fraction'):
        select_rows(4, 1.5)


def test_soft_targets_are_float32_for_bf16_targets():
    """Under autocast the targets can arrive in bf16: W @ Y stays float32 (rows sum to 1 within 1e-6, not 3e-3)."""
    w = _weights(16, 64, k=64)
    y = F.one_hot(torch.arange(64) % 10, 10).to(torch.bfloat16)
    out = soft_targets(w, y)
    assert out.dtype == torch.float32
    assert (out.sum(1) - 1).abs().max() < 1e-6
    assert soft_targets(w.double(), y.double()).dtype == torch.float64  # wider stays wider
