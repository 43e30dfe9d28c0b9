r"""``maxpool(relu(LayerNorm_C(y)) * valid)`` and ``maxpool(relu(BatchNorm(y)) * valid)``
channels first, on compiled CPU passes where they run.

The convolutional blocks of :mod:`rnnkit.tasks.classify.frontend` keep their activations
channels first, (B, C, T), as torch's convolutions want them; their layer norm (variable-length
sets) normalises the C channels of each step. torch's layer norm takes the normalised axis
last, so each block paid a transposing copy each way, forward and backward, around the norm,
then a ReLU, a mask multiply and a max pool, each one more pass over memory. :func:`layer_norm_relu`
does the norm, the ReLU and the mask in one compiled pass forward and one backward, and the
max pool in one more each way (:mod:`~rnnkit.nn.fastpath.norm_relu_kernel`, the equations
there), behind a ``torch.autograd.Function``, zero-copy tensor <-> array.

Where it runs (else :func:`layer_norm_relu` computes the same with torch ops, the transposes
included): CPU tensors, float32 or float64 alike, plain tensors, no graph capture
(``torch.compile``, ``torch.export``, ``torch.jit.trace``), no autocast, Numba installed.

Measured (2026-12-05, the 2-core VM, two torch threads): a default GRU-FCN training step on 54
series of up to 1,344 steps took 0.59-0.70x the time of the same step on torch's ops
(``python benchmarks/frontend.py``, two runs).

:func:`batch_norm_relu` is the same for a batch norm over the VALID steps of a padded batch in
training (:class:`~rnnkit.tasks.classify.frontend.MaskedBatchNorm`, batch-renormalised or not;
its statistics need a pass of their own, :mod:`~rnnkit.nn.fastpath.batch_norm_relu_kernel`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor
from torch.autograd.function import once_differentiable
from torch.nn import functional as F

from rnnkit.nn.fastpath import numba_available
from rnnkit.nn.fastpath.numpy_function import DTYPES
from rnnkit.nn.masking import valid_mask
from rnnkit.nn.tracing import autocast_dtype, capture


def compiled(y: Tensor, weight: Tensor, bias: Tensor | None = None) -> bool:
    """Whether the compiled passes can run for y (B, C, T) and the norm's ``weight`` and
    ``bias`` (C,)."""
    params = (weight,) if bias is None else (weight, bias)
    return (y.device.type == "cpu" and y.dtype in DTYPES and type(y) is Tensor
            and all(p.dtype == y.dtype and type(p.data) is Tensor for p in params)
            and capture() is None and autocast_dtype("cpu") is None and numba_available())


def layer_norm_relu(y: Tensor, weight: Tensor, bias: Tensor, eps: float,
                    lengths: Tensor | None = None, pool: int = 1) -> Tensor:
    """y (B, C, T) -> z = relu(LayerNorm over C at each step) (B, C, T), zero at each row's
    steps from ``lengths`` (B,) on (every step valid when None), max-pooled by ``pool``
    (1 <= pool <= T, ceil mode): (B, C, ceil(T / pool))."""
    if compiled(y, weight, bias):
        return _LayerNormReLU.apply(y, weight, bias, eps, lengths, pool)
    z = F.layer_norm(y.transpose(1, 2), (y.shape[1],), weight, bias, eps).transpose(1, 2)
    z = torch.relu(z)
    if lengths is not None:
        z = z * valid_mask(lengths, y.shape[2], y.device)[:, None, :].to(z.dtype)  # (B, 1, T)
    return z if pool == 1 else F.max_pool1d(z, pool, pool, ceil_mode=True)


def _steps(lengths: Tensor | None, y: Tensor) -> Tensor:
    """Each row's valid steps (B,) int64 on the CPU for y (B, C, T): ``lengths`` clamped to
    [0, T], every step (T) when None."""
    B, _, T = y.shape
    if lengths is None:
        return torch.full((B,), T, dtype=torch.int64)
    return lengths.to("cpu", torch.int64).clamp(0, T).contiguous()


def batch_norm_relu(y: Tensor, weight: Tensor, bias: Tensor, eps: float, lengths: Tensor,
                    pool: int = 1, correction: Callable | None = None
                    ) -> tuple[Tensor, Tensor, Tensor]:
    """On the compiled passes (where :func:`compiled`): y (B, C, T) -> ``(out, mean, var)``:
    out = maxpool(relu(w (r xhat + d) + b) * valid, pool) (B, C, ceil(T / pool)) with xhat
    the batch norm of y over the valid steps (``lengths`` (B,)), and that norm's mean and
    biased variance (C,) in ``weight``'s dtype, without gradient, for the running statistics.
    ``correction(mean, var) -> (r, d)`` (C,) gives batch renormalisation's constants; None:
    r = 1, d = 0, batch norm."""
    return _BatchNormReLU.apply(y, weight, bias, eps, lengths, pool, correction)


class _BatchNormReLU(torch.autograd.Function):
    """:func:`batch_norm_relu` (double backward raises)."""

    @staticmethod
    def forward(ctx, y: Tensor, weight: Tensor, bias: Tensor, eps: float, lengths: Tensor,
                pool: int, correction: Callable | None) -> tuple[Tensor, Tensor, Tensor]:
        from rnnkit.nn.fastpath import batch_norm_relu_kernel as kernel

        y = y.detach().contiguous()
        steps, values = _steps(lengths, y).numpy(), y.numpy()
        mean, var = kernel.statistics(values, steps)  # (C,) float64
        w = weight.detach().double().numpy()
        r, d = np.ones_like(mean), np.zeros_like(mean)
        stats = torch.from_numpy(mean).to(weight.dtype), torch.from_numpy(var).to(weight.dtype)
        if correction is not None:
            r, d = (t.double().numpy() for t in correction(*stats))
        std = np.sqrt(var + eps)
        a = w * r / std
        k = bias.detach().double().numpy() + w * (d - r * mean / std)
        out, arg, z = kernel.forward(values, a.astype(values.dtype), k.astype(values.dtype),
                                     steps, pool)
        ctx.save_for_backward(y, torch.from_numpy(z))
        ctx.arrays, ctx.pool, ctx.arg = (steps, mean, std, w, r, d), pool, arg
        ctx.mark_non_differentiable(*stats)
        return torch.from_numpy(out), *stats

    @staticmethod
    @once_differentiable
    def backward(ctx, dout: Tensor, *_) -> tuple[Tensor | None, ...]:
        from rnnkit.nn.fastpath import batch_norm_relu_kernel as kernel

        y, z = ctx.saved_tensors
        dy, dw, db = kernel.backward(dout.contiguous().numpy(), ctx.arg, y.numpy(), z.numpy(),
                                     *ctx.arrays, ctx.pool)
        return (torch.from_numpy(dy), torch.from_numpy(dw), torch.from_numpy(db), None, None,
                None, None)


class _LayerNormReLU(torch.autograd.Function):
    """:func:`layer_norm_relu` on the compiled passes (double backward raises)."""

    @staticmethod
    def forward(ctx, y: Tensor, weight: Tensor, bias: Tensor, eps: float,
                lengths: Tensor | None, pool: int) -> Tensor:
        from rnnkit.nn.fastpath import norm_relu_kernel

        y = y.detach().contiguous()
        steps = _steps(lengths, y)
        out, arg, z, mean, rstd = norm_relu_kernel.forward(
            y.numpy(), weight.detach().numpy(), bias.detach().numpy(), steps.numpy(), eps,
            pool)
        out, z, mean, rstd = (torch.from_numpy(a) for a in (out, z, mean, rstd))
        ctx.save_for_backward(y, z, weight, steps, mean, rstd)
        ctx.pool, ctx.arg = pool, arg  # arg: the pool's argmax offsets (NumPy), or None
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, dout: Tensor) -> tuple[Tensor | None, ...]:
        from rnnkit.nn.fastpath import norm_relu_kernel

        y, z, weight, steps, mean, rstd = ctx.saved_tensors
        dy, dw, db = norm_relu_kernel.backward(
            dout.contiguous().numpy(), ctx.arg, y.numpy(), z.numpy(),
            weight.detach().numpy(), steps.numpy(), mean.numpy(), rstd.numpy(), ctx.pool)
        return (torch.from_numpy(dy), torch.from_numpy(dw), torch.from_numpy(db), None, None,
                None)


__all__ = ["batch_norm_relu", "compiled", "layer_norm_relu"]
