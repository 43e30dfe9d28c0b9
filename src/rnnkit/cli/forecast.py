"""``rnnkit forecast``: train and compare forecasting models on one series or many.

With no arguments it uses the bundled airline-passengers series (monthly 1949-1960) and
compares naive, seasonal naive, linear, SimpleRNN, LSTM and GRU forecasts 12 months ahead
from 24 months of history. With ``--data FILE`` alone it detects a date column (a first
column of increasing dates), the frequency and season from the dates (or the season from
the autocorrelation when there are no dates), and forecasts every value column, each one
series (``--column NAME`` picks one). A long file (rows of id, date, value) needs
``--id-column``: every id is one series (:mod:`rnnkit.data.panel`); so is every row of a
``.tsf`` file, the Monash forecasting archive's format, whose ``@horizon`` is the default
horizon (:mod:`rnnkit.data.tsf`). Many series are
forecast by one global model per name, each series scaled on its own (per-series scalers
saved with the model), and scored per series and on average over the series. With a long
file, ``--static-covariates COLUMN...`` gives the global models each id's constant values (a
store's region or size: numbers standardised, text one-hot) at every input step, and
``--id-embedding K`` a learned K-vector per id (:mod:`rnnkit.tasks.forecast.forecaster`);
both are saved with the model and read again by ``rnnkit predict``.

The comparison is :func:`rnnkit.tasks.forecast.compare.compare`: the last ``--test`` values
(default 2H; H, and folds of H, when 2H would leave out more than a quarter of the series:
:func:`~rnnkit.tasks.forecast.compare.auto_split`) are scored once; the models are ranked by
rolling-origin cross-validation on ``--folds`` folds before them (mean fold MAE), every model
is refitted on all the data before the test part, the selected model is the median forecast
of the ``--ensemble`` (default 3) best (``--ensemble 0``: the best alone), and every row is
scored on every test window: MAE, RMSE, sMAPE, MASE (scaled by the seasonal naive in-sample
error, m = the season) and MASE1 (one-step naive scale).

Output folder (built atomically, default ``out/forecast``): ``metrics.json``,
``test_forecasts.csv`` (every test window: series id, origin, step, date, actual, each
model), ``forecast.csv`` (the selected model's next-H forecast after the end of the data),
``backtest.png`` (the whole test period, windows tiled), ``future.png`` (the next H steps,
with MC-dropout bands under ``--intervals N``), ``losses.png``, ``metrics.png`` and
``model/`` (load with ``rnnkit.tasks.base.load_estimator`` or ``rnnkit predict --model
out/forecast/model``; an ensemble holds one folder per member).
With many series ``forecast.csv`` has a ``series_id`` column, ``backtest.png`` and
``future.png`` show the first 4 series and the 2 worst by the selected model's MASE, and
``series_mase.png`` the spread of every model's per-series MASE.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from rnnkit.cli.options import (
    DefaultsFormatter,
    add,
    add_output,
    add_training,
    auto_or_positive_int,
    fraction,
    is_main_process,
    launch,
    naming,
    nonneg_int,
    note,
    positive_int,
    prepare_output,
    resume_kwargs,
    set_threads,
    training_kwargs,
)
from rnnkit.errors import ConfigError, DataError
from rnnkit.train.distributed import launched

#: ``drift`` is not among them: added, it moved the selected ensemble's mean seasonal MASE over
#: the 21 series of ``benchmarks/forecast_accuracy.py`` from 1.050 to 1.047 (2026-12-04, before
#: the SimpleRNN kernel).
DEFAULT_MODELS = ("naive", "seasonal_naive", "linear", "simple_rnn", "lstm", "gru")


def register(subparsers: argparse._SubParsersAction) -> None:
    from rnnkit.tasks.forecast import Forecaster
    from rnnkit.tasks.forecast.compare import LEVELS, MAX_STEPS
    from rnnkit.tasks.forecast.models import MODELS
    from rnnkit.tasks.forecast.peers import PEERS

    d = Forecaster.default
    p = subparsers.add_parser(
        "forecast", help="train and compare forecasting models on a series (default: bundled "
        "airline passengers)", description=__doc__.split("\n\n")[1],
        formatter_class=DefaultsFormatter)
    add(p, "--data", metavar="FILE.csv", default=None, help="CSV file with a header row, or "
        "a .tsf file (the Monash forecasting archive's: one series a row, its @horizon the "
        "default horizon) (default: the bundled airline-passengers series)")
    add(p, "--column", default=None, help="value column (default: every column but the date "
        "column, each one series; in a long file the first besides the id and date)")
    add(p, "--id-column", default=None, help="id column of a long file (rows of id, date, "
        "value): every id is one series (default: found, a column of text ids, or of whole "
        "numbers named id, unique_id, series_id, item_id or series, each id's rows together "
        "or taking turns by date; else the file is read as wide)")
    add(p, "--past-covariates", nargs="+", default=None, metavar="COLUMN", help="columns the "
        "models read beside the target over each input window, never after the forecast "
        "origin (a long file: per id; a wide file: shared by every series, not series "
        "themselves)")
    add(p, "--calendar", nargs="+", default=None, metavar="FEATURE",
        choices=["month", "week", "dayofweek", "hour"], help="future-known covariates from "
        "the dates: the calendar of each forecast step (sin/cos of month, ISO week, day of "
        "week, hour), read by every model; needs a date column")
    add(p, "--static-covariates", nargs="+", default=None, metavar="COLUMN", help="columns "
        "of a long file (--id-column) with one value per id (e.g. region, store size): "
        "numbers are standardised, text one-hot, and the global models read them at every "
        "input step; a column that changes within an id is an error")
    add(p, "--id-embedding", type=nonneg_int, default=d("id_embedding"), metavar="K",
        help="many series: a learned K-vector per series id appended to every input step of "
             "the global models (0: none); an id new at predict time takes the mean vector")
    add(p, "--local", action="store_true", help="many series: one model per series instead "
        "of one global model trained on all of them")
    add(p, "--date-column", default=None, help="column of dates, used for the frequency, "
        "the season, the plots and the CSV files (default: the first column when it holds "
        "dates, else the first column of dates written as such, e.g. 2024-01-31; they must be "
        "in time order, one row a date)")
    add(p, "--interpolate", action="store_true", help="fill missing values linearly instead "
        "of failing, and insert the dates the date column's frequency skips (their values "
        "interpolated)")
    add(p, "--horizon", type=auto_or_positive_int, default="auto", help="steps to forecast, "
        "H: auto takes a .tsf file's @horizon, else the dates' frequency's (yearly 6, quarterly "
        f"8, monthly 12, weekly 13, daily 14, business daily 10, hourly and below 48; "
        f"{d('horizon')} when no dates tell the frequency)")
    add(p, "--input-len", type=positive_int, default=None,
        help="input steps per window, L (default: 24, or season + horizon when that is "
             "longer and the series have room: a whole season before every forecast step)")
    add(p, "--models", nargs="+", default=list(DEFAULT_MODELS), metavar="MODEL",
        choices=list(MODELS), help=f"models to compare (seasonal_naive is always added), "
        f"from: {', '.join(MODELS)}")
    add(p, "--strategy", default=d("strategy"), choices=("direct", "recursive", "seq2seq"),
        help="multi-step strategy")
    add_training(p, Forecaster, {"validation": "values per cross-validation fold (a count, "
                                 "or a fraction of the series; default: 2H, or H for "
                                 "short series)",
                                 "epochs": "maximum training epochs per fit (fewer when "
                                 "--max-steps caps them; early stopping on the folds may "
                                 "end sooner)"})
    p.set_defaults(batch_size=None)
    add(p, "--max-steps", type=nonneg_int, default=MAX_STEPS, help="optimiser steps per fit: "
        "caps the epochs on long series; the batch size, unless given, grows with the number of "
        "windows (0: no cap)")
    add(p, "--jobs", type=auto_or_positive_int, default="auto", help="fits run side by side in "
        "this many worker processes; auto: one per core when the series are long (training "
        "windows x input length >= 50,000), else 1")
    add(p, "--folds", type=positive_int, default=None, help="rolling-origin cross-validation "
        "folds for the selection (default: up to 3, as the series allows)")
    add(p, "--ensemble", type=nonneg_int, default=3, metavar="K", help="select the median "
        "forecast of the K best models by cross-validation (a row 'ensemble'; 0 or 1: select "
        "the single best model)")
    add(p, "--level", default="auto", choices=LEVELS, help="what the trained models read: "
        "changes from each window's last value (last), the scaled values (none), or auto: "
        "the two in turn, in the order of --models (with the default models linear and lstm "
        "read changes, simple_rnn and gru values; a global model over many series reads "
        "changes)")
    add(p, "--hidden", type=positive_int, default=d("hidden"), help="units per recurrent "
        "layer")
    add(p, "--test", type=positive_int, default=None, help="test values at the end "
        "(default: 2H, or H when 2H would leave out more than a quarter of the series)")
    add(p, "--scaler", default="auto", choices=("auto", "log", "standard", "minmax", "none"),
        help="value scaling fitted on the training part; auto: log (then standardised) when "
        "every value (and covariate) is positive, else standard")
    add(p, "--season", type=auto_or_positive_int, default="auto", help="season m of "
        "seasonal_naive and the seasonal MASE; auto: from the dates' frequency, else from the "
        "autocorrelation of the values")
    add(p, "--dropout", type=fraction, default=d("dropout"), help="input/recurrent dropout "
        "of the recurrent models (the same with or without --intervals)")
    add(p, "--intervals", type=nonneg_int, default=0, metavar="N", help="MC-dropout interval "
        "of the selected model from N stochastic passes (0: none; needs --dropout > 0)")
    add(p, "--head", default=d("head"), choices=("point", "quantile", "gaussian"),
        help="output head of the trained models: point (MSE), quantile (0.1/0.5/0.9, pinball "
        "loss; the forecast is the median) or gaussian (mean and scale, Gaussian NLL); the "
        "table's dist80%% column is the test coverage of the head's own 80%% band")
    add(p, "--peers", nargs="+", default=["auto"], metavar="PEER",
        choices=("auto", "none", *PEERS), help=f"statistical peers as rows of the table "
        f"(needs the extra 'stats': statsforecast): auto (AutoETS, AutoARIMA, and MSTL for "
        f"a season over 24), none, or names from {', '.join(PEERS)}")
    add_output(p, "out/forecast")
    p.set_defaults(func=run)


def _load(args: argparse.Namespace):
    """The series of ``--data`` (or the bundled one) as a Panel."""
    from rnnkit.data.panel import Panel, load_panel
    from rnnkit.data.series import load_bundled

    if args.data is None:
        for flag in ("past_covariates", "static_covariates"):
            if getattr(args, flag):
                raise ConfigError(f"--{flag.replace('_', '-')} needs --data (the bundled "
                                  f"series has none)")
        series = load_bundled()
        return Panel(series.columns, [series.values], [series.dates],
                     "bundled airline_passengers.csv", "wide", None, series.date_column)
    return load_panel(args.data, id_column=args.id_column or "auto", column=args.column,
                      date_column=args.date_column or "auto", interpolate=args.interpolate,
                      past_covariates=args.past_covariates,
                      static_covariates=args.static_covariates)


def _detect(args: argparse.Namespace, dates: list[str] | None, y: np.ndarray,
            horizon: int | None) -> tuple[int, int, str]:
    """``(season, horizon, what was detected, in words)`` from one series' dates and
    values; the horizon is ``horizon`` when given (``--horizon`` or the file's), else the
    frequency's (:data:`HORIZONS`), else the Forecaster's default."""
    from rnnkit.data.dates import HORIZONS, infer_frequency
    from rnnkit.tasks.forecast import Forecaster

    freq = infer_frequency(dates) if dates else None
    if horizon is None:
        horizon = HORIZONS[freq.name] if freq else Forecaster.default("horizon")
    season, words = _season(args, dates, freq, y)
    return season, horizon, words


def _season(args: argparse.Namespace, dates: list[str] | None, freq, y: np.ndarray
            ) -> tuple[int, str]:
    """``(season, what was detected, in words)``: ``--season``, else the frequency's, else
    from the autocorrelation of ``y``."""
    from rnnkit.data.dates import missing_steps, season_from_values

    words = []
    if dates:
        words.append(f"dates in {dates[0]}..{dates[-1]}"
                     + (f", {freq.name}" if freq else ", frequency unknown"))
        gaps, after = missing_steps(dates, freq) if freq else (0, None)
        if gaps:
            words.append(f"{gaps} {freq.name} date(s) missing (the first after {after}): "
                         f"the rows are read as consecutive steps (--interpolate inserts them)")
    if args.season != "auto":
        return args.season, "; ".join([*words, f"season {args.season} (--season)"])
    if freq is not None:
        return freq.season, "; ".join([*words, f"season {freq.season} ({freq.name})"])
    m = season_from_values(y)
    return m, "; ".join([*words, f"season {m} (from the autocorrelation)"])


def _n_fold(args: argparse.Namespace, n: int, horizon: int) -> int | None:
    """The values of a fold's block from ``--validation`` (a count or a fraction of ``n``)."""
    if args.validation is None:
        return None
    value = args.validation if isinstance(args.validation, int) else round(
        args.validation * n)
    if value < horizon:
        raise ConfigError(f"--validation must hold at least the horizon {horizon} "
                          f"values, got {value}")
    return value


def future_labels(dates: list[str] | None, horizon: int) -> list[str]:
    """Labels of the H steps after the data: the next dates in the frequency and form of
    ``dates`` (:func:`rnnkit.data.dates.future_dates`), else ``+1 .. +H``."""
    from rnnkit.data.dates import future_dates

    return future_dates(dates or [], horizon)


def forecast_csv(fc, values, dates: list[str] | None, intervals: int = 0,
                 steps: int | None = None):
    """``(csv_text, forecast (S,), intervals dict or None)`` of the next ``steps`` (default
    H) after ``values``: columns ``step,label,forecast`` (+ ``mean,std,lower,upper``)."""
    steps = fc.horizon if steps is None else steps
    future = fc.predict(values, steps=steps)  # (S,)
    labels = future_labels(dates, steps)
    iv = fc.predict_intervals(values, n_samples=intervals) if intervals else None
    lines = ["step,label,forecast" + (",mean,std,lower,upper" if iv else "")]
    for k in range(steps):
        row = f"{k + 1},{labels[k]},{future[k]:.6g}"
        if iv and k < len(iv["mean"]):
            row += (f",{iv['mean'][k]:.6g},{iv['std'][k]:.6g},{iv['lower'][k]:.6g},"
                    f"{iv['upper'][k]:.6g}")
        lines.append(row)
    return "\n".join(lines) + "\n", future, iv


def _table(rows: list[dict], key: str = "mae") -> str:
    """The table of test scores; ``key`` the cross-validation score the selection used.
    Each column is as wide as its widest cell, with two spaces between columns, so that
    scores in the millions stay apart (fixed widths ran "4663302.26" and "18103303.019"
    together on a series of trading volumes)."""
    head = ["model", "MAE", "RMSE", "sMAPE%", "MASE", "MASE1", f"CV {key.upper()}", "cov80%",
            "CRPS", "dist80%", "epochs", "train s"]
    cells = [head]
    for r in rows:
        if r["status"] != "ok":
            cells.append([r["model"], f"failed: {r['status']}"])
            continue
        t = r["test"]
        cells.append([r["model"], _score(t["mae"]), _score(t["rmse"]), f"{t['smape']:.2f}",
                      _ratio(t["mase"]), _ratio(t["mase1"]), _score(r["cv"][key]),
                      _coverage(r), _crps(r), _coverage(r, "distribution"), str(r["epochs"]),
                      f"{r['train_seconds']:.1f}"])
    scored = [row for row in cells if len(row) == len(head)]
    widths = [max(max(len(row[i]) for row in scored), 14 if i == 0 else 0)
              for i in range(len(head))]

    def line(row: list[str]) -> str:
        if len(row) < len(head):  # a failed model: its name and why
            return f"{row[0].ljust(widths[0])}  {row[1]}"
        return "  ".join([row[0].ljust(widths[0])]
                         + [c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)])

    lines = [line(head), "-" * len(line(head))]
    return "\n".join(lines + [line(row) for row in cells[1:]])


def _ratio(value: float) -> str:
    """A MASE as :func:`_score` writes it, "-" where it is undefined (NaN: a scale of 0)."""
    return "-" if np.isnan(value) else _score(value)


def _score(value: float) -> str:
    """An error in the series' units: three decimals, or four significant digits from a
    million up."""
    return f"{value:.3f}" if abs(value) < 1e6 else f"{value:.4g}"


def _coverage(row: dict, which: str = "interval") -> str:
    """The test coverage of the row's conformal interval (or of its head's own band,
    ``which="distribution"``), "zero" for a zero-width band."""
    iv = row.get(which)
    if not iv:
        return "-"
    return "zero" if iv["zero_width"] else f"{100 * iv['coverage']:.0f}"


def _crps(row: dict) -> str:
    """The CRPS of the row's head distribution if it has one, else of its conformal one."""
    iv = row.get("distribution") or row.get("interval")
    return f"{iv['crps']:.4g}" if iv and "crps" in iv else "-"


def _csv(rows: list[dict]) -> str:
    cols = list(rows[0])
    lines = [",".join(cols)]
    for r in rows:
        lines.append(",".join(f"{v:.6g}" if isinstance(v, float) else str(v)
                              for v in (r[c] for c in cols)))
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    from rnnkit.tasks.forecast.compare import compare, model_levels
    from rnnkit.tasks.forecast.split import (
        BASE_INPUT_LEN,
        auto_horizon,
        auto_split,
        long_enough,
        plan_split,
        smallest_split,
    )

    prepare_output(args)
    set_threads(args.threads)
    if args.local and (args.static_covariates or args.id_embedding):
        flag = "--static-covariates" if args.static_covariates else "--id-embedding"
        raise ConfigError(f"--local fits one model per series, where {flag} is one constant "
                          f"and tells nothing; drop --local for one global model")
    if (status := launch(args, run)) is not None:  # --nproc N: N processes run this
        return status
    from rnnkit.data.calendar import add_calendar

    panel = _load(args)
    past = list(panel.covariates)  # the file's columns; the calendar ones are made below
    described = panel.describe()
    given = args.horizon if args.horizon != "auto" else panel.horizon  # None: from the dates
    horizon_words = ("" if args.horizon != "auto" else " (the file's @horizon)"
                     if panel.horizon else " (auto)")
    season, H, detected = _detect(args, panel.dates[0] if panel.dates else None,
                                  panel.values[0][:, 0], given)
    if panel.inserted:
        detected += (f"; {panel.inserted} missing date(s) inserted, their values interpolated "
                     f"(--interpolate)")
    lengths = [len(v) for v in panel.values]
    if given is None and args.test is None and args.validation is None:
        # a horizon or split given is the user's (or the file's): only "auto" is fitted
        fitted = auto_horizon(lengths, H, args.input_len)
        if fitted < H:
            has = (f"the series has {lengths[0]}" if len(lengths) == 1
                   else "a quarter of the series have fewer")
            horizon_words = (f" (auto: {H} shortened to {fitted}: a split of horizon {H} needs "
                             f"{smallest_split(H, args.input_len)} values, {has})")
            H = fitted
    with naming(panel.source):
        panel = add_calendar(panel, args.calendar or [], H)
    source = panel.source
    many = len(panel) > 1
    L, n_test, fold, shortened = auto_split(lengths, H, season, args.input_len, args.test,
                                            _n_fold(args, min(lengths), H))
    with naming(source):  # series too short for a split: left out, or one error line
        whole, (panel, short_note) = panel, long_enough(panel, H, L, n_test, fold)
    if short_note and not args.local:
        short_note += (f"; forecast.csv still forecasts those of at least {L} values with the "
                       f"selected global model, unscored")
    values = [v[:, 0] for v in panel.values]  # S x (T_i,)
    scaler = args.scaler
    if scaler == "auto":
        scaler = "log" if all(np.all(v > 0) for v in panel.values) else "standard"
    shortest = min(len(v) for v in values)
    with naming(source):  # too short a series: one error line, before any note
        plan_split(shortest, H, L, n_test, args.folds, fold)
    out = Path(args.out)
    past_words = (f"; past covariates {', '.join(past)} (read up to each forecast origin)"
                  if past else "")
    if args.calendar:
        past_words += f"; calendar of each forecast step: {', '.join(args.calendar)}"
    if many:
        shown = ", ".join(panel.ids[:8]) + (", ..." if len(panel) > 8 else "")
        what = (f"{described}: {shown}" + (", one model per series" if args.local else "")
                + (f"; calendar of each forecast step: {', '.join(args.calendar)}"
                   if args.calendar else ""))
    else:
        others = ([c for c in _value_columns(args, panel.date_column)
                   if c != panel.ids[0] and c not in panel.covariates]
                  if panel.layout == "wide" else [])
        what = (f"column {panel.ids[0]!r}, {len(values[0])} values"
                + (f" (other value columns: {', '.join(others)}; several become several "
                   f"series when --column is not given)" if others else "") + past_words)
    auto = (f" (auto: a whole season of {season} before every forecast step)"
            if args.input_len is None and L == season + H > BASE_INPUT_LEN else "")
    # the series left after long_enough are those compare shares a global model among
    levels = model_levels(args.models, args.level, shared=len(panel) > 1 and not args.local)
    reads = "; ".join(f"{', '.join(m for m in levels if levels[m] == lv)} {words}"
                      for lv, words in (("last", "read changes"), ("none", "read values"))
                      if lv in levels.values())
    note(args, f"rnnkit forecast: {source}: {what}; {detected}; input_len {L}{auto}, "
         f"horizon {H}{horizon_words}, "
         f"test {n_test}, strategy {args.strategy}, scaler {scaler}"
         + (" per series" if many else "") + (f"; {reads} (--level {args.level})" if reads else "")
         + "".join(f"; {t}" for t in (shortened, short_note) if t))
    kw = training_kwargs(args)
    kw.pop("validation")
    epochs, batch_size = kw.pop("epochs"), kw.pop("batch_size")
    with naming(source):  # the Panel carries covariates and static values to every fit
        res = compare(panel if many or panel.covariates or panel.static else values[0],
                      args.models,
                      horizon=H, input_len=L, mode="local" if args.local else "global",
                      season=season, test=n_test, folds=args.folds,
                      fold_len=fold, epochs=epochs,
                      batch_size=batch_size, max_steps=args.max_steps or None,
                      ensemble=args.ensemble, progress=lambda text: note(args, text),
                      fit_kwargs=lambda name: resume_kwargs(args, name),
                      strategy=args.strategy, hidden=args.hidden, dropout=args.dropout,
                      scaler=scaler, head=args.head, peers=_peers(args.peers),
                      id_embedding=args.id_embedding, jobs=1 if launched() else args.jobs,
                      level=args.level, **kw)
    if not is_main_process():  # data-parallel: rank 0 scores, prints and writes
        return 0
    settings = {**res.settings, "scaler": scaler, "strategy": args.strategy}
    settings.pop("verbose", None)
    info = {"source": source, "date_column": panel.date_column,
            "interpolate": args.interpolate, "season": season,
            "past_covariates": past, "calendar": args.calendar or [],
            "static_covariates": list(panel.static_names)}
    if many:
        info.update(layout=panel.layout, id_column=panel.id_column,
                    column=panel.value_column, local=args.local)
        # a global model also forecasts the series left out of the comparison that hold L
        # values (unscored); one model per series (--local) has none for them
        targets = whole.select([i for i, v in zip(whole.ids, whole.values, strict=True)
                                if i in panel.ids or (len(v) >= L and not args.local)])
        files = _write_many(args, out, panel, targets, res, info, settings, detected)
    else:
        info.update(column=panel.ids[0])
        files = _write_one(args, out, panel, res, info, settings, detected)
    print(_table(res.rows, res.selected_by))
    if many:
        print(f"scores are means over the {len(panel)} series (each series' own MASE scale); "
              f"per-series scores in metrics.json")
    before = "the values before the test part of each series" if many else \
        f"{res.plan.valid_end} values before the test part"
    print(f"selected: {res.best}, {res.selection} (refitted on all {before}); wrote "
          f"{out}/ ({', '.join(files)})")
    return 0


def _write_one(args: argparse.Namespace, out: Path, panel, res, info: dict, settings: dict,
               detected: str) -> list[str]:
    """The output folder of one series; the names of what it holds."""
    from rnnkit.fileio import atomic_directory, write_json, write_text
    from rnnkit.plots.forecast import plot_backtest, plot_forecasts, plot_losses, plot_metric_bars

    best, fc, plan = res.best, res.model, res.plan
    y, column = panel.values[0][:, 0], panel.ids[0]
    dates = panel.dates[0] if panel.dates else None
    H = fc.horizon
    with atomic_directory(out, overwrite=args.overwrite, what="forecast") as tmp:
        fc.save(tmp / "model", data_info=info)
        text, future, iv = forecast_csv(fc, panel.values[0], dates, args.intervals)
        labels = future_labels(dates, H)
        bands = {f"{best} (future)": (iv["lower"], iv["upper"])} if iv else {}
        if iv and not np.any(iv["upper"] - iv["lower"] > 1e-6 * max(
                1.0, float(np.abs(future).max()))):
            print(f"note: {best} has no active dropout, so its MC-dropout interval has zero "
                  f"width (train with --dropout > 0)", file=sys.stderr)
        write_text(tmp / "forecast.csv", text)
        write_text(tmp / "test_forecasts.csv",
                   _csv(res.test_forecast_rows(dates, series_id=column)))
        plot_backtest(tmp / "backtest.png", y, res.origins, res.test_pred, start=plan.valid_end,
                      labels=dates, selected=best,
                      title=f"{panel.source}: test-period forecasts (windows tiled); selected "
                            f"by cross-validation: {best}")
        plot_forecasts(tmp / "future.png", y, {f"{best} (future)": future}, start=len(y),
                       bands=bands or None,
                       labels=(list(dates) + labels) if dates else None,
                       title=f"{best}: the next {H} steps")
        plot_losses(tmp / "losses.png", {name: f.history_ for name, f in res.fitted.items()})
        plot_metric_bars(tmp / "metrics.png", {r["model"]: r["test"] for r in res.rows
                                               if r["status"] == "ok"})
        write_json(tmp / "metrics.json", {
            "data": panel.source, "column": column, "date_column": panel.date_column,
            "n_values": len(y), "detected": detected, "split": plan.to_dict(), **settings,
            "best_model": best, "selected_by": f"{res.selection} (failed models excluded)",
            "models": res.rows, "notes": res.notes,
            "forecast": {"labels": labels, "values": [float(v) for v in future]}})
    return ["metrics.json", "test_forecasts.csv", "forecast.csv", "backtest.png", "future.png",
            "losses.png", "metrics.png", "model/"]


def _write_many(args: argparse.Namespace, out: Path, panel, targets, res, info: dict,
                settings: dict, detected: str) -> list[str]:
    """The output folder of many series (``panel``: those compared; ``targets``: those
    forecast, the compared ones and any left out of the comparison); the names of what it
    holds."""
    from rnnkit.fileio import atomic_directory, write_json, write_text
    from rnnkit.plots.forecast import (
        SeriesPanel,
        pick_series,
        plot_losses,
        plot_metric_bars,
        plot_series_backtests,
        plot_series_scores,
    )

    best, fc = res.best, res.model
    ok = [r for r in res.rows if r["status"] == "ok"]
    best_row = next(r for r in ok if r["model"] == best)
    chosen = pick_series(panel.ids, [best_row["series"][i]["mase"] for i in panel.ids])
    with atomic_directory(out, overwrite=args.overwrite, what="forecast") as tmp:
        fc.save(tmp / "model", data_info=info)
        text, every = forecast_csv_many(fc, targets, args.intervals)
        future = [every[targets.index(i)] for i in panel.ids]
        write_text(tmp / "forecast.csv", text)
        write_text(tmp / "test_forecasts.csv", _csv(res.test_forecast_rows(panel.dates)))
        past, ahead = [], []
        for i in chosen:
            sid, y = panel.ids[i], panel.values[i][:, 0]
            dates = panel.dates[i] if panel.dates else None
            mine = res.series == i
            score = best_row["series"][sid]["mase"]
            past.append(SeriesPanel(f"{sid} ({best} MASE {score:.3g})", y, res.plans[i].valid_end,
                                    res.origins[mine], {n: p[mine] for n, p in
                                                        res.test_pred.items()}, dates, best))
            ahead.append(SeriesPanel(sid, y, len(y), np.array([len(y)]),
                                     {f"{best} (future)": future[i][None]}, dates))
        plot_series_backtests(tmp / "backtest.png", past,
                              title=f"{panel.source}: test-period forecasts" + (
                                  f" of {len(past)} of {len(panel)} series (the first and the "
                                  f"worst by MASE)" if len(past) < len(panel) else ""))
        plot_series_backtests(tmp / "future.png", ahead,
                              title=f"{best}: the next {fc.horizon} steps")
        plot_series_scores(tmp / "series_mase.png", {
            r["model"]: [r["series"][i]["mase"] for i in panel.ids] for r in ok})
        plot_losses(tmp / "losses.png", {name: f.history_ for name, f in res.fitted.items()})
        plot_metric_bars(tmp / "metrics.png", {r["model"]: r["test"] for r in ok},
                         title="Test metrics by model, means over the series (lower is better)")
        write_json(tmp / "metrics.json", {
            "data": panel.source, "layout": panel.layout, "id_column": panel.id_column,
            "column": panel.value_column, "date_column": panel.date_column,
            "n_series": len(panel), "ids": panel.ids,
            "forecast_only": [i for i in targets.ids if i not in panel.ids],
            "n_values": {i: len(v) for i, v in zip(panel.ids, panel.values, strict=True)},
            "detected": detected,
            "split": {"aligned_on": "the end of each series",
                      **{i: p.to_dict() for i, p in zip(panel.ids, res.plans, strict=True)}},
            **settings, "best_model": best,
            "selected_by": f"{res.selection} (failed models excluded)", "models": res.rows,
            "notes": res.notes,
            "forecast": {i: {"labels": future_labels(targets.dates[k] if targets.dates
                                                     else None, fc.horizon),
                             "values": [float(v) for v in every[k]]}
                         for k, i in enumerate(targets.ids)}})
    return ["metrics.json", "test_forecasts.csv", "forecast.csv", "backtest.png", "future.png",
            "series_mase.png", "losses.png", "metrics.png", "model/"]


def forecast_csv_many(fc, panel, intervals: int = 0, steps: int | None = None):
    """``(csv_text, forecasts (S, steps))`` of the next ``steps`` (default H) after each
    series of ``panel``: columns ``series_id,step,label,forecast`` (+ ``mean,std,lower,
    upper`` with MC-dropout ``intervals``)."""
    steps = fc.horizon if steps is None else steps
    future = np.asarray(fc.predict(panel, steps=steps)).reshape(len(panel), steps)
    iv = fc.predict_intervals(panel, n_samples=intervals) if intervals else None
    lines = ["series_id,step,label,forecast" + (",mean,std,lower,upper" if iv else "")]
    for i, sid in enumerate(panel.ids):
        labels = future_labels(panel.dates[i] if panel.dates else None, steps)
        for k in range(steps):
            row = f"{sid},{k + 1},{labels[k]},{future[i, k]:.6g}"
            if iv and k < np.shape(iv["mean"])[-1]:
                m, sd, lo, hi = (np.reshape(iv[n], (len(panel), -1))[i, k]
                                 for n in ("mean", "std", "lower", "upper"))
                row += f",{m:.6g},{sd:.6g},{lo:.6g},{hi:.6g}"
            lines.append(row)
    return "\n".join(lines) + "\n", future


def _peers(names: list[str]) -> str | list[str] | None:
    """``--peers``: "auto", None for "none", else the names."""
    if "none" in names:
        return None
    return "auto" if "auto" in names else names


def _value_columns(args: argparse.Namespace, date_column: str | None) -> list[str]:
    from rnnkit.data.series import value_columns

    return value_columns(args.data, date_column) if args.data is not None else []


def predict_command(fc, args: argparse.Namespace) -> int:
    """``rnnkit predict`` for a forecaster: the next H steps after the last row of --data."""
    from rnnkit.cli.predict import emit
    from rnnkit.data.series import csv_columns, load_csv

    if args.data is None:
        raise ConfigError("--data is required for a forecasting model (a CSV with the series)")
    info = getattr(fc, "data_info_", {}) or {}
    if "layout" in info or args.id_column is not None or len(fc.ids_) > 1:
        return _predict_many(fc, args, info)
    present = csv_columns(args.data)
    # the value and date columns default to those the model was trained on, when present
    column = args.column
    if column is None and info.get("column") in present:
        column = info["column"]
    date_column = args.date_column
    if date_column is None and info.get("date_column") in present:
        date_column = info["date_column"]
    past = list(info.get("past_covariates") or [])
    if past and column is None:
        column = next((h for h in present if h != date_column and h not in past), None)
    series = load_csv(args.data, column=[column, *past] if past else column,
                      date_column=date_column or "auto",  # a date column of another name
                      interpolate=args.interpolate or bool(info.get("interpolate")))
    values, dates = series.values, series.dates  # (T, 1 + P): target, past covariates
    origin = getattr(args, "origin", None)
    if origin is not None:
        end = _origin_row(origin, dates, len(values), args.data) + 1
        values, dates = values[:end], dates[:end] if dates else None
    if info.get("calendar"):
        from rnnkit.data.calendar import calendar_columns

        with naming(str(args.data)):
            cols, _ = calendar_columns(dates or [], info["calendar"], fc.horizon)
        values = np.concatenate([values, cols], axis=1)  # (T, 1 + P + 2 C)
    if len(values) < fc.input_len:
        raise DataError(f"{args.data}: column {series.columns[0]!r} has {len(values)} values"
                        f"{' up to --origin ' + origin if origin is not None else ''}; "
                        f"the model needs the last input_len={fc.input_len}")
    steps = getattr(args, "steps", None)
    text, _, _ = forecast_csv(fc, values, dates, args.intervals, steps=steps)
    emit(args, text, f"{steps or fc.horizon} steps, model {fc.model}")
    return 0


def _predict_many(fc, args: argparse.Namespace, info: dict) -> int:
    """``rnnkit predict`` for a model of many series: the next H steps of every series of
    --data (or of ``--ids``), read in the layout the model was trained on, after the last
    row of each or, with ``--origin``, after each series' own row at that date. The static
    covariates the model was trained with are read from the file when it has their columns
    (an id new to the model needs them), else the saved values of each training id serve."""
    from rnnkit.cli.predict import emit
    from rnnkit.data.panel import load_panel
    from rnnkit.data.series import csv_columns

    present = [] if str(args.data).lower().endswith(".tsf") else csv_columns(args.data)
    trained = info.get("id_column")
    id_column = args.id_column or (trained if trained in present else None)
    if trained and id_column is None:
        raise DataError(f"{args.data}: the model was trained on a long file with id column "
                        f"{trained!r}, which this file lacks (columns: {present}); name the "
                        f"id column with --id-column")
    column = args.column
    if column is None and id_column is not None and info.get("column") in present:
        column = info["column"]
    date_column = args.date_column
    if date_column is None and info.get("date_column") in present:
        date_column = info["date_column"]
    static = list(info.get("static_covariates") or [])
    in_file = static if any(n in present for n in static) else []  # all or none
    panel = load_panel(args.data, id_column=id_column, column=column,
                       date_column=date_column or "auto",
                       interpolate=args.interpolate or bool(info.get("interpolate")),
                       past_covariates=info.get("past_covariates") or None,
                       static_covariates=in_file or None)
    if args.ids:
        panel = panel.select(args.ids)
    new = [i for i in panel.ids if i not in fc.ids_]
    if static and not in_file and new:
        raise DataError(f"{args.data}: series {new[0]!r} is not in the model's training data "
                        f"and the file has no static covariate column(s) {', '.join(static)} "
                        f"to give its values; add them (one value per id) or leave it out "
                        f"with --ids")
    origin = getattr(args, "origin", None)
    if origin is not None:
        panel = _cut_at_origin(panel, origin, str(args.data))
    for sid, v in zip(panel.ids, panel.values, strict=True):
        if len(v) < fc.input_len:
            raise DataError(f"{args.data}: series {sid!r} has {len(v)} values"
                            f"{' up to --origin ' + origin if origin is not None else ''}; "
                            f"the model needs the last input_len={fc.input_len}")
    if info.get("calendar"):
        from rnnkit.data.calendar import add_calendar

        with naming(str(args.data)):
            panel = add_calendar(panel, info["calendar"], fc.horizon)
    if new and not info.get("local") and (fc.scaling == "series" or fc.id_embedding):
        how = [*(["is scaled on its own values"] if fc.scaling == "series" else []),
               *(["takes the mean id embedding"] if fc.id_embedding else [])]
        print(f"note: {len(new)} series not in the model's training data "
              f"({', '.join(new[:5])}{', ...' if len(new) > 5 else ''}): each "
              f"{' and '.join(how)}", file=sys.stderr)
    steps = getattr(args, "steps", None)
    text, _ = forecast_csv_many(fc, panel, args.intervals, steps=steps)
    emit(args, text, f"{steps or fc.horizon} steps of {len(panel)} series, model {fc.model}")
    return 0


def _origin_row(origin: str, dates: list[str] | None, n: int, source: str,
                series: str | None = None, row_ok: bool = True) -> int:
    """The row of ``--origin``: a value of the date column, else (``row_ok``) a row number;
    ``series`` names the series of a long file in the error."""
    if dates and origin in dates:
        return dates.index(origin)
    if row_ok and origin.isdigit() and int(origin) < n:
        return int(origin)
    where = f"the date column has {dates[0]}..{dates[-1]}" if dates else "no date column"
    of = "the file" if series is None else f"series {series!r}"
    raise DataError(f"{source}: --origin {origin} is neither a date of {of} nor a row "
                    f"number below {n} ({where})")


def _cut_at_origin(panel, origin: str, source: str):
    """Each series of ``panel`` up to its own row at ``--origin`` (a date; a row number,
    counted in each series, only when it is no series' date); DataError naming the first
    series without it."""
    a_date = bool(panel.dates) and any(origin in d for d in panel.dates)
    ends = [_origin_row(origin, panel.dates[i] if panel.dates else None, len(v), source,
                        sid, row_ok=not a_date) + 1
            for i, (sid, v) in enumerate(zip(panel.ids, panel.values, strict=True))]
    return panel.head(ends)
