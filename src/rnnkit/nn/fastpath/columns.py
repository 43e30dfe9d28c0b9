r"""The layer-normalised kernels' compiled whole loops in the batch-in-columns layout.

The step loops of the kernels keep a step's arrays as (B, width): rows are batch entries,
and a layer norm runs along a row, one gate block of H entries at a time. At small H that is
slow: each block's sums are short loops with a scalar remainder and a horizontal sum (an
LN-LSTM forward step at (64, 20) took 22 us, best of 5,000 calls). The compiled whole loops
of the LN kernels (``jit.whole_loop``, small steps) keep every per-step array as (width, B)
instead, the batch along the columns: a block's sums run over its H rows, each row adding B
contiguous values into B accumulators, and every element-wise pass is one loop over B * H
contiguous values, which LLVM vectorises whole. The same forward step took 4.5 us (scratch
run, same machine and minute). Gate blocks are then contiguous row ranges: ``a[k*H:(k+1)*H]``
is a C-contiguous (H, B) block that flattens without a copy.

Layer norm of G gate blocks per column b (the reference's :mod:`rnnkit.ref.layernorm`)::

    n_k = (a_k - mean a_k) r_k,  r_k = 1 / sqrt(var a_k + eps);  z_k = gamma_k n_k + beta_k
    da_k = r_k (dy_k gamma_k - mean(dy_k gamma_k) - n_k mean(dy_k gamma_k n_k))

with the means over the H rows of block k. Per step, a kernel's compiled loop computes the
recurrent product as W_hh h (4H, H) @ (H, B) with ``np.dot`` (SciPy's BLAS); the products
over all steps, before and after the loop, are torch's (:func:`project`,
:func:`input_and_weight_grads`).
"""

from __future__ import annotations

import numba
import numpy as np
import torch

from rnnkit.nn.fastpath.jit import JIT, sigmoid, weight_products
from rnnkit.ref.layernorm import LN_EPS


@numba.njit(**JIT)
def ln_columns(a, gamma, beta, n, r, z, squash, mean, var):  # pragma: no cover - compiled
    """Layer norm of each of the G = r.shape[0] blocks of a (G*H, B), per column.

    Writes n (G*H, B), r (G, B) and z = gamma n + beta, or sigmoid(gamma n + beta) with
    ``squash``; gamma, beta (G*H,); mean and var (B,) are scratch. n must not overlap a: LLVM
    then leaves the passes scalar (4x slower at (80, 64), best of 3,000 calls)."""
    G, B = r.shape
    H = a.shape[0] // G
    zero = a.dtype.type(0.0)
    one = a.dtype.type(1.0)
    inv_h = a.dtype.type(1.0 / H)
    eps = a.dtype.type(LN_EPS)
    for k in range(G):
        rows = range(k * H, (k + 1) * H)
        for b in range(B):
            mean[b] = zero
            var[b] = zero
        for j in rows:
            aj = a[j]
            for b in range(B):
                mean[b] += aj[b]
        for b in range(B):
            mean[b] *= inv_h
        for j in rows:
            aj = a[j]
            for b in range(B):
                d = aj[b] - mean[b]
                var[b] += d * d
        rk = r[k]
        for b in range(B):
            rk[b] = one / np.sqrt(var[b] * inv_h + eps)
        for j in rows:
            aj, nj, zj, g, be = a[j], n[j], z[j], gamma[j], beta[j]
            if squash:
                for b in range(B):
                    v = (aj[b] - mean[b]) * rk[b]
                    nj[b] = v
                    zj[b] = sigmoid(g * v + be)
            else:
                for b in range(B):
                    v = (aj[b] - mean[b]) * rk[b]
                    nj[b] = v
                    zj[b] = g * v + be


@numba.njit(**JIT)
def ln_columns_backward(dy, n, r, gamma, da, dgamma, dbeta, m1, m2):  # pragma: no cover
    """Backward of :func:`ln_columns`: dy (G*H, B), the gradient w.r.t. z; n (G*H, B), r (G, B),
    gamma (G*H,). Writes da (G*H, B), the gradient w.r.t. a; adds sum_b dy n to dgamma and
    sum_b dy to dbeta (G*H,). m1, m2 (B,) are scratch."""
    G, B = r.shape
    H = dy.shape[0] // G
    zero = dy.dtype.type(0.0)
    inv_h = dy.dtype.type(1.0 / H)
    for k in range(G):
        rows = range(k * H, (k + 1) * H)
        for b in range(B):
            m1[b] = zero
            m2[b] = zero
        for j in rows:
            dyj, nj, g = dy[j], n[j], gamma[j]
            for b in range(B):
                m1[b] += dyj[b] * g
                m2[b] += dyj[b] * g * nj[b]
        for b in range(B):
            m1[b] *= inv_h
            m2[b] *= inv_h
        rk = r[k]
        for j in rows:
            dyj, nj, daj, g = dy[j], n[j], da[j], gamma[j]
            for b in range(B):
                daj[b] = rk[b] * (dyj[b] * g - m1[b] - nj[b] * m2[b])
    for j in range(G * H):
        dyj, nj = dy[j], n[j]
        sg = zero
        sb = zero
        for b in range(B):
            sg += dyj[b] * nj[b]
            sb += dyj[b]
        dgamma[j] += sg
        dbeta[j] += sb


@numba.njit(**JIT)
def preactivation(W_hh, h, A_t, a):  # pragma: no cover - compiled
    """a (G*H, B) = W_hh (G*H, H) h (H, B) + A_t (G*H, B): a step's product and its input
    part (the add a flat loop: Numba's 2-D ``a += A_t`` measured 2.5 us a step slower)."""
    np.dot(W_hh, h, a)
    af, At = a.reshape(-1), A_t.reshape(-1)
    for k in range(af.shape[0]):
        af[k] += At[k]


@numba.njit(**JIT)
def add_final_grads(t, last, dfinal, carried):  # pragma: no cover - compiled
    """At the start of backward step t: carried (H, B) += dfinal (H, B) in the columns whose
    last step ``last`` (B,) is t."""
    for j in range(carried.shape[0]):
        for b in range(carried.shape[1]):
            if last[b] == t:
                carried[j, b] += dfinal[j, b]


def project(X: np.ndarray, W: np.ndarray, bias: np.ndarray, out: np.ndarray) -> None:
    """out (T, G, B) = W (G, D) x_t + bias (G,) for every step of X (T, B, D), in torch."""
    fn = torch.from_numpy
    torch.matmul(fn(W), fn(X).transpose(1, 2), out=fn(out))
    out += bias[:, None]


def input_and_weight_grads(dGI: np.ndarray, X: np.ndarray, H_prev: np.ndarray,
                           W_ih: np.ndarray, grads: list[np.ndarray],
                           dGH: np.ndarray | None = None) -> np.ndarray:
    """:func:`rnnkit.nn.fastpath.jit.input_and_weight_grads` for the columns layout: from dgi
    (T, G*H, B), dgh (T, G*H, B) (None: the same as dgi), x (T, B, D) and h_{t-1} (T, H, B),
    writes dW_ih = sum_t dgi_t x_t, dW_hh = sum_t dgh_t h_{t-1}^T, db_ih and db_hh into
    ``grads[:4]``; returns dx (T, B, D), dx_t = dgi_t^T W_ih.

    Each of dgi, dgh and h_{t-1} is first copied to (width, T*B), its steps side by side (rows
    of B values move whole): the sums over steps and columns are then single products. At
    (T, G*H, B, H) = (50, 80, 64, 20) the copies and products took 0.2-0.3 ms against about
    0.6 ms for batched products over the steps (scratch runs)."""
    T, _, B = dGI.shape
    fn = torch.from_numpy

    def side_by_side(a: np.ndarray) -> torch.Tensor:  # (T, W, B) -> (W, T*B)
        return fn(a).transpose(0, 1).reshape(a.shape[1], T * B)

    dgi = side_by_side(dGI)
    dgh = dgi if dGH is None else side_by_side(dGH)
    dX = weight_products(dgi.numpy(), dgh.numpy(), X.reshape(T * B, -1),
                         side_by_side(H_prev).numpy().T, W_ih, grads)
    torch.sum(dgi, 1, out=fn(grads[2]))  # db_ih
    torch.sum(dgh, 1, out=fn(grads[3]))  # db_hh
    return dX.reshape(T, B, -1)  # (T, B, D)
