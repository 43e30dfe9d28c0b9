"""Small models and data shared by the rnnkit.train tests."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


class Spy(nn.Module):
    """Identity that records the first feature of every batch it sees in training mode."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            self.seen.append(x[:, 0].detach().clone())
        return x


class LastStep(nn.Module):
    """torch.nn.RNN returning its last output: (B, T, D) -> (B, H)."""

    def __init__(self, d: int, h: int) -> None:
        super().__init__()
        self.rnn = nn.RNN(d, h, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.rnn(x)[0][:, -1]  # (B, H)


def regression_data(n: int = 40, t: int = 6, seed: int = 0):
    """X (n, t, 1) float32 and y (n, 1): the sum of the last two steps."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, t, 1)).astype(np.float32)
    y = X[:, -2:, 0].sum(axis=1, keepdims=True)
    return X, y
