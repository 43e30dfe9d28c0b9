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
the statistics; "renorm": the same with batch renormalisation (Ioffe 2017), for batches
that are not drawn at random (bucketed by length); "layer": LayerNorm over the C channels
of each step; "none".
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.nn import Conv1D, LayerNorm
from rnnkit.nn._checks import check_choice, check_positive_int
from rnnkit.nn.config import register
from rnnkit.nn.fastpath import norm_relu
from rnnkit.nn.masking import valid_mask

#: The normalisations a front-end block may use.
NORMS = ("batch", "renorm", "layer", "none")


def valid_steps(lengths: Tensor, T: int, device: torch.device) -> Tensor:
    """(B, T, 1) float mask, 1 on each sequence's valid steps."""
    return valid_mask(lengths, T, device).unsqueeze(-1).float()  # (B, T, 1)


def masked_block(x: Tensor, lengths: Tensor | None, conv: Conv1D, norm: nn.Module,
                 pool: int = 1) -> tuple[Tensor, Tensor | None]:
    """``maxpool(relu(norm(conv(x * valid))) * valid, pool)`` channels first: (B, D, T) ->
    (B, C, ceil(T / p)) with p = min(pool, T), ceil mode, and lengths -> ceil(lengths / p);
    padded steps 0 (a :class:`MaskedBatchNorm` reads the mask; a LayerNorm normalises each
    step's C channels, with the ReLU, the mask and the pool in compiled passes where they
    run: :func:`~rnnkit.nn.fastpath.norm_relu.layer_norm_relu`). After the ReLU every value
    is >= 0 and a padded step is 0, so it never wins a pooling window."""
    mask = None if lengths is None else valid_steps(lengths, x.shape[2], x.device).transpose(1, 2)
    if mask is not None:
        x = x * mask  # (B, D, T); mask (B, 1, T)
    y = conv.channels_first(x)  # (B, C, T)
    p = max(1, min(pool, y.shape[2]))
    if isinstance(norm, LayerNorm):  # norm, ReLU, mask and pool at once
        x = norm_relu.layer_norm_relu(y, norm.weight, norm.bias, norm.eps, lengths, p)
    elif isinstance(norm, MaskedBatchNorm) and norm.fused(y, lengths):  # the same
        x = norm.relu_pool(y, lengths, p)
    else:
        x = torch.relu(norm(y, mask) if isinstance(norm, MaskedBatchNorm) else norm(y))
        x = x if mask is None else x * mask
        x = x if p == 1 else F.max_pool1d(x, p, p, ceil_mode=True)
    return x, lengths if lengths is None or p == 1 else (lengths + p - 1) // p  # (B,)


class _ConvBlocks(nn.Module):
    """Blocks b of Conv1D(``kernels[b]``, same) from ``widths[b]`` to ``widths[b + 1]``
    channels -> norm -> ReLU -> MaxPool(``pools[b]``), padding masked (:func:`masked_block`);
    the shared body of :class:`ConvFrontEnd` and :class:`FCNBranch`.
    The blocks run channels first, (B, C, T), as torch's convolutions, batch norm and pooling
    do: channels-last blocks cost a transposing copy per layer in each direction (a profile
    of a default fit on a 1,460-step set spent 17 % of its time in such copies)."""

    def _build(self, widths: tuple[int, ...], kernels: tuple[int, ...],
               pools: tuple[int, ...], norm: str) -> None:
        self.norm, self.pools = check_choice("norm", norm, NORMS), pools
        pairs = zip(widths[:-1], widths[1:], kernels, strict=True)  # in, out, kernel
        self.convs = nn.ModuleList(Conv1D(a, b, k, padding="same") for a, b, k in pairs)
        make = {"batch": MaskedBatchNorm, "layer": LayerNorm,
                "renorm": lambda w: MaskedBatchNorm(w, renorm=True)}.get(norm)
        self.norms = nn.ModuleList((make(w) if make else nn.Identity()) for w in widths[1:])

    def _blocks(self, x: Tensor, lengths: Tensor | None) -> tuple[Tensor, Tensor | None]:
        """x (B, T, D) -> (B, C, T') channels first, and the lengths after the pools."""
        x = x.transpose(1, 2)  # (B, D, T)
        for conv, norm, p in zip(self.convs, self.norms, self.pools, strict=True):
            x, lengths = masked_block(x, lengths, conv, norm, p)  # (B, C_b, ceil(T / p))
        return x, lengths


@register
class ConvFrontEnd(_ConvBlocks):
    """``blocks`` x (Conv1D(k, same) -> norm -> ReLU -> MaxPool(2)); see the module doc."""

    def __init__(self, input_size: int, channels: int = 64, blocks: int = 3,
                 kernel_size: int = 7, norm: str = "layer") -> None:
        super().__init__()
        for name, v in (("input_size", input_size), ("channels", channels),
                        ("blocks", blocks), ("kernel_size", kernel_size)):
            check_positive_int(name, v)
        self.input_size, self.channels = input_size, channels
        self.blocks, self.kernel_size = blocks, kernel_size
        self._build((input_size,) + (channels,) * blocks, (kernel_size,) * blocks,
                    (2,) * blocks, norm)

    @property
    def output_size(self) -> int:
        return self.channels

    def get_config(self) -> dict[str, Any]:
        return {"input_size": self.input_size, "channels": self.channels,
                "blocks": self.blocks, "kernel_size": self.kernel_size, "norm": self.norm}

    def forward(self, x: Tensor, lengths: Tensor | None = None
                ) -> tuple[Tensor, Tensor | None]:
        x, lengths = self._blocks(x, lengths)  # (B, C, T'), (B,)
        return x.transpose(1, 2), lengths  # (B, T', C)


class MaskedBatchNorm(nn.Module):
    """BatchNorm over the batch and the VALID steps of each channel, channels first as
    torch.nn.BatchNorm1d: (B, C, T) -> (B, C, T).

    In training, with n valid entries per channel (mask m (B, 1, T), 1 on valid steps)::

        mean = sum m x / n,   var = sum m (x - mean)^2 / n     (biased)
        y = (x - mean) / sqrt(var + eps) * weight + bias
        running <- running + momentum (batch - running)        (mean and the biased var)

    in evaluation the running statistics take the batch's place. Without a mask (every
    step valid) the same is computed by torch's batch norm, about twice as fast forward and
    backward as the formulas above; its batch statistics come back from
    ``native_batch_norm`` for the running ones.

    ``renorm=True``: batch renormalisation (Ioffe 2017, "Batch Renormalization: Towards
    Reducing Minibatch Dependence in Batch-Normalized Models"), for batches that are not
    drawn at random, such as batches of series bucketed by length, whose statistics differ
    from the running ones that evaluation uses. In training, with the running statistics
    (mu, sigma^2) from before the batch, s = sqrt(var + eps), sigma = sqrt(sigma^2 + eps)::

        r = clip(s / sigma, 1 / R_MAX, R_MAX),   d = clip((mean - mu) / sigma, -D_MAX, D_MAX)
        y = ((x - mean) / s * r + d) * weight + bias              (r, d: no gradient)

    which is (x - mu) / sigma * weight + bias, the evaluation's output, wherever the clips do
    not bind; the gradient still flows through the batch's mean and s as in batch norm.
    R_MAX = 3, D_MAX = 5 (the paper's final values; its warm-up from 1 and 0 is left out:
    the running statistics start at 0 and 1 and move by ``momentum`` every batch).
    """

    R_MAX, D_MAX = 3.0, 5.0

    def __init__(self, channels: int, momentum: float = 0.1, eps: float = 1e-5,
                 renorm: bool = False) -> None:
        super().__init__()
        self.renorm = bool(renorm)
        self.weight = nn.Parameter(torch.ones(channels))  # (C,)
        self.bias = nn.Parameter(torch.zeros(channels))  # (C,)
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_var", torch.ones(channels))
        self.momentum, self.eps = momentum, eps

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """x (B, C, T), mask (B, 1, T) or None. Statistics and normalisation in float32
        whatever ``x``'s dtype (as torch's batch norm under autocast), the result in ``x``'s
        dtype."""
        dtype, x = x.dtype, x.float()
        if mask is None and not (self.renorm and self.training):  # eval: renorm is batch norm
            return self._all_valid(x).to(dtype)
        scale, shift = self.weight, self.bias  # (C,)
        if self.training:
            mask = x.new_ones(x.shape[0], 1, x.shape[2]) if mask is None else mask.float()
            n = mask.sum().clamp_min(1.0)
            mean = (x * mask).sum(dim=(0, 2)) / n  # (C,)
            var = (((x - mean[:, None]) * mask) ** 2).sum(dim=(0, 2)) / n
            if self.renorm:
                r, d = self._correction(mean, var)
                scale, shift = scale * r, shift + self.weight * d
            self._track(mean, var)
        else:
            mean, var = self.running_mean, self.running_var
        scale = scale / torch.sqrt(var + self.eps)  # (C,)
        out = (x - mean[:, None]) * scale[:, None] + shift[:, None]
        return out.to(dtype)

    def fused(self, y: Tensor, lengths: Tensor | None) -> bool:
        """Whether :meth:`relu_pool` runs on compiled passes for a padded batch y (B, C, T)
        in training (:func:`~rnnkit.nn.fastpath.norm_relu.batch_norm_relu`)."""
        return (self.training and lengths is not None
                and norm_relu.compiled(y, self.weight, self.bias))

    def relu_pool(self, y: Tensor, lengths: Tensor, pool: int) -> Tensor:
        """``maxpool(relu(self(y, mask)) * mask, pool)`` for y (B, C, T) and its ``lengths``
        (B,), in training, on the compiled passes (where :meth:`fused`): the same
        arithmetic in fewer passes over memory, the running statistics moved alike."""
        out, mean, var = norm_relu.batch_norm_relu(y, self.weight, self.bias, self.eps,
                                                   lengths, pool,
                                                   self._correction if self.renorm else None)
        self._track(mean, var)
        return out

    def _correction(self, mean: Tensor, var: Tensor) -> tuple[Tensor, Tensor]:
        """Batch renormalisation's (r, d) (C,) for the batch's (mean, biased var), from the
        running statistics before they move; constants, no gradient (class doc)."""
        sigma = torch.sqrt(self.running_var + self.eps)
        r = (torch.sqrt(var.detach() + self.eps) / sigma).clamp(1 / self.R_MAX, self.R_MAX)
        d = ((mean.detach() - self.running_mean) / sigma).clamp(-self.D_MAX, self.D_MAX)
        return r, d

    def _all_valid(self, x: Tensor) -> Tensor:
        """The batch norm of ``x`` (B, C, T) float32 when every step is valid."""
        x = x.to(self.weight.dtype)
        if not self.training:
            return F.batch_norm(x, self.running_mean, self.running_var, self.weight,
                                self.bias, False, 0.0, self.eps)
        out, mean, invstd = torch.native_batch_norm(x, self.weight, self.bias, None, None,
                                                    True, 0.0, self.eps)
        self._track(mean, invstd.detach().pow(-2) - self.eps)  # the biased batch variance
        return out

    def _track(self, mean: Tensor, var: Tensor) -> None:
        """Move the running statistics towards the batch's (mean, biased var)."""
        with torch.no_grad():
            self.running_mean.lerp_(mean.detach(), self.momentum)
            self.running_var.lerp_(var.detach(), self.momentum)


@register
class FCNBranch(_ConvBlocks):
    r"""The fully convolutional branch of LSTM-FCN / GRU-FCN (Karim et al. 2017), the FCN of
    Wang et al. 2017: three blocks Conv1D(k, "same") -> norm -> ReLU with kernels 8, 5, 3
    and ``channels``, ``2 * channels``, ``channels`` filters, then the average over the
    valid steps (global average pooling)::

        x = x * valid;  x = relu(Norm_b(Conv1D_b(x))) * valid       # blocks b = 1, 2, 3
        x = maxpool(x, p_b); lengths = ceil(lengths / p_b)          # after blocks 1 and 2
        z = sum_{t < L'} x_t / L'

    ``pool`` = h halvings in all (h = 0: none, Wang's FCN). ``pool_first=True`` (what
    :class:`~rnnkit.tasks.classify.SequenceClassifier` builds since 2026-12-05): all after the
    first block, p_1 = 2^h, p_2 = 1; with h from :func:`auto_fcn_pool`, blocks 2 and 3 read at
    most 256 steps, and only block 1, from the D input channels, grows with a long series'
    length. ``pool_first=False`` (models saved before): split between the first two blocks, p_1
    = 2^ceil(h/2), p_2 = 2^floor(h/2), so that block 2 reads about sqrt(256 T) steps. Measured
    (2026-12-05, the 2-core VM, scratch runs, seeds 0-3 on ACSF1, 0-1 on the others): a default
    training step took 0.80-0.84x the time with ``pool_first`` (PLAID, ACSF1, PigCVP shapes);
    test accuracy ACSF1 0.9125 against 0.905, PLAID 0.866 against 0.857-0.868 (two runs of the
    split pools, in the benchmark's process and alone), PigCVP 0.724 against 0.738. Tried and
    dropped (2026-12-05 19:59-20:08 UTC, one thread, seeds 0-3, a scratch patch, two runs side
    by side): the mean and the maximum over the valid steps side by side (2 ``channels``
    features, so that a pattern in one place is not averaged away): ACSF1 0.893 against 0.920,
    OSULeaf 0.923 against 0.951. ``norm`` as :class:`ConvFrontEnd` ("batch":
    :class:`MaskedBatchNorm`, statistics over the valid steps only).

    Shapes: x (B, T, D), lengths (B,) or None -> z (B, channels). Padded steps never change
    a valid output (zeroed before each convolution and after each block, so they never
    win a max-pool window nor enter the average), as for :class:`ConvFrontEnd`.
    """

    KERNELS = (8, 5, 3)

    def __init__(self, input_size: int, channels: int = 64, pool: int = 0,
                 norm: str = "batch", pool_first: bool = False) -> None:
        super().__init__()
        check_positive_int("input_size", input_size)
        check_positive_int("channels", channels)
        if isinstance(pool, bool) or not isinstance(pool, int) or pool < 0:
            raise ValueError(f"pool must be an int >= 0, got {pool!r}")
        self.input_size, self.channels, self.pool = input_size, channels, pool
        self.pool_first = bool(pool_first)
        pools = ((2 ** pool, 1, 1) if pool_first
                 else (2 ** -(-pool // 2), 2 ** (pool // 2), 1))  # after blocks 1, 2, 3
        self._build((input_size, channels, 2 * channels, channels), self.KERNELS, pools, norm)

    @property
    def output_size(self) -> int:
        return self.channels

    def get_config(self) -> dict[str, Any]:
        config = {"input_size": self.input_size, "channels": self.channels, "pool": self.pool,
                  "norm": self.norm}
        if self.pool_first:  # only then, so that the configs saved before read as they were
            config["pool_first"] = True
        return config

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        x, lengths = self._blocks(x, lengths)  # (B, C, T'), (B,)
        if lengths is None:
            return x.mean(dim=2)  # (B, C)
        return x.sum(dim=2) / lengths.to(x.device, x.dtype)[:, None]  # padded steps are 0


def auto_fcn_pool(length: int, target: int = 256) -> int:
    """The halvings h of :class:`FCNBranch` that bring a series of ``length`` steps to at
    most ``target`` steps before its last block: the least h with length / 2^h <= target."""
    pool = 0
    while -(-length // 2 ** pool) > target:
        pool += 1
    return pool


def auto_blocks(length: int, target: int = 64, most: int = 6) -> int:
    """How many halving blocks bring a series of ``length`` steps to at most ``target``
    steps (at least one, at most ``most``): :func:`auto_fcn_pool`'s count, bounded."""
    return min(most, max(1, auto_fcn_pool(length, target)))


__all__ = ["NORMS", "ConvFrontEnd", "FCNBranch", "MaskedBatchNorm", "auto_blocks",
           "auto_fcn_pool", "masked_block", "valid_steps"]
