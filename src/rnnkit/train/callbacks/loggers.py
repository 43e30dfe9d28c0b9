"""``CSVLogger`` and ``JSONLogger``: the epoch logs written to a file after every epoch.

Both rewrite the whole file atomically after each epoch (``rnnkit.fileio``), so the file is
complete and readable at any moment, even if training is interrupted; a run resumed from a
checkpoint (``Trainer.fit(resume=True)``) gets its rows back through ``state_dict`` and
goes on writing after them.

CSV: a header ``epoch,loss,...`` then one row per epoch (columns in the order the keys
first appeared). JSON: a list of ``{"epoch": 0, "loss": ..., ...}`` objects; NaN and
infinities are written as ``null`` (strict JSON).

In data-parallel training every rank keeps the rows (the logs are the global ones) and only
rank 0 writes the file.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Any

from rnnkit.errors import DataError
from rnnkit.fileio import write_json, write_text
from rnnkit.train.callbacks.base import Callback
from rnnkit.train.distributed import is_main_process


class CSVLogger(Callback):
    """Write the epoch logs to ``path`` as CSV; ``append=True`` keeps rows already there."""

    def __init__(self, path: str | os.PathLike, append: bool = False, separator: str = ",") -> None:
        self.path = Path(path)
        self.append = bool(append)
        self.separator = separator
        self.rows: list[dict[str, Any]] = []
        self.keys: list[str] = []

    def on_train_begin(self, logs=None) -> None:
        self.rows, self.keys = [], []
        if self.append and self.path.is_file():
            with self.path.open(newline="", encoding="utf-8") as fh:
                reader = csv.DictReader(fh, delimiter=self.separator)
                if reader.fieldnames is None or reader.fieldnames[0] != "epoch":
                    raise DataError(f"{self.path} is not a CSV log with an 'epoch' column")
                self.keys = [k for k in reader.fieldnames if k != "epoch"]
                self.rows = list(reader)

    def state_dict(self) -> dict[str, Any]:
        """The rows so far (restored after ``on_train_begin`` when a run resumes)."""
        return {"rows": [dict(r) for r in self.rows], "keys": list(self.keys)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.rows, self.keys = [dict(r) for r in state["rows"]], list(state["keys"])

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        logs = logs or {}
        for k in logs:
            if k not in self.keys:
                self.keys.append(k)
        self.rows.append({"epoch": epoch, **logs})
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=["epoch", *self.keys], delimiter=self.separator,
                                lineterminator="\n", restval="")
        writer.writeheader()
        for row in self.rows:
            writer.writerow({k: (repr(float(v)) if isinstance(v, float) else v)
                             for k, v in row.items()})
        if is_main_process():
            write_text(self.path, buf.getvalue())


class JSONLogger(Callback):
    """Write the epoch logs to ``path`` as a JSON list of per-epoch objects (standard JSON:
    a NaN or infinite value is written as null)."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.records: list[dict[str, Any]] = []

    def on_train_begin(self, logs=None) -> None:
        self.records = []

    def state_dict(self) -> dict[str, Any]:
        """The records so far (restored after ``on_train_begin`` when a run resumes)."""
        return {"records": [dict(r) for r in self.records]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.records = [dict(r) for r in state["records"]]

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        record = {"epoch": epoch}
        record.update({k: float(v) for k, v in (logs or {}).items()})
        self.records.append(record)
        if is_main_process():
            write_json(self.path, self.records)


__all__ = ["CSVLogger", "JSONLogger"]
