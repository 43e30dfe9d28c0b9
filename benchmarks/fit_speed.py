"""Time ``Sequential.fit`` against a plain PyTorch training loop, side by side in one run.

The task is the classic deep RNN of Hands-On ML ch. 15: SimpleRNN(20, seq) -> SimpleRNN(20)
-> Dense(1) on 7,000 series of 50 steps (generated here with NumPy, same recipe), MSE, Adam
(lr 1e-3), batch 32, a few epochs. Two model builds are timed, each both ways from the same
initial weights:

- ``torch``:  torch.nn.RNN modules (fused kernel) -> measures the Trainer's own overhead;
- ``rnnkit``: rnnkit.nn.SimpleRNN / Dense (Keras init) -> the full rnnkit stack;
- ``linear``: Flatten -> Linear(50, 1), nearly no compute, so the difference per batch
  is the Trainer's overhead (printed in microseconds per batch).

The plain loop is the lean version a careful user writes: one ``torch.randperm`` per epoch,
slicing, ``zero_grad / forward / mse / backward / step``, the epoch loss summed as a tensor
(no per-batch ``.item()``). Runs alternate between the two ways, ``--repeats`` times; the best
time of each is reported with the ratio fit / plain (1.00 = no overhead).

    python benchmarks/fit_speed.py [--epochs 3] [--repeats 2] [--n 7000] [--threads N]
"""

from __future__ import annotations

import argparse
import copy
import time

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from rnnkit.train import Sequential


def generate_time_series(batch_size: int, n_steps: int) -> np.ndarray:
    """Hands-On ML's two-sine series with noise: (batch, n_steps, 1) float32."""
    freq1, freq2, offsets1, offsets2 = np.random.rand(4, batch_size, 1)  # noqa: NPY002
    time_ = np.linspace(0, 1, n_steps)
    series = 0.5 * np.sin((time_ - offsets1) * (freq1 * 10 + 10))
    series += 0.2 * np.sin((time_ - offsets2) * (freq2 * 20 + 20))
    series += 0.1 * (np.random.rand(batch_size, n_steps) - 0.5)  # noqa: NPY002
    return series[..., np.newaxis].astype(np.float32)


class TorchRNN(nn.Module):
    """torch.nn.RNN, batch first; the full sequence (B, T, H) or the last step (B, H)."""

    def __init__(self, d: int, h: int, return_sequences: bool) -> None:
        super().__init__()
        self.rnn = nn.RNN(d, h, batch_first=True)
        self.return_sequences = return_sequences

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.rnn(x)[0]  # (B, T, H)
        return out if self.return_sequences else out[:, -1]  # (B, H)


def build(kind: str) -> Sequential:
    if kind == "linear":  # almost no compute: exposes the per-batch overhead
        return Sequential([nn.Flatten(), nn.Linear(50, 1)])
    if kind == "torch":
        return Sequential([TorchRNN(1, 20, True), TorchRNN(20, 20, False), nn.Linear(20, 1)])
    from rnnkit.nn import Dense, SimpleRNN

    return Sequential([SimpleRNN(1, 20, return_sequences=True), SimpleRNN(20, 20),
                       Dense(20, 1)])


def plain_loop(model: nn.Module, X: torch.Tensor, y: torch.Tensor, epochs: int, bs: int) -> float:
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    n = len(X)
    model.train()
    for _ in range(epochs):
        perm = torch.randperm(n)
        Xs, ys = X[perm], y[perm]
        total = torch.zeros(())
        for i in range(0, n, bs):
            xb, yb = Xs[i:i + bs], ys[i:i + bs]  # (B, T, 1), (B, 1)
            opt.zero_grad(set_to_none=True)
            loss = F.mse_loss(model(xb), yb)
            loss.backward()
            opt.step()
            total += loss.detach() * len(xb)
        last = float(total) / n
    return last


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--n", type=int, default=7000, help="training series")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--models", default="torch,rnnkit,linear")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    np.random.seed(42)  # noqa: NPY002 - the book's protocol
    series = generate_time_series(args.n, 51)
    X, y = series[:, :50], series[:, -1]  # (N, 50, 1), (N, 1)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    print(f"deep RNN, {args.n} series x 50 steps, batch {args.batch_size}, {args.epochs} "
          f"epochs, best of {args.repeats}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")
    steps = args.epochs * -(-args.n // args.batch_size)
    print(f"{'model':8s} {'plain loop s':>13s} {'Sequential.fit s':>17s} {'fit/plain':>10s} "
          f"{'fit-plain us/batch':>19s}")
    for kind in args.models.split(","):
        torch.manual_seed(0)
        init = build(kind)
        times: dict[str, list[float]] = {"plain": [], "fit": []}
        for r in range(args.repeats):
            order = ("plain", "fit") if r % 2 == 0 else ("fit", "plain")
            for way in order:
                model = copy.deepcopy(init)
                t0 = time.perf_counter()
                if way == "plain":
                    plain_loop(model, Xt, yt, args.epochs, args.batch_size)
                else:
                    model.compile(loss="mse", optimizer="adam", lr=1e-3)
                    model.fit(X, y, epochs=args.epochs, batch_size=args.batch_size, verbose=0)
                times[way].append(time.perf_counter() - t0)
        plain, fit = min(times["plain"]), min(times["fit"])
        per_batch = (fit - plain) / steps * 1e6
        print(f"{kind:8s} {plain:13.2f} {fit:17.2f} {fit / plain:10.3f} {per_batch:19.1f}")


if __name__ == "__main__":
    main()
