"""Where a comparison's fits run: one at a time in this process, or side by side in worker
processes.

A comparison of M trained models with K folds makes M (K + 1) fits, each of them small: a
recurrent network of 32 units keeps one core busy and gains little from a second torch
thread (measured: the weekly 2,300-value case used 1.04 cores on two). The fits are
independent except that a model's refit waits for its folds (it trains for the median of
their best epoch counts), so on C cores they run C at a time, each on its own share of the
torch threads.

    with FitPool(jobs=2) as pool:
        future = pool.fit(forecaster, panel, {"checkpoint": ...})
        fc, seconds = future.result()      # the fitted copy and its training time

``jobs=1`` runs each fit when it is submitted, in this process (what small series need:
starting a worker costs about 2 s of imports). ``jobs > 1`` starts that many worker
processes with the ``spawn`` method (``fork`` would copy torch's and Numba's thread pools in
whatever state they are in); each sets its torch threads to ``threads``, writes its progress
as lines (never bars, which the workers would draw over each other) and returns the fitted
estimator pickled. With one torch thread per fit (the command's default ``--threads
1``), a fit computes the same numbers in a worker as in this process.

:func:`auto_jobs` chooses the number: one for small work, else the cores, at most the fits.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from multiprocessing import get_context
from typing import Any

__all__ = ["WORK_PER_JOB", "FitPool", "auto_jobs"]

#: Training-window steps (windows x input length) from which a comparison runs its fits in
#: parallel when ``jobs="auto"``: below, the workers' start-up (about 2 s each) outweighs the
#: fits (the bundled airline series, L = 24: 2,040; a weekly series of 2,300 values,
#: L = 104, H = 52: 212,264)
WORK_PER_JOB = 50_000


def auto_jobs(jobs: int | str, work: int, fits: int) -> int:
    """The number of worker processes: ``jobs`` as given (an int), or for "auto" one when
    ``work`` (windows x input length) is under :data:`WORK_PER_JOB`, else the usable cores,
    at most ``fits``."""
    if jobs != "auto":
        return int(jobs)
    if work < WORK_PER_JOB:
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cores or 1, fits))


def _fit(estimator: Any, data: Any, kwargs: dict[str, Any]) -> tuple[Any, float]:
    """Fit ``estimator`` on ``data``; ``(the estimator, seconds)``."""
    t0 = time.perf_counter()
    estimator.fit(data, **kwargs)
    return estimator, time.perf_counter() - t0


class _Lines:
    """A stream that says it is no terminal, so that a worker's progress is written as
    lines (the first and last epoch and one line per 10 s) and never as a bar that the other
    workers' output would break."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def isatty(self) -> bool:
        return False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _start_worker(threads: int) -> None:  # pragma: no cover - runs in the worker
    import sys

    import torch

    torch.set_num_threads(threads)
    sys.stderr = _Lines(sys.stderr)


class _Inline(Executor):
    """Runs each job when it is submitted; the future holds its result or its error."""

    def submit(self, fn, /, *args, **kwargs) -> Future:  # type: ignore[override]
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as err:  # handed to whoever reads the future
            future.set_exception(err)
        return future


class FitPool:
    """Runs fits in this process (``jobs=1``) or in ``jobs`` spawned workers of ``threads``
    torch threads each (default: this process's threads shared out, at least one)."""

    def __init__(self, jobs: int = 1, threads: int | None = None) -> None:
        if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
            raise ValueError(f"jobs must be a positive int, got {jobs!r}")
        self.jobs = jobs
        if jobs == 1:
            self._executor: Executor = _Inline()
        else:
            if threads is None:
                import torch

                threads = max(1, math.floor(torch.get_num_threads() / jobs))
            self._executor = ProcessPoolExecutor(jobs, mp_context=get_context("spawn"),
                                                 initializer=_start_worker,
                                                 initargs=(threads,))

    @property
    def parallel(self) -> bool:
        """Whether fits run in workers (and this process is free while they do)."""
        return self.jobs > 1

    def fit(self, estimator: Any, data: Any, kwargs: dict[str, Any]) -> Future:
        """A future of ``(fitted estimator, seconds)``."""
        return self._executor.submit(_fit, estimator, data, kwargs)

    def call(self, fn: Callable[..., Any], *args: Any) -> Future:
        """A future of ``fn(*args)`` (``fn`` importable by name, as a worker needs)."""
        return self._executor.submit(fn, *args)

    def __enter__(self) -> FitPool:
        return self

    def __exit__(self, *exc: Any) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
