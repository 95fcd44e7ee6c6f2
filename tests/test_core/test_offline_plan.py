"""cmda_mm.core.offline: the pure part of offline CMDA (plans, pool weights, new samples)."""
import torch
import torch.nn.functional as F

import cmda_mm.core as core
import cmda_mm.core.offline as pure


def _embedded(n=12, d=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return pure.EmbeddedSet(torch.randn(n, 3, generator=g), F.normalize(torch.randn(n, d, generator=g), dim=1),
                            F.normalize(torch.randn(n, d, generator=g), dim=1), torch.arange(n) % 3)


def test_core_offline_is_framework_free():
    source = open(pure.__file__).read()
    assert 'mmengine' not in source and 'mmpretrain' not in source


def test_offline_weights_match_the_online_mixer():
    """Offline CMDA computes a pool's weights with the same core functions as the online step."""
    g = torch.Generator().manual_seed(0)
    z_s = torch.nn.functional.normalize(torch.randn(8, 4, generator=g), dim=1)
    z_t = torch.nn.functional.normalize(torch.randn(8, 4, generator=g), dim=1)
    rows = torch.arange(8)
    _, _, final = pure.pool_weights(z_t, z_s, rows, None, None, 'softmax', 0.2, 3)
    online = core.CrossModalMixer(normalization='softmax', temperature=0.2, top_k=3, fraction=1.0, dca=False,
                                  pair_weight=dict(type='teacher'))  # offline CMDA is the paper's step
    torch.testing.assert_close(final, online(z_t, z_s).weights)


def test_plan_cycles_teachers_and_pools_hold_their_pairs():
    plan = pure.make_plan(12, 30, pool='batch', pool_size=5, seed=0)
    counts = torch.bincount(plan.teacher, minlength=12)
    assert counts.min() >= 2 and counts.max() <= 3  # floor / ceil of 30 / 12
    for r in range(30):
        assert plan.pools[plan.pool_of[r], plan.position[r]] == plan.teacher[r]
    again = pure.make_plan(12, 30, pool='batch', pool_size=5, seed=0)
    assert torch.equal(again.teacher, plan.teacher)


def test_generated_rows_are_w_at_x_with_soft_targets():
    data = _embedded()
    plan = pure.make_plan(12, 12, pool='all', seed=0)
    out = pure.generate_rows(plan, 0, 12, data, None, 3, 'softmax', 0.5, top_k=None)
    weights = core.inter_modal_weights(data.z_teacher[plan.teacher], data.z_student, plan.teacher, 'softmax', 0.5,
                                       None)
    torch.testing.assert_close(out['x'], weights @ data.student)
    torch.testing.assert_close(out['score'], weights @ F.one_hot(data.labels, 3).float())
