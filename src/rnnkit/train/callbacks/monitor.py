"""Shared logic of callbacks that watch one log value (EarlyStopping, ModelCheckpoint)."""

from __future__ import annotations

import math

from rnnkit.errors import ConfigError


class Monitor:
    """Tracks the best value of ``monitor``; ``mode`` "min", "max" or "auto" (max for acc*)."""

    def __init__(self, owner: str, monitor: str, mode: str = "auto", min_delta: float = 0.0):
        if not isinstance(monitor, str) or not monitor:
            raise ValueError(f"monitor must be a log key such as 'val_loss', got {monitor!r}")
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
        if isinstance(min_delta, bool) or not isinstance(min_delta, (int, float)) or min_delta < 0:
            raise ValueError(f"min_delta must be a non-negative number, got {min_delta!r}")
        if mode == "auto":
            mode = "max" if "acc" in monitor else "min"
        self.owner, self.monitor, self.mode, self.min_delta = owner, monitor, mode, float(min_delta)
        self.reset()

    def reset(self) -> None:
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch: int | None = None

    def value(self, logs: dict[str, float]) -> float:
        if self.monitor not in logs:
            hint = " (pass validation data to fit)" if self.monitor.startswith("val_") else ""
            raise ConfigError(
                f"{self.owner} monitor {self.monitor!r} is not in the epoch logs{hint}; "
                f"available: {', '.join(sorted(logs))}"
            )
        return float(logs[self.monitor])

    def improved(self, value: float) -> bool:
        """True (and the best is updated) if ``value`` beats the best by more than min_delta."""
        if math.isnan(value):
            return False
        if self.mode == "min":
            better = value < self.best - self.min_delta
        else:
            better = value > self.best + self.min_delta
        if better:
            self.best = value
        return better
