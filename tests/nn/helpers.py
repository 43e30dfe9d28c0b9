"""Shared helpers for the rnnkit.nn tests: float64 torch.nn twins, relative errors, losses."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from rnnkit.nn import GRU, LSTM, LSTMState, SimpleRNN

#: (rnnkit layer class, torch.nn class, extra kwargs) for each standard kind
KINDS = {
    "tanh": (SimpleRNN, nn.RNN, {"nonlinearity": "tanh"}),
    "relu": (SimpleRNN, nn.RNN, {"nonlinearity": "relu"}),
    "lstm": (LSTM, nn.LSTM, {}),
    "gru": (GRU, nn.GRU, {}),
}


def rel(a: torch.Tensor, b: torch.Tensor) -> float:
    """max |a - b| / max |b| (0 if both are zero)."""
    scale = b.abs().max().item()
    diff = (a - b).abs().max().item()
    return diff / scale if scale > 0 else diff


def fields(state) -> tuple[torch.Tensor, ...]:
    return (state,) if isinstance(state, torch.Tensor) else tuple(state)


def as_torch_state(state):
    """rnnkit LSTMState -> torch.nn's (h, c) tuple; a tensor stays a tensor."""
    return tuple(state) if isinstance(state, LSTMState) else state


def weighted_loss(out: torch.Tensor, state, gen: torch.Generator) -> torch.Tensor:
    """A loss that touches every output and every state field with random weights."""
    loss = (out * torch.randn(out.shape, generator=gen, dtype=out.dtype)).sum()
    for f in fields(state):
        loss = loss + (f * torch.randn(f.shape, generator=gen, dtype=f.dtype)).sum()
    return loss


def randomise_ln_(cell) -> None:
    """Move an LN cell's ln_weight / ln_bias away from 1 / 0 so they matter (no-op otherwise)."""
    if hasattr(cell, "ln_weight"):
        with torch.no_grad():
            cell.ln_weight.uniform_(0.5, 1.5)
            cell.ln_bias.uniform_(-0.5, 0.5)


def sigmoid(a: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-a)), written out in NumPy for hand-computed expected values."""
    return 1.0 / (1.0 + np.exp(-a))
