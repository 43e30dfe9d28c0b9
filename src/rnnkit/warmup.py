"""Compile the fast path's kernels into Numba's on-disk cache before the first real fit.

``python -m rnnkit.warmup`` (``make`` runs it after installing) trains tiny versions of what
the commands' defaults train, through the same code paths, so that every kernel those paths
call is compiled and cached once per installation:

- ``rnnkit classify``'s default GRU-FCN on two torch threads (the command's ``--threads
  auto``), on equal-length series (batch-normalised blocks, torch's kernel) and on
  variable-length ones (the masked batch renormalisation passes of
  :mod:`rnnkit.nn.fastpath.norm_relu`), with batches large enough for the threaded variants;
- ``rnnkit forecast``'s recurrent models (SimpleRNN, LSTM, GRU) on one thread, its default.

Without it, a new installation's first fit compiles them itself: on the 2-core VM of the
benchmarks (2026-12-05, scratch), two epochs of the default classifier took 6.6 s cold
against 2.5 s warm on 50 series of 150 steps, and 13.5 s against 2.3 s on 270 series of 7-29
steps and 12 features. Nothing here is needed for correctness; without Numba it returns at
once.
"""

from __future__ import annotations

import logging
import time

import numpy as np
import torch


def _classifier_fits() -> None:
    from rnnkit.tasks.classify import SequenceClassifier

    rng = np.random.default_rng(0)
    equal = rng.standard_normal((64, 150, 1)).astype(np.float32)
    variable = [rng.standard_normal((int(rng.integers(7, 30)), 12)).astype(np.float32)
                for _ in range(270)]
    for X in (equal, variable):
        y = np.arange(len(X)) % 3
        SequenceClassifier(epochs=1, ensemble=1, verbose=0).fit(X, y)


def _forecaster_fits() -> None:
    from rnnkit.tasks.forecast import Forecaster

    t = np.arange(96, dtype=np.float32)
    series = (np.sin(2 * np.pi * t / 12) + 0.01 * t)[:, None]  # (T, 1)
    for model in ("simple_rnn", "lstm", "gru"):
        Forecaster(model=model, epochs=1, verbose=0).fit(series)


def main() -> int:
    from rnnkit.nn.fastpath import numba_available

    if not numba_available():
        print("rnnkit.warmup: Numba is not installed; nothing to compile")
        return 0
    logger = logging.getLogger("rnnkit")
    level, threads = logger.level, torch.get_num_threads()
    logger.setLevel(logging.ERROR)  # the tiny fits' chance warnings
    t0 = time.perf_counter()
    try:
        torch.set_num_threads(2)
        _classifier_fits()
        torch.set_num_threads(1)
        _forecaster_fits()
    finally:
        torch.set_num_threads(threads)
        logger.setLevel(level)
    print(f"rnnkit.warmup: kernels compiled and cached in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
