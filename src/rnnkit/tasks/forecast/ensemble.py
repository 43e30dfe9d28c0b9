"""``EnsembleForecaster``: the median of several fitted forecasters' forecasts, the model that
:func:`~rnnkit.tasks.forecast.compare.compare` saves when ``ensemble=k`` (its default, 3).

    ens = EnsembleForecaster({"gru": gru, "linear": linear, "seasonal_naive": snaive})
    ens.predict()                          # (H,) or (S, H): median over the members
    ens.backtest_windows(panel, starts)    # as Forecaster.backtest_windows
    ens.save("model"); EnsembleForecaster.load("model")

For members ``m = 1..k`` forecasting ``ŷ_m (S, steps)`` from the same series, the forecast is
the element-wise median ``ŷ = median_m ŷ_m``: a combination that a single bad member cannot
drag far, which in the forecasting competitions beat the selection of one model (Makridakis
et al., the M4 competition, 2020). Members may read different input lengths (seasonal naive
reads max(L, season)); the ensemble's ``input_len`` is the longest, so every member has its
window. MC-dropout intervals take the median of the members' draws, draw by draw.

Members are fitted :class:`~rnnkit.tasks.forecast.forecaster.Forecaster` or
:class:`~rnnkit.tasks.forecast.local.LocalForecaster` objects; the parameters every member
shares (horizon, season, ids_, ...) read through to the first. The saved folder holds one
folder per member, ``member-<k>/``, and ``ensemble.json`` (the member names in order, their
folders, ``data_info``); :func:`load_forecaster` reads any saved forecaster folder,
:func:`rnnkit.tasks.base.load_estimator` and ``rnnkit predict`` use it; ONNX export refuses
an ensemble (one graph per member: export ``member-<k>/``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from rnnkit.errors import ConfigError, DataError
from rnnkit.tasks.forecast.forecaster import Forecaster
from rnnkit.tasks.forecast.intervals import summarise_samples
from rnnkit.tasks.forecast.local import LocalForecaster
from rnnkit.tasks.forecast.parts import load_parts, save_parts

__all__ = ["EnsembleForecaster", "load_forecaster"]

INDEX = "ensemble.json"

Member = Forecaster | LocalForecaster


class EnsembleForecaster:
    """The median forecast of the fitted ``members`` (``{name: forecaster}``)."""

    model = "ensemble"

    def __init__(self, members: dict[str, Member]) -> None:
        if len(members) < 2:
            raise ConfigError(f"an ensemble needs at least 2 members, got {list(members)}")
        horizons = {m.horizon for m in members.values()}
        if len(horizons) > 1:
            raise ConfigError(f"ensemble members must share one horizon, got {sorted(horizons)}")
        self.members_ = dict(members)
        first = next(iter(self.members_.values()))
        self.fit_status_ = "ok"
        self.history_: dict[str, list[float]] = {}
        self.fit_seconds_ = float(sum(getattr(m, "fit_seconds_", 0.0)
                                      for m in self.members_.values()))
        self.data_info_: dict[str, Any] = dict(getattr(first, "data_info_", {}) or {})

    def __getattr__(self, name: str) -> Any:
        # what every member shares (horizon, season, strategy, ids_, ...) reads through
        if name.startswith("_") or name == "members_":
            raise AttributeError(name)
        return getattr(next(iter(self.members_.values())), name)

    @property
    def input_len(self) -> int:
        """The longest input any member reads."""
        return max(m.input_len for m in self.members_.values())

    @property
    def id_embedding(self) -> int:
        """The widest id embedding among the members (0: none)."""
        return max(getattr(m, "id_embedding", 0) for m in self.members_.values())

    def max_steps(self) -> int | None:
        """The most steps every member can forecast (None: any number)."""
        most = [m.max_steps() for m in self.members_.values()]
        return None if all(s is None for s in most) else min(s for s in most if s is not None)

    def predict(self, series: Any = None, steps: int | None = None,
                ids: Sequence[str] | None = None) -> np.ndarray:
        """As :meth:`Forecaster.predict`: the median of the members' forecasts."""
        most = self.max_steps()
        if steps is not None and most is not None and steps > most:
            raise ConfigError(f"steps must be at most {most} for this ensemble (its members "
                              f"{list(self.members_)} forecast at most {most}), got {steps}")
        with _said_once():
            return np.median([np.asarray(m.predict(series, steps=steps, ids=ids),
                                         dtype=np.float64)
                              for m in self.members_.values()], axis=0)

    def predict_intervals(self, series: Any = None, n_samples: int = 100,
                          quantiles: Sequence[float] = (0.05, 0.95), seed: int | None = 0,
                          ids: Sequence[str] | None = None) -> dict[str, np.ndarray]:
        """MC-dropout summary (see :meth:`Forecaster.predict_intervals`) of the median of the
        members' draws, draw by draw (members without dropout draw the same forecast)."""
        with _said_once():
            draws = np.median([m.predict_intervals(series, n_samples=n_samples,
                                                   quantiles=quantiles, seed=seed,
                                                   ids=ids)["samples"]
                               for m in self.members_.values()], axis=0)  # (S_draws, ...)
        out = summarise_samples(draws, quantiles)
        out["samples"] = draws
        return out

    def backtest_windows(self, series: Any, target_start: int | Sequence[int] = 0,
                         target_stop: int | Sequence[int | None] | None = None,
                         ids: Sequence[str] | None = None) -> dict[str, np.ndarray]:
        """As :meth:`Forecaster.backtest_windows`, over the windows every member forecasts
        (the same targets; ``start`` is where the longest input begins)."""
        with _said_once():
            parts = [m.backtest_windows(series, target_start, target_stop, ids=ids)
                     for m in self.members_.values()]
        lens = [m.input_len for m in self.members_.values()]
        keys = [list(zip(p["series"].tolist(), (p["start"] + n).tolist(), strict=True))
                for p, n in zip(parts, lens, strict=True)]
        common = set.intersection(*(set(k) for k in keys))
        if not common:
            raise DataError(f"no window has the {self.input_len} input values every member "
                            f"of the ensemble reads")
        rows = [np.array([i for i, k in enumerate(ks) if k in common]) for ks in keys]
        ref = parts[0]
        pick = rows[0]
        return {"y_true": ref["y_true"][pick],
                "y_pred": np.median([p["y_pred"][r] for p, r in zip(parts, rows, strict=True)],
                                    axis=0),
                "start": ref["start"][pick] + lens[0] - self.input_len,
                "series": ref["series"][pick]}

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike, data_info: dict[str, Any] | None = None, *,
             overwrite: bool = False) -> Path:
        """Write ``member-<k>/`` (one forecaster folder per member) and ``ensemble.json``
        atomically (:func:`~rnnkit.tasks.forecast.parts.save_parts`)."""
        self.data_info_ = dict(data_info or self.data_info_)
        return save_parts(path, self.members_, "member", INDEX,
                          {"task": "ensemble-forecaster", "combine": "median",
                           "members": list(self.members_)}, self.data_info_, overwrite)

    @classmethod
    def load(cls, path: str | os.PathLike, device: str = "cpu") -> EnsembleForecaster:
        """Rebuild an EnsembleForecaster written by :meth:`save`."""
        members, meta = load_parts(path, INDEX, "members", "ensemble forecaster",
                                   lambda folder: load_forecaster(folder, device))
        est = cls(members)
        est.data_info_ = dict(meta.get("data_info") or {})
        return est

    @staticmethod
    def is_saved(path: str | os.PathLike) -> bool:
        """Whether ``path`` is a folder written by :meth:`save`."""
        return (Path(path) / INDEX).is_file()


@contextmanager
def _said_once() -> Iterator[None]:
    """While the members forecast, each of the forecaster module's log messages (a series
    not seen in training, ...) is logged once, not once per member."""
    logger, seen = logging.getLogger(Forecaster.__module__), set()

    def first(record: logging.LogRecord) -> bool:
        new = record.getMessage() not in seen
        seen.add(record.getMessage())
        return new

    logger.addFilter(first)
    try:
        yield
    finally:
        logger.removeFilter(first)


def load_forecaster(path: str | os.PathLike, device: str = "cpu"
                    ) -> Forecaster | LocalForecaster | EnsembleForecaster:
    """The forecaster saved in ``path``: an ensemble, a local forecaster (one model per
    series) or one :class:`Forecaster`."""
    if EnsembleForecaster.is_saved(path):
        return EnsembleForecaster.load(path, device)
    if LocalForecaster.is_saved(path):
        return LocalForecaster.load(path, device)
    return Forecaster.load(path, device=device)
