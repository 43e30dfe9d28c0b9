r"""The fast path: cells PyTorch has no fused kernel for (layer-normalised, user-defined).

:class:`~rnnkit.nn.recurrent.Recurrent` calls two functions, one layer and one direction at a
time, for full-length batches without recurrent dropout:

- ``supports(cell, x) -> bool``: whether this cell and input (device, dtype, shapes) can run
  here;
- ``run(cell, x, state) -> (hs, final_state)``: x (B, T, D) in processing order, state a tensor
  h (B, H) or an ``LSTMState(h, c)``; hs (B, T, H).

Which implementation runs:

===========================================  ===============================================
cell, input                                   implementation
===========================================  ===============================================
LN cell, CPU, float32 / float64               NumPy time layer with rnnkit.ref's interface
                                              (hand-derived BPTT) behind a
                                              ``torch.autograd.Function``, zero-copy tensor
                                              <-> array; LN-LSTM / LN-GRU use faster
                                              subclasses of the reference layers, see
                                              :mod:`~rnnkit.nn.fastpath.numpy_function`
LN cell on another device (CUDA), or a        time-major autograd loop, input projection
user-defined cell with ``project_input``      hoisted out of the loop (one product for all
and ``step``                                  T), see :mod:`~rnnkit.nn.fastpath.torch_loop`
===========================================  ===============================================

Why (training step / torch.nn.LSTM on 2 CPU threads; benchmarks/layers.py prints the current
figures): a Python loop of torch ops pays PyTorch's per-op dispatch and autograd cost at every
step, which dominates at small sizes; torch.compile unrolls the loop and compiles for tens of
seconds to minutes (one LN-LSTM step alone: about a minute on this busy machine); the NumPy
kernels pay about a microsecond per array call and no autograd bookkeeping inside the loop.
For user-defined cells the time-major loop reads each step's projected input as contiguous
rows and takes all of them with one ``unbind`` (one backward node for all T steps, where
indexing ``p[:, t]`` adds a full-size zero gradient per step): about 1.1x-2x faster than the
plain loop at the benchmark shapes.

On a machine whose cores are all busy, run with ``OMP_WAIT_POLICY=PASSIVE``: PyTorch's idle
OpenMP worker otherwise spins for milliseconds after every parallel op and competes with the
NumPy loop for the core (measured: 4x slower backward at (64, 50, 1, 20) under load).
"""

from __future__ import annotations

from torch import Tensor

from rnnkit.nn.cells import STANDARD_CELLS, Cell, State
from rnnkit.nn.fastpath.numpy_function import numpy_supports, run_numpy
from rnnkit.nn.fastpath.torch_loop import run_torch
from rnnkit.nn.ln_cells import LN_CELLS

__all__ = ["run", "supports"]


def _hoisted_user_cell(cell: Cell) -> bool:
    """A user-defined cell that overrides both hooks ``project_input`` and ``step``."""
    cls = type(cell)
    if cls in STANDARD_CELLS or cls in LN_CELLS:
        return False
    return cls.project_input is not Cell.project_input and cls.step is not Cell.step


def supports(cell: Cell, x: Tensor) -> bool:
    """True when ``cell`` can run on the fast path for x (B, T, D)."""
    if not isinstance(cell, Cell) or not isinstance(x, Tensor):
        return False
    if x.dim() != 3 or x.shape[2] != cell.input_size:
        return False
    if numpy_supports(cell, x):
        return True
    if type(cell) in LN_CELLS:
        return x.device.type != "cpu"
    return _hoisted_user_cell(cell)


def run(cell: Cell, x: Tensor, state: State) -> tuple[Tensor, State]:
    """One layer, one direction: x (B, T, D) -> (hs (B, T, H), final state)."""
    if not supports(cell, x):
        raise ValueError(
            f"cell must be one the fast path supports for x of shape {tuple(x.shape)} "
            f"({x.dtype}, {x.device}), got {type(cell).__name__}"
        )
    if numpy_supports(cell, x):
        return run_numpy(cell, x, state)
    return run_torch(cell, x, state)
