"""Argument checks shared by the PyTorch engine (sizes, indices, flags, rates, named choices).

Every check returns the value it accepted, or raises ``TypeError`` / ``ValueError`` whose message
names the argument, what was expected and what was received, e.g.
``ValueError("hidden_size must be a positive int, got 0")``. Ints may be NumPy ints and numbers
NumPy floats (returned as ``int`` / ``float``, so configs stay JSON); bools are never numbers
here. The reference engine has its own (NumPy-only) :mod:`rnnkit.ref._checks`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any


def _is_int(value: Any) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)


def _as_float(value: Any) -> float | None:
    """``value`` as a finite float if it is a real number (NumPy's included, not a bool)."""
    if isinstance(value, bool) or not isinstance(value, Real):
        return None
    try:
        f = float(value)
    except OverflowError:  # an int too large for a float
        return None
    return f if math.isfinite(f) else None


def check_positive_int(name: str, value: Any) -> int:
    """Return ``value`` as int if it is a positive int (not a bool), else raise ValueError."""
    if not _is_int(value) or value <= 0:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def check_index(name: str, value: Any, size: int) -> int:
    """Return ``value`` as int if it is an int in [0, size) (not a bool), else raise ValueError."""
    if not _is_int(value) or not 0 <= value < size:
        raise ValueError(f"{name} must be an int in [0, {size}), got {value!r}")
    return int(value)


def check_bool(name: str, value: Any) -> bool:
    """Return ``value`` if it is a bool, else raise TypeError naming ``name``."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, got {value!r}")
    return value


def check_rate(name: str, value: Any, *, closed: bool = False) -> float:
    """Return a rate in [0, 1) -- [0, 1] with ``closed`` -- as float, else raise ValueError."""
    f = _as_float(value)
    if f is None or not 0 <= f <= 1 or (f == 1 and not closed):
        raise ValueError(f"{name} must be a float in [0, 1{']' if closed else ')'}, got {value!r}")
    return f


def check_positive_float(name: str, value: Any) -> float:
    """Return a finite number > 0 as float, else raise ValueError naming ``name``."""
    f = _as_float(value)
    if f is None or f <= 0:
        raise ValueError(f"{name} must be a positive float, got {value!r}")
    return f


def check_choice(name: str, value: Any, choices: Sequence[Any]) -> Any:
    """Return ``value`` if it is one of ``choices``, else raise ValueError listing them."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")
    return value
