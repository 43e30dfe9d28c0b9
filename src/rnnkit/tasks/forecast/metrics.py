"""Forecast accuracy metrics (NumPy), averaged over every forecast value.

With y the true values and ŷ the forecasts (any equal shapes, e.g. (N, H)):

    MSE   = mean((y - ŷ)²)                RMSE = sqrt(MSE)
    MAE   = mean(|y - ŷ|)
    sMAPE = mean(2 |y - ŷ| / (|y| + |ŷ|)) * 100      (terms with y = ŷ = 0 count 0)
    MASE  = MAE / mean(|x_t - x_{t-m}|)     the in-sample MAE of the seasonal naive
                                            forecast (m = 1: last value) on the training
                                            series x (Hyndman & Koehler 2006)

Probabilistic scores (lower is better; each averaged over every forecast value):

    pinball_τ(y, q) = max(τ (y - q), (τ - 1)(y - q))      the loss of q as the τ-quantile
    CRPS(F, y)      = ∫ (F(z) - 1{y <= z})² dz = E|X - y| - ½ E|X - X'|   (X, X' ~ F)

    Gaussian F = N(μ, σ²), z = (y - μ) / σ (Gneiting & Raftery 2007, closed form):
        CRPS = σ (z (2Φ(z) - 1) + 2φ(z) - 1/√π)            (σ = 0: |y - μ|)
    Quantiles q_τ1..q_τQ of F: CRPS = ∫₀¹ 2 pinball_τ(y, q_τ) dτ ≈ (2/Q) Σ_j pinball_τj
    Samples x_(1) <= ... <= x_(S): E|X - y| ≈ (1/S) Σ |x_i - y| and
        E|X - X'| ≈ (2/S²) Σ_i (2i - S - 1) x_(i)          (the empirical distribution)
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["METRICS", "crps_gaussian", "crps_quantiles", "crps_samples", "evaluate_all", "mae",
           "mase", "mse", "naive_scale", "pinball", "rmse", "smape"]


def _pair(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred must have the same shape, got {y_true.shape} "
                         f"and {y_pred.shape}")
    if y_true.size == 0:
        raise ValueError("y_true must hold at least one value, got an empty array")
    return y_true, y_pred


def mse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean squared error."""
    y, p = _pair(y_true, y_pred)
    return float(np.mean((y - p) ** 2))


def rmse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Root mean squared error."""
    return float(np.sqrt(mse(y_true, y_pred)))


def mae(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean absolute error."""
    y, p = _pair(y_true, y_pred)
    return float(np.mean(np.abs(y - p)))


def smape(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Symmetric mean absolute percentage error, in percent (0 to 200)."""
    y, p = _pair(y_true, y_pred)
    den = np.abs(y) + np.abs(p)
    terms = np.divide(2 * np.abs(y - p), den, out=np.zeros_like(den), where=den > 0)
    return float(100 * np.mean(terms))


def naive_scale(train: np.ndarray, season: int = 1) -> float:
    """In-sample MAE of the seasonal naive forecast on ``train``: mean |x_t - x_{t-m}|."""
    x = np.asarray(train, dtype=np.float64).reshape(len(train), -1)
    if season < 1 or len(x) <= season:
        raise ValueError(f"train must be longer than season={season}, got {len(x)} values")
    return float(np.mean(np.abs(x[season:] - x[:-season])))


def mase(y_true: np.ndarray, y_pred: np.ndarray, train: np.ndarray, season: int = 1) -> float:
    """Mean absolute scaled error: MAE / :func:`naive_scale`; NaN (undefined) when the scale
    is 0, a training part that repeats itself every ``season`` steps (a constant series),
    where any error, even a rounding error, would be infinitely many scales."""
    scale = naive_scale(train, season)
    return float(mae(y_true, y_pred) / scale) if scale > 0 else float("nan")


METRICS = {"mse": mse, "rmse": rmse, "mae": mae, "smape": smape}


def evaluate_all(y_true: np.ndarray, y_pred: np.ndarray, train: np.ndarray | None = None,
                 season: int = 1) -> dict[str, float]:
    """``{"mae", "rmse", "mse", "smape"}`` and ``"mase"`` when the training series is given."""
    out = {name: fn(y_true, y_pred) for name, fn in METRICS.items()}
    if train is not None:
        out["mase"] = mase(y_true, y_pred, train, season)
    return out


def pinball(y_true: np.ndarray, q_pred: np.ndarray, tau: float) -> float:
    """Mean pinball (quantile) loss of ``q_pred`` as the ``tau``-quantile of ``y_true``."""
    if not 0.0 < tau < 1.0:
        raise ValueError(f"tau must be in (0, 1), got {tau!r}")
    y, q = _pair(y_true, q_pred)
    d = y - q
    return float(np.mean(np.maximum(tau * d, (tau - 1) * d)))


def crps_gaussian(y_true: np.ndarray, mean: np.ndarray, std: np.ndarray) -> float:
    """Mean CRPS of Gaussian forecasts ``N(mean, std²)`` (closed form, see the module doc);
    ``std`` >= 0 of the same shape (0: the absolute error)."""
    import torch  # Φ from torch (a base dependency; scipy is not)

    y, mu = _pair(y_true, mean)
    sigma = np.broadcast_to(np.asarray(std, dtype=np.float64), y.shape)
    if np.any(~(sigma >= 0)):
        raise ValueError("std must be >= 0 everywhere, got a negative or NaN value")
    safe = np.where(sigma > 0, sigma, 1.0)
    z = (y - mu) / safe
    pdf = np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    cdf = torch.special.ndtr(torch.from_numpy(z)).numpy()
    crps = safe * (z * (2 * cdf - 1) + 2 * pdf - 1 / math.sqrt(math.pi))
    return float(np.mean(np.where(sigma > 0, crps, np.abs(y - mu))))


def crps_quantiles(y_true: np.ndarray, quantiles: np.ndarray, levels: list[float]) -> float:
    """Mean CRPS from forecast quantiles ``(Q, ...)`` at ``levels`` τ_1..τ_Q: twice the
    pinball loss averaged over the levels (see the module doc)."""
    q = np.asarray(quantiles, dtype=np.float64)
    if q.ndim < 1 or len(q) != len(levels) or not len(levels):
        raise ValueError(f"quantiles must have shape (Q, ...) with Q = len(levels) = "
                         f"{len(levels)} >= 1, got {q.shape}")
    return float(2 * np.mean([pinball(y_true, qj, tau)
                              for qj, tau in zip(q, levels, strict=True)]))


def crps_samples(y_true: np.ndarray, samples: np.ndarray) -> float:
    """Mean CRPS of the empirical distribution of ``samples (S, ...)`` (see the module
    doc)."""
    x = np.asarray(samples, dtype=np.float64)
    y = np.asarray(y_true, dtype=np.float64)
    if x.ndim < 1 or len(x) < 1 or x.shape[1:] != y.shape:
        raise ValueError(f"samples must have shape (S, *y_true.shape) = (S, "
                         f"{', '.join(map(str, y.shape))}), got {x.shape}")
    S = len(x)
    x = np.sort(x, axis=0)
    spread = np.tensordot(2 * np.arange(1, S + 1) - S - 1, x, axes=1) * 2 / S**2  # E|X-X'|
    return float(np.mean(np.mean(np.abs(x - y), axis=0) - 0.5 * spread))
