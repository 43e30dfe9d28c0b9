"""Training-step speed of the reference TimeLSTM, side by side in one run.

Compares ms per step (forward + backward, float32, gradients w.r.t. weights, biases and inputs)
of three implementations of the same LSTM at several (B, T, D, H):

- ``rnnkit.ref.TimeLSTM``: one step's forward and backward written as the equations, in a
  time-major loop, each step making its own matrix products;
- the classic per-step design of Deep Learning from Scratch 2 (``TimeLSTM`` holding one ``LSTM``
  step object per time step, ``np.dot`` per step, gradients summed step by step), written
  below for comparison;
- ``torch.nn.LSTM`` on 2 threads (autograd backward).

Each round times every implementation once, in turn; the table shows the median over rounds
and the ratios. Run: ``nice python benchmarks/ref_engine.py [--rounds 7] [--threads 2]``.
On a machine shared with other jobs, multi-threaded BLAS and OpenMP spin-waits make 2-thread
wall times erratic; ``--threads 1`` gives steadier ratios.
"""

from __future__ import annotations

import argparse
import os
import time

PARSER = argparse.ArgumentParser(description="reference TimeLSTM vs per-step vs torch.nn.LSTM")
PARSER.add_argument("--rounds", type=int, default=7, help="timed rounds per shape (default 7)")
PARSER.add_argument("--threads", type=int, default=2,
                    help="threads for torch and for numpy's BLAS (default 2)")
ARGS = PARSER.parse_args() if __name__ == "__main__" else PARSER.parse_args([])
if __name__ == "__main__":
    # numpy's BLAS gets as many threads as torch; this must happen before numpy loads
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_var] = str(ARGS.threads)

import numpy as np  # noqa: E402

from rnnkit.ref import TimeLSTM  # noqa: E402

SHAPES = [(64, 50, 1, 20), (64, 100, 64, 128), (32, 200, 128, 256), (256, 28, 28, 128)]


# ---------------------------------------------------------------- the classic per-step design
def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


class BookLSTM:
    """One LSTM step, DLFS2 ch. 6 (``common/time_layers.py``): Wx (D, 4H), gates f, g, i, o."""

    def __init__(self, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray) -> None:
        self.params = [Wx, Wh, b]
        self.grads = [np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)]

    def forward(self, x, h_prev, c_prev):
        Wx, Wh, b = self.params
        H = h_prev.shape[1]
        A = np.dot(x, Wx) + np.dot(h_prev, Wh) + b
        f, g = _sigmoid(A[:, :H]), np.tanh(A[:, H : 2 * H])
        i, o = _sigmoid(A[:, 2 * H : 3 * H]), _sigmoid(A[:, 3 * H :])
        c_next = f * c_prev + g * i
        h_next = o * np.tanh(c_next)
        self.cache = (x, h_prev, c_prev, i, f, g, o, c_next)
        return h_next, c_next

    def backward(self, dh_next, dc_next):
        Wx, Wh, _b = self.params
        x, h_prev, c_prev, i, f, g, o, c_next = self.cache
        tanh_c = np.tanh(c_next)
        ds = dc_next + (dh_next * o) * (1 - tanh_c**2)
        dc_prev = ds * f
        di, df, do, dg = ds * g, ds * c_prev, dh_next * tanh_c, ds * i
        di *= i * (1 - i)
        df *= f * (1 - f)
        do *= o * (1 - o)
        dg *= 1 - g**2
        dA = np.hstack((df, dg, di, do))
        self.grads[0][...] = np.dot(x.T, dA)
        self.grads[1][...] = np.dot(h_prev.T, dA)
        self.grads[2][...] = dA.sum(axis=0)
        return np.dot(dA, Wx.T), np.dot(dA, Wh.T), dc_prev


class BookTimeLSTM:
    """DLFS2's TimeLSTM: a new step object per time step, gradients summed over steps."""

    def __init__(self, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray) -> None:
        self.params = [Wx, Wh, b]
        self.grads = [np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)]

    def forward(self, xs):
        _Wx, Wh, _b = self.params
        N, T, _D = xs.shape
        H = Wh.shape[0]
        self.layers = []
        hs = np.empty((N, T, H), dtype=xs.dtype)
        h = np.zeros((N, H), dtype=xs.dtype)
        c = np.zeros((N, H), dtype=xs.dtype)
        for t in range(T):
            layer = BookLSTM(*self.params)
            h, c = layer.forward(xs[:, t, :], h, c)
            hs[:, t, :] = h
            self.layers.append(layer)
        return hs

    def backward(self, dhs):
        Wx, _Wh, _b = self.params
        N, T, _H = dhs.shape
        D = Wx.shape[0]
        dxs = np.empty((N, T, D), dtype=dhs.dtype)
        dh, dc = 0, 0
        grads = [0, 0, 0]
        for t in reversed(range(T)):
            layer = self.layers[t]
            dx, dh, dc = layer.backward(dhs[:, t, :] + dh, dc)
            dxs[:, t, :] = dx
            for k, grad in enumerate(layer.grads):
                grads[k] += grad
        for k, grad in enumerate(grads):
            self.grads[k][...] = grad
        return dxs


# ---------------------------------------------------------------- timing
def _median_ms(samples: list[float]) -> float:
    return 1000 * float(np.median(samples))


def bench(shape: tuple[int, int, int, int], rounds: int, torch_mod) -> dict[str, float]:
    B, T, D, H = shape
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((B, T, D)).astype(np.float32)
    dhs = rng.standard_normal((B, T, H)).astype(np.float32)
    ours = TimeLSTM(D, H, seed=0)
    k = 1 / np.sqrt(H)
    book = BookTimeLSTM(rng.uniform(-k, k, (D, 4 * H)).astype(np.float32),
                        rng.uniform(-k, k, (H, 4 * H)).astype(np.float32),
                        np.zeros(4 * H, np.float32))
    tl = torch_mod.nn.LSTM(D, H, batch_first=True)
    X = torch_mod.tensor(xs, requires_grad=True)
    dY = torch_mod.tensor(dhs)

    def step_ours():
        ours.forward(xs)
        ours.backward(dhs)

    def step_book():
        with np.errstate(over="ignore"):
            book.forward(xs)
            book.backward(dhs)

    def step_torch():
        tl.zero_grad(set_to_none=True)
        X.grad = None
        out, _ = tl(X)
        out.backward(dY)

    # The floor of any NumPy design: the same matrix products, nothing else.
    G = 4 * H
    x2 = xs.reshape(B * T, D)
    dA = rng.standard_normal((B * T, G)).astype(np.float32)
    h2 = rng.standard_normal((B * T, H)).astype(np.float32)
    W_ih, W_hh = ours.params[0], ours.params[1]

    def products_only():
        x2 @ W_ih.T  # input projection, all steps at once
        for t in range(T):  # recurrence forward, then backward through time
            h2[t * B:(t + 1) * B] @ W_hh.T
        for t in range(T):
            dA[t * B:(t + 1) * B] @ W_hh
        dA @ W_ih, dA.T @ x2, dA.T @ h2  # dx, dW_ih, dW_hh

    fns = {"ref": step_ours, "per-step": step_book, "torch": step_torch,
           "products": products_only}
    for fn in fns.values():  # warm up (buffers, allocator, oneDNN)
        fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            # untimed first call after a switch: the other library's worker threads still
            # spin for a while after its last call (OpenBLAS and OpenMP both do) and would
            # slow whichever contender runs next (measured: torch.nn.LSTM 36 ms alone,
            # 87 ms right after a NumPy step at (64, 100, 64, 128))
            fn()
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: _median_ms(v) for name, v in times.items()}


def main() -> int:
    args = ARGS
    import torch

    torch.set_num_threads(args.threads)
    blas = os.environ.get("OPENBLAS_NUM_THREADS", "default")
    print(f"numpy {np.__version__} (OPENBLAS_NUM_THREADS={blas}), "
          f"torch {torch.__version__} ({torch.get_num_threads()} threads), {os.cpu_count()} "
          f"CPUs, float32, median of {args.rounds} rounds, ms per training step "
          "(forward + backward)")
    print("products = the matrix products alone, a floor no NumPy design can beat; the best "
          "possible per-step/ref is per-step/products")
    header = (f"{'(B, T, D, H)':>20} | {'ref':>8} | {'per-step':>8} | {'torch':>8} | "
              f"{'products':>8} | {'per-step/ref':>12} | {'ref/torch':>9} | "
              f"{'per-step/products':>17}")
    print(header)
    print("-" * len(header))
    for shape in SHAPES:
        r = bench(shape, args.rounds, torch)
        print(f"{shape!s:>20} | {r['ref']:8.2f} | {r['per-step']:8.2f} | {r['torch']:8.2f} | "
              f"{r['products']:8.2f} | {r['per-step'] / r['ref']:11.2f}x | "
              f"{r['ref'] / r['torch']:8.2f}x | {r['per-step'] / r['products']:16.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
