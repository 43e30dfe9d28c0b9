"""Argument checks shared by the reference engine (dtype, sizes, array ranks and shapes).

Every check raises ``TypeError`` or ``ValueError`` whose message names the argument, what was
expected and what was received, e.g. ``ValueError("xs must have shape (B, T, 3), got (2, 5, 4)")``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: The dtypes the engine computes in. float32 is the default, float64 is for gradient checks.
DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
#: The activations of the Elman cells and layers.
NONLINEARITIES = ("tanh", "relu")


def resolve_dtype(dtype: Any, name: str = "dtype") -> np.dtype:
    """Map ``"float32" | "float64" | np.float32 | np.float64`` to a NumPy dtype, else TypeError."""
    try:
        dt = np.dtype(dtype) if isinstance(dtype, (str, type, np.dtype)) else None
    except TypeError:
        dt = None
    if dt is None or dt not in DTYPES:
        raise TypeError(f"{name} must be 'float32' or 'float64', got {dtype!r}")
    return dt


def check_size(value: Any, name: str) -> int:
    """A positive int (bools rejected)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def check_bool(value: Any, name: str) -> bool:
    """A bool (ints such as 1 rejected)."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, got {value!r}")
    return value


def check_rate(value: Any, name: str) -> float:
    """A dropout rate in [0, 1), as float (bools rejected)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ValueError(f"{name} must be a float in [0, 1), got {value!r}")
    return float(value)


def check_nonlinearity(value: Any, name: str = "nonlinearity") -> str:
    """One of :data:`NONLINEARITIES`."""
    if value not in NONLINEARITIES:
        raise ValueError(f"{name} must be 'tanh' or 'relu', got {value!r}")
    return value


def as_float_array(x: Any, name: str, ndim: int, dtype: np.dtype) -> np.ndarray:
    """``x`` as a real array of rank ``ndim`` in ``dtype`` (no copy when it already is)."""
    if not isinstance(x, np.ndarray):
        try:
            x = np.asarray(x)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} must be a numeric array, got {type(x).__name__}") from exc
    if x.dtype.kind not in "fiub":
        raise TypeError(f"{name} must be a real numeric array, got dtype {x.dtype}")
    if x.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-d array, got shape {x.shape}")
    return x.astype(dtype, copy=False)


def as_index_array(x: Any, name: str, ndim: int | None = None) -> np.ndarray:
    """``x`` as an integer array (of rank ``ndim`` when given)."""
    x = np.asarray(x)
    if x.dtype.kind not in "iu":
        raise TypeError(f"{name} must be an integer array, got dtype {x.dtype}")
    if ndim is not None and x.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-d array, got shape {x.shape}")
    return x


def check_shape(x: np.ndarray, name: str, expected: tuple[int | None, ...], letters: str) -> None:
    """Raise ValueError unless ``x.shape`` matches ``expected`` (None = any); letters "B,T,D"."""
    ok = len(x.shape) == len(expected) and all(
        e is None or e == s for e, s in zip(expected, x.shape, strict=False)
    )
    if not ok:
        shown = ", ".join(
            str(e) if e is not None else ch
            for e, ch in zip(expected, letters.split(","), strict=False)
        )
        raise ValueError(f"{name} must have shape ({shown}), got {tuple(x.shape)}")
