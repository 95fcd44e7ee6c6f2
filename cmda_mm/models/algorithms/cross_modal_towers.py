"""What every CMDA algorithm shares: the teacher tower, the two projectors, the contrastive loss, ``embed()``
and the preprocessor's mixer.

The CMDA step itself (record → plan → mix → soft targets) lives in :meth:`cmda_mm.core.CrossModalMixer.augment`;
an algorithm calls ``self.mixer.augment(...)`` with the embeddings from :meth:`CrossModalTowersMixin.embed` and
keeps only what is task-specific (how the new samples enter its loss).
"""
from typing import Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor

from cmda_mm.registry import MODELS

__all__ = ['CrossModalTowersMixin', 'MIN_CMDA_BATCH']

MIN_CMDA_BATCH = 2  # Eq. 7/8 contrast a sample with the others, and BatchNorm needs 2 samples


class CrossModalTowersMixin:
    """Builds the common-latent-space towers, embeds into that space and exposes the preprocessor's mixer.

    Mixed into the classifier, the anomaly detector, the captioner and the aligner, so that the rule "CMDA mixing
    needs a teacher tower", the tower names and the embedding live in one place.
    """

    def _build_towers(self,
                      teacher_encoder: Optional[dict],
                      student_projector: Optional[dict],
                      teacher_projector: Optional[dict],
                      contrastive_loss: Optional[dict],
                      supervised: Optional[bool] = None) -> None:
        """Build ``teacher_encoder``, ``student_projector``, ``teacher_projector`` and ``contrastive_loss``.

        Args:
            teacher_encoder (dict, optional): teacher tower; None means no teacher (Base / Mixup).
            student_projector (dict, optional): neck from the student features to the latent space.
            teacher_projector (dict, optional): neck from the teacher features to the latent space.
            contrastive_loss (dict, optional): Eq. 7/8 loss (its ``loss_weight`` is λ); None = no loss.
            supervised (bool, optional): learn the space with Eq. 8 (True) or Eq. 7 (False), the same switch
                for online and offline CMDA; None keeps the loss config's own ``supervised``.
        """
        self.with_teacher = teacher_encoder is not None
        mixer = self.mixer
        if mixer is not None and mixer.cached and not getattr(self, 'supports_cached_cmda', False):
            raise ValueError(f'cached CMDA (`cmda.cache_size`) is implemented for CMDAClassifier only, not '
                             f'{type(self).__name__}: drop `cache_size`')
        if not self.with_teacher:
            if self.mixer is not None:
                raise ValueError('CMDA mixing (`data_preprocessor.cmda`) needs a `teacher_encoder`')
            return
        if student_projector is None or teacher_projector is None:
            raise ValueError('`student_projector` and `teacher_projector` are required with `teacher_encoder`')
        self.teacher_encoder = MODELS.build(teacher_encoder)
        self.student_projector = MODELS.build(student_projector)
        self.teacher_projector = MODELS.build(teacher_projector)
        if contrastive_loss and supervised is not None:
            contrastive_loss = dict(contrastive_loss, supervised=bool(supervised))
        self.contrastive_loss = MODELS.build(contrastive_loss) if contrastive_loss else None

    def embed(self, feats, teacher: Optional[Tensor] = None) -> Union[Tensor, Tuple[Tensor, Tensor]]:
        """L2-normalised student (and teacher) embeddings in the common latent space.

        Args:
            feats: student features (the output of ``extract_feat``) for ``student_projector``.
            teacher (Tensor, optional): teacher inputs (B, D_t) or token dict for ``teacher_encoder``.

        Returns:
            Tensor | (Tensor, Tensor): ``z_s`` (B, D), or ``(z_s, z_t)`` when ``teacher`` is given. Frozen
            towers (:meth:`freeze_towers`) embed without building a graph.
        """
        frozen = getattr(self, '_towers_frozen', False)
        with torch.set_grad_enabled(torch.is_grad_enabled() and not frozen):
            z_s = F.normalize(self.student_projector(feats), dim=1)
            if teacher is None:
                return z_s
            z_t = F.normalize(self.teacher_projector(self.teacher_encoder(teacher)), dim=1)
        return z_s, z_t

    def _idle_towers_loss(self, device) -> Tensor:
        """A zero that touches every trainable tower parameter: a batch too small for the latent-space step
        (fewer than :data:`MIN_CMDA_BATCH` samples) still gives every parameter a gradient, so DDP's reducer
        sees the same parameters on every rank."""
        zero = torch.zeros((), device=device)
        for tower in (self.teacher_encoder, self.student_projector, self.teacher_projector):
            for param in tower.parameters():
                if param.requires_grad:
                    zero = zero + 0.0 * param.sum()
        return zero

    def freeze_towers(self) -> None:
        """Freeze a loaded alignment: no gradients, and the towers stay in eval mode (BatchNorm statistics and
        dropout fixed) even when the runner calls ``model.train()`` every epoch."""
        self._towers_frozen = True
        for tower in (self.teacher_encoder, self.student_projector, self.teacher_projector):
            tower.requires_grad_(False)
            tower.eval()

    def train(self, mode: bool = True):
        """``nn.Module.train`` that keeps frozen towers (see :meth:`freeze_towers`) in eval mode."""
        super().train(mode)
        if getattr(self, '_towers_frozen', False):
            for tower in (self.teacher_encoder, self.student_projector, self.teacher_projector):
                tower.eval()
        return self

    @property
    def mixer(self):
        """The :class:`~cmda_mm.core.CrossModalMixer` built and held by the data preprocessor (or None)."""
        return getattr(self.data_preprocessor, 'cmda', None)
