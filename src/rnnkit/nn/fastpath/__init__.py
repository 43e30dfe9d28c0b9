r"""The fast path: layer-normalised cells, which PyTorch has no fused kernel for.

:class:`~rnnkit.nn.recurrent.Recurrent` calls two functions, one layer and one direction at a
time, for batches without recurrent dropout:

- ``supports(cell, x, lengths=None) -> bool``: whether this cell and input (device, dtype,
  shapes, variable lengths) can run here;
- ``run(cell, x, state, lengths=None) -> (hs, final_state)``: x (B, T, D) in processing order,
  state a tensor h (B, H) or an ``LSTMState(h, c)``, lengths (B,) of right-padded rows (CPU
  kernels only; :mod:`~rnnkit.nn.fastpath.lengths`); hs (B, T, H), zero at padded steps.

Which implementation runs:

===========================================  ===============================================
cell, input                                   implementation
===========================================  ===============================================
LN cell, CPU, float32 / float64               NumPy time layer with rnnkit.ref's interface
                                              (hand-derived BPTT) behind a
                                              ``torch.autograd.Function``, zero-copy tensor
                                              <-> array; LN-RNN / LN-LSTM / LN-GRU use
                                              Numba-compiled subclasses of the reference
                                              layers, see
                                              :mod:`~rnnkit.nn.fastpath.numpy_function`
                                              and :mod:`~rnnkit.nn.fastpath.jit`
LN cell on another device (CUDA)              time-major autograd loop, input projection
                                              hoisted out of the loop (one product for all
                                              T), see :mod:`~rnnkit.nn.fastpath.torch_loop`
===========================================  ===============================================

Why (training step / torch.nn.LSTM on 2 CPU threads; benchmarks/layers.py prints the current
figures): a Python loop of torch ops pays PyTorch's per-op dispatch and autograd cost at every
step and makes one pass over memory per op; torch.compile unrolls the loop and compiles for
tens of seconds to minutes (one LN-LSTM step alone: about a minute). The compiled kernels do a
step's element-wise work in a few vectorised passes with no autograd bookkeeping, leaving the
products and the sigmoids to torch: LN-LSTM 0.9-1.3x torch.nn.LSTM at the benchmark shapes,
where its autograd loop takes 1.7-4.7x. Compiling takes about 5 s per cell class and dtype,
once per installation (Numba's on-disk cache).

User-defined cells are not here: a cell written in torch ops has no kernel, a torch-op loop of
its own measured no faster than the layer's autograd loop (which already hoists the input
projection and unbinds the steps once), and ``torch.compile`` of one step compiled for 29 s
and then ran no faster (24 ms per training step either way at (64, 50, 1, 20)); they run on
the loop.

When the kernels cannot run, the layer runs its autograd loop instead and records it
(``layer.last_path == "loop"``; :func:`unavailable` says why): under a graph capture
(``torch.compile``, ``torch.export`` / ``torch.onnx.export``, ``torch.jit.trace``; see
:mod:`rnnkit.nn.tracing`), under autocast on the CPU (the kernels compute in the input's dtype
and would ignore it), for dtypes other than float32 / float64 on the CPU, for tensor subclasses,
for lengths off the CPU, and when Numba is not installed (it is optional: ``pip install
rnnkit[fast]``; a one-time warning says so).

On a machine whose cores are all busy, run with ``OMP_WAIT_POLICY=PASSIVE``: PyTorch's idle
OpenMP worker otherwise spins for milliseconds after every parallel op and competes with the
kernels' thread for the core (measured with the earlier NumPy kernels: 4x slower backward at
(64, 50, 1, 20) under load).
"""

from __future__ import annotations

import functools
import logging
import warnings

from torch import Tensor

from rnnkit.nn.cells import Cell, State
from rnnkit.nn.fastpath.numpy_function import DTYPES, cell_tensors, run_numpy
from rnnkit.nn.fastpath.torch_loop import run_torch
from rnnkit.nn.ln_cells import LN_CELLS
from rnnkit.nn.tracing import autocast_dtype, capture

__all__ = ["numba_available", "run", "supports", "unavailable"]

logger = logging.getLogger(__name__)

#: the notice given once per process when Numba is missing
NUMBA_MISSING = ("numba is not installed, so layer-normalised layers (LNSimpleRNN, LNLSTM, "
                 "LNGRU) run on the autograd loop, slower; pip install rnnkit[fast] for their "
                 "fast path")
_warned = False


@functools.cache
def numba_available() -> bool:
    """Whether Numba imports (it is optional; the CPU kernels need it)."""
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def _numba_missing() -> str:
    global _warned
    if not _warned:
        _warned = True
        warnings.warn(NUMBA_MISSING, stacklevel=4)
    return "numba is not installed (pip install rnnkit[fast])"


def unavailable(cell: Cell, x: Tensor, lengths: Tensor | None = None) -> str | None:
    """Why ``cell`` cannot run on the fast path for x (B, T, D) (and lengths (B,)), or None
    when it can. The reasons finish the sentence "the fast path is unavailable: ..."."""
    if type(cell) not in LN_CELLS:
        return f"it does not support {type(cell).__name__}"
    if not isinstance(x, Tensor) or x.dim() != 3 or x.shape[2] != cell.input_size:
        return f"x must be a tensor (B, T, D={cell.input_size})"
    tool = capture()
    if tool is not None:
        return f"{tool} is capturing the graph"
    if x.device.type != "cpu":
        if lengths is not None:
            return f"it takes lengths/mask only on the CPU, got {x.device.type}"
        return None  # the time-major torch loop
    cast = autocast_dtype("cpu")
    if cast is not None:
        return f"its CPU kernels do not run under autocast ({cast})"
    params = [p for p in cell_tensors(cell) if p is not None]
    if x.dtype not in DTYPES or any(p.dtype != x.dtype or p.device != x.device
                                    for p in params):
        got = sorted({str(t.dtype) for t in (x, *params)})
        return f"its CPU kernels take float32 or float64 inputs and weights alike, got {got}"
    if type(x) is not Tensor or any(type(p.data) is not Tensor for p in params):
        return "its CPU kernels take plain tensors, not tensor subclasses"
    if not numba_available():
        return _numba_missing()
    return None


def supports(cell: Cell, x: Tensor, lengths: Tensor | None = None) -> bool:
    """True when ``cell`` can run on the fast path for x (B, T, D) (and lengths (B,), which
    only the CPU kernels take); :func:`unavailable` says why not."""
    return unavailable(cell, x, lengths) is None


def run(
    cell: Cell, x: Tensor, state: State, lengths: Tensor | None = None
) -> tuple[Tensor, State]:
    """One layer, one direction: x (B, T, D) -> (hs (B, T, H), final state); lengths (B,) CPU
    int64 for right-padded rows, or None."""
    why = unavailable(cell, x, lengths)
    if why is not None:
        raise ValueError(
            f"cell must be one the fast path supports for x of shape {tuple(x.shape)} "
            f"({x.dtype}, {x.device}){'' if lengths is None else ' with lengths'}: {why}; "
            f"got {type(cell).__name__}"
        )
    if x.device.type == "cpu":
        return run_numpy(cell, x, state, lengths)
    return run_torch(cell, x, state)
