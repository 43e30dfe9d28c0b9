"""``rnnkit forecast``: train and compare forecasting models on one series.

With no arguments it uses the bundled airline-passengers series (monthly 1949-1960) and
compares naive, linear, SimpleRNN, LSTM and GRU forecasts 12 months ahead from 24 months of
history. The series is split in time order: the last ``--test`` values are the test part,
the ``--valid`` values before them the validation part (early stopping, model selection),
the rest the training part (the only values the scaler sees; ``--scaler auto`` takes logs
first when every value is positive). Every window whose H targets lie in the test part is
forecast and scored: MAE, RMSE, sMAPE and MASE (against the training part's one-step naive
error). The model with the lowest *validation* MAE is saved as it was scored (no refit).

Output folder (built atomically, default ``out/forecast``): ``metrics.json``,
``forecast.csv`` (the best model's next-H forecast after the end of the data),
``forecast.png`` (each model's forecast of the first test window), ``future.png`` (the best
model's next H steps, with MC-dropout bands under ``--intervals N``), ``losses.png``,
``metrics.png`` and ``model/`` (load with ``Forecaster.load`` or
``rnnkit predict --model out/forecast/model``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from rnnkit.cli.options import (
    add,
    add_output,
    add_training,
    fraction,
    naming,
    nonneg_int,
    note,
    positive_int,
    prepare_output,
    resume_kwargs,
    set_threads,
    training_kwargs,
)
from rnnkit.errors import ConfigError, DataError, TrainingFailed

DEFAULT_MODELS = ("naive", "linear", "simple_rnn", "lstm", "gru")


def register(subparsers: argparse._SubParsersAction) -> None:
    from rnnkit.tasks.forecast import Forecaster
    from rnnkit.tasks.forecast.models import MODELS

    d = Forecaster.default
    p = subparsers.add_parser(
        "forecast", help="train and compare forecasting models on a series (default: bundled "
        "airline passengers)", description=__doc__.split("\n\n")[1],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    add(p, "--data", metavar="FILE.csv", default=None, help="CSV file with a header row "
        "(default: the bundled airline-passengers series)")
    add(p, "--column", default=None, help="value column (default: the first that is not the "
        "date column)")
    add(p, "--date-column", default=None, help="column of time labels, used in the plot and "
        "the forecast CSV")
    add(p, "--interpolate", action="store_true", help="fill missing values linearly instead "
        "of failing")
    add(p, "--horizon", type=positive_int, default=d("horizon"), help="steps to forecast, H")
    add(p, "--input-len", type=positive_int, default=d("input_len"),
        help="input steps per window, L")
    add(p, "--models", nargs="+", default=list(DEFAULT_MODELS), metavar="MODEL",
        choices=list(MODELS), help=f"models to compare, from: {', '.join(MODELS)}")
    add(p, "--strategy", default=d("strategy"), choices=("direct", "recursive", "seq2seq"),
        help="multi-step strategy")
    add_training(p, Forecaster, {"validation": "validation values before the test part "
                                 "(model selection, early stopping): a count, or a fraction "
                                 "of the series (default: 2H)"})
    add(p, "--hidden", type=positive_int, default=d("hidden"), help="units per recurrent "
        "layer")
    add(p, "--test", type=positive_int, default=None, help="test values at the end "
        "(default: 2H)")
    add(p, "--scaler", default="auto", choices=("auto", "log", "standard", "minmax", "none"),
        help="value scaling fitted on the training part; auto: log (then standardised) when "
        "every value is positive, else standard")
    add(p, "--season", type=positive_int, default=d("season"), help="season of "
        "seasonal_naive")
    add(p, "--dropout", type=fraction, default=None, help="input/recurrent dropout (default "
        "0, or 0.1 with --intervals)")
    add(p, "--intervals", type=nonneg_int, default=0, metavar="N", help="MC-dropout interval "
        "of the best model from N stochastic passes (0: none)")
    add_output(p, "out/forecast")
    p.set_defaults(func=run)


def _load(args: argparse.Namespace):
    from rnnkit.data.series import load_bundled, load_csv

    if args.data is None:
        series = load_bundled()
        column = series.columns[0]
    else:
        series = load_csv(args.data, column=args.column, date_column=args.date_column,
                          interpolate=args.interpolate)
        column = series.columns[0]
    return series, column


def _check(args: argparse.Namespace, n: int, where: str) -> tuple[int, int]:
    H, L = args.horizon, args.input_len
    if args.validation is None:
        n_valid = 2 * H
    elif isinstance(args.validation, int):
        n_valid = args.validation
    else:
        n_valid = round(args.validation * n)
    n_test = 2 * H if args.test is None else args.test
    if n_valid < H or n_test < H:
        raise ConfigError(f"--validation and --test must hold at least the horizon {H} "
                          f"values, got {n_valid} and {n_test}")
    need = L + H + n_valid + n_test
    if n < need:
        raise DataError(f"{where} has {n} values; need at least input_len + horizon + "
                        f"validation + test = {L} + {H} + {n_valid} + {n_test} = {need}")
    return n_valid, n_test


def future_labels(dates: list[str] | None, horizon: int) -> list[str]:
    """Labels of the H steps after the data: next months/years if the dates are YYYY-MM or
    YYYY, else ``+1 .. +H``."""
    if dates:
        last = dates[-1]
        try:
            if len(last) == 7 and last[4] == "-":
                y, m = int(last[:4]), int(last[5:])
                return [f"{y + (m - 1 + k) // 12:04d}-{(m - 1 + k) % 12 + 1:02d}"
                        for k in range(1, horizon + 1)]
            if len(last) == 4 and last.isdigit():
                return [str(int(last) + k) for k in range(1, horizon + 1)]
        except ValueError:
            pass
    return [f"+{k}" for k in range(1, horizon + 1)]


def forecast_csv(fc, values, dates: list[str] | None, intervals: int = 0):
    """``(csv_text, forecast (H,), intervals dict or None)`` of the next H steps after
    ``values``: columns ``step,label,forecast`` (+ ``mean,std,lower,upper``)."""
    future = fc.predict(values)  # (H,)
    labels = future_labels(dates, fc.horizon)
    iv = fc.predict_intervals(values, n_samples=intervals) if intervals else None
    lines = ["step,label,forecast" + (",mean,std,lower,upper" if iv else "")]
    for k in range(fc.horizon):
        row = f"{k + 1},{labels[k]},{future[k]:.6g}"
        if iv:
            row += (f",{iv['mean'][k]:.6g},{iv['std'][k]:.6g},{iv['lower'][k]:.6g},"
                    f"{iv['upper'][k]:.6g}")
        lines.append(row)
    return "\n".join(lines) + "\n", future, iv


def _table(rows: list[dict]) -> str:
    head = (f"{'model':<16}{'MAE':>10}{'RMSE':>10}{'sMAPE%':>9}{'MASE':>8}{'val MAE':>10}"
            f"{'train s':>9}")
    lines = [head, "-" * len(head)]
    for r in rows:
        if r["status"] != "ok":
            lines.append(f"{r['model']:<16}{'failed: ' + r['status']}")
            continue
        t = r["test"]
        lines.append(f"{r['model']:<16}{t['mae']:>10.3f}{t['rmse']:>10.3f}{t['smape']:>9.2f}"
                     f"{t['mase']:>8.3f}{r['valid']['mae']:>10.3f}{r['train_seconds']:>9.1f}")
    return "\n".join(lines)


def _fit_one(name: str, args, y, valid_end: int, train_end: int, **kw) -> tuple[dict, object]:
    """Fit and score one model: ``(row, forecaster)``; a failed model gets a row saying why
    (status) and no scores, and is never selected."""
    from rnnkit.tasks.forecast import Forecaster

    fc = Forecaster(model=name, **kw)
    try:
        fc.fit(y[:valid_end], **resume_kwargs(args, name))
    except TrainingFailed as err:
        return {"model": name, "status": str(err), "train_seconds": None, "valid": None,
                "test": None}, None
    row = {"model": name, "status": "ok", "fit_status": fc.fit_status_,
           "train_seconds": round(fc.fit_seconds_, 3),
           "epochs_run": len(fc.history_.get("loss", [])),
           "valid": fc.evaluate(y[:valid_end], train_end, train=y[:train_end]),
           "test": fc.evaluate(y, valid_end, train=y[:train_end])}
    scores = [*row["valid"].values(), *row["test"].values()]
    if not all(np.isfinite(v) for v in scores if v is not None):
        row.update(status="non-finite forecasts", valid=None, test=None)
        return row, None
    return row, fc


def run(args: argparse.Namespace) -> int:
    from rnnkit.fileio import atomic_directory, write_json, write_text
    from rnnkit.plots.forecast import plot_forecasts, plot_losses, plot_metric_bars

    prepare_output(args)
    set_threads(args.threads)
    series, column = _load(args)
    y = series.column(column)  # (T,)
    source = series.source if args.data is not None else "bundled airline_passengers.csv"
    n_valid, n_test = _check(args, len(y), f"{source} column {column!r}")
    H, L = args.horizon, args.input_len
    valid_end = len(y) - n_test
    train_end = valid_end - n_valid
    scaler = args.scaler
    if scaler == "auto":
        scaler = "log" if np.all(y[:train_end] > 0) and np.all(y > 0) else "standard"
    dropout = args.dropout if args.dropout is not None else (0.1 if args.intervals else 0.0)
    out = Path(args.out)
    note(args, f"rnnkit forecast: {source} column {column!r}: {len(y)} values; train "
         f"{train_end}, validation {n_valid}, test {n_test}; input_len {L}, horizon {H}, "
         f"strategy {args.strategy}, scaler {scaler}")

    rows, fitted = [], {}
    settings = {**training_kwargs(args), "input_len": L, "horizon": H,
                "strategy": args.strategy, "hidden": args.hidden, "dropout": dropout,
                "validation": n_valid, "scaler": scaler, "season": args.season}
    for i, name in enumerate(args.models, 1):
        t0 = time.perf_counter()
        with naming(source):
            row, fc = _fit_one(name, args, y, valid_end, train_end, **settings)
        rows.append(row)
        if fc is not None:
            fitted[name] = fc
        result = (f"test MAE {row['test']['mae']:.3f}" if row["status"] == "ok"
                  else f"FAILED: {row['status']}")
        note(args, f"[{i}/{len(args.models)}] {name:<16} {result}  "
             f"({time.perf_counter() - t0:.1f} s)")
    ok = [r for r in rows if r["status"] == "ok"]
    if not ok:
        raise TrainingFailed("every model failed: " + "; ".join(
            f"{r['model']}: {r['status']}" for r in rows))
    # ties go to the simpler model listed first in MODELS' order, whatever --models' order
    from rnnkit.tasks.forecast.models import MODELS

    order = list(MODELS)
    best = min(ok, key=lambda r: (r["valid"]["mae"], order.index(r["model"])))["model"]
    fc = fitted[best]

    with atomic_directory(out, overwrite=args.overwrite, what="forecast") as tmp:
        fc.save(tmp / "model", data_info={"column": column, "date_column": args.date_column
                                          if args.data is not None else "month",
                                          "source": source, "interpolate": args.interpolate})
        text, future, iv = forecast_csv(fc, y, series.dates, args.intervals)
        labels = future_labels(series.dates, H)
        bands = {f"{best} (future)": (iv["lower"], iv["upper"])} if iv else {}
        if iv and not np.any(iv["std"] > 1e-9 * max(1.0, float(np.abs(future).max()))):
            print(f"note: {best} has no active dropout, so its MC-dropout interval has zero "
                  f"width", file=sys.stderr)
        write_text(tmp / "forecast.csv", text)

        first_test = {name: f.predict(y[:valid_end]) for name, f in fitted.items()}
        plot_forecasts(tmp / "forecast.png", y, first_test, start=valid_end,
                       title=f"{source}: forecasts of the first test window; best by "
                             f"validation MAE: {best}")
        plot_forecasts(tmp / "future.png", y, {f"{best} (future)": future}, start=len(y),
                       bands=bands or None,
                       labels=(list(series.dates) + labels) if series.dates else None,
                       title=f"{best}: the next {H} steps")
        plot_losses(tmp / "losses.png", {name: f.history_ for name, f in fitted.items()})
        plot_metric_bars(tmp / "metrics.png", {r["model"]: r["test"] for r in ok})
        write_json(tmp / "metrics.json", {
            "data": source, "column": column, "n_values": len(y),
            "split": {"train": [0, train_end], "validation": [train_end, valid_end],
                      "test": [valid_end, len(y)]},
            **{k: v for k, v in settings.items() if k != "verbose"},
            "best_model": best, "selected_by": "validation MAE (failed models excluded)",
            "models": rows, "forecast": {"labels": labels,
                                         "values": [float(v) for v in future]}})

    print(_table(rows))
    print(f"best by validation MAE: {best}; wrote {out}/ (metrics.json, forecast.csv, "
          f"forecast.png, future.png, losses.png, metrics.png, model/)")
    return 0


def predict_command(fc, args: argparse.Namespace) -> int:
    """``rnnkit predict`` for a forecaster: the next H steps after the last row of --data."""
    from rnnkit.cli.predict import emit
    from rnnkit.data.series import csv_columns, load_csv

    if args.data is None:
        raise ConfigError("--data is required for a forecasting model (a CSV with the series)")
    info = getattr(fc, "data_info_", {}) or {}
    present = csv_columns(args.data)
    # the value and date columns default to those the model was trained on, when present
    column = args.column
    if column is None and info.get("column") in present:
        column = info["column"]
    date_column = args.date_column
    if date_column is None and info.get("date_column") in present:
        date_column = info["date_column"]
    series = load_csv(args.data, column=column, date_column=date_column,
                      interpolate=args.interpolate or bool(info.get("interpolate")))
    values = series.column(series.columns[0])
    if len(values) < fc.input_len:
        raise DataError(f"{args.data}: column {series.columns[0]!r} has {len(values)} values; "
                        f"the model needs the last input_len={fc.input_len}")
    text, _, _ = forecast_csv(fc, values, series.dates, args.intervals)
    emit(args, text, f"{fc.horizon} steps, model {fc.model}")
    return 0
