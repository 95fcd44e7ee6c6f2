"""Supervised classification with online CMDA (paper Eq. 9–11)."""
from typing import Dict, List, Optional

import torch
import torch.nn.functional as F
from mmpretrain.models.classifiers import ImageClassifier
from mmpretrain.structures import DataSample
from torch import Tensor

from cmda_mm.registry import MODELS
from .cross_modal_towers import MIN_CMDA_BATCH, CrossModalTowersMixin

__all__ = ['CMDAClassifier']


@MODELS.register_module()
class CMDAClassifier(CrossModalTowersMixin, ImageClassifier):
    """An ``ImageClassifier`` whose student learns a common latent space with a teacher modality and trains
    on cross-modal mixed samples.

    One forward pass of the real batch gives the task logits and the student embeddings; the teacher tower
    gives the teacher embeddings; the loss is ``L_task + λ·L_g`` (Eq. 9; λ is the contrastive loss's
    ``loss_weight``) with one optimiser. The mixing weights come from the *detached* embeddings of that same
    pass; the new samples ``x_new = W @ x`` (raw student space) go through the network once more and are
    trained with the soft targets ``W @ Y``. Any student modality works: images (any mmpretrain backbone) or
    feature vectors (:class:`FeatureMLP`). Without ``teacher_encoder`` it is exactly an ImageClassifier (the
    Base baseline); ``train_cfg=dict(augments=dict(type='Mixup', alpha=...))`` gives the Mixup baseline. Every
    run logs its cross-entropy as ``loss_cls`` (ImageClassifier's ``loss``, renamed), so that Base, Mixup and
    CMDA runs overlay in ``analyze_logs.py plot_curve ... --keys loss_cls`` and TensorBoard.

    Args:
        backbone, neck, head: as :class:`ImageClassifier` (use ``CrossEntropyLoss(use_soft=True)`` in the
            head: targets are soft).
        teacher_encoder (dict, optional): teacher tower, e.g. ``FeatureMLP``.
        student_projector (dict, optional): neck from the student features to the latent space.
        teacher_projector (dict, optional): neck from the teacher features to the latent space.
        contrastive_loss (dict): Eq. 7/8 loss; its ``loss_weight`` is λ and its ``reduction`` 'mean' (default,
            batch-size independent) or 'sum' (the paper's literal ``L_g = Σ_i l_i``). Defaults to λ = 0.1.
        supervised (bool, optional): learn the common space with Eq. 8 (labels) instead of Eq. 7, the same
            switch as :class:`CMDAAligner` (offline CMDA); None keeps ``contrastive_loss.supervised``
            (default Eq. 7). Defaults to None.
        data_preprocessor (dict, optional): defaults to ``CMDADataPreprocessor``; its ``cmda`` argument
            switches the mixing on. With ``cmda=dict(cache_size=N, mode='replace', ...)`` (N = the training
            set's length) the weights come from the per-sample embedding cache and the mix happens before the
            forward: one forward of B rows (:meth:`loss_cached`).

    Mixup + CMDA together: ``train_cfg=dict(augments=dict(type='Mixup', alpha=...))`` with a teacher works —
    the preprocessor mixes the student inputs and scores first, CMDA then mixes those (soft targets
    ``W @ Y_mixup``). The teacher inputs are not mixed, so each mixed student row is contrasted (Eq. 7) with the
    teacher of its dominant sample only: the common space learns from partly wrong pairs.
    """

    supports_cached_cmda = True

    def __init__(self,
                 backbone: dict,
                 neck: Optional[dict] = None,
                 head: Optional[dict] = None,
                 teacher_encoder: Optional[dict] = None,
                 student_projector: Optional[dict] = None,
                 teacher_projector: Optional[dict] = None,
                 contrastive_loss: dict = dict(type='CrossModalContrastiveLoss', temperature=0.1,
                                               loss_weight=0.1),
                 supervised: Optional[bool] = None,
                 pretrained: Optional[str] = None,
                 train_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        data_preprocessor = dict(data_preprocessor or {})
        data_preprocessor.setdefault('type', 'CMDADataPreprocessor')
        super().__init__(backbone, neck, head, pretrained, train_cfg, data_preprocessor, init_cfg)
        self._build_towers(teacher_encoder, student_projector, teacher_projector, contrastive_loss, supervised)

    def forward(self, inputs: Tensor, data_samples: Optional[List[DataSample]] = None,
                mode: str = 'tensor', teacher: Optional[Tensor] = None):
        """``mode`` as in :class:`ImageClassifier`; ``teacher`` (B×D) is used by ``loss`` only."""
        if mode == 'loss':
            return self.loss(inputs, data_samples, teacher)
        return super().forward(inputs, data_samples, mode)

    def loss(self, inputs: Tensor, data_samples: List[DataSample],
             teacher: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """Joint loss of Eq. 9 plus the task loss on CMDA samples.

        Args:
            inputs (Tensor): (B, ...) student inputs (images or feature vectors).
            data_samples (list[DataSample]): with ``gt_label`` and ``gt_score`` (one-hot or Mixup scores).
            teacher (Tensor, optional): (B, D_t) teacher inputs.

        Returns:
            dict: ``loss_cls`` (the task loss under one key in every run — Base, Mixup and CMDA — so that
            ``analyze_logs.py plot_curve ... --keys loss_cls`` and TensorBoard overlay them; MMEngine also logs
            the total ``loss``), ``loss_contrastive`` and the ``cmda_*`` weight diagnostics.
        """
        labels = self._labels(data_samples, inputs.device)
        if self.with_teacher and teacher is not None and self.mixer is not None and self.mixer.cached:
            return self.loss_cached(inputs, data_samples, teacher, labels)
        feats = self.extract_feat(inputs)
        if not self.with_teacher or teacher is None:
            if self.with_teacher:
                raise ValueError('CMDAClassifier with a teacher tower needs `teacher` inputs in training '
                                 '(pack them with PackPairedInputs)')
            # Base / Mixup: ImageClassifier's loss, only its key renamed (``ClsHead.loss`` returns ``loss``)
            return dict(loss_cls=self.head.loss(feats, data_samples)['loss'])

        scores = self.head(feats)
        targets = self._targets(data_samples, scores)
        if inputs.shape[0] < MIN_CMDA_BATCH:  # e.g. a last batch of 1: the task loss only, as Base
            return dict(loss_contrastive=self._idle_towers_loss(inputs.device),
                        loss_cls=self.head.loss_module(scores, targets, avg_factor=scores.size(0)))

        z_s, z_t = self.embed(feats, teacher)
        losses = dict(loss_contrastive=self.contrastive_loss([z_s, z_t], labels))

        # The CMDA step (cmda_mm/core/mixer.py): record, plan, mix the raw inputs, soft targets W @ Y.
        new = self.mixer.augment(inputs, z_t, z_s, targets, labels) if self.mixer is not None else None
        if new is not None:
            new_scores = self.head(self.extract_feat(new.inputs))
            if self.mixer.mode == 'replace':
                keep = torch.ones(len(scores), dtype=torch.bool, device=scores.device)
                keep[new.rows] = False
                scores, targets = scores[keep], targets[keep]
            scores = torch.cat([scores, new_scores])
            targets = torch.cat([targets, new.targets])
            losses.update({f'cmda_{k}': v for k, v in new.diagnostics.items()})
        losses['loss_cls'] = self.head.loss_module(scores, targets, avg_factor=scores.size(0))
        return losses

    def loss_cached(self, inputs: Tensor, data_samples: List[DataSample], teacher: Tensor,
                    labels: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """CMDA at Mixup's cost: mix first (weights from the embedding cache), then one forward of B rows.

        ``inputs[rows]`` are replaced by their new samples (``mode='replace'``); the task loss sees all B rows,
        the contrastive loss (Eq. 7/8) the real rows (those not mixed; all rows when fewer than 2 rows were left
        unselected), and the cache stores the fresh teacher embeddings of every row and the student embeddings
        of the real rows.

        Args:
            inputs (Tensor): (B, ...) student inputs.
            data_samples (list[DataSample]): with ``gt_label`` / ``gt_score`` and ``sample_idx`` in the metainfo
                (``PackPairedInputs`` keeps it; mmengine's ``BaseDataset`` sets it).
            teacher (Tensor): (B, D_t) teacher inputs.
            labels (Tensor, optional): (B,) hard labels (read from ``data_samples`` when None).

        Returns:
            dict: ``loss_cls``, ``loss_contrastive`` and the ``cmda_*`` weight diagnostics.
        """
        if any('sample_idx' not in s for s in data_samples):
            raise ValueError('cached CMDA (`cmda.cache_size`) needs `sample_idx` in every data sample\'s metainfo '
                             '(PackPairedInputs keeps it from the dataset)')
        sample_idx = [int(s.sample_idx) for s in data_samples]  # host values: checked without a device sync
        if min(sample_idx) < 0 or max(sample_idx) >= self.mixer.cache_size:
            raise ValueError(f'`sample_idx` {max(sample_idx)} is outside the cache: set `cmda.cache_size` to the '
                             f'training set\'s length (> {max(sample_idx)}), got {self.mixer.cache_size}')
        index = torch.tensor(sample_idx, device=inputs.device)
        labels = self._labels(data_samples, inputs.device) if labels is None else labels
        targets = self._targets(data_samples, num_classes=getattr(self.head, 'num_classes', None), device=inputs.device)
        new = self.mixer.augment_cached(inputs, index, targets, labels) if inputs.shape[0] >= MIN_CMDA_BATCH \
            else None
        losses = {}
        real = None
        if new is not None:
            rows = new.rows.to(inputs.device)
            inputs = inputs.index_copy(0, rows, new.inputs)
            targets = targets.index_copy(0, rows, new.targets)
            # real rows: not selected, or selected but left as their own sample (not cached yet); no host sync
            real = torch.ones(inputs.shape[0], dtype=torch.bool, device=inputs.device)
            real[rows] = new.weights.gather(1, rows.view(-1, 1).to(new.weights.device)).view(-1).to(
                inputs.device) >= 1
            losses.update({f'cmda_{k}': v for k, v in new.diagnostics.items()})
        feats = self.extract_feat(inputs)
        scores = self.head(feats)
        if inputs.shape[0] < MIN_CMDA_BATCH:
            losses['loss_contrastive'] = self._idle_towers_loss(inputs.device)
        else:
            z_s, z_t = self.embed(feats, teacher)
            pick = slice(None) if real is None or inputs.shape[0] - rows.numel() < MIN_CMDA_BATCH else real
            losses['loss_contrastive'] = self.contrastive_loss([z_s[pick], z_t[pick]], labels[pick])
            self.mixer.update_cache(index, z_t, z_s, real=real)
        losses['loss_cls'] = self.head.loss_module(scores, targets, avg_factor=scores.size(0))
        return losses

    @staticmethod
    def _labels(data_samples: List[DataSample], device) -> Tensor:
        """(B,) hard labels; a clear error for unlabelled data (host metadata only: no device sync)."""
        missing = [i for i, s in enumerate(data_samples) if 'gt_label' not in s]
        if missing:
            sample = data_samples[missing[0]]
            name = f"sample_idx={sample.sample_idx}" if 'sample_idx' in sample else f'batch item {missing[0]}'
            raise ValueError(f'CMDAClassifier trains on labelled data, but data sample {name} (and '
                             f'{len(missing) - 1} more in this batch) has no gt_label; give every training '
                             'sample a label (gt_label in the annotation file). Label-dependent CMDA options '
                             "(partner_pool='same_class' / 'other_class', partners='same_class') need them too; "
                             'unlabelled data trains with CMDAAnomalyDetector')
        return torch.cat([s.gt_label for s in data_samples]).to(device)

    def _targets(self, data_samples: List[DataSample], scores: Optional[Tensor] = None,
                 num_classes: Optional[int] = None, device=None) -> Tensor:
        """(B, C) float32 targets: the samples' ``gt_score`` (one-hot or Mixup), else one-hot labels. Float32
        also under autocast (``--amp``), so that the soft targets ``W @ Y`` keep rows summing to 1."""
        device = scores.device if scores is not None else device
        dtype = torch.float32
        if 'gt_score' in data_samples[0]:
            return torch.stack([s.gt_score for s in data_samples]).to(device, dtype)
        labels = torch.cat([s.gt_label for s in data_samples]).to(device)
        return F.one_hot(labels, scores.shape[1] if scores is not None else num_classes).to(dtype)
