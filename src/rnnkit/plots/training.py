"""Loss curves from a training History: one panel per quantity, training and validation.

    >>> history = model.fit(X, y, epochs=20, validation_split=0.2)
    >>> plot_history(history, "out/loss.png")          # loss (+ metrics), log scale if wide

Accepts a :class:`rnnkit.train.History`, its ``.history`` dict, or ``History.to_dict()``
(e.g. read back from JSON). Each base key (``loss``, ``mae``, ...) gets a panel with its
``val_`` twin; ``lr`` gets its own panel only when it changed during training.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

from rnnkit.plots import plt, save_figure


def _columns(history: Any) -> tuple[list[int] | None, dict[str, list[float]]]:
    if hasattr(history, "history") and hasattr(history, "epoch"):
        return list(history.epoch), dict(history.history)
    if isinstance(history, Mapping) and "history" in history:
        return list(history.get("epoch") or []) or None, dict(history["history"])
    if isinstance(history, Mapping):
        return None, dict(history)
    raise TypeError(
        f"history must be a History, its .history dict or History.to_dict(), got "
        f"{type(history).__name__}"
    )


def plot_history(
    history: Any,
    path: str | os.PathLike | None = None,
    keys: Sequence[str] | None = None,
    title: str | None = None,
    logy: bool | None = None,
) -> plt.Figure:
    """Draw training/validation curves per epoch; save a PNG to ``path`` if given.

    Args:
        history: the History (or dict) to draw.
        path: PNG file to write (atomically); the figure is closed after saving.
        keys: base keys to draw (default: every key without the ``val_`` prefix, ``lr`` only
            when it varied).
        title: figure title.
        logy: log-scale y axes; None (default) chooses it when a curve spans > 20x.
    Returns the matplotlib Figure.
    """
    epochs, cols = _columns(history)
    if not cols:
        raise ValueError("history is empty: nothing to plot")
    if keys is None:
        keys = [k for k in cols if not k.startswith("val_")]
        lr = cols.get("lr", [])
        if "lr" in keys and len(set(lr)) <= 1:
            keys.remove("lr")
    else:
        missing = [k for k in keys if k not in cols and f"val_{k}" not in cols]
        if missing:
            raise ValueError(f"keys {missing} are not in the history; have {sorted(cols)}")
    n = max(len(keys), 1)
    fig, axes = plt.subplots(1, n, figsize=(4.2 * n, 3.4), squeeze=False)
    for ax, key in zip(axes[0], keys, strict=False):
        for name, style in ((key, "-"), (f"val_{key}", "--")):
            values = cols.get(name)
            if not values:
                continue
            xs = epochs if epochs and len(epochs) == len(values) else range(len(values))
            xs = [e + 1 for e in xs]  # epochs counted from 1 on the axis
            ax.plot(xs, values, style, marker="o" if len(values) < 30 else None, markersize=3,
                    label="validation" if name.startswith("val_") else "training")
        finite = [v for k in (key, f"val_{key}") for v in cols.get(k, []) if math.isfinite(v)]
        use_log = logy
        if use_log is None:
            use_log = bool(finite) and min(finite) > 0 and max(finite) / min(finite) > 20
        if use_log:
            ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.grid(True, alpha=0.3)
        ax.legend(frameon=False)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    if path is not None:
        save_figure(fig, path)
    return fig


__all__ = ["plot_history"]
