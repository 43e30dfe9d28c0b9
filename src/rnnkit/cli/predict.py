"""``rnnkit predict``: forecast the next steps of a CSV series with a saved model.

    rnnkit predict --model out/forecast/model --data sales.csv --out forecast.csv

The model folder is one written by ``rnnkit forecast`` (or ``Forecaster.save``). The value
column defaults to the one the model was trained on. The forecast starts after the last row
of the file and uses its last ``input_len`` values; the CSV written has the columns
``step,label,forecast`` (and ``mean,std,lower,upper`` with ``--intervals N``).
"""

from __future__ import annotations

import argparse
import sys

from rnnkit.errors import DataError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("predict", help="forecast a CSV series with a saved model",
                              description=__doc__.split("\n\n")[0].split(": ", 1)[1])
    p.add_argument("--model", required=True, metavar="DIR", help="saved model folder")
    p.add_argument("--data", required=True, metavar="FILE.csv", help="CSV file with a header")
    p.add_argument("--column", help="value column (default: the one the model was trained on, "
                   "else the first non-date column)")
    p.add_argument("--date-column", help="column of time labels (labels the forecast steps; "
                   "default: the one the model was trained with, if the file has it)")
    p.add_argument("--interpolate", action="store_true", help="fill missing values linearly")
    p.add_argument("--intervals", type=int, default=0, metavar="N",
                   help="add MC-dropout mean/std/5%%/95%% from N passes (model needs dropout)")
    p.add_argument("--out", metavar="FILE.csv", help="write the forecast here (default: stdout)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rnnkit.cli.forecast import forecast_csv
    from rnnkit.data.series import csv_columns, load_csv
    from rnnkit.fileio import write_text
    from rnnkit.tasks.forecast import Forecaster

    fc = Forecaster.load(args.model)
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
                      interpolate=args.interpolate)
    values = series.column(series.columns[0])
    if len(values) < fc.input_len:
        raise DataError(f"{args.data}: column {series.columns[0]!r} has {len(values)} values; "
                        f"the model needs the last input_len={fc.input_len}")
    text, _, _ = forecast_csv(fc, values, series.dates, args.intervals)
    if args.out:
        write_text(args.out, text)
        print(f"wrote {args.out} ({fc.horizon} steps, model {fc.model})", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
