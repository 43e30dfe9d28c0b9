"""``rnnkit classify``: train a recurrent sequence classifier and score it on a test set.

Data (``--data``): ``mnist`` (downloaded into the cache folder on first use, checksums checked)
or ``mnist:DIR`` (MNIST IDX files, each image read row by row: 28 steps of 28 pixels; the test
split is the 10,000 test images), ``ucr:NAME`` (a UCR/UEA set by name, downloaded into the
cache on first use, with its own test split), a ``.ts`` or ``.arff`` file (UCR/UEA), a CSV with
one sequence per row and the label in the last column, or in the first when it holds whole
numbers and the last other values (comma, semicolon or tab separated: the UCR archive's
``.tsv`` files need no flag; ``--label-column`` names the column), ``sentiment`` (3,000
labelled review sentences, downloaded on first use; implies ``--text``), or with ``--text`` a
folder with one sub-folder of .txt files per label or a CSV with a label and a text column
(``--label-column``, ``--text-column``). ``--test`` gives the test file in the same format;
without it the last ``--test-fraction`` of the data (shuffled) is held out. A stratified
``--validation`` part of the training data drives early stopping (``auto``: 10 % when early
stopping is on or on 1,000 sequences or more, else none, so a small set trains on every
sequence). The cache folder is ``$RNNKIT_CACHE`` or ``~/.cache/rnnkit``. An option of the
other kind of data (``--crop`` with texts, ``--vectors`` with numeric sequences) is an error,
not ignored.

The defaults train on any size of data: batch size and epochs come from the number of
training sequences (a budget in optimiser steps; more epochs for few series a class),
numeric series are z-normalised one by one (MNIST images: per-feature scaling), the learning
rate warms up then decays, and a model whose training accuracy stays near chance is reported
as such. ``--patience auto``: numeric sequences train for the whole budget (a
``--validation`` part given is monitored); texts stop after 5 epochs without a better
validation loss on sets of 1,000 texts or more. ``--ensemble auto``: on a set small enough
for a quick fit, the convolutional models (the numeric default ``gru-fcn`` among them) train
up to three networks from different seeds and combine their probabilities (normalised
geometric mean; every second member also reads each series' level and scale). Torch runs on
every core (``--threads auto``; the other commands default to one thread).

Prints progress and the test accuracy; the output folder (built atomically, default
``out/classify``) gets ``metrics.json`` (accuracy, macro-F1, confusion matrix, train and
validation curves, time), ``confusion.png``, ``history.png`` and ``model/`` (use it with
``rnnkit predict --model DIR/model --data ...``).
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from rnnkit.cli.options import (
    DefaultsFormatter,
    add,
    add_output,
    add_training,
    auto_or_nonneg_float,
    auto_or_share,
    fraction,
    is_main_process,
    launch,
    naming,
    positive_int,
    prepare_output,
    resume_kwargs,
    set_threads,
    training_kwargs,
)
from rnnkit.errors import ConfigError, DataError

#: Options of numeric sequences only: flag -> SequenceClassifier's parameter (the attribute).
NUMERIC_ONLY = {"--normalize": "normalize", "--differences": "differences", "--mixup": "mixup",
                "--crop": "crop"}
#: Options of texts only: flag -> (the attribute, TextClassifier's parameter; None: the
#: option's default is None).
TEXT_ONLY = {"--text-column": ("text_column", None), "--level": ("level", "level"),
             "--max-vocab": ("max_vocab", "max_size"),
             "--maxlen": ("maxlen", "maxlen"), "--embed": ("embed", "embed_size"),
             "--vectors": ("vectors", "vectors")}


def register(subparsers: argparse._SubParsersAction) -> None:
    from rnnkit.cli.options import auto_or_positive_int
    from rnnkit.tasks.classify import SequenceClassifier, TextClassifier
    from rnnkit.tasks.classify.budget import AUTO_SECONDS, CLASS_PASSES, HEAD_LR
    from rnnkit.tasks.classify.model import MODELS
    from rnnkit.tasks.classify.pooling import POOLINGS
    from rnnkit.tasks.classify.task import LR_SCHEDULES, NORMALIZE, TEXT_LEVELS

    d, t = SequenceClassifier.default, TextClassifier.default
    p = subparsers.add_parser(
        "classify", help="train a sequence classifier (MNIST rows, CSV, .ts, .arff, text) and "
        "print its test accuracy", description=__doc__.split("\n\n")[1],
        formatter_class=DefaultsFormatter)
    add(p, "--data", required=True, help="mnist, mnist:DIR, ucr:NAME, FILE.ts, FILE.arff, "
        "FILE.csv, sentiment, or with --text a folder or CSV")
    add(p, "--test", default=None, help="test file/folder in the same format")
    add(p, "--test-fraction", type=fraction, default=0.2, help="held out when no --test")
    add(p, "--text", action="store_true", help="the data are labelled texts")
    add(p, "--encoding", default="utf-8", help="text encoding of the data files")
    add(p, "--label-column", default=None, help="label column, a name or an index: for a "
        "sequence CSV default auto (a column named label, class, target or y; the first in the "
        "UCR archive's .tsv layout, whole numbers first and other values last, or when the "
        "first holds text; else the last), for a text CSV default auto (a column named so, "
        "else the column besides the text with the fewest distinct values)")
    add(p, "--text-column", default=None, help="text column of a text CSV (default auto: "
        "the column named text, else the one holding the most words)")
    add(p, "--model", default=d("model"), choices=MODELS, help="network (with --text the "
        f"default is {t('model')})")
    add(p, "--hidden", type=auto_or_positive_int, default=d("hidden_size"),
        help="units per recurrent layer (auto: 64 for conv-* and *-fcn models, else 128)")
    add(p, "--layers", type=positive_int, default=d("num_layers"), help="recurrent layers")
    add(p, "--dropout", type=fraction, default=d("dropout"), help="dropout rate")
    add(p, "--pooling", default=d("pooling"), choices=("auto", *POOLINGS),
        help="how the recurrent outputs become one vector: the last step, the mean, max or "
        "attention over time (auto: last for plain recurrent models, max for conv-* and "
        "*-fcn, attention for the text bigru)")
    add(p, "--mixup", type=auto_or_nonneg_float, default=d("mixup"),
        help="numeric sequences: alpha of mixup on the training batches (0: off; auto: 0.2 "
        "below 1,000 training sequences, else off)")
    add(p, "--crop", type=auto_or_share, default=d("crop"),
        help="numeric sequences: train on a random window of this share of each series, "
        "a new one every batch (window slicing; 1: whole series; auto: whole series, except "
        "for a conv-* or *-fcn model whose few-shot epochs the predicted time cuts short: "
        "windows of max(0.5, epochs / wanted) and the epochs counted again)")
    add(p, "--ensemble", type=auto_or_positive_int, default=d("ensemble"),
        help="train k networks (seeds seed..seed+k-1) and combine their probabilities (auto: "
        f"up to 3 for conv-* and *-fcn models when their predicted time stays under "
        f"{AUTO_SECONDS:g} s, else 1)")
    add_training(p, SequenceClassifier, {
        "epochs": f"maximum training epochs (early stopping may end sooner; under auto, "
                  f"conv-* and *-fcn models with few series a class get more: until each "
                  f"class is read {CLASS_PASSES} times or the predicted time reaches "
                  f"{AUTO_SECONDS:g} s)",
        "lr": f"Adam learning rate (the softmax layers of conv-* and *-fcn models learn at "
              f"{HEAD_LR:g}x it)"})
    add(p, "--lr-schedule", default=d("lr_schedule"), choices=LR_SCHEDULES,
        help="learning rate: warm-up then cosine decay, halve on a validation plateau, or "
        "constant")
    add(p, "--normalize", default=argparse.SUPPRESS, choices=NORMALIZE,
        help=f"numeric sequences: auto (an ensemble's members alternate series and "
        f"series+stats; a conv-* or *-fcn network alone reads series+stats, each series' "
        f"statistics hidden from it in 3 batches of 4; a plain recurrent one reads series; "
        f"all read series where the statistics vary without telling the classes apart), "
        f"per-series z-normalisation (series), the same with each series' level and scale as "
        f"extra channels (series+stats: for data whose amplitude tells the classes apart), "
        f"per-feature standardisation learned on the training set, or none (default: "
        f"{d('normalize')}; feature for mnist images)")
    add(p, "--differences", action="store_true", default=d("differences"),
        help="numeric sequences: also read each feature's first difference x_t - x_{t-1} as "
        "more channels (it helped 2 of 9 benchmark sets and hurt 6, PigCVP most)")
    add(p, "--limit", type=positive_int, default=None, help="use only the first N training "
        "samples (quick runs)")
    add(p, "--level", default=t("level"), choices=TEXT_LEVELS, help="text tokens (subword: "
        "byte-pair encoding learned on the training texts, needs the tokenizers library)")
    add(p, "--max-vocab", type=positive_int, default=t("max_size"),
        help="text vocabulary size")
    add(p, "--maxlen", type=positive_int, default=t("maxlen"), help="truncate texts to N "
        "tokens")
    add(p, "--embed", type=auto_or_positive_int, default=t("embed_size"),
        help="text embedding size (auto: 100, or the dimension of --vectors)")
    add(p, "--vectors", default=t("vectors"), metavar="FILE", help="pretrained word vectors "
        "(GloVe / fastText .vec text format, a local file) to start the text embedding from")
    add_output(p, "out/classify", threads="auto")  # the conv default uses both cores
    p.set_defaults(func=run)


def _split(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    if not 0 < fraction < 1:
        raise ConfigError(f"--test-fraction must be in (0, 1), got {fraction}")
    perm = np.random.default_rng(seed).permutation(n)
    k = max(1, round(n * fraction))
    if k >= n:
        raise ConfigError(f"--test-fraction {fraction} leaves no training data of {n} samples")
    return perm[k:], perm[:k]


def _column(value: str | None, default: str | int) -> str | int:
    """A column given as a name or an index (``"-1"`` -> -1)."""
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        return value


def _load(args):
    """-> (X_train, y_train, X_test, y_test, kind); labels as the file names them."""
    from rnnkit.data.idx import load_mnist
    from rnnkit.data.labelled import ARCHIVE_SUFFIXES, load_labelled
    from rnnkit.data.text_datasets import load_text_csv, load_text_folder

    if args.data == "mnist" or args.data.startswith("mnist:"):
        d = args.data[len("mnist:"):] or None  # None: the cache folder (downloaded once)
        xtr, ytr = load_mnist(d, "train")
        xte, yte = load_mnist(d, "test")
        return xtr, ytr, xte, yte, "mnist"  # raw uint8: the model learns its scaling
    if args.data.startswith("ucr:"):
        from rnnkit.data.labelled import load_ucr

        if args.test:
            raise ConfigError("--data ucr:NAME comes with its own test split; drop --test")
        tr, te = load_ucr(args.data[len("ucr:"):])
        return (tr.X, np.asarray(tr.classes)[tr.y], te.X, np.asarray(te.classes)[te.y],
                "sequences")
    if args.data == "sentiment":
        from rnnkit.data.text_datasets import load_sentiment

        tr = load_sentiment()
        ytr = np.asarray(tr.classes, dtype=object)[tr.y]
        a, b = _split(len(tr), args.test_fraction, args.seed)
        texts = np.asarray(tr.texts, dtype=object)
        return list(texts[a]), ytr[a], list(texts[b]), ytr[b], "text"
    if args.text:
        from pathlib import Path

        def read(path):
            if Path(path).is_dir():
                return load_text_folder(path, encoding=args.encoding)
            return load_text_csv(path, encoding=args.encoding,
                                 label_column=_column(args.label_column, "auto"),
                                 text_column=_column(args.text_column, "auto"))

        tr = read(args.data)
        ytr = np.asarray(tr.classes, dtype=object)[tr.y]
        if args.test:
            te = read(args.test)
            return tr.texts, ytr, te.texts, np.asarray(te.classes, dtype=object)[te.y], "text"
        a, b = _split(len(tr), args.test_fraction, args.seed)
        texts = np.asarray(tr.texts, dtype=object)
        return list(texts[a]), ytr[a], list(texts[b]), ytr[b], "text"
    opts = {} if args.data.lower().endswith(ARCHIVE_SUFFIXES) else {
        "label_column": _column(args.label_column, "auto")}
    tr = load_labelled(args.data, encoding=args.encoding, **opts)
    ytr = np.asarray(tr.classes)[tr.y]
    if args.test:
        te = load_labelled(args.test, encoding=args.encoding, **opts)
        return tr.X, ytr, te.X, np.asarray(te.classes)[te.y], "sequences"
    a, b = _split(len(tr), args.test_fraction, args.seed)
    return [tr.X[i] for i in a], ytr[a], [tr.X[i] for i in b], ytr[b], "sequences"


def _kind(args) -> str:
    """"text", "mnist" or "sequences": what ``--data`` holds (before reading it)."""
    if args.text or args.data == "sentiment":
        return "text"
    return "mnist" if args.data == "mnist" or args.data.startswith("mnist:") else "sequences"


def _estimator(args, kind: str):
    from rnnkit.tasks.classify import SequenceClassifier, TextClassifier

    _check_applies(args, kind)
    common = {"model": args.model, "hidden_size": args.hidden, "num_layers": args.layers,
              "dropout": args.dropout, "pooling": args.pooling, "ensemble": args.ensemble,
              "lr_schedule": args.lr_schedule, **training_kwargs(args)}
    if kind == "text":
        for key in ("model", "hidden_size"):  # the numeric defaults -> the text ones
            if common[key] == SequenceClassifier.default(key):
                common[key] = TextClassifier.default(key)
        return TextClassifier(level=args.level, max_size=args.max_vocab, maxlen=args.maxlen,
                              embed_size=args.embed, vectors=args.vectors, **common)
    normalize = getattr(args, "normalize", None) or (
        "feature" if kind == "mnist" else SequenceClassifier.default("normalize"))
    return SequenceClassifier(normalize=normalize, differences=args.differences,
                              mixup=args.mixup, crop=args.crop, **common)


def _check_applies(args: argparse.Namespace, kind: str) -> None:
    """ConfigError for an option given away from its default that the ``kind`` of data
    does not read (a text option with numeric sequences, or the other way round), rather
    than training as if it had not been given."""
    from rnnkit.tasks.classify import SequenceClassifier, TextClassifier

    if kind == "text":
        for flag, attr in NUMERIC_ONLY.items():
            if getattr(args, attr, None) not in (None, SequenceClassifier.default(attr)):
                raise ConfigError(f"{flag} is for numeric sequences; the data are texts "
                                  f"(--text)")
        return
    for flag, (attr, param) in TEXT_ONLY.items():
        if getattr(args, attr) != (param and TextClassifier.default(param)):
            raise ConfigError(f"{flag} is for texts (--text); the data are numeric sequences")


def run(args: argparse.Namespace) -> int:
    from rnnkit.fileio import atomic_directory, write_json
    from rnnkit.plots.classification import plot_confusion_matrix, plot_history
    from rnnkit.tasks.classify.task import class_names

    prepare_output(args)
    set_threads(args.threads)
    if (status := launch(args, run)) is not None:  # --nproc N: N processes run this
        return status
    clf = _estimator(args, _kind(args))
    clf._check_params()  # bad options fail before the data are read
    Xtr, ytr, Xte, yte, kind = _load(args)
    if args.limit:
        Xtr, ytr = Xtr[:args.limit], ytr[:args.limit]
    unseen = sorted(set(map(str, yte)) - set(map(str, ytr)))
    if unseen:
        raise DataError(f"{args.test or args.data}: test label {unseen[0]!r} is not among the "
                        f"training classes {sorted(set(map(str, ytr)))[:10]}")
    t0 = time.perf_counter()
    with naming(args.data):
        clf.fit(Xtr, ytr, **resume_kwargs(args))
    seconds = time.perf_counter() - t0
    if not is_main_process():  # data-parallel: rank 0 scores, prints and writes
        return 0
    report = clf.evaluate(Xte, yte)
    names = class_names(clf.classes_)
    runs = clf.resolved_["epochs_run"]
    model = clf.model if clf.ensemble_ == 1 else f"{clf.ensemble_} x {clf.model}"
    inputs = clf.resolved_.get("normalize", [])
    if getattr(clf, "normalize", None) == "auto" and inputs:  # what "auto" chose, a member
        model += f" reading {' / '.join(inputs)}"
    if clf.resolved_.get("differences"):
        model += " with first differences"
    metrics = {"data": args.data, "test": args.test, "model": clf.model, "kind": kind,
               "n_train": clf.n_train_, "n_validation": clf.n_validation_,
               "n_test": len(yte), "train_seconds": round(seconds, 2),
               "fit_status": clf.fit_status_, "params": clf.get_params(),
               "resolved": clf.resolved_,
               "early_stopping": {"max_epochs": clf.epochs_, "epochs_run": runs,
                                  "stopped_early": [n < clf.epochs_ for n in runs]},
               "train_accuracy": clf.train_accuracy_, "warnings": clf.warnings_,
               "classes": names, **report, "history": clf.history_}
    with atomic_directory(args.out, overwrite=args.overwrite, what="classify") as tmp:
        write_json(tmp / "metrics.json", metrics)
        plot_confusion_matrix(np.asarray(report["confusion_matrix"]), names,
                              tmp / "confusion.png",
                              title=f"{model}: accuracy {report['accuracy']:.2%}")
        plot_history(clf.history_, tmp / "history.png")
        clf.save(tmp / "model")
    print(f"test accuracy: {report['accuracy']:.4f}  macro-F1: {report['macro_f1']:.4f}  "
          f"({len(yte)} test sequences, {model}, trained {seconds:.0f} s, "
          f"{'+'.join(map(str, runs))} of {clf.epochs_} epochs at batch {clf.batch_size_})")
    for warning in clf.warnings_:
        print(f"warning: {warning}")
    print(f"wrote {args.out}/metrics.json, confusion.png, history.png, model/")
    return 0


def _predict_inputs(est, args):
    """Inputs of ``rnnkit predict`` for a classifier, and the labels if the file has them."""
    from pathlib import Path

    from rnnkit.data.idx import load_idx, load_mnist
    from rnnkit.data.labelled import ARCHIVE_SUFFIXES, load_labelled
    from rnnkit.data.text_datasets import load_text_csv
    from rnnkit.data.unlabelled import load_text_column, read_lines

    data = args.data
    if est.task == "text-classifier":
        if data.lower().endswith(".csv"):
            if args.label_column is None:
                return load_text_column(data, _column(args.text_column, "auto"),
                                        encoding=args.encoding), None
            te = load_text_csv(data, encoding=args.encoding,
                               label_column=_column(args.label_column, "auto"),
                               text_column=_column(args.text_column, "auto"))
            return te.texts, np.asarray(te.classes, dtype=object)[te.y]
        return read_lines(data, encoding=args.encoding), None
    if data == "mnist" or data.startswith("mnist:"):
        return load_mnist(data[len("mnist:"):] or None, "test")
    if data.startswith("ucr:"):
        from rnnkit.data.labelled import load_ucr

        _, te = load_ucr(data[len("ucr:"):])
        return te.X, np.asarray(te.classes)[te.y]
    name = Path(data).name.lower()
    if "idx" in name or "ubyte" in name:
        return load_idx(data), None
    if name.endswith(ARCHIVE_SUFFIXES):
        te = load_labelled(data, encoding=args.encoding)
        return te.X, np.asarray(te.classes)[te.y]
    return _sequence_csv(est, data, args.label_column, args.encoding)


def _sequence_csv(est, data: str, label_column: str | None, encoding: str):
    """``(sequences, labels or None)`` of a sequence CSV for ``rnnkit predict``: labels from
    ``label_column`` (an index; "none": the file has none); by default from the last column
    when it holds text (labels: a value is a number) or numbers that all name classes of the
    model, else none (every column a value: new data to predict on)."""
    from rnnkit.data.labelled import is_number, load_sequence_csv, load_sequence_rows
    from rnnkit.tasks.classify.task import class_names

    if label_column is not None and label_column.lower() == "none":
        return load_sequence_rows(data, encoding=encoding), None
    if label_column is None:
        try:
            te = load_sequence_csv(data, encoding=encoding)
        except DataError:
            te = None
        if te is None or (all(is_number(c) for c in te.classes)
                          and not set(te.classes) <= set(class_names(est.classes_))):
            return load_sequence_rows(data, encoding=encoding), None
    else:
        te = load_sequence_csv(data, label_column=_column(label_column, "auto"),
                               encoding=encoding)
    return te.X, np.asarray(te.classes)[te.y]


def predict_command(est, args: argparse.Namespace) -> int:
    """``rnnkit predict`` for a classifier: predictions.csv with the label and the
    probability of each class (and the accuracy on stderr when --data has labels)."""
    import csv
    import io

    from rnnkit.cli.predict import emit
    from rnnkit.tasks.classify.task import class_names

    if args.data is None:
        raise ConfigError(f"--data is required for a {est.task} model")
    X, y = _predict_inputs(est, args)
    proba = est.predict_proba(X)  # (N, C)
    names = class_names(est.classes_)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["index", "prediction", *[f"p_{c}" for c in names]])
    for i, row in enumerate(proba):
        w.writerow([i, names[int(row.argmax())], *[f"{p:.6g}" for p in row]])
    summary = f"{len(proba)} predictions, {est.task}"
    if y is not None:
        known = np.isin(np.asarray(y).astype(str), names)
        acc = float(np.mean(np.asarray(names)[proba.argmax(1)][known]
                            == np.asarray(y).astype(str)[known])) if known.any() else np.nan
        print(f"accuracy on the labels in {args.data}: {acc:.4f} ({int(known.sum())} labelled "
              f"with known classes)", file=sys.stderr)
    emit(args, buf.getvalue(), summary)
    return 0
