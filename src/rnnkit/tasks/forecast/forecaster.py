"""``Forecaster``: the public estimator over the forecasting models, strategies and scalers.

    fc = Forecaster(model="lstm", input_len=24, horizon=12, strategy="direct")
    fc.fit(series)                 # (T,) or (T, D) array, a loaded Series, or a list of series
    fc.predict()                   # (H,) the next H values after the training series
    fc.predict(other_series)       # (H,) after the end of another series (or (S, H) for many)
    fc.score(series)               # minus the MAE of the last H values forecast from the rest
    fc.evaluate(series, start)     # MAE, RMSE, sMAPE, MASE of every window after ``start``
    fc.predict_intervals(n_samples=100)   # MC-dropout mean/std/quantiles (needs dropout > 0)
    fc.save("model_dir"); Forecaster.load("model_dir")

Fitting: the last ``validation`` part of each series (fraction, count, or None: two
horizons) is held out in time order for the validation loss and early stopping (``patience``
epochs without improvement; the best weights are restored); the scaler is fitted on the
training part only; windows follow :mod:`rnnkit.data.windowing`'s no-leakage rule. Learned
state ends in ``_``: ``model_``, ``scaler_``, ``history_``, ``last_window_``,
``n_features_``, ``fit_seconds_``, ``fit_status_``. Saved through
:meth:`rnnkit.tasks.base.Estimator.save` (JSON config + safetensors) with the scaler and the
last input window in its state.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from rnnkit.data.scalers import make_scaler, scaler_from_dict
from rnnkit.data.windowing import Windowing, as_series_list, time_split
from rnnkit.errors import ConfigError, DataError
from rnnkit.tasks.base import (
    Estimator,
    check_choice,
    check_float,
    check_int,
)
from rnnkit.tasks.forecast import metrics as fmetrics
from rnnkit.tasks.forecast.intervals import mc_dropout_intervals
from rnnkit.tasks.forecast.models import BASELINES, MODELS, build_model, output_steps
from rnnkit.tasks.forecast.strategies import STRATEGIES, forecast, training_windows

__all__ = ["Forecaster", "series_list"]

log = logging.getLogger(__name__)

LEVELS = ("last", "none")
SCALERS = ("standard", "log", "minmax", "none")


def series_list(series: Any) -> list[np.ndarray]:
    """One or many series as float64 ``(T_i, D)`` arrays; a loaded
    :class:`~rnnkit.data.series.Series` gives its value columns."""
    values = getattr(series, "values", None)
    if isinstance(values, np.ndarray) and hasattr(series, "columns"):
        series = values  # rnnkit.data.series.Series: (T, D)
    try:
        items = as_series_list(series)
    except ValueError as err:
        raise DataError(str(err)) from err
    out = []
    for i, a in enumerate(items):
        if not (np.issubdtype(a.dtype, np.number) or a.dtype == np.bool_):
            raise DataError(f"series {i} must hold numbers, got dtype {a.dtype}")
        out.append(a.astype(np.float64))
    return out


class Forecaster(Estimator):
    """Forecast the next ``horizon`` values of a series from its last ``input_len`` values.

    Args:
        model: a name from :data:`rnnkit.tasks.forecast.models.MODELS` (default "lstm").
        input_len: L, input steps (default 24). horizon: H, steps ahead (default 12).
        strategy: "direct" (default), "recursive" or "seq2seq".
        epochs, batch_size, lr: Adam training (defaults 300, 16, 3e-3).
        hidden, layers, dropout, season: passed to ``build_model``. With ``dropout > 0``
            the point forecast runs with dropout off and :meth:`predict_intervals` turns the
            layers' ``mc_dropout`` on for its stochastic passes.
        scaler: "standard" (default), "log" (log, then standardise; positive series with a
            multiplicative trend or season), "minmax" or "none"; fitted on the training part.
        level: "last" (default) subtracts each window's last input value from its inputs and
            targets (after scaling) and adds it back to the forecasts, so the network learns
            changes relative to the current level and trending series leave the scaler's
            range less; "none" feeds the scaled values as they are.
        validation: held-out part at the end of each series: a fraction, a count, or None
            (default: 2 x horizon values); 0 trains on everything.
        patience: early stopping on val_loss after this many epochs without improvement
            (default 50; None: off).
        target_col: forecast column of multi-column series (default 0).
        seed: seeds the weights and shuffling (default 0). device: "cpu" or "cuda".
        verbose: progress: "auto" (default: a bar on a terminal, log lines otherwise), 0, 1, 2.
        precision: "fp32" (default), "bf16" or "fp16": autocast of the training passes.
    """

    task = "forecaster"

    def __init__(self, model: str = "lstm", input_len: int = 24, horizon: int = 12,
                 strategy: str = "direct", epochs: int = 300, batch_size: int = 16,
                 lr: float = 3e-3, hidden: int = 32, layers: int = 1, dropout: float = 0.0,
                 scaler: str = "standard", level: str = "last",
                 validation: float | int | None = None, patience: int | None = 50,
                 season: int = 12, target_col: int = 0, seed: int | None = 0,
                 device: str = "cpu", verbose: int | str = "auto",
                 precision: str = "fp32") -> None:
        self.model = model
        self.input_len = input_len
        self.horizon = horizon
        self.strategy = strategy
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.hidden = hidden
        self.layers = layers
        self.dropout = dropout
        self.scaler = scaler
        self.level = level
        self.validation = validation
        self.patience = patience
        self.season = season
        self.target_col = target_col
        self.seed = seed
        self.device = device
        self.verbose = verbose
        self.precision = precision

    # ------------------------------------------------------------------ settings
    def _check_params(self) -> None:
        check_choice("model", self.model, MODELS)
        check_choice("strategy", self.strategy, STRATEGIES)
        for name in ("input_len", "horizon", "hidden", "layers", "season"):
            check_int(name, getattr(self, name))
        check_int("target_col", self.target_col, -10**6)
        check_choice("level", self.level, LEVELS)
        check_choice("scaler", self.scaler, SCALERS)
        check_float("dropout", self.dropout, 0.0, 1.0, low_open=False)
        self._check_training()

    def _n_validation(self) -> float | int:
        return 2 * self.horizon if self.validation is None else self.validation

    # ------------------------------------------------------------------ fitting
    def _scale(self, items: list[np.ndarray]) -> list[np.ndarray]:
        return [self.scaler_.transform(a).astype(np.float32) for a in items]  # (T, D)

    def _unscale(self, z: np.ndarray) -> np.ndarray:
        return self.scaler_.inverse_column(z, self.target_col % self.n_features_)

    def _level(self, x: np.ndarray) -> np.ndarray:
        """The level subtracted from a window: its last target-column input, ``(N,)``."""
        if self.level == "none":
            return np.zeros(len(x), dtype=x.dtype)
        return x[:, -1, self.target_col]

    def _inputs_of(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        x = batch["x"]  # (N, L, D)
        return x - x[:, -1:, :] if self.level == "last" else x

    def _targets(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        y = batch["y"]  # (N, O) or (N, L, H)
        if self.strategy == "seq2seq":
            y = y[:, output_steps(self.model, self.input_len)]  # (N, T', H)
        level = self._level(batch["x"])  # (N,)
        return y - level.reshape((-1,) + (1,) * (y.ndim - 1))

    def fit(self, X: Any, y: None = None, *, checkpoint: str | os.PathLike | None = None,
            checkpoint_every: int = 1, resume: bool = False) -> Forecaster:
        """Train on one series ``(T,)`` / ``(T, D)`` or many (a list, or ``(S, T, D)``);
        ``y`` is ignored (scikit-learn's signature). ``checkpoint``, ``checkpoint_every``,
        ``resume``: a resumable fit (:mod:`rnnkit.tasks.base`; baselines train nothing)."""
        from rnnkit.train import seed_everything

        self._check_params()
        items = series_list(X)
        L, H = self.input_len, self.horizon
        for i, arr in enumerate(items):
            if not np.all(np.isfinite(arr)):
                raise DataError(f"series {i} holds NaN or inf values; clean or interpolate "
                                f"them first")
            if len(arr) < L + H:
                raise DataError(f"series {i} has {len(arr)} values, fewer than input_len + "
                                f"horizon = {L} + {H} = {L + H}")
        self.n_features_ = items[0].shape[1]
        if not -self.n_features_ <= self.target_col < self.n_features_:
            raise ConfigError(f"target_col must index one of the {self.n_features_} columns, "
                              f"got {self.target_col}")
        splits = [time_split(len(a), valid=self._n_validation(), test=0, min_train=L + H)
                  for a in items]
        self.scaler_ = make_scaler(self.scaler).fit([a[:s.train_end]
                                                     for a, s in zip(items, splits, strict=True)])
        scaled = self._scale(items)
        win = training_windows(self.strategy, L, H, self.target_col)
        train = _concat([win(z, 0, s.train_end) for z, s in zip(scaled, splits, strict=True)])
        val = _concat([win(z, s.train_end, s.valid_end)
                       for z, s in zip(scaled, splits, strict=True)])
        if len(train["x"]) == 0:
            raise DataError(f"no training window: the series are too short for input_len={L} "
                            f"and horizon={H}")
        if self.seed is not None:
            seed_everything(self.seed)
        self.model_ = build_model(
            self.model, L, H if self.strategy != "recursive" else 1,
            in_features=self.n_features_, seq2seq=self.strategy == "seq2seq",
            hidden=self.hidden, layers=self.layers, dropout=self.dropout,
            mc_dropout=False, season=self.season, target_col=self.target_col)
        start = time.perf_counter()
        self.history_: dict[str, list[float]] = {}
        self.fit_status_ = "ok"
        if self.model not in BASELINES:
            from rnnkit.train import ArrayBatches
            from rnnkit.train.batches import to_tensor

            def batches(b: dict[str, np.ndarray], shuffle: bool) -> ArrayBatches:
                x = to_tensor(self._inputs_of(b), "x", self.model_._float_dtype())
                t = to_tensor(self._targets(b), "y", self.model_._float_dtype())
                return ArrayBatches(x, t, self.batch_size, shuffle=shuffle, generator=gen)

            import torch

            gen = torch.Generator().manual_seed(self.seed if self.seed is not None else 0)
            self._train(self.model_, batches(train, True),
                        batches(val, False) if len(val["x"]) else None,
                        loss="mse", epochs=self.epochs, desc=self.model,
                        checkpoint=checkpoint, checkpoint_every=checkpoint_every,
                        resume=resume)
        self.fit_seconds_ = time.perf_counter() - start
        self.last_window_ = [z[-L:].tolist() for z in scaled]  # S x (L, D), scaled
        self.data_info_: dict[str, Any] = {}
        log.info("fitted %s on %d windows in %.1f s", self.model, len(train["x"]),
                 self.fit_seconds_)
        return self

    # ------------------------------------------------------------------ forecasting
    def _predict_scaled(self, x: np.ndarray, steps: int | None = None) -> np.ndarray:
        """Forecasts in scaled units from scaled inputs ``x (N, L, D)`` -> ``(N, steps)``
        (default H)."""
        def predict(b: np.ndarray) -> np.ndarray:
            b = b.astype(np.float32)
            out = self.model_.predict(self._inputs_of({"x": b}), batch_size=1024)
            return out + self._level(b).reshape((-1,) + (1,) * (out.ndim - 1))

        return forecast(predict, self.strategy, x, self.horizon if steps is None else steps)

    def _inputs(self, series: np.ndarray | Sequence[np.ndarray] | None) -> np.ndarray:
        if series is None:
            return np.asarray(self.last_window_, dtype=np.float32)  # (S, L, D)
        items = as_series_list(series)
        if items[0].shape[1] != self.n_features_:
            raise DataError(f"series must have {self.n_features_} column(s) like the training "
                            f"data, got {items[0].shape[1]}")
        for i, a in enumerate(items):
            if len(a) < self.input_len:
                raise DataError(f"series {i} has {len(a)} values, fewer than input_len="
                                f"{self.input_len}")
            if not np.all(np.isfinite(a[-self.input_len:])):
                raise DataError(f"series {i} has NaN or inf among its last {self.input_len} "
                                f"values")
        return np.stack(self._scale([a[-self.input_len:] for a in items]))  # (S, L, D)

    def max_steps(self) -> int | None:
        """The most steps :meth:`predict` can forecast: H for the direct and seq2seq
        strategies, ``None`` (any number) for recursive on one column."""
        return None if self.strategy == "recursive" and self.n_features_ == 1 else self.horizon

    def predict(self, series: np.ndarray | Sequence[np.ndarray] | None = None,
                steps: int | None = None) -> np.ndarray:
        """The next ``steps`` (default H) values after the end of ``series`` (default: the
        training series): ``(steps,)`` for one series, ``(S, steps)`` for many, in the
        original units. The recursive strategy forecasts any number of steps (feeding its
        forecasts back); direct and seq2seq at most H."""
        self._check_fitted()
        steps = self.horizon if steps is None else steps
        check_int("steps", steps)
        most = self.max_steps()
        if most is not None and steps > most:
            raise ConfigError(f"steps must be at most {most} for strategy {self.strategy!r} "
                              f"(horizon {self.horizon}; the recursive strategy on one "
                              f"column forecasts any number), got {steps}")
        x = self._inputs(series)  # (S, L, D)
        out = self._unscale(self._predict_scaled(x, steps))  # (S, steps)
        return out[0] if len(out) == 1 else out

    def predict_intervals(self, series: np.ndarray | Sequence[np.ndarray] | None = None,
                          n_samples: int = 100, quantiles: Sequence[float] = (0.05, 0.95),
                          seed: int | None = 0) -> dict[str, np.ndarray]:
        """MC-dropout forecast summary ``{"mean", "std", "lower", "upper", ...}``, each
        ``(H,)`` (or ``(S, H)``); meaningful for models fitted with ``dropout > 0``."""
        self._check_fitted()
        if not self.dropout or not any(hasattr(m, "mc_dropout") for m in self.model_.modules()):
            log.warning("predict_intervals: model %r has no active dropout layer; the interval "
                        "has zero width (use a recurrent model fitted with dropout > 0)",
                        self.model)
        x = self._inputs(series)
        with _mc_dropout(self.model_):
            out = mc_dropout_intervals(lambda: self._unscale(self._predict_scaled(x)),
                                       n_samples=n_samples, quantiles=quantiles, seed=seed)
        if len(x) == 1:
            return {k: v[:, 0] if k == "samples" else v[0] for k, v in out.items()}
        return out

    def backtest_windows(self, series: np.ndarray, target_start: int = 0,
                         target_stop: int | None = None) -> dict[str, np.ndarray]:
        """Forecast every window of ``series`` whose H targets lie in
        ``[target_start, target_stop)``: ``{"y_true", "y_pred" (N, H), "start" (N,)}``
        in the original units (inputs may come from before ``target_start``)."""
        self._check_fitted()
        items = as_series_list(series)
        win = Windowing(self.input_len, self.horizon, target_col=self.target_col)
        batch = _concat([win(z, target_start, target_stop) for z in self._scale(items)])
        raw = _concat([win(a, target_start, target_stop) for a in items])
        if len(batch["x"]) == 0:
            raise DataError(f"no window of input_len={self.input_len} + horizon="
                            f"{self.horizon} has its targets in [{target_start}, "
                            f"{target_stop})")
        y_pred = self._unscale(self._predict_scaled(batch["x"]))  # (N, H)
        return {"y_true": raw["y"].astype(np.float64), "y_pred": y_pred,
                "start": batch["start"]}

    def score(self, X: Any, y: None = None) -> float:
        """Minus the MAE (higher is better, scikit-learn's convention) of the forecast of each
        series' last H values from the values before them, averaged over the series."""
        self._check_fitted()
        items = series_list(X)
        H = self.horizon
        errors = []
        for i, a in enumerate(items):
            if len(a) < self.input_len + H:
                raise DataError(f"series {i} has {len(a)} values; score needs input_len + "
                                f"horizon = {self.input_len + H}")
            pred = self.predict(a[:-H])  # (H,)
            errors.append(np.mean(np.abs(a[-H:, self.target_col] - pred)))
        return -float(np.mean(errors))

    def evaluate(self, series: np.ndarray, target_start: int, target_stop: int | None = None,
                 train: np.ndarray | None = None) -> dict[str, float]:
        """MAE, RMSE, MSE, sMAPE (and MASE against ``train``'s naive scale, with
        ``season``=1) of the windows whose targets lie in ``[target_start, target_stop)``."""
        res = self.backtest_windows(series, target_start, target_stop)
        if train is not None:
            train = np.asarray(train, dtype=np.float64)
            train = train if train.ndim == 1 else train[:, self.target_col]
        return fmetrics.evaluate_all(res["y_true"], res["y_pred"], train=train)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike, data_info: dict[str, Any] | None = None, *,
             overwrite: bool = False) -> Path:
        """Write the model folder atomically: weights, layer config, settings, scaler.

        ``data_info`` (JSON-able, e.g. ``{"column": "y", "date_column": "month"}``) is kept
        for tools that reload the model; :meth:`load` puts it in ``data_info_``.
        """
        if data_info is not None:
            self._check_fitted()
            self.data_info_ = dict(data_info)
        return super().save(path, overwrite=overwrite)

    def _state(self) -> dict[str, Any]:
        return {"scaler": self.scaler_.to_dict(), "n_features": self.n_features_,
                "last_window": self.last_window_, "fit_seconds": self.fit_seconds_,
                "data_info": getattr(self, "data_info_", {})}

    def _set_state(self, state: dict[str, Any]) -> None:
        self.scaler_ = scaler_from_dict(state["scaler"])
        self.n_features_ = int(state["n_features"])
        window = np.asarray(state["last_window"], dtype=np.float64)
        if window.ndim != 3 or window.shape[1:] != (self.input_len, self.n_features_) or not (
                np.isfinite(window).all()):
            raise ValueError(f"state.last_window must be finite of shape (S, input_len="
                             f"{self.input_len}, {self.n_features_}), got {window.shape}")
        self.last_window_ = window.tolist()
        self.fit_seconds_ = float(state.get("fit_seconds", 0.0))
        self.data_info_ = dict(state.get("data_info") or {})
        out = self._predict_scaled(window[:1].astype(np.float32))
        if out.shape != (1, self.horizon):
            raise ValueError(f"the saved network forecasts {out.shape[-1]} steps, but horizon "
                             f"is {self.horizon}")


@contextmanager
def _mc_dropout(model: Any) -> Iterator[None]:
    """Turn ``mc_dropout`` on in every layer that has it (dropout active in eval mode),
    and restore the previous values afterwards."""
    layers = [m for m in model.modules() if hasattr(m, "mc_dropout")]
    before = [m.mc_dropout for m in layers]
    for m in layers:
        m.mc_dropout = True
    try:
        yield
    finally:
        for m, b in zip(layers, before, strict=True):
            m.mc_dropout = b


def _concat(batches: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Concatenate window batches (dicts of arrays) along the first axis."""
    return {k: np.concatenate([b[k] for b in batches]) for k in batches[0]}
