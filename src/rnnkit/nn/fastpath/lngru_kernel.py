r"""A fast NumPy LN-GRU time layer: the reference equations, a few compiled passes per step.

:class:`LNGRUKernel` (a :class:`~rnnkit.nn.fastpath.kernel.Kernel`, ``params`` in torch
order ``[W_ih (3H, D), W_hh (3H, H), b_ih, b_hh, gamma, beta]``, gate blocks r, z, n) runs the
time loop with its element-wise work in Numba-compiled passes. The equations are the
reference's (:mod:`rnnkit.ref.time_gru`, :mod:`rnnkit.ref.layernorm`, eps = 1e-5; LN per
gate block over H)::

    gi = W_ih x_t + b_ih,   gh = W_hh h_{t-1} + b_hh                   (B, 3H), blocks r, z, n
    r, z = sigmoid(LN_rz(gi_rz + gh_rz))                                blocks r and z
    n = tanh(LN_n(gi_n + r gh_n))                                       (b_hh_n inside r gh_n)
    h_t = n + z (h_{t-1} - n)

with LN_k(a) = gamma_k xhat_k + beta_k, xhat_k = (a - mean a) rstd_k,
rstd_k = 1 / sqrt(var a + eps) (xhat and rstd are what ``ln_row`` calls n and r).

Forward, per step (B rows; the kernels are in :mod:`~rnnkit.nn.fastpath.jit`'s style)::

    gh = h_{t-1} W_hh^T              one product (no bias); before the loop, for all steps:
                                     A_rz = X W_ih_rz^T + b_ih_rz + b_hh_rz,
                                     A_n = X W_ih_n^T + b_ih_n
    _step_forward(...)               one compiled call:
                                     a_rz = A_rz + gh_rz,  gh_n += b_hh_n
                                     LN (``ln_row``) of blocks r, z: xhat, rstd and
                                     r, z = sigmoid(gamma xhat + beta)
                                     a_n = A_n + r gh_n
                                     LN of block n with gamma', beta' = 2 gamma_n, 2 beta_n:
                                     sigmoid(2 y_n)
                                     n = tanh(y_n) = 2 sigmoid(2 y_n) - 1,
                                     h_t = n + z (h_{t-1} - n)

Backward, per step: one compiled call, row by row, and one product (dh carried from step t + 1
as the product dgh W_hh and the term dh z, added at the start of the step)::

    _step_backward:        dh = dhs_t + dh_{t+1 -> t};  dy_n = dh (1 - z)(1 - n^2)
                           dy_z = dh (h_{t-1} - n) z (1 - z);  keeps dh z for step t - 1
                           da_n from dy_n (LN backward of block n, ``ln_row_backward``;
                           dgamma_n += dy_n xhat_n, dbeta_n += dy_n per row, summed over
                           rows after the loop)
                           dy_r = da_n gh_n r (1 - r);  dgh_n = da_n r
                           da_rz from dy_rz (LN backward of blocks r, z), dgh_rz = da_rz
    dh_{t-1} = dgh W_hh    the product (NumPy when small, else torch; see ``StepProduct``),
                           plus dh z at the start of the next step

with LN backward da = rstd (dy gamma - mean(dy gamma) - xhat mean(dy gamma xhat)) per block.
Then, for all steps at once (dgi = [da_rz, da_n], dgh = [da_rz, da_n r]): dW_ih = dgi^T x,
dW_hh = dgh^T h_prev, db_ih = sum dgi, db_hh = sum dgh, dx = dgi W_ih. Every call writes into
buffers reused between calls.
Small steps (``jit.whole_loop``) run the same equations as one compiled loop per pass,
``_forward_loop`` and ``_backward_loop``, on (width, B) arrays
(:mod:`~rnnkit.nn.fastpath.columns`).
"""

from __future__ import annotations

import numba
import numpy as np
import torch

from rnnkit.nn.fastpath import columns
from rnnkit.nn.fastpath.columns import add_final_grads, ln_columns, ln_columns_backward
from rnnkit.nn.fastpath.gru_kernel import _gates_row_backward  # the same z/n backward
from rnnkit.nn.fastpath.jit import (
    JIT,
    StepProduct,
    ln_row,
    ln_row_backward,
    parallel_rows,
    rows_kernel,
)
from rnnkit.nn.fastpath.kernel import Kernel


@rows_kernel
def _step_forward(gh, b_hn, a_rz, a_n, g_rz, b_rz, g_n, b_n, r_rz, r_n, s_rz, s_n, h_prev,
                  h):  # pragma: no cover - compiled
    """One step. In: gh (B, 3H) = h_{t-1} W_hh^T; a_rz (B, 2H) and a_n (B, H) holding gi
    (with both biases for r, z; b_ih_n for n); LN's gamma, beta split as g_rz, b_rz (2H,)
    and g_n, b_n (H,), the latter doubled. Writes a_rz = gi_rz + gh_rz, then its LN n over
    it, r_rz (B, 2) and s_rz = sigmoid(LN) (r, z); gh_n += b_hh_n; a_n = gi_n + r gh_n, then
    its LN n, r_n (B, 1) and s_n = sigmoid(2 y_n); then n = 2 s_n - 1 (in s_n) and
    h = n + z (h_prev - n). The LN runs row by row, the rest as passes over all rows indexed
    directly (at H = 20 a loop per row view costs more than its arithmetic)."""
    B, H = h.shape
    one = h.dtype.type(1.0)
    two = h.dtype.type(2.0)
    for b in numba.prange(B):
        for j in range(2 * H):
            a_rz[b, j] += gh[b, j]
    for b in numba.prange(B):
        ln_row(a_rz[b], g_rz, b_rz, a_rz[b], r_rz[b], s_rz[b], True)
    for b in numba.prange(B):
        for j in range(H):
            a_n[b, j] += s_rz[b, j] * (gh[b, 2 * H + j] + b_hn[j])
    for b in numba.prange(B):
        for j in range(H):
            gh[b, 2 * H + j] += b_hn[j]
    for b in numba.prange(B):
        ln_row(a_n[b], g_n, b_n, a_n[b], r_n[b], s_n[b], True)
    for b in numba.prange(B):
        for j in range(H):
            nj = two * s_n[b, j] - one
            s_n[b, j] = nj
            h[b, j] = nj + s_rz[b, H + j] * (h_prev[b, j] - nj)


@rows_kernel
def _step_backward(dh_out, dh, dhz, s_rz, n, h_prev, gh, n_n, r_n, g_n, n_rz, r_rz, g_rz,
                   dy_n, dy_rz, da_n, da_rz, dgh, dg_n, db_n, dg_rz,
                   db_rz):  # pragma: no cover - compiled
    """One step of BPTT, row by row (see the module docstring).

    In: dh_out (B, H) = dhs_t, dh (B, H) = dgh W_hh from step t + 1, dhz (B, H) = dh z from
    step t + 1; the step's gates s_rz (B, 2H), n and h_{t-1} (B, H), gh (B, 3H) with b_hh_n in
    gh_n; LN's n and r of block n (n_n (B, H), r_n (B, 1)) and of blocks r, z (n_rz (B, 2H),
    r_rz (B, 2)), gamma split as g_n (H,), g_rz (2H,). Out: da_n (B, H), da_rz (B, 2H), dgh
    (B, 3H) = [da_rz, da_n r], dhz = dh_t z for step t - 1; the per-row LN gradients dg_n,
    db_n (B, H) and dg_rz, db_rz (B, 2H) accumulate; dh becomes the total dh_t; dy_n, dy_rz
    are scratch rows."""
    B, H = dh.shape
    one = dh.dtype.type(1.0)
    for b in numba.prange(B):
        r, z = s_rz[b, :H], s_rz[b, H:]
        dhb, dzb, dob, nb, hp = dh[b], dhz[b], dh_out[b], n[b], h_prev[b]
        dyn, dyr, dyz = dy_n[b], dy_rz[b, :H], dy_rz[b, H:]
        _gates_row_backward(dhb, dob, dzb, z, nb, hp, dyn, dyz)
        ln_row_backward(dyn, n_n[b], r_n[b], g_n, da_n[b], dg_n[b], db_n[b])
        dan, ghn, dghn = da_n[b], gh[b, 2 * H :], dgh[b, 2 * H :]
        for j in range(H):
            dyr[j] = dan[j] * ghn[j] * r[j] * (one - r[j])
        for j in range(H):
            dghn[j] = dan[j] * r[j]
        ln_row_backward(dy_rz[b], n_rz[b], r_rz[b], g_rz, da_rz[b], dg_rz[b], db_rz[b])
        darz, dghrz = da_rz[b], dgh[b, : 2 * H]
        for j in range(2 * H):
            dghrz[j] = darz[j]


@numba.njit(**JIT)
def _forward_loop(A, GH, W_hh, b_hn, g_rz, b_rz, g_n, b_n, R, S, Hs, a, mean,
                  var):  # pragma: no cover - compiled
    """The forward time loop in one compiled call (small steps, ``jit.whole_loop``), in the
    columns layout of :mod:`~rnnkit.nn.fastpath.columns`: A (T, 3H, B) holds gi (with both
    biases for r, z; b_ih_n for n), then LN's n; GH (T, 3H, B) = W_hh h_{t-1}, with b_hh_n
    added to its n block; R (T, 3, B); S (T, 3H, B) = r, z, then n; Hs (T+1, H, B); a
    (3H, B) the step's pre-activations, mean and var (B,) scratch. Per step the passes of
    :func:`_step_forward`, each gate block a contiguous row range."""
    H = Hs.shape[1]
    HB = H * Hs.shape[2]
    one = Hs.dtype.type(1.0)
    two = Hs.dtype.type(2.0)
    af = a.reshape(-1)
    for t in range(A.shape[0]):
        gh = GH[t]
        np.dot(W_hh, Hs[t], gh)
        At, ghf, s = A[t].reshape(-1), gh.reshape(-1), S[t].reshape(-1)
        for k in range(2 * HB):
            af[k] = At[k] + ghf[k]
        ln_columns(a[: 2 * H], g_rz, b_rz, A[t][: 2 * H], R[t][:2], S[t][: 2 * H], True,
                   mean, var)
        for j in range(H):
            ghn, bias = gh[2 * H + j], b_hn[j]
            for b in range(ghn.shape[0]):
                ghn[b] += bias
        for k in range(HB):
            af[2 * HB + k] = At[2 * HB + k] + s[k] * ghf[2 * HB + k]
        ln_columns(a[2 * H :], g_n, b_n, A[t][2 * H :], R[t][2:], S[t][2 * H :], True,
                   mean, var)
        h, h_prev = Hs[t + 1].reshape(-1), Hs[t].reshape(-1)
        for k in range(HB):
            n = two * s[2 * HB + k] - one
            s[2 * HB + k] = n
            h[k] = n + s[HB + k] * (h_prev[k] - n)


@numba.njit(**JIT)
def _backward_loop(dH, dh, dhz, S, Hs, GH, N, R, gamma, dy, dGI, dGH, dgamma, dbeta, W_hhT,
                   last, dfinal, m1, m2):  # pragma: no cover - compiled
    """The backward time loop in one compiled call, in the columns layout (the module
    docstring's step; dH (T, H, B), dh, dhz (H, B), N = the forward's A (LN's n), dy (3H, B)
    scratch; writes dGI = [da_rz, da_n] and dGH = [da_rz, da_n r] (T, 3H, B), adds to dgamma,
    dbeta (3H,); m1, m2 (B,) scratch): per step the final state's gradient where a column
    ends, the z and n part (``_gates_row_backward`` over all H*B entries), LN backward of
    block n, the r part, LN backward of blocks r, z, and dh = W_hh^T dgh."""
    H = dh.shape[0]
    HB = dh.size
    one = dh.dtype.type(1.0)
    dhf, dhzf, dyf = dh.reshape(-1), dhz.reshape(-1), dy.reshape(-1)
    for t in range(dH.shape[0] - 1, -1, -1):
        add_final_grads(t, last, dfinal, dh)
        s, gh = S[t].reshape(-1), GH[t].reshape(-1)
        dgi, dgh = dGI[t].reshape(-1), dGH[t].reshape(-1)
        _gates_row_backward(dhf, dH[t].reshape(-1), dhzf, s[HB : 2 * HB], s[2 * HB :],
                            Hs[t].reshape(-1), dyf[2 * HB :], dyf[HB : 2 * HB])
        ln_columns_backward(dy[2 * H :], N[t][2 * H :], R[t][2:], gamma[2 * H :],
                            dGI[t][2 * H :], dgamma[2 * H :], dbeta[2 * H :], m1, m2)
        for k in range(HB):
            r = s[k]
            dyf[k] = dgi[2 * HB + k] * gh[2 * HB + k] * r * (one - r)
        for k in range(HB):
            dgh[2 * HB + k] = dgi[2 * HB + k] * s[k]
        ln_columns_backward(dy[: 2 * H], N[t][: 2 * H], R[t][:2], gamma[: 2 * H],
                            dGI[t][: 2 * H], dgamma[: 2 * H], dbeta[: 2 * H], m1, m2)
        for k in range(2 * HB):
            dgh[k] = dgi[k]
        np.dot(W_hhT, dGH[t], dh)


class LNGRUKernel(Kernel):
    """Layer-normalised GRU over T steps, the reference's maths in compiled passes.

    ``LNGRUKernel(input_size, hidden_size, *, dtype="float32")``; see the module docstring
    and :class:`~rnnkit.nn.fastpath.kernel.Kernel` for the interface.
    """

    gates = 3
    layer_norm = True
    columns_layout = True

    def _forward_tm(self, X: np.ndarray, s0: tuple[np.ndarray, ...]):
        T, B, D = X.shape
        H = self.hidden_size
        W_ih, W_hh, b_ih, b_hh, gamma, beta = self.params
        fn = torch.from_numpy
        g_rz, b_rz = gamma[: 2 * H], beta[: 2 * H]
        g_n2, b_n2 = 2 * gamma[2 * H :], 2 * beta[2 * H :]  # tanh(y) = 2 sigmoid(2y) - 1
        b_hn = b_hh[2 * H :]

        X2 = fn(X.reshape(T * B, D))
        Arz = self._buf("Arz", (T, B, 2 * H))  # W_ih x + b_ih + b_hh, blocks r, z; a_rz; n_rz
        torch.addmm(fn(b_ih[: 2 * H] + b_hh[: 2 * H]), X2, fn(W_ih[: 2 * H]).t(),
                    out=fn(Arz).view(T * B, 2 * H))
        An = self._buf("An", (T, B, H))  # W_ih x + b_ih, block n; then a_n, then n_n
        torch.addmm(fn(b_ih[2 * H :]), X2, fn(W_ih[2 * H :]).t(), out=fn(An).view(T * B, H))
        self._buf("GH", (T, B, 3 * H))  # W_hh h_{t-1} + b_hh (bias in the n block only)
        Hs = self._buf("Hs", (T + 1, B, H))  # Hs[t] = h_t, Hs[0] = h0
        self._buf("Rrz", (T, B, 2))  # rstd per block
        self._buf("Srz", (T, B, 2 * H))  # gate values r, z
        self._buf("Rn", (T, B, 1))
        self._buf("Sn", (T, B, H))  # sigmoid(2 y_n), then n
        Hs[0] = s0[0]
        # per-step views (lists, made once per buffer): hs[t] is Hs[t]
        hs, gh, arz, rrz, srz, an, rn, sn = map(
            self._steps, ("Hs", "GH", "Arz", "Rrz", "Srz", "An", "Rn", "Sn"))
        recurrent = StepProduct(W_hh.T, B)  # h (B, H) @ W_hh^T (H, 3H)
        step = _step_forward[parallel_rows(B, 3 * H)]  # one thread, or the rows split
        for t in range(T):
            recurrent(hs[t], gh[t])
            step(gh[t], b_hn, arz[t], an[t], g_rz, b_rz, g_n2, b_n2, rrz[t], rn[t], srz[t],
                 sn[t], hs[t], hs[t + 1])  # a_rz, a_n become LN's n
        return (Hs,)

    def _forward_columns(self, X: np.ndarray, s0: tuple[np.ndarray, ...]) -> tuple[np.ndarray]:
        """The compiled whole loop's forward, its buffers in the columns layout (s0 (H, B));
        returns Hs (T+1, H, B)."""
        T, B, _ = X.shape
        H = self.hidden_size
        W_ih, W_hh, b_ih, b_hh, gamma, beta = self.params
        bias = b_ih.copy()
        bias[: 2 * H] += b_hh[: 2 * H]  # b_hh_n is inside r gh_n
        A = self._buf("A", (T, 3 * H, B))
        columns.project(X, W_ih, bias, A)
        Hs = self._buf("Hs", (T + 1, H, B))
        Hs[0] = s0[0]
        _forward_loop(A, self._buf("GH", (T, 3 * H, B)), W_hh, b_hh[2 * H :], gamma[: 2 * H],
                      beta[: 2 * H], 2 * gamma[2 * H :], 2 * beta[2 * H :],
                      self._buf("R", (T, 3, B)), self._buf("S", (T, 3 * H, B)), Hs,
                      self._buf("a", (3 * H, B)), self._buf("mean", (B,)),
                      self._buf("var", (B,)))
        return (Hs,)

    def _backward_columns(self, dH: np.ndarray, dfinal):
        """The compiled whole loop's backward in the columns layout: dH (T, H, B); returns dX
        (T, B, D) and dstate0 parts (H, B)."""
        X = self._cache["X"]
        T, H, B = dH.shape
        dh = np.zeros((H, B), self.dtype)
        dhz = np.zeros((H, B), self.dtype)  # dh z from the step after
        dgamma, dbeta = self.grads[4], self.grads[5]
        dgamma[...] = 0
        dbeta[...] = 0
        dGI = self._buf("dGI", (T, 3 * H, B))
        dGH = self._buf("dGH", (T, 3 * H, B))
        got = self._buffers.get
        _backward_loop(dH, dh, dhz, got("S"), got("Hs"), got("GH"),
                       got("A"), got("R"), self.params[4], self._buf("dy", (3 * H, B)), dGI,
                       dGH, dgamma, dbeta, np.ascontiguousarray(self.params[1].T),
                       self.step_ends.last, *self._final_grads(dfinal),
                       self._buf("mean", (B,)), self._buf("var", (B,)))
        dh += dhz  # dh_0
        dX = columns.input_and_weight_grads(dGI, X, got("Hs")[:-1], self.params[0],
                                            self.grads, dGH)
        return dX, (dh,)

    def _backward_tm(self, dH: np.ndarray, dfinal):
        X = self._cache["X"]
        T, B, H = dH.shape
        D = X.shape[2]
        W_ih, W_hh, gamma = self.params[0], self.params[1], self.params[4]
        dGH = self._buf("dGH", (T, B, 3 * H))  # dgh = [da_rz, da_n r]
        dRZ = self._buf("dRZ", (T, B, 2 * H))  # da_rz = dgi_rz = dgh_rz
        dAn = self._buf("dAn", (T, B, H))  # da_n = dgi_n
        dy_rz = self._buf("dy_rz", (B, 2 * H))  # gradient w.r.t. the LN outputs, blocks r, z
        dy_n = self._buf("dy_n", (B, H))  # ... block n
        dhz = self._buf("dhz", (B, H))  # dh z from the step after
        dhz[...] = 0
        dh = np.zeros((B, H), self.dtype)
        ends = self.step_ends
        # dgamma, dbeta per row and block group (r, z | n): summed over rows after the loop
        dg_rz, db_rz = self._buf("dg_rz", (B, 2 * H)), self._buf("db_rz", (B, 2 * H))
        dg_n, db_n = self._buf("dg_n", (B, H)), self._buf("db_n", (B, H))
        for acc in (dg_rz, db_rz, dg_n, db_n):
            acc[...] = 0
        g_rz, g_n = gamma[: 2 * H], gamma[2 * H :]
        fn = torch.from_numpy
        recurrent = StepProduct(W_hh, B)  # dgh (B, 3H) @ W_hh (3H, H)
        step_backward = _step_backward[parallel_rows(B, 3 * H)]
        # per-step views; LN's n of blocks r, z is in the forward's Arz, of block n in An
        hs, gh, nrz, rrz, srz, nn, rn, sn, dgh, drz, dan = map(self._steps, (
            "Hs", "GH", "Arz", "Rrz", "Srz", "An", "Rn", "Sn", "dGH", "dRZ", "dAn"))
        for t in range(T - 1, -1, -1):
            ends.inject(t, dfinal, (dh,))  # the final state's gradient
            step_backward(dH[t], dh, dhz, srz[t], sn[t], hs[t], gh[t], nn[t], rn[t], g_n,
                          nrz[t], rrz[t], g_rz, dy_n, dy_rz, dan[t], drz[t], dgh[t], dg_n,
                          db_n, dg_rz, db_rz)
            recurrent(dgh[t], dh)  # dgh W_hh; dh z is added next step
        dh += dhz  # dh_0
        dgamma, dbeta = self.grads[4], self.grads[5]
        dg_rz.sum(axis=0, out=dgamma[: 2 * H])
        dg_n.sum(axis=0, out=dgamma[2 * H :])
        db_rz.sum(axis=0, out=dbeta[: 2 * H])
        db_n.sum(axis=0, out=dbeta[2 * H :])

        tdgh = fn(dGH).view(T * B, 3 * H)  # (T*B, 3H)
        tdrz = fn(dRZ).view(T * B, 2 * H)  # da_rz = dgi_rz = dgh_rz
        tdan = fn(dAn).view(T * B, H)  # da_n = dgi_n
        tX = fn(X.reshape(T * B, D))
        dW_ih = fn(self.grads[0])
        torch.mm(tdrz.t(), tX, out=dW_ih[: 2 * H])  # dW_ih (3H, D), blocks r, z
        torch.mm(tdan.t(), tX, out=dW_ih[2 * H :])  # ... block n
        Hs = self._buffers["Hs"]
        torch.mm(tdgh.t(), fn(Hs[:-1].reshape(T * B, H)), out=fn(self.grads[1]))  # dW_hh
        db_ih = fn(self.grads[2])
        torch.sum(tdrz, 0, out=db_ih[: 2 * H])
        torch.sum(tdan, 0, out=db_ih[2 * H :])
        torch.sum(tdgh, 0, out=fn(self.grads[3]))  # db_hh
        tW_ih = fn(W_ih)
        dX = torch.mm(tdrz, tW_ih[: 2 * H])  # (T*B, D)
        dX.addmm_(tdan, tW_ih[2 * H :])
        return dX.numpy().reshape(T, B, D), (dh,)
