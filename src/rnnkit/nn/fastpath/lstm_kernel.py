r"""Fast NumPy LSTM and LN-LSTM time layers: the reference equations, a few compiled passes
per step.

:class:`LSTMKernel` and :class:`LNLSTMKernel` (:class:`~rnnkit.nn.fastpath.kernel.Kernel`\ s,
``params`` in torch order ``[W_ih (4H, D), W_hh (4H, H), b_ih, b_hh]``, the LN-LSTM's then
``gamma, beta``) run the time loop with its element-wise work in a few Numba-compiled passes.
The equations are the reference's (:mod:`rnnkit.ref.time_lstm`, :mod:`rnnkit.ref.layernorm`,
eps = 1e-5), gate blocks in torch's order i, f, g, o; the plain
LSTM is the same cell with y = a (no layer norm)::

    a   = W_ih x_t + b_ih + b_hh + W_hh h_{t-1}                          (B, 4H)
    n_k = (a_k - mean a_k) * r_k,   r_k = 1 / sqrt(var a_k + eps)         per gate block k
    y_k = gamma_k n_k + beta_k;   i, f, o = sigmoid(y_i, y_f, y_o);   g = tanh(y_g)
    c_t = f c_{t-1} + i g,   h_t = o tanh(c_t)

Forward, per step (B rows; the kernels are in :mod:`~rnnkit.nn.fastpath.jit`'s style)::

    a = A_t + h_{t-1} W_hh^T         one product; A = X W_ih^T + b for all steps before the loop
    _step_forward(...)               one compiled call:
                                     LN (``ln_row``): n, r and s = sigmoid(gamma' n + beta'),
                                     or without LN s = sigmoid(gain' a)
                                     g = 2 s_g - 1,  c_t = f c_{t-1} + i g
                                     tanh(c_t) = 2 sigmoid(2 c_t) - 1,  h_t = o tanh(c_t)

gamma', beta' and gain' are gamma, beta and ones with the g block doubled, since tanh(y) =
2 sigmoid(2y) - 1: one sigmoid serves all four gates (the compiled one of
:mod:`~rnnkit.nn.fastpath.jit`).

Backward, per step: one compiled call, row by row, and one product (D: the gate derivatives
s (1 - s) for i, f, o and 1 - g^2 for g; means over the H entries of a block)::

    _step_backward:      dh = dhs_t + dh_{t+1 -> t};   dc += dh o (1 - tanh(c_t)^2)
                         dy = [dc g, dc c_{t-1}, dc i, dh tanh(c_t)] * D     blocks i, f, g, o
                         dc_{t-1} = dc f
                         then, with LN, the row's LN backward (``ln_row_backward``):
                         da = r (dy gamma - mean(dy gamma) - n mean(dy gamma n))   per block
                         dgamma += dy n,  dbeta += dy   (per row; summed after the loop);
                         without LN da = dy
    dh_{t-1} = da W_hh   the product (NumPy when small, else torch; see ``StepProduct``)

then, for all steps at once: dW_ih = da^T x, dW_hh = da^T h_prev, db = sum da, dx = da W_ih.
Every call writes into buffers reused between calls.
Small steps (``jit.whole_loop``) run the same equations as one compiled loop per pass,
``_forward_loop`` and ``_backward_loop``, on (width, B) arrays
(:mod:`~rnnkit.nn.fastpath.columns`).
"""

from __future__ import annotations

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
    sigmoid,
)
from rnnkit.nn.fastpath.kernel import Kernel


@rows_kernel
def _step_forward(a, gamma, beta, n, r, s, c_prev, c, tc, h, norm):  # pragma: no cover
    """One step: with ``norm`` the LN of each row of a (B, 4H) (n, r (B, 4)) and the gates
    s (B, 4H) = sigmoid(gamma' n + beta'), else s = sigmoid(gamma' a) (gamma' the gain';
    n, r, beta untouched); the g block turned into tanh(y_g) = 2 sigmoid(2 y_g) - 1 (gamma',
    beta' doubled there); then c (B, H) = f c_prev + i g, tc = tanh(c_t) =
    2 sigmoid(2 c_t) - 1 and h = o tc, each a pass over all rows indexed directly (at H = 20
    a loop per row view costs more than its arithmetic)."""
    B, H = c.shape
    one = s.dtype.type(1.0)
    two = s.dtype.type(2.0)
    if norm:
        for b in numba.prange(B):
            ln_row(a[b], gamma, beta, n[b], r[b], s[b], True)
    else:
        for b in numba.prange(B):
            for j in range(4 * H):
                s[b, j] = sigmoid(gamma[j] * a[b, j])
    for b in numba.prange(B):
        for j in range(H):
            s[b, 2 * H + j] = two * s[b, 2 * H + j] - one
    for b in numba.prange(B):
        for j in range(H):
            c[b, j] = s[b, H + j] * c_prev[b, j] + s[b, j] * s[b, 2 * H + j]
    flat_c, flat_tc = c.reshape(B * H), tc.reshape(B * H)
    for i in numba.prange(B * H):
        flat_tc[i] = two * sigmoid(two * flat_c[i]) - one
    for b in numba.prange(B):
        for j in range(H):
            h[b, j] = s[b, 3 * H + j] * tc[b, j]


@rows_kernel
def _step_backward(dh_out, dh, dc, s, tc, c_prev, n, r, gamma, dy, da, dgamma, dbeta,
                   norm):  # pragma: no cover - compiled
    """One step of BPTT, row by row (see the module docstring): the gate part, then with
    ``norm`` the LN backward of the row while it is in cache (without, dy is da: pass the
    same array; n, r, gamma, dgamma, dbeta are then untouched).

    In: dh_out (B, H) = dhs_t, dh (B, H) from step t + 1, dc (B, H); the step's gates s
    (B, 4H), tanh(c_t) tc and c_{t-1} (B, H), LN's n (B, 4H) and r (B, 4), gamma (4H,). Out:
    dy (B, 4H), the gradient w.r.t. the LN outputs, da (B, 4H) w.r.t. the pre-activations;
    dgamma, dbeta (B, 4H) accumulate per row; dh becomes the total dh_t, dc becomes dc_{t-1}."""
    B, H = dh.shape
    one = s.dtype.type(1.0)
    for b in numba.prange(B):
        i, f, g, o = s[b, :H], s[b, H : 2 * H], s[b, 2 * H : 3 * H], s[b, 3 * H :]
        dyi, dyf, dyg, dyo = dy[b, :H], dy[b, H : 2 * H], dy[b, 2 * H : 3 * H], dy[b, 3 * H :]
        dhb, dcb, tb, cp, dob = dh[b], dc[b], tc[b], c_prev[b], dh_out[b]
        for j in range(H):
            dhb[j] += dob[j]
        for j in range(H):
            dyo[j] = dhb[j] * tb[j] * o[j] * (one - o[j])
        for j in range(H):
            dcb[j] += dhb[j] * o[j] * (one - tb[j] * tb[j])
        for j in range(H):
            dyi[j] = dcb[j] * g[j] * i[j] * (one - i[j])
        for j in range(H):
            dyf[j] = dcb[j] * cp[j] * f[j] * (one - f[j])
        for j in range(H):
            dyg[j] = dcb[j] * i[j] * (one - g[j] * g[j])
        for j in range(H):
            dcb[j] *= f[j]
        if norm:
            ln_row_backward(dy[b], n[b], r[b], gamma, da[b], dgamma[b], dbeta[b])


@numba.njit(**JIT)
def _forward_loop(A, W_hh, gamma2, beta2, a, R, S, Hs, Cs, TC, mean, var,
                  norm):  # pragma: no cover - compiled
    """The forward time loop in one compiled call (small steps, ``jit.whole_loop``), in the
    columns layout of :mod:`~rnnkit.nn.fastpath.columns`: A (T, 4H, B) = W_ih x + b, then
    LN's n; R (T, 4, B); S (T, 4H, B) the gates; Hs, Cs (T+1, H, B); TC (T, H, B) tanh(c_t);
    a (4H, B), mean and var (B,) scratch. Per step a = W_hh h_{t-1} + A_t, with ``norm`` its
    LN and sigmoid(gamma' n + beta') (``ln_columns``), else sigmoid(gamma' a) (the gain';
    A, R, beta2, mean and var untouched), then the cell's passes over the H*B entries of each
    gate block (contiguous rows of S[t])."""
    HB = Hs.shape[1] * Hs.shape[2]
    B = a.shape[1]
    one = a.dtype.type(1.0)
    two = a.dtype.type(2.0)
    for t in range(A.shape[0]):
        preactivation(W_hh, Hs[t], A[t], a)
        if norm:
            ln_columns(a, gamma2, beta2, A[t], R[t], S[t], True, mean, var)
        else:
            for j in range(a.shape[0]):
                aj, sj, gj = a[j], S[t, j], gamma2[j]
                for b in range(B):
                    sj[b] = sigmoid(gj * aj[b])
        s = S[t].reshape(-1)  # i, f, g, o: HB entries each
        c, c_prev = Cs[t + 1].reshape(-1), Cs[t].reshape(-1)
        tc, h = TC[t].reshape(-1), Hs[t + 1].reshape(-1)
        for k in range(HB):
            s[2 * HB + k] = two * s[2 * HB + k] - one
        for k in range(HB):
            c[k] = s[HB + k] * c_prev[k] + s[k] * s[2 * HB + k]
        for k in range(HB):
            tc[k] = two * sigmoid(two * c[k]) - one
        for k in range(HB):
            h[k] = s[3 * HB + k] * tc[k]


@numba.njit(**JIT)
def _backward_loop(dH, dh, dc, S, TC, Cs, N, R, gamma, dy, dA, dgamma, dbeta, W_hhT, last,
                   dfinal_h, dfinal_c, m1, m2, norm):  # pragma: no cover - compiled
    """The backward time loop in one compiled call, in the columns layout (the module
    docstring's step; dH (T, H, B), dh, dc (H, B), dy (4H, B), dA (T, 4H, B), dgamma, dbeta
    (4H,), W_hhT (H, 4H); m1, m2 (B,) scratch): per step the final state's gradient where a
    column ends, the gates' part, with ``norm`` ``ln_columns_backward`` (without, the gates'
    part writes dA[t] and N, R, gamma, dy, dgamma, dbeta, m1, m2 are untouched) and
    dh_{t-1} = W_hh^T da."""
    HB = dh.shape[0] * dh.shape[1]
    one = dh.dtype.type(1.0)
    dhf, dcf = dh.reshape(-1), dc.reshape(-1)
    for t in range(dH.shape[0] - 1, -1, -1):
        dyf = dy.reshape(-1) if norm else dA[t].reshape(-1)
        add_final_grads(t, last, dfinal_h, dh)
        add_final_grads(t, last, dfinal_c, dc)
        s, tc = S[t].reshape(-1), TC[t].reshape(-1)
        c_prev, d_out = Cs[t].reshape(-1), dH[t].reshape(-1)
        for k in range(HB):
            dhf[k] += d_out[k]
        for k in range(HB):
            o = s[3 * HB + k]
            dyf[3 * HB + k] = dhf[k] * tc[k] * o * (one - o)
        for k in range(HB):
            dcf[k] += dhf[k] * s[3 * HB + k] * (one - tc[k] * tc[k])
        for k in range(HB):
            i = s[k]
            dyf[k] = dcf[k] * s[2 * HB + k] * i * (one - i)
        for k in range(HB):
            f = s[HB + k]
            dyf[HB + k] = dcf[k] * c_prev[k] * f * (one - f)
        for k in range(HB):
            g = s[2 * HB + k]
            dyf[2 * HB + k] = dcf[k] * s[k] * (one - g * g)
        for k in range(HB):
            dcf[k] *= s[HB + k]
        if norm:
            ln_columns_backward(dy, N[t], R[t], gamma, dA[t], dgamma, dbeta, m1, m2)
        np.dot(W_hhT, dA[t], dh)


class LSTMKernel(Kernel):
    """LSTM over T steps, the reference's maths in compiled passes.

    ``LSTMKernel(input_size, hidden_size, *, dtype="float32")``; see the module docstring
    and :class:`~rnnkit.nn.fastpath.kernel.Kernel` for the interface.
    """

    gates = 4
    state_parts = 2
    columns_layout = True

    def _forward_tm(self, X: np.ndarray, s0: tuple[np.ndarray, ...]):
        T, B, D = X.shape
        H = self.hidden_size
        W_ih, W_hh, b_ih, b_hh = self.params[:4]
        fn = torch.from_numpy
        gamma2, beta2 = self._doubled_g()

        A = self._buf("A", (T, B, 4 * H))  # W_ih x + b for all steps, then LN's n
        torch.addmm(fn(b_ih + b_hh), fn(X.reshape(T * B, D)), fn(W_ih).t(),
                    out=fn(A).view(T * B, 4 * H))
        Hs = self._buf("Hs", (T + 1, B, H))  # Hs[t] = h_t, Hs[0] = h0
        Cs = self._buf("Cs", (T + 1, B, H))  # Cs[t] = c_t
        self._buf("R", (T, B, 4))  # LN's rstd per gate block
        self._buf("S", (T, B, 4 * H))  # gate values i, f, g, o
        self._buf("TC", (T, B, H))  # tanh(c_t)
        a = self._buf("a", (B, 4 * H))  # the step's pre-activations
        Hs[0] = s0[0]
        Cs[0] = s0[1]
        # per-step views (lists, made once per buffer): hs[t] is Hs[t]
        hs, cs, at, r, s, tc = map(self._steps, ("Hs", "Cs", "A", "R", "S", "TC"))
        recurrent = StepProduct(W_hh.T, B)  # h (B, H) @ W_hh^T (H, 4H)
        step = _step_forward[parallel_rows(B, 4 * H)]  # one thread, or the rows split
        norm = self.layer_norm
        for t in range(T):
            # a = A_t + h W_hh^T into a cache-warm buffer (measured 1.6x faster than adding into
            # A_t in place at B = 256); LN then writes n over A_t
            recurrent(hs[t], a, add=at[t])
            step(a, gamma2, beta2, at[t], r[t], s[t], cs[t], cs[t + 1], tc[t], hs[t + 1], norm)
        return Hs, Cs

    def _doubled_g(self) -> tuple[np.ndarray, np.ndarray]:
        """The sigmoid's gain and shift (4H,), the g block doubled (tanh(y) = 2 sigmoid(2y) -
        1): LN's gamma and beta, or ones and zeros without LN."""
        H = self.hidden_size
        if self.layer_norm:
            gamma2, beta2 = self.params[4].copy(), self.params[5].copy()
        else:
            gamma2, beta2 = np.ones(4 * H, self.dtype), np.zeros(4 * H, self.dtype)
        gamma2[2 * H : 3 * H] *= 2
        beta2[2 * H : 3 * H] *= 2
        return gamma2, beta2

    def _gamma(self) -> np.ndarray:
        """LN's gain (4H,) for the backward passes (an empty array without LN, unread)."""
        return self.params[4] if self.layer_norm else np.empty(0, self.dtype)

    def _forward_columns(self, X: np.ndarray, s0: tuple[np.ndarray, ...]
                         ) -> tuple[np.ndarray, np.ndarray]:
        """The compiled whole loop's forward, its buffers in the columns layout (s0 parts
        (H, B)); returns Hs, Cs (T+1, H, B)."""
        T, B, _ = X.shape
        H = self.hidden_size
        gamma2, beta2 = self._doubled_g()
        W_ih, W_hh, b_ih, b_hh = self.params[:4]
        A = self._buf("A", (T, 4 * H, B))  # W_ih x + b for all steps, then LN's n
        columns.project(X, W_ih, b_ih + b_hh, A)
        Hs = self._buf("Hs", (T + 1, H, B))
        Cs = self._buf("Cs", (T + 1, H, B))
        Hs[0] = s0[0]
        Cs[0] = s0[1]
        _forward_loop(A, W_hh, gamma2, beta2, self._buf("a", (4 * H, B)),
                      self._buf("R", (T, 4, B)), self._buf("S", (T, 4 * H, B)), Hs, Cs,
                      self._buf("TC", (T, H, B)), self._buf("mean", (B,)),
                      self._buf("var", (B,)), self.layer_norm)
        return Hs, Cs

    def _ln_grads(self, B: int | None) -> tuple[np.ndarray, np.ndarray]:
        """Zeroed accumulators of LN's dgamma and dbeta: for the step loop (``B`` rows) one
        (4H,) row per batch row, (B, 4H), summed after the loop; for the whole loop (None)
        the gradients (4H,) themselves. Empty without LN (the passes never read them)."""
        if not self.layer_norm:
            shape = (0,) if B is None else (B, 0)
            return np.empty(shape, self.dtype), np.empty(shape, self.dtype)
        GH = 4 * self.hidden_size
        pair = ((self.grads[4], self.grads[5]) if B is None
                else (self._buf("dgamma", (B, GH)), self._buf("dbeta", (B, GH))))
        for acc in pair:
            acc[...] = 0
        return pair

    def _backward_columns(self, dH: np.ndarray, dfinal):
        """The compiled whole loop's backward in the columns layout: dH (T, H, B); returns dX
        (T, B, D) and dstate0 parts (H, B)."""
        X = self._cache["X"]
        T, H, B = dH.shape
        W_ih, W_hh = self.params[0], self.params[1]
        dh = np.zeros((H, B), self.dtype)
        dc = np.zeros((H, B), self.dtype)
        dgamma, dbeta = self._ln_grads(None)
        dA = self._buf("dA", (T, 4 * H, B))
        got = self._buffers.get
        _backward_loop(dH, dh, dc, got("S"), got("TC"), got("Cs"), got("A"), got("R"),
                       self._gamma(), self._buf("dy", (4 * H, B)), dA, dgamma, dbeta,
                       np.ascontiguousarray(W_hh.T), self.step_ends.last,
                       *self._final_grads(dfinal), self._buf("mean", (B,)),
                       self._buf("var", (B,)), self.layer_norm)
        dX = columns.input_and_weight_grads(dA, X, got("Hs")[:-1], W_ih, self.grads)
        return dX, (dh, dc)

    def _backward_tm(self, dH: np.ndarray, dfinal):
        X = self._cache["X"]
        T, B, H = dH.shape
        W_ih, W_hh = self.params[0], self.params[1]
        dA = self._buf("dA", (T, B, 4 * H))  # gradient w.r.t. the pre-activations a
        dy = self._buf("dy", (B, 4 * H))
        dh = np.zeros((B, H), self.dtype)
        dc = np.zeros((B, H), self.dtype)
        ends = self.step_ends
        dgamma, dbeta = self._ln_grads(B)
        gamma, norm = self._gamma(), self.layer_norm
        # per-step views; LN's n is in the forward's A
        cs, n, r, s, tc, da = map(self._steps, ("Cs", "A", "R", "S", "TC", "dA"))
        recurrent = StepProduct(W_hh, B)  # da (B, 4H) @ W_hh (4H, H)
        step_backward = _step_backward[parallel_rows(B, 4 * H)]
        for t in range(T - 1, -1, -1):
            ends.inject(t, dfinal, (dh, dc))  # the final state's gradient
            step_backward(dH[t], dh, dc, s[t], tc[t], cs[t], n[t], r[t], gamma,
                          dy if norm else da[t], da[t], dgamma, dbeta, norm)
            recurrent(da[t], dh)  # dh_{t-1} = da W_hh
        if norm:
            dgamma.sum(axis=0, out=self.grads[4])
            dbeta.sum(axis=0, out=self.grads[5])
        Hs = self._buffers["Hs"]
        dX = input_and_weight_grads(dA, X, Hs[:-1], W_ih, self.grads)  # (T, B, D)
        return dX, (dh, dc)


class LNLSTMKernel(LSTMKernel):
    """Layer-normalised LSTM over T steps: :class:`LSTMKernel` with LN's gamma and beta
    (4H,) after the biases in ``params``."""

    layer_norm = True
