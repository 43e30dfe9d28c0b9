"""Numerically stable element-wise functions of the reference engine.

- ``sigmoid(x) = 1 / (1 + exp(-x))`` computed as ``0.5 + 0.5 * tanh(x / 2)`` (the same value,
  no overflow for any finite x, one transcendental call).
- ``tanh(x)`` is NumPy's (already stable).
- ``softmax(x) = exp(x - max x) / sum exp(x - max x)`` over the last axis.
- ``log_softmax(x) = (x - max x) - log(sum exp(x - max x))`` over the last axis.

The ``*_`` variants write into ``out`` (default: in place) so hot loops allocate nothing.
"""

from __future__ import annotations

import numpy as np


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function, stable for any finite input (returns a new array)."""
    x = np.asarray(x)
    if x.dtype.kind != "f":
        x = x.astype(np.float64)
    return sigmoid_(x, out=np.empty(x.shape, x.dtype))


def sigmoid_(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Logistic function written into ``out`` (default: ``x`` itself); returns ``out``."""
    if out is None:
        out = x
    np.multiply(x, 0.5, out=out)
    np.tanh(out, out=out)
    out *= 0.5
    out += 0.5
    return out


def tanh(x: np.ndarray) -> np.ndarray:
    """Hyperbolic tangent (returns a new array)."""
    return np.tanh(x)


def relu(x: np.ndarray) -> np.ndarray:
    """max(x, 0) (returns a new array)."""
    return np.maximum(x, 0)


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Softmax over ``axis``, shifted by the max so exp never overflows."""
    z = x - x.max(axis=axis, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=axis, keepdims=True)
    return z


def log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """log(softmax(x)) without forming softmax: (x - m) - log(sum exp(x - m))."""
    z = x - x.max(axis=axis, keepdims=True)
    z -= np.log(np.exp(z).sum(axis=axis, keepdims=True))
    return z
