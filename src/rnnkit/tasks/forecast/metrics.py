"""Forecast accuracy metrics (NumPy), averaged over every forecast value.

With y the true values and ŷ the forecasts (any equal shapes, e.g. (N, H)):

    MSE   = mean((y - ŷ)²)                RMSE = sqrt(MSE)
    MAE   = mean(|y - ŷ|)
    sMAPE = mean(2 |y - ŷ| / (|y| + |ŷ|)) * 100      (terms with y = ŷ = 0 count 0)
    MASE  = MAE / mean(|x_t - x_{t-m}|)     the in-sample MAE of the seasonal naive
                                            forecast (m = 1: last value) on the training
                                            series x (Hyndman & Koehler 2006)
"""

from __future__ import annotations

import numpy as np

__all__ = ["METRICS", "evaluate_all", "mae", "mase", "mse", "naive_scale", "rmse", "smape"]


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
    """Mean absolute scaled error: MAE / :func:`naive_scale` (inf if the scale is 0)."""
    scale = naive_scale(train, season)
    return float(mae(y_true, y_pred) / scale) if scale > 0 else float("inf")


METRICS = {"mse": mse, "rmse": rmse, "mae": mae, "smape": smape}


def evaluate_all(y_true: np.ndarray, y_pred: np.ndarray, train: np.ndarray | None = None,
                 season: int = 1) -> dict[str, float]:
    """``{"mae", "rmse", "mse", "smape"}`` and ``"mase"`` when the training series is given."""
    out = {name: fn(y_true, y_pred) for name, fn in METRICS.items()}
    if train is not None:
        out["mase"] = mase(y_true, y_pred, train, season)
    return out
