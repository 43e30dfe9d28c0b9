"""Hands-On Machine Learning (2nd ed.), chapter 15: forecasting a two-sine time series.

Reproduces the chapter's table with rnnkit's models (10,000 series of 50 steps, 7000/2000/1000
split, Adam, batch 32, 20 epochs) and prints our validation MSE beside the book's; training
progress goes to stderr, one line per epoch (a bar on a terminal).

    python examples/geron_forecasting.py                       # every row (~10-20 min on 2 cores)
    python examples/geron_forecasting.py --epochs 2 naive linear deep_rnn_dense

The same as ``rnnkit reproduce geron``; this script shows the Python API underneath:
``geron_data`` (the book's arrays), ``build_model`` (the architectures by name) and
``run_row`` (train with Keras' defaults and score one row).
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from rnnkit.tasks.forecast.geron import ROWS, geron_data, run_row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rows", nargs="*", default=list(ROWS), help="rows to run (default all)")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    torch.set_num_threads(1)  # the fastest setting for these tiny models on CPU

    data = geron_data("one_step")
    print(f"one-step data: X_train {data['X_train'].shape}, y_train {data['y_train'].shape}, "
          f"X_valid {data['X_valid'].shape}; series mean {np.mean(data['X_train']):.4f}")
    print(f"{'row':<16}{'ours':>9}  {'book':<20}{'s':>7}  model")
    cache: dict = {}
    for key in args.rows:
        r = run_row(key, epochs=args.epochs, seed=args.seed, cache=cache,
                    verbose="auto")  # each epoch on stderr, named after the row
        print(f"{key:<16}{r['val_mse']:>9.4f}  {r['published']:<20}{r['seconds']:>7.1f}  "
              f"{r['label']}", flush=True)


if __name__ == "__main__":
    main()
