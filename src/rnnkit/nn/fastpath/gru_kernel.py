r"""A fast NumPy GRU time layer: one step's element-wise work in one compiled call forward
and one backward, the products left to BLAS.

PyTorch has no fused CPU GRU: torch.nn.GRU runs a per-step chain of aten ops and autograd
records each of them. :class:`GRUKernel` (a :class:`~rnnkit.nn.fastpath.kernel.Kernel`,
``params`` in torch order ``[W_ih (3H, D), W_hh (3H, H), b_ih (3H,), b_hh (3H,)]``, gate
blocks r, z, n) computes the reference's equations (:mod:`rnnkit.ref.time_gru`)::

    gi = W_ih x_t + b_ih,   gh = W_hh h_{t-1} + b_hh                   (B, 3H), blocks r, z, n
    r = sigmoid(gi_r + gh_r),  z = sigmoid(gi_z + gh_z),  n = tanh(gi_n + r gh_n)
    h_t = n + z (h_{t-1} - n)

Forward: before the loop, for all steps, A_rz = X W_ih_rz^T + b_ih_rz + b_hh_rz and
A_n = 2 (X W_ih_n^T + b_ih_n) (one product each); then per step (B rows)::

    gh = h_{t-1} W_hh^T              the product (NumPy when small, else torch: ``StepProduct``)
    _step_forward (passes):          s_rz = sigmoid(A_rz + gh_rz) (r, z),  gh_n += b_hh_n
                                     s_n = sigmoid(A_n + 2 r gh_n) = sigmoid(2 a_n)
                                     n = 2 s_n - 1 = tanh(a_n),  h_t = n + z (h_{t-1} - n)

(the sigmoid is the compiled one of :mod:`~rnnkit.nn.fastpath.jit`).

Backward, per step: one compiled pass and one product, dh carried from step t + 1 as the
product dgh W_hh and the term dh z, added at the start of the step::

    _step_backward:  dh = dhs_t + dh_{t+1 -> t};  da_n = dh (1 - z)(1 - n^2)
                     da_z = dh (h_{t-1} - n) z (1 - z);  da_r = da_n gh_n r (1 - r)
                     dgi = [da_r, da_z, da_n],  dgh = [da_r, da_z, da_n r],  dhz = dh z
    dh_{t-1} = dgh W_hh              the product; dh z is added in the next step

then for all steps at once: dW_ih = dgi^T x, dW_hh = dgh^T h_prev, db_ih = sum dgi,
db_hh = sum dgh, dx = dgi W_ih (:func:`~rnnkit.nn.fastpath.jit.input_and_weight_grads`).
"""

from __future__ import annotations

import numba
import numpy as np
import torch

from rnnkit.nn.fastpath.jit import (
    JIT,
    StepProduct,
    add_final_grads,
    input_and_weight_grads,
    parallel_rows,
    rows_kernel,
    sigmoid,
)
from rnnkit.nn.fastpath.kernel import Kernel


@rows_kernel
def _step_forward(A_rz, A_n, gh, b_hn, s_rz, s_n, h_prev, h):  # pragma: no cover - compiled
    """One step: s_rz (B, 2H) = sigmoid(A_rz + gh_rz) (r, z); gh_n += b_hh_n; s_n (B, H) =
    n = tanh(a_n) = 2 sigmoid(A_n + 2 r gh_n) - 1, with A_n = 2 (W_ih_n x + b_ih_n); then
    h (B, H) = n + z (h_prev - n). Each line is a pass over all rows, indexed directly (the
    sigmoids over the whole contiguous array): at H = 20 a loop per row view costs more than
    its arithmetic."""
    B, H = h.shape
    one = h.dtype.type(1.0)
    two = h.dtype.type(2.0)
    for b in numba.prange(B):
        for j in range(2 * H):
            s_rz[b, j] = sigmoid(A_rz[b, j] + gh[b, j])
    for b in numba.prange(B):
        for j in range(H):
            gh[b, 2 * H + j] += b_hn[j]
    for b in numba.prange(B):
        for j in range(H):
            s_n[b, j] = A_n[b, j] + two * s_rz[b, j] * gh[b, 2 * H + j]
    flat = s_n.reshape(B * H)
    for i in numba.prange(B * H):
        flat[i] = two * sigmoid(flat[i]) - one
    for b in numba.prange(B):
        for j in range(H):
            h[b, j] = s_n[b, j] + s_rz[b, H + j] * (h_prev[b, j] - s_n[b, j])


@numba.njit(**JIT)
def _gates_row_backward(dh, dh_out, dhz, z, n, h_prev, dn, dz):  # pragma: no cover - compiled
    """The z and n part of one row's BPTT step, shared with the LN-GRU kernel (H entries
    each): dh += dh_out + dhz (the total dh_t); dn = dh (1 - z)(1 - n^2) and
    dz = dh (h_{t-1} - n) z (1 - z), the gradients w.r.t. the pre-activations of n and z;
    dhz = dh z, the direct term of dh_{t-1}."""
    one = dh.dtype.type(1.0)
    for j in range(dh.shape[0]):
        dh[j] += dh_out[j] + dhz[j]
    for j in range(dh.shape[0]):
        dn[j] = dh[j] * (one - z[j]) * (one - n[j] * n[j])
    for j in range(dh.shape[0]):
        dz[j] = dh[j] * (h_prev[j] - n[j]) * z[j] * (one - z[j])
    for j in range(dh.shape[0]):
        dhz[j] = dh[j] * z[j]


@rows_kernel
def _step_backward(dh_out, dh, s_rz, n, h_prev, gh, dgi, dgh, dhz):  # pragma: no cover
    """One step of BPTT (see the module docstring). In: dh_out (B, H) = dhs_t, dh (B, H) =
    dgh W_hh and dhz (B, H) = dh z from step t + 1, the step's r, z in s_rz (B, 2H), n and
    h_{t-1} (B, H), gh (B, 3H) with b_hh_n in gh_n. Out: dgi, dgh (B, 3H) and dhz = dh_t z;
    dh becomes the total dh_t."""
    B, H = dh.shape
    one = dh.dtype.type(1.0)
    for b in numba.prange(B):
        r, z, nb, hp, ghn = s_rz[b, :H], s_rz[b, H:], n[b], h_prev[b], gh[b, 2 * H :]
        dhb, dob, dzb = dh[b], dh_out[b], dhz[b]
        dir_, diz, din = dgi[b, :H], dgi[b, H : 2 * H], dgi[b, 2 * H :]
        dhr, dhzb, dhn = dgh[b, :H], dgh[b, H : 2 * H], dgh[b, 2 * H :]
        _gates_row_backward(dhb, dob, dzb, z, nb, hp, din, diz)
        for j in range(H):
            dir_[j] = din[j] * ghn[j] * r[j] * (one - r[j])
        for j in range(H):
            dhr[j] = dir_[j]
        for j in range(H):
            dhzb[j] = diz[j]
        for j in range(H):
            dhn[j] = din[j] * r[j]


#: Hidden sizes up to this take :func:`_step_backward_rows` for the BPTT step, larger ones
#: :func:`_step_backward`. One thread, float32, best of 200 calls (the kernel module's
#: benchmark, 2026-12-03): B 128 H 32 10.2 against 25.7 us, B 64 H 20 3.7 against 10.7,
#: B 256 H 64 40.9 against 52.6, B 64 H 64 10.6 against 11.5, but B 64 H 128 27.8 against 18.7.
ROWS_MAX_H = 64


@rows_kernel
def _step_backward_rows(dh_out, dh, s_rz, n, h_prev, gh, dgi, dgh, dhz):  # pragma: no cover
    """:func:`_step_backward`'s arithmetic in one loop over each row's H entries, indexing
    the arrays directly: for small H, the eight short loops over row views cost more than
    the arithmetic."""
    B, H = dh.shape
    one = dh.dtype.type(1.0)
    for b in numba.prange(B):
        for j in range(H):
            r, z, nj = s_rz[b, j], s_rz[b, H + j], n[b, j]
            d = dh[b, j] + dh_out[b, j] + dhz[b, j]  # the total dh_t
            da_n = d * (one - z) * (one - nj * nj)
            da_z = d * (h_prev[b, j] - nj) * z * (one - z)
            da_r = da_n * gh[b, 2 * H + j] * r * (one - r)
            dh[b, j], dhz[b, j] = d, d * z
            dgi[b, j], dgi[b, H + j], dgi[b, 2 * H + j] = da_r, da_z, da_n
            dgh[b, j], dgh[b, H + j], dgh[b, 2 * H + j] = da_r, da_z, da_n * r


_step_forward_one = _step_forward[0]  # one thread
_step_backward_one, _step_backward_rows_one = _step_backward[0], _step_backward_rows[0]


@numba.njit(**JIT)
def _forward_loop(A_rz, A_n, GH, b_hn, W_hhT, S_rz, S_n, Hs):  # pragma: no cover - compiled
    """The forward time loop in one compiled call (small steps, ``jit.whole_loop``): per
    step gh = h_{t-1} W_hh^T, then :func:`_step_forward` on one thread."""
    for t in range(A_rz.shape[0]):
        np.dot(Hs[t], W_hhT, GH[t])
        _step_forward_one(A_rz[t], A_n[t], GH[t], b_hn, S_rz[t], S_n[t], Hs[t], Hs[t + 1])


@numba.njit(**JIT)
def _backward_loop(dH, dh, dhz, S_rz, S_n, Hs, GH, dGI, dGH, W_hh, last, dfinal,
                   rows):  # pragma: no cover - compiled
    """The backward time loop in one compiled call: per step the final state's gradient
    where a row ends, the BPTT step on one thread (:func:`_step_backward_rows` with ``rows``,
    else :func:`_step_backward`) and dh = dgh W_hh."""
    for t in range(dH.shape[0] - 1, -1, -1):
        add_final_grads(t, last, dfinal, dh)
        if rows:
            _step_backward_rows_one(dH[t], dh, S_rz[t], S_n[t], Hs[t], GH[t], dGI[t], dGH[t],
                                    dhz)
        else:
            _step_backward_one(dH[t], dh, S_rz[t], S_n[t], Hs[t], GH[t], dGI[t], dGH[t], dhz)
        np.dot(dGH[t], W_hh, dh)


class GRUKernel(Kernel):
    """GRU over T steps, the reference's maths in compiled passes.

    ``GRUKernel(input_size, hidden_size, *, dtype="float32")``; see the module docstring and
    :class:`~rnnkit.nn.fastpath.kernel.Kernel` for the interface.
    """

    gates = 3

    def _forward_tm(self, X: np.ndarray, s0: tuple[np.ndarray, ...]):
        T, B, D = X.shape
        H = self.hidden_size
        W_ih, W_hh, b_ih, b_hh = self.params
        fn = torch.from_numpy
        X2 = fn(X.reshape(T * B, D))
        Arz = self._buf("Arz", (T, B, 2 * H))  # W_ih x + b_ih + b_hh, blocks r, z
        torch.addmm(fn(b_ih[: 2 * H] + b_hh[: 2 * H]), X2, fn(W_ih[: 2 * H]).t(),
                    out=fn(Arz).view(T * B, 2 * H))
        An = self._buf("An", (T, B, H))  # 2 (W_ih x + b_ih), block n
        torch.addmm(fn(2 * b_ih[2 * H :]), X2, fn(W_ih[2 * H :]).t(), alpha=2,
                    out=fn(An).view(T * B, H))
        self._buf("GH", (T, B, 3 * H))  # W_hh h_{t-1} + b_hh (bias in the n block only)
        self._buf("Srz", (T, B, 2 * H))  # gate values r, z
        self._buf("Sn", (T, B, H))  # sigmoid(2 a_n), then n
        Hs = self._buf("Hs", (T + 1, B, H))  # Hs[t] = h_t, Hs[0] = h0
        Hs[0] = s0[0]
        b_hn = b_hh[2 * H :]
        if self.whole_loop:
            _forward_loop(Arz, An, self._buffers["GH"], b_hn, np.ascontiguousarray(W_hh.T),
                          self._buffers["Srz"], self._buffers["Sn"], Hs)
            return (Hs,)

        # per-step views (lists, made once per buffer): hs[t] is Hs[t]
        hs, gh, arz, an, srz, sn = map(self._steps, ("Hs", "GH", "Arz", "An", "Srz", "Sn"))
        recurrent = StepProduct(W_hh.T, B)  # h (B, H) @ W_hh^T (H, 3H)
        step = _step_forward[parallel_rows(B, 3 * H)]  # one thread, or the rows split
        for t in range(T):
            recurrent(hs[t], gh[t])
            step(arz[t], an[t], gh[t], b_hn, srz[t], sn[t], hs[t], hs[t + 1])
        return (Hs,)

    def _backward_tm(self, dH: np.ndarray, dfinal):
        X = self._cache["X"]
        T, B, H = dH.shape
        W_ih, W_hh = self.params[0], self.params[1]
        dGI = self._buf("dGI", (T, B, 3 * H))  # gradient w.r.t. gi
        dGH = self._buf("dGH", (T, B, 3 * H))  # ... w.r.t. gh
        dhz = self._buf("dhz", (B, H))  # dh_t z, added to dh_{t-1} in the next step
        dhz[...] = 0
        dh = np.zeros((B, H), self.dtype)
        ends = self.step_ends
        if self.whole_loop:
            _backward_loop(dH, dh, dhz, *map(self._buffers.get, ("Srz", "Sn", "Hs", "GH")), dGI,
                           dGH, W_hh, ends.last, *self._final_grads(dfinal),
                           H <= ROWS_MAX_H)
        else:
            hs, gh, srz, sn, dgi, dgh = map(self._steps, ("Hs", "GH", "Srz", "Sn", "dGI", "dGH"))
            recurrent = StepProduct(W_hh, B)  # dgh (B, 3H) @ W_hh (3H, H)
            passes = _step_backward_rows if H <= ROWS_MAX_H else _step_backward
            step_backward = passes[parallel_rows(B, 3 * H)]
            for t in range(T - 1, -1, -1):
                ends.inject(t, dfinal, (dh,))  # the final state's gradient
                step_backward(dH[t], dh, srz[t], sn[t], hs[t], gh[t], dgi[t], dgh[t], dhz)
                recurrent(dgh[t], dh)  # dgh W_hh; dh z is added next step
        dh += dhz  # dh_0
        Hs = self._buffers["Hs"]
        dX = input_and_weight_grads(dGI, X, Hs[:-1], W_ih, self.grads, dGH)  # (T, B, D)
        return dX, (dh,)
