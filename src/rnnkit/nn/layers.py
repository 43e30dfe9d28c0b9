r"""Keras-style building blocks around the recurrent layers, all channels-last.

- ``Dense(in, out, activation=None)``: y = act(x W^T + b) on the last axis: (B, D) -> (B, O),
  (B, T, D) -> (B, T, O).
- ``Conv1D(in, out, kernel_size, stride=1, dilation=1, padding="valid")``: (B, T, D) ->
  (B, T', O). valid: T' = floor((T - dilation*(k-1) - 1) / stride) + 1; causal: left-pad
  dilation*(k-1) zeros, so y_t sees x_{<=t} (T' = ceil(T / stride)); same: Keras' padding,
  T' = ceil(T / stride), the extra zero on the right.
- ``TimeDistributed(module)``: the module on every step, (B, T, ...) -> (B, T, ...).
- ``Embedding(num_embeddings, embedding_dim, padding_idx=None)``: (B, T) int -> (B, T, E).
- ``Flatten()``: (B, T, D) -> (B, T*D) (everything after the batch axis).
- ``LayerNorm(normalized_shape)``, ``BatchNorm1D(num_features)``: normalise the last axis of
  (B, D) or (B, T, D) (BatchNorm over B and T, per feature).

Activations by name: "relu", "tanh", "sigmoid", "softmax" (last axis), or None (identity).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.nn._checks import (
    check_bool,
    check_choice,
    check_index,
    check_positive_float,
    check_positive_int,
    check_rate,
)
from rnnkit.nn.config import from_config as _from_config
from rnnkit.nn.config import register, to_config
from rnnkit.nn.init import check_init, init_dense_
from rnnkit.nn.tracing import exporting

ACTIVATIONS = ("relu", "tanh", "sigmoid", "softmax")


def check_activation(activation: str | None) -> str | None:
    """Return ``activation`` if it is a known name or None, else raise ValueError."""
    return check_choice("activation", activation, (*ACTIVATIONS, None))


def activate(x: Tensor, activation: str | None, dim: int = -1) -> Tensor:
    """Apply a named activation (None: identity); softmax runs over ``dim``."""
    if activation is None:
        return x
    if activation == "relu":
        return torch.relu(x)
    if activation == "tanh":
        return torch.tanh(x)
    if activation == "sigmoid":
        return torch.sigmoid(x)
    return torch.softmax(x, dim=dim)


def _check_last_dim(x: Tensor, name: str, size: int) -> None:
    if x.dim() < 2 or x.shape[-1] != size:
        raise ValueError(f"{name} input must have shape (B, ..., {size}), got {tuple(x.shape)}")


@register
class Dense(nn.Module):
    """Fully connected layer on the last axis: y = act(x W^T + b); W (O, D), b (O,).

    init "keras" (default): Glorot uniform W, zero b; "torch": torch.nn.Linear's rule.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        activation: str | None = None,
        bias: bool = True,
        init: str = "keras",
    ) -> None:
        super().__init__()
        self.in_features = check_positive_int("in_features", in_features)
        self.out_features = check_positive_int("out_features", out_features)
        self.activation = check_activation(activation)
        self.init = check_init(init)
        has_bias = check_bool("bias", bias)
        self.weight = nn.Parameter(torch.empty(out_features, in_features))  # (O, D)
        self.bias = nn.Parameter(torch.empty(out_features)) if has_bias else None  # (O,)
        init_dense_(self.weight, self.bias, init)

    def forward(self, x: Tensor) -> Tensor:
        _check_last_dim(x, "Dense", self.in_features)
        return activate(F.linear(x, self.weight, self.bias), self.activation)  # (..., O)

    def get_config(self) -> dict[str, Any]:
        return {
            "in_features": self.in_features,
            "out_features": self.out_features,
            "activation": self.activation,
            "bias": self.bias is not None,
            "init": self.init,
        }


PADDINGS = ("valid", "causal", "same")


@register
class Conv1D(nn.Module):
    """1-D convolution over time, channels last: (B, T, D) -> (B, T', O); see module doc.

    Weight (O, D, k) as torch.nn.Conv1d; init "keras" Glorot uniform, zero bias.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        dilation: int = 1,
        padding: str = "valid",
        activation: str | None = None,
        *,
        bias: bool = True,
        init: str = "keras",
    ) -> None:
        super().__init__()
        self.in_channels = check_positive_int("in_channels", in_channels)
        self.out_channels = check_positive_int("out_channels", out_channels)
        self.kernel_size = check_positive_int("kernel_size", kernel_size)
        self.stride = check_positive_int("stride", stride)
        self.dilation = check_positive_int("dilation", dilation)
        self.padding = check_choice("padding", padding, PADDINGS)
        self.activation = check_activation(activation)
        self.init = check_init(init)
        self.has_bias = check_bool("bias", bias)
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, kernel_size))
        self.bias = nn.Parameter(torch.empty(out_channels)) if self.has_bias else None  # (O,)
        init_dense_(self.weight, self.bias, init)

    def _pads(self, T: int) -> tuple[int, int]:
        span = self.dilation * (self.kernel_size - 1)
        if self.padding == "valid":
            return 0, 0
        if self.padding == "causal":
            return span, 0
        out = -(-T // self.stride)  # ceil(T / stride)
        total = max((out - 1) * self.stride + span + 1 - T, 0)
        return total // 2, total - total // 2

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 3 or x.shape[2] != self.in_channels:
            raise ValueError(
                f"Conv1D input must have shape (B, T, D={self.in_channels}), got {tuple(x.shape)}"
            )
        return self.channels_first(x.transpose(1, 2)).transpose(1, 2)  # (B, T', O)

    def channels_first(self, x: Tensor) -> Tensor:
        """The same convolution on channels-first input, as torch.nn.Conv1d: (B, D, T) ->
        (B, O, T'). Blocks of convolutions chained this way skip the transposes (copies, in
        forward and backward) that channels-last input and output cost at each layer."""
        T = x.shape[2]
        left, right = self._pads(T)
        span = self.dilation * (self.kernel_size - 1)
        if T + left + right <= span:
            raise ValueError(
                f"Conv1D input has T={T} steps, fewer than the receptive field "
                f"{span + 1} (kernel_size={self.kernel_size}, dilation={self.dilation})"
            )
        xc = F.pad(x, (left, right))  # (B, D, T + pads)
        y = F.conv1d(xc, self.weight, self.bias, stride=self.stride, dilation=self.dilation)
        return activate(y, self.activation, dim=1)  # (B, O, T')

    def get_config(self) -> dict[str, Any]:
        return {
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "kernel_size": self.kernel_size,
            "stride": self.stride,
            "dilation": self.dilation,
            "padding": self.padding,
            "activation": self.activation,
            "bias": self.has_bias,
            "init": self.init,
        }


@register
class TimeDistributed(nn.Module):
    """Apply ``module`` to every time step: (B, T, ...) -> (B, T, ...), by folding T into B."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        if not isinstance(module, nn.Module):
            raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
        self.module = module

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() < 3:
            raise ValueError(
                f"TimeDistributed input must have shape (B, T, ...), got {tuple(x.shape)}"
            )
        B, T = x.shape[:2]
        y = self.module(x.reshape(B * T, *x.shape[2:]))  # (B*T, ...)
        return y.reshape(B, T, *y.shape[1:])  # (B, T, ...)

    def get_config(self) -> dict[str, Any]:
        return {"module": to_config(self.module)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> TimeDistributed:
        return cls(_from_config(config["module"]))


@register
class Embedding(nn.Module):
    """Lookup table (B, T) int -> (B, T, E); weight (N, E) ~ N(0, 1), padding_idx row zero."""

    def __init__(
        self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None
    ) -> None:
        super().__init__()
        self.num_embeddings = check_positive_int("num_embeddings", num_embeddings)
        self.embedding_dim = check_positive_int("embedding_dim", embedding_dim)
        self.padding_idx = (
            None
            if padding_idx is None
            else check_index("padding_idx", padding_idx, self.num_embeddings)
        )
        self.weight = nn.Parameter(torch.randn(num_embeddings, embedding_dim))  # (N, E)
        if self.padding_idx is not None:
            with torch.no_grad():
                self.weight[self.padding_idx].zero_()

    def forward(self, ids: Tensor) -> Tensor:
        if ids.dtype.is_floating_point or ids.dtype == torch.bool:
            raise TypeError(f"Embedding input must hold integer ids, got dtype {ids.dtype}")
        # (not while a graph is exported for any ids: their values are unknown then)
        if ids.numel() and exporting() is None and (
            int(ids.min()) < 0 or int(ids.max()) >= self.num_embeddings
        ):
            raise ValueError(
                f"Embedding ids must be in [0, {self.num_embeddings}), "
                f"got values in [{int(ids.min())}, {int(ids.max())}]"
            )
        return F.embedding(ids, self.weight, self.padding_idx)  # (B, T, E)

    def get_config(self) -> dict[str, Any]:
        return {
            "num_embeddings": self.num_embeddings,
            "embedding_dim": self.embedding_dim,
            "padding_idx": self.padding_idx,
        }


@register
class Flatten(nn.Module):
    """(B, T, D) -> (B, T*D): flatten everything after the batch axis."""

    def forward(self, x: Tensor) -> Tensor:
        return x.reshape(x.shape[0], -1)  # (B, T*D)

    def get_config(self) -> dict[str, Any]:
        return {}


@register
class LayerNorm(nn.Module):
    """Layer norm over the last axis (eps 1e-5), gain 1 / shift 0 at init: (..., D) -> (..., D)."""

    def __init__(self, normalized_shape: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.normalized_shape = check_positive_int("normalized_shape", normalized_shape)
        self.eps = check_positive_float("eps", eps)
        self.weight = nn.Parameter(torch.ones(normalized_shape))  # (D,)
        self.bias = nn.Parameter(torch.zeros(normalized_shape))  # (D,)

    def forward(self, x: Tensor) -> Tensor:
        _check_last_dim(x, "LayerNorm", self.normalized_shape)
        return F.layer_norm(x, (self.normalized_shape,), self.weight, self.bias, self.eps)

    def get_config(self) -> dict[str, Any]:
        return {"normalized_shape": self.normalized_shape, "eps": self.eps}


@register
class BatchNorm1D(nn.Module):
    """Batch norm per feature of the last axis: over B for (B, D), over B and T for (B, T, D).

    Running statistics (momentum 0.1, eps 1e-5) are used in eval mode, as torch.nn.BatchNorm1d
    (``momentum=None``: their cumulative average, as there).
    """

    def __init__(
        self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1
    ) -> None:
        super().__init__()
        self.num_features = check_positive_int("num_features", num_features)
        self.bn = nn.BatchNorm1d(
            self.num_features,
            eps=check_positive_float("eps", eps),
            momentum=None if momentum is None else check_rate("momentum", momentum, closed=True),
        )

    def forward(self, x: Tensor) -> Tensor:
        _check_last_dim(x, "BatchNorm1D", self.num_features)
        if x.dim() == 2:
            return self.bn(x)  # (B, D)
        if x.dim() != 3:
            raise ValueError(f"BatchNorm1D input must be (B, D) or (B, T, D), got {tuple(x.shape)}")
        return self.bn(x.transpose(1, 2)).transpose(1, 2)  # (B, T, D)

    def get_config(self) -> dict[str, Any]:
        return {"num_features": self.num_features, "eps": self.bn.eps, "momentum": self.bn.momentum}
