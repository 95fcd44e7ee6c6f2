"""Group selection rules and the seeded stratified holdout shared by Class-COCO and Oxford-102."""
import numpy as np
import pytest

from cmda_mm.datasets.grouping import resolve_groups, stratified_holdout

NAMES = ['a', 'b', 'c', 'd', 'e']
COUNTS = [10, 7000, 6001, 6000, 7000]


def test_group_specs():
    assert resolve_groups(None, NAMES, COUNTS) == [0, 1, 2, 3, 4]
    assert resolve_groups(2, NAMES, COUNTS) == [1, 4]  # largest, in label order
    assert resolve_groups(3, NAMES, COUNTS) == [1, 2, 4]
    assert resolve_groups(dict(min_samples=6000), NAMES, COUNTS) == [1, 2, 4]  # strictly more than
    assert resolve_groups(['e', 'a'], NAMES, COUNTS) == [4, 0]
    assert resolve_groups('mine', NAMES, COUNTS, presets={'mine': ['c']}) == [2]
    for spec, error in ((0, 'between 1 and 5'), (dict(max=3), 'min_samples'), (dict(min_samples=9999), 'no group'),
                        ('other', 'unknown preset'), (['a', 'a'], 'duplicate'), (['z'], "'z'"), (True, 'expected')):
        with pytest.raises((ValueError, TypeError), match=error):
            resolve_groups(spec, NAMES, COUNTS, what='groups')


def test_holdout_fraction_is_stratified_seeded_and_selection_independent():
    groups = np.repeat([0, 1, 2], [50, 20, 1])
    mask = stratified_holdout(groups, 0.2, seed=3)
    assert [int(mask[groups == g].sum()) for g in range(3)] == [10, 4, 0]
    np.testing.assert_array_equal(mask, stratified_holdout(groups, 0.2, seed=3))
    assert not np.array_equal(mask, stratified_holdout(groups, 0.2, seed=4))
    # a unit's side does not depend on the other groups being there
    alone = stratified_holdout(groups[groups == 1], 0.2, seed=3)
    np.testing.assert_array_equal(alone, mask[groups == 1])
    tiny = stratified_holdout(np.array([0, 0, 1, 1, 1]), 0.01)
    assert tiny.sum() == 2  # at least one per group of two or more


def test_holdout_exact_total():
    groups = np.repeat([0, 1, 2], [5, 4, 3])
    mask = stratified_holdout(groups, 4)
    assert mask.sum() == 4 and [int(mask[groups == g].sum()) for g in range(3)] == [2, 1, 1]
    sizes = np.repeat(np.arange(10), [258, 251, 196, 194, 184, 171, 166, 162, 154, 137])
    assert stratified_holdout(sizes, 442).sum() == 442
    with pytest.raises(ValueError, match='fraction'):
        stratified_holdout(groups, 1.5)
