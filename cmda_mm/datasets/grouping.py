"""Group selection and seeded holdout splits shared by the paper's datasets.

Class-COCO and Oxford-102 both pick *groups* (classes) by a rule — all of
them, the k largest, those above a size threshold, a named preset or an
explicit list — and split every group's *units* (images: all captions of an
image stay on one side) into train and test with a seeded, stratified holdout.
"""
from typing import Dict, List, Mapping, Optional, Sequence, Union

import numpy as np

__all__ = ['GroupSpec', 'resolve_groups', 'stratified_holdout']

# None | k largest | dict(min_samples=N) | preset name | explicit names
GroupSpec = Union[None, int, Mapping, str, Sequence[str]]


def resolve_groups(spec: GroupSpec,
                   names: Sequence[str],
                   counts: Sequence[int],
                   presets: Optional[Dict[str, Sequence[str]]] = None,
                   what: str = 'groups') -> List[int]:
    """Indices (into ``names``) of the groups a spec selects.

    Args:
        spec: ``None`` (all groups, in order); an int ``k`` (the ``k`` groups
            with most samples, ties broken by index, returned in index order);
            ``dict(min_samples=N)`` (groups with *more than* ``N`` samples, in
            index order); a preset name (a key of ``presets``); or a sequence
            of group names (kept in the given order).
        names (Sequence[str]): All group names.
        counts (Sequence[int]): Samples per group, aligned with ``names``.
        presets (dict, optional): Named lists of group names.
        what (str): What the spec selects, for error messages.

    Returns:
        List[int]: The selected group indices.
    """
    counts = np.asarray(counts, dtype=np.int64)
    if spec is None:
        return list(range(len(names)))
    if isinstance(spec, bool):
        raise TypeError(f'{what}: expected None, an int, dict(min_samples=N),'
                        f' a preset name or a list of names, got {spec!r}.')
    if isinstance(spec, (int, np.integer)):
        k = int(spec)
        if not 1 <= k <= len(names):
            raise ValueError(f'{what}={k}: choose between 1 and {len(names)} '
                             'groups.')
        order = np.lexsort((np.arange(len(counts)), -counts))  # size desc
        return sorted(order[:k].tolist())
    if isinstance(spec, Mapping):
        if set(spec) != {'min_samples'}:
            raise ValueError(f'{what}: a dict spec takes exactly one key, '
                             f"'min_samples', got {sorted(spec)}.")
        chosen = np.flatnonzero(counts > int(spec['min_samples'])).tolist()
        if not chosen:
            raise ValueError(f"{what}: no group has more than "
                             f"{spec['min_samples']} samples (largest: "
                             f'{int(counts.max()) if len(counts) else 0}).')
        return chosen
    if isinstance(spec, str):
        presets = presets or {}
        if spec not in presets:
            raise ValueError(f'{what}: unknown preset {spec!r}; presets are '
                             f'{sorted(presets)} (or pass a list of names).')
        spec = presets[spec]
    index = {name: i for i, name in enumerate(names)}
    missing = [name for name in spec if name not in index]
    if missing:
        raise ValueError(f'{what}: unknown group names {missing}; known '
                         f'names start with {list(names[:5])}.')
    if len(set(spec)) != len(spec):
        raise ValueError(f'{what}: duplicate group names in {list(spec)}.')
    if not spec:
        raise ValueError(f'{what}: the list of groups is empty.')
    return [index[name] for name in spec]


def _allocate(sizes: np.ndarray, total: int) -> np.ndarray:
    """Split ``total`` over groups proportionally (largest remainder)."""
    quota = sizes * total / max(int(sizes.sum()), 1)
    alloc = np.floor(quota).astype(np.int64)
    order = np.lexsort((np.arange(len(sizes)), -(quota - alloc)))
    alloc[order[:total - int(alloc.sum())]] += 1
    return alloc


def stratified_holdout(groups: np.ndarray,
                       test_size: Union[float, int],
                       seed: int = 0) -> np.ndarray:
    """A seeded test mask over units, stratified by group.

    Args:
        groups (np.ndarray): Group index of every unit (e.g. image).
        test_size (float | int): A fraction in [0, 1) of every group
            (``round(n * f)``, at least 1 and at most ``n - 1`` for a group of
            ``n > 1`` units when ``f > 0``); or an int, the exact total number
            of test units, spread over the groups in proportion to their
            sizes (largest remainder).
        seed (int): Seed; each group draws from ``default_rng([seed, g])``,
            so a unit's side does not depend on which other groups are used
            (fractions) and is the same on every run.

    Returns:
        np.ndarray: Boolean mask, True for test units.
    """
    groups = np.asarray(groups, dtype=np.int64)
    uniq = np.unique(groups)
    sizes = np.array([(groups == g).sum() for g in uniq], dtype=np.int64)
    if isinstance(test_size, (int, np.integer)) and not isinstance(
            test_size, bool):
        if not 0 <= test_size <= len(groups):
            raise ValueError(f'test_size={test_size} must be in '
                             f'[0, {len(groups)}] units.')
        n_test = _allocate(sizes, int(test_size))
    else:
        if not 0.0 <= float(test_size) < 1.0:
            raise ValueError(f'test_size={test_size} must be a fraction in '
                             '[0, 1) or an int count.')
        n_test = np.rint(sizes * float(test_size)).astype(np.int64)
        if test_size > 0:
            n_test = np.where(sizes > 1, np.clip(n_test, 1, sizes - 1), 0)
    mask = np.zeros(len(groups), dtype=bool)
    for g, n in zip(uniq, n_test):
        members = np.flatnonzero(groups == g)
        rng = np.random.default_rng([int(seed), int(g)])
        mask[rng.permutation(members)[:n]] = True
    return mask
