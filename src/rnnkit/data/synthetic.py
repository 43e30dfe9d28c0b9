"""Synthetic series: the two-sines generator of *Hands-On Machine Learning* (2nd ed.), ch. 15.

The book's code, reproduced call for call so that the same seed gives the same numbers::

    def generate_time_series(batch_size, n_steps):
        freq1, freq2, offsets1, offsets2 = np.random.rand(4, batch_size, 1)
        time = np.linspace(0, 1, n_steps)
        series = 0.5 * np.sin((time - offsets1) * (freq1 * 10 + 10))   #   wave 1
        series += 0.2 * np.sin((time - offsets2) * (freq2 * 20 + 20))  # + wave 2
        series += 0.1 * (np.random.rand(batch_size, n_steps) - 0.5)    # + noise
        return series[..., np.newaxis].astype(np.float32)

Each series is

    x_t = 0.5 sin((t - o1)(10 f1 + 10)) + 0.2 sin((t - o2)(20 f2 + 20)) + 0.1 (u_t - 0.5),

with ``t`` in ``linspace(0, 1, n_steps)`` and ``f1, f2, o1, o2, u_t ~ U[0, 1)``. The legacy
``np.random.rand`` stream is used in the book's order (first the (4, B, 1) block of
frequencies/offsets, then the (B, T) noise), so ``np.random.seed(42)`` followed by
``generate_time_series(10000, 51)`` gives exactly the book's data set.
"""

from __future__ import annotations

import numpy as np

from rnnkit.errors import ConfigError

__all__ = ["generate_time_series", "geron_split"]


def _random_state(seed: int | np.random.RandomState | None) -> np.random.RandomState | None:
    if seed is None or isinstance(seed, np.random.RandomState):
        return seed
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be None, an int or a np.random.RandomState, got {seed!r}")
    return np.random.RandomState(int(seed))


def generate_time_series(batch_size: int, n_steps: int,
                         seed: int | np.random.RandomState | None = None) -> np.ndarray:
    """Return ``batch_size`` noisy two-sine series of ``n_steps`` steps, float32 ``(B, T, 1)``.

    ``seed=None`` (default) draws from NumPy's global legacy generator exactly like the book
    (so ``np.random.seed(42)`` before the call reproduces its data); an int seeds a private
    ``np.random.RandomState`` (same numbers as ``np.random.seed(seed)``, global state
    untouched); a ``RandomState`` is used as given and advanced.
    """
    for name, value in (("batch_size", batch_size), ("n_steps", n_steps)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ConfigError(f"{name} must be a positive int, got {value!r}")
    rs = _random_state(seed)
    rand = np.random.rand if rs is None else rs.rand
    freq1, freq2, offsets1, offsets2 = rand(4, batch_size, 1)  # each (B, 1)
    time = np.linspace(0, 1, n_steps)  # (T,)
    series = 0.5 * np.sin((time - offsets1) * (freq1 * 10 + 10))  # (B, T)  wave 1
    series += 0.2 * np.sin((time - offsets2) * (freq2 * 20 + 20))  # + wave 2
    series += 0.1 * (rand(batch_size, n_steps) - 0.5)  # + noise
    return series[..., np.newaxis].astype(np.float32)  # (B, T, 1)


def geron_split(series: np.ndarray, n_train: int = 7000, n_valid: int = 2000
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split a batch of series the book's way: ``[:7000]``, ``[7000:9000]``, ``[9000:]``."""
    if n_train < 1 or n_valid < 0 or n_train + n_valid > len(series):
        raise ConfigError(f"n_train={n_train} and n_valid={n_valid} do not fit a batch of "
                         f"{len(series)} series")
    return (series[:n_train], series[n_train:n_train + n_valid],
            series[n_train + n_valid:])
