"""Data preprocessor for paired (student, teacher) batches that owns the CMDA settings."""
from typing import Optional

import torch
from mmpretrain.models.utils.data_preprocessor import ClsDataPreprocessor

from cmda_mm.core.mixer import CrossModalMixer
from cmda_mm.registry import MODELS

__all__ = ['CMDADataPreprocessor']


@MODELS.register_module()
class CMDADataPreprocessor(ClsDataPreprocessor):
    """Normalise the student like :class:`ClsDataPreprocessor`, stack the teacher, own the CMDA mixer.

    Inputs come from ``PackPairedInputs`` as ``{'student': ..., 'teacher': ...}`` (a plain student tensor
    is accepted too, e.g. for test pipelines without the teacher). Student images are normalised with
    ``mean``/``std``; student feature vectors (N×D) pass through as float. Labels become one-hot scores, so
    Mixup (``batch_augments``) and CMDA both train with soft targets.

    CMDA cannot mix here: its weights need the embeddings of the model's forward pass. The preprocessor is
    where CMDA is configured and it builds and holds the settings and state (``self.cmda``, a
    :class:`~cmda_mm.core.CrossModalMixer`) the way ``ClsDataPreprocessor`` holds ``batch_augments``; each
    algorithm runs the step with ``self.mixer.augment(inputs, z_teacher, z_student, targets)`` after its forward
    pass. The whole step (record → plan → mix → soft targets) reads in ``cmda_mm/core/mixer.py``.

    Args:
        cmda (dict, optional): :class:`CrossModalMixer` arguments (normalization, temperature, top_k,
            fraction, mode, dca, dca_fit, ...). None disables CMDA mixing.
        **kwargs: :class:`ClsDataPreprocessor` arguments (mean, std, to_rgb, num_classes, batch_augments...).
    """

    def __init__(self, cmda: Optional[dict] = None, **kwargs) -> None:
        kwargs.setdefault('to_onehot', True)
        super().__init__(**kwargs)
        self.cmda = CrossModalMixer(**cmda) if cmda is not None else None

    def _student(self, student):
        # Feature vectors: the parent's pseudo-collate branch pads/stacks images only.
        if isinstance(student, (list, tuple)) and student and student[0].dim() == 1:
            return torch.stack(list(student))
        return student

    def forward(self, data: dict, training: bool = False) -> dict:
        """Normalise and stack a batch.

        Args:
            data (dict): ``inputs`` (dict with 'student' and optional 'teacher', or the student alone) and
                ``data_samples``.
            training (bool): whether training-time batch augments (Mixup) apply.

        Returns:
            dict: ``inputs`` (student tensor), ``data_samples`` and, when present, ``teacher`` (B×D tensor,
            or a dict of (B, L) token tensors from ``TokenizeCaption``).
        """
        inputs = data['inputs']
        teacher = None
        if isinstance(inputs, dict):
            if 'student' not in inputs:
                raise ValueError(f"`inputs` dict needs a 'student' entry, got keys {sorted(inputs)}")
            teacher = inputs.get('teacher')
            inputs = inputs['student']
        out = super().forward(dict(inputs=self._student(inputs), data_samples=data.get('data_samples')),
                              training)
        if isinstance(teacher, dict):  # token inputs of a text encoder (TokenizeCaption): keep dtypes
            out['teacher'] = self.cast_data({k: torch.stack(list(v)) if isinstance(v, (list, tuple)) else v
                                             for k, v in teacher.items()})
        elif teacher is not None:
            if isinstance(teacher, (list, tuple)):
                teacher = torch.stack(list(teacher))
            out['teacher'] = self.cast_data(teacher).float()
        return out
