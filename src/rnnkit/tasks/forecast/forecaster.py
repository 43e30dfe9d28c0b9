"""``Forecaster``: the public estimator over the forecasting models, strategies and scalers.

    fc = Forecaster(model="lstm", input_len=24, horizon=12, strategy="direct")
    fc.fit(series)                 # (T,) or (T, D) array, a loaded Series, a list of series,
                                   # a dict {id: array}, a Panel or a pandas DataFrame
    fc.predict()                   # (H,) the next H values after the training series ((S, H))
    fc.predict(ids=["b"])          # after the training series "b" only
    fc.predict(other_series)       # (H,) after the end of another series (or (S, H) for many)
    fc.score(series)               # minus the MAE of the last H values forecast from the rest
    fc.evaluate(series, start)     # MAE, RMSE, sMAPE, MASE of every window after ``start``
    fc.predict_intervals(n_samples=100)   # MC-dropout mean/std/quantiles (needs dropout > 0)
    fc.save("model_dir"); Forecaster.load("model_dir")

Fitting: the last ``validation`` part of each series (fraction, count, or None: two
horizons) is held out in time order for the validation loss and early stopping (``patience``
epochs without improvement; the best weights are restored); the scalers are fitted on the
training part only; windows follow :mod:`rnnkit.data.windowing`'s no-leakage rule.

Many series (:mod:`rnnkit.data.panel`): one global network is trained on the windows of all
series. ``scaling="series"`` (default) fits one scaler per series id on that series'
training part, so a series at level 10 and one at level 1000 both reach the network in
units of their own spread (the forecast is scaled back with the same series' scaler);
``scaling="pooled"`` fits one scaler on all of them. Which scaler serves a series given to
:meth:`~Forecaster.predict` (or scored, backtested):

    named series (a dict, Panel, DataFrame, or ``ids=``)  the scaler of that id; an id not
        seen in training gets a scaler fitted on the values given for it (a logged notice);
    unnamed arrays  by position when there are as many as training series; all take the
        one scaler when the model has one series; else fitted on the values given;
    pooled scaling  the one scaler, for every series.

Learned state ends in ``_``: ``model_``, ``ids_``, ``scalers_`` (id -> scaler),
``history_``, ``last_window_``, ``n_features_``, ``fit_seconds_``, ``fit_status_``. Saved
through :meth:`rnnkit.tasks.base.Estimator.save` (JSON config + safetensors) with the
scalers keyed by id and the last input window of each series in its state.
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

from rnnkit.data.panel import Panel, as_panel
from rnnkit.data.scalers import Scaler, make_scaler, scaler_from_dict
from rnnkit.data.windowing import Windowing, time_split
from rnnkit.errors import ConfigError, DataError
from rnnkit.tasks.base import (
    Estimator,
    check_choice,
    check_float,
    check_int,
)
from rnnkit.tasks.forecast import metrics as fmetrics
from rnnkit.tasks.forecast.heads import HEADS, check_quantiles, head_loss, n_outputs, point_of
from rnnkit.tasks.forecast.heads import quantiles_of as head_quantiles
from rnnkit.tasks.forecast.intervals import mc_dropout_intervals
from rnnkit.tasks.forecast.models import BASELINES, MODELS, build_model, output_steps
from rnnkit.tasks.forecast.strategies import STRATEGIES, forecast, training_windows

__all__ = ["Forecaster"]

log = logging.getLogger(__name__)

LEVELS = ("last", "none")
SCALERS = ("standard", "log", "minmax", "none")
SCALINGS = ("series", "pooled")


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
        scaling: "series" (default: one scaler per series id) or "pooled" (one scaler over
            all series); see the module doc.
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
        head: "point" (default: H outputs, MSE), "quantile" (the ``quantiles`` of each step,
            pinball loss; the point forecast is the median) or "gaussian" (mean and softplus
            scale, Gaussian NLL; the point forecast is the mean); see
            :mod:`rnnkit.tasks.forecast.heads`. The probabilistic heads need the direct
            strategy and a trained model; :meth:`predict_quantiles` reads their distribution.
        quantiles: the quantile head's levels (default (0.1, 0.5, 0.9); must hold 0.5).
    """

    task = "forecaster"

    def __init__(self, model: str = "lstm", input_len: int = 24, horizon: int = 12,
                 strategy: str = "direct", epochs: int = 300, batch_size: int = 16,
                 lr: float = 3e-3, hidden: int = 32, layers: int = 1, dropout: float = 0.0,
                 scaler: str = "standard", scaling: str = "series", level: str = "last",
                 validation: float | int | None = None, patience: int | None = 50,
                 season: int = 12, target_col: int = 0, seed: int | None = 0,
                 device: str = "cpu", verbose: int | str = "auto",
                 precision: str = "fp32", head: str = "point",
                 quantiles: Sequence[float] = (0.1, 0.5, 0.9)) -> None:
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
        self.scaling = scaling
        self.level = level
        self.validation = validation
        self.patience = patience
        self.season = season
        self.target_col = target_col
        self.seed = seed
        self.device = device
        self.verbose = verbose
        self.precision = precision
        self.head = head
        # a tuple, as JSON gives a list back: a saved model's get_params() stays equal
        self.quantiles = tuple(quantiles) if isinstance(quantiles, list) else quantiles

    # ------------------------------------------------------------------ settings
    def _check_params(self) -> None:
        check_choice("model", self.model, MODELS)
        check_choice("strategy", self.strategy, STRATEGIES)
        for name in ("input_len", "horizon", "hidden", "layers", "season"):
            check_int(name, getattr(self, name))
        check_int("target_col", self.target_col, -10**6)
        check_choice("level", self.level, LEVELS)
        check_choice("scaler", self.scaler, SCALERS)
        check_choice("scaling", self.scaling, SCALINGS)
        check_float("dropout", self.dropout, 0.0, 1.0, low_open=False)
        check_choice("head", self.head, HEADS)
        if self.head != "point":
            check_quantiles(self.quantiles)
            if self.strategy != "direct" or self.model in BASELINES:
                raise ConfigError(f"head {self.head!r} needs strategy 'direct' and a trained "
                                  f"model, got strategy {self.strategy!r} and model "
                                  f"{self.model!r}")
        self._check_training()

    def _n_validation(self) -> float | int:
        return 2 * self.horizon if self.validation is None else self.validation

    # ------------------------------------------------------------------ fitting
    @property
    def scaler_(self) -> Scaler:
        """The one scaler of a single-series or pooled model (ConfigError when each of
        several series has its own: use ``scalers_``)."""
        self._check_fitted()
        first = self.scalers_[self.ids_[0]]
        if any(sc is not first for sc in self.scalers_.values()):
            raise ConfigError(f"this forecaster has one scaler per series ({len(self.ids_)} "
                              f"ids); read scalers_[id]")
        return first

    def _scalers_for(self, panel: Panel) -> list[Scaler]:
        """The scaler of each series of ``panel`` by the rule of the module doc."""
        fitted = [self.scalers_[i] for i in self.ids_]
        if self.scaling == "pooled":
            return [fitted[0]] * len(panel)
        if not panel.named:
            if len(panel) == len(self.ids_):
                return fitted
            if len(self.ids_) == 1:
                return fitted * len(panel)
        keys = panel.ids if panel.named else [None] * len(panel)
        new = [k for k in keys if k not in self.scalers_]
        if new:
            log.warning("%d series not seen in training (%s): each is scaled by a scaler "
                        "fitted on the values given for it", len(new),
                        ", ".join(repr(k) for k in new[:5] if k is not None) or "unnamed")
        return [self.scalers_[k] if k in self.scalers_ else make_scaler(self.scaler).fit(a)
                for k, a in zip(keys, panel.values, strict=True)]

    @staticmethod
    def _scale(items: list[np.ndarray], scalers: list[Scaler]) -> list[np.ndarray]:
        return [sc.transform(a).astype(np.float32)  # (T, D)
                for a, sc in zip(items, scalers, strict=True)]

    def _unscale(self, z: np.ndarray, scalers: list[Scaler],
                 rows: np.ndarray | None = None) -> np.ndarray:
        """Scaled forecasts ``z (N, ...)`` back to the original units; row n belongs to the
        series ``rows[n]`` (default: row n to series n) and takes its scaler."""
        col = self.target_col % self.n_features_
        rows = np.arange(len(z)) if rows is None else rows
        out = np.empty(np.shape(z), dtype=np.float64)
        for i, sc in enumerate(scalers):
            mask = rows == i  # (N,)
            if mask.any():
                out[mask] = sc.inverse_column(z[mask], col)
        return out

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
        """Train on one series ``(T,)`` / ``(T, D)`` or many (a list, ``(S, T, D)``, a dict
        ``{id: values}``, a :class:`~rnnkit.data.panel.Panel` or a pandas DataFrame; with
        D > 1, column ``target_col`` is forecast and the others are past covariates, read
        over the input window only); ``y`` is ignored (scikit-learn's signature).
        ``checkpoint``, ``checkpoint_every``, ``resume``: a resumable fit
        (:mod:`rnnkit.tasks.base`; baselines train nothing)."""
        from rnnkit.train import seed_everything

        self._check_params()
        panel = as_panel(X)
        items = panel.values
        if len(set(panel.ids)) != len(panel.ids):
            raise DataError(f"series ids must be unique, got {panel.ids}")
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
        parts = [a[:s.train_end] for a, s in zip(items, splits, strict=True)]
        if self.scaling == "pooled":
            scalers = [make_scaler(self.scaler).fit(parts)] * len(parts)
        else:
            scalers = [make_scaler(self.scaler).fit(part) for part in parts]
        self.ids_ = list(panel.ids)
        self.scalers_ = dict(zip(self.ids_, scalers, strict=True))
        scaled = self._scale(items, scalers)
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
            self.model, L, n_outputs(self.head, H, self.quantiles)
            if self.strategy != "recursive" else 1,
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
                        loss=head_loss(self.head, H, self.quantiles), epochs=self.epochs,
                        desc=self.model,
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
            out = point_of(self.head, out, self.horizon, self.quantiles)  # the head's point
            return out + self._level(b).reshape((-1,) + (1,) * (out.ndim - 1))

        return forecast(predict, self.strategy, x, self.horizon if steps is None else steps)

    def _quantiles_scaled(self, x: np.ndarray, levels: Sequence[float]) -> np.ndarray:
        """The head's τ-quantiles at ``levels`` in scaled units, ``(Q, N, H)``."""
        if self.head == "point":
            raise ConfigError("quantiles need a probabilistic head (head='quantile' or "
                              "'gaussian'); this model was fitted with head='point'")
        b = x.astype(np.float32)
        out = self.model_.predict(self._inputs_of({"x": b}), batch_size=1024)  # (N, O)
        q = head_quantiles(self.head, out, self.horizon, levels, self.quantiles)
        return q + self._level(b).reshape(1, -1, 1)

    def predict_quantiles(self, series: Any = None, levels: Sequence[float] = (0.1, 0.5, 0.9),
                          ids: Sequence[str] | None = None) -> np.ndarray:
        """The τ-quantiles at ``levels`` of the next H values (a model fitted with a
        probabilistic ``head``): ``(Q, H)`` for one series, ``(Q, S, H)`` for many, in the
        original units (the scalers are monotone, so quantiles map to quantiles)."""
        self._check_fitted()
        x, scalers = self._inputs(series, ids)  # (S, L, D)
        q = np.stack([self._unscale(qj, scalers)
                      for qj in self._quantiles_scaled(x, levels)])  # (Q, S, H)
        return q[:, 0] if len(x) == 1 else q

    def _panel(self, series: Any, ids: Sequence[str] | None = None) -> Panel:
        """Input series as a Panel with the training data's number of columns."""
        panel = as_panel(series, ids)
        if panel.values[0].shape[1] != self.n_features_:
            raise DataError(f"series must have {self.n_features_} column(s) like the training "
                            f"data, got {panel.values[0].shape[1]}")
        return panel

    def _inputs(self, series: Any, ids: Sequence[str] | None = None
                ) -> tuple[np.ndarray, list[Scaler]]:
        """Scaled last windows ``(S, L, D)`` and the scaler of each series: of the training
        series ``ids`` (default all) when ``series`` is None, else of ``series``."""
        if series is None:
            keys = self.ids_ if ids is None else [str(i) for i in ids]
            for k in keys:
                if k not in self.scalers_:
                    raise ConfigError(f"ids must name training series; {k!r} is not one of "
                                      f"{self.ids_}")
            rows = [self.ids_.index(k) for k in keys]
            window = np.asarray(self.last_window_, dtype=np.float32)[rows]  # (S, L, D)
            return window, [self.scalers_[k] for k in keys]
        panel = self._panel(series, ids)
        for name, a in zip(panel.ids, panel.values, strict=True):
            if len(a) < self.input_len:
                raise DataError(f"series {name} has {len(a)} values, fewer than input_len="
                                f"{self.input_len}")
            if not np.all(np.isfinite(a[-self.input_len:])):
                raise DataError(f"series {name} has NaN or inf among its last "
                                f"{self.input_len} values")
        scalers = self._scalers_for(panel)
        windows = self._scale([a[-self.input_len:] for a in panel.values], scalers)
        return np.stack(windows), scalers  # (S, L, D)

    def max_steps(self) -> int | None:
        """The most steps :meth:`predict` can forecast: H for the direct and seq2seq
        strategies, ``None`` (any number) for recursive on one column."""
        return None if self.strategy == "recursive" and self.n_features_ == 1 else self.horizon

    def predict(self, series: Any = None, steps: int | None = None,
                ids: Sequence[str] | None = None) -> np.ndarray:
        """The next ``steps`` (default H) values after the end of ``series`` (default: the
        training series ``ids``, default all, in ``ids_`` order): ``(steps,)`` for one
        series, ``(S, steps)`` for many, in the original units. With ``series`` given,
        ``ids`` names its series (which scaler serves each: see the module doc). The
        recursive strategy forecasts any number of steps (feeding its forecasts back);
        direct and seq2seq at most H."""
        self._check_fitted()
        steps = self.horizon if steps is None else steps
        check_int("steps", steps)
        most = self.max_steps()
        if most is not None and steps > most:
            raise ConfigError(f"steps must be at most {most} for strategy {self.strategy!r} "
                              f"(horizon {self.horizon}; the recursive strategy on one "
                              f"column forecasts any number), got {steps}")
        x, scalers = self._inputs(series, ids)  # (S, L, D)
        out = self._unscale(self._predict_scaled(x, steps), scalers)  # (S, steps)
        return out[0] if len(out) == 1 else out

    def predict_intervals(self, series: Any = None, n_samples: int = 100,
                          quantiles: Sequence[float] = (0.05, 0.95), seed: int | None = 0,
                          ids: Sequence[str] | None = None) -> dict[str, np.ndarray]:
        """MC-dropout forecast summary ``{"mean", "std", "lower", "upper", ...}``, each
        ``(H,)`` (or ``(S, H)``); meaningful for models fitted with ``dropout > 0``."""
        self._check_fitted()
        if not self.dropout or not any(hasattr(m, "mc_dropout") for m in self.model_.modules()):
            log.warning("predict_intervals: model %r has no active dropout layer; the interval "
                        "has zero width (use a recurrent model fitted with dropout > 0)",
                        self.model)
        x, scalers = self._inputs(series, ids)
        with _mc_dropout(self.model_):
            out = mc_dropout_intervals(lambda: self._unscale(self._predict_scaled(x), scalers),
                                       n_samples=n_samples, quantiles=quantiles, seed=seed)
        if len(x) == 1:
            return {k: v[:, 0] if k == "samples" else v[0] for k, v in out.items()}
        return out

    def backtest_windows(self, series: Any, target_start: int | Sequence[int] = 0,
                         target_stop: int | Sequence[int | None] | None = None,
                         ids: Sequence[str] | None = None,
                         levels: Sequence[float] | None = None) -> dict[str, np.ndarray]:
        """Forecast every window of ``series`` whose H targets lie in
        ``[target_start, target_stop)`` (one bound for all series, or one per series):
        ``{"y_true", "y_pred" (N, H), "start" (N,), "series" (N,)}`` in the original units,
        ``series`` the index of each window's series (inputs may come from before
        ``target_start``). ``ids`` names the series (see the module doc). ``levels`` (a
        probabilistic head) adds ``"quantiles" (Q, N, H)`` at those levels."""
        self._check_fitted()
        panel = self._panel(series, ids)
        S = len(panel)
        starts = [target_start] * S if np.ndim(target_start) == 0 else list(target_start)
        stops = [target_stop] * S if np.ndim(target_stop) == 0 else list(target_stop)
        if len(starts) != S or len(stops) != S:
            raise ConfigError(f"target_start and target_stop must be one bound or one per "
                              f"series ({S}), got {len(starts)} and {len(stops)}")
        scalers = self._scalers_for(panel)
        win = Windowing(self.input_len, self.horizon, target_col=self.target_col)
        batches = []
        for i, (z, a, b) in enumerate(zip(self._scale(panel.values, scalers), starts, stops,
                                          strict=True)):
            batches.append(win(z, a, b))
            batches[-1]["series"][:] = i
        batch = _concat(batches)
        raw = _concat([win(v, a, b) for v, a, b in zip(panel.values, starts, stops,
                                                         strict=True)])
        if len(batch["x"]) == 0:
            raise DataError(f"no window of input_len={self.input_len} + horizon="
                            f"{self.horizon} has its targets in [{target_start}, "
                            f"{target_stop})")
        y_pred = self._unscale(self._predict_scaled(batch["x"]), scalers,
                               batch["series"])  # (N, H)
        out = {"y_true": raw["y"].astype(np.float64), "y_pred": y_pred,
               "start": batch["start"], "series": batch["series"]}
        if levels is not None:
            out["quantiles"] = np.stack([
                self._unscale(qj, scalers, batch["series"])
                for qj in self._quantiles_scaled(batch["x"], levels)])  # (Q, N, H)
        return out

    def score(self, X: Any, y: None = None) -> float:
        """Minus the MAE (higher is better, scikit-learn's convention) of the forecast of each
        series' last H values from the values before them, averaged over the series."""
        self._check_fitted()
        panel = self._panel(X)
        H = self.horizon
        for name, a in zip(panel.ids, panel.values, strict=True):
            if len(a) < self.input_len + H:
                raise DataError(f"series {name} has {len(a)} values; score needs input_len + "
                                f"horizon = {self.input_len + H}")
        x, scalers = self._inputs(Panel(panel.ids, [a[:-H] for a in panel.values],
                                        named=panel.named))
        pred = self._unscale(self._predict_scaled(x), scalers)  # (S, H)
        actual = np.stack([a[-H:, self.target_col] for a in panel.values])  # (S, H)
        return -float(np.mean(np.abs(actual - pred)))

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
        return {"ids": self.ids_,
                "scalers": {k: sc.to_dict() for k, sc in self.scalers_.items()},
                "n_features": self.n_features_,
                "last_window": self.last_window_, "fit_seconds": self.fit_seconds_,
                "data_info": getattr(self, "data_info_", {})}

    def _set_state(self, state: dict[str, Any]) -> None:
        self.n_features_ = int(state["n_features"])
        window = np.asarray(state["last_window"], dtype=np.float64)
        if window.ndim != 3 or window.shape[1:] != (self.input_len, self.n_features_) or not (
                np.isfinite(window).all()):
            raise ValueError(f"state.last_window must be finite of shape (S, input_len="
                             f"{self.input_len}, {self.n_features_}), got {window.shape}")
        if "scalers" in state:
            self.ids_ = [str(k) for k in state["ids"]]
            self.scalers_ = {k: scaler_from_dict(state["scalers"][k]) for k in self.ids_}
        else:  # saved before per-series scaling: one pooled scaler
            pooled = scaler_from_dict(state["scaler"])
            self.ids_ = [str(i) for i in range(len(window))]
            self.scalers_ = dict.fromkeys(self.ids_, pooled)
        if self.scaling == "pooled" or len(self.ids_) == 1:
            first = self.scalers_[self.ids_[0]]
            self.scalers_ = dict.fromkeys(self.ids_, first)
        if len(self.ids_) != len(window):
            raise ValueError(f"state.ids must name the {len(window)} saved windows, got "
                             f"{len(self.ids_)}")
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
