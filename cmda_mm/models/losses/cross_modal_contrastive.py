"""Cross-modal contrastive loss of CMDA (Eq. 7 unsupervised, Eq. 8 supervised).

For a batch of ``m`` samples seen through ``K`` modalities, with embeddings ``z_i^(p)`` and
``s(i, p; l, q) = sim(z_i^p, z_l^q) / tau``, every sample ``i`` gets the term

* Eq. 7 (unsupervised)::

      l_i = -log  sum_{p != q} exp s(i,p; i,q)
                  ---------------------------------------------
                  sum_{p != q} sum_{l != i} exp s(i,p; l,q)

* Eq. 8 (supervised, ``P(i) = {j != i : y_j = y_i}``, ``|P(i)| = m_{y_i} - 1``)::

      l_i = -1/|P(i)| sum_{j in P(i)} log  sum_{p != q} exp s(i,p; j,q)
                                           ---------------------------------------------
                                           sum_{p != q} sum_{l != i} exp s(i,p; l,q)

Both are computed from one ``(K*m) x (K*m)`` similarity matrix with masked ``torch.logsumexp``: no
exponential is ever materialised, so a small temperature (``tau = 0.01``) cannot overflow.

The pure functions :func:`cross_modal_contrastive_loss` and
:func:`supervised_cross_modal_contrastive_loss` return the per-sample terms ``(m,)`` and take
embeddings that are already L2-normalised (``sim`` is then the dot product, i.e. the cosine);
:class:`CrossModalContrastiveLoss` is the registered module that normalises, reduces and weights them.
"""
from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from cmda_mm.registry import MODELS

__all__ = [
    'CrossModalContrastiveLoss', 'cross_modal_contrastive_loss',
    'supervised_cross_modal_contrastive_loss'
]

_REDUCTIONS = ('mean', 'sum', 'none')


def _check_temperature(temperature: float) -> float:
    """Return ``temperature`` as a float, or raise ValueError if it is not a finite number > 0."""
    try:
        value = float(temperature)
    except (TypeError, ValueError):
        raise ValueError(f'temperature must be a number > 0, got {temperature!r}') from None
    if not (value > 0 and value != float('inf')):
        raise ValueError(f'temperature must be a finite number > 0, got {temperature!r}')
    return value


def _stack_embeddings(embeddings: Union[Sequence[Tensor], Tensor], check_finite: bool = True) -> Tensor:
    """Validate the embeddings of K modalities and stack them into one ``(K, m, D)`` tensor.

    Args:
        embeddings (Sequence[Tensor] | Tensor): ``K`` tensors of shape ``(m, D)`` or one tensor of
            shape ``(K, m, D)``.

    Returns:
        Tensor: the embeddings as ``(K, m, D)``, half precision upcast to float32.

    Raises:
        ValueError: if ``K < 2``, ``m < 2``, shapes disagree or a value is NaN/Inf.
    """
    if isinstance(embeddings, Tensor):
        if embeddings.dim() != 3:
            raise ValueError('embeddings must be a (K, m, D) tensor or a sequence of K (m, D) tensors, '
                             f'got a tensor of shape {tuple(embeddings.shape)}')
        z = embeddings
    elif isinstance(embeddings, (list, tuple)):
        if len(embeddings) == 0:
            raise ValueError('embeddings must hold K >= 2 modalities, got 0')
        for k, e in enumerate(embeddings):
            if not isinstance(e, Tensor) or e.dim() != 2:
                shape = tuple(e.shape) if isinstance(e, Tensor) else type(e).__name__
                raise ValueError(f'embeddings[{k}] must be an (m, D) tensor, got {shape}')
        m0, d0 = embeddings[0].shape
        for k, e in enumerate(embeddings[1:], start=1):
            if e.shape[0] != m0:
                raise ValueError(f'embeddings[{k}] has {e.shape[0]} samples (m) but embeddings[0] has '
                                 f'{m0}: every modality must hold the same samples')
            if e.shape[1] != d0:
                raise ValueError(f'embeddings[{k}] has embedding dim (D) {e.shape[1]} but embeddings[0] '
                                 f'has {d0}: project the modalities to a common dimension first')
        z = torch.stack(list(embeddings), dim=0)
    else:
        raise ValueError('embeddings must be a (K, m, D) tensor or a sequence of K (m, D) tensors, '
                         f'got {type(embeddings).__name__}')

    num_modalities, num_samples, _ = z.shape
    if num_modalities < 2:
        raise ValueError(f'embeddings must hold K >= 2 modalities, got K={num_modalities}')
    if num_samples < 2:
        raise ValueError(f'embeddings must hold m >= 2 samples (the denominator sums over the other '
                         f'samples l != i), got m={num_samples}')
    if not z.is_floating_point():
        raise ValueError(f'embeddings must be floating point, got {z.dtype}')
    if check_finite and not bool(torch.isfinite(z).all()):  # reads the values: a host sync on a GPU
        raise ValueError('embeddings contain NaN or Inf values')
    if z.dtype in (torch.float16, torch.bfloat16):
        z = z.float()
    return z


def _pair_logsumexp(z: Tensor, temperature: float, include_positive: bool) -> Tuple[Tensor, Tensor]:
    """Cross-modal log-sums shared by Eq. 7 and Eq. 8.

    Args:
        z (Tensor): validated embeddings of shape ``(K, m, D)``.
        temperature (float): the temperature ``tau`` (> 0).
        include_positive (bool): whether the denominator also sums over ``l = i``.

    Returns:
        Tuple[Tensor, Tensor]:

        - ``pair`` ``(m, m)``: ``pair[i, j] = logsumexp_{p != q} sim(z_i^p, z_j^q) / tau``.
        - ``denom`` ``(m,)``: ``logsumexp`` of ``pair[i, l]`` over ``l != i`` (all ``l`` when
          ``include_positive``), i.e. the log of the Eq. 7/8 denominator.
    """
    num_modalities, num_samples, dim = z.shape
    flat = z.reshape(num_modalities * num_samples, dim)
    # sim[p, i, q, l] = <z_i^p, z_l^q> / tau
    sim = (flat @ flat.t()).div(temperature).view(num_modalities, num_samples, num_modalities, num_samples)
    eye_k = torch.eye(num_modalities, dtype=torch.bool, device=z.device)
    sim = sim.masked_fill(eye_k.view(num_modalities, 1, num_modalities, 1), float('-inf'))
    pair = torch.logsumexp(sim.permute(1, 3, 0, 2).reshape(num_samples, num_samples, -1), dim=-1)
    if include_positive:
        denom = torch.logsumexp(pair, dim=1)
    else:
        eye_m = torch.eye(num_samples, dtype=torch.bool, device=z.device)
        denom = torch.logsumexp(pair.masked_fill(eye_m, float('-inf')), dim=1)
    return pair, denom


def cross_modal_contrastive_loss(z: Tensor,
                                 temperature: float,
                                 include_positive: bool = False) -> Tensor:
    """Per-sample unsupervised cross-modal contrastive loss (Eq. 7).

    The positive of sample ``i`` is the set of its own cross-modal pairs ``(z_i^p, z_i^q), p != q``;
    the denominator sums ``exp(sim(z_i^p, z_l^q) / tau)`` over ``p != q`` and over the other samples
    ``l != i``, exactly as the paper writes it. Because the positive is then not part of the
    denominator, a term can be negative (the loss is not bounded below by 0).

    Args:
        z (Tensor): embeddings of shape ``(K, m, D)``, ``K >= 2`` modalities of ``m >= 2`` samples.
            They are used as given: pass L2-normalised embeddings for the cosine similarity.
        temperature (float): the temperature ``tau`` (> 0).
        include_positive (bool): if True the denominator sums over all ``l`` including ``l = i``
            (InfoNCE form, every term >= 0). Defaults to False.

    Returns:
        Tensor: the loss terms ``l_i``, shape ``(m,)``.
    """
    return _eq7_terms(_stack_embeddings(z), _check_temperature(temperature), include_positive)


def _eq7_terms(z: Tensor, temperature: float, include_positive: bool) -> Tensor:
    """Eq. 7 terms ``(m,)`` of validated ``(K, m, D)`` embeddings."""
    pair, denom = _pair_logsumexp(z, temperature, include_positive)
    return denom - pair.diagonal()


def _labels_to_ids(labels: Tensor, num_samples: int) -> Tensor:
    """Turn ``(m,)`` class ids or ``(m, C)`` soft/one-hot labels into ``(m,)`` class ids.

    Args:
        labels (Tensor): class ids ``(m,)`` or scores ``(m, C)`` (reduced with argmax).
        num_samples (int): the number of samples ``m`` in the batch.

    Returns:
        Tensor: the class ids, shape ``(m,)``.
    """
    if not isinstance(labels, Tensor):
        raise ValueError(f'labels must be a tensor, got {type(labels).__name__}')
    if labels.dim() == 2:
        labels = labels.argmax(dim=1)
    elif labels.dim() != 1:
        raise ValueError(f'labels must be (m,) class ids or (m, C) soft/one-hot labels, '
                         f'got shape {tuple(labels.shape)}')
    if labels.shape[0] != num_samples:
        raise ValueError(f'labels has length {labels.shape[0]} but the batch has m={num_samples} samples')
    return labels


def supervised_cross_modal_contrastive_loss(z: Tensor,
                                            labels: Tensor,
                                            temperature: float,
                                            include_positive: bool = False) -> Tensor:
    """Per-sample supervised cross-modal contrastive loss (Eq. 8).

    With ``e(i, j) = sum_{p != q} exp(sim(z_i^p, z_j^q) / tau)``, the term of sample ``i`` is

    ``l_i = -1 / (m_{y_i} - 1) * sum_{j != i, y_j = y_i} log(e(i, j) / sum_{l != i} e(i, l))``.

    Decisions where the paper is not explicit:

    - ``j`` runs over the *other* samples of the same class (``j != i``), exactly ``m_{y_i} - 1``
      terms, which matches the normaliser and the denominator that excludes ``l = i``.
    - A sample whose class has no other sample in the batch (``m_{y_i} = 1``) falls back to its
      Eq. 7 term (its own cross-modal pairs as the positive) instead of dividing by zero.
    - With ``include_positive=True`` the denominator sums over all ``l`` including ``l = i``.

    Args:
        z (Tensor): embeddings of shape ``(K, m, D)``, ``K >= 2`` modalities of ``m >= 2`` samples.
            They are used as given: pass L2-normalised embeddings for the cosine similarity.
        labels (Tensor): class ids ``(m,)``, or soft/one-hot labels ``(m, C)`` reduced with argmax.
        temperature (float): the temperature ``tau`` (> 0).
        include_positive (bool): if True the denominator includes ``l = i``. Defaults to False.

    Returns:
        Tensor: the loss terms ``l_i``, shape ``(m,)``.
    """
    temperature = _check_temperature(temperature)
    z = _stack_embeddings(z)
    if labels is None:
        raise ValueError('labels must be given for the supervised loss')
    return _eq8_terms(z, _labels_to_ids(labels, z.shape[1]), temperature, include_positive)


def _eq8_terms(z: Tensor, labels: Tensor, temperature: float, include_positive: bool) -> Tensor:
    """Eq. 8 terms ``(m,)`` of validated ``(K, m, D)`` embeddings and ``(m,)`` class ids."""
    num_samples = z.shape[1]
    labels = labels.to(z.device)
    pair, denom = _pair_logsumexp(z, temperature, include_positive)
    log_prob = pair - denom[:, None]  # log(e(i, j) / denominator_i)
    eye_m = torch.eye(num_samples, dtype=torch.bool, device=z.device)
    positive = (labels[:, None] == labels[None, :]) & ~eye_m
    num_positive = positive.sum(dim=1)
    supervised = -torch.where(positive, log_prob, torch.zeros_like(log_prob)).sum(dim=1)
    supervised = supervised / num_positive.clamp(min=1).to(log_prob.dtype)
    unsupervised = -log_prob.diagonal()  # Eq. 7 fallback for classes seen once in the batch
    return torch.where(num_positive > 0, supervised, unsupervised)


@MODELS.register_module()
class CrossModalContrastiveLoss(nn.Module):
    """Cross-modal contrastive loss of CMDA (Eq. 7, or Eq. 8 with labels).

    Pulls the embeddings of the ``K`` modalities of one sample (and, when supervised, of the other
    samples of its class) together and pushes those of the other samples apart. See
    :func:`cross_modal_contrastive_loss` and :func:`supervised_cross_modal_contrastive_loss` for the
    equations and the decisions taken where the paper is not explicit.

    Args:
        temperature (float): the temperature ``tau`` (> 0). Defaults to 0.1.
        supervised (bool): use Eq. 8 (needs ``labels`` in :meth:`forward`) instead of Eq. 7.
            Defaults to False.
        include_positive (bool): if True the denominator also sums over ``l = i`` (InfoNCE form);
            the paper excludes it. Defaults to False.
        reduction (str): ``'mean'`` (batch-size independent), ``'sum'`` (the paper's
            ``L_g = sum_i l_i``) or ``'none'`` (the ``(m,)`` terms). Defaults to ``'mean'``.
        loss_weight (float): multiplier of the loss (the paper's ``lambda``). Defaults to 1.0.
        normalize (bool): L2-normalise the embeddings first, so that ``sim`` is the cosine.
            Defaults to True.
        debug (bool): also check on every call that the embeddings are finite. That check reads the values
            (a device-to-host sync every training step on a GPU), so it is off by default: shapes are always
            checked, values at the data boundary (datasets check features at load). The pure functions
            :func:`cross_modal_contrastive_loss` / :func:`supervised_cross_modal_contrastive_loss` always
            check. Defaults to False.
    """

    def __init__(self,
                 temperature: float = 0.1,
                 supervised: bool = False,
                 include_positive: bool = False,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0,
                 normalize: bool = True,
                 debug: bool = False) -> None:
        super().__init__()
        if reduction not in _REDUCTIONS:
            raise ValueError(f'reduction must be one of {_REDUCTIONS}, got {reduction!r}')
        self.temperature = _check_temperature(temperature)
        self.supervised = bool(supervised)
        self.include_positive = bool(include_positive)
        self.reduction = reduction
        self.loss_weight = float(loss_weight)
        self.normalize = bool(normalize)
        self.debug = bool(debug)

    def forward(self,
                embeddings: Union[Sequence[Tensor], Tensor],
                labels: Optional[Tensor] = None) -> Tensor:
        """Compute the loss.

        Args:
            embeddings (Sequence[Tensor] | Tensor): ``K >= 2`` tensors of shape ``(m, D)``, one per
                modality with the samples in the same order, or one tensor of shape ``(K, m, D)``.
            labels (Tensor, optional): class ids ``(m,)`` or soft/one-hot labels ``(m, C)``;
                required when ``supervised=True``, ignored otherwise. Defaults to None.

        Returns:
            Tensor: the weighted loss, a scalar (or ``(m,)`` with ``reduction='none'``).
        """
        z = _stack_embeddings(embeddings, check_finite=self.debug)
        if self.normalize:
            z = F.normalize(z, p=2, dim=-1)
        if self.supervised:
            if labels is None:
                raise ValueError('labels must be given when supervised=True')
            labels = _labels_to_ids(labels, z.shape[1])
            loss = _eq8_terms(z, labels, self.temperature, self.include_positive)
        else:
            loss = _eq7_terms(z, self.temperature, self.include_positive)
        if self.reduction == 'mean':
            loss = loss.mean()
        elif self.reduction == 'sum':
            loss = loss.sum()
        return self.loss_weight * loss

    def extra_repr(self) -> str:
        return (f'temperature={self.temperature}, supervised={self.supervised}, '
                f'include_positive={self.include_positive}, reduction={self.reduction!r}, '
                f'loss_weight={self.loss_weight}, normalize={self.normalize}')
