r"""The fast path: layer-normalised cells, which PyTorch has no fused kernel for, GRU and
Elman (SimpleRNN) cells, which it runs as a chain of per-step ops on the CPU, and LSTM cells,
whose fused kernel ours beats on one thread.

:class:`~rnnkit.nn.recurrent.Recurrent` calls two functions, one layer and one direction at a
time, for batches without recurrent dropout:

- ``supports(cell, x, lengths=None) -> bool``: whether this cell and input (device, dtype,
  shapes, variable lengths) can run here;
- ``run(cell, x, state, lengths=None) -> (hs, final_state)``: x (B, T, D) in processing order,
  state a tensor h (B, H) or an ``LSTMState(h, c)``, lengths (B,) of right-padded rows (CPU
  kernels only; :mod:`~rnnkit.nn.fastpath.lengths`); hs (B, T, H), zero at padded steps.

and ``preferred(cell)``: whether ``path="auto"`` runs a standard cell (GRU, SimpleRNN, LSTM) here
rather than on the fused path, from the measured table :data:`AUTO_KERNELS`.

Which implementation runs:

===========================================  ===============================================
cell, input                                   implementation
===========================================  ===============================================
LN, GRU, SimpleRNN or LSTM cell, CPU,         NumPy kernel (hand-derived BPTT, the step's
float32 or float64                            element-wise work in Numba-compiled passes, the
                                              products in BLAS) behind a
                                              ``torch.autograd.Function``, zero-copy tensor
                                              <-> array; see
                                              :mod:`~rnnkit.nn.fastpath.numpy_function`,
                                              :mod:`~rnnkit.nn.fastpath.kernel` and
                                              :mod:`~rnnkit.nn.fastpath.jit`
LN cell on another device (CUDA)              time-major autograd loop, input projection
                                              hoisted out of the loop (one product for all
                                              T), see :mod:`~rnnkit.nn.fastpath.torch_loop`
===========================================  ===============================================

Why (training step / torch.nn.LSTM on 2 CPU threads; benchmarks/layers.py prints the current
figures): a Python loop of torch ops pays PyTorch's per-op dispatch and autograd cost at every
step and makes one pass over memory per op; torch.compile unrolls the loop and compiles for
tens of seconds to minutes (one LN-LSTM step alone: about a minute). The compiled kernels do a
step's element-wise work in a few vectorised passes with no autograd bookkeeping, leaving the
products to BLAS: LN-LSTM 0.93-1.44x torch.nn.LSTM at the benchmark shapes, where its
autograd loop takes 1.76-8.33x (two runs of ``benchmarks/layers.py --quick`` on a 2-core
machine, 2026-12-04 06:48-06:49 UTC; small steps keep the batch along the columns,
:mod:`~rnnkit.nn.fastpath.columns`). Compiling takes seconds per cell class, dtype and thread
variant, once per installation (Numba's on-disk cache).

User-defined cells are not here: they run on the traced path (:mod:`rnnkit.nn.fastpath.traced`,
``last_path == "traced"``), their step traced once into a forward and a backward graph run
without per-step autograd, by time loops that Numba compiles from the graphs
(:mod:`rnnkit.nn.fastpath.traced_numba`) or, for ops those have no translation for, by
TorchScript. A torch-op loop in Python measured no faster than
the layer's autograd loop, and ``torch.compile`` of one step compiled for 29 s and then ran no
faster (24 ms per training step either way at (64, 50, 1, 20)); inductor's kernels for the
traced step graphs took 36 s to compile (a loaded machine) and were slower per call than the
plain graphs.

Beside the cells, :mod:`~rnnkit.nn.fastpath.norm_relu` runs the convolutional blocks' per-step
layer norm, ReLU and padding mask (:mod:`rnnkit.tasks.classify.frontend`, channels first) in
one compiled pass each way, where torch's layer norm needs transposing copies around it.

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
import platform
import warnings

import torch
from torch import Tensor

from rnnkit.nn.cells import Cell, GRUCell, LSTMCell, SimpleRNNCell, State
from rnnkit.nn.fastpath.numpy_function import DTYPES, KERNELS, cell_tensors, run_numpy
from rnnkit.nn.fastpath.torch_loop import run_torch
from rnnkit.nn.ln_cells import LN_CELLS
from rnnkit.nn.tracing import autocast_dtype, capture

__all__ = ["AUTO_KERNELS", "numba_available", "preferred", "run", "supports", "unavailable"]

logger = logging.getLogger(__name__)

#: the notice given once per process when Numba is missing
NUMBA_MISSING = ("numba is not installed, so layer-normalised layers (LNSimpleRNN, LNLSTM, "
                 "LNGRU) run on the autograd loop, slower; pip install rnnkit[fast] for their "
                 "fast path")
_warned = False
_MACHINE = platform.machine()


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
    if type(cell) not in KERNELS:
        return f"it does not support {type(cell).__name__}"
    if not isinstance(x, Tensor) or x.dim() != 3 or x.shape[2] != cell.input_size:
        return f"x must be a tensor (B, T, D={cell.input_size})"
    tool = capture()
    if tool is not None:
        return f"{tool} is capturing the graph"
    if x.device.type != "cpu":
        if type(cell) not in LN_CELLS:
            return f"its {type(cell).__name__} kernel runs on the CPU only, got {x.device.type}"
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


#: Standard cells whose CPU kernel ``path="auto"`` runs instead of the fused torch.nn module,
#: with the machine kind where it was measured to win: (architecture, most torch threads).
#: GRUCell, 2026-12-03, x86_64, 2 cores, 2 torch threads, machine loaded by other jobs (best of
#: 8 interleaved rounds; training step / torch.nn.LSTM at (64, 50, 1, 20) / (64, 100, 64, 128)
#: / (32, 200, 128, 256) / (256, 28, 28, 128)): the kernel 1.15 / 1.04 / 0.89 / 0.64,
#: torch.nn.GRU 3.90 / 1.27 / 1.10 / 0.77, the fused path 4.19 / 1.37 / 1.01 / 0.78.
#: SimpleRNNCell, 2026-12-04, the same machine kind, quiet (``benchmarks/layers.py --quick
#: --rows "SimpleRNN fast,SimpleRNN fused"``, training step / torch.nn.RNN at the same shapes):
#: the kernel 0.33 / 0.76 / 0.80 / 0.83, the fused path 1.03 / 1.01 / 1.01 / 1.02; with one
#: torch thread at (128, 104, 1, 32) (a forecast worker's GRU-sized step) 3.2 against 6.1 ms.
#: LSTMCell, on one torch thread only (a forecast worker; the kernels' products then run in
#: NumPy, :func:`~rnnkit.nn.fastpath.jit.numpy_products`), 2026-12-04, the same machine kind,
#: quiet (``benchmarks/layers.py --quick --threads 1``, two runs, training step /
#: torch.nn.LSTM's): the kernel 0.58-0.66 / 0.73-0.81 / 0.86-0.92 / 0.94-0.98 at the four
#: shapes above; scratch runs: 0.81 at (128, 104, 1, 32) (a forecast worker's), 0.93 at
#: (128, 104, 4, 32), 0.97 at (32, 24, 1, 64). With two threads torch's oneDNN kernel keeps it:
#: the kernel took 0.79-0.93 and 0.85-1.05 there (two runs, the same shapes), but another VM
#: of this kind ran torch.nn.LSTM 1.3-2x faster than this one, with the same times of ours.
AUTO_KERNELS: dict[type, tuple[str, int]] = {GRUCell: ("x86_64", 2),
                                             SimpleRNNCell: ("x86_64", 2),
                                             LSTMCell: ("x86_64", 1)}


def preferred(cell: Cell) -> bool:
    """Whether ``path="auto"`` should run ``cell`` on its CPU kernel rather than the fused path:
    a cell of :data:`AUTO_KERNELS` on its machine kind, with Numba installed (the caller still
    asks :func:`unavailable` whether the kernel can run for the input)."""
    kind = AUTO_KERNELS.get(type(cell))
    if kind is None or capture() is not None or not numba_available():
        return False
    arch, threads = kind
    return _MACHINE == arch and torch.get_num_threads() <= threads


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
