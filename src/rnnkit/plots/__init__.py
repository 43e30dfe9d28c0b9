"""Figures for people who would rather look than read numbers (PNG via matplotlib's Agg backend).

Only the command line, examples and reports draw; library code below ``rnnkit.tasks`` never
does. Each topic has its own module (``rnnkit.plots.forecast``, ``rnnkit.plots.sine``, ...);
they all save through :func:`save_figure`, which writes atomically and closes the figure.
"""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")  # headless: no display is needed or wanted

import matplotlib.pyplot as plt

from rnnkit.fileio import atomic_path


def save_figure(fig: plt.Figure, path: str | os.PathLike, dpi: int = 120) -> None:
    """Save ``fig`` as PNG to ``path`` atomically, then close it to free its memory."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png", bbox_inches="tight")
    plt.close(fig)


__all__ = ["plt", "save_figure"]
