"""Packing of paired (student, teacher) samples for CMDA models.

:class:`PackPairedInputs` is :class:`mmpretrain.datasets.PackInputs` with a
second input: the student is formatted exactly like ``PackInputs`` does (an
``H x W x C`` image becomes a ``C x H x W`` tensor, a 1-D feature vector a 1-D
tensor) and the teacher becomes a ``float32`` 1-D tensor. The label and meta
handling of ``PackInputs`` is reused unchanged.
"""
from typing import Sequence

import numpy as np
import torch
from mmpretrain.datasets.transforms import PackInputs

from cmda_mm.registry import TRANSFORMS

__all__ = ['PackPairedInputs']


@TRANSFORMS.register_module()
class PackPairedInputs(PackInputs):
    """Pack a paired sample into ``{'inputs': {...}, 'data_samples': ...}``.

    **Required Keys:**

    - ``student_key``
    - ``teacher_key`` (optional: without it only the student is packed)

    **Added Keys:**

    - inputs (dict): ``{'student': Tensor, 'teacher': Tensor}``, or
      ``{'student': Tensor}`` when ``teacher_key`` is absent.
    - data_samples (:obj:`~mmpretrain.structures.DataSample`): label and
      meta information, filled exactly like :class:`PackInputs` does.

    Args:
        student_key (str): Key of the student input. Defaults to 'img'.
        teacher_key (str): Key of the teacher feature vector.
            Defaults to 'teacher'.
        algorithm_keys (Sequence[str]): Extra keys stored as data fields of
            the data sample. Defaults to ().
        meta_keys (Sequence[str]): Keys stored as meta information.
            Defaults to :attr:`PackInputs.DEFAULT_META_KEYS`.
    """

    def __init__(self,
                 student_key: str = 'img',
                 teacher_key: str = 'teacher',
                 algorithm_keys: Sequence[str] = (),
                 meta_keys: Sequence[str] = PackInputs.DEFAULT_META_KEYS):
        super().__init__(
            input_key=student_key,
            algorithm_keys=algorithm_keys,
            meta_keys=meta_keys)
        self.student_key = student_key
        self.teacher_key = teacher_key

    def format_teacher(self, teacher) -> torch.Tensor:
        """Convert a teacher feature vector to a ``float32`` 1-D tensor.

        Args:
            teacher (np.ndarray | torch.Tensor | Sequence[float]): The vector.

        Returns:
            torch.Tensor: A contiguous ``float32`` tensor of shape ``(D,)``.
        """
        if isinstance(teacher, torch.Tensor):
            tensor = teacher.detach().to(torch.float32)
        else:
            tensor = torch.from_numpy(np.array(teacher, dtype=np.float32))
        if tensor.ndim != 1:
            raise ValueError(
                f"PackPairedInputs: teacher '{self.teacher_key}' must be a "
                f'1-D feature vector, got shape {tuple(tensor.shape)}.')
        return tensor.contiguous()

    def transform(self, results: dict) -> dict:
        """Pack the student, the teacher and the data sample.

        Args:
            results (dict): The result dict of the pipeline.

        Returns:
            dict: ``{'inputs': dict, 'data_samples': DataSample}``.
        """
        if self.student_key not in results:
            raise KeyError(
                f"PackPairedInputs: the student key '{self.student_key}' is "
                f'missing from the results (available keys: '
                f'{sorted(results)}).')
        packed = super().transform(results)
        inputs = {'student': packed['inputs']}
        if self.teacher_key in results:
            inputs['teacher'] = self.format_teacher(results[self.teacher_key])
        packed['inputs'] = inputs
        return packed

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}('
                f"student_key='{self.student_key}', "
                f"teacher_key='{self.teacher_key}', "
                f'algorithm_keys={self.algorithm_keys}, '
                f'meta_keys={self.meta_keys})')
