"""Attention heatmap: rows are output tokens, columns source tokens, colour the weight."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from rnnkit.plots import plt, save_figure


def plot_attention(weights: np.ndarray, source: Sequence[str], output: Sequence[str],
                   path: str | os.PathLike, title: str | None = None) -> None:
    """Save a heatmap of ``weights`` (T_out, S) with token labels on both axes."""
    w = np.asarray(weights)
    if w.shape != (len(output), len(source)):
        raise ValueError(f"weights must have shape (len(output)={len(output)}, "
                         f"len(source)={len(source)}), got {w.shape}")
    fig, ax = plt.subplots(figsize=(max(4, 0.35 * len(source) + 1.5),
                                    max(3, 0.35 * len(output) + 1)))
    im = ax.imshow(w, cmap="viridis", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(source)), [repr(s)[1:-1] or " " for s in source], fontsize=8)
    ax.set_yticks(range(len(output)), list(output), fontsize=8)
    ax.set_xlabel("source")
    ax.set_ylabel("output")
    if title:
        ax.set_title(title, fontsize=9)
    fig.colorbar(im, ax=ax, fraction=0.04)
    save_figure(fig, path)


__all__ = ["plot_attention"]
