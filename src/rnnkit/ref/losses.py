"""Losses of the reference engine: mean squared error and softmax cross-entropy (over time).

Both are layers without parameters: ``forward(y, t) -> float`` and ``backward(dout=1.0) -> dy``.

- :class:`MSELoss`: ``L = mean((y - t)^2)`` over all entries; ``dL/dy = 2 (y - t) / N``.
- :class:`SoftmaxCrossEntropy`: scores (..., V) (e.g. (B, T, V)) and integer targets (...)
  (e.g. (B, T)); ``L = -(1/n) sum_valid log softmax(scores)[t]`` over the n positions whose
  target is not ``ignore_index`` (default -100, as in PyTorch); ``dL/dscores = (softmax -
  onehot(t)) / n`` at valid positions, 0 at ignored ones. If every target is ignored, L = 0.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnkit.ref._checks import as_index_array
from rnnkit.ref.functional import log_softmax


class MSELoss:
    """Mean squared error over all entries of ``y`` and ``t`` (same shape)."""

    params: list[np.ndarray] = []  # noqa: RUF012 - shared empty list, never mutated
    grads: list[np.ndarray] = []  # noqa: RUF012

    def forward(self, y: Any, t: Any) -> float:
        y, t = np.asarray(y), np.asarray(t)
        if y.dtype.kind != "f":
            raise TypeError(f"y must be a float array, got dtype {y.dtype}")
        if y.shape != t.shape:
            raise ValueError(f"t must have the shape of y {y.shape}, got {t.shape}")
        if y.size == 0:
            raise ValueError("y must not be empty")
        self._diff = y - t.astype(y.dtype, copy=False)
        return float(np.mean(self._diff * self._diff))

    def backward(self, dout: float = 1.0) -> np.ndarray:
        d = self._diff
        return d * d.dtype.type(2.0 * dout / d.size)

    __call__ = forward


class SoftmaxCrossEntropy:
    """Softmax + cross-entropy over the last axis, mean over non-ignored targets.

    ``SoftmaxCrossEntropy(ignore_index=-100)``; forward(scores (..., V), ts (...)) -> float.
    """

    params: list[np.ndarray] = []  # noqa: RUF012
    grads: list[np.ndarray] = []  # noqa: RUF012

    def __init__(self, ignore_index: int = -100) -> None:
        if isinstance(ignore_index, bool) or not isinstance(ignore_index, (int, np.integer)):
            raise TypeError(f"ignore_index must be an int, got {ignore_index!r}")
        self.ignore_index = int(ignore_index)

    def forward(self, scores: Any, ts: Any) -> float:
        scores = np.asarray(scores)
        if scores.dtype.kind != "f":
            raise TypeError(f"scores must be a float array, got dtype {scores.dtype}")
        if scores.ndim < 1:
            raise ValueError(f"scores must have at least 1 dimension, got shape {scores.shape}")
        ts = as_index_array(ts, "ts")
        V = scores.shape[-1]
        if ts.shape != scores.shape[:-1]:
            raise ValueError(f"ts must have shape {scores.shape[:-1]} (scores without its last "
                             f"axis), got {ts.shape}")
        valid = ts != self.ignore_index
        bad = valid & ((ts < 0) | (ts >= V))
        if bad.any():
            raise ValueError(f"ts must lie in [0, {V}) or equal ignore_index "
                             f"{self.ignore_index}, got {ts[bad].reshape(-1)[0]}")
        logp = log_softmax(scores)  # (..., V)
        tsafe = np.where(valid, ts, 0)
        picked = np.take_along_axis(logp, tsafe[..., None], axis=-1)[..., 0]  # (...)
        n = int(valid.sum())
        self._cache = (logp, tsafe, valid, n)
        if n == 0:
            return 0.0
        return float(-(picked * valid).sum() / n)

    def backward(self, dout: float = 1.0) -> np.ndarray:
        logp, tsafe, valid, n = self._cache
        d = np.exp(logp)  # softmax (..., V)
        np.put_along_axis(d, tsafe[..., None],
                          np.take_along_axis(d, tsafe[..., None], axis=-1) - 1, axis=-1)
        d *= valid[..., None]
        if n:
            d *= d.dtype.type(dout / n)
        return d

    __call__ = forward


#: The book's name for the same loss over (B, T, V) scores.
TimeSoftmaxWithLoss = SoftmaxCrossEntropy
