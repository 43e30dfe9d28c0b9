"""Progress that people see: a bar on a terminal or in Jupyter, plain lines in a log file.

:func:`progress_callbacks` turns a Keras-style ``verbose`` setting into the callbacks that
show it; ``Sequential.fit``, the task estimators and the commands all go through it::

    verbose=0       nothing
    verbose="auto"  on a terminal or in a Jupyter kernel (tqdm.auto: a widget there): one bar
                    over the epochs that stays (``lstm:  57/300 epochs [..., loss=..,
                    val_loss=..]``) and, under it, a bar over the batches of the current
                    epoch that goes away when the epoch ends; elsewhere (a log file, CI)
                    plain lines: the first and the last epoch, and in between at most one
                    line per ``interval`` seconds (also inside a long epoch)
    verbose=1       the bars, always
    verbose=2       one line per epoch, always (and inside a long epoch one per ``interval``)

The stream is ``sys.stderr`` by default (like tqdm and Keras' logs), so stdout keeps only
results. A line reads ``lstm epoch 3/300 - loss: 0.0123 - val_loss: 0.0145 - lr: 0.001 -
2.1 s`` (``desc`` first, when given). In data-parallel training only rank 0 shows progress
(its logs are the global ones). After the second epoch, when the remaining epochs would
take more than ``estimate_after`` seconds (30 by default) at its pace, one line says so::

    epoch 2 took 2.1 s; the remaining 298 epochs take up to ~10 min (sooner if training
    stops early)

The second epoch sets the pace because the first carries one-time costs (Numba and oneDNN
compiling, the allocator and thread pools warming up): the default classifier's first epoch on
537 series of up to 1,344 steps took 2.0 s and the later ones 0.7-0.9 s, so an estimate from the
first said ~3 min for a run that took 75 s (2026-12-04). A run of two epochs is estimated
after its first.

A disabled display does no per-batch work at all (``wants_batches`` is False, so the
Trainer does not call it); an enabled one reads the clock per batch and the running loss
(which waits for the device) at most every ``refresh`` seconds in bar mode, every
``interval`` seconds in line mode.
"""

from __future__ import annotations

import math
import sys
import time
from typing import IO, Any

from rnnkit.train.callbacks.base import Callback

VERBOSE_CHOICES = ("auto", 0, 1, 2)


def check_verbose(verbose: Any) -> str | int:
    """``verbose`` itself if it is ``"auto"``, 0, 1 or 2, else ValueError naming it."""
    if isinstance(verbose, bool) or verbose not in VERBOSE_CHOICES:
        raise ValueError(f"verbose must be 'auto', 0, 1 or 2, got {verbose!r}")
    return verbose


def format_logs(logs: dict[str, Any]) -> str:
    """``"loss: 0.0123 - val_loss: 0.0145 - lr: 0.001"`` (4 significant digits)."""
    return " - ".join(f"{k}: {v:.4g}" for k, v in logs.items()
                      if isinstance(v, (int, float)) and not isinstance(v, bool))


def format_duration(seconds: float) -> str:
    """``"~45 s"``, ``"~10 min"``, ``"~2.5 h"``: a rough length of time for people."""
    if seconds < 90:
        return f"~{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"~{seconds / 60:.0f} min"
    return f"~{seconds / 3600:.1f} h"


def in_jupyter() -> bool:
    """True inside a Jupyter (ipykernel) kernel: a notebook, JupyterLab, VS Code, Colab."""
    ipython = sys.modules.get("IPython")
    if ipython is None or "ipykernel" not in sys.modules:
        return False
    try:
        shell = ipython.get_ipython()
    except Exception:  # any failure means "not a kernel we can draw in"
        return False
    return shell is not None and getattr(shell, "kernel", None) is not None


def _isatty(stream: IO[str]) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (ValueError, OSError):  # a closed stream
        return False


class ProgressBar(Callback):
    """Training progress as tqdm bars or as plain lines; see the module docstring.

    Args:
        verbose: ``"auto"`` (default), 0, 1 or 2, as :func:`progress_callbacks`. An
            ``"auto"`` display passed to ``Sequential.fit`` also stays silent under
            ``fit(verbose=0)``.
        desc: the name put first (e.g. the model's). Default none.
        file: the stream. Default ``sys.stderr`` (looked up when training starts).
        interval: line mode: the most often a line is written, in seconds, between the first
            and the last epoch (``"auto"``) and inside an epoch (None: every epoch, no lines
            inside one). Default 10.
        refresh: bar mode: seconds between reads of the running loss. Default 0.5.
        estimate_after: print the time the remaining epochs would take, once after the second
            epoch (see the module doc), when it exceeds this many seconds (None: never).
            Default 30.
    """

    def __init__(self, verbose: str | int = "auto", desc: str | None = None,
                 file: IO[str] | None = None, interval: float | None = 10.0,
                 refresh: float = 0.5, estimate_after: float | None = 30.0) -> None:
        self.verbose = check_verbose(verbose)
        if desc is not None and not isinstance(desc, str):
            raise TypeError(f"desc must be a str or None, got {type(desc).__name__}")
        for name, value in (("interval", interval), ("estimate_after", estimate_after)):
            if value is not None and (isinstance(value, bool)
                                      or not isinstance(value, (int, float)) or value <= 0):
                raise ValueError(f"{name} must be a positive number or None, got {value!r}")
        self.desc = desc
        self.file = file
        self.interval = None if interval is None else float(interval)
        self.refresh = float(refresh)
        self.estimate_after = None if estimate_after is None else float(estimate_after)
        self.mode: str | None = None  # "bar", "lines" or None (off), chosen at train begin
        self.wants_batches = False
        self._epoch_bar = self._bar = None
        self._stream: IO[str] = sys.stderr
        self._epochs = 0
        self._steps: int | None = None
        self._estimated = False
        self._pending: str | None = None  # line mode: the last epoch's line, if not written

    # ------------------------------------------------------------------ mode
    def _choose_mode(self, stream: IO[str]) -> str | None:
        from rnnkit.train.distributed import is_main_process

        verbose = self.verbose
        if not is_main_process():
            return None  # data-parallel: rank 0 speaks for all
        if verbose == "auto" and getattr(self.trainer, "verbose", "auto") == 0:
            return None  # an automatic display given to fit(verbose=0)
        if verbose == 0:
            return None
        if verbose == 1:
            return "bar"
        if verbose == 2:
            return "lines"
        jupyter = self.file is None and in_jupyter()  # our own stderr, drawn in a notebook
        return "bar" if _isatty(stream) or jupyter else "lines"

    def _prefix(self) -> str:
        return f"{self.desc} " if self.desc else ""

    def _epoch_text(self, epoch: int) -> str:
        total = f"/{self._epochs}" if self._epochs else ""
        return f"{self._prefix()}epoch {epoch + 1}{total}"

    def _write(self, line: str) -> None:
        if self.mode == "bar":
            from tqdm.auto import tqdm

            tqdm.write(line, file=self._stream)
        else:
            self._stream.write(line + "\n")
            self._stream.flush()
        self._last_line = time.monotonic()

    # ------------------------------------------------------------------ hooks
    def on_train_begin(self, logs=None) -> None:
        self._stream = self.file if self.file is not None else sys.stderr
        self.mode = self._choose_mode(self._stream)
        self.wants_batches = self.mode == "bar" or (self.mode == "lines"
                                                    and self.interval is not None)
        params = self.trainer.history.params if self.trainer is not None else {}
        self._epochs = int(params.get("epochs") or 0)
        self._steps = params.get("steps")
        self._estimated = False
        self._pending = None
        self._last_line = -math.inf
        if self.mode == "bar":
            from tqdm.auto import tqdm

            self._epoch_bar = tqdm(total=self._epochs or None, desc=self.desc or "training",
                                   initial=int(params.get("initial_epoch") or 0),
                                   file=self._stream, unit="epoch", leave=True,
                                   dynamic_ncols=True)

    def on_epoch_begin(self, epoch: int, logs=None) -> None:
        if self.mode is None:
            return
        self._start = self._last = time.monotonic()
        if self.mode == "bar":
            from tqdm.auto import tqdm

            self._bar = tqdm(total=self._steps, desc=f"epoch {epoch + 1}", file=self._stream,
                             unit="batch", leave=False, dynamic_ncols=True)
        self._epoch = epoch

    def on_batch_end(self, batch: int, logs=None) -> None:
        if self.mode is None:
            return
        now = time.monotonic()
        if self._bar is not None:
            self._bar.update(1)
            if logs and now - self._last >= self.refresh:
                self._last = now
                self._bar.set_postfix_str(f"loss: {float(logs['loss']):.4g}", refresh=False)
        elif self.mode == "lines" and now - self._last >= self.interval:
            self._last = now
            steps = f"/{self._steps}" if self._steps else ""
            loss = f" - last batch loss: {float(logs['loss']):.4g}" if logs else ""
            self._write(f"{self._epoch_text(self._epoch)} - batch {batch + 1}{steps}{loss}"
                        f" - {now - self._start:.0f} s")

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        if self.mode is None:
            return
        took = time.monotonic() - self._start
        text = format_logs(logs or {})
        if self.mode == "bar":
            self._close_batch_bar()
            self._epoch_bar.set_postfix_str(text, refresh=False)
            self._epoch_bar.update(1)
        else:
            line = f"{self._epoch_text(epoch)} - {text} - {took:.1f} s"
            throttled = self.verbose == "auto" and self.interval is not None
            if (not throttled or epoch == 0 or epoch + 1 == self._epochs
                    or time.monotonic() - self._last_line >= self.interval):
                self._write(line)
                self._pending = None
            else:
                self._pending = line
        if not self._estimated and (epoch == 1 or self._epochs == 2):
            self._estimated = True
            self._estimate(epoch, took)

    def _estimate(self, epoch: int, took: float) -> None:
        remaining = self._epochs - (epoch + 1)
        if self.estimate_after is None or remaining < 1 or took * remaining <= self.estimate_after:
            return
        self._write(f"{self._prefix()}epoch {epoch + 1} took {took:.1f} s; the remaining "
                    f"{remaining} epoch{'s' if remaining > 1 else ''} take up to "
                    f"{format_duration(took * remaining)} (sooner if training stops early)")

    def on_train_end(self, logs=None) -> None:
        if self._pending is not None:  # training stopped early: say where it ended
            self._write(self._pending)
            self._pending = None
        self.close()

    def _close_batch_bar(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def close(self) -> None:
        """Close open bars (also called when training fails)."""
        self._close_batch_bar()
        if self._epoch_bar is not None:
            self._epoch_bar.close()
            self._epoch_bar = None


def progress_callbacks(verbose: str | int = "auto", desc: str | None = None,
                       file: IO[str] | None = None, **options: Any) -> list[Callback]:
    """The callbacks that show training progress for a Keras-style ``verbose`` setting.

    ``verbose=0`` gives ``[]``; ``"auto"``, 1 and 2 give one :class:`ProgressBar` (see the
    module docstring for what each shows). ``desc`` prefixes every bar and line (the model's
    name when several train in one run); ``file`` is the stream (default ``sys.stderr``);
    ``options`` go to :class:`ProgressBar` (``interval``, ``refresh``, ``estimate_after``).
    Add them to the ``callbacks`` of ``Trainer.fit`` or ``Sequential.fit`` (which then adds
    no bar of its own)::

        trainer.fit(batches, epochs, callbacks=progress_callbacks(verbose, desc="lstm"))
    """
    if check_verbose(verbose) == 0:
        return []
    return [ProgressBar(verbose, desc=desc, file=file, **options)]


__all__ = ["ProgressBar", "check_verbose", "format_duration", "format_logs",
           "in_jupyter", "progress_callbacks"]
