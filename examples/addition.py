"""Seq2seq on integer addition ("16+75" -> "91"), as in Deep Learning from Scratch 2, ch. 7.

50,000 problems (operands 0-999), 45,000 to train and 5,000 held out; character-level LSTM
encoder-decoder with the source reversed, the encoder state fed to every decoder step
("peeky") and dot-product attention. Prints the held-out exact-match accuracy beside the
book's figures and the training time.

    nice -n 10 python examples/addition.py            # about 25 epochs
    python examples/addition.py --epochs 2 --n 5000   # a quick look
"""

from __future__ import annotations

import argparse
import time

import torch

from rnnkit.data.seq2seq_tasks import make_addition
from rnnkit.tasks.seq2seq import Seq2SeqTask

PUBLISHED = ("DLS2 ch. 7 (recalled): base ~10 %, reversed ~50 %, reversed + peeky ~99 % "
             "exact match after 25 epochs")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=50_000)
    ap.add_argument("--test", type=int, default=None,
                    help="problems held out (default: 5,000, at most a tenth of --n)")
    ap.add_argument("--epochs", type=int, default=25)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--attention", default="dot", choices=["none", "dot", "additive"])
    ap.add_argument("--no-reverse", action="store_true")
    ap.add_argument("--no-peeky", action="store_true")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    n_test = min(5_000, args.n // 10) if args.test is None else args.test
    if not 1 <= n_test < args.n:
        ap.error(f"--test must be at least 1 and below --n ({args.n}), got {n_test}")
    pairs = make_addition(args.n, seed=args.seed)
    train, test = pairs[:-n_test], pairs[-n_test:]
    task = Seq2SeqTask(hidden_size=args.hidden, embed_size=32,
                       attention=None if args.attention == "none" else args.attention,
                       reverse_source=not args.no_reverse, peeky=not args.no_peeky,
                       epochs=args.epochs, batch_size=128, lr=2e-3, seed=args.seed)
    t0 = time.perf_counter()
    task.fit(train)
    seconds = time.perf_counter() - t0
    acc = task.score(test)
    print(f"train loss by epoch: {[round(v, 4) for v in task.history_['loss']]}")
    for s, _ in test[:5]:
        print(f"  {s:>8} -> {task.predict([s])[0]}")
    print(f"addition, {task.n_train_} train + {task.n_validation_} validation / "
          f"{len(test)} held out, {len(task.history_['loss'])} of {args.epochs} epochs, "
          f"attention={args.attention}, reversed={not args.no_reverse}, "
          f"peeky={not args.no_peeky}")
    print(f"rnnkit exact match: {acc:.2%}   (training {seconds:.0f} s)")
    print(f"published: {PUBLISHED}")


if __name__ == "__main__":
    main()
