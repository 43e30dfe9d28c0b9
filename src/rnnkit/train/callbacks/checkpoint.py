"""``ModelCheckpoint``: save the model during training (safetensors weights + JSON config).

Each save (re)writes the folder ``directory``::

    config.json        architecture (when every layer is a registered rnnkit.nn module)
    model.safetensors  the weights
    checkpoint.json    {"epoch": ..., "monitor": ..., "value": ..., "logs": {...}}

With ``save_best_only=True`` (default) it is written only when ``monitor`` improves, so
the folder always holds the best model so far; otherwise after every epoch (the latest).
The folder is built under a temporary name and moved into place (every file is replaced
atomically), so a crash mid-save leaves the previous checkpoint readable. A model without
a config (e.g. plain torch layers) is saved as weights + checkpoint.json only; load it with
:func:`rnnkit.train.load_weights`, a complete one with :func:`rnnkit.train.load_model`.

In data-parallel training every rank tracks the best value (the logs are the global ones)
and only rank 0 writes the folder.

It saves the model only: to continue a killed run exactly (optimiser, random generators,
data order, callbacks), pass ``checkpoint=DIR, resume=True`` to ``fit``
(:mod:`rnnkit.train.resume`), which also carries this callback's best value.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from rnnkit.errors import ConfigError
from rnnkit.fileio import atomic_directory, write_json
from rnnkit.train.callbacks.base import Callback
from rnnkit.train.callbacks.monitor import Monitor
from rnnkit.train.distributed import is_main_process

log = logging.getLogger(__name__)

CHECKPOINT_NAME = "checkpoint.json"


class ModelCheckpoint(Callback):
    """Save the model to ``directory`` when ``monitor`` improves (or every epoch).

    Args:
        directory: output folder (created).
        monitor: log key to watch. Default ``"val_loss"``.
        save_best_only: save only on improvement. Default True.
        mode: ``"min"``, ``"max"`` or ``"auto"`` (max for accuracy, else min).
    """

    def __init__(
        self,
        directory: str | os.PathLike,
        monitor: str = "val_loss",
        save_best_only: bool = True,
        mode: str = "auto",
    ) -> None:
        self.directory = Path(directory)
        self.tracker = Monitor("ModelCheckpoint", monitor, mode)
        self.save_best_only = bool(save_best_only)
        self.saved_epochs: list[int] = []
        self._with_config = True

    def on_train_begin(self, logs=None) -> None:
        from rnnkit.train.saving import model_config

        self.tracker.reset()
        self.saved_epochs = []
        try:
            model_config(self.model)
            self._with_config = True
        except ConfigError as err:
            self._with_config = False
            log.info("ModelCheckpoint saves weights only: %s", err)

    def state_dict(self) -> dict:
        """The best value so far and the epochs saved (for a resumed run)."""
        return {"best": self.tracker.best, "best_epoch": self.tracker.best_epoch,
                "saved_epochs": list(self.saved_epochs)}

    def load_state_dict(self, state: dict) -> None:
        """Put back what :meth:`state_dict` returned (after ``on_train_begin``)."""
        self.tracker.best = float(state["best"])
        self.tracker.best_epoch = state["best_epoch"]
        self.saved_epochs = [int(e) for e in state["saved_epochs"]]

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        logs = logs or {}
        value = self.tracker.value(logs) if (self.save_best_only or
                                             self.tracker.monitor in logs) else float("nan")
        if self.save_best_only and not self.tracker.improved(value):
            return
        self.tracker.best_epoch = epoch
        self._save(epoch, value, logs)

    def _save(self, epoch: int, value: float, logs: dict[str, float]) -> None:
        from rnnkit.train.saving import WEIGHTS_NAME, save_weights, write_model_files

        info = {"epoch": epoch, "monitor": self.tracker.monitor, "value": value,
                "logs": {k: float(v) for k, v in logs.items()}}  # write_json: NaN -> null
        if not is_main_process():
            self.saved_epochs.append(epoch)  # as rank 0 does: the same state on every rank
            return
        with atomic_directory(self.directory, what="checkpoint") as tmp:
            if self._with_config:
                write_model_files(self.model, tmp)
            else:
                save_weights(self.model, tmp / WEIGHTS_NAME)
            write_json(tmp / CHECKPOINT_NAME, info)
        self.saved_epochs.append(epoch)
        log.info("epoch %d: saved checkpoint to %s (%s=%.6g)", epoch, self.directory,
                 self.tracker.monitor, value)


__all__ = ["CHECKPOINT_NAME", "ModelCheckpoint"]
