"""One-to-many: decode a whole waveform from a parameter vector.

Each sample is a damped sine ``y_t = a * exp(-d t) * sin(2 pi f t + p)`` over 50 steps,
drawn from 4 numbers (a, f, d, p); the network reads them as 5 parameters (a, f, d,
sin p, cos p: the phase as a point on the circle, so p and p + 2 pi look the same) once,
turns them into the initial state of an LSTM through a Dense layer, and the LSTM unrolls
50 steps (its input at each step is the time t), a Linear head giving y_t. Prints the test
MSE beside the MSE of predicting zeros. This is an rnnkit demo, not a published experiment:
there is no published figure to print beside ours, and the script says so.

    python examples/one_to_many.py                      # 30 epochs, about a minute
    python examples/one_to_many.py --epochs 2 --n 500   # a quick look
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from torch import nn

from rnnkit.nn import LSTM, Dense, LSTMState

T = 50
PUBLISHED = "no published figure for this experiment"


def make_waves(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.5, 1.5, n)
    f = rng.uniform(0.5, 3.0, n)
    d = rng.uniform(0.0, 2.0, n)
    p = rng.uniform(0, 2 * np.pi, n)
    t = np.linspace(0, 1, T)
    y = a[:, None] * np.exp(-d[:, None] * t) * np.sin(2 * np.pi * f[:, None] * t + p[:, None])
    params = np.stack([a, f, d, np.sin(p), np.cos(p)], axis=1)  # phase as (sin, cos)
    return params.astype(np.float32), y.astype(np.float32)[..., None]  # (N, 5), (N, T, 1)


class VectorToSequence(nn.Module):
    """params (B, P) -> Dense(tanh) -> (h0, c0) -> LSTM over t -> Linear -> y (B, T, 1)."""

    def __init__(self, n_params: int, hidden: int = 64):
        super().__init__()
        self.init = Dense(n_params, 2 * hidden, activation="tanh")
        self.lstm = LSTM(1, hidden, return_sequences=True)
        self.head = Dense(hidden, 1)

    def forward(self, params: torch.Tensor) -> torch.Tensor:
        B = params.shape[0]
        h0, c0 = self.init(params).unsqueeze(0).chunk(2, dim=-1)  # (1, B, H)
        t = torch.linspace(0, 1, T).view(1, T, 1).expand(B, T, 1)  # (B, T, 1)
        return self.head(self.lstm(t, state=LSTMState(h0.contiguous(), c0.contiguous())))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--n", type=int, default=4000, help="training samples (default 4000)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    if args.epochs < 1 or args.n < 1:
        ap.error(f"--epochs and --n must be positive, got {args.epochs} and {args.n}")
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    from rnnkit.train import ArrayBatches, Trainer
    from rnnkit.train.callbacks import progress_callbacks

    ptr, ytr = make_waves(args.n, 0)
    pte, yte = make_waves(500, 1)
    model = VectorToSequence(ptr.shape[1])
    trainer = Trainer(model, "mse", "adam", lr=3e-3)
    t0 = time.perf_counter()
    trainer.fit(ArrayBatches(torch.from_numpy(ptr), torch.from_numpy(ytr), 64, shuffle=True),
                args.epochs, callbacks=progress_callbacks("auto"))  # progress on stderr
    seconds = time.perf_counter() - t0
    mse = trainer.evaluate(ArrayBatches(torch.from_numpy(pte), torch.from_numpy(yte), 500))
    print(f"one-to-many (5 parameters -> {T}-step damped sine): test MSE {mse['loss']:.5f} vs "
          f"{float(np.mean(yte ** 2)):.5f} for predicting zeros; training {seconds:.0f} s; "
          f"published: {PUBLISHED}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
