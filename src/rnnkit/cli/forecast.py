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

from rnnkit.errors import ConfigError, DataError

DEFAULT_MODELS = ("naive", "linear", "simple_rnn", "lstm", "gru")


def register(subparsers: argparse._SubParsersAction) -> None:
    from rnnkit.tasks.forecast.models import MODELS

    p = subparsers.add_parser(
        "forecast", help="train and compare forecasting models on a series (default: bundled "
        "airline passengers)", description=__doc__.split("\n\n")[1],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--data", metavar="FILE.csv", help="CSV file with a header row (default: "
                   "the bundled airline-passengers series)")
    p.add_argument("--column", help="value column (default: the first that is not the date "
                   "column)")
    p.add_argument("--date-column", help="column of time labels, used in the plot and the "
                   "forecast CSV")
    p.add_argument("--interpolate", action="store_true", help="fill missing values linearly "
                   "instead of failing")
    p.add_argument("--horizon", type=int, default=12, help="steps to forecast, H")
    p.add_argument("--input-len", type=int, default=24, help="input steps per window, L")
    p.add_argument("--models", nargs="+", default=list(DEFAULT_MODELS), metavar="MODEL",
                   help=f"models to compare, from: {', '.join(MODELS)}")
    p.add_argument("--strategy", default="direct", choices=("direct", "recursive", "seq2seq"),
                   help="multi-step strategy")
    p.add_argument("--epochs", type=int, default=300, help="training epochs (maximum, with "
                   "early stopping on the validation loss)")
    p.add_argument("--patience", type=int, default=50, help="early-stopping patience in "
                   "epochs (0: none)")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=3e-3, help="Adam learning rate")
    p.add_argument("--hidden", type=int, default=32, help="units per recurrent layer")
    p.add_argument("--valid", type=int, default=None, help="validation values (default 2H)")
    p.add_argument("--test", type=int, default=None, help="test values (default 2H)")
    p.add_argument("--scaler", default="auto", choices=("auto", "log", "standard", "minmax",
                                                         "none"),
                   help="value scaling fitted on the training part; auto: log (then "
                   "standardised) when every value is positive, else standard")
    p.add_argument("--season", type=int, default=12, help="season of seasonal_naive")
    p.add_argument("--dropout", type=float, default=None, help="input/recurrent dropout "
                   "(default 0, or 0.1 with --intervals)")
    p.add_argument("--intervals", type=int, default=0, metavar="N", help="MC-dropout "
                   "interval of the best model from N stochastic passes (0: none)")
    p.add_argument("--out", default="out/forecast", help="output folder")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (1 is fastest "
                   "for these small models, above all on a busy machine)")
    p.set_defaults(func=run)


def set_threads(n: int) -> None:
    """Set torch's intra-op CPU threads (small recurrent models run fastest on one)."""
    import torch

    if n < 1:
        raise ConfigError(f"--threads must be a positive int, got {n}")
    torch.set_num_threads(n)


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


def _check(args: argparse.Namespace, n: int) -> tuple[int, int]:
    from rnnkit.tasks.forecast.models import MODELS

    for name in ("horizon", "input_len", "epochs", "batch_size", "hidden"):
        value = getattr(args, name)
        if value < (0 if name == "epochs" else 1):
            raise ConfigError(f"--{name.replace('_', '-')} must be a positive int, got "
                              f"{value}")
    for m in args.models:
        if m not in MODELS:
            raise ConfigError(f"--models: unknown model {m!r}; choose from {', '.join(MODELS)}")
    H, L = args.horizon, args.input_len
    n_valid = 2 * H if args.valid is None else args.valid
    n_test = 2 * H if args.test is None else args.test
    if n_valid < H or n_test < H:
        raise ConfigError(f"--valid and --test must be at least the horizon {H}, got "
                          f"{n_valid} and {n_test}")
    need = L + H + n_valid + n_test
    if n < need:
        raise DataError(f"series has {n} values; need at least input_len + horizon + valid + "
                        f"test = {L} + {H} + {n_valid} + {n_test} = {need}")
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
        t = r["test"]
        lines.append(f"{r['model']:<16}{t['mae']:>10.3f}{t['rmse']:>10.3f}{t['smape']:>9.2f}"
                     f"{t['mase']:>8.3f}{r['valid']['mae']:>10.3f}{r['train_seconds']:>9.1f}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from rnnkit.fileio import atomic_directory, write_json, write_text
    from rnnkit.plots.forecast import plot_forecasts, plot_losses, plot_metric_bars
    from rnnkit.tasks.forecast import Forecaster

    set_threads(args.threads)
    series, column = _load(args)
    y = series.column(column)  # (T,)
    n_valid, n_test = _check(args, len(y))
    H, L = args.horizon, args.input_len
    valid_end = len(y) - n_test
    train_end = valid_end - n_valid
    scaler = args.scaler
    if scaler == "auto":
        scaler = "log" if np.all(y[:train_end] > 0) and np.all(y > 0) else "standard"
    dropout = args.dropout if args.dropout is not None else (0.1 if args.intervals else 0.0)
    out = Path(args.out)
    source = series.source if args.data is not None else "bundled airline_passengers.csv"
    print(f"rnnkit forecast: {source} column {column!r}: {len(y)} values; train "
          f"{train_end}, valid {n_valid}, test {n_test}; input_len {L}, horizon {H}, "
          f"strategy {args.strategy}, scaler {scaler}", file=sys.stderr, flush=True)

    rows, fitted = [], {}
    with atomic_directory(out) as tmp:
        for i, name in enumerate(args.models, 1):
            print(f"[{i}/{len(args.models)}] {name:<16}", end="", file=sys.stderr, flush=True)
            t0 = time.perf_counter()
            fc = Forecaster(model=name, input_len=L, horizon=H, strategy=args.strategy,
                            epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                            hidden=args.hidden, dropout=dropout, valid=n_valid, scaler=scaler,
                            patience=args.patience or None, season=args.season,
                            seed=args.seed, verbose=0)
            fc.fit(y[:valid_end])
            row = {"model": name, "train_seconds": round(fc.fit_seconds_, 3),
                   "epochs_run": len(fc.history_.get("loss", [])),
                   "valid": fc.score(y[:valid_end], train_end, train=y[:train_end]),
                   "test": fc.score(y, valid_end, train=y[:train_end])}
            rows.append(row)
            fitted[name] = fc
            print(f" test MAE {row['test']['mae']:.3f}  ({time.perf_counter() - t0:.1f} s)",
                  file=sys.stderr, flush=True)

        best = min(rows, key=lambda r: r["valid"]["mae"])["model"]
        fc = fitted[best]
        fc.save(tmp / "model", data_info={"column": column, "date_column": args.date_column
                                          if args.data is not None else "month",
                                          "source": source})
        text, future, iv = forecast_csv(fc, y, series.dates, args.intervals)
        labels = future_labels(series.dates, H)
        bands = {f"{best} (future)": (iv["lower"], iv["upper"])} if iv else {}
        if iv and not np.any(iv["std"] > 0):
            print(f"note: {best} has no dropout layer, so its MC-dropout interval has zero "
                  f"width", file=sys.stderr)
        write_text(tmp / "forecast.csv", text)

        first_test = {r["model"]: fitted[r["model"]].predict(y[:valid_end]) for r in rows}
        plot_forecasts(tmp / "forecast.png", y, first_test, start=valid_end,
                       title=f"{source}: forecasts of the first test window; best by "
                             f"validation MAE: {best}")
        plot_forecasts(tmp / "future.png", y, {f"{best} (future)": future}, start=len(y),
                       bands=bands or None,
                       labels=(list(series.dates) + labels) if series.dates else None,
                       title=f"{best}: the next {H} steps")
        plot_losses(tmp / "losses.png", {r["model"]: fitted[r["model"]].history_
                                         for r in rows})
        plot_metric_bars(tmp / "metrics.png", {r["model"]: r["test"] for r in rows})
        write_json(tmp / "metrics.json", {
            "data": source, "column": column, "n_values": len(y),
            "split": {"train": [0, train_end], "valid": [train_end, valid_end],
                      "test": [valid_end, len(y)]},
            "input_len": L, "horizon": H, "strategy": args.strategy, "epochs": args.epochs,
            "scaler": scaler,
            "seed": args.seed, "best_model": best, "selected_by": "validation MAE",
            "models": rows, "forecast": {"labels": labels,
                                         "values": [float(v) for v in future]}})

    print(_table(rows))
    print(f"best by validation MAE: {best}; wrote {out}/ (metrics.json, forecast.csv, "
          f"forecast.png, future.png, losses.png, metrics.png, model/)")
    return 0
