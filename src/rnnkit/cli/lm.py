"""``rnnkit lm``: train a recurrent language model on a text, or generate from one.

``rnnkit lm train [--text FILE] --out DIR``: word- or character-level LSTM language model
trained with stateful truncated BPTT; the last ``--val-fraction`` of the text is held out.
Without ``--text`` the default corpus is used (the Python documentation topics shipped with
Python). Prints the perplexity of every epoch beside the unigram baseline, then samples;
writes ``DIR/config.json`` + ``model.safetensors`` (and ``metrics.json``).

``rnnkit lm generate --model DIR --prompt TEXT``: sample ``--length`` tokens with
``--temperature`` and ``--top-k``.
"""

from __future__ import annotations

import argparse
import time

from rnnkit.errors import ConfigError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("lm", help="train a language model or generate text",
                              description="Train a recurrent language model on a text, "
                              "or generate text from a trained one.")
    sub = p.add_subparsers(dest="lm_command", metavar="{train,generate}", required=True)
    t = sub.add_parser("train", help="train on a text file (default: Python's doc topics)",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    t.add_argument("--text", help="UTF-8 (or --encoding) text file; default corpus if omitted")
    t.add_argument("--encoding", default="utf-8")
    t.add_argument("--level", default="word", choices=("word", "char"))
    t.add_argument("--max-vocab", type=int, default=10_000)
    t.add_argument("--min-freq", type=int, default=1)
    t.add_argument("--embed", type=int, default=128)
    t.add_argument("--hidden", type=int, default=256)
    t.add_argument("--layers", type=int, default=2)
    t.add_argument("--dropout", type=float, default=0.2)
    t.add_argument("--no-tie", action="store_true", help="do not tie input/output embeddings")
    t.add_argument("--epochs", type=int, default=5)
    t.add_argument("--batch-size", type=int, default=32)
    t.add_argument("--bptt", type=int, default=35, help="truncated-BPTT chunk length")
    t.add_argument("--lr", type=float, default=2e-3, help="Adam learning rate")
    t.add_argument("--clip", type=float, default=1.0, help="gradient-norm clipping")
    t.add_argument("--val-fraction", type=float, default=0.1)
    t.add_argument("--limit", type=int, default=None, help="use only the first N characters")
    t.add_argument("--prompt", default="the", help="prompt of the samples printed at the end")
    t.add_argument("--out", default="out/lm")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--threads", type=int, default=1)
    t.set_defaults(func=run_train)
    g = sub.add_parser("generate", help="sample text from a trained model",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    g.add_argument("--model", required=True, help="folder written by `rnnkit lm train`")
    g.add_argument("--prompt", default="")
    g.add_argument("--length", type=int, default=50, help="tokens to generate")
    g.add_argument("--temperature", type=float, default=0.8)
    g.add_argument("--top-k", type=int, default=None)
    g.add_argument("--samples", type=int, default=1)
    g.add_argument("--seed", type=int, default=0)
    g.set_defaults(func=run_generate)


def _threads(n: int) -> None:
    import torch

    if n < 1:
        raise ConfigError(f"--threads must be a positive int, got {n}")
    torch.set_num_threads(n)


def run_train(args: argparse.Namespace) -> int:
    from rnnkit.data.text import load_corpus
    from rnnkit.fileio import atomic_directory, write_json
    from rnnkit.tasks.lm import LanguageModelTask

    _threads(args.threads)
    text = load_corpus(args.text, encoding=args.encoding)
    if args.limit:
        text = text[:args.limit]
    task = LanguageModelTask(level=args.level, max_size=args.max_vocab, min_freq=args.min_freq,
                             embed_size=args.embed, hidden_size=args.hidden,
                             num_layers=args.layers, dropout=args.dropout,
                             tie_weights=not args.no_tie, epochs=args.epochs,
                             batch_size=args.batch_size, bptt=args.bptt, lr=args.lr,
                             clip_grad_norm=args.clip, val_fraction=args.val_fraction,
                             seed=args.seed)

    def report(epoch: int, logs: dict[str, float]) -> None:
        print(f"epoch {epoch + 1}/{args.epochs}: train perplexity {logs['perplexity']:.2f}  "
              f"held-out perplexity {logs['val_perplexity']:.2f}  ({logs['seconds']:.0f} s)",
              flush=True)

    t0 = time.perf_counter()
    task.fit(text, on_epoch_end=report)
    seconds = time.perf_counter() - t0
    print(f"unigram baseline perplexity on the held-out part: {task.unigram_perplexity_:.2f}")
    samples = [task.generate(args.prompt, length=40, temperature=0.8, top_k=40, seed=s)
               for s in range(3)]
    for s in samples:
        print(f"sample: {s}")
    with atomic_directory(args.out) as tmp:
        task.save(tmp)
        write_json(tmp / "metrics.json", {
            "text": args.text or "default corpus (pydoc_data.topics)",
            "tokens_vocab": len(task.vocab_), "train_seconds": round(seconds, 2),
            "unigram_perplexity": task.unigram_perplexity_, **task.history_,
            "samples": samples})
    print(f"wrote {args.out}/ (config.json, model.safetensors, metrics.json)")
    return 0


def run_generate(args: argparse.Namespace) -> int:
    from rnnkit.tasks.lm import LanguageModelTask

    task = LanguageModelTask.load(args.model)
    for s in range(args.samples):
        print(task.generate(args.prompt, length=args.length, temperature=args.temperature,
                            top_k=args.top_k, seed=args.seed + s))
    return 0
