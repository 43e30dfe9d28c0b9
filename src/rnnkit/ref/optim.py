"""Optimisers and gradient clipping for the reference engine.

Each optimiser updates ``params`` in place from ``grads`` (lists of equal shapes):

- :class:`SGD`:      p -= lr * g
- :class:`Momentum`: v = momentum * v - lr * g;  p += v
- :class:`Adam`:     m = b1 m + (1 - b1) g,  v = b2 v + (1 - b2) g^2,
                     p -= lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)  (torch.optim.Adam)

:func:`clip_grads` rescales all gradients together so their global L2 norm is at most max_norm.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _positive(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return float(value)


def _fraction(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ValueError(f"{name} must be a number in [0, 1), got {value!r}")
    return float(value)


def _check_lists(params: Sequence[np.ndarray], grads: Sequence[np.ndarray]) -> None:
    if len(params) != len(grads):
        raise ValueError(f"grads must hold one array per param ({len(params)}), got {len(grads)}")


class SGD:
    """Plain stochastic gradient descent: p -= lr * g (default lr 0.01)."""

    def __init__(self, lr: float = 0.01) -> None:
        self.lr = _positive(lr, "lr")

    def update(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray]) -> None:
        _check_lists(params, grads)
        for p, g in zip(params, grads, strict=True):
            p -= p.dtype.type(self.lr) * g


class Momentum:
    """SGD with momentum: v = momentum v - lr g; p += v (defaults lr 0.01, momentum 0.9)."""

    def __init__(self, lr: float = 0.01, momentum: float = 0.9) -> None:
        self.lr = _positive(lr, "lr")
        self.momentum = _fraction(momentum, "momentum")
        self.v: list[np.ndarray] | None = None

    def update(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray]) -> None:
        _check_lists(params, grads)
        if self.v is None or len(self.v) != len(params):
            self.v = [np.zeros_like(p) for p in params]
        for p, g, v in zip(params, grads, self.v, strict=True):
            v *= p.dtype.type(self.momentum)
            v -= p.dtype.type(self.lr) * g
            p += v


class Adam:
    """Adam (Kingma & Ba), bias-corrected like torch.optim.Adam.

    Defaults lr 0.001, beta1 0.9, beta2 0.999, eps 1e-8.
    """

    def __init__(self, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8) -> None:
        self.lr = _positive(lr, "lr")
        self.beta1 = _fraction(beta1, "beta1")
        self.beta2 = _fraction(beta2, "beta2")
        self.eps = _positive(eps, "eps")
        self.t = 0
        self.m: list[np.ndarray] | None = None
        self.v: list[np.ndarray] | None = None

    def update(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray]) -> None:
        _check_lists(params, grads)
        if self.m is None or len(self.m) != len(params):
            self.m = [np.zeros_like(p) for p in params]
            self.v = [np.zeros_like(p) for p in params]
            self.t = 0
        self.t += 1
        c1 = 1 - self.beta1**self.t
        c2 = 1 - self.beta2**self.t
        for p, g, m, v in zip(params, grads, self.m, self.v, strict=True):
            m += (1 - self.beta1) * (g - m)
            v += (1 - self.beta2) * (g * g - v)
            p -= (self.lr / c1) * m / (np.sqrt(v / c2) + self.eps)


def clip_grads(grads: Sequence[np.ndarray], max_norm: float) -> float:
    """Scale all ``grads`` in place by min(1, max_norm / total_norm); return total_norm.

    total_norm = sqrt(sum of squares of every entry of every gradient) (torch's clip_grad_norm_).
    """
    max_norm = _positive(max_norm, "max_norm")
    total = float(np.sqrt(sum(float(np.sum(np.square(g, dtype=np.float64))) for g in grads)))
    scale = max_norm / (total + 1e-6)
    if scale < 1:
        for g in grads:
            g *= g.dtype.type(scale)
    return total
