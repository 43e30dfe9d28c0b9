"""Figure of the sine experiment: target vs prediction before and after training, loss curve."""

from __future__ import annotations

import os

import numpy as np

from rnnkit.plots import plt, save_figure
from rnnkit.tasks.sine import SineResult

__all__ = ["plot_sine"]


def plot_sine(result: SineResult, path: str | os.PathLike | None = None) -> plt.Figure:
    """Two panels: (left) the series, the targets and both predictions; (right) MSE per epoch
    on a log scale. Saved atomically to ``path`` (PNG) when given (the figure is then closed)."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    if result.series is not None:
        ax1.plot(np.arange(len(result.series)), result.series, color="0.7", lw=1,
                 label="sin(2π·0.125·t)")
    ax1.plot(result.t, result.targets, "ko", ms=4, label="target")
    ax1.plot(result.t, result.pred_before, "s--", ms=3, color="tab:orange",
             label=f"before training (MSE {result.loss_before:.3g})")
    ax1.plot(result.t, result.pred_after, "^-", ms=3, color="tab:blue",
             label=f"after training (MSE {result.loss_after:.3g})")
    ax1.set_xlabel("t")
    ax1.set_title("next-value prediction from 3 steps")
    ax1.set_ylim(-1.25, 2.0)
    ax1.legend(fontsize=8, loc="upper center", ncol=2)
    ax2.semilogy(np.arange(len(result.losses)), result.losses, color="tab:blue")
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("training MSE")
    ax2.set_title("loss curve")
    ax2.grid(alpha=0.3)
    fig.tight_layout()
    if path is not None:
        save_figure(fig, path)
    return fig
