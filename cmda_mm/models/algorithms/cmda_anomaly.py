"""Unsupervised anomaly detection (SSD) with online CMDA (paper §IV-C, Eq. 7, 9–11)."""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmpretrain.models.selfsup import BaseSelfSupervisor
from mmpretrain.structures import DataSample
from torch import Tensor

from cmda_mm.registry import BATCH_AUGMENTS, MODELS
from ..data_preprocessors.multiview_preprocessor import CMDAMultiViewDataPreprocessor  # noqa: F401 (registers)
from .cross_modal_towers import MIN_CMDA_BATCH, CrossModalTowersMixin
from .feature_views import FeatureViews  # noqa: F401 (registers)

__all__ = ['CMDAAnomalyDetector', 'nt_xent', 'soft_info_nce']

CMDA_TARGETS = ('pair', 'weights')


def nt_xent(z1: Tensor, z2: Tensor, temperature: float) -> Tensor:
    """SimCLR's NT-Xent over ``2B`` L2-normalised embeddings (mean over the ``2B`` anchors).

    Anchor ``z1_i`` has the positive ``z2_i`` (and vice versa); its denominator sums over the other
    ``2B - 1`` embeddings of both views. Note that CMDA's Eq. 7 with the two views as its K = 2 "modalities"
    is *not* this loss, even with ``include_positive=True``: Eq. 7 has no same-view negatives
    (``z1_i`` vs ``z1_l``) and puts both directions' numerators and denominators inside one log.
    """
    z = torch.cat([z1, z2])
    num = z1.shape[0]
    sim = (z @ z.t()).div(temperature)
    sim = sim.masked_fill(torch.eye(2 * num, dtype=torch.bool, device=z.device), float('-inf'))
    target = torch.cat([torch.arange(num, 2 * num), torch.arange(num)]).to(z.device)
    return F.cross_entropy(sim, target)


def soft_info_nce(query: Tensor, keys: Tensor, targets: Tensor, temperature: float) -> Tensor:
    """InfoNCE of ``query`` rows against ``keys`` with (soft) positive weights ``targets`` (rows sum to 1).

    ``-sum_j targets[r, j] log softmax_j(<query_r, keys_j> / tau)``, averaged over the rows; a one-hot row
    is the NT-Xent term of one anchor against the other view (i-Mix's form for soft rows).
    """
    log_prob = F.log_softmax((query @ keys.t()).div(temperature), dim=1)
    return -(targets.to(log_prob) * log_prob).sum(dim=1).mean()


@MODELS.register_module()
class CMDAAnomalyDetector(CrossModalTowersMixin, BaseSelfSupervisor):
    """SSD-style self-supervised anomaly detector whose training set is augmented by CMDA.

    Training (normal data only): two random views of each student sample — ``MultiView`` in the pipeline for
    images, ``feature_views`` (:class:`FeatureViews`) for feature vectors — go through the backbone and the
    projection ``neck`` in one pass; the loss is the NT-Xent of the views (temperature ``temperature``), plus
    ``λ``·Eq. 7 between the first view and the teacher in the common latent space (``contrastive_loss``; its
    ``loss_weight`` is λ), plus the augmentation terms:

    * **CMDA** (``data_preprocessor.cmda`` set): the mixer turns the *detached* teacher/student embeddings of
      this same pass into weights W (R, B) (inter-modal × DCA, exactly as :class:`CMDAClassifier`); the new
      sample ``x_new_r = W_r @ view1`` made for teacher row ``i = rows[r]`` is a positive of ``view2_i``:
      ``loss_cmda = w · InfoNCE(z(x_new_r), {z(view2_j)}_j, positive j = i)`` (``cmda_target='weights'``
      uses ``W_r`` itself as the soft positive instead). In the mixer's ``'replace'`` mode x_new takes the
      place of ``view1_i`` inside the NT-Xent instead. View 1 is mixed (not the raw input) because image
      students only exist as views; it is also the view whose embeddings gave W.
    * **Mixup** baseline (``mixup=dict(type='Mixup', alpha=...)``, mmpretrain's batch augment): every first
      view is mixed with a permuted partner, ``lam ~ Beta(α, α)``; the mixed view's positives are the
      partners' second views weighted ``lam`` (its own source) and ``1 - lam`` (the partner), i.e. i-Mix.

    Without ``cmda`` (and ``teacher_encoder``) this is the Base SSD model. The student embeddings of every
    batch are recorded in the mixer's memory bank, so :class:`DCAHook` fits DCA as for classification.
    ``predict`` returns DataSamples with ``feat``: the L2-normalised (pooled) backbone feature that
    :class:`~cmda_mm.evaluation.AnomalyMetric` scores by Mahalanobis distance (SSD scores the encoder, not the
    projection head).

    Subclassing ``BaseSelfSupervisor`` (not ``ImageClassifier`` as the classifier does): there is no head
    and no label, and it gives the backbone/neck wiring of mmpretrain's self-supervised models
    (``extract_feat``, ``get_layer_depth`` for layer-wise lr decay).

    Args:
        backbone (dict): student encoder (``FeatureMLP`` or any mmpretrain backbone).
        neck (dict): SSL projection head, e.g. ``ProjectionNeck``.
        temperature (float): NT-Xent temperature (SSD: 0.5). Defaults to 0.5.
        feature_views (dict, optional): :class:`FeatureViews` for tensor students (feature vectors).
        teacher_encoder, student_projector, teacher_projector (dict, optional): teacher tower and the
            projections into the common latent space (required together).
        contrastive_loss (dict): Eq. 7 loss; its ``loss_weight`` is λ. Defaults to λ = 0.1.
        augment_loss_weight (float): weight ``w`` of ``loss_cmda`` / ``loss_mixup``. Defaults to 1.0.
        cmda_target (str): 'pair' (x_new_i's positive is view 2 of i) or 'weights' (soft, W). Defaults to 'pair'.
        mixup (dict, optional): a ``BATCH_AUGMENTS`` Mixup config for the Mixup baseline.
        data_preprocessor (dict, optional): defaults to ``CMDAMultiViewDataPreprocessor``; its ``cmda``
            argument switches CMDA on.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 temperature: float = 0.5,
                 feature_views: Optional[dict] = None,
                 teacher_encoder: Optional[dict] = None,
                 student_projector: Optional[dict] = None,
                 teacher_projector: Optional[dict] = None,
                 contrastive_loss: dict = dict(type='CrossModalContrastiveLoss', temperature=0.1,
                                               loss_weight=0.1),
                 augment_loss_weight: float = 1.0,
                 cmda_target: str = 'pair',
                 mixup: Optional[dict] = None,
                 pretrained: Optional[str] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        data_preprocessor = dict(data_preprocessor or {})
        data_preprocessor.setdefault('type', 'CMDAMultiViewDataPreprocessor')
        super().__init__(backbone, neck=neck, pretrained=pretrained, data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        if not temperature > 0:
            raise ValueError(f'temperature must be > 0, got {temperature}')
        if cmda_target not in CMDA_TARGETS:
            raise ValueError(f'cmda_target must be one of {CMDA_TARGETS}, got {cmda_target!r}')
        self.temperature, self.cmda_target = float(temperature), cmda_target
        self.augment_loss_weight = float(augment_loss_weight)
        self.feature_views = MODELS.build(feature_views) if feature_views is not None else None
        self.mixup = BATCH_AUGMENTS.build(mixup) if mixup is not None else None
        self._build_towers(teacher_encoder, student_projector, teacher_projector, contrastive_loss)

    def forward(self, inputs: Union[Tensor, List[Tensor]], data_samples: Optional[List[DataSample]] = None,
                mode: str = 'tensor', teacher: Optional[Tensor] = None):
        """``mode``: 'tensor' (backbone features), 'loss' or 'predict'; ``teacher`` is used by 'loss' only."""
        if mode == 'loss':
            return self.loss(inputs, data_samples, teacher)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self.extract_feat(self._first_view(inputs))
        raise RuntimeError(f'Invalid mode "{mode}".')

    @staticmethod
    def _first_view(inputs: Union[Tensor, Sequence[Tensor]]) -> Tensor:
        return inputs[0] if isinstance(inputs, (list, tuple)) else inputs

    def _two_views(self, inputs: Union[Tensor, Sequence[Tensor]]) -> Tuple[Tensor, Tensor]:
        """The two views: MultiView's list, or made here from a stacked batch by ``feature_views``."""
        if isinstance(inputs, (list, tuple)):
            views = list(inputs)
        elif self.feature_views is not None:
            views = self.feature_views(inputs)
        else:
            raise ValueError('CMDAAnomalyDetector needs two views of every sample: put MultiView in the train '
                             'pipeline (images) or set `feature_views` (feature vectors)')
        if len(views) != 2 or views[0].shape != views[1].shape:
            raise ValueError(f'CMDAAnomalyDetector trains on exactly 2 views of equal shape, got '
                             f'{[tuple(v.shape) for v in views]}')
        return views[0], views[1]

    def _project(self, feats) -> Tensor:
        """L2-normalised SSL projections of backbone features."""
        z = self.neck(feats)
        return F.normalize(z[-1] if isinstance(z, (tuple, list)) else z, dim=1)

    def encode(self, inputs: Tensor) -> Tensor:
        """L2-normalised (globally pooled) backbone features: the detector's representation."""
        feat = self.extract_feat(inputs)
        feat = feat[-1] if isinstance(feat, (tuple, list)) else feat
        if feat.dim() > 2:
            feat = torch.flatten(F.adaptive_avg_pool2d(feat, 1), 1)
        return F.normalize(feat.float(), dim=1)

    def predict(self, inputs: Union[Tensor, List[Tensor]],
                data_samples: Optional[List[DataSample]] = None) -> List[DataSample]:
        """Features for the anomaly metric: each DataSample gets ``feat`` (D,), L2-normalised."""
        feats = self.encode(self._first_view(inputs))
        if data_samples is None:
            data_samples = [DataSample() for _ in range(feats.shape[0])]
        for sample, feat in zip(data_samples, feats):
            sample.set_field(feat, 'feat')
        return data_samples

    def loss(self, inputs: Union[Tensor, List[Tensor]], data_samples: Optional[List[DataSample]] = None,
             teacher: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """NT-Xent of the views + λ·Eq. 7 with the teacher + the CMDA / Mixup terms.

        Args:
            inputs (Tensor | list[Tensor]): (B, ...) students (views made by ``feature_views``) or the list
                of 2 views from MultiView.
            data_samples (list[DataSample], optional): labels, if any, feed the weight diagnostics only.
            teacher (Tensor, optional): (B, D_t) teacher inputs.

        Returns:
            dict: ``loss_ssl``, ``loss_contrastive``, ``loss_cmda`` / ``loss_mixup`` and ``cmda_*`` diagnostics.
        """
        view1, view2 = self._two_views(inputs)
        num = view1.shape[0]
        feats = self.extract_feat(torch.cat([view1, view2]))  # one pass over both views, as SimCLR
        z = self._project(feats)
        z1, z2 = z[:num], z[num:]
        losses: Dict[str, Tensor] = {}

        if self.with_teacher:
            if teacher is None:
                raise ValueError('CMDAAnomalyDetector with a teacher tower needs `teacher` inputs in training '
                                 '(pack them with PackPairedInputs)')
            if num < MIN_CMDA_BATCH:  # e.g. a last batch of 1: no latent-space step, no mixing
                losses['loss_contrastive'] = self._idle_towers_loss(view1.device)
            else:
                first = tuple(f[:num] for f in feats) if isinstance(feats, (tuple, list)) else feats[:num]
                z_s, z_t = self.embed(first, teacher)
                losses['loss_contrastive'] = self.contrastive_loss([z_s, z_t])
                # The CMDA step (cmda_mm/core/mixer.py) on view 1: record, plan, mix.
                new = self.mixer.augment(view1, z_t, z_s, labels=self._labels(data_samples, num)) \
                    if self.mixer is not None else None
                if new is not None:
                    z_new = self._project(self.extract_feat(new.inputs))
                    if self.mixer.mode == 'replace':
                        z1 = z1.index_copy(0, new.rows, z_new)
                    else:
                        target = new.weights if self.cmda_target == 'weights' else \
                            F.one_hot(new.rows, num).to(z_new)
                        losses['loss_cmda'] = self.augment_loss_weight * soft_info_nce(
                            z_new, z2, target, self.temperature)
                    losses.update({f'cmda_{k}': v for k, v in new.diagnostics.items()})

        if self.mixup is not None:
            mixed, target = self.mixup.mix(view1, torch.eye(num, device=view1.device))
            z_mix = self._project(self.extract_feat(mixed))
            losses['loss_mixup'] = self.augment_loss_weight * soft_info_nce(z_mix, z2, target, self.temperature)

        losses['loss_ssl'] = nt_xent(z1, z2, self.temperature)
        return losses

    @staticmethod
    def _labels(data_samples: Optional[List[DataSample]], num: int) -> Optional[Tensor]:
        """Hard labels for the weight diagnostics, when every sample has one."""
        if not data_samples or len(data_samples) != num or not all('gt_label' in s for s in data_samples):
            return None
        return torch.cat([s.gt_label.reshape(-1)[:1] for s in data_samples])
