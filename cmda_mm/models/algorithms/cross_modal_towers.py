"""The teacher tower, the two projectors and the contrastive loss that every CMDA algorithm shares."""
from typing import Optional

from mmpretrain.registry import MODELS

__all__ = ['CrossModalTowersMixin']


class CrossModalTowersMixin:
    """Builds the common-latent-space towers and exposes the preprocessor's mixer.

    Mixed into the classifier, the anomaly detector and the captioner, so that the rule "CMDA mixing needs a
    teacher tower" and the tower names live in one place.
    """

    def _build_towers(self,
                      teacher_encoder: Optional[dict],
                      student_projector: Optional[dict],
                      teacher_projector: Optional[dict],
                      contrastive_loss: Optional[dict]) -> None:
        """Build ``teacher_encoder``, ``student_projector``, ``teacher_projector`` and ``contrastive_loss``.

        Args:
            teacher_encoder (dict, optional): teacher tower; None means no teacher (Base / Mixup).
            student_projector (dict, optional): neck from the student features to the latent space.
            teacher_projector (dict, optional): neck from the teacher features to the latent space.
            contrastive_loss (dict, optional): Eq. 7/8 loss (its ``loss_weight`` is λ); None = no loss.
        """
        self.with_teacher = teacher_encoder is not None
        if not self.with_teacher:
            if self.mixer is not None:
                raise ValueError('CMDA mixing (`data_preprocessor.cmda`) needs a `teacher_encoder`')
            return
        if student_projector is None or teacher_projector is None:
            raise ValueError('`student_projector` and `teacher_projector` are required with `teacher_encoder`')
        self.teacher_encoder = MODELS.build(teacher_encoder)
        self.student_projector = MODELS.build(student_projector)
        self.teacher_projector = MODELS.build(teacher_projector)
        self.contrastive_loss = MODELS.build(contrastive_loss) if contrastive_loss else None

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
        """The :class:`~cmda_mm.core.CrossModalMixer` owned by the data preprocessor (or None)."""
        return getattr(self.data_preprocessor, 'cmda', None)
