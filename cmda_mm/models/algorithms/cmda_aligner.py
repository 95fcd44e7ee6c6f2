"""Learn the common latent space without a downstream task: CMDA (offline), paper Algorithm 1 step 3."""
from typing import Dict, List, Optional

import torch
from mmengine.model import BaseModel
from mmpretrain.structures import DataSample
from torch import Tensor

from cmda_mm.registry import MODELS
from .cross_modal_towers import CrossModalTowersMixin

__all__ = ['CMDAAligner']


@MODELS.register_module()
class CMDAAligner(CrossModalTowersMixin, BaseModel):
    """Student and teacher towers trained with the cross-modal contrastive loss only (Eq. 7 / Eq. 8).

    CMDA (offline) learns the common latent space first, then ``tools/augment_offline.py`` augments the
    dataset once and any downstream config trains on the result. There is no task loss ("no other
    differences", paper §III): the only loss is ``L_g``. The towers are named like
    :class:`CMDAClassifier`'s (``backbone``/``neck`` → ``student_projector``, ``teacher_encoder`` →
    ``teacher_projector``) and :meth:`extract_feat` / :meth:`embed` have the same meaning, so the offline
    tools embed data with either model.

    Args:
        backbone (dict): student encoder (any mmpretrain backbone, or :class:`FeatureMLP` for features).
        teacher_encoder (dict): teacher encoder, e.g. :class:`FeatureMLP`.
        student_projector (dict): neck from the student features to the latent space.
        teacher_projector (dict): neck from the teacher features to the latent space.
        neck (dict, optional): neck between the student backbone and its projector (e.g. pooling).
        contrastive_loss (dict): the loss config; its ``supervised`` key is set from ``supervised``.
        supervised (bool): Eq. 8 (pull together every sample of a class across modalities; needs
            ``gt_label``) instead of Eq. 7 (pull together the modalities of one sample). Use it when the
            dataset has labels. Defaults to False.
        data_preprocessor (dict, optional): defaults to ``CMDADataPreprocessor`` without mixing (and
            without one-hot scores unless ``num_classes`` is given).
        init_cfg (dict, optional): initialisation config.
    """

    def __init__(self,
                 backbone: dict,
                 teacher_encoder: dict,
                 student_projector: dict,
                 teacher_projector: dict,
                 neck: Optional[dict] = None,
                 contrastive_loss: dict = dict(type='CrossModalContrastiveLoss', temperature=0.1),
                 supervised: bool = False,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        data_preprocessor = dict(data_preprocessor or {})
        data_preprocessor.setdefault('type', 'CMDADataPreprocessor')
        if data_preprocessor.get('num_classes') is None:
            data_preprocessor.setdefault('to_onehot', False)  # the loss needs class ids only
        data_preprocessor = MODELS.build(data_preprocessor)
        if getattr(data_preprocessor, 'cmda', None) is not None:
            raise ValueError('CMDAAligner only learns the latent space; mixing happens offline '
                             '(tools/augment_offline.py): remove `data_preprocessor.cmda`')
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.neck = MODELS.build(neck) if neck is not None else None
        self.supervised = bool(supervised)
        self._build_towers(teacher_encoder, student_projector, teacher_projector,
                           dict(contrastive_loss, supervised=self.supervised))

    def extract_feat(self, inputs: Tensor):
        """Student features (backbone, then the optional neck)."""
        feats = self.backbone(inputs)
        return self.neck(feats) if self.neck is not None else feats

    def forward(self, inputs: Tensor, data_samples: Optional[List[DataSample]] = None,
                mode: str = 'tensor', teacher: Optional[Tensor] = None):
        """``'loss'``: the contrastive loss; ``'tensor'``: the embeddings; ``'predict'``: data samples
        carrying ``student_embedding`` (and ``teacher_embedding``)."""
        if mode == 'loss':
            return self.loss(inputs, data_samples, teacher)
        if mode == 'tensor':
            return self.embed(self.extract_feat(inputs), teacher)
        if mode == 'predict':
            return self.predict(inputs, data_samples, teacher)
        raise RuntimeError(f'Invalid mode "{mode}" for CMDAAligner')

    def loss(self, inputs: Tensor, data_samples: Optional[List[DataSample]],
             teacher: Optional[Tensor]) -> Dict[str, Tensor]:
        """Eq. 7 (or Eq. 8) on one batch, plus how often a teacher's nearest student is its own pair.

        Returns:
            dict: ``loss_contrastive`` and ``pair_top1`` (a diagnostic, not optimised).
        """
        if teacher is None:
            raise ValueError('CMDAAligner needs teacher inputs in training (pack them with PackPairedInputs)')
        labels = None
        if self.supervised:
            if not data_samples or 'gt_label' not in data_samples[0]:
                raise ValueError('CMDAAligner(supervised=True) needs gt_label in every data sample; '
                                 'use supervised=False (Eq. 7) for unlabelled data')
            labels = torch.cat([s.gt_label for s in data_samples]).to(inputs.device)
        z_s, z_t = self.embed(self.extract_feat(inputs), teacher)
        with torch.no_grad():
            target = torch.arange(len(z_s), device=z_s.device)
            pair_top1 = ((z_t @ z_s.t()).argmax(1) == target).float().mean()
        return dict(loss_contrastive=self.contrastive_loss([z_s, z_t], labels), pair_top1=pair_top1)

    @torch.no_grad()
    def predict(self, inputs: Tensor, data_samples: Optional[List[DataSample]] = None,
                teacher: Optional[Tensor] = None) -> List[DataSample]:
        """Embeddings as data-sample fields (for a test loop that dumps them)."""
        out = self.embed(self.extract_feat(inputs), teacher)
        z_s, z_t = out if teacher is not None else (out, None)
        if data_samples is None:
            data_samples = [DataSample() for _ in range(len(z_s))]
        for i, sample in enumerate(data_samples):
            sample.set_field(z_s[i], 'student_embedding')
            if z_t is not None:
                sample.set_field(z_t[i], 'teacher_embedding')
        return data_samples
