"""``History``: the per-epoch record that ``fit`` returns (Keras' ``History``).

``history.history`` maps each log key (``"loss"``, metric names, ``"val_"`` + those,
``"lr"``) to a list with one float per completed epoch; ``history.epoch`` lists the epoch
indices (0-based). ``history.params`` holds ``{"epochs": ..., "steps": ...,
"initial_epoch": ...}`` (the first epoch this call runs: 0, or where a resumed run goes on).
"""

from __future__ import annotations

import math
from typing import Any


class History:
    """Per-epoch logs of one ``fit`` call."""

    def __init__(self) -> None:
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []
        self.params: dict[str, Any] = {}
        self.diverged: int | None = None  # epoch whose loss was not finite (training stopped)

    def append(self, epoch: int, logs: dict[str, float]) -> None:
        """Record the logs of ``epoch``; every key gets one value per recorded epoch."""
        n = len(self.epoch)
        for key, value in logs.items():
            column = self.history.setdefault(key, [math.nan] * n)
            column.append(float(value))
        for key, column in self.history.items():
            if key not in logs:
                column.append(math.nan)
        self.epoch.append(int(epoch))

    def best(self, monitor: str = "val_loss", mode: str = "auto") -> tuple[int, float]:
        """``(epoch, value)`` of the best value of ``monitor`` (min, or max for accuracy)."""
        if monitor not in self.history:
            raise KeyError(
                f"monitor {monitor!r} is not in the history; have {sorted(self.history)}"
            )
        values = self.history[monitor]
        if mode == "auto":
            mode = "max" if "acc" in monitor else "min"
        pick = max if mode == "max" else min
        i = pick(range(len(values)), key=lambda j: values[j])
        return self.epoch[i], values[i]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able ``{"epoch": [...], "history": {...}, "params": {...}}``."""
        return {"epoch": list(self.epoch), "history": {k: list(v) for k, v in self.history.items()},
                "params": dict(self.params)}

    def __len__(self) -> int:
        return len(self.epoch)

    def __repr__(self) -> str:
        keys = ", ".join(self.history)
        return f"History(epochs={len(self.epoch)}, keys=[{keys}])"


__all__ = ["History"]
