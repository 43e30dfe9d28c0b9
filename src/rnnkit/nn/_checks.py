"""Argument checks shared by the PyTorch engine (sizes, flags, rates, named choices).

Every check returns the value it accepted, or raises ``TypeError`` / ``ValueError`` whose message
names the argument, what was expected and what was received, e.g.
``ValueError("hidden_size must be a positive int, got 0")``. The reference engine has its own
(NumPy-only) :mod:`rnnkit.ref._checks`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def check_positive_int(name: str, value: Any) -> int:
    """Return ``value`` if it is a positive int (not a bool), else raise ValueError."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return value


def check_bool(name: str, value: Any) -> bool:
    """Return ``value`` if it is a bool, else raise TypeError naming ``name``."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, got {value!r}")
    return value


def check_rate(name: str, value: Any) -> float:
    """Return a dropout rate in [0, 1) as float, else raise ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ValueError(f"{name} must be a float in [0, 1), got {value!r}")
    return float(value)


def check_choice(name: str, value: Any, choices: Sequence[Any]) -> Any:
    """Return ``value`` if it is one of ``choices``, else raise ValueError listing them."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")
    return value
