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

On a machine whose cores are all busy, run with ``OMP_WAIT_POLICY=PASSIVE``: PyTorch's idle
OpenMP worker otherwise spins for milliseconds after every parallel op and competes with the
kernels' thread for the core (measured with the earlier NumPy kernels: 4x slower backward at
(64, 50, 1, 20) under load).
"""

from __future__ import annotations

from torch import Tensor

from rnnkit.nn.cells import Cell, State
from rnnkit.nn.fastpath.numpy_function import numpy_supports, run_numpy
from rnnkit.nn.fastpath.torch_loop import run_torch
from rnnkit.nn.ln_cells import LN_CELLS

__all__ = ["run", "supports"]


def supports(cell: Cell, x: Tensor, lengths: Tensor | None = None) -> bool:
    """True when ``cell`` can run on the fast path for x (B, T, D) (and lengths (B,), which
    only the CPU kernels take)."""
    if type(cell) not in LN_CELLS or not isinstance(x, Tensor):
        return False
    if x.dim() != 3 or x.shape[2] != cell.input_size:
        return False
    if numpy_supports(cell, x):
        return True
    return x.device.type != "cpu" and lengths is None


def run(
    cell: Cell, x: Tensor, state: State, lengths: Tensor | None = None
) -> tuple[Tensor, State]:
    """One layer, one direction: x (B, T, D) -> (hs (B, T, H), final state); lengths (B,) CPU
    int64 for right-padded rows, or None."""
    if not supports(cell, x, lengths):
        raise ValueError(
            f"cell must be one the fast path supports for x of shape {tuple(x.shape)} "
            f"({x.dtype}, {x.device}){'' if lengths is None else ' with lengths'}, "
            f"got {type(cell).__name__}"
        )
    if numpy_supports(cell, x):
        return run_numpy(cell, x, state, lengths)
    return run_torch(cell, x, state)
