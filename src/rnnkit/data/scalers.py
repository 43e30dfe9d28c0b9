"""Per-column scalers fitted on the training part only, saved as JSON (no pickle).

    standard:  z = (x - mean) / std          (std of a constant column is taken as 1);
                                             changes=k: the mean |x_{t+j} - x_t| over
                                             j = 1..k for the std
    log:       z = (log x - mean) / std      mean, std of log x; x must be > 0 (turns a
                                             multiplicative trend/season into an additive one)
    minmax:    z = (x - min) / (max - min) * (hi - lo) + lo     default range (0, 1)
    none:      z = x

``fit`` takes ``(T,)`` or ``(T, D)`` values (or a list of such arrays: many series) and
learns one statistic per column D; ``transform`` / ``inverse_transform`` accept any array
whose last axis is D, or ``(...)`` arrays when D = 1 (e.g. targets ``(N, H)``). Fit on the
training part only: the statistics must not see validation or test values.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from rnnkit.errors import ConfigError, DataError

__all__ = ["IdentityScaler", "LogStandardScaler", "MinMaxScaler", "Scaler", "StandardScaler",
           "make_scaler", "scaler_from_dict"]


def _stack(x: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
    if isinstance(x, (list, tuple)):
        parts = [np.asarray(a, dtype=np.float64) for a in x]
        parts = [a[:, None] if a.ndim == 1 else a for a in parts]
        return np.concatenate(parts, axis=0)  # (sum T_i, D)
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 1:
        return arr[:, None]  # (T, 1)
    return arr.reshape(-1, arr.shape[-1])  # (..., D) -> (N, D)


class Scaler:
    """Base class: ``fit(x) -> self``, ``transform``, ``inverse_transform``, ``to_dict``."""

    name = "base"

    def __init__(self) -> None:
        self.shift_: np.ndarray | None = None  # (D,)
        self.scale_: np.ndarray | None = None  # (D,)

    def _stats(self, x: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(shift, scale)``, each ``(D,)``, of the stacked values ``x (N, D)``, whose
        series end at the rows ``ends`` (and at N)."""
        raise NotImplementedError

    def fit(self, x: np.ndarray | Sequence[np.ndarray]) -> Scaler:
        """Learn per-column statistics from the training values ``x``."""
        arr = _stack(x)
        if arr.shape[0] == 0:
            raise DataError("x must hold at least one value to fit a scaler, got none")
        if not np.all(np.isfinite(arr)):
            raise DataError("x must be finite to fit a scaler, got NaN or inf")
        many = isinstance(x, (list, tuple))
        ends = np.cumsum([len(a) for a in x])[:-1] if many else np.zeros(0, dtype=int)
        self.shift_, self.scale_ = self._stats(arr, ends)
        return self

    def _check(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.shift_ is None or self.scale_ is None:
            raise RuntimeError(f"{type(self).__name__} is not fitted; call fit(x) first")
        d = len(self.shift_)
        if d == 1 or (x.ndim >= 1 and x.shape[-1] == d):
            return (self.shift_ if d > 1 else self.shift_[0],
                    self.scale_ if d > 1 else self.scale_[0])
        raise DataError(f"x must have {d} columns on its last axis, got shape {x.shape}")

    def transform(self, x: np.ndarray) -> np.ndarray:
        """``(x - shift) / scale``, same shape and dtype as ``x`` (float)."""
        x = np.asarray(x)
        shift, scale = self._check(x)
        dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.float64
        return ((x - shift) / scale).astype(dtype, copy=False)

    def inverse_transform(self, z: np.ndarray) -> np.ndarray:
        """``z * scale + shift``: back to the original units."""
        z = np.asarray(z)
        shift, scale = self._check(z)
        dtype = z.dtype if np.issubdtype(z.dtype, np.floating) else np.float64
        return (z * scale + shift).astype(dtype, copy=False)

    def inverse_column(self, z: np.ndarray, col: int) -> np.ndarray:
        """Inverse transform of values ``z`` (any shape) that all belong to column ``col``."""
        if self.shift_ is None or self.scale_ is None:
            raise RuntimeError(f"{type(self).__name__} is not fitted; call fit(x) first")
        return np.asarray(z) * self.scale_[col] + self.shift_[col]

    def fit_transform(self, x: np.ndarray) -> np.ndarray:
        return self.fit(x).transform(x)

    def get_config(self) -> dict[str, Any]:
        return {}

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable state: ``{"name", "config", "shift", "scale"}``."""
        return {"name": self.name, "config": self.get_config(),
                "shift": None if self.shift_ is None else self.shift_.tolist(),
                "scale": None if self.scale_ is None else self.scale_.tolist()}


class StandardScaler(Scaler):
    """z = (x - mean) / s per column: s the population std, or with ``changes=k > 0`` the
    mean absolute change over 1..k steps within each series,

        s = (1/k) sum_{j=1..k} mean_t |x_{t+j} - x_t|

    (k = 1: the one-step naive forecast's in-sample error, MASE's scale), for models that
    read and forecast changes over up to k steps (a forecaster's level "last", k its
    horizon); an s of 0 becomes 1."""

    name = "standard"

    def __init__(self, changes: int = 0) -> None:
        super().__init__()
        if isinstance(changes, bool) or not isinstance(changes, int) or changes < 0:
            raise ConfigError(f"changes must be an int >= 0, got {changes!r}")
        self.changes = changes

    def _values(self, x: np.ndarray) -> np.ndarray:
        """The values standardised: ``x`` itself here."""
        return x

    def _stats(self, x: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The mean and s of each column; the changes are taken within each series (a lag
        longer than a series is taken from those that hold it), and with no change to take
        (one value) s is the std."""
        v = self._values(x)  # (N, D)
        s = v.std(axis=0)
        if self.changes:
            parts = np.split(v, ends)
            lags = range(1, min(self.changes, max(len(p) for p in parts) - 1) + 1)
            means = [np.concatenate([np.abs(p[j:] - p[:-j]) for p in parts if len(p) > j])
                     .mean(axis=0) for j in lags]  # each (D,)
            s = np.mean(means, axis=0) if means else s
        return v.mean(axis=0), np.where(s > 0, s, 1.0)

    def get_config(self) -> dict[str, Any]:
        return {"changes": self.changes}


class LogStandardScaler(StandardScaler):
    """z = (log x - mean) / s per column, mean and s (the std, or the mean absolute change)
    of log x; every x must be > 0."""

    name = "log"

    @staticmethod
    def _log(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if np.any(x <= 0):
            raise DataError(f"the log scaler needs positive values, got a minimum of "
                             f"{float(np.min(x))}; use scaler 'standard'")
        return np.log(x)

    def _values(self, x: np.ndarray) -> np.ndarray:
        """The values standardised: ``log x``."""
        return self._log(x)

    def transform(self, x: np.ndarray) -> np.ndarray:
        dtype = np.asarray(x).dtype
        out = super().transform(self._log(x))
        return out.astype(dtype if np.issubdtype(dtype, np.floating) else np.float64)

    def inverse_transform(self, z: np.ndarray) -> np.ndarray:
        return np.exp(super().inverse_transform(z))

    def inverse_column(self, z: np.ndarray, col: int) -> np.ndarray:
        return np.exp(super().inverse_column(z, col))


class MinMaxScaler(Scaler):
    """z = (x - min) / (max - min) * (hi - lo) + lo per column; default range (0, 1)."""

    name = "minmax"

    def __init__(self, feature_range: tuple[float, float] = (0.0, 1.0)) -> None:
        super().__init__()
        lo, hi = feature_range
        if not hi > lo:
            raise ConfigError(f"feature_range must be (lo, hi) with lo < hi, got {feature_range}")
        self.feature_range = (float(lo), float(hi))

    def _stats(self, x: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = self.feature_range
        span = x.max(axis=0) - x.min(axis=0)
        scale = np.where(span > 0, span, 1.0) / (hi - lo)
        return x.min(axis=0) - lo * scale, scale

    def get_config(self) -> dict[str, Any]:
        return {"feature_range": list(self.feature_range)}


class IdentityScaler(Scaler):
    """z = x (no scaling), with the same interface."""

    name = "none"

    def _stats(self, x: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros(x.shape[1]), np.ones(x.shape[1])


SCALERS: dict[str, type[Scaler]] = {c.name: c for c in (StandardScaler, LogStandardScaler,
                                                          MinMaxScaler, IdentityScaler)}


def make_scaler(name: str, **config: Any) -> Scaler:
    """A new, unfitted scaler by name: ``"standard"``, ``"log"``, ``"minmax"`` or ``"none"``."""
    if name not in SCALERS:
        raise ConfigError(f"scaler must be one of {sorted(SCALERS)}, got {name!r}")
    return SCALERS[name](**config)


def scaler_from_dict(state: dict[str, Any]) -> Scaler:
    """Rebuild a scaler saved with :meth:`Scaler.to_dict` (DataError if the state is
    malformed: unknown name, bad config, shift/scale not equal-length finite lists)."""
    if not isinstance(state, dict) or not isinstance(state.get("name"), str):
        raise DataError(f"scaler state must be a dict with a 'name' string, got "
                        f"{type(state).__name__}")
    config = state.get("config", {})
    if not isinstance(config, dict):
        raise DataError(f"scaler state 'config' must be a dict, got {type(config).__name__}")
    try:
        scaler = make_scaler(state["name"], **config)
    except (TypeError, ValueError) as err:
        raise DataError(f"scaler state does not rebuild a scaler: {err}") from None
    if state.get("shift") is not None:
        arrays = []
        for key in ("shift", "scale"):
            try:
                a = np.asarray(state.get(key), dtype=np.float64)
            except (TypeError, ValueError):
                a = np.empty(0)
            if a.ndim != 1 or a.size == 0 or not np.all(np.isfinite(a)):
                raise DataError(f"scaler state {key!r} must be a non-empty list of finite "
                                f"numbers")
            arrays.append(a)
        if len(arrays[0]) != len(arrays[1]) or not np.all(arrays[1] != 0):
            raise DataError("scaler state 'shift' and 'scale' must have the same length and "
                            "scale must be non-zero")
        scaler.shift_, scaler.scale_ = arrays
    return scaler
