"""``ProgressBar``: a tqdm bar per epoch (or one line per epoch), off when not a terminal.

By default (``enabled=None``) it shows only when its stream (stdout) is a terminal, so
logs and CI output stay clean; ``Sequential.fit(verbose=0)`` turns it off, ``verbose=1``
forces the bar and ``verbose=2`` prints one summary line per epoch. The running loss on the
bar is read from the device at most every ``refresh`` seconds (reading it waits for the
device), and a disabled bar does no per-batch work at all.
"""

from __future__ import annotations

import math
import sys
import time
from typing import IO

from rnnkit.train.callbacks.base import Callback


def format_logs(logs: dict[str, float]) -> str:
    """``"loss: 0.0123 - val_loss: 0.0145 - lr: 0.001"`` (4 significant digits)."""
    return " - ".join(f"{k}: {v:.4g}" for k, v in logs.items() if isinstance(v, (int, float)))


class ProgressBar(Callback):
    """Progress display.

    Args:
        enabled: True/False, or None (default) for "only when ``file`` is a terminal" (and
            ``Sequential.fit`` was not given ``verbose=0``).
        batches: a bar advancing per batch (default) or, if False, one line per epoch.
        file: output stream (default ``sys.stdout``).
        refresh: seconds between reads of the running loss. Default 0.5.
    """

    def __init__(self, enabled: bool | None = None, batches: bool = True,
                 file: IO[str] | None = None, refresh: float = 0.5) -> None:
        self.enabled = enabled
        self.batches = bool(batches)
        self.file = file
        self.refresh = float(refresh)
        self.wants_batches = False
        self._bar = None
        self._epochs = 0

    def _stream(self) -> IO[str]:
        return self.file if self.file is not None else sys.stdout

    def on_train_begin(self, logs=None) -> None:
        stream = self._stream()
        on = self.enabled
        if on is None:  # auto: a terminal, and not silenced by fit(verbose=0)
            isatty = getattr(stream, "isatty", None)
            on = bool(isatty and isatty()) and getattr(self.trainer, "verbose", "auto") != 0
        self._on = on
        self.wants_batches = on and self.batches
        self._epochs = self.trainer.history.params.get("epochs", 0) if self.trainer else 0

    def on_epoch_begin(self, epoch: int, logs=None) -> None:
        if not self.wants_batches:
            return
        from tqdm.auto import tqdm

        steps = self.trainer.history.params.get("steps")
        self._bar = tqdm(total=steps, desc=f"Epoch {epoch + 1}/{self._epochs}",
                         file=self._stream(), unit="batch", leave=True, dynamic_ncols=True)
        self._last = time.monotonic()

    def on_batch_end(self, batch: int, logs=None) -> None:
        bar = self._bar
        if bar is None:
            return
        bar.update(1)
        now = time.monotonic()
        if logs and now - self._last >= self.refresh:
            self._last = now
            bar.set_postfix_str(f"loss: {float(logs['loss']):.4g}", refresh=False)

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        text = format_logs(logs or {})
        if self._bar is not None:
            self._bar.set_postfix_str(text, refresh=True)
            self._bar.close()
            self._bar = None
        elif self._on:
            from tqdm.auto import tqdm

            width = len(str(self._epochs)) if self._epochs else 1
            tqdm.write(f"Epoch {epoch + 1:>{width}}/{self._epochs} - {text}", file=self._stream())

    def on_train_end(self, logs=None) -> None:
        self.close()

    def close(self) -> None:
        """Close an open bar (also called when training fails)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None


class TerminateOnNaN(Callback):
    """Stop training when an epoch's training loss is NaN or infinite."""

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        if logs and not math.isfinite(float(logs.get("loss", 0.0))):
            self.trainer.stop_training = True


__all__ = ["ProgressBar", "TerminateOnNaN", "format_logs"]
