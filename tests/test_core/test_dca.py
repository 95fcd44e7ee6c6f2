import pytest
import torch
import torch.nn.functional as F

from cmda_mm.core.dca import apply_dca, dca_weights
from cmda_mm.core.weights import inter_modal_weights


def _resp(n, m, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.softmax(torch.randn(n, m, generator=g) * 2, dim=1)


def test_dca_equals_naive_loop():
    rows, cols = _resp(5, 3, 0), _resp(9, 3, 1)
    w = dca_weights(rows, cols)
    ref = torch.empty(5, 9)
    for i in range(5):
        c_i = int(rows[i].argmax())
        for j in range(9):
            c_j = int(cols[j].argmax())
            ref[i, j] = rows[i, c_j] + rows[i, c_i]
    torch.testing.assert_close(w, ref)


def test_dca_favours_same_cluster():
    resp = torch.tensor([[0.9, 0.1], [0.8, 0.2], [0.1, 0.9]])
    w = dca_weights(resp, resp)
    assert w[0, 1] > w[0, 2]  # 1 shares 0's cluster, 2 does not
    torch.testing.assert_close(w[0], torch.tensor([1.8, 1.8, 1.0]))


def test_apply_dca_is_convex_and_keeps_support():
    g = torch.Generator().manual_seed(3)
    t, s = F.normalize(torch.randn(8, 4, generator=g), dim=1), F.normalize(torch.randn(8, 4, generator=g), dim=1)
    inter = inter_modal_weights(t, s, normalization='softmax', top_k=3)
    resp = _resp(8, 2, 4)
    w = apply_dca(inter, dca_weights(resp, resp), torch.arange(8))
    torch.testing.assert_close(w.sum(1), torch.ones(8))
    assert ((w > 0) == (inter > 0)).all()
    expected = inter * dca_weights(resp, resp)
    torch.testing.assert_close(w, expected / expected.sum(1, keepdim=True))


def test_dca_bad_input():
    with pytest.raises(ValueError, match='resp_cols'):
        dca_weights(_resp(3, 2, 0), _resp(3, 3, 0))
    with pytest.raises(ValueError, match='intra'):
        apply_dca(torch.ones(2, 3) / 3, torch.ones(3, 3), torch.arange(2))


@pytest.mark.parametrize('kwargs, expected', [
    (dict(n_components=8), 5),
    (dict(n_components=[2, 8]), (2, 5)),
    (dict(n_components=4, max_samples=3), 3),
])
def test_fit_dca_clips_m_to_the_embeddings_available(kwargs, expected):
    from cmda_mm.core import fit_dca
    z = F.normalize(torch.randn(5, 4, generator=torch.Generator().manual_seed(0)), dim=1)
    with pytest.warns(UserWarning, match='DCA: '):
        gmm, scores = fit_dca(z, seed=0, **kwargs)
    if isinstance(expected, tuple):
        assert sorted(scores) == list(expected) and gmm.n_components in expected
    else:
        assert gmm.n_components == expected


def test_fit_dca_is_the_one_fit():
    """DCAHook, the per-batch path and offline CMDA share cmda_mm.core.dca.fit_dca."""
    from pathlib import Path

    import cmda_mm.core.mixer as mixer_module
    import cmda_mm.engine.hooks.dca_hook as hook_module
    from cmda_mm.core import fit_dca
    assert mixer_module.fit_dca is fit_dca and hook_module.fit_dca is fit_dca
    tools = Path(__file__).resolve().parents[2] / 'tools'
    for tool in ('augment_offline.py', 'visualize_augment.py'):  # the offline path
        assert 'from cmda_mm.core.dca import fit_dca' in (tools / tool).read_text()
