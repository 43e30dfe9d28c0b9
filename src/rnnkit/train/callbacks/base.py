"""``Callback``: hooks the Trainer calls around training (Keras' callback protocol).

Order of calls in ``Trainer.fit``::

    on_train_begin(logs)
    for epoch:  on_epoch_begin(epoch, logs)
                for batch:  on_batch_end(batch, logs)   # only if the callback overrides it
                on_epoch_end(epoch, logs)               # logs: loss, metrics, val_*, lr
    on_train_end(logs)

``self.trainer`` is set before ``on_train_begin``; ``self.trainer.model``,
``.optimizer`` and ``.history`` are available, and ``self.trainer.stop_training = True``
ends training after the current batch/epoch.

Per-batch work costs time on every step, so the Trainer calls ``on_batch_end`` only on
callbacks that override it. Its ``logs`` are ``{"batch": i, "size": B, "loss": tensor}``:
the loss is a 0-dim tensor; ``float()`` it only when needed (that waits for the device).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from torch import nn

    from rnnkit.train.trainer import Trainer


class Callback:
    """Base class: override the hooks you need; the others do nothing."""

    trainer: Trainer | None = None

    def set_trainer(self, trainer: Trainer) -> None:
        self.trainer = trainer

    @property
    def model(self) -> nn.Module:
        if self.trainer is None:
            raise RuntimeError(f"{type(self).__name__} is not attached to a Trainer")
        return self.trainer.model

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        """Called once before the first epoch."""

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Called before each epoch (``epoch`` is 0-based)."""

    def on_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        """Called after each optimiser step (only if overridden)."""

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        """Called after each epoch with its logs (training and validation values)."""

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        """Called once after the last epoch (also when training stopped early)."""


def overrides(callback: Callback, hook: str) -> bool:
    """True if ``callback``'s class overrides ``hook`` of :class:`Callback`."""
    return getattr(type(callback), hook, None) is not getattr(Callback, hook)


__all__ = ["Callback", "overrides"]
