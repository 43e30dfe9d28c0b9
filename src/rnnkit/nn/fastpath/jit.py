r"""What the compiled fast-path kernels share: Numba options, layer norm per gate block, and
where a per-step product runs.

The kernels of :mod:`~rnnkit.nn.fastpath.gru_kernel`, :mod:`~rnnkit.nn.fastpath.lstm_kernel`,
:mod:`~rnnkit.nn.fastpath.lngru_kernel` and :mod:`~rnnkit.nn.fastpath.lnrnn_kernel` are Numba
functions over NumPy arrays that share memory with torch tensors. Their loops are short and
touch few arrays each: LLVM vectorises such loops, while one loop over many arrays it leaves
scalar (it cannot prove that they do not overlap; measured 2-3x slower per step). Arrays are
passed C-contiguous: a column slice such as ``a[:, :2*H]`` compiles to Numba's strided layout,
measured up to 2x slower. The layer norm and the backward steps loop over one row's views at
a time; the forward element-wise passes index the (B, width) arrays directly, since at
H = 20 a loop per row view costs more than its arithmetic (the GRU's forward pass at (64, 20):
2.6 us indexed directly, 5.2 us over row views, best of 20,000 calls).

The transcendental functions are computed inside the passes by :func:`sigmoid`, a vectorisable
sigmoid of our own (Numba's ``exp`` is a scalar libm call, and LLVM cannot vectorise a loop
around it); tanh is computed from it as tanh(y) = 2 sigmoid(2y) - 1. On a (64, 80) float32
array a compiled loop of it took 2.1-4.9 us against torch.sigmoid's 4.7-9.1 us (three runs,
best of 5,000 calls each), so a forward step's element-wise work is one compiled call instead
of compiled passes with torch calls between them.

Layer norm of G gate blocks of H entries (the reference's :mod:`rnnkit.ref.layernorm`)::

    n_k = (a_k - mean a_k) r_k,  r_k = 1 / sqrt(var a_k + eps);  z_k = gamma_k n_k + beta_k
    da_k = r_k (dy_k gamma_k - mean(dy_k gamma_k) - n_k mean(dy_k gamma_k n_k))

Both cores: every compiled pass loops over the batch rows with ``prange`` and is compiled twice
(:func:`rows_kernel`), for one thread and for Numba's thread pool, which splits the rows; a
kernel takes the threaded one when a step's widest array has at least :data:`PARALLEL_MIN`
entries and torch may use more than one thread (:func:`parallel_rows`). Below that, starting
the threads costs more than the pass. No pass writes to memory that another row reads: sums
over rows (dgamma, dbeta) are kept per row and summed after the time loop.

Small steps run the whole time loop in one compiled call (:func:`whole_loop`), the
products included (the LN kernels' in the batch-in-columns layout of
:mod:`~rnnkit.nn.fastpath.columns`); larger ones a Python loop of per-step calls with the
product in torch or NumPy (:class:`StepProduct`). The traced path's compiled loops (not these
kernels) cut a large batch in two halves that run side by side on two threads
(:func:`split_rows`, :func:`on_two_threads`).

Compiled functions are cached on disk (``cache=True``): the first call on a new installation
compiles each once per dtype and variant (a few seconds).
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import math
import types
from collections.abc import Callable, Iterator

import numba
import numpy as np
import torch
from numba.core import types as nbtypes
from numba.extending import intrinsic, overload

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
#: Numba's ``np.dot`` calls SciPy's BLAS: without SciPy the kernels keep the Python loop
HAS_SCIPY = importlib.util.find_spec("scipy") is not None
#: above this many multiply-adds NumPy's matrix product may start OpenBLAS threads
#: (OpenBLAS' SMP threshold 65536 times its default 4)
_NUMPY_GEMM_MAX = 262144
#: below this many multiply-adds OpenBLAS runs a product on one thread whatever the cores: it
#: gives a product M N K / 262144 threads, rounded down
_BLAS_ONE_THREAD = 2 * _NUMPY_GEMM_MAX


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


def whole_loop(B: int, H: int, width: int) -> bool:
    """Whether a kernel runs its whole time loop in one compiled call (the ``*_loop``
    functions of the kernels), products included (``np.dot`` in Numba calls BLAS directly):
    when a step's passes run on one thread and its product (B, H) @ (H, width) is small. There
    a step is a few microseconds of arithmetic, and the Python loop's calls cost as much: at
    (64, 20) @ (20, 80) a product and an add took 2.4-2.8 us a step inside Numba against
    9.3 us from Python (scratch run, 10,000 steps). With one torch thread (worker processes,
    as ``rnnkit forecast --jobs`` starts them) there is no thread pool for a product to use,
    and the compiled loop takes every product OpenBLAS runs on one thread: the GRU's training
    step at (128, 104, 1, 32) took 12.3 ms against 14.8 ms for the Python loop (scratch run,
    mean of 30 steps, CPU time equal to wall time). Larger steps keep the Python loop, whose
    products run in torch's thread pool. Never without SciPy (:data:`HAS_SCIPY`)."""
    if not HAS_SCIPY or parallel_rows(B, width):
        return False
    if torch.get_num_threads() == 1:
        return B * H * width < _BLAS_ONE_THREAD
    return small_product(B, H, width)


@functools.cache
def _blas_libraries() -> list:
    """threadpoolctl's controllers of the BLAS libraries loaded in this process (SciPy's,
    which Numba's ``np.dot`` calls, among them), or [] without threadpoolctl."""
    try:
        import scipy.linalg.cython_blas  # noqa: F401 (loads the library to be found)
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return []
    return ThreadpoolController().select(user_api="blas").lib_controllers


@contextlib.contextmanager
def blas_on_one_thread() -> Iterator[None]:
    """Inside: every BLAS product runs on the calling thread. For the kernels' NumPy
    products in a one-thread process (:func:`numpy_products`; a forecast worker, whose
    OpenBLAS would otherwise start threads of its own), and for compiled loops that call
    ``np.dot`` between element-wise passes: OpenBLAS' threads spin for a while after each
    product and take the second core from the passes that follow. The user LSTM cell's
    compiled forward loop at (64, 100, 64, 128) took 40 ms with OpenBLAS on two threads and
    18 ms on one (scratch runs, 2026-12-04, best of 5). Setting the count costs about 1 us a
    library."""
    libs = _blas_libraries()
    before = [lib.get_num_threads() for lib in libs]
    for lib in libs:
        lib.set_num_threads(1)
    try:
        yield
    finally:
        for lib, n in zip(libs, before, strict=True):
            lib.set_num_threads(n)


def numpy_products() -> bool:
    """Whether the kernels run every product in NumPy, on one BLAS thread (their
    :meth:`~rnnkit.nn.fastpath.kernel.Kernel.forward` and ``backward`` hold OpenBLAS to it):
    with one torch thread, as in ``rnnkit forecast``'s worker processes, when threadpoolctl
    can hold OpenBLAS there. torch's products (MKL) are slow on narrow operands here: at
    (T, B, D, H) = (104, 128, 4, 32) dW_ih = dgi^T x took 4.4 ms against NumPy's 0.6 ms and
    dx = dgi W_ih 2.1 against 0.5 ms (one thread each, best of 20), and the LSTM kernel's
    training step 0.97x torch.nn.LSTM's against 1.28x (2026-12-04, 2-core AMD EPYC VM). With
    two torch threads OpenBLAS' threads would compete with torch's pool for the cores: the
    same change made the kernels' training steps 1.3-3x slower there."""
    return torch.get_num_threads() == 1 and bool(_blas_libraries())


_WORKER = None


def _one_torch_thread() -> None:
    torch.get_num_threads()  # torch's per-thread setup first: it would reset the count later
    torch.set_num_threads(1)


def on_two_threads(fn: Callable, calls: list[tuple]) -> list:
    """``[fn(*calls[0]), fn(*calls[1])]``, the first on this thread and the second on a worker
    thread at the same time: for two halves of a batch whose compiled loops release the GIL.
    Each side runs its torch ops on one thread (this one for the duration of the call).

    The worker keeps one torch thread: with more, its first parallel op would start an
    OpenMP team of its own, after which libgomp, managing more threads than there are cores,
    wakes every team by futex instead of spinning, for the rest of the process (measured with
    GRU kernels run as two halves, since removed: torch.nn.RNN's training step at
    (64, 100, 64, 128) 14-17 ms before one such step, 42-54 ms after it, for good).
    ``torch.set_num_threads`` sets the calling thread's OpenMP count and the default of threads
    started later, so this thread sets its own back."""
    global _WORKER
    if _WORKER is None:
        from concurrent.futures import ThreadPoolExecutor

        threads = torch.get_num_threads()
        _WORKER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rnnkit-half",
                                     initializer=_one_torch_thread)
        _WORKER.submit(int).result()  # the worker exists, and has set its count
        torch.set_num_threads(threads)
    other = _WORKER.submit(fn, *calls[1])
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # this half's torch ops too: the worker holds the other core
    try:
        first = fn(*calls[0])
    finally:
        torch.set_num_threads(threads)
    return [first, other.result()]


def split_rows(B: int, width: int) -> int | None:
    """Where the traced path cuts a batch of B rows into two halves that run their whole
    compiled time loops side by side on two threads (:func:`on_two_threads`, products on one
    BLAS thread each), or None: when a step would split its rows across threads anyway
    (:func:`parallel_rows`) and the compiled loops can call BLAS (:data:`HAS_SCIPY`)."""
    return B // 2 if HAS_SCIPY and B >= 2 and parallel_rows(B, width) else None


@numba.njit(**JIT)
def add_final_grads(t, last, dfinal, carried):  # pragma: no cover - compiled
    """At the start of backward step t: carried (B, H) += dfinal (B, H) in the rows whose last
    step ``last`` (B,) is t (the compiled loops' :meth:`~rnnkit.nn.fastpath.lengths.StepEnds.
    inject`)."""
    for b in range(carried.shape[0]):
        if last[b] == t:
            for j in range(carried.shape[1]):
                carried[b, j] += dfinal[b, j]


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
        self.small = small_product(B, K, N) or numpy_products()
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


def weight_products(gi: np.ndarray, gh: np.ndarray, x: np.ndarray, h_prev: np.ndarray,
                    W_ih: np.ndarray, grads: list[np.ndarray]) -> np.ndarray:
    """The three products of a backward pass over all steps: dW_ih = gi x into ``grads[0]``,
    dW_hh = gh h_prev into ``grads[1]``, and dx = gi^T W_ih returned, ``(T*B, D)``; gi, gh
    (G*H, T*B), x (T*B, D), h_prev (T*B, H), views of any (positive) strides. In NumPy on
    one BLAS thread where :func:`numpy_products`, else in torch."""
    if numpy_products():
        np.dot(gi, x, out=grads[0])
        np.dot(gh, h_prev, out=grads[1])
        return np.dot(gi.T, W_ih)
    fn = torch.from_numpy
    torch.mm(fn(gi), fn(x), out=fn(grads[0]))
    torch.mm(fn(gh), fn(h_prev), out=fn(grads[1]))
    return torch.mm(fn(gi).t(), fn(W_ih)).numpy()


def input_and_weight_grads(dGI: np.ndarray, X: np.ndarray, H_prev: np.ndarray,
                           W_ih: np.ndarray, grads: list[np.ndarray],
                           dGH: np.ndarray | None = None) -> np.ndarray:
    """The products over all steps for a step with input part gi = W_ih x + b_ih and
    recurrent part gh = W_hh h_{t-1} + b_hh (:func:`weight_products`).

    From dgi (T, B, G*H), the gradient w.r.t. gi, dgh w.r.t. gh (None: the same as dgi, for
    cells whose pre-activation is the sum gi + gh: LN-RNN, LN-LSTM), x (T, B, D) and h_{t-1}
    (T, B, H), writes dW_ih = dgi^T x, dW_hh = dgh^T h_prev, db_ih = sum dgi and
    db_hh = sum dgh into ``grads[:4]``; returns dx = dgi W_ih (T, B, D)."""
    T, B, GH = dGI.shape
    gi = dGI.reshape(T * B, GH)  # (T*B, G*H)
    gh = gi if dGH is None else dGH.reshape(T * B, GH)
    dX = weight_products(gi.T, gh.T, X.reshape(T * B, -1), H_prev.reshape(T * B, -1), W_ih,
                         grads)
    fn = torch.from_numpy
    torch.sum(fn(gi), 0, out=fn(grads[2]))  # db_ih
    if dGH is None:
        grads[3][...] = grads[2]
    else:
        torch.sum(fn(gh), 0, out=fn(grads[3]))  # db_hh
    return dX.reshape(T, B, -1)  # (T, B, D)


@intrinsic
def _bits_as_float(typingctx, bits):  # pragma: no cover - compiled
    """The float whose IEEE 754 bit pattern is ``bits`` (int32 -> float32, int64 ->
    float64): a register bitcast, which LLVM vectorises."""
    if bits == nbtypes.int32:
        sig = nbtypes.float32(bits)
    elif bits == nbtypes.int64:
        sig = nbtypes.float64(bits)
    else:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(signature.return_type))

    return sig, codegen


def sigmoid(x):  # pragma: no cover - replaced by the compiled overload below
    """``1 / (1 + exp(-x))`` of a float32 or float64 scalar, inside compiled kernels."""
    raise NotImplementedError("sigmoid runs inside Numba-compiled functions only")


#: exp(r) on |r| <= ln(2)/2: Taylor coefficients 1/k!, degree 6 (float32: relative error
#: below 2e-7, about 1.5 ulp) and degree 13 (float64: below 1e-15)
_EXP32 = tuple(1.0 / math.factorial(k) for k in range(7))
_EXP64 = tuple(1.0 / math.factorial(k) for k in range(14))


@overload(sigmoid, jit_options=JIT)
def _sigmoid(x):  # pragma: no cover - compiled
    r"""sigmoid(x) = 1 / (1 + e), e = exp(-x), computed as ``e = 2^k p(r)`` with
    ``k = round(-x / ln 2)``, ``r = -x - k ln 2`` (ln 2 in two parts, Cody and Waite, so that r
    keeps its digits), p the Taylor polynomial of exp on |r| <= ln(2)/2 (Horner) and 2^k built
    from its exponent bits. -x is clipped to the range where 2^k is a normal float (|x| <= 87
    for float32, 708 for float64): beyond it sigmoid is 0 or 1 to the last digit, bar 1e-38 /
    3e-308. Branch-free, so a loop of it vectorises."""
    if x == nbtypes.float32:
        f, ints, c, lim, bias, shift = np.float32, np.int32, _EXP32, 87.0, 127, 23
        ln2_hi, ln2_lo = f(6.9314575195e-01), f(1.4286067653e-06)  # fdlibm's expf split
    elif x == nbtypes.float64:
        f, ints, c, lim, bias, shift = np.float64, np.int64, _EXP64, 708.0, 1023, 52
        ln2_hi, ln2_lo = f(6.93147180369123816490e-01), f(1.90821492927058770002e-10)  # exp
    else:
        return None
    log2e = f(1.4426950408889634)
    one, half, lo, hi = f(1.0), f(0.5), f(-lim), f(lim)
    top, *rest = (f(v) for v in c[::-1])  # highest degree first, for Horner
    rest = tuple(rest)
    bias, shift = ints(bias), ints(shift)

    def impl(x):
        y = min(max(-x, lo), hi)
        k = np.floor(y * log2e + half)
        r = y - k * ln2_hi - k * ln2_lo
        p = top
        for ci in rest:
            p = p * r + ci
        return one / (one + p * _bits_as_float(ints((ints(k) + bias) << shift)))

    return impl


@numba.njit(**JIT)
def ln_row(a, gamma, beta, n, r, z, squash):  # pragma: no cover - compiled
    """Layer norm of each of the G = r.shape[0] blocks of one row a (G*H,).

    Writes n (G*H,), r (G,) and z = gamma n + beta, or sigmoid(gamma n + beta) with
    ``squash``; gamma, beta (G*H,). n may be a itself (a is then normalised in place: the
    kernels keep no separate copy of n)."""
    G = r.shape[0]
    H = a.shape[0] // G
    zero = a.dtype.type(0.0)
    one = a.dtype.type(1.0)
    inv_h = a.dtype.type(1.0 / H)
    eps = a.dtype.type(LN_EPS)
    for k in range(G):
        lo, hi = k * H, (k + 1) * H
        ak, nk, zk, gk, bk = a[lo:hi], n[lo:hi], z[lo:hi], gamma[lo:hi], beta[lo:hi]
        s = zero
        for j in range(H):
            s += ak[j]
        mean = s * inv_h
        v = zero
        for j in range(H):
            v += (ak[j] - mean) * (ak[j] - mean)
        rstd = one / np.sqrt(v * inv_h + eps)
        r[k] = rstd
        for j in range(H):
            nk[j] = (ak[j] - mean) * rstd
        if squash:
            for j in range(H):
                zk[j] = sigmoid(gk[j] * nk[j] + bk[j])
        else:
            for j in range(H):
                zk[j] = gk[j] * nk[j] + bk[j]


@numba.njit(**JIT)
def ln_row_backward(dy, n, r, gamma, da, dgamma, dbeta):  # pragma: no cover - compiled
    """Backward of :func:`ln_row` for one row: dy (G*H,), the gradient w.r.t. z; n (G*H,),
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
