"""``LocalForecaster``: one model per series ("local" mode), the alternative to one global
:class:`~rnnkit.tasks.forecast.forecaster.Forecaster` trained on all series.

    local = LocalForecaster(Forecaster("gru", input_len=24, horizon=12)).fit({"a": ya, "b": yb})
    local.predict()                        # (S, H): each series by its own model
    local.predict(ids=["b"])               # (H,)
    local.backtest_windows(panel, starts)  # as Forecaster.backtest_windows, series by id
    local.save("model"); LocalForecaster.load("model")

Each series id gets a copy of the template's parameters, fitted on that series alone (so its
scaler is its own, as with per-series scaling); series are matched by id (unnamed arrays by
position). The saved folder holds one Forecaster folder per series, ``series-<k>/``, and
``local.json`` (the ids in order, each folder's name, ``data_info``);
:func:`rnnkit.tasks.base.load_estimator` and ``rnnkit predict`` read it, ONNX export refuses
it (one graph per series: export ``series-<k>/``). The training history
``history_`` is the mean over the series of each epoch's losses (up to the shortest run),
which is what :func:`~rnnkit.tasks.forecast.compare.compare` reads for the refit's epochs.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rnnkit.data.panel import Panel, as_panel
from rnnkit.errors import ConfigError, DataError, NotFittedError
from rnnkit.tasks.forecast.forecaster import Forecaster
from rnnkit.tasks.forecast.parts import load_parts, save_parts

__all__ = ["LocalForecaster"]

INDEX = "local.json"


class LocalForecaster:
    """One :class:`Forecaster` per series id, built from ``template``'s parameters."""

    def __init__(self, template: Forecaster) -> None:
        self.template = template

    def __getattr__(self, name: str) -> Any:
        # the template's parameters (model, input_len, horizon, ...) read through
        if name.startswith("_") or name.endswith("_") or name == "template":
            raise AttributeError(name)
        return getattr(self.template, name)

    def fit(self, X: Any, **fit_kwargs: Any) -> LocalForecaster:
        """Fit one copy of the template on each series of ``X`` (anything
        :func:`~rnnkit.data.panel.as_panel` reads); ``fit_kwargs`` go to each fit (a
        ``checkpoint`` folder gets a sub-folder per series). Static covariates and an id
        embedding are refused: each is one constant for a model of one series."""
        if fit_kwargs.get("static_covariates") is not None or self.template.id_embedding:
            what = ("static covariates" if fit_kwargs.get("static_covariates") is not None
                    else f"id_embedding={self.template.id_embedding}")
            raise ConfigError(f"a local forecaster fits one model per series, where {what} "
                              f"is one constant and tells nothing; use one global Forecaster")
        panel = as_panel(X)
        self.ids_ = list(panel.ids)
        self.forecasters_: dict[str, Forecaster] = {}
        for k, (sid, values) in enumerate(zip(panel.ids, panel.values, strict=True)):
            kw = dict(fit_kwargs)
            if kw.get("checkpoint") is not None:
                kw["checkpoint"] = Path(kw["checkpoint"]) / f"series-{k}"
            fc = Forecaster(**self.template.get_params())
            self.forecasters_[sid] = fc.fit(Panel([sid], [values]), **kw)
        self._summarise()
        return self

    def _summarise(self) -> None:
        """``history_`` (mean losses per epoch), ``fit_status_`` and ``fit_seconds_``."""
        fcs = list(self.forecasters_.values())
        self.history_: dict[str, list[float]] = {}
        for key in ("loss", "val_loss"):
            runs = [f.history_.get(key) or [] for f in fcs]
            n = min(len(r) for r in runs)
            if n:
                self.history_[key] = [float(np.mean([r[e] for r in runs])) for e in range(n)]
        bad = [f"{sid}: {f.fit_status_}" for sid, f in self.forecasters_.items()
               if f.fit_status_ not in ("ok", "loaded")]
        self.fit_status_ = "; ".join(bad) if bad else fcs[0].fit_status_
        self.fit_seconds_ = float(sum(getattr(f, "fit_seconds_", 0.0) for f in fcs))

    def _check_fitted(self) -> None:
        if not hasattr(self, "forecasters_"):
            raise NotFittedError("this LocalForecaster is not fitted yet; call fit(...) first "
                                 "or load a saved one with LocalForecaster.load(path)")

    def _named(self, series: Any, ids: Sequence[str] | None) -> Panel:
        """Input series by id: unnamed arrays take the training ids by position."""
        panel = as_panel(series, ids)
        if not panel.named:
            if len(panel) != len(self.ids_):
                raise DataError(f"a local model needs each series named by its id (ids=, a "
                                f"dict or a Panel), or all {len(self.ids_)} series in order; "
                                f"got {len(panel)} unnamed")
            panel = as_panel(panel.values, self.ids_)
        for sid in panel.ids:
            if sid not in self.forecasters_:
                raise DataError(f"series id {sid!r} has no model of its own; ids are "
                                f"{self.ids_}")
        return panel

    def predict(self, series: Any = None, steps: int | None = None,
                ids: Sequence[str] | None = None) -> np.ndarray:
        """As :meth:`Forecaster.predict`, each series forecast by its own model."""
        self._check_fitted()
        if series is None:
            keys = self.ids_ if ids is None else [str(i) for i in ids]
            unknown = [k for k in keys if k not in self.forecasters_]
            if unknown:
                raise ConfigError(f"ids must name training series; {unknown[0]!r} is not one "
                                  f"of {self.ids_}")
            out = [self.forecasters_[k].predict(steps=steps) for k in keys]
        else:
            panel = self._named(series, ids)
            out = [self.forecasters_[k].predict(v, steps=steps)
                   for k, v in zip(panel.ids, panel.values, strict=True)]
        out = np.stack(out)  # (S, steps)
        return out[0] if len(out) == 1 else out

    def predict_intervals(self, series: Any = None, n_samples: int = 100,
                          quantiles: Sequence[float] = (0.05, 0.95), seed: int | None = 0,
                          ids: Sequence[str] | None = None) -> dict[str, np.ndarray]:
        """As :meth:`Forecaster.predict_intervals`, series by series."""
        self._check_fitted()
        if series is None:
            keys = self.ids_ if ids is None else [str(i) for i in ids]
            parts = [self.forecasters_[k].predict_intervals(
                n_samples=n_samples, quantiles=quantiles, seed=seed) for k in keys]
        else:
            panel = self._named(series, ids)
            parts = [self.forecasters_[k].predict_intervals(v, n_samples, quantiles, seed)
                     for k, v in zip(panel.ids, panel.values, strict=True)]
        if len(parts) == 1:
            return parts[0]
        return {k: np.stack([p[k] for p in parts], axis=1 if k == "samples" else 0)
                for k in parts[0]}

    def backtest_windows(self, series: Any, target_start: int | Sequence[int] = 0,
                         target_stop: int | Sequence[int | None] | None = None,
                         ids: Sequence[str] | None = None) -> dict[str, np.ndarray]:
        """As :meth:`Forecaster.backtest_windows`, each series by its own model."""
        self._check_fitted()
        panel = self._named(series, ids)
        S = len(panel)
        starts = [target_start] * S if np.ndim(target_start) == 0 else list(target_start)
        stops = [target_stop] * S if np.ndim(target_stop) == 0 else list(target_stop)
        parts = []
        for i, (sid, v) in enumerate(zip(panel.ids, panel.values, strict=True)):
            res = self.forecasters_[sid].backtest_windows(Panel([sid], [v]), starts[i],
                                                          stops[i])
            res["series"] = np.full(len(res["start"]), i)
            parts.append(res)
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike, data_info: dict[str, Any] | None = None, *,
             overwrite: bool = False) -> Path:
        """Write ``series-<k>/`` (one Forecaster folder per series) and ``local.json``
        atomically (:func:`~rnnkit.tasks.forecast.parts.save_parts`)."""
        self._check_fitted()
        self.data_info_ = dict(data_info or getattr(self, "data_info_", {}))
        return save_parts(path, self.forecasters_, "series", INDEX,
                          {"task": "local-forecaster", "ids": self.ids_}, self.data_info_,
                          overwrite)

    @classmethod
    def load(cls, path: str | os.PathLike, device: str = "cpu") -> LocalForecaster:
        """Rebuild a LocalForecaster written by :meth:`save`."""
        fcs, meta = load_parts(path, INDEX, "ids", "local forecaster",
                               lambda folder: Forecaster.load(folder, device=device))
        ids = list(fcs)
        est = cls(Forecaster(**fcs[ids[0]].get_params()))
        est.ids_, est.forecasters_ = ids, fcs
        est.data_info_ = dict(meta.get("data_info") or {})
        est._summarise()
        return est

    @staticmethod
    def is_saved(path: str | os.PathLike) -> bool:
        """Whether ``path`` is a folder written by :meth:`save`."""
        return (Path(path) / INDEX).is_file()
