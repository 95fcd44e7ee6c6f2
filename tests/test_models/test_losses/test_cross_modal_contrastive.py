"""Tests of the CMDA cross-modal contrastive loss (Eq. 7 and Eq. 8) against loop references."""
import math
from typing import List

import pytest
import torch
import torch.nn.functional as F

import cmda_mm.models.losses  # noqa: F401  (registers the loss)
from cmda_mm.models.losses import (CrossModalContrastiveLoss, cross_modal_contrastive_loss,
                                   supervised_cross_modal_contrastive_loss)
from cmda_mm.registry import MODELS


def _embeddings(num_modalities: int, num_samples: int, dim: int = 5, seed: int = 0) -> torch.Tensor:
    """L2-normalised float64 embeddings ``(K, m, D)``."""
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(num_modalities, num_samples, dim, generator=gen, dtype=torch.float64)
    return F.normalize(z, dim=-1)


def _exp_sim(z: torch.Tensor, i: int, p: int, j: int, q: int, tau: float) -> float:
    return math.exp(float(torch.dot(z[p, i], z[q, j])) / tau)


def _ref_denominator(z: torch.Tensor, i: int, tau: float, include_positive: bool) -> float:
    num_modalities, num_samples = z.shape[:2]
    total = 0.0
    for p in range(num_modalities):
        for q in range(num_modalities):
            for l in range(num_samples):  # noqa: E741
                if p != q and (l != i or include_positive):
                    total += _exp_sim(z, i, p, l, q, tau)
    return total


def _ref_numerator(z: torch.Tensor, i: int, j: int, tau: float) -> float:
    num_modalities = z.shape[0]
    return sum(
        _exp_sim(z, i, p, j, q, tau) for p in range(num_modalities) for q in range(num_modalities)
        if p != q)


def ref_eq7(z: torch.Tensor, tau: float, include_positive: bool = False) -> List[float]:
    """Eq. 7 written as loops straight from the paper."""
    return [
        -math.log(_ref_numerator(z, i, i, tau) / _ref_denominator(z, i, tau, include_positive))
        for i in range(z.shape[1])
    ]


def ref_eq8(z: torch.Tensor, labels: List[int], tau: float, include_positive: bool = False) -> List[float]:
    """Eq. 8 written as loops: j != i of the same class, Eq. 7 fallback for singleton classes."""
    num_samples = z.shape[1]
    out = []
    for i in range(num_samples):
        positives = [j for j in range(num_samples) if j != i and labels[j] == labels[i]]
        denominator = _ref_denominator(z, i, tau, include_positive)
        if not positives:
            out.append(-math.log(_ref_numerator(z, i, i, tau) / denominator))
            continue
        total = sum(math.log(_ref_numerator(z, i, j, tau) / denominator) for j in positives)
        out.append(-total / len(positives))
    return out


@pytest.mark.parametrize('num_modalities', [2, 3])
@pytest.mark.parametrize('include_positive', [False, True])
def test_eq7_matches_loop_reference(num_modalities, include_positive):
    z = _embeddings(num_modalities, 6)
    tau = 0.5
    got = cross_modal_contrastive_loss(z, tau, include_positive=include_positive)
    expected = torch.tensor(ref_eq7(z, tau, include_positive), dtype=torch.float64)
    assert got.shape == (6, )
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize('num_modalities', [2, 3])
@pytest.mark.parametrize('include_positive', [False, True])
def test_eq8_matches_loop_reference(num_modalities, include_positive):
    z = _embeddings(num_modalities, 7, seed=1)
    labels = [0, 1, 0, 2, 1, 0, 3]  # classes 2 and 3 are singletons -> Eq. 7 fallback
    tau = 0.5
    got = supervised_cross_modal_contrastive_loss(
        z, torch.tensor(labels), tau, include_positive=include_positive)
    expected = torch.tensor(ref_eq8(z, labels, tau, include_positive), dtype=torch.float64)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)


def test_singleton_class_equals_eq7_term():
    z = _embeddings(3, 5, seed=2)
    labels = torch.tensor([0, 0, 1, 0, 2])
    sup = supervised_cross_modal_contrastive_loss(z, labels, 0.2)
    unsup = cross_modal_contrastive_loss(z, 0.2)
    torch.testing.assert_close(sup[[2, 4]], unsup[[2, 4]])
    assert not torch.allclose(sup[[0, 1, 3]], unsup[[0, 1, 3]])
    # all-distinct labels reduce Eq. 8 to Eq. 7 exactly
    torch.testing.assert_close(
        supervised_cross_modal_contrastive_loss(z, torch.arange(5), 0.2), unsup)


@pytest.mark.parametrize('supervised', [False, True])
def test_module_matches_functions_and_reductions(supervised):
    z = torch.randn(3, 6, 4, generator=torch.Generator().manual_seed(3))
    labels = torch.tensor([0, 1, 0, 1, 2, 2])
    zn = F.normalize(z, dim=-1)
    terms = (supervised_cross_modal_contrastive_loss(zn, labels, 0.1)
             if supervised else cross_modal_contrastive_loss(zn, 0.1))
    kwargs = dict(temperature=0.1, supervised=supervised)
    as_list = CrossModalContrastiveLoss(**kwargs)(list(z), labels)
    as_tensor = CrossModalContrastiveLoss(**kwargs)(z, labels)
    torch.testing.assert_close(as_list, terms.mean())
    torch.testing.assert_close(as_tensor, terms.mean())
    summed = CrossModalContrastiveLoss(reduction='sum', loss_weight=0.1, **kwargs)(z, labels)
    torch.testing.assert_close(summed, 0.1 * terms.sum())
    torch.testing.assert_close(CrossModalContrastiveLoss(reduction='none', **kwargs)(z, labels), terms)
    # normalize=False uses the raw dot products
    raw = CrossModalContrastiveLoss(normalize=False, reduction='none', **kwargs)(z, labels)
    expected_raw = (supervised_cross_modal_contrastive_loss(z, labels, 0.1)
                    if supervised else cross_modal_contrastive_loss(z, 0.1))
    torch.testing.assert_close(raw, expected_raw)


def test_one_hot_and_soft_labels_equal_class_ids():
    z = _embeddings(2, 6, seed=4)
    labels = torch.tensor([0, 1, 1, 2, 0, 2])
    loss = CrossModalContrastiveLoss(supervised=True)
    expected = loss(z, labels)
    torch.testing.assert_close(loss(z, F.one_hot(labels, 3).float()), expected)
    soft = F.one_hot(labels, 3).double() * 0.8 + 0.1
    torch.testing.assert_close(loss(z, soft), expected)


@pytest.mark.parametrize('supervised', [False, True])
@pytest.mark.parametrize('include_positive', [False, True])
def test_gradients_are_finite_and_nonzero(supervised, include_positive):
    z = torch.randn(3, 5, 4, generator=torch.Generator().manual_seed(5), requires_grad=True)
    loss_fn = CrossModalContrastiveLoss(temperature=0.1, supervised=supervised,
                                        include_positive=include_positive)
    loss = loss_fn(z, torch.tensor([0, 0, 1, 1, 2]))
    loss.backward()
    assert torch.isfinite(z.grad).all()
    assert z.grad.abs().sum() > 0


@pytest.mark.parametrize('supervised', [False, True])
@pytest.mark.parametrize('include_positive', [False, True])
def test_small_temperature_is_finite(supervised, include_positive):
    base = F.normalize(torch.randn(4, 8, generator=torch.Generator().manual_seed(6)), dim=-1)
    z = [base.clone().requires_grad_(), base.clone().requires_grad_()]  # perfectly aligned
    loss = CrossModalContrastiveLoss(temperature=0.01, supervised=supervised,
                                     include_positive=include_positive)(z, torch.tensor([0, 0, 1, 1]))
    assert torch.isfinite(loss)
    loss.backward()
    assert all(torch.isfinite(t.grad).all() for t in z)


@pytest.mark.parametrize('num_modalities', [2, 3])
def test_aligned_pairs_beat_shuffled_pairs(num_modalities):
    # well-separated samples: orthogonal basis vectors, each modality a tiny perturbation of them
    num_samples = 6
    base = torch.eye(num_samples, 8, dtype=torch.float64)
    gen = torch.Generator().manual_seed(7)
    aligned = [base + 0.05 * torch.randn(base.shape, generator=gen, dtype=torch.float64)
               for _ in range(num_modalities)]
    shuffled = [aligned[0]] + [a[torch.roll(torch.arange(num_samples), k)]
                               for k, a in enumerate(aligned[1:], start=1)]
    for supervised in (False, True):
        loss_fn = CrossModalContrastiveLoss(temperature=0.1, supervised=supervised)
        labels = torch.tensor([0, 0, 1, 1, 2, 2]) if supervised else None
        if supervised:  # class structure: samples of a class share a direction
            base_sup = torch.eye(3, 8, dtype=torch.float64)[labels]
            aligned_s = [base_sup + 0.05 * torch.randn(base_sup.shape, generator=gen, dtype=torch.float64)
                         for _ in range(num_modalities)]
            shuffled_s = [aligned_s[0]] + [a[torch.roll(torch.arange(num_samples), 2 * k)]
                                           for k, a in enumerate(aligned_s[1:], start=1)]
            assert loss_fn(aligned_s, labels) < loss_fn(shuffled_s, labels)
        else:
            assert loss_fn(aligned) < loss_fn(shuffled)


def test_registry_build():
    loss_fn = MODELS.build(
        dict(type='CrossModalContrastiveLoss', temperature=0.07, supervised=True, loss_weight=0.1))
    assert isinstance(loss_fn, CrossModalContrastiveLoss)
    assert loss_fn.temperature == pytest.approx(0.07) and loss_fn.loss_weight == pytest.approx(0.1)
    out = loss_fn([torch.randn(4, 3), torch.randn(4, 3)], torch.tensor([0, 1, 0, 1]))
    assert out.dim() == 0 and torch.isfinite(out)


def test_half_precision_is_upcast():
    z = torch.randn(2, 4, 8, generator=torch.Generator().manual_seed(8))
    loss_fn = CrossModalContrastiveLoss(temperature=0.01)
    out = loss_fn(z.to(torch.bfloat16))
    assert out.dtype == torch.float32 and torch.isfinite(out)


@pytest.mark.parametrize('embeddings, match', [
    ([torch.randn(4, 3)], 'embeddings must hold K >= 2'),
    (torch.randn(1, 4, 3), 'embeddings must hold K >= 2'),
    ([], 'embeddings must hold K >= 2'),
    ([torch.randn(4, 3), torch.randn(5, 3)], r'embeddings\[1\] has 5 samples \(m\)'),
    ([torch.randn(4, 3), torch.randn(4, 3), torch.randn(4, 6)], r'embeddings\[2\] has embedding dim \(D\)'),
    ([torch.randn(4, 3), torch.randn(4)], r'embeddings\[1\] must be an \(m, D\) tensor'),
    (torch.randn(4, 3), 'embeddings must be a \\(K, m, D\\) tensor'),
    ([torch.randn(1, 3), torch.randn(1, 3)], 'embeddings must hold m >= 2 samples'),
    ([torch.randn(4, 3), torch.tensor([[float('nan')] * 3] * 4)], 'embeddings contain NaN or Inf'),
    ([torch.randn(4, 3), torch.full((4, 3), float('inf'))], 'embeddings contain NaN or Inf'),
])
def test_bad_embeddings_raise(embeddings, match):
    with pytest.raises(ValueError, match=match):
        CrossModalContrastiveLoss(debug=True)(embeddings)
    with pytest.raises(ValueError, match=match):
        cross_modal_contrastive_loss(embeddings, 0.1)


def test_bad_labels_raise():
    z = [torch.randn(4, 3), torch.randn(4, 3)]
    loss_fn = CrossModalContrastiveLoss(supervised=True)
    with pytest.raises(ValueError, match='labels must be given'):
        loss_fn(z)
    with pytest.raises(ValueError, match='labels must be given'):
        supervised_cross_modal_contrastive_loss(torch.stack(z), None, 0.1)
    with pytest.raises(ValueError, match='labels has length 3'):
        loss_fn(z, torch.tensor([0, 1, 0]))
    with pytest.raises(ValueError, match='labels has length 5'):
        loss_fn(z, torch.zeros(5, 2))
    with pytest.raises(ValueError, match='labels must be'):
        loss_fn(z, torch.zeros(4, 2, 2))
    # the unsupervised loss ignores labels
    assert torch.isfinite(CrossModalContrastiveLoss()(z, torch.tensor([0, 1, 0])))


@pytest.mark.parametrize('temperature', [0, -0.1, float('inf'), float('nan')])
def test_bad_temperature_raises(temperature):
    with pytest.raises(ValueError, match='temperature'):
        CrossModalContrastiveLoss(temperature=temperature)
    with pytest.raises(ValueError, match='temperature'):
        cross_modal_contrastive_loss(_embeddings(2, 3), temperature)


def test_bad_reduction_raises():
    with pytest.raises(ValueError, match='reduction'):
        CrossModalContrastiveLoss(reduction='avg')


@pytest.mark.parametrize('supervised', [False, True])
def test_module_reads_no_tensor_value_outside_debug(monkeypatch, supervised):
    """The training-step loss makes no device-to-host sync (value checks only with debug=True)."""
    z = [torch.randn(6, 4), torch.randn(6, 4)]
    labels = torch.tensor([0, 1, 0, 1, 2, 2])

    def read(*args, **kwargs):
        raise AssertionError('host read of a tensor value')

    loss_fn = CrossModalContrastiveLoss(supervised=supervised)
    with monkeypatch.context() as m:
        for name in ('__bool__', '__int__', '__float__', 'item', 'tolist'):
            m.setattr(torch.Tensor, name, read)
        loss = loss_fn(z, labels)
        with pytest.raises(AssertionError, match='host read'):
            CrossModalContrastiveLoss(supervised=supervised, debug=True)(z, labels)
    assert torch.isfinite(loss)
