"""CMDA data preprocessor that also accepts mmpretrain ``MultiView`` students (a list of views)."""
from typing import List

from torch import Tensor

from cmda_mm.registry import MODELS
from .cmda_preprocessor import CMDADataPreprocessor

__all__ = ['CMDAMultiViewDataPreprocessor']


@MODELS.register_module()
class CMDAMultiViewDataPreprocessor(CMDADataPreprocessor):
    """:class:`CMDADataPreprocessor` for self-supervised students that may come as several views.

    With ``MultiView`` in the pipeline the student arrives as K views: ``default_collate`` gives a list of K
    batched tensors (``(B, C, H, W)`` images or ``(B, D)`` features), ``pseudo_collate`` a list of B per-sample
    lists of K tensors. Every view is normalised exactly like a plain student (``mean``/``std``, ``to_rgb``,
    padding), the teacher and labels are handled once, and ``inputs`` becomes the list of K ``(B, ...)``
    views. A plain student (no ``MultiView``) is processed by the parent unchanged. Labels default to
    ``to_onehot=False``: the anomaly detector is unsupervised and does not need scores.

    Args:
        **kwargs: :class:`CMDADataPreprocessor` arguments (cmda, mean, std, to_rgb, ...).
    """

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault('to_onehot', False)
        super().__init__(**kwargs)

    @staticmethod
    def _views(student):
        """The K views of a MultiView student, or None for a plain student."""
        if not isinstance(student, (list, tuple)) or not student:
            return None
        if isinstance(student[0], (list, tuple)):  # pseudo_collate: B samples x K views
            num_views = len(student[0])
            if any(len(s) != num_views for s in student):
                raise ValueError('MultiView student: every sample must have the same number of views')
            return [[s[k] for s in student] for k in range(num_views)]
        if isinstance(student[0], Tensor) and student[0].dim() in (2, 4):  # default_collate: K x (B, ...)
            return list(student)
        return None  # a pseudo-collated plain batch: (D,) vectors or (C, H, W) images

    def forward(self, data: dict, training: bool = False) -> dict:
        """Normalise and stack a batch whose student may be a list of views.

        Args:
            data (dict): ``inputs`` ({'student', 'teacher'} or the student alone) and ``data_samples``.
            training (bool): whether training-time batch augments apply.

        Returns:
            dict: as :class:`CMDADataPreprocessor`, with ``inputs`` a list of K view tensors for MultiView
            students.
        """
        inputs = data['inputs']
        student = inputs.get('student') if isinstance(inputs, dict) else inputs
        views = self._views(student)
        if views is None:
            return super().forward(data, training)
        if training and self.batch_augments is not None:
            raise ValueError('CMDAMultiViewDataPreprocessor: batch_augments would mix the first view only; '
                             "use the anomaly detector's `mixup` option for the Mixup baseline")
        first = dict(inputs, student=views[0]) if isinstance(inputs, dict) else views[0]
        out = super().forward(dict(data, inputs=first), training)
        rest: List[Tensor] = [super(CMDAMultiViewDataPreprocessor, self).forward(
            dict(inputs=view, data_samples=None), training)['inputs'] for view in views[1:]]
        out['inputs'] = [out['inputs']] + rest
        return out
