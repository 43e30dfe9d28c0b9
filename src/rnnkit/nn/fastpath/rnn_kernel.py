r"""A fast NumPy Elman RNN time layer: torch.nn.RNN's equations without its per-step autograd.

PyTorch has no fused CPU kernel for the Elman RNN: torch.nn.RNN runs a chain of aten ops per
step and autograd records each of them. :class:`RNNKernel` (a
:class:`~rnnkit.nn.fastpath.kernel.Kernel` with ``nonlinearity`` "tanh" or "relu";
``params`` in torch order ``[W_ih (H, D), W_hh (H, H), b_ih (H,), b_hh (H,)]``) computes the
reference's equations (:mod:`rnnkit.ref.time_rnn`)::

    a_t = W_ih x_t + b_ih + b_hh + W_hh h_{t-1},    h_t = tanh(a_t)   or   relu(a_t)

Forward: A = X W_ih^T + b for all steps (one product), then per step one product and one
pass, h_t = act(A_t + W_hh h_{t-1}) (tanh as 2 sigmoid(2a) - 1, the compiled sigmoid of
:mod:`~rnnkit.nn.fastpath.jit`).

Backward, per step: one pass and one product, dh carried from step t + 1::

    da_t = (dhs_t + dh) (1 - h_t^2)   or   (dhs_t + dh) [h_t > 0]
    dh   = W_hh^T da_t                                             (dh_{t-1})

then for all steps at once: dW_ih = da^T x, dW_hh = da^T h_prev, db = sum da, dx = da W_ih.
Small steps (``jit.whole_loop``) run the loop as one compiled call on (H, B) arrays (the
columns layout of :mod:`~rnnkit.nn.fastpath.columns`); larger ones loop in Python, the
products in torch's thread pool and each pass split over the rows when it is large.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
import torch

from rnnkit.nn.fastpath import columns
from rnnkit.nn.fastpath.columns import add_final_grads, preactivation
from rnnkit.nn.fastpath.jit import (
    JIT,
    StepProduct,
    input_and_weight_grads,
    parallel_rows,
    rows_kernel,
    sigmoid,
)
from rnnkit.nn.fastpath.kernel import Kernel


@numba.njit(**JIT)
def _activate(a, h, relu):  # pragma: no cover - compiled
    """h = relu(a) or tanh(a) = 2 sigmoid(2a) - 1, element by element over flat arrays."""
    zero = h.dtype.type(0.0)
    one = h.dtype.type(1.0)
    two = h.dtype.type(2.0)
    if relu:
        for k in range(h.shape[0]):
            h[k] = max(a[k], zero)
    else:
        for k in range(h.shape[0]):
            h[k] = two * sigmoid(two * a[k]) - one


@numba.njit(**JIT)
def activate_backward(dh, d_out, h, da, relu):  # pragma: no cover - compiled
    """dh += d_out (the total dh_t); da = dh (1 - h^2) or dh [h > 0], over flat arrays (the
    LN-RNN kernel's too, with da its gradient w.r.t. the layer norm's output)."""
    zero = dh.dtype.type(0.0)
    one = dh.dtype.type(1.0)
    for k in range(dh.shape[0]):
        dh[k] += d_out[k]
    if relu:
        for k in range(dh.shape[0]):
            da[k] = dh[k] if h[k] > zero else zero
    else:
        for k in range(dh.shape[0]):
            da[k] = dh[k] * (one - h[k] * h[k])


@rows_kernel
def _step_forward(a, h, relu):  # pragma: no cover - compiled
    """One step, row by row: h (B, H) = act(a (B, H))."""
    for b in numba.prange(h.shape[0]):
        _activate(a[b], h[b], relu)


@rows_kernel
def _step_backward(dh_out, dh, h, da, relu):  # pragma: no cover - compiled
    """One step of BPTT, row by row: dh (B, H) from step t + 1 becomes the total dh_t; da
    (B, H) the gradient w.r.t. the pre-activations, from the step's output h (B, H)."""
    for b in numba.prange(dh.shape[0]):
        activate_backward(dh[b], dh_out[b], h[b], da[b], relu)


@numba.njit(**JIT)
def _forward_loop(A, W_hh, a, Hs, relu):  # pragma: no cover - compiled
    """The forward time loop in one compiled call, in the columns layout: A (T, H, B) =
    W_ih x + b; Hs (T+1, H, B); a (H, B) scratch. Per step a = W_hh h_{t-1} + A_t and
    h_t = act(a)."""
    af = a.reshape(-1)
    for t in range(A.shape[0]):
        preactivation(W_hh, Hs[t], A[t], a)
        _activate(af, Hs[t + 1].reshape(-1), relu)


@numba.njit(**JIT)
def _backward_loop(dH, dh, Hs, dA, relu, W_hhT, last, dfinal):  # pragma: no cover
    """The backward time loop in one compiled call, in the columns layout (dH, dA (T, H, B),
    dh (H, B), W_hhT (H, H)): per step the final state's gradient where a column ends, da_t
    through the nonlinearity and dh_{t-1} = W_hh^T da_t."""
    dhf = dh.reshape(-1)
    for t in range(dH.shape[0] - 1, -1, -1):
        add_final_grads(t, last, dfinal, dh)
        activate_backward(dhf, dH[t].reshape(-1), Hs[t + 1].reshape(-1), dA[t].reshape(-1),
                           relu)
        np.dot(W_hhT, dA[t], dh)


class RNNKernel(Kernel):
    """Elman RNN over T steps, the reference's maths in compiled passes.

    ``RNNKernel(input_size, hidden_size, *, nonlinearity="tanh", dtype="float32")``; see the
    module docstring and :class:`~rnnkit.nn.fastpath.kernel.Kernel` for the interface.
    """

    columns_layout = True

    def __init__(self, input_size: int, hidden_size: int, *, nonlinearity: str = "tanh",
                 dtype: Any = "float32") -> None:
        super().__init__(input_size, hidden_size, dtype=dtype)
        self.relu = nonlinearity == "relu"

    def _forward_tm(self, X: np.ndarray, s0: tuple[np.ndarray, ...]):
        T, B, D = X.shape
        H = self.hidden_size
        W_ih, W_hh, b_ih, b_hh = self.params
        fn = torch.from_numpy
        A = self._buf("A", (T, B, H))
        torch.addmm(fn(b_ih + b_hh), fn(X.reshape(T * B, D)), fn(W_ih).t(),
                    out=fn(A).view(T * B, H))
        Hs = self._buf("Hs", (T + 1, B, H))  # Hs[t] = h_t, Hs[0] = h0
        Hs[0] = s0[0]
        a = self._buf("a", (B, H))
        hs, at = self._steps("Hs"), self._steps("A")
        recurrent = StepProduct(W_hh.T, B)  # h (B, H) @ W_hh^T (H, H)
        step = _step_forward[parallel_rows(B, H)]
        for t in range(T):
            recurrent(hs[t], a, add=at[t])  # a = A_t + h W_hh^T
            step(a, hs[t + 1], self.relu)
        return (Hs,)

    def _forward_columns(self, X: np.ndarray, s0: tuple[np.ndarray, ...]) -> tuple[np.ndarray]:
        """The compiled whole loop's forward in the columns layout (s0 (H, B)); returns Hs
        (T+1, H, B)."""
        T, B, _ = X.shape
        H = self.hidden_size
        W_ih, W_hh, b_ih, b_hh = self.params
        A = self._buf("A", (T, H, B))  # W_ih x + b for all steps
        columns.project(X, W_ih, b_ih + b_hh, A)
        Hs = self._buf("Hs", (T + 1, H, B))
        Hs[0] = s0[0]
        _forward_loop(A, W_hh, self._buf("a", (H, B)), Hs, self.relu)
        return (Hs,)

    def _backward_tm(self, dH: np.ndarray, dfinal):
        X, Hs = self._cache["X"], self._buffers["Hs"]
        W_ih, W_hh = self.params[0], self.params[1]
        T, B, H = dH.shape
        dA = self._buf("dA", (T, B, H))  # gradient w.r.t. the pre-activations a
        dh = np.zeros((B, H), self.dtype)
        hs, da = self._steps("Hs"), self._steps("dA")
        recurrent = StepProduct(W_hh, B)  # da (B, H) @ W_hh (H, H)
        step_backward = _step_backward[parallel_rows(B, H)]
        for t in range(T - 1, -1, -1):
            self.step_ends.inject(t, dfinal, (dh,))  # the final state's gradient
            step_backward(dH[t], dh, hs[t + 1], da[t], self.relu)
            recurrent(da[t], dh)  # dh_{t-1} = da W_hh
        dX = input_and_weight_grads(dA, X, Hs[:-1], W_ih, self.grads)  # (T, B, D)
        return dX, (dh,)

    def _backward_columns(self, dH: np.ndarray, dfinal):
        """The compiled whole loop's backward in the columns layout: dH (T, H, B); returns dX
        (T, B, D) and dstate0 parts (H, B)."""
        X, Hs = self._cache["X"], self._buffers["Hs"]
        T, H, B = dH.shape
        dh = np.zeros((H, B), self.dtype)
        dA = self._buf("dA", (T, H, B))
        _backward_loop(dH, dh, Hs, dA, self.relu, np.ascontiguousarray(self.params[1].T),
                       self.step_ends.last, *self._final_grads(dfinal))
        dX = columns.input_and_weight_grads(dA, X, Hs[:-1], self.params[0], self.grads)
        return dX, (dh,)
