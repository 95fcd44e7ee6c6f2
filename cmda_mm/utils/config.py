"""Config helpers used by the tools."""
from typing import Any

__all__ = ['set_data_root']

_LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def _set(dataset: Any, root: str) -> int:
    if not isinstance(dataset, dict):
        return 0
    count = 0
    if 'data_root' in dataset or 'ann_file' in dataset:
        dataset['data_root'] = root
        count += 1
    # wrappers: RepeatDataset, ClassBalancedDataset (dataset), ConcatDataset (datasets),
    # AnomalySplitDataset (dataset, eval_dataset)
    for key, inner in dataset.items():
        if not key.endswith(('dataset', 'datasets')):
            continue
        for item in inner if isinstance(inner, (list, tuple)) else [inner]:
            count += _set(item, root)
    return count


def set_data_root(cfg, root: str) -> int:
    """Point every dataloader's dataset (wrappers included) at ``root``.

    Overriding a config variable like ``data_root`` with ``--cfg-options`` does not reach the dataloaders,
    because MMEngine substitutes base variables when the file is parsed; this walks the parsed config.

    Args:
        cfg (mmengine.Config): the config, changed in place.
        root (str): the new data root.

    Returns:
        int: how many dataset configs were changed.
    """
    count = 0
    for name in _LOADERS:
        loader = cfg.get(name)
        if isinstance(loader, dict):
            count += _set(loader.get('dataset'), root)
    count += _set_in_model(cfg.get('model'), root)
    cfg.data_root = root
    return count


def _set_in_model(node: Any, root: str) -> int:
    """Datasets nested in the model config (e.g. a captioner's ``vocab.source``)."""
    if isinstance(node, (list, tuple)):
        return sum(_set_in_model(item, root) for item in node)
    if not isinstance(node, dict):
        return 0
    if 'type' in node and ('data_root' in node or 'ann_file' in node):
        return _set(node, root)
    return sum(_set_in_model(value, root) for value in node.values())
