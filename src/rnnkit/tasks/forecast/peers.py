"""Statistical peers in the comparison table: statsforecast's AutoETS, AutoARIMA and MSTL
(the optional extra ``stats``), on exactly the split, windows and metrics of rnnkit's models.

    if peers.available():
        folds, test = peers.backtest("AutoETS", y, plan, horizon=12, season=12)

For a :class:`~rnnkit.tasks.forecast.split.Plan` (folds ``[o_k, e_k)``, test part
``[valid_end, T)``) and horizon H, a peer is fitted the way an rnnkit model is:

    fold k   fit on y[:o_k]; forecast from every origin t in [o_k, e_k - H]
    test     fit on y[:valid_end]; forecast from every origin t in [valid_end, T - H]

(on a series longer than :data:`MAX_HISTORY`, each fit reads the last MAX_HISTORY values of
its part, and each forecast the last MAX_HISTORY before its origin: a statsforecast fit on
tens of thousands of values takes minutes).

At an origin t the fitted parameters are applied to ``y[:t]`` (statsforecast's
``forward``: the state is filtered through the values up to t, the parameters are not
re-estimated), so a peer sees what an rnnkit model sees there (its L inputs: the values
before t; its weights: learnt on the fit part only), at the cost of one fit per fold, not
one per window. The forecasts ``(N, H)`` of each fold and of the test part line up with
:meth:`~rnnkit.tasks.forecast.forecaster.Forecaster.backtest_windows`' windows, so the
fold residuals calibrate the peer's conformal interval like any model's.

Peers are rows of the table, never the saved model: the saved model is an rnnkit network
or baseline that ``rnnkit predict`` and ``Forecaster.load`` can run without the extra.

========== ==================================================================================
name       statsforecast model (m = the season)
========== ==================================================================================
AutoETS    ``AutoETS(season_length=m)``: error/trend/season chosen by AICc (statsforecast
           fits no seasonal ETS for m > 24; MSTL covers those)
AutoARIMA  ``AutoARIMA(season_length=m)``: stepwise (p,d,q)(P,D,Q)_m search by AICc; for
           m > 24 a non-seasonal ARIMA with K = :data:`FOURIER_K` Fourier pairs
           ``sin(2πkt/m), cos(2πkt/m)`` (t the row index) as regressors (a seasonal ARIMA
           with m = 52 takes minutes on 2,000 values), its search on the approximate
           likelihood as R's ``auto.arima`` does for such seasons (5.0-5.7 s a fit against
           7.2-7.3 s on a weekly series of 2,200 values, the same orders chosen); for
           12 < m <= 24 (hourly data) the seasonal search on the approximate likelihood,
           R's rule for seasons over 12 (a generated hourly series of 404 values: 5.1 s a
           fit against 38.3 s, test MAE 0.241 against 0.242)
MSTL       ``MSTL(season_length=m)``: STL season, AutoETS on the seasonally adjusted
           values; a default peer when m > 24 (:data:`LONG_SEASON`)
========== ==================================================================================
"""

from __future__ import annotations

import importlib.util
import logging
import warnings
from typing import Any

import numpy as np

from rnnkit.errors import ConfigError

__all__ = ["APPROXIMATE_SEASON", "FOURIER_K", "LONG_SEASON", "MAX_HISTORY", "PEERS", "available",
           "backtest", "default_peers", "fourier_terms", "make_peer", "missing_note"]

log = logging.getLogger(__name__)

#: The peers by name, in table order.
PEERS = ("AutoETS", "AutoARIMA", "MSTL")
#: Seasons longer than this add MSTL to the default peers and give AutoARIMA Fourier terms.
LONG_SEASON = 24
#: Seasons longer than this search AutoARIMA's orders on the approximate likelihood.
APPROXIMATE_SEASON = 12
#: Fourier pairs of AutoARIMA's regressors for a long season.
FOURIER_K = 5
#: The most values a peer is fitted on (the last ones before its fit end). On a generated
#: hourly series of 50,000 values (m = 24, H = 48, 49 origins) one fit and its forecasts took
#: 9.4 s (AutoETS) and 24.3 s (AutoARIMA) on 5,000 values, 32.8 and 88.0 s on 20,000, and
#: the peers of one comparison (four fits each) had not finished after ten minutes on all
#: 50,000; no series of ``benchmarks/forecast_accuracy.py`` is this long.
MAX_HISTORY = 5000


def available() -> bool:
    """Whether the optional ``statsforecast`` package is installed."""
    return importlib.util.find_spec("statsforecast") is not None


def missing_note() -> str:
    """The one line said when the peers are skipped."""
    return ("statistical peers (AutoETS, AutoARIMA) skipped: statsforecast is not installed "
            "(pip install 'rnnkit[stats]')")


def default_peers(season: int) -> tuple[str, ...]:
    """AutoETS and AutoARIMA, and MSTL when ``season`` > :data:`LONG_SEASON`."""
    return PEERS if season > LONG_SEASON else PEERS[:2]


def make_peer(name: str, season: int) -> Any:
    """A fresh statsforecast model ``name`` (see the module table) for season m."""
    from statsforecast.models import MSTL, AutoARIMA, AutoETS

    if name not in PEERS:
        raise ConfigError(f"peers must be names from {list(PEERS)}, got {name!r}")
    if name == "MSTL" and season < 2:
        raise ConfigError(f"peer MSTL needs a season >= 2, got season={season}")
    if name == "AutoARIMA":
        if season > LONG_SEASON:  # Fourier terms instead (module doc)
            return AutoARIMA(seasonal=False, approximation=True)
        return AutoARIMA(season_length=season, approximation=season > APPROXIMATE_SEASON)
    return {"AutoETS": AutoETS, "AutoARIMA": AutoARIMA, "MSTL": MSTL}[name](
        season_length=season)


def fourier_terms(length: int, season: int, k: int = FOURIER_K) -> np.ndarray:
    """``(length, 2K)`` regressors ``sin(2πjt/m), cos(2πjt/m)`` for j = 1..K, t = 0..T-1."""
    t = np.arange(length)[:, None] * np.arange(1, min(k, season // 2) + 1)  # (T, K)
    angle = 2 * np.pi * t / season
    return np.concatenate([np.sin(angle), np.cos(angle)], axis=1)  # (T, 2K)


def _forecasts(name: str, y: np.ndarray, fit_end: int, origins: range, horizon: int,
               season: int) -> np.ndarray:
    """Fit on the last :data:`MAX_HISTORY` values of ``y[:fit_end]``, forecast H steps from
    each origin t, the state filtered through the last MAX_HISTORY values before t ->
    ``(N, H)``."""
    H = horizon
    model = make_peer(name, season)
    X = fourier_terms(len(y) + H, season) if name == "AutoARIMA" and (
        season > LONG_SEASON) else None  # (T + H, 2K), indexed by the row t

    def since(t: int) -> int:
        return max(0, t - MAX_HISTORY)

    def regressors(t: int) -> dict[str, np.ndarray]:
        return {} if X is None else {"X": X[since(t):t], "X_future": X[t:t + H]}

    with warnings.catch_warnings():  # statsforecast warns about its own fallbacks
        warnings.simplefilter("ignore")
        model.fit(y[since(fit_end):fit_end],
                  **({} if X is None else {"X": X[since(fit_end):fit_end]}))
        out = [model.forward(y[since(t):t], H, **regressors(t))["mean"] for t in origins]
    return np.asarray(out, dtype=np.float64).reshape(len(origins), H)  # (N, H)


def backtest(name: str, y: np.ndarray, plan: Any, horizon: int, season: int
             ) -> tuple[list[np.ndarray], np.ndarray]:
    """``(fold forecasts [(N_k, H), ...], test forecasts (N, H))`` of peer ``name`` on
    ``y (T,)`` under ``plan`` (see the module doc)."""
    H = horizon
    y = np.asarray(y, dtype=np.float64)
    folds = [_forecasts(name, y, o, range(o, stop - H + 1), H, season)
             for o, stop in plan.folds]
    test = _forecasts(name, y, plan.valid_end, range(plan.valid_end, len(y) - H + 1), H,
                      season)
    return folds, test
