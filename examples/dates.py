"""Seq2seq with attention on date normalisation (many human formats -> ISO), as in DLS2 ch. 8.

50,000 generated pairs ("tuesday, september 27, 1994", "9/27/94", "27.09.1994", ... ->
"1994-09-27"), 45,000 to train and 5,000 held out; character-level LSTM encoder-decoder
with additive attention. Prints the held-out exact-match accuracy beside the book's figure,
the training time, and writes the attention heatmap of one example.

    nice -n 10 python examples/dates.py --out runs/dates
    python examples/dates.py --epochs 1 --n 5000                   # a quick look
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from rnnkit.data.seq2seq_tasks import make_dates
from rnnkit.tasks.seq2seq import Seq2SeqTask

PUBLISHED = "DLS2 ch. 8 attention seq2seq on dates (recalled): ~99.9 % exact match"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=50_000)
    ap.add_argument("--test", type=int, default=None,
                    help="pairs held out (default: 5,000, at most a tenth of --n)")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--attention", default="additive", choices=["dot", "additive"])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None, help="folder for the attention heatmap PNG")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    n_test = min(5_000, args.n // 10) if args.test is None else args.test
    if not 1 <= n_test < args.n:
        ap.error(f"--test must be at least 1 and below --n ({args.n}), got {n_test}")
    pairs = make_dates(args.n, seed=args.seed)
    train, test = pairs[:-n_test], pairs[-n_test:]
    task = Seq2SeqTask(hidden_size=args.hidden, embed_size=32, attention=args.attention,
                       reverse_source=False, peeky=False, epochs=args.epochs,
                       batch_size=128, lr=2e-3, seed=args.seed)
    t0 = time.perf_counter()
    task.fit(train)
    seconds = time.perf_counter() - t0
    acc = task.score(test)
    print(f"train loss by epoch: {[round(v, 4) for v in task.history_['loss']]}")
    pred = task.predict([s for s, _ in test[:5]])
    for (s, t), p in zip(test[:5], pred, strict=True):
        print(f"  {s:>32} -> {p}  ({'ok' if p == t else 'expected ' + t})")
    print(f"dates, {task.n_train_} train + {task.n_validation_} validation / "
          f"{len(test)} held out, {len(task.history_['loss'])} of {args.epochs} epochs, "
          f"attention={args.attention}")
    print(f"rnnkit exact match: {acc:.2%}   (training {seconds:.0f} s)")
    print(f"published: {PUBLISHED}")
    if args.out:
        from rnnkit.plots.attention import plot_attention

        w, src, out = task.attention_weights(test[0][0])
        path = Path(args.out) / "attention.png"
        plot_attention(w, src, out, path, title=f"{test[0][0]} -> {''.join(out[:-1])}")
        print(f"attention heatmap: {path}")


if __name__ == "__main__":
    main()
