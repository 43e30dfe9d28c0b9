"""``rnnkit predict``: use any saved rnnkit model on new data.

    rnnkit predict --model out/forecast/model --data sales.csv          # next H values
    rnnkit predict --model out/stores/model --data long.csv             # every id's next H
    rnnkit predict --model out/stores/model --data long.csv --origin 2005-06 --ids a b
    rnnkit predict --model out/ucr/model --data TEST.ts --out pred.csv  # class + probabilities
    rnnkit predict --model out/mnist/model --data mnist:DIR             # raw images
    rnnkit predict --model out/reviews/model --data texts.txt           # one text per line
    rnnkit predict --model out/lm/model --prompt "a list is" --length 30  # continue a prompt
    rnnkit predict --model out/seq2seq/model --data sources.txt         # one source per line

The model folder says which task it holds (``config.json`` → ``extra.task``) and carries its
preprocessing (scalers, vocabularies, label names, normalisation), so raw inputs give what
the trained model gave. Results go to ``--out`` (a CSV or text file, written atomically) or
stdout.
"""

from __future__ import annotations

import argparse
import importlib

from rnnkit.cli.options import DefaultsFormatter, add, nonneg_float, nonneg_int, positive_int

#: Task name -> the cli module whose ``predict_command(est, args)`` serves it.
HANDLERS = {"forecaster": "forecast", "sequence-classifier": "classify",
            "text-classifier": "classify", "language-model": "lm", "seq2seq": "seq2seq"}


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("predict", help="use a saved model (any task) on new data",
                              description=__doc__.split("\n\n")[0].split(": ", 1)[1],
                              formatter_class=DefaultsFormatter)
    add(p, "--model", required=True, metavar="DIR", help="saved model folder")
    add(p, "--data", metavar="FILE", default=None,
        help="inputs in the format the model's task reads (forecast: CSV; classifier: .ts, "
        "CSV, mnist:DIR or an IDX image file; text classifier / seq2seq: one text per line "
        "or a CSV)")
    add(p, "--out", metavar="FILE", default=None, help="write the results here (default: "
        "stdout)")
    add(p, "--overwrite", action="store_true", help="replace --out if it exists")
    g = p.add_argument_group("forecast")
    add(g, "--column", default=None, help="value column (default: the one the model was "
        "trained on, else the first non-date column)")
    add(g, "--date-column", default=None, help="column of time labels (default: the one the "
        "model was trained with, if the file has it)")
    add(g, "--id-column", default=None, help="id column of a long file (default: the one a "
        "many-series model was trained with); every id is forecast, an id new to the model "
        "scaled on its own values (and needs the static covariate columns the model was "
        "trained with, if any)")
    add(g, "--ids", nargs="+", default=None, metavar="ID", help="forecast only these series "
        "of a many-series model (default: all in --data)")
    add(g, "--interpolate", action="store_true", help="fill missing values linearly and insert "
        "the dates the date column's frequency skips")
    add(g, "--intervals", type=nonneg_int, default=0, metavar="N",
        help="add MC-dropout mean/std/5%%/95%% from N passes (model needs dropout)")
    add(g, "--origin", default=None, metavar="DATE", help="forecast the steps after this "
        "row (a value of the date column, or a row number from 0) instead of after the "
        "last row; the data after it are ignored; many series: each from its own row at "
        "that date (a series without it is an error naming its id)")
    add(g, "--steps", type=positive_int, default=None, help="steps to forecast (default: "
        "the model's horizon H; the recursive strategy allows any number, direct and "
        "seq2seq at most H)")
    g = p.add_argument_group("classifiers")
    add(g, "--label-column", default=None, help="label column of a CSV to drop before "
        "predicting (name or index, or 'none'; the default: none for text; for sequences "
        "the last when its cells name the model's classes, else none)")
    add(g, "--text-column", default=None, help="text column of a text CSV (name or index; "
        "default: 'text' if present, else one text per line)")
    add(g, "--encoding", default="utf-8", help="text encoding of --data")
    g = p.add_argument_group("language model")
    add(g, "--prompt", default="", help="text to continue")
    add(g, "--length", type=positive_int, default=50, help="tokens to generate")
    add(g, "--temperature", type=nonneg_float, default=0.8, help="sampling temperature (0: argmax)")
    add(g, "--top-k", type=positive_int, default=None, help="sample from the k most likely")
    add(g, "--samples", type=positive_int, default=1, help="samples to draw")
    add(g, "--seed", type=int, default=0, help="sampling seed")
    g = p.add_argument_group("seq2seq")
    add(g, "--beam", type=positive_int, default=1, help="beam size (1: greedy)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rnnkit.tasks.base import estimator_class, saved_task

    check_out(args)
    from rnnkit.tasks.forecast.ensemble import EnsembleForecaster, load_forecaster
    from rnnkit.tasks.forecast.local import LocalForecaster

    if EnsembleForecaster.is_saved(args.model) or LocalForecaster.is_saved(args.model):
        from rnnkit.cli.forecast import predict_command  # an ensemble, or a model per series

        return predict_command(load_forecaster(args.model), args)
    task = saved_task(args.model)
    est = estimator_class(task).load(args.model)
    module = importlib.import_module(f"rnnkit.cli.{HANDLERS[task]}")
    return module.predict_command(est, args)


def check_out(args: argparse.Namespace) -> None:
    """Refuse ``--out`` before any work: a folder, or an existing file without --overwrite."""
    from pathlib import Path

    from rnnkit.errors import ConfigError

    if args.out:
        out = Path(args.out)
        if out.is_dir():
            raise ConfigError(f"--out {args.out} is a folder; give a file name")
        if out.exists() and not args.overwrite:
            raise ConfigError(f"--out {args.out} exists; pass --overwrite to replace it")


def emit(args: argparse.Namespace, text: str, summary: str) -> None:
    """Write ``text`` to ``--out`` atomically (then ``summary`` on stderr), or to stdout."""
    import sys

    from rnnkit.fileio import write_text

    if args.out:
        write_text(args.out, text)
        print(f"wrote {args.out} ({summary})", file=sys.stderr)
    else:
        sys.stdout.write(text)


__all__ = ["HANDLERS", "check_out", "emit", "register", "run"]
