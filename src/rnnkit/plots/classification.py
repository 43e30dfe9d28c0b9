"""Classification figures: confusion matrix and training curves."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np

from rnnkit.plots import plt, save_figure


def plot_confusion_matrix(cm: np.ndarray, classes: Sequence[str], path: str | os.PathLike,
                          normalize: bool = False, title: str | None = None) -> None:
    """Rows = true class, columns = predicted; counts written in the cells (up to 20 classes)."""
    cm = np.asarray(cm)
    K = len(classes)
    if cm.shape != (K, K):
        raise ValueError(f"cm must have shape ({K}, {K}) for {K} classes, got {cm.shape}")
    shown = cm / np.maximum(cm.sum(1, keepdims=True), 1) if normalize else cm
    size = min(12, 2 + 0.5 * K)
    fig, ax = plt.subplots(figsize=(size, size))
    im = ax.imshow(shown, cmap="Blues")
    ax.set_xticks(range(K), list(classes), rotation=45 if K > 6 else 0, fontsize=8)
    ax.set_yticks(range(K), list(classes), fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if K <= 20:
        top = shown.max() if shown.size else 0
        for i in range(K):
            for j in range(K):
                txt = f"{shown[i, j]:.2f}" if normalize else str(int(cm[i, j]))
                ax.text(j, i, txt, ha="center", va="center", fontsize=7,
                        color="white" if shown[i, j] > top / 2 else "black")
    ax.set_title(title or "confusion matrix", fontsize=10)
    fig.colorbar(im, ax=ax, fraction=0.04)
    save_figure(fig, path)


def plot_history(history: Mapping[str, Sequence[float]], path: str | os.PathLike,
                 keys: Sequence[str] = ("loss", "val_loss", "accuracy", "val_accuracy")
                 ) -> None:
    """Per-epoch curves of the keys present in ``history`` (losses left, others right)."""
    present = [k for k in keys if history.get(k)]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    for k in present:
        ax = axes[0] if "loss" in k or "perplexity" in k else axes[1]
        ax.plot(range(1, len(history[k]) + 1), history[k], marker="o", label=k)
    for ax in axes:
        ax.set_xlabel("epoch")
        if ax.lines:
            ax.legend(fontsize=8)
    save_figure(fig, path)


__all__ = ["plot_confusion_matrix", "plot_history"]
