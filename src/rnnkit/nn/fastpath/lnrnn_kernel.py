r"""A fast NumPy LN-RNN time layer: the reference equations, a few compiled passes per step.

:class:`LNRNNKernel` (a :class:`~rnnkit.nn.fastpath.kernel.Kernel` with ``nonlinearity``
"tanh" or "relu"; ``params`` in torch order ``[W_ih (H, D), W_hh (H, H), b_ih, b_hh, gamma,
beta]``) runs the time loop with its element-wise work in Numba-compiled passes. The equations
are the reference's (:mod:`rnnkit.ref.time_rnn`,
:mod:`rnnkit.ref.layernorm`, eps = 1e-5; one LN block over H)::

    a   = W_ih x_t + b_ih + b_hh + W_hh h_{t-1}                           (B, H)
    n   = (a - mean a) * r,   r = 1 / sqrt(var a + eps);   y = gamma n + beta
    h_t = tanh(y)   or   relu(y)

Forward, per step (B rows; the kernels are in :mod:`~rnnkit.nn.fastpath.jit`'s style)::

    a = A_t + h_{t-1} W_hh^T         one product; A = X W_ih^T + b for all steps before the loop
    _step_forward(a)                 one compiled call: LN (``ln_row``: n, r), then
                                     tanh: h_t = 2 sigmoid(z) - 1, z = gamma' n + beta' with
                                           gamma', beta' = 2 gamma, 2 beta (tanh(y) =
                                           2 sigmoid(2y) - 1, the sigmoid compiled too)
                                     relu: h_t = max(z, 0), gamma', beta' = gamma, beta

Backward, per step: one compiled call, row by row, and one product::

    _step_backward:      dh = dhs_t + dh_{t+1 -> t};  dy = dh (1 - h_t^2)  or  dh [h_t > 0]
                         then the row's LN backward (``ln_row_backward``):
                         da = r (dy gamma - mean(dy gamma) - n mean(dy gamma n))
                         dgamma += dy n,  dbeta += dy   (per row; summed after the loop)
    dh_{t-1} = da W_hh   the product (NumPy when small, else torch; see ``StepProduct``)

then, for all steps at once: dW_ih = da^T x, dW_hh = da^T h_prev, db = sum da, dx = da W_ih.
Every call writes into buffers reused between calls.
Small steps (``jit.whole_loop``) run the same equations as one compiled loop per pass,
``_forward_loop`` and ``_backward_loop``, on (width, B) arrays
(:mod:`~rnnkit.nn.fastpath.columns`).
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
import torch

from rnnkit.nn.fastpath import columns
from rnnkit.nn.fastpath.columns import (
    add_final_grads,
    ln_columns,
    ln_columns_backward,
    preactivation,
)
from rnnkit.nn.fastpath.jit import (
    JIT,
    StepProduct,
    input_and_weight_grads,
    ln_row,
    ln_row_backward,
    parallel_rows,
    rows_kernel,
)
from rnnkit.nn.fastpath.kernel import Kernel
from rnnkit.nn.fastpath.rnn_kernel import activate_backward


@rows_kernel
def _step_forward(a, gamma, beta, n, r, h, relu):  # pragma: no cover - compiled
    """One step, row by row: the LN of a (B, H) (n over A_t, r (B, 1)), then h (B, H) =
    relu(y) (gamma, beta as they are) or tanh(y) = 2 sigmoid(2y) - 1 (gamma, beta doubled)."""
    B, H = h.shape
    zero = h.dtype.type(0.0)
    one = h.dtype.type(1.0)
    two = h.dtype.type(2.0)
    for b in numba.prange(B):
        hb = h[b]
        ln_row(a[b], gamma, beta, n[b], r[b], hb, not relu)
        if relu:
            for j in range(H):
                hb[j] = max(hb[j], zero)
        else:
            for j in range(H):
                hb[j] = two * hb[j] - one


@rows_kernel
def _step_backward(dh_out, dh, h, n, r, gamma, dy, da, dgamma, dbeta,
                   relu):  # pragma: no cover - compiled
    """One step of BPTT, row by row: dh (B, H) from step t + 1 becomes the total
    dh_t = dh + dh_out; dy = dh (1 - h^2) (tanh) or dh [h > 0] (relu), h the step's output;
    then the row's LN backward (n (B, H), r (B, 1), gamma (H,)) writes da (B, H) and adds to
    the per-row dgamma, dbeta (B, H)."""
    for b in numba.prange(dh.shape[0]):
        activate_backward(dh[b], dh_out[b], h[b], dy[b], relu)
        ln_row_backward(dy[b], n[b], r[b], gamma, da[b], dgamma[b], dbeta[b])


@numba.njit(**JIT)
def _forward_loop(A, W_hh, gamma, beta, a, R, Hs, relu, mean, var):  # pragma: no cover
    """The forward time loop in one compiled call (small steps, ``jit.whole_loop``), in the
    columns layout of :mod:`~rnnkit.nn.fastpath.columns`: A (T, H, B) = W_ih x + b, then
    LN's n; R (T, 1, B); Hs (T+1, H, B); a (H, B), mean and var (B,) scratch. Per step
    a = W_hh h_{t-1} + A_t, its LN (``ln_columns``) and the nonlinearity of
    :func:`_step_forward`."""
    zero = a.dtype.type(0.0)
    one = a.dtype.type(1.0)
    two = a.dtype.type(2.0)
    for t in range(A.shape[0]):
        preactivation(W_hh, Hs[t], A[t], a)
        ln_columns(a, gamma, beta, A[t], R[t], Hs[t + 1], not relu, mean, var)
        h = Hs[t + 1].reshape(-1)
        if relu:
            for k in range(h.shape[0]):
                h[k] = max(h[k], zero)
        else:
            for k in range(h.shape[0]):
                h[k] = two * h[k] - one


@numba.njit(**JIT)
def _backward_loop(dH, dh, Hs, N, R, gamma, dy, dA, dgamma, dbeta, relu, W_hhT, last, dfinal,
                   m1, m2):  # pragma: no cover - compiled
    """The backward time loop in one compiled call, in the columns layout (dH (T, H, B), dh,
    dy (H, B), dA (T, H, B), dgamma, dbeta (H,), W_hhT (H, H); m1, m2 (B,) scratch): per
    step the final state's gradient where a column ends, :func:`_step_backward`'s gradient
    through the nonlinearity, ``ln_columns_backward`` and dh_{t-1} = W_hh^T da."""
    dhf, dyf = dh.reshape(-1), dy.reshape(-1)
    for t in range(dH.shape[0] - 1, -1, -1):
        add_final_grads(t, last, dfinal, dh)
        activate_backward(dhf, dH[t].reshape(-1), Hs[t + 1].reshape(-1), dyf, relu)
        ln_columns_backward(dy, N[t], R[t], gamma, dA[t], dgamma, dbeta, m1, m2)
        np.dot(W_hhT, dA[t], dh)


class LNRNNKernel(Kernel):
    """Layer-normalised Elman RNN over T steps, the reference's maths in compiled passes.

    ``LNRNNKernel(input_size, hidden_size, *, nonlinearity="tanh", dtype="float32")``; see
    the module docstring and :class:`~rnnkit.nn.fastpath.kernel.Kernel` for the interface.
    """

    layer_norm = True
    columns_layout = True

    def __init__(self, input_size: int, hidden_size: int, *, nonlinearity: str = "tanh",
                 dtype: Any = "float32") -> None:
        super().__init__(input_size, hidden_size, dtype=dtype)
        self.nonlinearity = nonlinearity

    def _forward_tm(self, X: np.ndarray, s0: tuple[np.ndarray, ...]):
        T, B, D = X.shape
        H = self.hidden_size
        W_ih, W_hh, b_ih, b_hh = self.params[:4]
        fn = torch.from_numpy
        relu = self.nonlinearity == "relu"
        g, bt = self._ln_scales()

        A = self._buf("A", (T, B, H))  # W_ih x + b for all steps, then n
        torch.addmm(fn(b_ih + b_hh), fn(X.reshape(T * B, D)), fn(W_ih).t(),
                    out=fn(A).view(T * B, H))
        Hs = self._buf("Hs", (T + 1, B, H))  # Hs[t] = h_t, Hs[0] = h0
        self._buf("R", (T, B, 1))  # rstd
        a = self._buf("a", (B, H))  # the step's pre-activations
        Hs[0] = s0[0]
        # per-step views (lists, made once per buffer): hs[t] is Hs[t]
        hs, at, r = map(self._steps, ("Hs", "A", "R"))
        recurrent = StepProduct(W_hh.T, B)  # h (B, H) @ W_hh^T (H, H)
        step = _step_forward[parallel_rows(B, H)]  # one thread, or the rows split across them
        for t in range(T):
            # a = A_t + h W_hh^T into a cache-warm buffer (faster than adding into A_t in place
            # at large B); LN then writes n over A_t
            recurrent(hs[t], a, add=at[t])
            step(a, g, bt, at[t], r[t], hs[t + 1], relu)
        return (Hs,)

    def _ln_scales(self) -> tuple[np.ndarray, np.ndarray]:
        """LN's gamma and beta as the passes use them: as they are (relu), or doubled for
        tanh(y) = 2 sigmoid(2y) - 1."""
        gamma, beta = self.params[4], self.params[5]
        return (gamma, beta) if self.nonlinearity == "relu" else (2 * gamma, 2 * beta)

    def _forward_columns(self, X: np.ndarray, s0: tuple[np.ndarray, ...]) -> tuple[np.ndarray]:
        """The compiled whole loop's forward, its buffers in the columns layout (s0 (H, B));
        returns Hs (T+1, H, B)."""
        T, B, _ = X.shape
        H = self.hidden_size
        g, bt = self._ln_scales()
        W_ih, W_hh, b_ih, b_hh = self.params[:4]
        A = self._buf("A", (T, H, B))  # W_ih x + b for all steps, then n
        columns.project(X, W_ih, b_ih + b_hh, A)
        Hs = self._buf("Hs", (T + 1, H, B))
        Hs[0] = s0[0]
        _forward_loop(A, W_hh, g, bt, self._buf("a", (H, B)), self._buf("R", (T, 1, B)), Hs,
                      self.nonlinearity == "relu", self._buf("mean", (B,)),
                      self._buf("var", (B,)))
        return (Hs,)

    def _backward_columns(self, dH: np.ndarray, dfinal):
        """The compiled whole loop's backward in the columns layout: dH (T, H, B); returns dX
        (T, B, D) and dstate0 parts (H, B)."""
        T, H, B = dH.shape
        dh = np.zeros((H, B), self.dtype)
        dgamma, dbeta = self.grads[4], self.grads[5]
        dgamma[...] = 0
        dbeta[...] = 0
        dA = self._buf("dA", (T, H, B))
        got = self._buffers.get
        _backward_loop(dH, dh, got("Hs"), got("A"), got("R"),
                       self.params[4], self._buf("dy", (H, B)), dA, dgamma, dbeta,
                       self.nonlinearity == "relu", np.ascontiguousarray(self.params[1].T),
                       self.step_ends.last, *self._final_grads(dfinal),
                       self._buf("mean", (B,)), self._buf("var", (B,)))
        dX = columns.input_and_weight_grads(dA, self._cache["X"], got("Hs")[:-1],
                                            self.params[0], self.grads)
        return dX, (dh,)

    def _backward_tm(self, dH: np.ndarray, dfinal):
        X = self._cache["X"]
        T, B, H = dH.shape
        W_ih, W_hh, gamma = self.params[0], self.params[1], self.params[4]
        dA = self._buf("dA", (T, B, H))  # gradient w.r.t. the pre-activations a
        dy = self._buf("dy", (B, H))  # ... w.r.t. the LN output y
        dh = np.zeros((B, H), self.dtype)
        ends = self.step_ends
        dgamma, dbeta = self._buf("dgamma", (B, H)), self._buf("dbeta", (B, H))
        dgamma[...] = 0  # per row: summed over rows after the loop
        dbeta[...] = 0
        relu = self.nonlinearity == "relu"
        # per-step views; LN's n is in the forward's A
        hs, n, r, da = map(self._steps, ("Hs", "A", "R", "dA"))
        recurrent = StepProduct(W_hh, B)  # da (B, H) @ W_hh (H, H)
        step_backward = _step_backward[parallel_rows(B, H)]
        for t in range(T - 1, -1, -1):
            ends.inject(t, dfinal, (dh,))  # the final state's gradient
            step_backward(dH[t], dh, hs[t + 1], n[t], r[t], gamma, dy, da[t], dgamma, dbeta,
                          relu)
            recurrent(da[t], dh)  # dh_{t-1} = da W_hh
        dgamma.sum(axis=0, out=self.grads[4])
        dbeta.sum(axis=0, out=self.grads[5])
        Hs = self._buffers["Hs"]
        dX = input_and_weight_grads(dA, X, Hs[:-1], W_ih, self.grads)  # (T, B, D)
        return dX, (dh,)
