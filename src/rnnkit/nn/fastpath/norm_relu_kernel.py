r"""Compiled passes of :func:`~rnnkit.nn.fastpath.norm_relu.layer_norm_relu`: a layer norm
over the C channels of each step, a ReLU and the padding mask, channels first, in one pass
over memory each way; then a max pool by p in one more (windows of p steps, ceil mode; the
pool's gradient goes to each window's first largest step, as torch's max pooling sends it).

Row b of y (B, C, T) has L_b valid steps; for t < L_b (m: mean, r: reciprocal deviation, both
(B, T))::

    m_t = sum_c y_ct / C,   r_t = 1 / sqrt(sum_c (y_ct - m_t)^2 / C + eps)
    n_ct = (y_ct - m_t) r_t,   z_ct = max(0, w_c n_ct + b_c)            z_ct = 0 for t >= L_b

and backward, with g_ct = dz_ct [z_ct > 0] (zero on padded steps, where z is 0)::

    dw_c = sum_{b,t} g_ct n_ct,   db_c = sum_{b,t} g_ct
    dy_ct = r_t (w_c g_ct - a_t / C - n_ct s_t / C)
    a_t = sum_c w_c g_ct,   s_t = sum_c w_c g_ct n_ct

(the layer norm's backward of :mod:`~rnnkit.nn.fastpath.jit`, with the ReLU's gate folded
in). Each pass loops over a row's channels with the steps innermost, so every inner loop reads
contiguous memory, and keeps its sums over channels in per-step arrays: LLVM vectorises the
step loop. The rows run on :func:`~rnnkit.nn.fastpath.jit.rows_kernel`'s two variants; dw and
db are summed per row and over the rows afterwards, so no row writes what another reads.
The padded steps are zeroed by explicit loops: a slice assignment there (``out[L:] = 0``)
left entries unwritten in the threaded variant (Numba 0.68.1; the tests start the outputs as
NaN to catch it).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from rnnkit.nn.fastpath.jit import parallel_rows, rows_kernel


def _forward(y, w, b, lengths, eps, z, mean, rstd):  # pragma: no cover - compiled
    B, C, T = y.shape
    for i in numba.prange(B):
        L = lengths[i]
        m, r = mean[i], rstd[i]
        for t in range(T):
            m[t] = 0.0
            r[t] = 0.0
        for c in range(C):
            row = y[i, c]
            for t in range(L):
                m[t] += row[t]
        for t in range(L):
            m[t] /= C
        for c in range(C):
            row = y[i, c]
            for t in range(L):
                d = row[t] - m[t]
                r[t] += d * d
        for t in range(L):
            r[t] = 1.0 / math.sqrt(r[t] / C + eps)
        for c in range(C):
            row, out, wc, bc = y[i, c], z[i, c], w[c], b[c]
            for t in range(L):
                v = (row[t] - m[t]) * r[t] * wc + bc
                out[t] = v if v > 0.0 else 0.0
            for t in range(L, T):
                out[t] = 0.0


def _backward(dz, y, z, w, lengths, mean, rstd, dy, dw_rows, db_rows):  # pragma: no cover
    B, C, T = y.shape
    for i in numba.prange(B):
        L = lengths[i]
        m, r = mean[i], rstd[i]
        a = np.zeros(T, y.dtype)  # sum_c w_c g_ct
        s = np.zeros(T, y.dtype)  # sum_c w_c g_ct n_ct
        for c in range(C):
            row, g, out, wc = y[i, c], dz[i, c], z[i, c], w[c]
            sw = 0.0
            sb = 0.0
            for t in range(L):
                gt = g[t] if out[t] > 0.0 else 0.0
                n = (row[t] - m[t]) * r[t]
                a[t] += wc * gt
                s[t] += wc * gt * n
                sw += gt * n
                sb += gt
            dw_rows[i, c] = sw
            db_rows[i, c] = sb
        for c in range(C):
            row, g, out, wc, dst = y[i, c], dz[i, c], z[i, c], w[c], dy[i, c]
            for t in range(L):
                gt = g[t] if out[t] > 0.0 else 0.0
                n = (row[t] - m[t]) * r[t]
                dst[t] = r[t] * (wc * gt - (a[t] + n * s[t]) / C)
            for t in range(L, T):
                dst[t] = 0.0


def _max_pool(z, p, out, arg):  # pragma: no cover - compiled
    """out[:, :, j] = max of z over steps j p ... min((j + 1) p, T) - 1, and arg the offset
    of its first largest step in the window (measured at (54, 64, 1,344), p = 4: 2.6-5.0 ms;
    loops over the windows for each offset, vectorised, took 1.4 ms for out alone but 10 ms
    with arg; torch's max pool with indices 0.6-1.5 ms forward, 12-16 ms forward and
    backward; scratch runs, 2026-12-05)."""
    B, C, T = z.shape
    n = out.shape[2]
    for i in numba.prange(B):
        for c in range(C):
            row, dst, at = z[i, c], out[i, c], arg[i, c]
            for j in range(n):
                s = j * p
                best, first = row[s], 0
                for k in range(1, min(p, T - s)):
                    if row[s + k] > best:
                        best, first = row[s + k], k
                dst[j], at[j] = best, first


def _max_unpool(dout, arg, p, dz):  # pragma: no cover - compiled
    """dz: each window's gradient at its step ``arg``, 0 elsewhere."""
    B, C, T = dz.shape
    n = dout.shape[2]
    for i in numba.prange(B):
        for c in range(C):
            g, at, dst = dout[i, c], arg[i, c], dz[i, c]
            for t in range(T):
                dst[t] = 0.0
            for j in range(n):
                dst[j * p + at[j]] = g[j]


_FORWARD = rows_kernel(_forward)
_BACKWARD = rows_kernel(_backward)
_MAX_POOL = rows_kernel(_max_pool)
_MAX_UNPOOL = rows_kernel(_max_unpool)
#: allocates the passes' outputs, each entry of which they write
_empty = np.empty


def forward(y: np.ndarray, w: np.ndarray, b: np.ndarray, lengths: np.ndarray, eps: float,
            pool: int = 1) -> tuple[np.ndarray, ...]:
    """out (B, C, ceil(T / pool)), arg (its argmax offsets, int32, or None), z (B, C, T),
    mean (B, T), rstd (B, T) of the module doc; y C-contiguous (B, C, T), w and b (C,) of
    y's dtype, lengths (B,) int64 in [0, T]; out is z max-pooled by ``pool`` (1 <= pool <= T;
    windows of ``pool`` steps, the last one shorter when ``pool`` does not divide T), z
    itself when ``pool`` is 1."""
    B, C, T = y.shape
    z = _empty(y.shape, y.dtype)
    mean, rstd = _empty((B, T), y.dtype), _empty((B, T), y.dtype)
    _FORWARD[parallel_rows(B, C * T)](y, w, b, lengths, y.dtype.type(eps), z, mean, rstd)
    out, arg = max_pool(z, pool)
    return out, arg, z, mean, rstd


def max_pool(z: np.ndarray, pool: int) -> tuple[np.ndarray, np.ndarray | None]:
    """``(out, arg)``: z (B, C, T) max-pooled by ``pool`` (windows of ``pool`` steps, the
    last one shorter when ``pool`` does not divide T) and each window's argmax offset (int32);
    ``(z, None)`` when ``pool`` is 1."""
    if pool == 1:
        return z, None
    B, C, T = z.shape
    out = _empty((B, C, -(-T // pool)), z.dtype)
    arg = _empty(out.shape, np.int32)
    _MAX_POOL[parallel_rows(B, C * T)](z, pool, out, arg)
    return out, arg


def max_unpool(dout: np.ndarray, arg: np.ndarray | None, pool: int, T: int) -> np.ndarray:
    """The gradient (B, C, T) of :func:`max_pool`'s z for the gradient ``dout`` of its out:
    each window's at its first largest step, as torch's max pooling sends it."""
    if pool == 1:
        return dout
    B, C, _ = dout.shape
    dz = _empty((B, C, T), dout.dtype)
    _MAX_UNPOOL[parallel_rows(B, C * T)](dout, arg, pool, dz)
    return dz


def backward(dout: np.ndarray, arg: np.ndarray | None, y: np.ndarray, z: np.ndarray,
             w: np.ndarray, lengths: np.ndarray, mean: np.ndarray, rstd: np.ndarray,
             pool: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """dy (B, C, T), dw (C,), db (C,) of the module doc for the upstream gradient dout of
    :func:`forward`'s out (C-contiguous), and what :func:`forward` took and returned. A
    window's gradient reaches its first largest step, as torch's max pooling does."""
    B, C, T = y.shape
    dz = max_unpool(dout, arg, pool, T)
    dy = _empty(y.shape, y.dtype)
    dw_rows, db_rows = _empty((B, C), y.dtype), _empty((B, C), y.dtype)
    _BACKWARD[parallel_rows(B, C * T)](dz, y, z, w, lengths, mean, rstd, dy, dw_rows, db_rows)
    return dy, dw_rows.sum(0), db_rows.sum(0)
