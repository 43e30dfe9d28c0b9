"""MNIST read row by row: 28 steps of 28 pixels -> digit, with LSTM, GRU and SimpleRNN.

Trains each model on the 60,000 training images and scores it on the full 10,000-image
test set; prints the accuracy beside published figures (REFERENCES.md) and the training
time. Progress goes to stderr, one line per epoch, and after the first epoch an estimate of
the time the remaining epochs take; early stopping on a held-out tenth may end sooner.

MNIST comes from the cache folder (``$RNNKIT_CACHE`` or ``~/.cache/rnnkit/mnist``), downloaded
there with checksums on first use; ``--data DIR`` reads the four files from a folder instead.
Training uses the estimator's defaults (a budget in optimiser steps, warm-up + cosine
learning rate, early stopping) with per-feature scaling of the pixels.

    nice -n 10 python examples/mnist_rows.py                     # downloads MNIST once
    python examples/mnist_rows.py --data ../shared/data/mnist --models my-lstm --limit 5000 \
        --epochs 1                                               # quick look
"""

from __future__ import annotations

import argparse
import time

import torch

from rnnkit.data.idx import load_mnist
from rnnkit.tasks.classify import SequenceClassifier

PUBLISHED = {
    "lstm": "LSTM(256), Adam, 20 epochs: ~98.9 % (Advanced DL with Keras); custom LSTMCell "
            "(128, SGD 0.1, 10 epochs): 97.9 % (Korean PyTorch textbook)",
    "gru": "custom GRUCell (128, SGD 0.1, 10 epochs): 98.2 % (Korean PyTorch textbook)",
    "rnn": "SimpleRNN, Adam: ~98.0 % (Advanced DL with Keras); scan RNN 128: 97.66 % on "
           "128 test images (Learning TensorFlow)",
    "my-lstm": "custom LSTMCell (128, SGD 0.1, 10 epochs): 97.9 % (Korean PyTorch textbook)",
    "my-gru": "custom GRUCell (128, SGD 0.1, 10 epochs): 98.2 % (Korean PyTorch textbook)",
    "bilstm": "(no published figure recorded)",
}
TARGET = {"lstm": 0.99, "gru": 0.985, "rnn": 0.97}
#: Per-model settings over the estimator's defaults: a tanh SimpleRNN needs more units and a
#: smaller step, as in Advanced DL with Keras (SimpleRNN(256), Adam).
OVERRIDES = {"rnn": {"hidden_size": 256, "lr": 1e-3}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    d = SequenceClassifier.default
    ap.add_argument("--data", default=None, help="MNIST folder (default: the cache folder, "
                    "downloaded on first use)")
    ap.add_argument("--models", nargs="+", default=["lstm", "gru", "rnn"])
    ap.add_argument("--hidden", type=lambda v: v if v == "auto" else int(v),
                    default=d("hidden_size"))
    ap.add_argument("--epochs", type=lambda v: v if v == "auto" else int(v),
                    default=d("epochs"))
    ap.add_argument("--batch-size", type=lambda v: v if v == "auto" else int(v),
                    default=d("batch_size"))
    ap.add_argument("--lr", type=float, default=d("lr"))
    ap.add_argument("--clip", type=float, default=d("clip_grad_norm"))
    ap.add_argument("--limit", type=int, default=None, help="first N training images only")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-overrides", action="store_true",
                    help="use --hidden/--lr/--epochs for every model (ignore OVERRIDES)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    xtr, ytr = load_mnist(args.data, "train")
    xte, yte = load_mnist(args.data, "test")
    if args.limit:
        xtr, ytr = xtr[:args.limit], ytr[:args.limit]
    # (N, 28, 28) uint8: T = 28 rows of D = 28 pixels, scaled per pixel column by the model
    results = []
    for name in args.models:
        opts = {"hidden_size": args.hidden, "lr": args.lr, "epochs": args.epochs}
        if not args.no_overrides:
            opts.update(OVERRIDES.get(name, {}))
        clf = SequenceClassifier(model=name, batch_size=args.batch_size,
                                 clip_grad_norm=args.clip, normalize="feature", seed=args.seed,
                                 **opts)
        t0 = time.perf_counter()
        clf.fit(xtr, ytr)
        seconds = time.perf_counter() - t0
        acc = clf.evaluate(xte, yte)["accuracy"]
        epochs = len(clf.history_["loss"])
        target = TARGET.get(name)
        verdict = "" if target is None else f"  target >= {target:.1%}: " + (
            "met" if acc >= target else "NOT met")
        line = (f"{name:8s} hidden {clf.resolved_['hidden_size']}, lr {opts['lr']}: test accuracy "
                f"{acc:.2%} on {len(yte)} images, {epochs} epochs, training {seconds:.0f} s"
                f"{verdict}")
        print(line, flush=True)
        print(f"         published: {PUBLISHED.get(name, '-')}", flush=True)
        results.append(line)
    print("\n".join(["summary:", *results]))


if __name__ == "__main__":
    main()
