r"""``TimePooling``: one vector per sequence from the recurrent outputs of every step.

``mode`` (F = the recurrent output size, valid steps t < length only):

- ``"mean"``: :math:`z = \frac{1}{L} \sum_{t<L} o_t`;
- ``"max"``: :math:`z_f = \max_{t<L} o_{t,f}`;
- ``"attention"`` (additive, Bahdanau-style): :math:`s_t = v^\top \tanh(W o_t + b)`,
  :math:`a = \mathrm{softmax}_{t<L}(s)`, :math:`z = \sum_t a_t o_t`; W (F, F), v (F,).

Shapes: o (B, T, F), lengths (B,) or None (every step valid) -> z (B, F). Padded steps get
no weight (mean, attention) and never win the max. ``last_attention`` keeps the weights
(B, T) of the latest eager call for inspection.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from rnnkit.nn import Dense
from rnnkit.nn.config import register
from rnnkit.nn.tracing import capture

POOLINGS = ("last", "mean", "max", "attention")


@register
class TimePooling(nn.Module):
    """Mean, max or attention pooling over the valid steps; see the module doc."""

    def __init__(self, features: int, mode: str = "mean") -> None:
        super().__init__()
        if mode not in POOLINGS[1:]:
            raise ValueError(f"mode must be one of {POOLINGS[1:]}, got {mode!r}")
        self.features, self.mode = features, mode
        self.score = None
        if mode == "attention":
            self.score = nn.Sequential(Dense(features, features, activation="tanh"),
                                       Dense(features, 1, bias=False))
        self.last_attention: Tensor | None = None

    def get_config(self) -> dict[str, Any]:
        return {"features": self.features, "mode": self.mode}

    def forward(self, o: Tensor, lengths: Tensor | None = None) -> Tensor:
        T = o.shape[1]
        valid = None
        if lengths is not None:
            valid = torch.arange(T, device=o.device)[None, :] < lengths.to(o.device)[:, None]
        if self.mode == "mean":
            if valid is None:
                return o.mean(dim=1)  # (B, F)
            w = valid.unsqueeze(-1).to(o.dtype)  # (B, T, 1)
            return (o * w).sum(dim=1) / w.sum(dim=1)  # (B, F)
        if self.mode == "max":
            if valid is None:
                return o.amax(dim=1)  # (B, F)
            return o.masked_fill(~valid.unsqueeze(-1), float("-inf")).amax(dim=1)  # (B, F)
        s = self.score(o).squeeze(-1)  # (B, T)
        if valid is not None:
            s = s.masked_fill(~valid, float("-inf"))
        a = torch.softmax(s, dim=1)  # (B, T)
        if capture() is None:  # not while a graph is captured (export, compile, trace)
            self.last_attention = a.detach()
        return torch.einsum("bt,btf->bf", a, o)  # (B, F)


__all__ = ["POOLINGS", "TimePooling"]
