"""``LearningRateScheduler``: set the learning rate from ``schedule(epoch, lr)`` each epoch.

As in Keras: before epoch ``e`` (0-based) the learning rate becomes ``schedule(e, lr)``, lr
the first parameter group's rate; with several groups (an optimizer factory that gives some
parameters their own rate) every group is scaled by the same factor, so that the groups keep
their ratios, as torch's ``LambdaLR`` keeps them. For torch's own schedulers use
``compile(lr_schedule=...)``.

    >>> LearningRateScheduler(lambda epoch, lr: lr * 0.5 if epoch and epoch % 10 == 0 else lr)
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

from rnnkit.train.callbacks.base import Callback
from rnnkit.train.optim import current_lr, set_lr

log = logging.getLogger(__name__)


class LearningRateScheduler(Callback):
    """Set the learning rate to ``schedule(epoch, lr)`` at the start of every epoch (the
    first parameter group's; the others keep their ratio to it)."""

    def __init__(self, schedule: Callable[[int, float], float]) -> None:
        if not callable(schedule):
            raise TypeError(
                f"schedule must be a callable f(epoch, lr) -> lr, got {type(schedule).__name__}"
            )
        self.schedule = schedule

    def on_epoch_begin(self, epoch: int, logs=None) -> None:
        opt = self.trainer.optimizer
        lr = self.schedule(epoch, current_lr(opt))
        if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not (
            math.isfinite(lr) and lr > 0
        ):
            raise ValueError(f"schedule must return a positive number, got {lr!r} at epoch {epoch}")
        set_lr(opt, lr)
        log.debug("epoch %d: learning rate %.6g", epoch, lr)


__all__ = ["LearningRateScheduler"]
