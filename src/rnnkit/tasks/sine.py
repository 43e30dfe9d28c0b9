"""The classic SimpleRNN sine example, run on the NumPy reference engine.

Data: ``s_t = sin(2 pi f t)`` with f = 0.125 for t = 0 .. 19 (20 points, period 8). Toeplitz-style
windows of ``window`` = 3 steps predict the next value:

    X[k] = s[k : k + 3]  (3, 1),   y[k] = s[k + 3]       k = 0 .. 16  -> X (17, 3, 1), y (17, 1)

Model: ``TimeRNN(1 -> 10, tanh)`` -> last hidden state -> ``Linear(10 -> 1)``, MSE loss,
full-batch SGD (lr 0.1) for 100 epochs. :func:`run_sine` returns a :class:`SineResult` with the
targets, the predictions before and after training and the loss curve; it prints nothing and
plots nothing (``rnnkit.plots.sine`` draws the figure).

No published figure: this classic demo runs in many tutorials, with different settings, and
none of the sources the project records (REFERENCES.md) gives a number for it, so
reproductions print :data:`PUBLISHED` ("no published figure for this experiment") beside
ours rather than invent one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rnnkit.ref import SGD, LastTimeStep, Linear, MSELoss, Sequential, TimeRNN

#: What the reproductions print as the published figure: there is none (module docstring).
PUBLISHED = "no published figure for this experiment"


@dataclass
class SineResult:
    """What the sine experiment produced (arrays are float64, one entry per window)."""

    t: np.ndarray  # (N,) time index of each target, window .. n_points - 1
    targets: np.ndarray  # (N,) s[t]
    pred_before: np.ndarray  # (N,) model output before training
    pred_after: np.ndarray  # (N,) model output after training
    losses: list[float] = field(default_factory=list)  # MSE before each epoch's update, + final
    series: np.ndarray | None = None  # (n_points,) the whole sine series

    @property
    def loss_before(self) -> float:
        return self.losses[0]

    @property
    def loss_after(self) -> float:
        return self.losses[-1]


def sine_windows(n_points: int = 20, freq: float = 0.125, window: int = 3
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The series s (n_points,), inputs X (N, window, 1) and targets y (N, 1), N = n - window."""
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise ValueError(f"window must be a positive int, got {window!r}")
    if isinstance(n_points, bool) or not isinstance(n_points, int) or n_points <= window:
        raise ValueError(f"n_points must be an int greater than window ({window}), "
                         f"got {n_points!r}")
    s = np.sin(2 * np.pi * freq * np.arange(n_points))  # (n,)
    X = np.lib.stride_tricks.sliding_window_view(s[:-1], window)[:, :, None].copy()  # (N, w, 1)
    return s, X, s[window:, None].copy()  # (N, 1)


def run_sine(epochs: int = 100, hidden_size: int = 10, lr: float = 0.1, window: int = 3,
             n_points: int = 20, freq: float = 0.125, seed: int = 0,
             dtype: str = "float32") -> SineResult:
    """Train SimpleRNN(hidden_size) + Linear(1) on the sine windows; see the module docstring."""
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive int, got {epochs!r}")
    s, X, y = sine_windows(n_points, freq, window)
    model = Sequential(
        TimeRNN(1, hidden_size, dtype=dtype, seed=seed),
        LastTimeStep(),
        Linear(hidden_size, 1, dtype=dtype, seed=seed + 1),
        loss=MSELoss(),
    )
    opt = SGD(lr)
    pred_before = np.asarray(model.forward(X), dtype=np.float64)[:, 0]
    losses = []
    for _ in range(epochs):
        losses.append(model.forward(X, y))
        model.backward()
        opt.update(model.params, model.grads)
    losses.append(model.forward(X, y))
    pred_after = np.asarray(model.forward(X), dtype=np.float64)[:, 0]
    return SineResult(t=np.arange(window, n_points), targets=y[:, 0], pred_before=pred_before,
                      pred_after=pred_after, losses=[float(v) for v in losses], series=s)
