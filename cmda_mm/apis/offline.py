"""Offline CMDA, the runner part: build a trained model from a config, embed a whole training set through a
dataloader. ``tools/augment_offline.py``, ``select_clusters.py`` and ``visualize_augment.py`` call it; the pure
planning and mixing are :mod:`cmda_mm.core.offline`, the DCA fit :func:`cmda_mm.core.fit_dca`.

Embedding works with a trained :class:`CMDAAligner` or :class:`CMDAClassifier` (both expose ``extract_feat`` +
``embed``).
"""
import copy
from typing import Optional

import torch
from mmengine.config import ConfigDict
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmengine.utils import ProgressBar

from cmda_mm.core.offline import EmbeddedSet
from cmda_mm.registry import MODELS
from cmda_mm.utils.checkpoint import load_checkpoint_strict

__all__ = ['embed_loader_cfg', 'build_model', 'embed_dataset']


def embed_loader_cfg(cfg) -> ConfigDict:
    """The dataloader that embeds the training set: ``cfg.augment.dataloader`` when the config has one,
    else ``cfg.train_dataloader`` with the test pipeline (no random augmentation).

    An embedding pass sees every sample once, in dataset order: the sampler is an unshuffled
    ``DefaultSampler``, ``drop_last`` is off and any ``batch_sampler`` is dropped. Training loaders often set
    ``drop_last=True`` (a last batch of one breaks BatchNorm in train mode); copied here it would leave the
    last ``N mod batch_size`` samples out of the DCA fit and out of the augmented set. The model embeds in
    eval mode, where a batch of one is fine.
    """
    augment = cfg.get('augment') or {}
    if augment.get('dataloader') is not None:
        loader = copy.deepcopy(augment['dataloader'])
    else:
        loader = copy.deepcopy(cfg.train_dataloader)
        test_loader = cfg.get('test_dataloader') or cfg.get('val_dataloader')
        if test_loader is not None and 'pipeline' in test_loader.get('dataset', {}):
            loader['dataset']['pipeline'] = copy.deepcopy(test_loader['dataset']['pipeline'])
    loader = ConfigDict(loader)
    loader['sampler'] = dict(type='DefaultSampler', shuffle=False)
    loader['drop_last'] = False
    loader.pop('batch_sampler', None)  # a batch sampler decides drop_last itself
    loader.setdefault('num_workers', 0)
    loader.setdefault('collate_fn', dict(type='default_collate'))
    if not loader.get('num_workers'):
        loader.pop('persistent_workers', None)  # only valid with workers
    return loader


def build_model(cfg, checkpoint: Optional[str] = None, device: str = 'cpu') -> torch.nn.Module:
    """Build ``cfg.model`` in the config's default scope (``cmda_mm`` unless it says), load ``checkpoint``, eval
    mode."""
    init_default_scope(cfg.get('default_scope', 'cmda_mm'))
    model = MODELS.build(cfg.model)
    if checkpoint is not None:  # strictly: another model's weights are an error naming the first bad keys
        load_checkpoint_strict(model, checkpoint, map_location='cpu')
    for name in ('extract_feat', 'embed'):
        if not hasattr(model, name):
            raise TypeError(f'{type(model).__name__} has no `{name}`: use a CMDAAligner or a CMDAClassifier '
                            'with a teacher tower')
    if not hasattr(model, 'teacher_encoder'):
        raise TypeError(f'{type(model).__name__} has no teacher tower (teacher_encoder): nothing to align')
    return model.to(device).eval()


@torch.no_grad()
def embed_dataset(model: torch.nn.Module, loader_cfg, progress: bool = True) -> EmbeddedSet:
    """Embed every sample of a dataloader (batched, no grad), keeping the raw student inputs.

    Args:
        model: a model with ``data_preprocessor``, ``extract_feat`` and ``embed`` (in eval mode).
        loader_cfg (dict): dataloader config (see :func:`embed_loader_cfg`) or a built DataLoader.
        progress (bool): show a progress bar.

    Returns:
        EmbeddedSet: raw student inputs, student/teacher embeddings and labels, in dataset order.
    """
    if isinstance(loader_cfg, dict):
        init_default_scope('cmda_mm')
        loader = Runner.build_dataloader(loader_cfg)
    else:
        loader = loader_cfg
    students, z_s, z_t, labels = [], [], [], []
    bar = ProgressBar(len(loader.dataset)) if progress else None
    for data in loader:
        inputs = data['inputs']
        if not isinstance(inputs, dict) or 'teacher' not in inputs:
            raise ValueError('the embedding pipeline must pack a student and a teacher (PackPairedInputs); '
                             f"got inputs of type {type(inputs).__name__}")
        student = inputs['student']
        if isinstance(student, (list, tuple)):
            shapes = {tuple(s.shape) for s in student}
            if len(shapes) > 1:
                raise ValueError(f'student samples have different shapes {sorted(shapes)}: raw samples are '
                                 'mixed as x_new = W @ x, so resize them to one shape in the pipeline')
            student = torch.stack(list(student))
        out = model.data_preprocessor(data, False)
        z = model.embed(model.extract_feat(out['inputs']), out['teacher'])
        students.append(student.cpu())
        z_s.append(z[0].float().cpu())
        z_t.append(z[1].float().cpu())
        samples = out.get('data_samples') or []
        if samples and all('gt_label' in s for s in samples):
            labels.append(torch.cat([s.gt_label.view(-1)[:1] for s in samples]).cpu())
        else:
            labels.append(None)
        if bar is not None:
            bar.update(len(student))
    if bar is not None:
        bar.file.write('\n')
    embedded = sum(len(s) for s in students)
    if embedded != len(loader.dataset):
        raise RuntimeError(f'embedded {embedded} of the {len(loader.dataset)} samples of '
                           f'{type(loader.dataset).__name__}: the dataloader drops or repeats samples '
                           '(drop_last, a batch sampler, a sampler that pads); build it with embed_loader_cfg(cfg)')
    y = None if any(v is None for v in labels) else torch.cat(labels).long()
    return EmbeddedSet(torch.cat(students), torch.cat(z_s), torch.cat(z_t), y)
