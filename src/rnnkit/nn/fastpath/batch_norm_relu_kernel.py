r"""Compiled passes of :func:`~rnnkit.nn.fastpath.norm_relu.batch_norm_relu`: a batch norm of
each channel over the VALID steps of a padded batch (optionally batch-renormalised), a ReLU
and the padding mask, channels first, then a max pool by p (the passes of
:mod:`~rnnkit.nn.fastpath.norm_relu_kernel`).

Row b of y (B, C, T) has L_b valid steps, n = sum_b L_b entries per channel. Forward, for t <
L_b (sums over the valid (b, t); r_c = 1, d_c = 0 without renormalisation)::

    mean_c = sum y_bct / n,   var_c = sum (y_bct - mean_c)^2 / n,   s_c = sqrt(var_c + eps)
    xhat_bct = (y_bct - mean_c) / s_c
    z_bct = max(0, w_c (r_c xhat_bct + d_c) + b_c) = max(0, a_c y_bct + k_c)    z = 0 padded
    a_c = w_c r_c / s_c,   k_c = b_c + w_c (d_c - r_c mean_c / s_c)

and backward (r and d constants), with g_bct = dz_bct [z_bct > 0] (zero on padded steps)::

    A_c = sum g_bct,   S_c = sum g_bct xhat_bct
    db_c = A_c,   dw_c = r_c S_c + d_c A_c
    dy_bct = (w_c r_c / s_c) (g_bct - A_c / n - xhat_bct S_c / n)

(batch norm's backward for the upstream gradient w_c r_c g on xhat). The per-channel sums are
taken per row, each row's in its own entry, and summed over the rows afterwards, so that no
row writes what another reads; a row's sums accumulate in float64. Every step loop reads
contiguous memory.
"""

from __future__ import annotations

import numba
import numpy as np

from rnnkit.nn.fastpath.jit import parallel_rows, rows_kernel
from rnnkit.nn.fastpath.norm_relu_kernel import max_pool, max_unpool


def _sums(y, lengths, mean, square, out):  # pragma: no cover - compiled
    """out[b, c] = sum_{t < L_b} v_bct, v = y_bct - mean_c, or v^2 with ``square``."""
    B, C, _ = y.shape
    for i in numba.prange(B):
        L = lengths[i]
        for c in range(C):
            row, m = y[i, c], mean[c]
            acc = 0.0
            for t in range(L):
                v = row[t] - m
                acc += v * v if square else v
            out[i, c] = acc


def _affine_relu(y, a, k, lengths, z):  # pragma: no cover - compiled
    B, C, T = y.shape
    for i in numba.prange(B):
        L = lengths[i]
        for c in range(C):
            row, out, ac, kc = y[i, c], z[i, c], a[c], k[c]
            for t in range(L):
                v = row[t] * ac + kc
                out[t] = v if v > 0.0 else 0.0
            for t in range(L, T):
                out[t] = 0.0


def _gate_sums(dz, y, z, lengths, mean, rstd, a_rows, s_rows):  # pragma: no cover - compiled
    B, C, _ = y.shape
    for i in numba.prange(B):
        L = lengths[i]
        for c in range(C):
            row, g, out, m, r = y[i, c], dz[i, c], z[i, c], mean[c], rstd[c]
            sa = 0.0
            ss = 0.0
            for t in range(L):
                if out[t] > 0.0:
                    sa += g[t]
                    ss += g[t] * (row[t] - m) * r
            a_rows[i, c] = sa
            s_rows[i, c] = ss


def _input_grad(dz, y, z, lengths, mean, rstd, coef, a_n, s_n, dy):  # pragma: no cover
    B, C, T = y.shape
    for i in numba.prange(B):
        L = lengths[i]
        for c in range(C):
            row, g, out, dst = y[i, c], dz[i, c], z[i, c], dy[i, c]
            m, r, f, an, sn = mean[c], rstd[c], coef[c], a_n[c], s_n[c]
            for t in range(L):
                gt = g[t] if out[t] > 0.0 else 0.0
                dst[t] = f * (gt - an - (row[t] - m) * r * sn)
            for t in range(L, T):
                dst[t] = 0.0


_SUMS = rows_kernel(_sums)
_AFFINE_RELU = rows_kernel(_affine_relu)
_GATE_SUMS = rows_kernel(_gate_sums)
_INPUT_GRAD = rows_kernel(_input_grad)
#: allocates the passes' outputs, each entry of which they write
_empty = np.empty


def statistics(y: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean, biased var) (C,) float64 of y (B, C, T) C-contiguous over each row's first
    ``lengths`` (B,) int64 steps; two passes (the second centred, as torch's batch norm is
    exact for large means)."""
    B, C, T = y.shape
    threads = parallel_rows(B, C * T)
    n = max(int(lengths.sum()), 1)
    rows = _empty((B, C), np.float64)
    _SUMS[threads](y, lengths, np.zeros(C, y.dtype), False, rows)
    mean = rows.sum(0) / n
    _SUMS[threads](y, lengths, mean.astype(y.dtype), True, rows)
    return mean, rows.sum(0) / n


def forward(y: np.ndarray, a: np.ndarray, k: np.ndarray, lengths: np.ndarray,
            pool: int = 1) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """``(out, arg, z)``: z = max(0, a_c y + k_c) on the valid steps, 0 on the padded ones,
    and out = z max-pooled by ``pool`` with its argmax offsets ``arg`` (None when ``pool``
    is 1, out then z itself); a and k (C,) of y's dtype."""
    B, C, T = y.shape
    z = _empty(y.shape, y.dtype)
    _AFFINE_RELU[parallel_rows(B, C * T)](y, a, k, lengths, z)
    out, arg = max_pool(z, pool)
    return out, arg, z


def backward(dout: np.ndarray, arg: np.ndarray | None, y: np.ndarray, z: np.ndarray,
             lengths: np.ndarray, mean: np.ndarray, std: np.ndarray, w: np.ndarray,
             r: np.ndarray, d: np.ndarray, pool: int = 1
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """dy (B, C, T), dw (C,), db (C,) of the module doc for the gradient ``dout`` of
    :func:`forward`'s out (C-contiguous); mean, std = s, w, r, d (C,) float64."""
    B, C, T = y.shape
    threads = parallel_rows(B, C * T)
    n = max(int(lengths.sum()), 1)
    dz = max_unpool(dout, arg, pool, T)
    mean_, rstd_ = mean.astype(y.dtype), (1.0 / std).astype(y.dtype)
    a_rows, s_rows = _empty((B, C), np.float64), _empty((B, C), np.float64)
    _GATE_SUMS[threads](dz, y, z, lengths, mean_, rstd_, a_rows, s_rows)
    A, S = a_rows.sum(0), s_rows.sum(0)
    coef = (w * r / std).astype(y.dtype)
    dy = _empty(y.shape, y.dtype)
    _INPUT_GRAD[threads](dz, y, z, lengths, mean_, rstd_, coef, (A / n).astype(y.dtype),
                         (S / n).astype(y.dtype), dy)
    return dy, (r * S + d * A).astype(y.dtype), A.astype(y.dtype)
