r"""``ConvFrontEnd``: Conv1D blocks that shorten a long series before the recurrent layers.

Each of ``blocks`` blocks is (the Conv1D + GRU idea of Géron's time-series chapter, with
pooling so the recurrent part reads T / 2^blocks steps)::

    x = x * valid                                  # padded steps read as zeros
    x = relu(Norm(Conv1D(x)))                      # (B, T, D) -> (B, T, C), kernel k, "same"
    x = x * valid                                  # so pooling never sees a padded step
    x = maxpool(x, 2)                              # (B, T, C) -> (B, ceil(T/2), C)
    lengths = ceil(lengths / 2)

Shapes: x (B, T, D) float, lengths (B,) or None -> (B, T', C), lengths' (B,) or None with
T' = ceil(T / 2^blocks). Padded steps never change a valid output: the convolution's "same"
padding is zeros, the padded steps are zeroed before each convolution, and after the ReLU
every value is >= 0, so a zeroed padded step never wins a max-pool window (a single sequence
and the same sequence in a padded batch give the same outputs, tested).
``norm``: "batch" (the FCN/ResNet blocks of Wang et al. 2017, conv -> batch norm -> ReLU):
:class:`MaskedBatchNorm`, each channel standardised with its mean and variance over the
batch and the VALID steps only (running averages in eval mode), so padding never enters
the statistics; "layer": LayerNorm over the C channels of each step; "none".
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.nn import Conv1D, LayerNorm
from rnnkit.nn.config import register

#: The normalisations a front-end block may use.
NORMS = ("batch", "layer", "none")


def valid_steps(lengths: Tensor, T: int, device: torch.device) -> Tensor:
    """(B, T, 1) float mask, 1 on each sequence's valid steps."""
    steps = torch.arange(T, device=device)[None, :]  # (1, T)
    return (steps < lengths.to(device)[:, None]).unsqueeze(-1).float()  # (B, T, 1)


@register
class ConvFrontEnd(nn.Module):
    """``blocks`` x (Conv1D(k, same) -> norm -> ReLU -> MaxPool(2)); see the module doc."""

    def __init__(self, input_size: int, channels: int = 64, blocks: int = 3,
                 kernel_size: int = 7, norm: str = "layer") -> None:
        super().__init__()
        for name, v in (("input_size", input_size), ("channels", channels),
                        ("blocks", blocks), ("kernel_size", kernel_size)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive int, got {v!r}")
        self.input_size, self.channels = input_size, channels
        self.blocks, self.kernel_size = blocks, kernel_size
        self.convs = nn.ModuleList(
            Conv1D(input_size if b == 0 else channels, channels, kernel_size, padding="same")
            for b in range(blocks))
        if norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
        self.norm = norm
        if norm == "layer":
            self.norms = nn.ModuleList(LayerNorm(channels) for _ in range(blocks))
        elif norm == "batch":
            self.norms = nn.ModuleList(MaskedBatchNorm(channels) for _ in range(blocks))

        else:
            self.norms = nn.ModuleList(nn.Identity() for _ in range(blocks))

    @property
    def output_size(self) -> int:
        return self.channels

    def get_config(self) -> dict[str, Any]:
        return {"input_size": self.input_size, "channels": self.channels,
                "blocks": self.blocks, "kernel_size": self.kernel_size, "norm": self.norm}

    def forward(self, x: Tensor, lengths: Tensor | None = None
                ) -> tuple[Tensor, Tensor | None]:
        for conv, norm in zip(self.convs, self.norms, strict=True):
            mask = None if lengths is None else valid_steps(lengths, x.shape[1], x.device)
            if mask is not None:
                x = x * mask  # (B, T, D)
            y = conv(x)  # (B, T, C)
            x = torch.relu(norm(y, mask) if self.norm == "batch" else norm(y))
            if mask is not None:
                x = x * mask
            if x.shape[1] >= 2:
                x = F.max_pool1d(x.transpose(1, 2), 2, 2, ceil_mode=True).transpose(1, 2)
                if lengths is not None:
                    lengths = (lengths + 1) // 2  # (B,) ceil(lengths / 2)
        return x, lengths  # (B, T', C), (B,)


class MaskedBatchNorm(nn.Module):
    """BatchNorm over the batch and the VALID steps of each channel: (B, T, C) -> (B, T, C)."""

    def __init__(self, channels: int, momentum: float = 0.1, eps: float = 1e-5) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))  # (C,)
        self.bias = nn.Parameter(torch.zeros(channels))  # (C,)
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_var", torch.ones(channels))
        self.momentum, self.eps = momentum, eps

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """Statistics and normalisation in float32 whatever ``x``'s dtype (as torch's batch
        norm under autocast), the result in ``x``'s dtype."""
        dtype, x = x.dtype, x.float()
        if mask is not None:
            mask = mask.float()
        if self.training:
            if mask is None:
                mean = x.mean(dim=(0, 1))  # (C,)
                var = x.var(dim=(0, 1), unbiased=False)
            else:
                n = mask.sum().clamp_min(1.0)
                mean = (x * mask).sum(dim=(0, 1)) / n  # (C,)
                var = (((x - mean) * mask) ** 2).sum(dim=(0, 1)) / n
            with torch.no_grad():
                self.running_mean.lerp_(mean.detach(), self.momentum)
                self.running_var.lerp_(var.detach(), self.momentum)
        else:
            mean, var = self.running_mean, self.running_var
        out = (x - mean) / torch.sqrt(var + self.eps) * self.weight + self.bias
        return out.to(dtype)


def auto_blocks(length: int, target: int = 64, most: int = 6) -> int:
    """How many halving blocks bring a series of ``length`` steps to at most ``target``
    steps (at least one, at most ``most``)."""
    blocks = 1
    while blocks < most and -(-length // 2 ** blocks) > target:
        blocks += 1
    return blocks


__all__ = ["NORMS", "ConvFrontEnd", "MaskedBatchNorm", "auto_blocks", "valid_steps"]
