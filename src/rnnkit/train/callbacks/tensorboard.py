"""``TensorBoard``: epoch scalars, weight histograms and weight summaries for TensorBoard.

Written with ``torch.utils.tensorboard.SummaryWriter`` into ``log_dir`` (view with
``tensorboard --logdir LOG_DIR``), at step = epoch (0-based):

- scalars: every epoch log under its own key: ``loss``, ``val_loss``, metrics, ``lr``;
- if ``histograms``: for every parameter ``NAME`` (``named_parameters()``, e.g.
  ``0.weight_ih_l0``) the histogram ``NAME/histogram`` and the scalars ``NAME/mean``,
  ``NAME/stddev``, ``NAME/max``, ``NAME/min`` — the ``variable_summaries`` of the classic
  scan-RNN TensorFlow example — every ``histogram_freq`` epochs.

In data-parallel training only rank 0 writes (its logs and weights are every rank's).
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from rnnkit.train.callbacks.base import Callback
from rnnkit.train.distributed import is_main_process


class TensorBoard(Callback):
    """Log epoch values (and weight histograms/summaries) to ``log_dir``.

    Args:
        log_dir: folder for the event files (created).
        histograms: write weight histograms and mean/stddev/max/min summaries. Default True.
        histogram_freq: write them every this many epochs. Default 1.
    """

    def __init__(self, log_dir: str | os.PathLike, histograms: bool = True,
                 histogram_freq: int = 1) -> None:
        if isinstance(histogram_freq, bool) or not isinstance(histogram_freq, int) or (
            histogram_freq < 1
        ):
            raise ValueError(f"histogram_freq must be a positive int, got {histogram_freq!r}")
        self.log_dir = Path(log_dir)
        self.histograms = bool(histograms)
        self.histogram_freq = histogram_freq
        self.writer = None

    def on_train_begin(self, logs=None) -> None:
        from torch.utils.tensorboard import SummaryWriter

        if is_main_process():
            self.writer = SummaryWriter(log_dir=str(self.log_dir))

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        w = self.writer
        if w is None:  # not rank 0
            return
        for key, value in (logs or {}).items():
            w.add_scalar(key, float(value), epoch)
        if self.histograms and epoch % self.histogram_freq == 0:
            for name, p in self.model.named_parameters():
                data = p.detach().float()
                stats = torch.stack([data.mean(), data.std(correction=0), data.max(),
                                     data.min()]).tolist()
                for label, v in zip(("mean", "stddev", "max", "min"), stats, strict=True):
                    w.add_scalar(f"{name}/{label}", v, epoch)
                w.add_histogram(f"{name}/histogram", data.cpu(), epoch)
        w.flush()

    def on_train_end(self, logs=None) -> None:
        self.close()

    def close(self) -> None:
        """Flush and close the event file (also called when training fails)."""
        if self.writer is not None:
            self.writer.close()
            self.writer = None


__all__ = ["TensorBoard"]
