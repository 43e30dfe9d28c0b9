"""Gradient check by central differences in float64.

For every entry x_j of the checked arrays, the five-point central difference (error O(eps^4),
so a larger eps can be used and round-off stays small):

    numeric_j = (f(x - 2 eps e_j) - 8 f(x - eps e_j) + 8 f(x + eps e_j) - f(x + 2 eps e_j))
                / (12 eps)
    rel_j     = |analytic_j - numeric_j| / max(|analytic_j| + |numeric_j|, floor,
                                              scale_floor * max_k |numeric_k|)

and :func:`gradcheck` returns max_j rel_j. With float64, eps = 1e-3 and f of order one, a
correct gradient gives about 1e-8 or less; a wrong one gives something near 1. ``floor`` keeps
entries whose gradient is (near) zero from dividing by zero, and ``scale_floor`` (1e-3) judges
entries a thousand times smaller than the largest of their array relative to that scale, where
finite differences cannot resolve them to 1e-6 relative.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np


def numeric_grad(f: Callable[[], float], x: np.ndarray, eps: float = 1e-3) -> np.ndarray:
    """Five-point central-difference gradient of ``f()`` w.r.t. ``x`` (perturbed in place and
    restored)."""
    g = np.zeros_like(x)
    flat, gflat = x.reshape(-1), g.reshape(-1)
    for j in range(flat.size):
        old = flat[j]
        vals = []
        for step in (-2, -1, 1, 2):
            flat[j] = old + step * eps
            vals.append(float(f()))
        flat[j] = old
        gflat[j] = (vals[0] - 8 * vals[1] + 8 * vals[2] - vals[3]) / (12 * eps)
    return g


def gradcheck(
    f: Callable[[], float],
    arrays: Sequence[np.ndarray],
    analytic: Sequence[np.ndarray],
    eps: float = 1e-3,
    floor: float = 1e-7,
    scale_floor: float = 1e-3,
) -> float:
    """Max relative error between ``analytic`` gradients and central differences of ``f``.

    ``f()`` must recompute the scalar from the current contents of ``arrays`` (float64 arrays,
    perturbed in place and restored); ``analytic[k]`` is the gradient w.r.t. ``arrays[k]``.
    """
    if len(arrays) != len(analytic):
        raise ValueError(f"analytic must hold {len(arrays)} arrays, got {len(analytic)}")
    worst = 0.0
    for k, (x, a) in enumerate(zip(arrays, analytic, strict=True)):
        if not isinstance(x, np.ndarray) or x.dtype != np.float64:
            raise TypeError(f"arrays[{k}] must be a float64 ndarray, got "
                            f"{getattr(x, 'dtype', type(x).__name__)}")
        if np.shape(a) != x.shape:
            raise ValueError(f"analytic[{k}] must have shape {x.shape}, got {np.shape(a)}")
        if not x.flags.c_contiguous:
            raise ValueError(f"arrays[{k}] must be C-contiguous (it is perturbed in place)")
        n = numeric_grad(f, x, eps)
        a = np.asarray(a, dtype=np.float64)
        scale = scale_floor * float(np.abs(n).max(initial=0.0))
        rel = np.abs(a - n) / np.maximum(np.abs(a) + np.abs(n), max(floor, scale))
        worst = max(worst, float(rel.max(initial=0.0)))
    return worst
