"""Sliding windows over time series, targets for the three multi-step strategies, time splits.

A window that starts at index ``s`` reads the inputs ``x[s : s+L]`` (L = ``input_len``) and
forecasts the next ``H`` (= ``horizon``) values ``x[s+L : s+L+H]``:

    vector targets   y[n, k]    = x[s_n + L + k]          k = 0..H-1       y: (N, H)
    seq2seq targets  y[n, t, k] = x[s_n + t + 1 + k]      t = 0..L-1       y: (N, L, H)

(the seq2seq form is the book's ``Y[..., k-1] = series[..., k:k+L, 0]``: at every input step
the next H values; its last step ``y[:, -1, :]`` equals the vector target).

Time-ordered splits without leakage: the series is cut at ``train_end <= valid_end <= T``.
A window belongs to the part ``[a, b)`` when its forecast targets lie in it
(``a <= s+L`` and ``s+L+H <= b``); every value a window touches is then ``< b``, so no
training window ever reads a validation or test value (validation and test windows may read
earlier values as their input history, which a forecaster would know). Scalers are fitted on
``x[:train_end]`` only (see :mod:`rnnkit.data.scalers`).

Batches are dicts with names: ``{"x": (N, L, D), "y": ..., "start": (N,), "series": (N,)}``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rnnkit.errors import ConfigError, DataError

__all__ = ["TimeSplit", "Windowing", "as_series_list", "sliding_windows", "time_split",
           "toeplitz_windows"]

TARGETS = ("vector", "seq2seq")


def _positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ConfigError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def as_series_list(series: np.ndarray | Sequence[np.ndarray]) -> list[np.ndarray]:
    """Normalise one or many series to a list of float arrays ``(T_i, D)``.

    Accepts one series ``(T,)`` or ``(T, D)``, a batch ``(S, T, D)``, or a list of
    ``(T_i,)`` / ``(T_i, D)`` arrays of possibly different lengths (same D).
    """
    if isinstance(series, np.ndarray) or not isinstance(series, (list, tuple)):
        arr = np.asarray(series)
        if arr.ndim == 1:
            return [arr[:, None]]  # (T, 1)
        if arr.ndim == 2:
            return [arr]  # (T, D)
        if arr.ndim == 3:
            return list(arr)  # S x (T, D)
        raise DataError(f"series must have shape (T,), (T, D) or (S, T, D), got {arr.shape}")
    out = []
    for i, item in enumerate(series):
        arr = np.asarray(item)
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.ndim != 2:
            raise DataError(f"series[{i}] must have shape (T,) or (T, D), got {arr.shape}")
        out.append(arr)
    if not out:
        raise DataError("series must hold at least one series, got an empty list")
    if len({a.shape[1] for a in out}) > 1:
        raise DataError(f"all series must have the same number of columns D, got "
                         f"{sorted({a.shape[1] for a in out})}")
    return out


@dataclass(frozen=True)
class Windowing:
    """Cut series into (input, target) windows.

    Args:
        input_len: L, input steps per window.
        horizon: H, steps forecast ahead (default 1).
        stride: distance between consecutive window starts (default 1).
        target: ``"vector"`` (y ``(N, H)``) or ``"seq2seq"`` (y ``(N, L, H)``).
        target_col: which of the D columns is forecast (default 0); inputs keep all D.
    """

    input_len: int
    horizon: int = 1
    stride: int = 1
    target: str = "vector"
    target_col: int = 0

    def __post_init__(self) -> None:
        _positive_int("input_len", self.input_len)
        _positive_int("horizon", self.horizon)
        _positive_int("stride", self.stride)
        if self.target not in TARGETS:
            raise ConfigError(f"target must be one of {TARGETS}, got {self.target!r}")

    @property
    def window_len(self) -> int:
        """Values one window touches: L + H."""
        return self.input_len + self.horizon

    def starts(self, length: int, target_start: int = 0, target_stop: int | None = None
               ) -> np.ndarray:
        """Start indices ``s`` of the windows whose forecast targets lie in
        ``[target_start, target_stop)`` of a series of ``length`` values."""
        stop = length if target_stop is None else min(target_stop, length)
        first = max(0, target_start - self.input_len)
        last = stop - self.window_len  # inclusive
        if last < first:
            return np.empty(0, dtype=np.int64)
        return np.arange(first, last + 1, self.stride, dtype=np.int64)

    def __call__(self, series: np.ndarray | Sequence[np.ndarray], target_start: int = 0,
                 target_stop: int | None = None) -> dict[str, np.ndarray]:
        """Windows of every series whose targets lie in ``[target_start, target_stop)``.

        Returns ``{"x": (N, L, D), "y": (N, H) or (N, L, H), "start": (N,), "series": (N,)}``
        with the windows of series 0 first, each in time order.
        """
        items = as_series_list(series)
        d = items[0].shape[1]
        if not -d <= self.target_col < d:
            raise ConfigError(f"target_col must index one of the {d} columns, got "
                             f"{self.target_col}")
        L, H = self.input_len, self.horizon
        xs, ys, starts, ids = [], [], [], []
        for i, arr in enumerate(items):
            s = self.starts(len(arr), target_start, target_stop)
            if len(s) == 0:
                continue
            full = np.lib.stride_tricks.sliding_window_view(arr, self.window_len, axis=0)
            full = full[s].transpose(0, 2, 1)  # (N, L+H, D)
            xs.append(full[:, :L])  # (N, L, D)
            col = full[:, :, self.target_col]  # (N, L+H)
            if self.target == "vector":
                ys.append(col[:, L:])  # (N, H)
            else:
                idx = np.arange(L)[:, None] + 1 + np.arange(H)[None, :]  # (L, H)
                ys.append(col[:, idx])  # (N, L, H)
            starts.append(s)
            ids.append(np.full(len(s), i, dtype=np.int64))
        if not xs:
            dtype = items[0].dtype
            y_shape = (0, H) if self.target == "vector" else (0, L, H)
            return {"x": np.empty((0, L, d), dtype), "y": np.empty(y_shape, dtype),
                    "start": np.empty(0, np.int64), "series": np.empty(0, np.int64)}
        return {"x": np.ascontiguousarray(np.concatenate(xs)),
                "y": np.ascontiguousarray(np.concatenate(ys)),
                "start": np.concatenate(starts), "series": np.concatenate(ids)}

    def last_input(self, series: np.ndarray) -> np.ndarray:
        """The most recent L values of one series as a batch of one: ``(1, L, D)``."""
        arr = as_series_list(series)[0]
        if len(arr) < self.input_len:
            raise DataError(f"series must have at least input_len={self.input_len} values "
                             f"to forecast from, got {len(arr)}")
        return arr[-self.input_len:][None]  # (1, L, D)


def sliding_windows(series: np.ndarray, input_len: int, horizon: int = 1,
                    stride: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Functional form: ``X (N, L, D)``, ``Y (N, H)`` from one or many series."""
    batch = Windowing(input_len, horizon, stride)(series)
    return batch["x"], batch["y"]


def toeplitz_windows(x: np.ndarray, width: int) -> np.ndarray:
    """Rows ``x[i : i+width]`` of a 1-D sequence: ``(T - width + 1, width)``.

    The Toeplitz-style matrix of the sine example: row i holds ``x_i, ..., x_{i+width-1}``
    (each anti-diagonal is constant); with ``width = L + 1`` the first L columns are the
    input and the last the next value.
    """
    x = np.asarray(x)
    if x.ndim != 1:
        raise DataError(f"x must be 1-D, got shape {x.shape}")
    width = _positive_int("width", width)
    if width > len(x):
        raise ConfigError(f"width must be at most len(x)={len(x)}, got {width}")
    return np.lib.stride_tricks.sliding_window_view(x, width).copy()


@dataclass(frozen=True)
class TimeSplit:
    """Cut points of a time-ordered split: train ``[0, train_end)``, validation
    ``[train_end, valid_end)``, test ``[valid_end, length)``."""

    length: int
    train_end: int
    valid_end: int

    def parts(self) -> dict[str, tuple[int, int]]:
        """``{"train": (0, train_end), "valid": (...), "test": (...)}``."""
        return {"train": (0, self.train_end), "valid": (self.train_end, self.valid_end),
                "test": (self.valid_end, self.length)}


def _size(name: str, value: float | int, length: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a fraction in [0, 1) or a count, got {value!r}")
    if isinstance(value, (float, np.floating)) and 0 <= value < 1:
        return round(value * length)
    if value < 0 or value != int(value):
        raise ConfigError(f"{name} must be a fraction in [0, 1) or a non-negative int count, "
                         f"got {value!r}")
    return int(value)


def time_split(length: int, valid: float | int = 0.15, test: float | int = 0.15,
               min_train: int = 1) -> TimeSplit:
    """Split ``length`` time steps in order; ``valid``/``test`` are fractions or counts.

    ``min_train`` is the least number of training values (e.g. ``input_len + horizon`` so
    that at least one training window exists); fewer raises a ``ValueError``.
    """
    n_valid, n_test = _size("valid", valid, length), _size("test", test, length)
    train_end = length - n_valid - n_test
    if train_end < min_train:
        raise DataError(f"series of {length} values leaves {train_end} for training after "
                         f"{n_valid} validation and {n_test} test values; need at least "
                         f"{min_train}")
    return TimeSplit(length, train_end, train_end + n_valid)
