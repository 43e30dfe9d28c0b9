"""``rnnkit seq2seq``: train an encoder-decoder on a generated task or a TSV file.

Tasks (``--task``): ``addition`` ("16+75" -> "91"), ``dates`` (human dates -> ISO),
``reversal``; or ``--data FILE.tsv`` with ``source<TAB>target`` lines (``--level word`` for
word tokens). The last ``--test`` pairs are held out. Prints the exact-match accuracy; the
output folder (built atomically, default ``out/seq2seq``) gets ``metrics.json``,
``samples.txt``, ``attention.png`` (with ``--attention``) and ``model/``.
"""

from __future__ import annotations

import argparse
import time

from rnnkit.errors import ConfigError


def register(subparsers: argparse._SubParsersAction) -> None:
    from rnnkit.data.seq2seq_tasks import TASKS

    p = subparsers.add_parser(
        "seq2seq", help="train an encoder-decoder (addition, dates, reversal, TSV) and print "
        "its exact-match accuracy", description=__doc__.split("\n\n")[1],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    src = p.add_mutually_exclusive_group()
    src.add_argument("--task", choices=TASKS, default="addition", help="generated task")
    src.add_argument("--data", help="tab-separated parallel text file")
    p.add_argument("--encoding", default="utf-8")
    p.add_argument("--level", default="char", choices=("char", "word"))
    p.add_argument("--n", type=int, default=50_000, help="pairs to generate")
    p.add_argument("--test", type=int, default=5_000, help="held-out pairs (the last ones)")
    p.add_argument("--cell", default="lstm", choices=("lstm", "gru"))
    p.add_argument("--attention", default="dot", choices=("none", "dot", "additive"))
    p.add_argument("--reverse", action=argparse.BooleanOptionalAction, default=True,
                   help="read the source backwards")
    p.add_argument("--peeky", action=argparse.BooleanOptionalAction, default=True,
                   help="feed the encoder state to every decoder step")
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--embed", type=int, default=32)
    p.add_argument("--layers", type=int, default=1)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--beam", type=int, default=1, help="beam size for the test decoding")
    p.add_argument("--out", default="out/seq2seq")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from rnnkit.data.seq2seq_tasks import load_parallel_tsv, make_task
    from rnnkit.fileio import atomic_directory, write_json, write_text
    from rnnkit.tasks.seq2seq import Seq2SeqTask

    if args.threads < 1:
        raise ConfigError(f"--threads must be a positive int, got {args.threads}")
    torch.set_num_threads(args.threads)
    if args.data:
        pairs = load_parallel_tsv(args.data, encoding=args.encoding)
        name = args.data
    else:
        name = args.task
        pairs = make_task(name, args.n, seed=args.seed)
    if not 0 < args.test < len(pairs):
        raise ConfigError(f"--test must be between 1 and {len(pairs) - 1} for {len(pairs)} "
                          f"pairs, got {args.test}")
    train, test = pairs[:-args.test], pairs[-args.test:]
    task = Seq2SeqTask(cell=args.cell, embed_size=args.embed, hidden_size=args.hidden,
                       num_layers=args.layers,
                       attention=None if args.attention == "none" else args.attention,
                       peeky=args.peeky, reverse_source=args.reverse, level=args.level,
                       epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                       seed=args.seed)
    t0 = time.perf_counter()
    task.fit(train)
    seconds = time.perf_counter() - t0
    pred = task.predict([s for s, _ in test], beam_size=args.beam)
    acc = sum(p == t for p, (_, t) in zip(pred, test, strict=True)) / len(test)
    with atomic_directory(args.out) as tmp:
        write_json(tmp / "metrics.json", {
            "data": name, "n_train": len(train), "n_test": len(test), "exact_match": acc,
            "beam": args.beam, "train_seconds": round(seconds, 2), **task.params(),
            "history": task.history_.history})
        write_text(tmp / "samples.txt", "".join(
            f"{s}\t{p}\t{t}\t{'ok' if p == t else 'WRONG'}\n"
            for (s, t), p in zip(test[:100], pred[:100], strict=True)))
        if task.attention is not None:
            from rnnkit.plots.attention import plot_attention

            w, src, out = task.attention_weights(test[0][0])
            plot_attention(w, src, out, tmp / "attention.png", title=test[0][0])
        task.save(tmp / "model")
    print(f"exact match: {acc:.4f}  ({len(test)} held-out pairs of {name}, trained "
          f"{seconds:.0f} s)")
    print(f"wrote {args.out}/metrics.json, samples.txt"
          f"{', attention.png' if task.attention else ''}, model/")
    return 0
