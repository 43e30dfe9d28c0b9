"""``EarlyStopping``: stop when the monitored value stops improving; restore the best weights.

After each epoch the monitored value (default ``val_loss``) is compared with the best so
far; an improvement must exceed ``min_delta``. After ``patience`` epochs without one,
training stops (``patience=0``: at the first epoch without one). With
``restore_best_weights=True`` (default) the model's weights at the best epoch are copied
back at the end of training — also when training ran all its epochs without stopping
(Keras restores only when it stopped early). ``best_epoch`` and ``stopped_epoch`` (None if
it never stopped) are kept for inspection. ``state_dict()`` / ``load_state_dict()`` carry
the best value and epoch, the wait and the best weights through a training checkpoint
(:mod:`rnnkit.train.resume`).
"""

from __future__ import annotations

import logging

import torch

from rnnkit.train.callbacks.base import Callback
from rnnkit.train.callbacks.monitor import Monitor

log = logging.getLogger(__name__)


class EarlyStopping(Callback):
    """Stop training after ``patience`` epochs without improvement of ``monitor``.

    Args:
        monitor: log key to watch. Default ``"val_loss"``.
        patience: epochs without improvement before stopping. Default 0.
        min_delta: smallest change that counts as an improvement. Default 0.
        restore_best_weights: copy back the best epoch's weights at the end. Default True.
        mode: ``"min"``, ``"max"`` or ``"auto"`` (max for accuracy, else min).
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 0,
        min_delta: float = 0.0,
        restore_best_weights: bool = True,
        mode: str = "auto",
    ) -> None:
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
            raise ValueError(f"patience must be a non-negative int, got {patience!r}")
        self.tracker = Monitor("EarlyStopping", monitor, mode, min_delta)
        self.patience = patience
        self.restore_best_weights = bool(restore_best_weights)
        self.best_weights: dict[str, torch.Tensor] | None = None
        self.wait = 0
        self.stopped_epoch: int | None = None

    @property
    def best_epoch(self) -> int | None:
        return self.tracker.best_epoch

    @property
    def best(self) -> float:
        return self.tracker.best

    def on_train_begin(self, logs=None) -> None:
        self.tracker.reset()
        self.best_weights = None
        self.wait = 0
        self.stopped_epoch = None

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        value = self.tracker.value(logs or {})
        if self.tracker.improved(value):
            self.tracker.best_epoch = epoch
            self.wait = 0
            if self.restore_best_weights:
                self.best_weights = {
                    k: v.detach().clone() for k, v in self.model.state_dict().items()
                }
            return
        self.wait += 1
        if self.wait >= max(self.patience, 1):
            self.stopped_epoch = epoch
            self.trainer.stop_training = True
            log.info("early stopping at epoch %d (best %s=%.6g at epoch %s)", epoch,
                     self.tracker.monitor, self.tracker.best, self.tracker.best_epoch)

    def state_dict(self) -> dict:
        """What a resumed run needs: best value and epoch, wait, best weights."""
        return {"best": self.tracker.best, "best_epoch": self.tracker.best_epoch,
                "wait": self.wait, "stopped_epoch": self.stopped_epoch,
                "best_weights": self.best_weights}

    def load_state_dict(self, state: dict) -> None:
        """Put back what :meth:`state_dict` returned (after ``on_train_begin``)."""
        self.tracker.best = float(state["best"])
        self.tracker.best_epoch = state["best_epoch"]
        self.wait = int(state["wait"])
        self.stopped_epoch = state["stopped_epoch"]
        weights = state["best_weights"]
        self.best_weights = None if weights is None else dict(weights)

    def on_train_end(self, logs=None) -> None:
        if self.restore_best_weights and self.best_weights is not None:
            self.model.load_state_dict(self.best_weights)
            log.info("restored the weights of epoch %s", self.tracker.best_epoch)


__all__ = ["EarlyStopping"]
