r"""The CPU fast path: NumPy kernels with hand-derived BPTT behind a ``torch.autograd.Function``.

For a cell with a CPU kernel, in float32 / float64, :func:`run_numpy` hands the tensors to a
kernel (:class:`~rnnkit.nn.fastpath.kernel.Kernel`) without copying (``t.detach().numpy()``
shares memory), runs its forward (all T steps, what BPTT needs cached), and on ``backward``
runs the kernel's ``backward(dhs, dstate)``, returning torch tensors of dx (B, T, D), the
initial-state gradient and every parameter gradient. The kernels compute the reference
engine's equations, so the fast path agrees with the autograd loop and with :mod:`rnnkit.ref`
to rounding (tests/nn/test_fastpath.py). With ``lengths`` (right-padded
rows) the outputs at padded steps are set to zero here and their gradients dropped; the kernel
takes each row's final state at its own last step (:mod:`rnnkit.nn.fastpath.lengths`).

Kernels (one per cell class; exact class match, a subclass may change the step):

    LNSimpleRNNCell -> LNRNNKernel(nonlinearity=cell.nonlinearity)
                       (rnnkit.nn.fastpath.lnrnn_kernel: the step's element-wise work in a
                       few Numba-compiled passes, see rnnkit.nn.fastpath.jit)
    LNLSTMCell      -> LNLSTMKernel (rnnkit.nn.fastpath.lstm_kernel, likewise)
    LNGRUCell       -> LNGRUKernel (rnnkit.nn.fastpath.lngru_kernel, likewise)
    LSTMCell        -> LSTMKernel (rnnkit.nn.fastpath.lstm_kernel, likewise)
    GRUCell         -> GRUKernel (rnnkit.nn.fastpath.gru_kernel, likewise)
    SimpleRNNCell   -> RNNKernel(nonlinearity=cell.nonlinearity)
                       (rnnkit.nn.fastpath.rnn_kernel, likewise)

Kernel layers keep reusable work buffers, so each cell has a small pool of them: a forward
leases one, and it returns to the pool when the autograd graph that used it is freed (after
``backward``, or at once when no gradient is needed). Double backward raises (the backward is
hand-written, ``once_differentiable``).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from rnnkit.nn.cells import Cell, GRUCell, LSTMCell, SimpleRNNCell, State
from rnnkit.nn.ln_cells import LN_CELLS, LNGRUCell, LNLSTMCell, LNSimpleRNNCell

DTYPES = (torch.float32, torch.float64)


# The kernel modules import Numba (half a second) and load or compile their functions: they are
# imported on first use, so that ``import rnnkit.nn`` pays for neither.
def _gru(cell: GRUCell, dtype: str) -> Any:
    from rnnkit.nn.fastpath.gru_kernel import GRUKernel

    return GRUKernel(cell.input_size, cell.hidden_size, dtype=dtype)


def _rnn(cell: SimpleRNNCell, dtype: str) -> Any:
    from rnnkit.nn.fastpath.rnn_kernel import RNNKernel

    return RNNKernel(cell.input_size, cell.hidden_size, nonlinearity=cell.nonlinearity,
                     dtype=dtype)


def _lnrnn(cell: LNSimpleRNNCell, dtype: str) -> Any:
    from rnnkit.nn.fastpath.lnrnn_kernel import LNRNNKernel

    return LNRNNKernel(cell.input_size, cell.hidden_size, nonlinearity=cell.nonlinearity,
                       dtype=dtype)


def _lstm(cell: LSTMCell, dtype: str) -> Any:
    from rnnkit.nn.fastpath.lstm_kernel import LSTMKernel

    return LSTMKernel(cell.input_size, cell.hidden_size, dtype=dtype)


def _lnlstm(cell: LNLSTMCell, dtype: str) -> Any:
    from rnnkit.nn.fastpath.lstm_kernel import LNLSTMKernel

    return LNLSTMKernel(cell.input_size, cell.hidden_size, dtype=dtype)


def _lngru(cell: LNGRUCell, dtype: str) -> Any:
    from rnnkit.nn.fastpath.lngru_kernel import LNGRUKernel

    return LNGRUKernel(cell.input_size, cell.hidden_size, dtype=dtype)


#: cell class -> function (cell, "float32" | "float64") -> a fresh kernel
KERNELS: dict[type, Callable[[Any, str], Any]] = {
    LSTMCell: _lstm,
    GRUCell: _gru,
    SimpleRNNCell: _rnn,
    LNSimpleRNNCell: _lnrnn,
    LNLSTMCell: _lnlstm,
    LNGRUCell: _lngru,
}

#: cell -> {dtype name: idle kernel layers}; entries vanish with their cell
_POOL: weakref.WeakKeyDictionary[Cell, dict[str, list[Any]]] = weakref.WeakKeyDictionary()


def cell_tensors(cell: Cell) -> list[Tensor | None]:
    """The cell's parameters in the reference order (None for a missing bias)."""
    names = ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]
    if type(cell) in LN_CELLS:
        names += ["ln_weight", "ln_bias"]
    return [getattr(cell, n) for n in names]


class _Lease:
    """Holds a kernel layer while an autograd graph may still call its backward; gives it
    back to the cell's pool when that graph (and so this object) is freed."""

    def __init__(self, kernel: Any, pool: list[Any]) -> None:
        self.kernel = kernel
        self.pool = pool

    def release(self) -> None:
        if self.kernel is not None:
            self.pool.append(self.kernel)
            self.kernel = None

    def __del__(self) -> None:
        self.release()


def _lease(cell: Cell, dtype: torch.dtype) -> _Lease:
    name = "float32" if dtype == torch.float32 else "float64"
    pool = _POOL.setdefault(cell, {}).setdefault(name, [])
    try:
        kernel = pool.pop()
    except IndexError:
        kernel = KERNELS[type(cell)](cell, name)
    return _Lease(kernel, pool)


def _np(t: Tensor) -> np.ndarray:
    """A NumPy view of a CPU tensor (no copy)."""
    return t.detach().numpy()


def _set_params(kernel: Any, params: tuple[Tensor | None, ...]) -> None:
    arrays = []
    for k, p in enumerate(params):
        if p is None:  # bias=False: zeros in the kernel, no gradient returned
            shape = kernel.param_shapes[k]
            arrays.append(np.zeros(shape, kernel.dtype))
        else:
            arrays.append(_np(p))
    kernel.set_params(arrays)


def _run_kernel(
    kernel: Any,
    lengths: np.ndarray | None,
    x: Tensor,
    state: tuple[Tensor, ...],
    params: tuple[Tensor | None, ...],
) -> tuple[Tensor, ...]:
    """Forward of the kernel layer: returns (hs (B, T, H), *final state parts (B, H)); with
    lengths (B,), zeros at the padded steps and each row's state after its own last step."""
    _set_params(kernel, params)
    s0 = tuple(_np(s) for s in state)
    kernel.lengths = lengths
    hs = kernel.forward(_np(x), s0 if len(s0) == 2 else s0[0])  # (B, T, H), a new array
    padded = kernel.step_ends.padded  # (B, T) or None
    if padded is not None:
        hs[padded] = 0
    final = kernel.state if isinstance(kernel.state, tuple) else (kernel.state,)
    return (torch.from_numpy(hs), *(torch.from_numpy(f) for f in final))


class NumpyRecurrence(torch.autograd.Function):
    """``apply(lease, lengths, n_state, x, *state, *params) -> (hs, *final_state)``; see the
    module doc (lengths: a NumPy (B,) array or None)."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        lease: _Lease,
        lengths: np.ndarray | None,
        n_state: int,
        x: Tensor,
        *rest: Tensor | None,
    ) -> tuple[Tensor, ...]:
        state, params = rest[:n_state], rest[n_state:]
        outs = _run_kernel(lease.kernel, lengths, x, state, params)  # type: ignore[arg-type]
        ctx.lease = lease
        ctx.n_state = n_state
        ctx.has_param = [p is not None for p in params]
        ctx.set_materialize_grads(False)
        return outs

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, dhs: Tensor | None, *dfinal: Tensor | None) -> tuple[Any, ...]:
        kernel = ctx.lease.kernel
        if kernel is None:
            raise RuntimeError("the fast path's kernel was released before backward")
        ends = kernel.step_ends  # the kernel's own forward set it
        B, T, H, dt = len(ends.ends), ends.T, kernel.hidden_size, kernel.dtype
        dhs_np = np.zeros((B, T, H), dt) if dhs is None else _np(dhs)  # (B, T, H)
        padded = ends.padded
        if padded is not None and dhs is not None:  # the padded outputs are constant zeros
            dhs_np = np.where(padded[..., None], dt.type(0), dhs_np)
        dstate = None
        if any(d is not None for d in dfinal):
            parts = tuple(np.zeros((B, H), dt) if d is None else _np(d) for d in dfinal)
            dstate = parts if len(parts) == 2 else parts[0]
        dx = kernel.backward(dhs_np, dstate)  # (B, T, D), a new array
        d0 = kernel.dstate0 if isinstance(kernel.dstate0, tuple) else (kernel.dstate0,)
        need = ctx.needs_input_grad  # (lease, lengths, n_state, x, *state, *params)
        n = ctx.n_state
        grads: list[Tensor | None] = [None, None, None]
        grads.append(torch.from_numpy(dx) if need[3] else None)
        grads += [torch.from_numpy(d.copy()) if need[4 + k] else None for k, d in enumerate(d0)]
        for k, (has, g) in enumerate(zip(ctx.has_param, kernel.grads, strict=True)):
            # the kernel overwrites its grads in place on the next backward: copy them out
            grads.append(torch.from_numpy(g.copy()) if has and need[4 + n + k] else None)
        return tuple(grads)


def run_numpy(
    cell: Cell, x: Tensor, state: State, lengths: Tensor | None = None
) -> tuple[Tensor, State]:
    """One layer, one direction on a NumPy kernel: x (B, T, D) -> hs (B, T, H), final state;
    lengths (B,) for right-padded rows (see :mod:`rnnkit.nn.fastpath.lengths`)."""
    parts = (state,) if isinstance(state, Tensor) else tuple(state)
    params = tuple(cell_tensors(cell))
    ends = None if lengths is None else lengths.numpy()
    lease = _lease(cell, x.dtype)
    inputs = [x, *parts, *(p for p in params if p is not None)]
    if torch.is_grad_enabled() and any(t.requires_grad for t in inputs):
        outs = NumpyRecurrence.apply(lease, ends, len(parts), x, *parts, *params)
    else:  # inference: no graph, give the kernel back at once
        outs = _run_kernel(lease.kernel, ends, x, parts, params)
        lease.release()
    hs, final = outs[0], outs[1:]
    return hs, (final[0] if cell.state_type is None else cell.state_type(*final))
