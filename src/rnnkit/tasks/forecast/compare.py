"""``compare``: fit several forecasting models on one series or many, select one honestly,
score all on a test part touched once.

    res = compare(y, ["naive", "linear", "gru"], horizon=12, input_len=24)
    res.rows          # one dict per model: cross-validation and test scores, or why it failed
    res.best          # the selected model's name; res.model: it, refitted on all data
    res.test_pred     # {name: (N, H)} every test window's forecast; res.y_true (N, H)
    compare({"a": ya, "b": yb}, ...)   # many series: one global model per name; res.series
                                       # (N,) the series of each test window

The split (values ``y[0..T)``, horizon H):

    [0 ........................................ valid_end)[valid_end .... T)
     training data; its last part holds K folds             test (default 2H)

Rolling-origin cross-validation: fold k has an origin ``o_k`` and a block ``[o_k, o_k + F)``
(F = 2H by default, H + 1 windows; origins H apart, the last block ends at ``valid_end``).
In fold k each model is fitted on ``y[:o_k]`` only, early stopping on its own last F values
``y[o_k - F:o_k]``, then scored on the windows whose targets lie in the block: the block is
out of sample for every decision of the fit, so the fold residuals are honest for the
selection and for the conformal intervals (early stopping on the scored block itself gave
residuals that undershot the test errors: 64 % coverage of 80 % intervals over the accuracy
benchmark's series). The models are ranked by their mean fold MAE (failed models, a
:class:`~rnnkit.errors.TrainingFailed` or a non-finite forecast, are never ranked; ties go
to the simpler model, in ``MODELS``' order); the selected model is the median of the three
best (``ensemble``, below), or the best with ``ensemble=0``. Every model is then refitted on
all the training data ``y[:valid_end]`` for the median of its folds' best epoch counts (no
early stopping: nothing is held out) and scored on every test window: MAE, RMSE, sMAPE, MASE
scaled by the in-sample seasonal naive error (m = the season) and ``mase1`` scaled by the
one-step naive error. Seasonal naive is always compared.

Many series (a :class:`~rnnkit.data.panel.Panel`, dict, list or DataFrame of univariate
series, possibly of different lengths): each model is one global
:class:`~rnnkit.tasks.forecast.forecaster.Forecaster` (per-series scaling by default) fitted
on all series at once. The split is aligned on the series' ends: :func:`plan_split` of the
shortest series decides the test size and the folds, and every series has its test part and
fold blocks at the same distances from its own end. Series too short for any split
(:func:`~rnnkit.tasks.forecast.split.long_enough`: fewer than ``input_len + horizon + 2 x
fold + test`` values) are left out, named in ``notes``, as long as one series is long
enough. A score is computed per series (the MASE with that series' own in-sample scale)
and averaged over the series: ``row["test"]`` and ``row["cv"]`` hold the means,
``row["series"][id]`` each series' test scores. The selection uses the mean over folds and
series of the seasonal MASE (a mean MAE would let the series of the largest scale decide);
with one series it is the mean fold MAE as before.
The conformal half-widths are calibrated per series on its own fold residuals.
``mode="local"`` fits one model per name and series instead (the same splits and scores),
to see whether the global model earns its keep. A Panel with past covariates
(``panel.covariates``) gives every model its covariate columns beside the target, read over
the input windows only; the scores are of the target.
``ensemble=k`` (default 3) adds a row "ensemble", the median of the k best models by the
folds (:class:`~rnnkit.tasks.forecast.ensemble.EnsembleForecaster`; its fold forecasts are
the median of theirs), and makes it the selected model (``best``, ``model``): on the
accuracy benchmark's 21 series the median of the three best scored a mean seasonal MASE of
1.050 against 1.142 for the single model selected by the same folds (2026-12-03; 1.041 for
the median after SimpleRNN got a kernel of its own), and beat seasonal naive
in every frequency group (``ensemble=0`` selects one model). The ensemble is selected even
where its own fold error is above the best model's: on the same series (seed 0, 2026-12-04)
taking whichever of the two had the lower fold error scored 1.038 against 0.985 for always
the ensemble (on taylor the ensemble's fold MAE was twice seasonal naive's and its test MASE
half). A model whose mean fold error is over :data:`FAILED_RATIO` times the best model's
failed to train (diverged) and joins no ensemble, with a note; when one model is left, it
is selected alone. ``level="auto"`` (the default) has the trained models read changes and
scaled values in turn (:func:`model_levels`), so that the ensemble can hold both (one
series, or ``mode="local"``; a global model reads changes). ``coverage`` (default 0.8) adds
to each row the test coverage, width and pinball loss of the model's split-conformal
interval calibrated on its fold residuals
(:func:`~rnnkit.tasks.forecast.intervals.conformal_halfwidth`), and the CRPS of the
conformal forecast distribution (:func:`~rnnkit.tasks.forecast.intervals.conformal_crps`); a
model with a probabilistic ``head`` (a Forecaster parameter in ``**params``) also gets
``row["distribution"]``: the same scores of its own quantiles (the central band at
``coverage``, CRPS over 19 levels). The intervals never change how the models are trained or
selected.

Statistical peers (``peers="auto"``: AutoETS and AutoARIMA, and MSTL for seasons over 24,
when the optional statsforecast is installed; else one note in ``notes`` and through
``progress``): rows fitted per series on exactly the same folds and training part and scored
on the same test windows and metrics, with conformal intervals from their own fold residuals
(:mod:`rnnkit.tasks.forecast.peers`). A peer row has ``"peer": True``; it is never selected
nor in the ensemble: the saved model is always an rnnkit model.

Long series: ``batch_size=None`` chooses the batch from the number of training windows W,
``clip(2^round(log2(W / 16)), 16, 128)``, and ``max_steps`` (a budget of optimiser steps
per fit) caps the epochs at ``clip(ceil(max_steps / steps per epoch), 5, 300)``; ``epochs``
is the most epochs (default: the budget's); early stopping on each fold (patience at most
a quarter of the epochs, at least 5) may end sooner.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rnnkit.data.panel import Panel, as_panel
from rnnkit.errors import ConfigError, DataError, TrainingFailed
from rnnkit.tasks.base import check_choice
from rnnkit.tasks.forecast import metrics as fmetrics
from rnnkit.tasks.forecast import peers as fpeers
from rnnkit.tasks.forecast.ensemble import EnsembleForecaster
from rnnkit.tasks.forecast.fitpool import FitPool, auto_jobs
from rnnkit.tasks.forecast.forecaster import LEVELS as FORECASTER_LEVELS
from rnnkit.tasks.forecast.forecaster import Forecaster
from rnnkit.tasks.forecast.intervals import (
    CRPS_LEVELS,
    conformal_crps,
    conformal_halfwidth,
    interval_scores,
)
from rnnkit.tasks.forecast.local import LocalForecaster
from rnnkit.tasks.forecast.models import BASELINES, MODELS
from rnnkit.tasks.forecast.split import Plan, long_enough, plan_split

__all__ = ["Comparison", "Plan", "auto_batch_epochs", "compare", "model_levels", "plan_split"]

log = logging.getLogger(__name__)

#: Optimiser steps per fit when epochs are chosen from the data. 1,000: over the 21 series of
#: ``benchmarks/forecast_accuracy.py`` (seeds 0 / 1) the selection scored 0.990 / 0.992
#: against 1.004 / 0.985 with 1,500 (700: 1.012, seed 0), within the seed's noise, in 9 % less
#: CPU time (597 against 659 s, seed 0); on ``benchmarks/forecast_long.py``'s weekly series at
#: the command's default horizon the three networks' fits took 95 s against 161 s.
MAX_STEPS = 1000
#: A model whose mean fold error is over this many times the best model's failed to train
#: (diverged, say): it joins no ensemble. On ``benchmarks/forecast_accuracy.py``'s 21 series
#: (seed 0) the three best models' fold errors lay within 3.2x of the best, the six models'
#: within 20x; with ``--lr 50`` on the airline data, linear's and GRU's were 5e4 and 1e20
#: times seasonal naive's, and the median of the three scored a test MAE of 670 against 51.
FAILED_RATIO = 10.0
#: ``mode``: one model trained on all series, or one per series.
MODES = ("global", "local")
#: ``level``: :class:`Forecaster`'s, or "auto" (:func:`model_levels`).
LEVELS = ("auto", *FORECASTER_LEVELS)

#: Seconds between the progress lines of the peers' fits on many series.
PEER_REPORT_SECONDS = 10.0
#: The job number of the peers' fits in a comparison's queue of (model, fold) jobs.
PEERS_JOB = -1


def model_levels(models: Sequence[str], level: str, shared: bool = False) -> dict[str, str]:
    """The :class:`Forecaster` ``level`` of each trained model among ``models`` (the
    baselines, which train nothing, and repeated names left out): ``level`` itself, or under
    "auto" "last" and "none" in turn, in the order of ``models`` (the first reads changes):
    with the default models linear and lstm read changes, simple_rnn and gru scaled values;
    but "last" for every model ``shared`` by several series (a global model).

    Why "auto": the level suits a series or not, and the folds do not tell which. Over the 21
    series of ``benchmarks/forecast_accuracy.py`` (2026-12-05, scratch, each model trained at
    both levels, seeds 0 / 1, selection and ensemble as in the module doc) every model
    reading changes gave a mean seasonal MASE of 0.985 / 0.992, every model reading values
    1.145 (seed 0): values win on stationary series (us_consumption 0.327 against 0.644),
    changes on trending ones (austres 0.159 against 1.177). With the two levels in turn the
    median of the three best by the folds mixes them where both fit: 0.944 / 0.931 (AutoARIMA
    0.946), and below seasonal naive in every frequency group; the benchmark with it, seeds 0 /
    1 / 2: 0.944 / 0.931 / 0.949. Which two models read values moves it (any two of the four:
    0.944-0.999 / 0.931-0.990, one of them 0.971-1.001 / 0.956-0.985); this order was the
    best of the six pairs with both seeds.
    A global model over several series reads each one's changes in units of its typical
    change (:class:`Forecaster`), which needs level "last": on the benchmark's five
    macroeconomic series the global selection scored 0.837 / 0.820 (seeds 0 / 1) with the
    levels in turn against 0.690 / 0.702 with "last" alone, where one comparison per series
    scored 0.751 / 0.772 with them in turn (0.743 / 0.777 with "last").
    """
    trained = [name for name in dict.fromkeys(models) if name not in BASELINES]
    if level != "auto" or shared:
        return dict.fromkeys(trained, "last" if level == "auto" else level)
    return {name: ("last", "none")[i % 2] for i, name in enumerate(trained)}


def auto_batch_epochs(n_windows: int, max_steps: int | None = MAX_STEPS,
                      batch_size: int | None = None) -> tuple[int, int]:
    """``(batch_size, epochs)`` for ``n_windows`` training windows (see the module doc);
    a given ``batch_size`` is kept."""
    batch = batch_size or int(np.clip(2 ** round(math.log2(max(n_windows, 1) / 16)), 16, 128))
    if max_steps is None:
        return batch, Forecaster.default("epochs")
    steps_per_epoch = max(1, math.ceil(n_windows / batch))
    epochs = int(np.clip(math.ceil(max_steps / steps_per_epoch), 5, 300))
    return batch, epochs


@dataclass
class Comparison:
    """What :func:`compare` returns (see the module doc)."""

    rows: list[dict[str, Any]]
    best: str
    model: Forecaster | LocalForecaster | EnsembleForecaster
    fitted: dict[str, Forecaster | LocalForecaster]
    plan: Plan
    season: int
    origins: np.ndarray  # (N,) first target index of each test window
    y_true: np.ndarray  # (N, H)
    test_pred: dict[str, np.ndarray]  # name -> (N, H)
    cv_residuals: dict[str, np.ndarray] = field(default_factory=dict)  # name -> (N_cv, H)
    settings: dict[str, Any] = field(default_factory=dict)
    ids: list[str] = field(default_factory=lambda: ["0"])  # the S series
    plans: list[Plan] = field(default_factory=list)  # each series' split, aligned on ends
    series: np.ndarray | None = None  # (N,) the series of each test window
    cv_series: np.ndarray | None = None  # (N_cv,) the series of each cv_residuals row
    selected_by: str = "mae"  # the cross-validation score the selection averaged
    notes: list[str] = field(default_factory=list)  # e.g. why the peers were skipped
    selection: str = ""  # how ``best`` was chosen, in words

    def test_forecast_rows(self, dates: Sequence[str] | Sequence[Sequence[str]] | None = None,
                           series_id: str = "y") -> list[dict[str, Any]]:
        """One row per test window and step: ``series_id, origin, step, date, actual`` and
        each model's forecast (``date`` is the target's date, or its index). ``dates``: the
        labels of the one series, or a list of each series' labels; ``series_id`` names a
        single series (many series are named by their ids)."""
        rows = []
        single = len(self.ids) == 1
        which = np.zeros(len(self.origins), np.int64) if self.series is None else self.series
        for n, origin in enumerate(self.origins):
            i = int(which[n])
            labels = dates if single or dates is None else dates[i]
            for k in range(self.y_true.shape[1]):
                t = int(origin) + k
                row = {"series_id": series_id if single else self.ids[i],
                       "origin": int(origin), "step": k + 1,
                       "date": labels[t] if labels is not None else t,
                       "actual": float(self.y_true[n, k])}
                row.update({name: float(p[n, k]) for name, p in self.test_pred.items()})
                rows.append(row)
        return rows


def _best_epochs(fc: Forecaster) -> int | None:
    val = fc.history_.get("val_loss") or []
    finite = [v if math.isfinite(v) else math.inf for v in val]
    return int(np.argmin(finite)) + 1 if finite else None


def _scores(y_true: np.ndarray, y_pred: np.ndarray, train: np.ndarray,
            season: int) -> dict[str, float]:
    out = fmetrics.evaluate_all(y_true, y_pred)
    out["mase"] = fmetrics.mase(y_true, y_pred, train, _mase_season(train, season))
    out["mase1"] = fmetrics.mase(y_true, y_pred, train, 1)
    return out


def _mase_season(train: np.ndarray, season: int) -> int:
    """The season m of a series' seasonal MASE: ``season``, or 1 when its training part
    holds no more than a season."""
    return season if len(train) > season else 1


def _sub(fit_kwargs: dict[str, Any], name: str) -> dict[str, Any]:
    """``fit_kwargs`` with its checkpoint folder (if any) moved to the sub-folder ``name``."""
    if fit_kwargs.get("checkpoint") is None:
        return fit_kwargs
    return {**fit_kwargs, "checkpoint": Path(fit_kwargs["checkpoint"]) / name}


def _univariate(series: Any) -> Panel:
    """One series ``(T,)`` or many (a Panel, dict, DataFrame, list) of one column each, plus
    a Panel's past covariate columns."""
    if isinstance(series, np.ndarray) and series.ndim == 1:
        series = [series]
    panel = as_panel(series)
    for name, v in zip(panel.ids, panel.values, strict=True):
        if v.shape[1] != 1 + len(panel.covariates):
            shape = v.shape if len(panel) > 1 else np.shape(series)
            raise DataError(f"series must be one column of values (T,) per series, got "
                            f"shape {shape}" + (f" for series {name}" if len(panel) > 1 else ""))
        if not np.all(np.isfinite(v)):
            raise DataError("series holds NaN or inf values; clean or interpolate them first"
                            if len(panel) == 1 else f"series {name} holds NaN or inf values; "
                            f"clean or interpolate them first")
    return panel


def _aligned(short: Plan, length: int) -> Plan:
    """``short`` (the plan of the shortest series) moved to end where a series of
    ``length`` values ends: the same test size and fold positions counted from the end."""
    d = length - short.length
    return Plan(length, short.valid_end + d, tuple((a + d, b + d) for a, b in short.folds))


def _per_series(y_true: np.ndarray, y_pred: np.ndarray, rows: np.ndarray,
                trains: Sequence[np.ndarray], season: int) -> list[dict[str, float]]:
    """The scores of each series' windows (``rows`` (N,) the series of each window)."""
    return [_scores(y_true[rows == i], y_pred[rows == i], train, season)
            for i, train in enumerate(trains)]


def _mean(scores: list[dict[str, float]]) -> dict[str, float]:
    """The mean over series of each score, over the series where it is defined (a MASE is
    NaN where the series' training part repeats itself: :func:`_undefined_mase`); NaN when
    it is defined for none."""
    out = {}
    for k in scores[0]:
        v = np.array([s[k] for s in scores], dtype=np.float64)
        out[k] = float(v[~np.isnan(v)].mean()) if not np.isnan(v).all() else float("nan")
    return out


def _undefined_mase(ids: Sequence[str], trains: Sequence[np.ndarray], season: int
                    ) -> str | None:
    """A note naming the series whose seasonal MASE is undefined (a training part whose
    seasonal naive error is 0, e.g. constant), None when there is none."""
    flat = [i for i, t in zip(ids, trains, strict=True)
            if fmetrics.naive_scale(t, _mase_season(t, season)) == 0]
    if not flat:
        return None
    which = f" for {', '.join(map(str, flat))}" if len(ids) > 1 else ""
    every = "step" if season == 1 else f"{season} steps"
    return (f"MASE undefined (-){which}: the training part repeats itself every {every}, "
            f"so its seasonal naive error is 0"
            + ("; the MASE means are over the other series" if len(flat) < len(ids) else ""))


def _cv(fold_scores: list[dict[str, float]]) -> dict[str, Any]:
    """A row's ``cv`` entry from each fold's (series-averaged) scores."""
    return {"mae": float(np.mean([f["mae"] for f in fold_scores])),
            "mase": float(np.mean([f["mase"] for f in fold_scores])),
            "folds_mae": [float(f["mae"]) for f in fold_scores]}


def _levels(coverage: float | None) -> tuple[float, ...]:
    """The quantile levels a probabilistic head is scored at: the CRPS levels, then the
    band's two ends."""
    c = coverage or 0.8
    return (*CRPS_LEVELS, (1 - c) / 2, (1 + c) / 2)


def _distribution(y_true: np.ndarray, q: np.ndarray, coverage: float | None
                  ) -> dict[str, Any]:
    """A probabilistic head's scores on the test windows from its quantiles ``(Q, N, H)``
    at :func:`_levels`: its own central band's coverage, width and pinball loss, and the
    CRPS over :data:`~rnnkit.tasks.forecast.intervals.CRPS_LEVELS`."""
    n = len(CRPS_LEVELS)
    return {"level": coverage or 0.8, **interval_scores(y_true, q[n], q[n + 1], coverage or 0.8),
            "crps": fmetrics.crps_quantiles(y_true, q[:n], list(CRPS_LEVELS))}


def _peer_names(peers: Sequence[str] | str | None, season: int) -> tuple[list[str], str | None]:
    """``(peers to run, the note when they are skipped)``."""
    if peers is None or not len(peers):
        return [], None
    names = list(fpeers.default_peers(season)) if peers == "auto" else list(peers)
    unknown = [n for n in names if n not in fpeers.PEERS]
    if unknown:
        raise ConfigError(f"peers must be 'auto' or names from {list(fpeers.PEERS)}, got "
                          f"{unknown[0]!r}")
    if not fpeers.available():
        return [], fpeers.missing_note()
    return names, None


def _run_peers(names: Sequence[str], values: Sequence[np.ndarray], plans: Sequence[Plan],
               horizon: int, season: int, progress: Callable[[str], None] | None = None
               ) -> list[tuple[str, Any, float]]:
    """``(peer, its per-series backtests or the error it raised, seconds)`` for each peer:
    one statsforecast model per series, on that series' own plan. ``progress`` hears how
    many series are done, at most every :data:`PEER_REPORT_SECONDS`."""
    out = []
    for name in names:
        t0 = reported = time.perf_counter()
        per: Any = []
        try:
            for i, (v, p) in enumerate(zip(values, plans, strict=True)):
                per.append(fpeers.backtest(name, v, p, horizon, season))
                now = time.perf_counter()
                if progress and now - reported >= PEER_REPORT_SECONDS and i + 1 < len(values):
                    reported = now
                    left = (now - t0) / (i + 1) * (len(values) - i - 1)
                    progress(f"  {name}: {i + 1}/{len(values)} series, {now - t0:.0f} s "
                             f"(about {left:.0f} s left for it)")
        except Exception as err:  # a third-party fit failing is a row
            per = err
        out.append((name, per, time.perf_counter() - t0))
    return out


def compare(series: Any, models: Sequence[str], *, horizon: int, input_len: int,
            season: int = 12, test: int | None = None, folds: int | None = None,
            fold_len: int | None = None, epochs: int | None = None,
            batch_size: int | None = None, max_steps: int | None = MAX_STEPS,
            ensemble: int = 3, coverage: float | None = 0.8,
            peers: Sequence[str] | str | None = "auto",
            progress: Callable[[str], None] | None = None,
            fit_kwargs: Callable[[str], dict[str, Any]] | None = None,
            mode: str = "global", jobs: int | str = 1, level: str = "auto",
            **params: Any) -> Comparison:
    """Compare ``models`` on the univariate ``series (T,)`` or on many univariate series
    (one global model each, or one per series; see the module doc).

    Args:
        series: the values, oldest first: ``(T,)``, or many series as a
            :class:`~rnnkit.data.panel.Panel`, a dict ``{id: (T_i,)}``, a list or a DataFrame.
        models: names from :data:`~rnnkit.tasks.forecast.models.MODELS`; seasonal_naive is
            added when missing.
        horizon, input_len: H and L of every model (seasonal_naive reads max(L, season);
            where a fold's history holds fewer than that plus H values, its row fails with
            the reason and the others go on).
        season: m of seasonal_naive and of the seasonal MASE.
        test, folds, fold_len: see :func:`plan_split` (of the shortest series).
        epochs: the most epochs per fit, capped by ``max_steps`` optimiser steps (None:
            no cap); batch_size: None chooses it from the number of windows.
        ensemble: k > 1 (default 3): the median of the k best models by the folds (all
            of them when fewer succeed) is a row, "ensemble", and the selected model;
            0 or 1: the single best model is selected.
        coverage: each model's split-conformal interval at this coverage from its fold
            residuals, scored on the test part (row "interval"; None: none).
        peers: statistical peers as rows: "auto" (AutoETS, AutoARIMA, and MSTL for a season
            over 24), names from :data:`~rnnkit.tasks.forecast.peers.PEERS`, or None/():
            none. Without statsforecast they are skipped with a note.
        progress: called with one line of text per fit (what ran, its time, an estimate of
            the time left); the library itself only logs.
        fit_kwargs: ``name -> extra fit() arguments`` (e.g. a checkpoint folder per model;
            each fold fit then keeps its own sub-folder ``fold-k``, the refit ``refit``, so a
            resumed comparison goes on from the fit it was killed in).
        mode: "global" (default: one model per name trained on all series) or "local" (one
            model per name and series, :class:`~rnnkit.tasks.forecast.local.LocalForecaster`;
            the same as "global" for one series).
        jobs: fits run side by side in this many worker processes (default 1: one at a
            time, here), or "auto": as many as the cores when the training windows hold at
            least :data:`~rnnkit.tasks.forecast.fitpool.WORK_PER_JOB` steps, else one
            (:mod:`~rnnkit.tasks.forecast.fitpool`). With workers, the peers' fits are one
            more job, started first. Workers are spawned: a script that asks for them runs its
            work under ``if __name__ == "__main__":``, as multiprocessing requires.
        level: what the trained models read (:class:`Forecaster`'s ``level``): "last"
            (changes from the window's last value), "none" (the scaled values), or "auto"
            (default): the two in turn, in the order of ``models``, for one series or
            ``mode="local"``; "last" for a global model (:func:`model_levels`).
        **params: other :class:`Forecaster` parameters (hidden, lr, scaler, dropout, ...).
    """
    check_choice("mode", mode, MODES)
    check_choice("level", level, LEVELS)
    panel, short_note = long_enough(_univariate(series), horizon, input_len, test, fold_len)
    values = [v[:, 0] for v in panel.values]  # S x (T_i,)
    S = len(values)
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        raise ConfigError(f"models must be names from {sorted(MODELS)}, got {unknown[0]!r}")
    names = list(dict.fromkeys(models))
    if "seasonal_naive" not in names:
        names.insert(min(1, len(names)), "seasonal_naive")
    H, L = horizon, input_len
    peer_names, peer_note = _peer_names(peers, season)
    short = plan_split(min(len(v) for v in values), H, L, test, folds, fold_len)
    plans = [_aligned(short, len(v)) for v in values]
    n_folds = len(short.folds)
    n_windows = sum(p.valid_end - L - H + 1 for p in plans)
    auto_batch, auto_epochs = auto_batch_epochs(n_windows, max_steps)
    if batch_size is not None and max_steps is not None:
        auto_epochs = auto_batch_epochs(n_windows, max_steps, batch_size)[1]
    batch_size = auto_batch if batch_size is None else batch_size
    if max_steps is None:
        epochs = Forecaster.default("epochs") if epochs is None else epochs
    else:
        epochs = auto_epochs if epochs is None else min(epochs, auto_epochs)
    say = progress or (lambda text: None)
    trained = [n for n in names if n not in BASELINES]
    levels = model_levels(names, level, shared=S > 1 and mode == "global")
    total_fits = len(trained) * (n_folds + 1)
    jobs = auto_jobs(jobs, n_windows * L, total_fits)
    # workers write progress lines, never bars (fitpool): verbose=1 asks for a bar
    worker_kw = {"verbose": "auto"} if jobs > 1 and params.get("verbose") == 1 else {}
    done_fits = 0
    t_start = time.perf_counter()
    key = "mae" if S == 1 else "mase"  # what the selection averages over folds and series

    patience = params.pop("patience", Forecaster.default("patience"))
    if patience is not None:  # early stopping on the folds: at most a quarter of the epochs
        patience = min(patience, max(5, epochs // 4))

    def make(name: str, **kw: Any) -> Forecaster | LocalForecaster:
        kw.setdefault("patience", patience)
        if name in BASELINES:  # fixed point forecasts: no probabilistic head, and no
            kw.update(head="point", validation=0)  # validation part (seasonal naive's
            # season + H values fit in a fold that the networks' L + H + fold fill)
        lag = max(L, season) if name == "seasonal_naive" else L
        fc = Forecaster(model=name, input_len=lag, horizon=H, season=season,
                        level=levels.get(name, "last" if level == "auto" else level),
                        **{"epochs": epochs, **params, "batch_size": batch_size, **kw})
        return LocalForecaster(fc) if mode == "local" and S > 1 else fc

    model_times: dict[str, list[float]] = {}
    fold_origins = [[p.folds[k][0] for p in plans] for k in range(n_folds)]
    fold_stops = [[p.folds[k][1] for p in plans] for k in range(n_folds)]
    fold_trains = [[v[:o] for v, o in zip(values, origins_k, strict=True)]
                   for origins_k in fold_origins]
    valid_ends = [p.valid_end for p in plans]
    trains_all = [v[:e] for v, e in zip(values, valid_ends, strict=True)]
    done_rows: dict[str, dict[str, Any]] = {}
    fitted: dict[str, Forecaster] = {}
    cv_pred: dict[str, list[np.ndarray]] = {}
    cv_true: list[Any] = [None] * n_folds  # (N_k, H) each fold's targets, the same for all
    cv_rows: list[Any] = [None] * n_folds  # (N_k,) their series
    test_pred: dict[str, np.ndarray] = {}
    y_true = origins = test_rows = None
    extra = {name: fit_kwargs(name) if fit_kwargs else {} for name in names}
    runs = {name: {"scores": [None] * n_folds, "epochs": [None] * n_folds,
                   "preds": [None] * n_folds, "seconds": 0.0} for name in names}

    def fail(name: str, why: str) -> None:
        done_rows[name] = {"model": name, "status": why, "cv": None, "test": None}
        say(f"[{names.index(name) + 1}/{len(names)}] {name:<16} FAILED: {why}")

    def job(name: str, k: int) -> tuple[Forecaster | LocalForecaster, Panel, dict[str, Any]]:
        """Fold k's fit of ``name`` (k = n_folds: the refit on all training data)."""
        if k < n_folds:  # trained before the origin only: the block stays out of sample
            fc = make(name, validation=fold_stops[k][0] - fold_origins[k][0], **worker_kw)
            return fc, panel.head(fold_origins[k]), _sub(extra[name], f"fold-{k + 1}")
        known = [e for e in runs[name]["epochs"] if e is not None]
        refit_epochs = max(1, int(np.median(known))) if known else epochs
        fc = make(name, validation=0, patience=None, epochs=refit_epochs, **worker_kw)
        return fc, panel.head(valid_ends), _sub(extra[name], "refit")

    def fold_done(name: str, k: int, fc: Forecaster | LocalForecaster) -> None:
        data = panel.head(fold_stops[k])
        res = fc.backtest_windows(data, fold_origins[k])
        cv_true[k], cv_rows[k] = res["y_true"], res["series"]
        run = runs[name]
        run["preds"][k] = res["y_pred"]
        run["scores"][k] = _mean(_per_series(res["y_true"], res["y_pred"], res["series"],
                                             fold_trains[k], season))
        run["epochs"][k] = _best_epochs(fc)

    def refit_done(name: str, fc: Forecaster | LocalForecaster) -> None:
        nonlocal y_true, origins, test_rows
        run = runs[name]
        probabilistic = isinstance(fc, Forecaster) and fc.head != "point"
        res = fc.backtest_windows(panel, valid_ends,
                                  **({"levels": _levels(coverage)} if probabilistic else {}))
        fold_mae = [f["mae"] for f in run["scores"]]
        if not (np.all(np.isfinite(res["y_pred"])) and np.all(np.isfinite(fold_mae))
                and all(np.all(np.isfinite(p)) for p in run["preds"])):
            fail(name, "non-finite forecasts")
            return
        per_series = _per_series(res["y_true"], res["y_pred"], res["series"], trains_all,
                                 season)
        scores = _mean(per_series)
        y_true, origins, test_rows = res["y_true"], res["start"] + fc.input_len, res["series"]
        test_pred[name] = res["y_pred"]
        cv_pred[name] = run["preds"]
        fitted[name] = fc
        row = {"model": name, "status": "ok", "fit_status": fc.fit_status_,
               "level": levels.get(name), "epochs": 0 if name in BASELINES else fc.epochs,
               "train_seconds": round(run["seconds"], 3), "cv": _cv(run["scores"]),
               "test": scores}
        if S > 1:
            row["series"] = dict(zip(panel.ids, per_series, strict=True))
        if "quantiles" in res:
            row["distribution"] = _distribution(y_true, res["quantiles"], coverage)
        done_rows[name] = row
        say(f"[{names.index(name) + 1}/{len(names)}] {name:<16} CV {key.upper()} "
            f"{row['cv'][key]:.4g}, test {key.upper()} {scores[key]:.4g} "
            f"({run['seconds']:.1f} s)")

    def reported(name: str, k: int, fc: Forecaster | LocalForecaster, seconds: float) -> None:
        nonlocal done_fits
        runs[name]["seconds"] += seconds
        if name in BASELINES:
            return
        done_fits += 1
        model_times.setdefault(name, []).append(seconds)
        # the time left, as if every fit to come took as long as this model's so far
        left = float(np.mean(model_times[name])) * (total_fits - done_fits) / pool.jobs
        what = f"fold {k + 1}/{n_folds}" if k < n_folds else "refit on all training data"
        say(f"  {name} {what}: {len(fc.history_.get('loss', []))} epochs, {seconds:.1f} s "
            f"(about {left:.0f} s left)")

    peer_runs: list[tuple[str, Any, float]] | None = None
    capped = (f", each fit on at most the last {fpeers.MAX_HISTORY:,} values"
              if max(map(len, values)) > fpeers.MAX_HISTORY else "")
    peers_wait = (f"[peer] {', '.join(peer_names)}: fitting on the {n_folds} fold"
                  f"{'s' if n_folds > 1 else ''} and the test part{capped} ...")
    with FitPool(jobs) as pool:
        # one fit at a time here, or one per worker; a model's refit first once its folds are
        # in. With workers, the peers and the costlier models (later in MODELS) start first,
        # so that the cheap fits fill the end, and this process only hands out work (and
        # fits the baselines, which train nothing: ``here``).
        here = FitPool(1) if pool.parallel else pool
        order = sorted(names, key=list(MODELS).index, reverse=True) if pool.parallel else names
        queue = deque((name, k) for name in order for k in range(n_folds))
        if pool.parallel and peer_names:
            queue.appendleft(("", PEERS_JOB))
        running: dict[Future, tuple[str, int]] = {}
        while queue or running:
            while queue and len(running) < pool.jobs:
                name, k = queue.popleft()
                if k == PEERS_JOB:
                    future = pool.call(_run_peers, peer_names, values, plans, H, season)
                else:
                    fc, data, kw = job(name, k)
                    future = (here if name in BASELINES else pool).fit(fc, data, kw)
                running[future] = name, k
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in sorted(finished, key=list(running).index):
                name, k = running.pop(future)
                if k == PEERS_JOB:
                    peer_runs = future.result()
                    continue
                if name in done_rows:  # failed in another fit
                    continue
                try:
                    fc, seconds = future.result()
                    reported(name, k, fc, seconds)
                    if k < n_folds:
                        fold_done(name, k, fc)
                        if all(s is not None for s in runs[name]["scores"]):
                            queue.appendleft((name, n_folds))
                    else:
                        refit_done(name, fc)
                except TrainingFailed as err:
                    fail(name, str(err))
                except DataError as err:  # a season longer than a fold's history:
                    if name != "seasonal_naive":  # that row fails, not the run
                        raise
                    fail(name, f"{err} (season {season})")
                if name in done_rows:
                    queue = deque(j for j in queue if j[0] != name)
            if not queue and list(running.values()) == [("", PEERS_JOB)]:
                say(peers_wait)  # the models are done: say what the wait is for
    rows = [done_rows[name] for name in names]

    ok = [r for r in rows if r["status"] == "ok"]
    if not ok:
        raise TrainingFailed("every model failed: " + "; ".join(
            f"{r['model']}: {r['status']}" for r in rows))
    flat_note = _undefined_mase(panel.ids, trains_all, season)
    for text in filter(None, (short_note, peer_note, flat_note)):
        say(text)
        log.info(text)
    if peer_runs is None:
        if peer_names:
            say(peers_wait)
        peer_runs = _run_peers(peer_names, values, plans, H, season, say)
    for name, per, seconds in peer_runs:
        row = {"model": name, "status": "ok", "peer": True}
        if isinstance(per, Exception):  # a third-party fit failing is a row, not a crash
            rows.append({**row, "status": f"{type(per).__name__}: {per}", "cv": None,
                         "test": None})
            say(f"[peer] {name:<16} FAILED: {per}")
            continue
        preds = [np.concatenate([f[k] for f, _ in per]) for k in range(n_folds)]  # (N_k, H)
        pred = np.concatenate([t for _, t in per])  # (N, H)
        if not (np.all(np.isfinite(pred)) and all(np.all(np.isfinite(p)) for p in preds)):
            rows.append({**row, "status": "non-finite forecasts", "cv": None, "test": None})
            continue
        fold_scores = [_mean(_per_series(cv_true[k], preds[k], cv_rows[k], fold_trains[k],
                                         season)) for k in range(n_folds)]
        per_series = _per_series(y_true, pred, test_rows, trains_all, season)
        test_pred[name], cv_pred[name] = pred, preds
        rows.append({**row, "epochs": 0, "train_seconds": round(seconds, 3),
                     "cv": _cv(fold_scores), "test": _mean(per_series),
                     **({"series": dict(zip(panel.ids, per_series, strict=True))}
                        if S > 1 else {})})
        say(f"[peer] {name:<16} CV {key.upper()} {rows[-1]['cv'][key]:.4g}, test "
            f"{key.upper()} {rows[-1]['test'][key]:.4g} ({seconds:.1f} s)")
    ok = [r for r in ok if not r.get("peer")]  # the saved model is an rnnkit model
    order = list(MODELS)
    ranked = [r["model"] for r in sorted(ok, key=lambda r: (r["cv"][key],
                                                            order.index(r["model"])))]
    best = ranked[0]
    model = fitted[best]
    rows_cv = {r["model"]: r["cv"][key] for r in ok}
    failed_note = None
    score = "MAE" if S == 1 else "seasonal MASE (each series' own scale)"
    selection = f"the lowest mean {score} over the cross-validation folds"
    failed = [n for n in ranked if rows_cv[n] > FAILED_RATIO * rows_cv[best]]
    if failed:
        failed_note = (f"{', '.join(failed)}: mean fold {key.upper()} over {FAILED_RATIO:g}x "
                       f"the best model's ({best}): a failed training (diverged? try a lower "
                       f"--lr), left out of the ensemble")
        say(failed_note)
    fit_ok = [n for n in ranked if n not in failed]
    if ensemble > 1 and len(fit_ok) > 1:
        top = fit_ok[:ensemble]
        cv_pred["ensemble"] = [np.median([cv_pred[n][k] for n in top], axis=0)
                               for k in range(n_folds)]
        ens = [_mean(_per_series(cv_true[k], cv_pred["ensemble"][k], cv_rows[k],
                                 fold_trains[k], season)) for k in range(n_folds)]
        pred = np.median([test_pred[n] for n in top], axis=0)  # (N, H)
        test_pred["ensemble"] = pred
        best, model = "ensemble", EnsembleForecaster({n: fitted[n] for n in top})
        selection = (f"the median forecast of {', '.join(top)}, the {len(top)} models of "
                     f"lowest mean {score} over the cross-validation folds")
        per_series = _per_series(y_true, pred, test_rows, trains_all, season)
        rows.append({"model": "ensemble", "status": "ok", "members": top, "epochs": 0,
                     "train_seconds": 0.0,
                     "cv": _cv(ens), "test": _mean(per_series),
                     **({"series": dict(zip(panel.ids, per_series, strict=True))}
                        if S > 1 else {})})
    cv_series = np.concatenate(cv_rows)  # (N_cv,)
    cv_residuals = {n: np.concatenate(cv_true) - np.concatenate(p) for n, p in cv_pred.items()}
    if coverage:
        for row in rows:
            name = row["model"]
            if name in cv_residuals and name in test_pred:
                res_j = [cv_residuals[name][cv_series == j] for j in range(S)]
                q = np.stack([conformal_halfwidth(r, coverage)
                              for r in res_j])[test_rows]  # (N, H): each series' own
                crps = [conformal_crps(y_true[test_rows == j], test_pred[name][test_rows == j],
                                       r) * np.sum(test_rows == j) for j, r in enumerate(res_j)]
                row["interval"] = {"level": coverage, **interval_scores(
                    y_true, test_pred[name] - q, test_pred[name] + q, coverage),
                    "crps": float(np.sum(crps) / len(y_true))}
    log.info("compared %d models on %d series in %.1f s; selected %s", len(names), S,
             time.perf_counter() - t_start, best)
    return Comparison(rows=rows, best=best, model=model, fitted=fitted, plan=plans[0],
                      season=season, origins=np.asarray(origins), y_true=y_true,
                      test_pred=test_pred, cv_residuals=cv_residuals,
                      settings={"horizon": H, "input_len": L, "season": season,
                                "epochs": epochs, "batch_size": batch_size,
                                "max_steps": max_steps, "mode": mode, "jobs": jobs,
                                "level": level, **params},
                      ids=list(panel.ids), plans=plans, series=np.asarray(test_rows),
                      cv_series=cv_series, selected_by=key,
                      notes=[t for t in (short_note, peer_note, flat_note, failed_note) if t],
                      selection=selection)
