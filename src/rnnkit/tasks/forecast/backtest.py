"""Rolling-origin evaluation (time-series cross-validation).

For origins o_1 < o_2 < ... (the first forecast index), the forecaster sees only the values
before o_k and forecasts ``x[o_k : o_k + H]``:

    refit=True   fit a fresh copy on x[:o_k] at every origin (the honest, costly protocol);
    refit=False  fit once on x[:o_1], then forecast from each later origin with that model
                 (inputs are the L values before o_k, which the forecaster would know).

Origins default to the last ``n_origins`` possible ones, ``step`` apart, so the last window
ends at the end of the series.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from rnnkit.tasks.forecast import metrics as fmetrics

__all__ = ["rolling_origin", "rolling_origins"]


def rolling_origins(length: int, horizon: int, n_origins: int = 5, step: int | None = None,
                    min_train: int = 1) -> list[int]:
    """The last ``n_origins`` forecast origins, ``step`` (default H) apart, oldest first."""
    if n_origins < 1:
        raise ValueError(f"n_origins must be a positive int, got {n_origins!r}")
    step = horizon if step is None else step
    if step < 1:
        raise ValueError(f"step must be a positive int, got {step!r}")
    last = length - horizon
    origins = [last - k * step for k in range(n_origins)][::-1]
    if origins[0] < min_train:
        raise ValueError(f"a series of {length} values cannot hold {n_origins} origins "
                         f"{step} apart with horizon {horizon} and at least {min_train} "
                         f"values before the first")
    return origins


def rolling_origin(forecaster: Any, series: np.ndarray, n_origins: int = 5,
                   step: int | None = None, refit: bool = True) -> dict[str, Any]:
    """Backtest an (unfitted) ``Forecaster`` on a univariate ``series`` ``(T,)``.

    Returns ``{"origins": [...], "y_true", "y_pred": (K, H), "metrics": {...}
    (over all K x H values), "per_origin": [{...}, ...]}``; MASE uses the naive scale of
    the values before each origin.
    """
    x = np.asarray(series, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"series must be 1-D (T,), got shape {x.shape}")
    H = forecaster.horizon
    origins = rolling_origins(len(x), H, n_origins, step,
                              min_train=forecaster.input_len + H + 1)
    y_true, y_pred, per_origin = [], [], []
    fitted = None
    for o in origins:
        if refit or fitted is None:
            fitted = copy.deepcopy(forecaster).fit(x[:o])
        pred = np.asarray(fitted.predict(x[:o]))  # (H,)
        truth = x[o:o + H]
        y_true.append(truth)
        y_pred.append(pred)
        per_origin.append({"origin": o, **fmetrics.evaluate_all(truth, pred, train=x[:o])})
    y_true_a, y_pred_a = np.stack(y_true), np.stack(y_pred)  # (K, H)
    return {"origins": origins, "y_true": y_true_a, "y_pred": y_pred_a,
            "metrics": fmetrics.evaluate_all(y_true_a, y_pred_a, train=x[:origins[0]]),
            "per_origin": per_origin}
