"""Show, Attend and Tell decoder (Xu et al., 2015): an LSTM with soft additive attention over grid features.

Training uses teacher forcing; inference uses greedy decoding or batched beam search (beam 1 == greedy).
The vocabulary-sized layers (embedding, output) resize themselves to a checkpoint's shapes on load, so a
model built without its training captions can be restored from a checkpoint alone.
"""
from typing import Tuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn

__all__ = ['SoftAttention', 'SATDecoder']


class SoftAttention(nn.Module):
    """Additive (Bahdanau) attention: ``α = softmax(w · tanh(W_f f + W_h h))`` over L grid locations."""

    def __init__(self, feat_channels: int, hidden_dims: int, attention_dims: int) -> None:
        super().__init__()
        self.feat_proj = nn.Linear(feat_channels, attention_dims)
        self.hidden_proj = nn.Linear(hidden_dims, attention_dims)
        self.score = nn.Linear(attention_dims, 1)

    def forward(self, feats: Tensor, feats_proj: Tensor, h: Tensor) -> Tuple[Tensor, Tensor]:
        """``feats`` (B, L, F), ``feats_proj`` = feat_proj(feats) (B, L, A), ``h`` (B, H) ->
        context (B, F), α (B, L)."""
        e = self.score(torch.tanh(feats_proj + self.hidden_proj(h).unsqueeze(1))).squeeze(2)
        alpha = e.softmax(dim=1)
        return torch.bmm(alpha.unsqueeze(1), feats).squeeze(1), alpha


class SATDecoder(BaseModule):
    """LSTM decoder with soft attention and the gating scalar β (SAT §3.1.2, §4.2.1).

    The output layer reads the (dropped-out) hidden state, as common SAT re-implementations do, instead
    of the paper's deep output over (word, h, context).

    Args:
        vocab_size (int): output vocabulary size (specials included; ``<pad>`` = 0).
        feat_channels (int): channels F of the grid features.
        embed_dims (int): word embedding size. Defaults to 512.
        hidden_dims (int): LSTM hidden size. Defaults to 512.
        attention_dims (int): attention MLP size. Defaults to 512.
        dropout (float): dropout before the output layer. Defaults to 0.5.
        init_cfg (dict, optional): initialisation config.
    """

    def __init__(self, vocab_size: int, feat_channels: int, embed_dims: int = 512, hidden_dims: int = 512,
                 attention_dims: int = 512, dropout: float = 0.5, init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.embed_dims, self.hidden_dims = embed_dims, hidden_dims
        self.embedding = nn.Embedding(vocab_size, embed_dims, padding_idx=0)
        self.attention = SoftAttention(feat_channels, hidden_dims, attention_dims)
        self.init_h = nn.Linear(feat_channels, hidden_dims)
        self.init_c = nn.Linear(feat_channels, hidden_dims)
        self.gate = nn.Linear(hidden_dims, feat_channels)
        self.lstm = nn.LSTMCell(embed_dims + feat_channels, hidden_dims)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(hidden_dims, vocab_size)

    @property
    def vocab_size(self) -> int:
        return self.fc.out_features

    def resize_vocab(self, vocab_size: int) -> None:
        """Re-create the vocabulary-sized layers (fresh weights) for ``vocab_size`` tokens."""
        if vocab_size == self.vocab_size:
            return
        device = self.fc.weight.device
        self.embedding = nn.Embedding(vocab_size, self.embed_dims, padding_idx=0).to(device)
        self.fc = nn.Linear(self.hidden_dims, vocab_size).to(device)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        key = f'{prefix}fc.weight'
        if key in state_dict:
            self.resize_vocab(state_dict[key].shape[0])
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    # ---- one step --------------------------------------------------------------------------------------
    def init_state(self, feats: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """``(h, c, attention projection of feats)`` for (B, L, F) features."""
        mean = feats.mean(1)
        return torch.tanh(self.init_h(mean)), torch.tanh(self.init_c(mean)), self.attention.feat_proj(feats)

    def step(self, feats: Tensor, feats_proj: Tensor, h: Tensor, c: Tensor,
             words: Tensor) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
        """One time step: previous words (B,) -> logits (B, V), h, c, α (B, L)."""
        context, alpha = self.attention(feats, feats_proj, h)
        context = torch.sigmoid(self.gate(h)) * context
        h, c = self.lstm(torch.cat([self.embedding(words), context], dim=1), (h, c))
        return self.fc(self.dropout(h)), h, c, alpha

    # ---- training --------------------------------------------------------------------------------------
    def forward(self, feats: Tensor, tokens: Tensor) -> Tuple[Tensor, Tensor]:
        """Teacher forcing.

        Args:
            feats (Tensor): (B, L, F) grid features.
            tokens (Tensor): (B, T) ``<bos> ... <eos> <pad>..`` ids.

        Returns:
            tuple: logits (B, T-1, V) predicting ``tokens[:, 1:]`` and attention maps α (B, T-1, L).
        """
        h, c, feats_proj = self.init_state(feats)
        logits, alphas = [], []
        for t in range(tokens.shape[1] - 1):
            out, h, c, alpha = self.step(feats, feats_proj, h, c, tokens[:, t])
            logits.append(out)
            alphas.append(alpha)
        return torch.stack(logits, 1), torch.stack(alphas, 1)

    # ---- inference -------------------------------------------------------------------------------------
    @staticmethod
    def _forbid(logits: Tensor, bos: int) -> Tensor:
        """Never generate ``<pad>`` (id 0) or ``<bos>``."""
        logits = logits.clone()
        logits[:, [0, bos]] = float('-inf')
        return logits

    @torch.no_grad()
    def greedy(self, feats: Tensor, bos: int, eos: int, max_steps: int) -> Tensor:
        """Arg-max decoding: (B, ≤max_steps) ids, ``<pad>`` after each ``<eos>``."""
        h, c, feats_proj = self.init_state(feats)
        words = torch.full((feats.shape[0], ), bos, dtype=torch.long, device=feats.device)
        done = torch.zeros_like(words, dtype=torch.bool)
        out = []
        for _ in range(max_steps):
            logits, h, c, _ = self.step(feats, feats_proj, h, c, words)
            words = self._forbid(logits, bos).argmax(1).masked_fill(done, 0)
            out.append(words)
            done = done | (words == eos)
            if done.all():
                break
        return torch.stack(out, 1)

    @torch.no_grad()
    def beam_search(self, feats: Tensor, bos: int, eos: int, max_steps: int, beam_size: int = 3,
                    length_penalty: float = 0.0) -> Tensor:
        """Batched beam search over the B images at once (B·K hypotheses per step).

        Finished hypotheses stay in the beam with a fixed score (extended by ``<pad>`` at no cost), so with
        ``beam_size=1`` this is exactly greedy decoding. The final pick maximises the summed log-probability,
        divided by ``((5 + n) / 6) ** length_penalty`` (GNMT) when ``length_penalty`` > 0.

        Returns:
            Tensor: (B, ≤max_steps) ids of the best hypothesis per image.
        """
        b, k = feats.shape[0], beam_size
        feats = feats.repeat_interleave(k, 0)
        h, c, feats_proj = self.init_state(feats)
        words = torch.full((b * k, ), bos, dtype=torch.long, device=feats.device)
        scores = torch.full((b, k), float('-inf'), device=feats.device)
        scores[:, 0] = 0  # all beams start identical: keep one
        done = torch.zeros(b * k, dtype=torch.bool, device=feats.device)
        seqs = torch.zeros(b * k, 0, dtype=torch.long, device=feats.device)
        offset = torch.arange(b, device=feats.device).unsqueeze(1) * k
        for _ in range(max_steps):
            logits, h, c, _ = self.step(feats, feats_proj, h, c, words)
            logp = F.log_softmax(self._forbid(logits.float(), bos), dim=1)
            logp[done] = float('-inf')
            logp[done, 0] = 0.0  # a finished hypothesis only grows <pad>, at no cost
            vocab = logp.shape[1]
            cand = (scores.view(-1, 1) + logp).view(b, k * vocab)
            scores, idx = cand.topk(k, dim=1)
            parent = (offset + torch.div(idx, vocab, rounding_mode='floor')).view(-1)
            words = (idx % vocab).view(-1)
            h, c, seqs, done = h[parent], c[parent], seqs[parent], done[parent]
            seqs = torch.cat([seqs, words.unsqueeze(1)], 1)
            done = done | (words == eos)
            if done.all():
                break
        final = scores
        if length_penalty > 0:
            lengths = ((seqs != 0) & (seqs != eos)).sum(1).view(b, k).float() + 1
            final = scores / ((5 + lengths) / 6)**length_penalty
        best = offset.squeeze(1) + final.argmax(1)
        return seqs[best]
