"""``rnnkit classify``: train a recurrent sequence classifier and score it on a test set.

Data (``--data``): ``mnist:DIR`` (MNIST IDX files, each image read row by row: 28 steps of
28 pixels; the test split is the 10,000 test images), a ``.ts`` file (UCR/UEA), a CSV with
one sequence per row and the label in the last column (``--label-column 0`` for the first),
or with ``--text`` a folder with one sub-folder of .txt files per label or a CSV with
``label`` and ``text`` columns. ``--test`` gives the test file in the same format; without it
the last ``--test-fraction`` of the data (shuffled) is held out.

Prints the test accuracy; the output folder (built atomically, default ``out/classify``)
gets ``metrics.json`` (accuracy, macro-F1, confusion matrix, per-epoch history, time),
``confusion.png``, ``history.png`` and ``model/``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from rnnkit.errors import ConfigError


def register(subparsers: argparse._SubParsersAction) -> None:
    from rnnkit.tasks.classify.model import MODELS

    p = subparsers.add_parser(
        "classify", help="train a sequence classifier (MNIST rows, CSV, .ts, text) and print "
        "its test accuracy", description=__doc__.split("\n\n")[1],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--data", required=True, help="mnist:DIR, FILE.ts, FILE.csv, or with "
                   "--text a folder or CSV")
    p.add_argument("--test", help="test file/folder in the same format")
    p.add_argument("--test-fraction", type=float, default=0.2, help="held out when no --test")
    p.add_argument("--text", action="store_true", help="the data are labelled texts")
    p.add_argument("--encoding", default="utf-8", help="text encoding of the data files")
    p.add_argument("--label-column", type=int, default=-1, help="label column of a "
                   "sequence CSV")
    p.add_argument("--model", default="lstm", choices=MODELS)
    p.add_argument("--hidden", type=int, default=128, help="units per recurrent layer")
    p.add_argument("--layers", type=int, default=1)
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=2e-3, help="Adam learning rate")
    p.add_argument("--clip", type=float, default=1.0, help="gradient-norm clipping (0: off)")
    p.add_argument("--limit", type=int, default=None, help="use only the first N training "
                   "samples (quick runs)")
    p.add_argument("--level", default="word", choices=("word", "char"), help="text tokens")
    p.add_argument("--max-vocab", type=int, default=20_000, help="text vocabulary size")
    p.add_argument("--maxlen", type=int, default=None, help="truncate texts to N tokens")
    p.add_argument("--embed", type=int, default=100, help="text embedding size")
    p.add_argument("--out", default="out/classify", help="output folder")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    p.set_defaults(func=run)


def _split(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    if not 0 < fraction < 1:
        raise ConfigError(f"--test-fraction must be in (0, 1), got {fraction}")
    perm = np.random.default_rng(seed).permutation(n)
    k = max(1, round(n * fraction))
    if k >= n:
        raise ConfigError(f"--test-fraction {fraction} leaves no training data of {n} samples")
    return perm[k:], perm[:k]


def _load(args):
    """-> (X_train, y_train, X_test, y_test, classes, kind)."""
    from rnnkit.data.idx import load_mnist
    from rnnkit.data.labelled import load_labelled
    from rnnkit.data.text_datasets import load_texts

    if args.data.startswith("mnist:"):
        d = args.data[len("mnist:"):]
        xtr, ytr = load_mnist(d, "train")
        xte, yte = load_mnist(d, "test")
        return (xtr.astype(np.float32) / 255, ytr, xte.astype(np.float32) / 255, yte,
                [str(i) for i in range(10)], "mnist")
    if args.text:
        tr = load_texts(args.data, encoding=args.encoding)
        if args.test:
            te = load_texts(args.test, encoding=args.encoding, classes=tr.classes)
            return tr.texts, tr.y, te.texts, te.y, tr.classes, "text"
        a, b = _split(len(tr), args.test_fraction, args.seed)
        texts = np.asarray(tr.texts, dtype=object)
        return (list(texts[a]), tr.y[a], list(texts[b]), tr.y[b], tr.classes, "text")
    opts = {} if args.data.lower().endswith(".ts") else {"label_column": args.label_column}
    tr = load_labelled(args.data, encoding=args.encoding, **opts)
    if args.test:
        te = load_labelled(args.test, encoding=args.encoding, classes=tr.classes, **opts)
        return tr.X, tr.y, te.X, te.y, tr.classes, "sequences"
    a, b = _split(len(tr), args.test_fraction, args.seed)
    return ([tr.X[i] for i in a], tr.y[a], [tr.X[i] for i in b], tr.y[b], tr.classes,
            "sequences")


def run(args: argparse.Namespace) -> int:
    import torch

    from rnnkit.fileio import atomic_directory, write_json
    from rnnkit.plots.classification import plot_confusion_matrix, plot_history
    from rnnkit.tasks.classify import SequenceClassifier, TextClassifier

    if args.threads < 1:
        raise ConfigError(f"--threads must be a positive int, got {args.threads}")
    torch.set_num_threads(args.threads)
    Xtr, ytr, Xte, yte, classes, kind = _load(args)
    if args.limit:
        Xtr, ytr = Xtr[:args.limit], ytr[:args.limit]
    common = {"model": args.model, "hidden_size": args.hidden, "num_layers": args.layers,
              "dropout": args.dropout, "epochs": args.epochs, "batch_size": args.batch_size,
              "lr": args.lr, "clip_grad_norm": args.clip or None, "seed": args.seed}
    if kind == "text":
        clf = TextClassifier(level=args.level, max_size=args.max_vocab, maxlen=args.maxlen,
                             embed_size=args.embed, **common)
    else:
        clf = SequenceClassifier(standardize=kind != "mnist", **common)
    t0 = time.perf_counter()
    clf.fit(Xtr, ytr, classes=classes)
    seconds = time.perf_counter() - t0
    report = clf.evaluate(Xte, yte)
    hist = clf.history_.history
    metrics = {"data": args.data, "test": args.test, "model": args.model,
               "n_train": len(ytr), "n_test": len(yte), "train_seconds": round(seconds, 2),
               "classes": classes, **report, "history": hist}
    with atomic_directory(args.out) as tmp:
        write_json(tmp / "metrics.json", metrics)
        plot_confusion_matrix(np.asarray(report["confusion_matrix"]), classes,
                              tmp / "confusion.png",
                              title=f"{args.model}: accuracy {report['accuracy']:.2%}")
        plot_history(hist, tmp / "history.png")
        clf.save(tmp / "model")
    print(f"test accuracy: {report['accuracy']:.4f}  macro-F1: {report['macro_f1']:.4f}  "
          f"({len(yte)} test sequences, {args.model}, trained {seconds:.0f} s)")
    print(f"wrote {args.out}/metrics.json, confusion.png, history.png, model/")
    return 0
