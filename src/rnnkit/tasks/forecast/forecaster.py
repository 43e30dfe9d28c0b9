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
    fc.fit(panel, static_covariates={"a": {"region": "north", "size": 120}, ...})
    Forecaster(id_embedding=4)     # a learned 4-vector per series id (global models)
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

Static covariates and the id embedding (global models; not the baselines, which ignore
them, nor the recursive strategy, which refuses them). With ``x_t`` the D scaled (and
levelled) columns of step t of a window of series i, the network reads at every step

    x'_t = [ x_t ; r_i ; s_i ; e_i ]      h_t = cell(x'_t, h_{t-1})

``r_i = log(1 + std_i / c_i)`` the spread of series i (a global model with per-series
standardising scalers and level "last": ``c_i`` its mean absolute change over 1..H steps,
which its scaler divides by, ``std_i`` the std, both of its training part; an id not seen in
training takes it from the values given for it, as it takes a scaler): a trending series has
a large spread, a wandering or noisy one a spread near log 2. On the five macroeconomic
series of ``benchmarks/forecast_accuracy.py`` (levels 5 to 7,000) the global selection's
mean MASE with seeds 0 / 1 / 2 was 0.741 / 0.744 / 0.812 with the std as each series'
scale, 0.877 with the changes' scale alone (seed 0), and 0.690 / 0.702 / 0.728 with the
changes' scale and the spread (one model per series: 0.743 / 0.777 / 0.776). ``s_i`` the
encoded static covariates of series i (numbers standardised over the training
series, categories one-hot; :mod:`rnnkit.tasks.forecast.static`), the same at every step, and
``e_i`` its learned ``id_embedding``-vector (:class:`~rnnkit.tasks.forecast.models.SeriesEmbedding`,
trained with the network). Static covariates come from ``fit(..., static_covariates=...)``
(a dict ``{id: values}`` or a DataFrame indexed by id) or from a Panel loaded with them
(``load_panel(path, id_column=..., static_covariates=[...])``). At prediction a training id
keeps its saved values unless new ones are given; an id not seen in training must bring its
own (a DataError naming the id otherwise), and takes the mean of the learned embeddings (a
logged notice), as it takes a scaler fitted on its own values.

Learned state ends in ``_``: ``model_``, ``ids_``, ``scalers_`` (id -> scaler),
``static_`` (id -> its static covariates), ``static_encoder_``, ``spread_`` (id -> r_i,
empty when the network reads none), ``history_``,
``last_window_``, ``n_features_``, ``fit_seconds_``, ``fit_status_``. Saved through
:meth:`rnnkit.tasks.base.Estimator.save` (JSON config + safetensors) with the scalers and the
static covariates keyed by id and the last input window of each series in its state; the
embeddings are weights of the network.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
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
from rnnkit.tasks.forecast.static import StaticEncoder, as_static
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
            For one series with level "last" the two standardising scalers divide by the
            mean absolute change over 1..H steps, (1/H) sum_j mean_t |x_{t+j} - x_t| (of
            log x for "log"), instead of the std: the network reads and forecasts changes,
            and a trend inflates the std until a trending series' changes reach it as tiny
            numbers (``StandardScaler(changes=horizon)``). Over
            ``benchmarks/forecast_accuracy.py``'s 21 series (seeds 0 and 1) the selected
            model's mean seasonal MASE went from 1.042 / 1.021 to 0.999 / 0.985. A global
            model over several series scaled one by one (the default) does the same and its
            network also reads each series' spread, ``log(1 + std / s)`` of its training
            part (the std in units of that mean change), as a side column: the std's size
            had told the network which series trends and which one wanders, and the
            changes' scale alone hides it (module doc; the recursive strategy, which reads
            no side column, keeps the std).
        scaling: "series" (default: one scaler per series id) or "pooled" (one scaler over
            all series); see the module doc.
        level: "last" (default) subtracts each window's last input value from its inputs and
            targets (after scaling) and adds it back to the forecasts, so the network learns
            changes relative to the current level and trending series leave the scaler's
            range less; "none" feeds the scaled values as they are. ``rnnkit forecast``
            and :func:`~rnnkit.tasks.forecast.compare.compare` give their models the two in
            turn (``level="auto"``).
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
        id_embedding: k > 0 gives each training series id a learned k-vector appended to
            every input step (default 0: off; see the module doc). Off by default: it ties
            the model to the training ids (a new id gets the mean vector, a guess) and adds
            S x k weights that a short panel overfits; per-series scaling and static
            covariates already tell the series apart where they differ.
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
                 quantiles: Sequence[float] = (0.1, 0.5, 0.9), id_embedding: int = 0) -> None:
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
        self.id_embedding = id_embedding

    # ------------------------------------------------------------------ settings
    def _check_params(self) -> None:
        check_choice("model", self.model, MODELS)
        check_choice("strategy", self.strategy, STRATEGIES)
        for name in ("input_len", "horizon", "hidden", "layers", "season"):
            check_int(name, getattr(self, name))
        check_int("target_col", self.target_col, -10**6)
        check_int("id_embedding", self.id_embedding, 0)
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
        shared = self._shared_scaler()
        if shared is None:
            raise ConfigError(f"this forecaster has one scaler per series ({len(self.ids_)} "
                              f"ids); read scalers_[id]")
        return shared

    def _shared_scaler(self) -> Scaler | None:
        """The scaler every series shares, None when each has its own."""
        first = self.scalers_[self.ids_[0]]
        return first if all(sc is first for sc in self.scalers_.values()) else None

    def _keys(self, panel: Panel) -> list[str | None]:
        """The id each series of ``panel`` goes by (module doc): its own when named, else the
        training id at its position (or the one training id), else None (unknown)."""
        if panel.named:
            return list(panel.ids)
        if len(panel) == len(self.ids_):
            return list(self.ids_)
        return list(self.ids_) * len(panel) if len(self.ids_) == 1 else [None] * len(panel)

    def _scalers_for(self, panel: Panel) -> list[Scaler]:
        """The scaler of each series of ``panel`` by the rule of the module doc."""
        if self.scaling == "pooled":
            return [self.scalers_[self.ids_[0]]] * len(panel)
        keys = self._keys(panel)
        new = [k for k in keys if k not in self.scalers_]
        if new:
            log.warning("%d series not seen in training (%s): each is scaled by a scaler "
                        "fitted on the values given for it", len(new),
                        ", ".join(repr(k) for k in new[:5] if k is not None) or "unnamed")
        return [self.scalers_[k] if k in self.scalers_ else
                self._new_scaler(len(self.ids_)).fit(a)
                for k, a in zip(keys, panel.values, strict=True)]

    def _new_scaler(self, n_series: int) -> Scaler:
        """An unfitted scaler of kind ``scaler`` for a model of ``n_series`` training series;
        a standardising one divides by the mean absolute change over 1..H steps instead of
        the std when the network reads changes (level "last") of one series, or of many
        with their spreads (see the class doc)."""
        changes = (n_series == 1 and self._reads_changes()) or self._reads_spread(n_series)
        return make_scaler(self.scaler, **({"changes": self.horizon} if changes else {}))

    def _reads_changes(self) -> bool:
        """Whether the network reads changes of standardised values: level "last" with a
        standardising scaler."""
        return self.level == "last" and self.scaler in ("standard", "log")

    def _reads_spread(self, n_series: int) -> bool:
        """Whether a model of ``n_series`` training series reads each one's spread r_i (the
        module doc): many series, each standardised by its own scaler, level "last", a
        strategy that reads side columns."""
        return (n_series > 1 and self.scaling == "series" and self.strategy != "recursive"
                and self._reads_changes())

    def _spread(self, values: np.ndarray, scaler: Scaler) -> float:
        """r = log(1 + std / c) of a series' target column ``values (T, D)``: the std of
        its values as its scaler (which divides by c) gives them."""
        return float(np.log1p(scaler.transform(values)[:, self._col].std()))

    @staticmethod
    def _scale(items: list[np.ndarray], scalers: list[Scaler]) -> list[np.ndarray]:
        return [sc.transform(a).astype(np.float32)  # (T, D)
                for a, sc in zip(items, scalers, strict=True)]

    @property
    def _col(self) -> int:
        """The target column as an index from 0 (the side columns come after the D)."""
        return self.target_col % self.n_features_

    def _uses_side(self) -> bool:
        """Whether the network reads side columns: spreads, static covariates, the series
        index."""
        return self.model not in BASELINES and bool(
            self.spread_ or self.static_encoder_ or self.id_embedding)

    def _fit_static(self, panel: Panel, static: Any) -> None:
        """``static_`` and ``static_encoder_`` from ``static`` (or the panel's own)."""
        self.static_: dict[str, list[float | str]] = {}
        self.static_encoder_: StaticEncoder | None = None
        if static is None and panel.static is None:
            return
        names, table = as_static(panel if static is None else static)
        missing = [k for k in self.ids_ if k not in table]
        if missing:
            raise DataError(f"static_covariates has no values for series {missing[0]!r} "
                            f"(ids given: {list(table)[:8]}); give every training series "
                            f"its {', '.join(names)}")
        self.static_ = {k: table[k] for k in self.ids_}
        self.static_encoder_ = StaticEncoder.fit(names, list(self.static_.values()))

    def _side(self, pids: Sequence[str], keys: Sequence[str | None],
              given: dict[str, list[float | str]] | None,
              spreads: Sequence[float] | None = None) -> np.ndarray | None:
        """The side columns ``(S, C)`` of each series (named ``pids``, going by ``keys``):
        its spread (``spreads``, default the saved ones), its encoded static covariates
        (``given`` first, else the saved ones), then its index in ``ids_`` (-1 when unseen)
        under ``id_embedding``; None when the network reads none."""
        if not self._uses_side():
            return None
        enc, rows = self.static_encoder_, []
        unseen = [p for p, k in zip(pids, keys, strict=True) if k not in self.ids_]
        for n, (pid, key) in enumerate(zip(pids, keys, strict=True)):
            parts: list[Any] = []
            if self.spread_:
                parts.append([self.spread_[key] if spreads is None  # type: ignore[index]
                              else spreads[n]])
            if enc is not None:
                values = (given or {}).get(pid, self.static_.get(key))  # type: ignore[arg-type]
                if values is None:
                    raise DataError(f"series {pid!r} is not one of the training series and "
                                    f"brings no static covariates ({', '.join(enc.names)}); "
                                    f"give its values (static_covariates={{{pid!r}: [...]}}, "
                                    f"or the columns in the file)")
                parts.append(enc.encode(pid, values))
            if self.id_embedding:
                parts.append([float(self.ids_.index(key)) if key in self.ids_ else -1.0])
            rows.append(np.concatenate(parts))
        if unseen and self.id_embedding:
            log.warning("%d series not seen in training (%s): each takes the mean of the "
                        "learned id embeddings", len(unseen), ", ".join(map(repr, unseen[:5])))
        return np.stack(rows).astype(np.float32)  # (S, C)

    @staticmethod
    def _attach(items: list[np.ndarray], side: np.ndarray | None) -> list[np.ndarray]:
        """Each scaled series ``(T, D)`` with its side columns repeated on every row."""
        if side is None:
            return items
        return [np.concatenate([z, np.broadcast_to(c, (len(z), len(c)))], axis=1)
                for z, c in zip(items, side, strict=True)]  # (T, D + C)

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
        return x[:, -1, self._col]

    def _inputs_of(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        """The network's input: the D columns less their last value (level "last"), then
        the side columns as they are."""
        x = batch["x"]  # (N, L, D + C)
        if self.level != "last":
            return x
        D = self.n_features_
        levelled = x[..., :D] - x[:, -1:, :D]  # (N, L, D)
        return np.concatenate([levelled, x[..., D:]], axis=-1) if x.shape[-1] > D else levelled

    def _targets(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        y = batch["y"]  # (N, O) or (N, L, H)
        if self.strategy == "seq2seq":
            y = y[:, output_steps(self.model, self.input_len)]  # (N, T', H)
        level = self._level(batch["x"])  # (N,)
        return y - level.reshape((-1,) + (1,) * (y.ndim - 1))

    def fit(self, X: Any, y: None = None, *, static_covariates: Any = None,
            checkpoint: str | os.PathLike | None = None, checkpoint_every: int = 1,
            resume: bool = False) -> Forecaster:
        """Train on one series ``(T,)`` / ``(T, D)`` or many (a list, ``(S, T, D)``, a dict
        ``{id: values}``, a :class:`~rnnkit.data.panel.Panel` or a pandas DataFrame; with
        D > 1, column ``target_col`` is forecast and the others are past covariates, read
        over the input window only); ``y`` is ignored (scikit-learn's signature).
        ``static_covariates``: per-series values for every training id (module doc; default:
        those of a Panel loaded with them). ``checkpoint``, ``checkpoint_every``,
        ``resume``: a resumable fit (:mod:`rnnkit.tasks.base`; baselines train nothing)."""
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
            scalers = [self._new_scaler(len(parts)).fit(parts)] * len(parts)
        else:
            scalers = [self._new_scaler(len(parts)).fit(part) for part in parts]
        self.ids_ = list(panel.ids)
        self.scalers_ = dict(zip(self.ids_, scalers, strict=True))
        self.spread_ = ({k: self._spread(a, sc) for k, a, sc in zip(self.ids_, parts, scalers,
                                                                     strict=True)}
                        if self._reads_spread(len(parts)) else {})
        self._fit_static(panel, static_covariates)
        if self._uses_side() and self.strategy == "recursive":
            raise ConfigError("static covariates and id_embedding need strategy 'direct' or "
                              "'seq2seq'; the recursive strategy feeds back one column")
        scaled = self._scale(items, scalers)
        side = self._side(self.ids_, self.ids_, None)  # (S, C) or None
        inputs = self._attach(scaled, side)
        win = training_windows(self.strategy, L, H, self._col)
        train = _concat([win(z, 0, s.train_end) for z, s in zip(inputs, splits, strict=True)])
        val = _concat([win(z, s.train_end, s.valid_end)
                       for z, s in zip(inputs, splits, strict=True)])
        if len(train["x"]) == 0:
            raise DataError(f"no training window: the series are too short for input_len={L} "
                            f"and horizon={H}")
        if self.seed is not None:
            seed_everything(self.seed)
        self.model_ = build_model(
            self.model, L, n_outputs(self.head, H, self.quantiles)
            if self.strategy != "recursive" else 1,
            in_features=self.n_features_ + (0 if side is None else side.shape[1]),
            seq2seq=self.strategy == "seq2seq", hidden=self.hidden, layers=self.layers,
            dropout=self.dropout, mc_dropout=False, season=self.season,
            target_col=self.target_col, n_series=len(self.ids_),
            id_embedding=self.id_embedding if side is not None else 0)
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
                          ids: Sequence[str] | None = None,
                          static_covariates: Any = None) -> np.ndarray:
        """The τ-quantiles at ``levels`` of the next H values (a model fitted with a
        probabilistic ``head``): ``(Q, H)`` for one series, ``(Q, S, H)`` for many, in the
        original units (the scalers are monotone, so quantiles map to quantiles)."""
        self._check_fitted()
        x, scalers = self._inputs(series, ids, static_covariates)  # (S, L, D + C)
        q = np.stack([self._unscale(qj, scalers)
                      for qj in self._quantiles_scaled(x, levels)])  # (Q, S, H)
        return q[:, 0] if len(x) == 1 else q

    def _given_static(self, static: Any) -> dict[str, list[float | str]] | None:
        """``static_covariates`` given at prediction as ``{id: values}`` in the fitted
        columns' order (None when none is given)."""
        if static is None:
            return None
        if self.static_encoder_ is None:
            raise ConfigError("static_covariates were given, but this model was fitted "
                              "without them")
        return as_static(static, self.static_encoder_.names)[1]

    def _panel(self, series: Any, ids: Sequence[str] | None = None,
               static: Any = None) -> Panel:
        """Input series as a Panel with the training data's number of columns (and the
        ``static`` covariates given for them, if any)."""
        panel = as_panel(series, ids)
        if panel.values[0].shape[1] != self.n_features_:
            raise DataError(f"series must have {self.n_features_} column(s) like the training "
                            f"data, got {panel.values[0].shape[1]}")
        if static is not None:
            panel = replace(panel, static=self._given_static(static),
                            static_names=list(self.static_encoder_.names))
        elif panel.static is not None and self.static_encoder_ is not None:
            panel = replace(panel, static=as_static(panel, self.static_encoder_.names)[1])
        return panel

    def _side_of(self, panel: Panel, scalers: Sequence[Scaler]) -> np.ndarray | None:
        """The side columns of each series of ``panel`` (:meth:`_side`), scaled by
        ``scalers``: a training id keeps its saved spread, another takes its values'."""
        keys = self._keys(panel)
        spreads = [self.spread_[k] if k in self.spread_ else self._spread(a, sc)
                   for k, a, sc in zip(keys, panel.values, scalers, strict=True)
                   ] if self.spread_ else None
        return self._side(panel.ids, keys, panel.static, spreads)

    def _inputs(self, series: Any, ids: Sequence[str] | None = None, static: Any = None
                ) -> tuple[np.ndarray, list[Scaler]]:
        """Scaled last windows ``(S, L, D + C)`` (C side columns) and the scaler of each
        series: of the training series ``ids`` (default all) when ``series`` is None, else
        of ``series``."""
        if series is None:
            keys = self.ids_ if ids is None else [str(i) for i in ids]
            for k in keys:
                if k not in self.scalers_:
                    raise ConfigError(f"ids must name training series; {k!r} is not one of "
                                      f"{self.ids_}")
            rows = [self.ids_.index(k) for k in keys]
            window = np.asarray(self.last_window_, dtype=np.float32)[rows]  # (S, L, D)
            side = self._side(keys, keys, self._given_static(static))
            return np.stack(self._attach(list(window), side)), [self.scalers_[k] for k in keys]
        panel = self._panel(series, ids, static)
        for name, a in zip(panel.ids, panel.values, strict=True):
            if len(a) < self.input_len:
                raise DataError(f"series {name} has {len(a)} values, fewer than input_len="
                                f"{self.input_len}")
            if not np.all(np.isfinite(a[-self.input_len:])):
                raise DataError(f"series {name} has NaN or inf among its last "
                                f"{self.input_len} values")
        scalers = self._scalers_for(panel)
        windows = self._scale([a[-self.input_len:] for a in panel.values], scalers)
        return np.stack(self._attach(windows, self._side_of(panel, scalers))), scalers

    def max_steps(self) -> int | None:
        """The most steps :meth:`predict` can forecast: H for the direct and seq2seq
        strategies, ``None`` (any number) for recursive on one column."""
        return None if self.strategy == "recursive" and self.n_features_ == 1 else self.horizon

    def predict(self, series: Any = None, steps: int | None = None,
                ids: Sequence[str] | None = None, static_covariates: Any = None) -> np.ndarray:
        """The next ``steps`` (default H) values after the end of ``series`` (default: the
        training series ``ids``, default all, in ``ids_`` order): ``(steps,)`` for one
        series, ``(S, steps)`` for many, in the original units. With ``series`` given,
        ``ids`` names its series (which scaler serves each: see the module doc).
        ``static_covariates`` (``{id: values}``, a DataFrame indexed by id): the values of
        series not seen in training (required for them when the model has static
        covariates), or new values for training ones. The recursive strategy forecasts any
        number of steps (feeding its forecasts back); direct and seq2seq at most H."""
        self._check_fitted()
        steps = self.horizon if steps is None else steps
        check_int("steps", steps)
        most = self.max_steps()
        if most is not None and steps > most:
            raise ConfigError(f"steps must be at most {most} for strategy {self.strategy!r} "
                              f"(horizon {self.horizon}; the recursive strategy on one "
                              f"column forecasts any number), got {steps}")
        x, scalers = self._inputs(series, ids, static_covariates)  # (S, L, D + C)
        out = self._unscale(self._predict_scaled(x, steps), scalers)  # (S, steps)
        return out[0] if len(out) == 1 else out

    def predict_frame(self, series: Any = None, steps: int | None = None,
                      ids: Sequence[str] | None = None, static_covariates: Any = None) -> Any:
        """:meth:`predict` as a long pandas DataFrame, one row per series and step, as
        statsforecast and NeuralForecast return forecasts: columns ``id``, ``date`` and
        ``forecast``. ``date`` holds the dates of the steps ahead, in the frequency of the
        dates of ``series`` (datetimes for a DataFrame's or a pandas Series' datetime index
        or column, else the dates' own text form), or the step numbers 1..steps where there
        are no dates (the training series, arrays). Needs pandas."""
        from rnnkit.data.dates import future_dates
        from rnnkit.data.panel import datetime_labels

        try:
            import pandas as pd
        except ImportError:
            raise ConfigError("predict_frame needs pandas (pip install pandas); predict "
                              "returns the same forecasts as arrays") from None
        steps = self.horizon if steps is None else steps
        panel = None if series is None else as_panel(series, ids)  # ids name it now
        out = np.asarray(self.predict(panel, steps, ids if panel is None else None,
                                      static_covariates)).reshape(-1, steps)
        if panel is None:
            names, dates = list(ids or self.ids_), [None] * len(out)
        else:
            index = datetime_labels(series)  # a pandas Series' datetime index
            names = list(panel.ids)
            dates = panel.dates or [index] * len(names)
        frames = []
        for name, last, values in zip(names, dates, out, strict=True):
            ahead = future_dates(last or [], steps)  # "+1", "+2", ... without a frequency
            if ahead[0].startswith("+"):
                when: Any = np.arange(1, steps + 1)
            elif hasattr(series, "to_numpy"):  # pandas in, datetimes out
                when = pd.to_datetime(ahead)
            else:
                when = ahead
            frames.append(pd.DataFrame({"id": name, "date": when, "forecast": values}))
        return pd.concat(frames, ignore_index=True)

    def predict_intervals(self, series: Any = None, n_samples: int = 100,
                          quantiles: Sequence[float] = (0.05, 0.95), seed: int | None = 0,
                          ids: Sequence[str] | None = None,
                          static_covariates: Any = None) -> dict[str, np.ndarray]:
        """MC-dropout forecast summary ``{"mean", "std", "lower", "upper", ...}``, each
        ``(H,)`` (or ``(S, H)``); meaningful for models fitted with ``dropout > 0``."""
        self._check_fitted()
        if not self.dropout or not any(hasattr(m, "mc_dropout") for m in self.model_.modules()):
            log.warning("predict_intervals: model %r has no active dropout layer; the interval "
                        "has zero width (use a recurrent model fitted with dropout > 0)",
                        self.model)
        x, scalers = self._inputs(series, ids, static_covariates)
        with _mc_dropout(self.model_):
            out = mc_dropout_intervals(lambda: self._unscale(self._predict_scaled(x), scalers),
                                       n_samples=n_samples, quantiles=quantiles, seed=seed)
        if len(x) == 1:
            return {k: v[:, 0] if k == "samples" else v[0] for k, v in out.items()}
        return out

    def backtest_windows(self, series: Any, target_start: int | Sequence[int] = 0,
                         target_stop: int | Sequence[int | None] | None = None,
                         ids: Sequence[str] | None = None,
                         levels: Sequence[float] | None = None,
                         static_covariates: Any = None) -> dict[str, np.ndarray]:
        """Forecast every window of ``series`` whose H targets lie in
        ``[target_start, target_stop)`` (one bound for all series, or one per series):
        ``{"y_true", "y_pred" (N, H), "start" (N,), "series" (N,)}`` in the original units,
        ``series`` the index of each window's series (inputs may come from before
        ``target_start``). ``ids`` names the series (see the module doc). ``levels`` (a
        probabilistic head) adds ``"quantiles" (Q, N, H)`` at those levels.
        ``static_covariates``: as in :meth:`predict`."""
        self._check_fitted()
        panel = self._panel(series, ids, static_covariates)
        S = len(panel)
        starts = [target_start] * S if np.ndim(target_start) == 0 else list(target_start)
        stops = [target_stop] * S if np.ndim(target_stop) == 0 else list(target_stop)
        if len(starts) != S or len(stops) != S:
            raise ConfigError(f"target_start and target_stop must be one bound or one per "
                              f"series ({S}), got {len(starts)} and {len(stops)}")
        scalers = self._scalers_for(panel)
        win = Windowing(self.input_len, self.horizon, target_col=self._col)
        inputs = self._attach(self._scale(panel.values, scalers), self._side_of(panel, scalers))
        batches = []
        for i, (z, a, b) in enumerate(zip(inputs, starts, stops, strict=True)):
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
        x, scalers = self._inputs(replace(panel, values=[a[:-H] for a in panel.values]))
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
                "data_info": getattr(self, "data_info_", {}),
                **({"spread": self.spread_} if self.spread_ else {}),
                **({"static": self.static_, "static_encoder": self.static_encoder_.to_dict()}
                   if self.static_encoder_ is not None else {})}

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
        self.spread_ = {str(k): float(v) for k, v in state.get("spread", {}).items()}
        if self.spread_ and set(self.spread_) != set(self.ids_):
            raise ValueError("state.spread must hold the spread of every id")
        self.static_, self.static_encoder_ = {}, None
        if "static_encoder" in state:
            self.static_encoder_ = StaticEncoder.from_dict(state["static_encoder"])
            self.static_ = as_static(state["static"], self.static_encoder_.names)[1]
            if set(self.static_) != set(self.ids_):
                raise ValueError("state.static must hold the static covariates of every id")
        out = self._predict_scaled(self._inputs(None, self.ids_[:1])[0])
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
