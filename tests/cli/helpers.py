"""Small data files the command-line tests share."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def updown_csv(path: Path, n: int, rng: np.random.Generator, noise: float = 0.05,
               labels: tuple[str, str] = ("down", "up")) -> Path:
    """A sequence CSV of ``n`` rows: 5 values rising (``labels[1]``) or falling
    (``labels[0]``) with Gaussian ``noise``, the label in the last column."""
    rows = []
    for _ in range(n):
        up = int(rng.integers(0, 2))
        vals = (1 if up else -1) * np.linspace(0, 1, 5) + noise * rng.standard_normal(5)
        rows.append(",".join(f"{v:.3f}" for v in vals) + "," + labels[up])
    path.write_text("\n".join(rows) + "\n")
    return path
