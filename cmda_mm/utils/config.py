"""Config helpers used by the tools."""
import os.path as osp
from typing import Any, Optional

from mmengine.logging import print_log

__all__ = ['set_data_root']

_LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def _moves(dataset: dict, old: Optional[str]) -> bool:
    """Whether ``dataset`` is rooted at the config's data root (or has none, or the config names none)."""
    own = dataset.get('data_root')
    return old is None or own is None or osp.normpath(str(own)) == osp.normpath(str(old))


def _set(dataset: Any, root: str, old: Optional[str] = None) -> int:
    if not isinstance(dataset, dict):
        return 0
    count = 0
    if 'data_root' in dataset or 'ann_file' in dataset:
        if _moves(dataset, old):
            dataset['data_root'] = root
            count += 1
        else:
            print_log(f"--data-root {root}: {dataset.get('type', 'a dataset')} keeps its own root "
                      f"{dataset['data_root']!r} (not the config's data_root {old!r}); set it with --cfg-options",
                      'current')
    # wrappers: RepeatDataset, ClassBalancedDataset (dataset), ConcatDataset (datasets),
    # AnomalySplitDataset (dataset, eval_dataset)
    for key, inner in dataset.items():
        if not key.endswith(('dataset', 'datasets')):
            continue
        for item in inner if isinstance(inner, (list, tuple)) else [inner]:
            count += _set(item, root, old)
    return count


def set_data_root(cfg, root: str) -> int:
    """Point every dataloader's dataset (wrappers included) at ``root``.

    Overriding a config variable like ``data_root`` with ``--cfg-options`` does not reach the dataloaders,
    because MMEngine substitutes base variables when the file is parsed; this walks the parsed config.

    A dataset rooted elsewhere than the config's ``data_root`` variable keeps its root (and says so): the
    offline CMDA downstream configs concatenate the original data with the samples ``augment_offline.py`` wrote
    under ``work_dirs/offline/...``. A config without a ``data_root`` variable moves every dataset.

    Args:
        cfg (mmengine.Config): the config, changed in place.
        root (str): the new data root.

    Returns:
        int: how many dataset configs were changed.
    """
    count = 0
    old = cfg.get('data_root')
    for name in _LOADERS:
        loader = cfg.get(name)
        if isinstance(loader, dict):
            count += _set(loader.get('dataset'), root, old)
    count += _set_in_model(cfg.get('model'), root, old)
    cfg.data_root = root
    return count


def _set_in_model(node: Any, root: str, old: Optional[str] = None) -> int:
    """Datasets nested in the model config (e.g. a captioner's ``vocab.source``)."""
    if isinstance(node, (list, tuple)):
        return sum(_set_in_model(item, root, old) for item in node)
    if not isinstance(node, dict):
        return 0
    if 'type' in node and ('data_root' in node or 'ann_file' in node):
        return _set(node, root, old)
    return sum(_set_in_model(value, root, old) for value in node.values())
