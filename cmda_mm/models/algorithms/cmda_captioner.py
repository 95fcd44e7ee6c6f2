"""Image captioning (Show, Attend and Tell) with online CMDA and an attenuation schedule (paper §IV-J)."""
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmpretrain.structures import DataSample
from torch import Tensor, nn

from cmda_mm.models.captioning import SATDecoder, build_vocab
from cmda_mm.registry import MODELS

__all__ = ['CMDACaptioner']
from .cross_modal_towers import MIN_CMDA_BATCH, CrossModalTowersMixin


@MODELS.register_module()
class CMDACaptioner(CrossModalTowersMixin, BaseModel):
    """Show-Attend-Tell captioner whose image student trains on cross-modal mixed images.

    The encoder is any mmpretrain backbone; its last feature map is average-pooled to ``grid_size`` and
    projected (1×1 conv + ReLU) to ``feat_channels`` (the paper uses 2048) — L = h·w grid features for the
    :class:`SATDecoder`. Training: teacher forcing, token cross-entropy plus the doubly stochastic attention
    regulariser ``attention_reg · mean_i (1 − Σ_t α_ti)²``.

    CMDA (with ``teacher_encoder``): the teacher is the caption, embedded by a bag-of-words tower (a
    ``HashedBagOfWords`` vector from the pipeline through ``teacher_encoder``, e.g. ``FeatureMLP``, and
    ``teacher_projector``); the student embedding is ``student_projector`` on the grid map. As in
    :class:`CMDAClassifier`, one forward pass gives the captioning loss and the embeddings, the contrastive
    loss (Eq. 7, λ = its ``loss_weight``) learns the common space jointly, and the mixer turns the *detached*
    embeddings into weights W; the new image ``W[r] @ x`` is trained to produce caption ``rows[r]`` (the
    teacher that asked for it). ``contrastive_loss=None`` freezes the three alignment towers (load a
    pretrained alignment with ``init_cfg``). The mixed-sample loss enters a token-weighted mean with weight
    ``mix_loss_weight``; :class:`CMDAAttenuationHook` decays it, or the mixer's ``fraction``, over epochs.

    Args:
        backbone (dict): mmpretrain backbone config.
        in_channels (int): channels of the backbone's last output.
        feat_channels (int, optional): projected grid channels; None keeps ``in_channels``.
        grid_size (int | tuple, optional): adaptive-average-pool the map to this grid (SAT: 14).
        vocab (dict): :func:`build_vocab` arguments (``min_freq``, ``max_len``, ``source``/``captions``).
        decoder (dict): :class:`SATDecoder` arguments besides the sizes fixed here.
        attention_reg (float): weight of the doubly stochastic attention regulariser (SAT λ = 1).
        beam_size (int): beam width at inference; 1 is greedy decoding.
        length_penalty (float): GNMT length penalty exponent for the final beam pick.
        teacher_encoder, student_projector, teacher_projector (dict, optional): the alignment towers.
        contrastive_loss (dict, optional): Eq. 7 loss; None = frozen, pretrained alignment.
        mix_loss_weight (float): weight of the mixed-sample captioning loss.
        data_preprocessor (dict, optional): defaults to ``CMDADataPreprocessor`` (its ``cmda`` switches
            the mixing on).
        init_cfg (dict, optional): e.g. ``dict(type='Pretrained', checkpoint=...)`` for the alignment.
    """

    def __init__(self, backbone: dict, in_channels: int, feat_channels: Optional[int] = None,
                 grid_size=None, vocab: dict = dict(min_freq=1, max_len=20), decoder: dict = dict(),
                 attention_reg: float = 1.0, beam_size: int = 3, length_penalty: float = 0.0,
                 teacher_encoder: Optional[dict] = None, student_projector: Optional[dict] = None,
                 teacher_projector: Optional[dict] = None,
                 contrastive_loss: Optional[dict] = dict(type='CrossModalContrastiveLoss', temperature=0.1,
                                                         loss_weight=0.1),
                 mix_loss_weight: float = 1.0, data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        data_preprocessor = dict(data_preprocessor or {})
        data_preprocessor.setdefault('type', 'CMDADataPreprocessor')
        data_preprocessor.setdefault('to_onehot', False)
        # Built from cmda_mm's registry (mmengine's BaseModel would look in its root registry).
        super().__init__(data_preprocessor=MODELS.build(data_preprocessor), init_cfg=init_cfg)
        if beam_size < 1:
            raise ValueError(f'`beam_size` must be >= 1, got {beam_size}')
        self.backbone = MODELS.build(backbone)
        feat_channels = feat_channels or in_channels
        self.grid_pool = nn.AdaptiveAvgPool2d(grid_size) if grid_size else nn.Identity()
        self.feat_proj = (nn.Sequential(nn.Conv2d(in_channels, feat_channels, 1), nn.ReLU(inplace=True))
                          if feat_channels != in_channels else nn.Identity())
        self.vocab = build_vocab(vocab)
        self.decoder = SATDecoder(len(self.vocab), feat_channels, **decoder)
        self.attention_reg, self.beam_size, self.length_penalty = attention_reg, beam_size, length_penalty
        self.mix_loss_weight = mix_loss_weight
        self._build_towers(teacher_encoder, student_projector, teacher_projector, contrastive_loss)
        if self.with_teacher and self.contrastive_loss is None:  # a loaded, frozen alignment
            self.freeze_towers()

    def forward(self, inputs: Tensor, data_samples: Optional[List[DataSample]] = None, mode: str = 'tensor',
                teacher: Optional[Tensor] = None):
        """'tensor': grid feature maps; 'loss': losses (``teacher`` needed with CMDA); 'predict': captions."""
        if mode == 'tensor':
            return self.extract_feat(inputs)
        if mode == 'loss':
            return self.loss(inputs, data_samples, teacher)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        raise RuntimeError(f'Invalid mode "{mode}".')

    def extract_feat(self, inputs: Tensor) -> Tensor:
        """(B, F, h, w) grid feature map."""
        x = self.backbone(inputs)
        x = x[-1] if isinstance(x, (tuple, list)) else x
        return self.feat_proj(self.grid_pool(x))

    # ---- training --------------------------------------------------------------------------------------
    def _caption_terms(self, fmap: Tensor, tokens: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """Per-sample summed token CE (B,), token counts (B,) and attention regulariser (B,)."""
        logits, alphas = self.decoder(fmap.flatten(2).transpose(1, 2), tokens)
        target = tokens[:, 1:]
        ce = F.cross_entropy(logits.transpose(1, 2), target, ignore_index=self.vocab.pad, reduction='none')
        valid = (target != self.vocab.pad).to(alphas.dtype)
        reg = ((1.0 - (alphas * valid.unsqueeze(2)).sum(1))**2).mean(1)
        return ce.sum(1), valid.sum(1), reg

    def _captions(self, data_samples: List[DataSample]) -> Tuple[List[str], List[str]]:
        captions, names = [], []
        for i, sample in enumerate(data_samples):
            name = ', '.join(f'{k}={sample.get(k)!r}' for k in ('sample_idx', 'img_path') if k in sample)
            name = name or f'batch item {i}'
            if 'caption' not in sample:
                raise KeyError(f"data sample {name} has no 'caption': pack it with "
                               "PackPairedInputs(algorithm_keys=('caption', ...))")
            captions.append(sample.caption)
            names.append(name)
        return captions, names

    def loss(self, inputs: Tensor, data_samples: List[DataSample],
             teacher: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """Captioning loss on the real batch and the CMDA images, plus Eq. 9's contrastive term.

        Returns:
            dict: ``loss_caption`` + ``loss_caption_mix`` (their sum is the token-weighted mean CE over all
            samples), ``loss_attention``, ``loss_contrastive`` (joint alignment only), ``caption_truncated``
            (captions of the batch longer than ``max_len``) and the ``cmda_*`` weight diagnostics.
        """
        if self.vocab.is_empty:
            raise RuntimeError('CMDACaptioner: the vocabulary is empty — set `vocab.source` (the training '
                               'set) or `vocab.captions`, or load a checkpoint that carries one')
        captions, names = self._captions(data_samples)
        tokens, _, n_trunc = self.vocab.encode(captions, names)
        tokens = tokens.to(inputs.device)
        fmap = self.extract_feat(inputs)
        ce, n_tok, reg = self._caption_terms(fmap, tokens)
        losses = dict(caption_truncated=torch.tensor(float(n_trunc), device=inputs.device))
        keep = torch.ones(len(ce), dtype=torch.bool, device=ce.device)
        ce_mix = n_mix = reg_mix = ce.new_zeros(0)

        mixer, weight = self.mixer, float(self.mix_loss_weight)
        if self.with_teacher:
            if teacher is None:
                raise ValueError('CMDACaptioner with a teacher tower needs `teacher` inputs in training '
                                 '(HashedBagOfWords + PackPairedInputs)')
            if len(ce) < MIN_CMDA_BATCH:  # e.g. a last batch of 1: no latent-space step, no mixing
                if self.contrastive_loss is not None:
                    losses['loss_contrastive'] = self._idle_towers_loss(inputs.device)
            else:
                z_s, z_t = self.embed(fmap, teacher)
                if self.contrastive_loss is not None:
                    losses['loss_contrastive'] = self.contrastive_loss([z_s, z_t])
                # The CMDA step (cmda_mm/core/mixer.py): record (also while attenuated, so DCA keeps fitting),
                # plan, mix; the new image r is trained to produce the caption of teacher rows[r].
                new = mixer.augment(inputs, z_t, z_s, labels=self._labels(data_samples, inputs.device),
                                    active=weight > 0) if mixer is not None else None
                if new is not None:
                    ce_mix, n_mix, reg_mix = self._caption_terms(self.extract_feat(new.inputs), tokens[new.rows])
                    if mixer.mode == 'replace':
                        keep[new.rows] = False
                    losses.update({f'cmda_{k}': v for k, v in new.diagnostics.items()})

        denom_tok = n_tok[keep].sum() + weight * n_mix.sum()
        losses['loss_caption'] = ce[keep].sum() / denom_tok
        losses['loss_caption_mix'] = weight * ce_mix.sum() / denom_tok
        denom = keep.sum() + weight * len(reg_mix)
        losses['loss_attention'] = self.attention_reg * (reg[keep].sum() + weight * reg_mix.sum()) / denom
        return losses

    @staticmethod
    def _labels(data_samples: List[DataSample], device) -> Optional[Tensor]:
        """Class labels when every sample has one (only the mixer's diagnostics use them)."""
        if all('gt_label' in s for s in data_samples):
            return torch.cat([s.gt_label for s in data_samples]).to(device)
        return None

    # ---- inference -------------------------------------------------------------------------------------
    @torch.no_grad()
    def generate(self, inputs: Tensor, beam_size: Optional[int] = None) -> Tensor:
        """Token ids (B, ≤max_len+1) of the generated captions (greedy when ``beam_size`` is 1)."""
        if self.vocab.is_empty:
            raise RuntimeError('CMDACaptioner: the vocabulary is empty — load a checkpoint that carries one')
        feats = self.extract_feat(inputs).flatten(2).transpose(1, 2)
        beam_size = beam_size or self.beam_size
        steps, bos, eos = self.vocab.max_len + 1, self.vocab.bos, self.vocab.eos
        if beam_size == 1:
            return self.decoder.greedy(feats, bos, eos, steps)
        return self.decoder.beam_search(feats, bos, eos, steps, beam_size, self.length_penalty)

    def predict(self, inputs: Tensor, data_samples: Optional[List[DataSample]] = None) -> List[DataSample]:
        """Caption a batch: each data sample gets ``pred_caption`` (a string)."""
        captions = self.vocab.decode(self.generate(inputs))
        data_samples = data_samples or [DataSample() for _ in captions]
        for sample, caption in zip(data_samples, captions):
            sample.set_field(caption, 'pred_caption')
        return data_samples
