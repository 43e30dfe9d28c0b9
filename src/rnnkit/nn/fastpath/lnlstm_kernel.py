r"""A faster NumPy LN-LSTM time layer: the reference equations with fewer, cheaper array calls.

:class:`FastTimeLNLSTM` is a drop-in :class:`rnnkit.ref.TimeLNLSTM` (same constructor, ``params``
in torch order ``[W_ih (4H, D), W_hh (4H, H), b_ih, b_hh, gamma, beta]``, same ``forward`` /
``backward`` / ``grads`` / ``dstate0``) whose time loops are rewritten for speed. The equations
are the reference's (see :mod:`rnnkit.ref.time_lstm`, eps = 1e-5)::

    a   = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh                  (B, 4H)
    n_k = (a_k - mean a_k) * rstd_k,  rstd_k = 1 / sqrt(var a_k + eps)   per gate block k
    y_k = gamma_k n_k + beta_k;  i, f, o = sigmoid(y_i, y_f, y_o);  g = tanh(y_g)
    c_t = f c_{t-1} + i g,  h_t = o tanh(c_t)

What makes it faster than the readable loop (measured at the benchmark shapes, see
benchmarks/layers.py):

- the rows of W_ih, W_hh and b_ih + b_hh are centred within each gate block (their mean row
  over the H units subtracted) once per call, so a = W_ih x + b + W_hh h comes out centred
  and LN's mean subtraction costs nothing in the loop; in backward, da keeps its block means
  (da W_hh and da W_ih with the centred weights drop them by themselves), and the weight and
  bias gradients are centred per gate block afterwards instead (small arrays: the block
  mean rows of da^T x are exactly what the block means of da add);
- gate blocks are reordered internally to (o, i, f, g) and sigmoid(y) = 0.5 tanh(y/2) + 0.5
  with the 1/2 folded into gamma and beta: one tanh and one affine call for all four gates
  (the g block then holds p = (1 + g) / 2, and i g = 2 i p - i);
- block means are matrix-vector products with a ones/H vector (NumPy's reductions over a
  short last axis cost 3-5x more); gamma and beta are expanded to (B, 4, H) once, so the
  loop's element-wise calls do not broadcast;
- per-step factors of the backward (activation derivatives times gamma, o (1 - tanh(c)^2),
  the multipliers of dc) are computed for all steps at once before the loop, with torch's
  element-wise ops (two threads; NumPy's run on one), as are dgamma and dbeta after it;
- in the loops, broadcast products (B, 4, H) * (B, 4, 1) go through torch from B*4H = 16384
  (NumPy's broadcasting is 2-3x slower there), and every (B, 4H) call from B*4H = 65536
  (two threads beat torch's higher call cost); smaller arrays stay in NumPy (about 1 us a
  call);
- small per-step products run in NumPy (one OpenBLAS thread, about 1 us per call); larger
  ones and the products over all steps go through torch (MKL, torch's own thread pool), so
  OpenBLAS never starts threads that would fight torch's for the cores;
- every call writes into buffers reused from call to call (``out=``): no allocation and no
  page faults in the loop.

Backward (per step, dh = dhs_t + dh_{t+1 -> t}, dc carried; D = activation derivative)::

    dc   += dh * o (1 - tanh(c_t)^2)
    dy    = [dh tanh(c_t), dc g, dc c_{t-1}, dc i] * D       (blocks o, i, f, g)
    dn    = dy * gamma
    da    = rstd * (dn - mean(dn) - n mean(dn n))            per block
    dh_{t-1} = da @ W_hh,   dc_{t-1} = dc * f
    (da is kept up to its block means: da @ centred W_hh equals da @ W_hh)

then, for all steps at once, dW_ih = da^T x, dW_hh = da^T h_prev, db = sum da (each then
centred per gate block), dx = da (centred W_ih), dgamma = sum dy * n, dbeta = sum dy.
"""

from __future__ import annotations

import numpy as np
import torch

from rnnkit.ref import TimeLNLSTM

#: internal gate-block order (o, i, f, g), as indices into torch's (i, f, g, o)
_ORDER = (3, 0, 1, 2)
LN_EPS = 1e-5
#: above this many elements NumPy's matrix-vector product may start OpenBLAS threads
_NUMPY_GEMV_MAX = 9216
#: ... and its matrix-matrix product (OpenBLAS' SMP threshold 65536 times its default 4)
_NUMPY_GEMM_MAX = 262144
#: from this many elements per (B, 4H) array, the loops' element-wise calls on the gate
#: arrays go through torch (two threads beat NumPy's one despite torch's higher call cost)
_TORCH_ELEMWISE_MIN = 65536
#: ... and from this many, the broadcast products (B, 4, H) * (B, 4, 1) do
_TORCH_BROADCAST_MIN = 16384


def _to_internal(w: np.ndarray, H: int) -> np.ndarray:
    """Rows of a (4H, ...) or (4H,) array from torch order (i, f, g, o) to (o, i, f, g)."""
    return np.concatenate([w[k * H : (k + 1) * H] for k in _ORDER], axis=0)


def _to_torch_order(w: np.ndarray, H: int, out: np.ndarray) -> None:
    """Inverse of :func:`_to_internal`, written into ``out``."""
    for j, k in enumerate(_ORDER):
        out[k * H : (k + 1) * H] = w[j * H : (j + 1) * H]


def _row_mean(n_rows: int, H: int, dtype: np.dtype):
    """``f(a2, out2)``: means of the rows of a (n_rows, H) array into (n_rows, 1), by a product
    with a ones/H vector; NumPy for small arrays (lower call cost), torch above that."""
    ones = np.full((H, 1), 1.0 / H, dtype)  # (H, 1)
    if n_rows * H <= _NUMPY_GEMV_MAX:
        matmul = np.matmul

        def mean_np(a2: np.ndarray, out2: np.ndarray) -> None:
            matmul(a2, ones, out2)

        return mean_np
    t_ones = torch.from_numpy(ones)
    mm, from_numpy = torch.mm, torch.from_numpy

    def mean_torch(a2: np.ndarray, out2: np.ndarray) -> None:
        mm(from_numpy(a2), t_ones, out=from_numpy(out2))

    return mean_torch


def _centre_blocks(w: np.ndarray, H: int) -> np.ndarray:
    """Subtract from each gate block of H rows of w (G*H, ...) or (G*H,) its mean row."""
    v = w.reshape(-1, H, *w.shape[1:])  # (G, H, ...)
    return (v - v.mean(axis=1, keepdims=True)).reshape(w.shape)


def small_product(m: int, k: int, n: int) -> bool:
    """Whether an (m, k) @ (k, n) product runs on one thread in NumPy (OpenBLAS). Small
    per-step products go there: torch would open a parallel region for them, and on a busy
    machine waiting for the second thread costs more than the product."""
    return m * k * n <= _NUMPY_GEMM_MAX


class FastTimeLNLSTM(TimeLNLSTM):
    """Layer-normalised LSTM over T steps, the reference's maths with faster loops.

    ``FastTimeLNLSTM(input_size, hidden_size, *, stateful=False, dtype="float32", seed=None)``;
    see the module docstring and :class:`rnnkit.ref.TimeLNLSTM` for the interface.
    """

    def _forward_tm(self, X: np.ndarray, s0: tuple[np.ndarray, ...]):
        T, B, D = X.shape
        H = self.hidden_size
        dt = self.dtype
        W_ih, W_hh, b_ih, b_hh, gamma, beta = self.params
        # weights and bias with every gate block's rows centred over its H units: then
        # a = W_ih x + b + W_hh h is already centred, and LN's mean subtraction is free
        Wih = _centre_blocks(_to_internal(W_ih, H), H)  # (4H, D), blocks o, i, f, g
        Whh = _centre_blocks(_to_internal(W_hh, H), H)  # (4H, H)
        bias = torch.from_numpy(_centre_blocks(_to_internal(b_ih + b_hh, H), H))  # (4H,)
        g = _to_internal(gamma, H).reshape(4, H)  # (4, H)
        gs = np.empty((B, 4, H), dt)  # gamma, full size: no broadcasting in the loop
        gs[...] = g
        gs[:, :3] *= 0.5  # sigmoid(y) = 0.5 tanh(y / 2) + 0.5
        bs = np.empty((B, 4, H), dt)
        bs[...] = _to_internal(beta, H).reshape(4, H)
        bs[:, :3] *= 0.5

        A = self._buf("A", (T, B, 4 * H))  # W_ih x + b for all steps
        torch.addmm(
            bias,
            torch.from_numpy(X.reshape(T * B, D)),
            torch.from_numpy(Wih).t(),
            out=torch.from_numpy(A).view(T * B, 4 * H),
        )
        Hs = self._buf("Hs", (T + 1, B, H))  # Hs[t] = h_t, Hs[0] = h0
        Cs = self._buf("Cs", (T + 1, B, H))  # Cs[t] = c_t
        N = self._buf("N", (T, B, 4, H))  # normalised pre-activations n
        R = self._buf("R", (T, B, 4, 1))  # rstd per gate block
        Y = self._buf("Y", (T, B, 4, H))  # gate values o, i, f, g
        TC = self._buf("TC", (T, B, H))  # tanh(c_t)
        a = self._buf("a", (B, 4 * H))  # (B, 4H)
        sq = self._buf("sq", (B, 4, H))
        ig = self._buf("ig", (B, H))
        Hs[0] = s0[0]
        Cs[0] = s0[1]

        a3, sq2 = a.reshape(B, 4, H), sq.reshape(B * 4, H)
        row_mean = _row_mean(B * 4, H, dt)
        tA, tHs, ta = torch.from_numpy(A), torch.from_numpy(Hs), torch.from_numpy(a)
        tWhhT = torch.from_numpy(Whh).t()  # (H, 4H)
        WhhT = Whh.T  # (H, 4H)
        addmm, matmul = torch.addmm, np.matmul
        small = small_product(B, H, 4 * H)
        big = B * 4 * H >= _TORCH_ELEMWISE_MIN
        bcast = B * 4 * H >= _TORCH_BROADCAST_MIN
        fn = torch.from_numpy
        ta3, tsq = fn(a3), fn(sq)
        # per-step torch views, made once (indexing a tensor costs about 1 us)
        tNs = tRs = tYs = ()
        if bcast:
            tNs, tRs, tYs = fn(N).unbind(0), fn(R).unbind(0), fn(Y).unbind(0)
        tgs, tbs = fn(gs), fn(bs)
        mul, add, sub, tanh, sqrt, recip = (
            np.multiply,
            np.add,
            np.subtract,
            np.tanh,
            np.sqrt,
            np.reciprocal,
        )
        for t in range(T):
            if small:
                matmul(Hs[t], WhhT, a)
                add(a, A[t], a)  # a = A_t + h W_hh^T  (B, 4H)
            else:
                addmm(tA[t], tHs[t], tWhhT, out=ta)
            if big:
                torch.mul(ta3, ta3, out=tsq)
            else:
                mul(a3, a3, sq)  # a3 is centred (B, 4, H)
            r = R[t]  # (B, 4, 1)
            row_mean(sq2, r.reshape(B * 4, 1))
            add(r, LN_EPS, r)
            sqrt(r, r)
            recip(r, r)
            n, y = N[t], Y[t]  # (B, 4, H)
            if bcast:  # n = a r, a broadcast product
                torch.mul(ta3, tRs[t], out=tNs[t])
            else:
                mul(a3, r, n)
            if big:
                ty = tYs[t]
                torch.addcmul(tbs, tNs[t], tgs, out=ty)
                tanh(y, y)
                ty.mul_(0.5).add_(0.5)
            else:
                mul(n, gs, y)
                add(y, bs, y)
                tanh(y, y)
                # 0.5 t + 0.5 on all four blocks (one contiguous call each): o, i, f become
                # the sigmoids, and the g block holds p = (1 + g) / 2, so i g = 2 i p - i
                mul(y, 0.5, y)
                add(y, 0.5, y)
            c = Cs[t + 1]
            mul(y[:, 2], Cs[t], c)  # f c_{t-1}
            i = y[:, 1]
            mul(i, y[:, 3], ig)  # i p
            add(c, ig, c)
            add(c, ig, c)
            sub(c, i, c)  # c = f c_{t-1} + i g
            tanh(c, TC[t])
            mul(y[:, 0], TC[t], Hs[t + 1])  # h = o tanh(c)
        self._cache["X"] = X
        self._cache["internal"] = (Wih, Whh, g)
        self._cache["g_is_tanh"] = False
        return Hs[1:], (Hs[T], Cs[T])

    def _backward_tm(self, dH: np.ndarray, dfinal):
        X = self._cache["X"]
        Wih, Whh, g = self._cache["internal"]
        T, B, H = dH.shape
        D = X.shape[2]
        dt = self.dtype
        Hs, Cs, N, R, Y, TC = (self._buffers[k] for k in ("Hs", "Cs", "N", "R", "Y", "TC"))
        Yg = Y[:, :, 3]
        # element-wise work over all steps in torch (its thread pool; NumPy runs one thread)
        fn = torch.from_numpy
        tY, tYg = fn(Y), fn(Yg)  # (T, B, 4, H), (T, B, H)
        if not self._cache["g_is_tanh"]:  # p = (1 + g) / 2 -> g, once per forward
            torch.mul(tYg, 2, out=tYg)
            torch.sub(tYg, 1, out=tYg)
            self._cache["g_is_tanh"] = True
        # activation derivatives for all steps at once: s (1 - s) for o, i, f; 1 - g^2 for g
        Dv = self._buf("Dv", (T, B, 4, H))
        tDv = fn(Dv)
        torch.mul(tY, tY, out=tDv)
        torch.sub(tY, tDv, out=tDv)
        tDg = tDv[:, :, 3]
        torch.mul(tYg, tYg, out=tDg)
        torch.neg(tDg, out=tDg).add_(1.0)
        DvG = self._buf("DvG", (T, B, 4, H))  # D * gamma: dL/d(gate) -> dL/dn
        torch.mul(tDv, fn(g), out=fn(DvG))
        K = self._buf("K", (T, B, H))  # o (1 - tanh(c)^2): dh -> dc
        tK, tTC = fn(K), fn(TC)
        torch.mul(tTC, tTC, out=tK)
        torch.neg(tK, out=tK).add_(1.0)
        tK.mul_(tY[:, :, 0])
        M = self._buf("M", (T, B, 3, H))  # dc -> gate gradients of i, f, g: g, c_{t-1}, i
        tM = fn(M)
        tM[:, :, 0] = tYg
        tM[:, :, 1] = fn(Cs[:-1])
        tM[:, :, 2] = tY[:, :, 1]

        dG = self._buf("dG", (T, B, 4, H))  # gradient w.r.t. the gate values o, i, f, g
        dA = self._buf("dA", (T, B, 4 * H))  # gradient w.r.t. the pre-activations a
        dh = np.zeros((B, H), dt) if dfinal is None else dfinal[0].copy()
        dc = np.zeros((B, H), dt) if dfinal is None else dfinal[1].copy()
        dn = self._buf("dn", (B, 4, H))
        tmp = self._buf("tmp4", (B, 4, H))
        tmpH = self._buf("tmpH", (B, H))
        m2 = self._buf("m2", (B, 4, 1))
        tmp2, m22 = tmp.reshape(B * 4, H), m2.reshape(B * 4, 1)
        dc3 = dc.reshape(B, 1, H)
        row_mean = _row_mean(B * 4, H, dt)
        tdA, tdh, tWhh = torch.from_numpy(dA), torch.from_numpy(dh), torch.from_numpy(Whh)
        mm, matmul = torch.mm, np.matmul
        small = small_product(B, 4 * H, H)
        mul, add = np.multiply, np.add
        big = B * 4 * H >= _TORCH_ELEMWISE_MIN
        bcast = B * 4 * H >= _TORCH_BROADCAST_MIN
        tDvG = tNs = tRs = tdAs = tdGs = ()
        if bcast:
            tDvG, tNs, tRs = fn(DvG).unbind(0), fn(N).unbind(0), fn(R).unbind(0)
            tdAs, tdGs = fn(dA.reshape(T, B, 4, H)).unbind(0), fn(dG).unbind(0)
        tdn, ttmp, tm2 = fn(dn), fn(tmp), fn(m2)
        for t in range(T - 1, -1, -1):
            add(dh, dH[t], dh)
            mul(dh, K[t], tmpH)
            add(dc, tmpH, dc)
            dg = dG[t]  # (B, 4, H)
            mul(dh, TC[t], dg[:, 0])  # o
            mul(dc3, M[t], dg[:, 1:])  # i, f, g
            # da up to its block means, rstd (dn - n mean(dn n)); the centred W_hh drops them
            if big:
                torch.mul(tdGs[t], tDvG[t], out=tdn)  # dn = dg * D * gamma
                torch.mul(tdn, tNs[t], out=ttmp)
            else:
                mul(dg, DvG[t], dn)  # dn = dg * D * gamma
                mul(dn, N[t], tmp)
            row_mean(tmp2, m22)
            if bcast:  # the broadcast products in torch
                torch.addcmul(tdn, tNs[t], tm2, value=-1, out=tdn)
                torch.mul(tdn, tRs[t], out=tdAs[t])
            else:
                mul(N[t], m2, tmp)
                np.subtract(dn, tmp, dn)
                mul(dn, R[t], dA[t].reshape(B, 4, H))
            if small:
                matmul(dA[t], Whh, dh)  # dh_{t-1} = da W_hh
            else:
                mm(tdA[t], tWhh, out=tdh)
            mul(dc, Y[t][:, 2], dc)  # dc_{t-1} = dc f
        # dA holds da up to its block means; they need not be removed: the block-centred
        # W_ih gives dx = da W_ih either way, and dW_ih, dW_hh, db only lose their block mean
        # rows (mean over the H rows of each gate block), which centring restores
        GH = 4 * H
        tda = tdA.view(T * B, GH)  # (T*B, 4H)
        tdy = fn(dG.reshape(T * B, GH))
        torch.mul(tdy, fn(Dv.reshape(T * B, GH)), out=tdy)  # gradient w.r.t. the LN outputs y
        dbeta = tdy.sum(0).numpy()
        torch.mul(tdy, fn(N.reshape(T * B, GH)), out=tdy)
        dgamma = tdy.sum(0).numpy()
        dWih = _centre_blocks(torch.mm(tda.t(), fn(X.reshape(T * B, D))).numpy(), H)  # (4H, D)
        dWhh = _centre_blocks(torch.mm(tda.t(), fn(Hs[:-1].reshape(T * B, H))).numpy(), H)
        db = _centre_blocks(tda.sum(0).numpy(), H)  # (4H,)
        for k, v in enumerate((dWih, dWhh, db, db, dgamma, dbeta)):
            _to_torch_order(v, H, self.grads[k])
        dX = torch.mm(tda, fn(Wih)).numpy().reshape(T, B, D)  # (T, B, D)
        return dX, (dh, dc)
