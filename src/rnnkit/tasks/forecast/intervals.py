"""Monte Carlo dropout prediction intervals (Gal & Ghahramani, 2016).

A model whose recurrent layers were built with ``dropout > 0`` and ``mc_dropout=True`` keeps
dropping units at inference, so each forward pass is one draw from an approximate posterior
predictive. Over S passes ŷ^(1..S) (each ``(N, H)``):

    mean = (1/S) Σ_s ŷ^(s)        std = sqrt((1/S) Σ_s (ŷ^(s) - mean)²)
    q_p  = the p-quantile over s  (linear interpolation), e.g. p = 0.05 and 0.95

A model without active dropout gives S equal passes: std exactly 0 and a zero-width interval
(not a rounding residue of 1e-13, so a "zero width" check can be exact).

Split-conformal intervals (any model, no retraining): from the out-of-sample residuals
r = y - ŷ of the cross-validation folds ``(N, H)``, the half-width q_k of step k is the
⌈(N+1)·c⌉-th smallest |r[:, k]| (c = coverage; the largest when N is small); the band is
ŷ ± q_k. Scores
of a band [lo, hi] at coverage c (α = 1 - c): coverage = mean(lo <= y <= hi), width =
mean(hi - lo), and the mean pinball loss of lo and hi as the α/2 and 1 - α/2 quantiles.

The same residuals give a whole (symmetric) predictive distribution: the τ-quantile of the
forecast is ŷ - q_k(1 - 2τ) below the median and ŷ + q_k(2τ - 1) above it, q_k(c) the
half-width at coverage c; its CRPS (:func:`~rnnkit.tasks.forecast.metrics.crps_quantiles`
over τ = 0.05, 0.10, ..., 0.95) scores any model's conformal forecast distribution.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from rnnkit.tasks.forecast.metrics import crps_quantiles, pinball

__all__ = ["CRPS_LEVELS", "conformal_crps", "conformal_halfwidth", "conformal_quantiles",
           "interval_scores", "mc_dropout_intervals", "summarise_samples"]

#: Quantile levels over which the CRPS of a conformal forecast distribution is averaged.
CRPS_LEVELS = tuple(round(0.05 * k, 2) for k in range(1, 20))


def summarise_samples(samples: np.ndarray, quantiles: Sequence[float] = (0.05, 0.95)
                      ) -> dict[str, np.ndarray]:
    """``samples (S, N, H)`` -> ``{"mean", "std", "lower", "upper", "q0.05", ...}`` each
    ``(N, H)``; lower/upper are the smallest and largest requested quantiles."""
    samples = np.asarray(samples, dtype=np.float64)
    if samples.ndim < 2 or samples.shape[0] < 1:
        raise ValueError(f"samples must have shape (S, ...) with S >= 1, got {samples.shape}")
    qs = sorted(float(q) for q in quantiles)
    if not qs or any(not 0.0 <= q <= 1.0 for q in qs):
        raise ValueError(f"quantiles must be numbers in [0, 1], got {list(quantiles)}")
    equal = samples.max(axis=0) == samples.min(axis=0)  # S equal passes: std exactly 0
    out = {"mean": np.where(equal, samples[0], samples.mean(axis=0)),
           "std": np.where(equal, 0.0, samples.std(axis=0))}
    values = np.quantile(samples, qs, axis=0)  # (Q, N, H)
    for q, v in zip(qs, values, strict=True):
        out[f"q{q:g}"] = v
    out["lower"], out["upper"] = values[0], values[-1]
    return out


def mc_dropout_intervals(sample: Callable[[], np.ndarray], n_samples: int = 100,
                         quantiles: Sequence[float] = (0.05, 0.95), seed: int | None = 0
                         ) -> dict[str, np.ndarray]:
    """Call ``sample()`` (one stochastic forecast ``(N, H)``) ``n_samples`` times and
    summarise (see :func:`summarise_samples`; also returns ``"samples" (S, N, H)``).

    ``seed`` fixes torch's generator for the dropout masks (restored afterwards).
    """
    if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive int, got {n_samples!r}")
    state = torch.get_rng_state()
    try:
        if seed is not None:
            torch.manual_seed(seed)
        samples = np.stack([np.asarray(sample(), dtype=np.float64)
                            for _ in range(n_samples)])  # (S, N, H)
    finally:
        torch.set_rng_state(state)
    out = summarise_samples(samples, quantiles)
    out["samples"] = samples
    return out


def conformal_halfwidth(residuals: np.ndarray, coverage: float = 0.8) -> np.ndarray:
    """Per-step half-widths ``(H,)`` of split-conformal intervals from out-of-sample
    residuals ``(N, H)`` (see the module doc)."""
    r = np.abs(np.asarray(residuals, dtype=np.float64))
    if r.ndim != 2 or len(r) < 1:
        raise ValueError(f"residuals must have shape (N, H) with N >= 1, got {r.shape}")
    if not 0.0 < coverage < 1.0:
        raise ValueError(f"coverage must be in (0, 1), got {coverage!r}")
    n = len(r)
    k = min(n, int(np.ceil((n + 1) * coverage)))  # the k-th smallest |r| of each step
    return np.sort(r, axis=0)[k - 1]


def conformal_quantiles(residuals: np.ndarray, levels: Sequence[float]) -> np.ndarray:
    """Offsets ``(Q, H)`` from the point forecast of the τ-quantiles at ``levels`` of the
    symmetric conformal distribution (see the module doc): ``-q(1 - 2τ)`` below 0.5, 0 at
    0.5, ``+q(2τ - 1)`` above."""
    H = np.asarray(residuals).shape[-1]
    out = []
    for tau in levels:
        if not 0.0 < tau < 1.0:
            raise ValueError(f"levels must be in (0, 1), got {tau!r}")
        c = abs(2 * tau - 1)
        q = conformal_halfwidth(residuals, c) if c > 0 else np.zeros(H)
        out.append(np.sign(tau - 0.5) * q)
    return np.stack(out)  # (Q, H)


def conformal_crps(y_true: np.ndarray, y_pred: np.ndarray, residuals: np.ndarray) -> float:
    """CRPS of the conformal forecast distribution around ``y_pred (N, H)`` built from the
    out-of-sample ``residuals (N_cv, H)``, over :data:`CRPS_LEVELS`."""
    offsets = conformal_quantiles(residuals, CRPS_LEVELS)  # (Q, H)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    return crps_quantiles(y_true, y_pred[None] + offsets[:, None, :], list(CRPS_LEVELS))


def interval_scores(y_true: np.ndarray, lower: np.ndarray, upper: np.ndarray,
                    coverage: float = 0.8) -> dict[str, float]:
    """``{"coverage", "width", "pinball", "zero_width"}`` of a band (see the module doc)."""
    y, lo, hi = (np.asarray(a, dtype=np.float64) for a in (y_true, lower, upper))
    a = 1.0 - coverage
    return {"coverage": float(np.mean((lo <= y) & (y <= hi))),
            "width": float(np.mean(hi - lo)),
            "pinball": (pinball(y, lo, a / 2) + pinball(y, hi, 1 - a / 2)) / 2,
            "zero_width": bool(np.all(hi == lo))}
