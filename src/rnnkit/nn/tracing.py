"""Is a graph capture or autocast running? What decides whether the fast kernels may run.

The fused path is torch.nn's own module, which every tool handles; the fast path's NumPy
kernels are opaque to them (a FakeTensor has no data to hand to NumPy, a traced graph would not
contain the kernel, autocast would not reach it). So a layer asks :func:`capture` before it
picks the fast path and, when a tool is capturing, runs the autograd loop instead, which every
tool can trace (``layer.last_path == "loop"``):

======================  ================================================================
tool                    detected by
======================  ================================================================
torch.compile           ``torch.compiler.is_compiling()`` (Dynamo is tracing)
torch.export,           ``torch.compiler.is_exporting()``
torch.onnx.export
torch.jit.trace,        ``torch.jit.is_tracing()``
torch.onnx.export
(dynamo=False)
======================  ================================================================

Under :func:`exporting` captures, variable lengths are a graph input: they are not checked or
packed (:mod:`rnnkit.nn.masking`, :mod:`rnnkit.nn.fused`).
"""

from __future__ import annotations

import torch

__all__ = ["autocast_dtype", "capture", "exporting"]


def capture() -> str | None:
    """The name of the tool capturing a graph right now ("torch.jit.trace", "torch.export",
    "torch.compile"), or None when the code runs eagerly."""
    if torch.jit.is_tracing():
        return "torch.jit.trace"
    is_exporting = getattr(torch.compiler, "is_exporting", None)  # torch >= 2.5
    if is_exporting is not None and is_exporting():
        return "torch.export"
    if torch.compiler.is_compiling():
        return "torch.compile"
    return None


def exporting() -> str | None:
    """"torch.export" or "torch.jit.trace" while one of them captures a graph that will run
    later without Python, for any input values (torch.onnx.export uses one of the two), else
    None. Unlike torch.compile, which guards on what it saw and traces again, these must not
    branch on the values of tensors (lengths, masks)."""
    tool = capture()
    return tool if tool in ("torch.export", "torch.jit.trace") else None


def autocast_dtype(device_type: str) -> torch.dtype | None:
    """The dtype autocast casts to on ``device_type`` ("cpu", "cuda", ...), or None when
    autocast is off there."""
    if not torch.is_autocast_enabled(device_type):
        return None
    return torch.get_autocast_dtype(device_type)
