r"""What the compiled fast-path kernels share: Numba options, layer norm per gate block, and
where a per-step product runs.

The kernels of :mod:`~rnnkit.nn.fastpath.lnlstm_kernel` and
:mod:`~rnnkit.nn.fastpath.lngru_kernel` are Numba functions over NumPy arrays that share memory
with torch tensors. Each is written as a sequence of short loops over one row's H entries, each
loop touching few arrays: LLVM vectorises such loops, while one loop over many arrays it leaves
scalar (it cannot prove that they do not overlap; measured 2-3x slower per step). Arrays are
passed C-contiguous: a column slice such as ``a[:, :2*H]`` compiles to Numba's strided layout,
measured up to 2x slower. The
transcendental functions (sigmoid, tanh) stay in torch, between the kernels: Numba's ``exp``
and ``tanh`` are scalar libm calls, 5-10x slower than torch's vectorised ones, and torch's
sigmoid is about 3x faster than its tanh on the CPUs measured here, so tanh is computed as
tanh(y) = 2 sigmoid(2y) - 1.

Layer norm of G gate blocks of H entries (the reference's :mod:`rnnkit.ref.layernorm`)::

    n_k = (a_k - mean a_k) r_k,  r_k = 1 / sqrt(var a_k + eps);  z_k = gamma_k n_k + beta_k
    da_k = r_k (dy_k gamma_k - mean(dy_k gamma_k) - n_k mean(dy_k gamma_k n_k))

Both cores: every compiled pass loops over the batch rows with ``prange`` and is compiled twice
(:func:`rows_kernel`), for one thread and for Numba's thread pool, which splits the rows; a
kernel takes the threaded one when a step's widest array has at least :data:`PARALLEL_MIN`
entries and torch may use more than one thread (:func:`parallel_rows`). Below that, starting
the threads costs more than the pass. No pass writes to memory that another row reads: sums
over rows (dgamma, dbeta) are kept per row and summed after the time loop.

Compiled functions are cached on disk (``cache=True``): the first call on a new installation
compiles each once per dtype and variant (a few seconds).
"""

from __future__ import annotations

import types
from collections.abc import Callable

import numba
import numpy as np
import torch

from rnnkit.ref.layernorm import LN_EPS

#: compile options: no Python error checks in the arithmetic, and float reassociation so that
#: LLVM vectorises the block sums
JIT = {
    "cache": True,
    "nogil": True,
    "error_model": "numpy",
    "fastmath": {"reassoc", "contract", "nsz"},
}
#: a compiled pass splits the rows across threads from this many entries (B * width) on
PARALLEL_MIN = 16384
#: above this many multiply-adds NumPy's matrix product may start OpenBLAS threads
#: (OpenBLAS' SMP threshold 65536 times its default 4)
_NUMPY_GEMM_MAX = 262144


def rows_kernel(fn: Callable) -> tuple[Callable, Callable]:
    """``fn``, whose outer loop is ``numba.prange`` over batch rows, compiled for one thread
    and for Numba's threads: ``(serial, parallel)``, indexed by :func:`parallel_rows`. The
    threaded copy gets a name of its own, so that the two do not share an on-disk cache entry."""
    threaded = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__ + "_threads",
                                  fn.__defaults__, fn.__closure__)
    threaded.__qualname__ = fn.__qualname__ + "_threads"
    return numba.njit(**JIT)(fn), numba.njit(parallel=True, **JIT)(threaded)


def parallel_rows(B: int, width: int) -> int:
    """1 when a pass over B rows of ``width`` entries should split its rows across threads,
    else 0 (an index into :func:`rows_kernel`'s pair)."""
    return int(B * width >= PARALLEL_MIN and torch.get_num_threads() > 1)


def small_product(m: int, k: int, n: int) -> bool:
    """Whether an (m, k) @ (k, n) product runs on one thread in NumPy (OpenBLAS). Small
    per-step products go there: torch would open a parallel region for them, and on a busy
    machine waiting for the second thread costs more than the product. Larger ones, and the
    products over all steps, go through torch (its own thread pool), so OpenBLAS never starts
    threads that would fight torch's for the cores."""
    return m * k * n <= _NUMPY_GEMM_MAX


class StepProduct:
    """One step's product ``out = x @ M (+ add)`` for x (B, K) and a fixed M (K, N), run where
    :func:`small_product` says: NumPy for small ones, torch for the others.

    ``StepProduct(W_hh.T, B)`` gives the forward's h W_hh^T, ``StepProduct(W_hh, B)`` the
    backward's da W_hh. Every array is a NumPy array (the torch views cost about 1 us each,
    which only the large products, hundreds of us, pay). The small ones run ``np.dot`` on a
    C-contiguous copy of M, made once per sequence: at (64, 20) @ (20, 80) it measured about
    1.3x faster than ``np.matmul`` on the transposed view (the ufunc machinery and the
    strided operand cost more than the product)."""

    def __init__(self, M: np.ndarray, B: int) -> None:
        K, N = M.shape
        self.small = small_product(B, K, N)
        # the operand the product runs on: NumPy's contiguous copy, or torch's view of M
        self.M = np.ascontiguousarray(M) if self.small else torch.from_numpy(M)  # (K, N)

    def __call__(self, x: np.ndarray, out: np.ndarray, add: np.ndarray | None = None) -> None:
        """out (B, N) = x (B, K) @ M (+ add (B, N)); out C-contiguous, not overlapping x."""
        if self.small:
            np.dot(x, self.M, out=out)
            if add is not None:
                out += add
            return
        fn = torch.from_numpy
        if add is None:
            torch.mm(fn(x), self.M, out=fn(out))
        else:
            torch.addmm(fn(add), fn(x), self.M, out=fn(out))


def input_and_weight_grads(dGI: np.ndarray, X: np.ndarray, H_prev: np.ndarray,
                           W_ih: np.ndarray, grads: list[np.ndarray],
                           dGH: np.ndarray | None = None) -> np.ndarray:
    """The products over all steps, in torch, for a step with input part gi = W_ih x + b_ih
    and recurrent part gh = W_hh h_{t-1} + b_hh.

    From dgi (T, B, G*H), the gradient w.r.t. gi, dgh w.r.t. gh (None: the same as dgi, for
    cells whose pre-activation is the sum gi + gh: LN-RNN, LN-LSTM), x (T, B, D) and h_{t-1}
    (T, B, H), writes dW_ih = dgi^T x, dW_hh = dgh^T h_prev, db_ih = sum dgi and
    db_hh = sum dgh into ``grads[:4]``; returns dx = dgi W_ih (T, B, D)."""
    T, B, GH = dGI.shape
    fn = torch.from_numpy
    dgi = fn(dGI).view(T * B, GH)  # (T*B, G*H)
    dgh = dgi if dGH is None else fn(dGH).view(T * B, GH)
    torch.mm(dgi.t(), fn(X.reshape(T * B, -1)), out=fn(grads[0]))  # dW_ih (G*H, D)
    torch.mm(dgh.t(), fn(H_prev.reshape(T * B, -1)), out=fn(grads[1]))  # dW_hh (G*H, H)
    torch.sum(dgi, 0, out=fn(grads[2]))  # db_ih
    if dGH is None:
        grads[3][...] = grads[2]
    else:
        torch.sum(dgh, 0, out=fn(grads[3]))  # db_hh
    return torch.mm(dgi, fn(W_ih)).numpy().reshape(T, B, -1)  # (T, B, D)


@rows_kernel
def ln_blocks(a, gamma, beta, n, r, z):  # pragma: no cover - compiled
    """Layer norm of each of the G = r.shape[1] blocks of the rows of a (B, G*H).

    Writes n (B, G*H), r (B, G) and z = gamma n + beta (B, G*H); gamma, beta (G*H,). n may be
    a itself (a is then normalised in place: the kernels keep no separate copy of n)."""
    B, G = r.shape
    H = a.shape[1] // G
    zero = a.dtype.type(0.0)
    one = a.dtype.type(1.0)
    inv_h = a.dtype.type(1.0 / H)
    eps = a.dtype.type(LN_EPS)
    for b in numba.prange(B):
        for k in range(G):
            lo, hi = k * H, (k + 1) * H
            ab, nb, zb, gk, bk = a[b, lo:hi], n[b, lo:hi], z[b, lo:hi], gamma[lo:hi], beta[lo:hi]
            s = zero
            for j in range(H):
                s += ab[j]
            mean = s * inv_h
            v = zero
            for j in range(H):
                v += (ab[j] - mean) * (ab[j] - mean)
            rstd = one / np.sqrt(v * inv_h + eps)
            r[b, k] = rstd
            for j in range(H):
                nb[j] = (ab[j] - mean) * rstd
            for j in range(H):
                zb[j] = gk[j] * nb[j] + bk[j]


@numba.njit(**JIT)
def ln_row_backward(dy, n, r, gamma, da, dgamma, dbeta):  # pragma: no cover - compiled
    """Backward of :func:`ln_blocks` for one row: dy (G*H,), the gradient w.r.t. z; n (G*H,),
    r (G,), gamma (G*H,). Writes da (G*H,), the gradient w.r.t. a; adds dy n to dgamma and
    dy to dbeta (G*H,, the row's own accumulators). Called row by row by the kernels' step
    functions, so that the row is still in cache from the gate part of the step."""
    G = r.shape[0]
    H = dy.shape[0] // G
    zero = dy.dtype.type(0.0)
    inv_h = dy.dtype.type(1.0 / H)
    for k in range(G):
        lo, hi = k * H, (k + 1) * H
        dyk, nk, gk, dak = dy[lo:hi], n[lo:hi], gamma[lo:hi], da[lo:hi]
        m1 = zero
        m2 = zero
        for j in range(H):
            m1 += dyk[j] * gk[j]
            m2 += dyk[j] * gk[j] * nk[j]
        m1 *= inv_h
        m2 *= inv_h
        rk = r[k]
        for j in range(H):
            dak[j] = rk * (dyk[j] * gk[j] - m1 - nk[j] * m2)
    for j in range(G * H):
        dgamma[j] += dy[j] * n[j]
    for j in range(G * H):
        dbeta[j] += dy[j]
