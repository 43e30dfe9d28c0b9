"""``rnnkit seq2seq``: train an encoder-decoder on a generated task or a TSV file.

Tasks (``--task``): ``addition`` ("16+75" -> "91"), ``dates`` (human dates -> ISO),
``reversal``; or ``--data FILE.tsv`` with ``source<TAB>target`` lines (``--level word`` for
word tokens). The last ``--test`` pairs (auto: a tenth, at most 5,000) are held out for the
exact-match accuracy; a ``--validation`` part of the others drives early stopping. The output
folder (built atomically, default ``out/seq2seq``) gets ``metrics.json`` (accuracy, train and
validation loss per epoch), ``samples.txt``, ``attention.png`` (with attention) and
``model/`` (use it with ``rnnkit predict --model DIR/model --data sources.txt``).
"""

from __future__ import annotations

import argparse
import time

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
    positive_int,
    prepare_output,
    resume_kwargs,
    set_threads,
    training_kwargs,
)
from rnnkit.errors import ConfigError

#: The most test pairs of ``--test auto`` (a tenth of the pairs below 50,000).
TEST_PAIRS = 5_000


def register(subparsers: argparse._SubParsersAction) -> None:
    from rnnkit.data.seq2seq_tasks import TASKS
    from rnnkit.tasks.seq2seq import Seq2SeqTask
    from rnnkit.tasks.seq2seq.attention import KINDS
    from rnnkit.tasks.seq2seq.model import CELLS

    d = Seq2SeqTask.default
    p = subparsers.add_parser(
        "seq2seq", help="train an encoder-decoder (addition, dates, reversal, TSV) and print "
        "its exact-match accuracy", description=__doc__.split("\n\n")[1],
        formatter_class=DefaultsFormatter)
    src = p.add_mutually_exclusive_group()
    add(src, "--task", choices=TASKS, default="addition", help="generated task")
    add(src, "--data", default=None, help="tab-separated parallel text file (source<TAB>"
        "target lines)")
    add(p, "--encoding", default="utf-8", help="text encoding of --data")
    add(p, "--level", default=d("level"), choices=("char", "word"), help="token level")
    add(p, "--n", type=positive_int, default=50_000, help="pairs to generate")
    add(p, "--test", type=auto_or_positive_int, default="auto", help="held-out test pairs "
        f"(the last ones; auto: a tenth of the pairs, at most {TEST_PAIRS:,})")
    add(p, "--cell", default=d("cell"), choices=tuple(CELLS), help="recurrent cell")
    add(p, "--attention", default=d("attention") or "none", choices=("none", *KINDS),
        help="attention over the encoder outputs")
    add(p, "--reverse", action=argparse.BooleanOptionalAction, default=d("reverse_source"),
        help="read the source backwards")
    add(p, "--peeky", action=argparse.BooleanOptionalAction, default=d("peeky"),
        help="feed the encoder state to every decoder step")
    add(p, "--hidden", type=positive_int, default=d("hidden_size"), help="recurrent units")
    add(p, "--embed", type=positive_int, default=d("embed_size"), help="embedding size")
    add(p, "--layers", type=positive_int, default=d("num_layers"), help="recurrent layers")
    add(p, "--dropout", type=fraction, default=d("dropout"), help="dropout rate")
    add_training(p, Seq2SeqTask, {"validation": "training pairs held out for early "
                                                "stopping: fraction or count (0: none)"})
    add(p, "--beam", type=positive_int, default=1, help="beam size for the test decoding "
        "(1: greedy)")
    add_output(p, "out/seq2seq")
    p.set_defaults(func=run)


def _estimator(args: argparse.Namespace):
    from rnnkit.tasks.seq2seq import Seq2SeqTask

    return Seq2SeqTask(
        cell=args.cell, embed_size=args.embed, hidden_size=args.hidden, num_layers=args.layers,
        attention=None if args.attention == "none" else args.attention, peeky=args.peeky,
        reverse_source=args.reverse, dropout=args.dropout, level=args.level,
        **training_kwargs(args))


def run(args: argparse.Namespace) -> int:
    from rnnkit.data.seq2seq_tasks import load_parallel_tsv, make_task
    from rnnkit.fileio import atomic_directory, write_json, write_text

    prepare_output(args)
    set_threads(args.threads)
    if (status := launch(args, run)) is not None:  # --nproc N: N processes run this
        return status
    est = _estimator(args)
    est._check_params()  # bad options fail before the data are read
    if args.data is None and args.test != "auto" and args.test >= args.n:
        raise ConfigError(f"--test must be smaller than --n ({args.n}) to leave training "
                          f"pairs, got {args.test}")
    if args.data:
        pairs = load_parallel_tsv(args.data, encoding=args.encoding)
        name = args.data
    else:
        name = args.task
        pairs = make_task(name, args.n, seed=args.seed)
    n_test = min(TEST_PAIRS, max(1, len(pairs) // 10)) if args.test == "auto" else args.test
    if n_test >= len(pairs):
        raise ConfigError(f"--test must be smaller than the {len(pairs)} pairs of {name} to "
                          f"leave training pairs, got {args.test}")
    train, test = pairs[:-n_test], pairs[-n_test:]
    t0 = time.perf_counter()
    with naming(args.data or f"the {args.task} task"):
        est.fit(train, **resume_kwargs(args))
    seconds = time.perf_counter() - t0
    if not is_main_process():  # data-parallel: rank 0 scores, prints and writes
        return 0
    pred = est.predict([s for s, _ in test], beam_size=args.beam)
    acc = sum(p == t for p, (_, t) in zip(pred, test, strict=True)) / len(test)
    metrics = {"data": name, "n_train": est.n_train_, "n_validation": est.n_validation_,
               "n_test": len(test), "exact_match": acc, "beam": args.beam,
               "train_seconds": round(seconds, 2), "fit_status": est.fit_status_,
               "params": est.get_params(), "history": est.history_}
    with atomic_directory(args.out, overwrite=args.overwrite, what="seq2seq") as tmp:
        write_json(tmp / "metrics.json", metrics)
        write_text(tmp / "samples.txt", "".join(
            f"{s}\t{p}\t{t}\t{'ok' if p == t else 'WRONG'}\n"
            for (s, t), p in zip(test[:100], pred[:100], strict=True)))
        if est.attention is not None:
            from rnnkit.plots.attention import plot_attention

            w, src, out = est.attention_weights(test[0][0])
            plot_attention(w, src, out, tmp / "attention.png", title=test[0][0])
        est.save(tmp / "model")
    epochs = len(est.history_.get("loss", []))
    status = "" if est.fit_status_ == "ok" else f"; training {est.fit_status_}"
    print(f"exact match: {acc:.4f}  ({len(test)} held-out pairs of {name}, trained "
          f"{seconds:.0f} s, {epochs} epochs{status})")
    print(f"wrote {args.out}/metrics.json, samples.txt"
          f"{', attention.png' if est.attention else ''}, model/")
    return 0


def predict_command(est, args: argparse.Namespace) -> int:
    """``rnnkit predict`` for a seq2seq model: one source per line of ``--data`` (a line
    with tabs gives its first field, so a ``source<TAB>target`` file works too); writes
    ``source<TAB>prediction`` lines. Sources are stripped of surrounding whitespace, as
    training pairs read from a TSV file are."""
    from rnnkit.cli.predict import emit
    from rnnkit.data.unlabelled import read_lines

    if args.data is None:
        raise ConfigError("--data is required for a seq2seq model: a file with one source "
                          "per line")
    sources = [line.split("\t", 1)[0].strip() for line in
               read_lines(args.data, encoding=args.encoding, what="source file")]
    pred = est.predict(sources, beam_size=args.beam)
    emit(args, "".join(f"{s}\t{p}\n" for s, p in zip(sources, pred, strict=True)),
         f"{len(pred)} predictions, {est.task}")
    return 0
