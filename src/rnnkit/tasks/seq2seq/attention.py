r"""Attention over encoder outputs: dot-product (Luong) and additive (Bahdanau).

For decoder outputs :math:`h_t` (B, T, H) and encoder outputs :math:`e_s` (B, S, H):

- dot: :math:`\mathrm{score}(t, s) = h_t \cdot e_s`
- additive: :math:`\mathrm{score}(t, s) = v^\top \tanh(W_q h_t + W_k e_s)`, with
  :math:`W_q, W_k` (A, H), :math:`v` (A,)

then :math:`a_{t,s} = \mathrm{softmax}_s(\mathrm{score}(t, s))` over the valid source steps
only (padded steps get weight exactly 0) and the context is :math:`c_t = \sum_s a_{t,s} e_s`.
Each row of the returned weights sums to 1.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rnnkit.nn import Dense

KINDS = ("dot", "additive")


class Attention(nn.Module):
    """``context, weights = attn(query (B, T, H), keys (B, S, H), mask (B, S) bool)``.

    Returns context (B, T, H) and weights (B, T, S); ``mask`` is True at valid source steps.
    """

    def __init__(self, hidden_size: int, kind: str = "dot", attn_size: int | None = None):
        super().__init__()
        if kind not in KINDS:
            raise ValueError(f"attention must be one of {KINDS}, got {kind!r}")
        self.kind = kind
        self.hidden_size = hidden_size
        if kind == "additive":
            A = attn_size or hidden_size
            self.w_query = Dense(hidden_size, A, bias=False)
            self.w_key = Dense(hidden_size, A, bias=True)
            self.v = Dense(A, 1, bias=False)

    def scores(self, query: Tensor, keys: Tensor) -> Tensor:
        """Raw scores (B, T, S)."""
        if self.kind == "dot":
            return torch.bmm(query, keys.transpose(1, 2))  # (B, T, H) @ (B, H, S) -> (B, T, S)
        q = self.w_query(query).unsqueeze(2)  # (B, T, 1, A)
        k = self.w_key(keys).unsqueeze(1)  # (B, 1, S, A)
        return self.v(torch.tanh(q + k)).squeeze(-1)  # (B, T, S)

    def forward(self, query: Tensor, keys: Tensor, mask: Tensor | None = None
                ) -> tuple[Tensor, Tensor]:
        s = self.scores(query, keys)  # (B, T, S)
        if mask is not None:
            s = s.masked_fill(~mask.unsqueeze(1), float("-inf"))  # (B, T, S)
        w = torch.softmax(s, dim=-1)  # (B, T, S), rows sum to 1
        return torch.bmm(w, keys), w  # (B, T, H), (B, T, S)

    def extra_repr(self) -> str:
        return f"{self.hidden_size}, kind={self.kind!r}"


__all__ = ["KINDS", "Attention"]
