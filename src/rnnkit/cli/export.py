"""``rnnkit export``: write a saved model as one ONNX file, its preprocessing included.

    rnnkit export --model out/forecast/model --out forecast.onnx       # raw values in
    rnnkit export --model out/classify/model --out classifier.onnx     # probabilities out
    rnnkit export --model out/lm/model --out lm.onnx                   # next-token logits

The model folder's task (forecaster, sequence or text classifier, language model) or a bare
network saved with ``Sequential.save``; what the graph takes and returns, and the metadata it
carries (class names, vocabulary, tokenizer settings), are described in :mod:`rnnkit.export`.
The file is written atomically and checked with onnxruntime when it is installed.
"""

from __future__ import annotations

import argparse

from rnnkit.cli.options import DefaultsFormatter, add, positive_int

FORMATS = ("onnx",)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("export", help="write a saved model as an ONNX file",
                              description=__doc__.split("\n\n")[0].split(": ", 1)[1],
                              formatter_class=DefaultsFormatter)
    add(p, "--model", required=True, metavar="DIR", help="saved model folder")
    add(p, "--format", choices=FORMATS, default="onnx", help="file format")
    add(p, "--out", required=True, metavar="FILE", help="the file to write")
    add(p, "--overwrite", action="store_true", help="replace --out if it exists")
    add(p, "--seq-len", type=positive_int, default=None, metavar="T",
        help="steps of the example batch; a network with layer-normalised or user-defined "
        "cells takes exactly this many (default: the forecaster's input_len, the text "
        "classifier's maxlen, else 16 (text: 32))")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rnnkit.cli.predict import check_out
    from rnnkit.export import export_onnx

    check_out(args)
    model = load(args.model)
    result = export_onnx(model, args.out, seq_len=args.seq_len)

    def shapes(part: dict) -> str:
        return ", ".join(f"{k} ({', '.join(map(str, v['shape']))}) {v['dtype']}"
                         for k, v in part.items())

    print(f"wrote {result.path} ({result.task}): inputs {shapes(result.inputs)}; outputs "
          f"{shapes(result.outputs)}")
    if result.max_difference is None:
        print("not checked: onnxruntime is not installed")
    else:
        print(f"onnxruntime reproduces the model on a fresh batch: max |difference| "
              f"{result.max_difference:.2g}")
    return 0


def load(path: str):
    """The estimator saved in ``path``, or the bare network when it holds no task;
    ConfigError naming the folder for a task that cannot be exported."""
    from rnnkit.errors import ConfigError
    from rnnkit.export import EXPORTABLE
    from rnnkit.tasks.base import estimator_class
    from rnnkit.tasks.forecast.ensemble import EnsembleForecaster
    from rnnkit.tasks.forecast.local import LocalForecaster
    from rnnkit.train.saving import load_model, read_config

    for cls, what, part, folder in (
            (EnsembleForecaster, "an ensemble forecaster (the median of several models)",
             "member's", "member"),
            (LocalForecaster, "a local forecaster (one model per series, rnnkit forecast "
             "--local)", "series'", "series")):
        if cls.is_saved(path):  # a folder of saved models, each one graph
            raise ConfigError(f"--model {path} holds {what}, which is not one graph; export "
                              f"one {part} model: --model {path}/{folder}-<k>")
    extra = read_config(path).get("extra")
    task = extra.get("task") if isinstance(extra, dict) else None
    if task is None:
        return load_model(path)
    if task not in EXPORTABLE:
        raise ConfigError(f"--model {path} holds a {task} model, which cannot be exported "
                          f"to ONNX (exportable: {', '.join(EXPORTABLE)}, or a bare network)")
    return estimator_class(task).load(path)


__all__ = ["register", "run"]
