"""Our figure beside the published one, row by row: the picture of a reproduction.

    >>> rows = [{"key": "linear", "label": "Flatten -> Dense(1)", "ours": 0.0044,
    ...          "low": 0.0042, "high": 0.0042}, ...]
    >>> plot_beside_published(rows, "out/geron.png", metric="validation MSE")

One row per experiment, top to bottom in the given order, with two horizontal bars: ours
(blue; a whisker spans ``runs``, our values over several seeds, when there are several) and
the published value (grey; a whisker spans ``low``-``high`` when the source gives a range).
Each bar carries its number. The x axis turns logarithmic when the values span more than
20x, so 0.003 and 0.26 are both readable.
"""

from __future__ import annotations

import math
import os
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from rnnkit.plots import plt, save_figure

OURS_COLOR = "tab:blue"
PUBLISHED_COLOR = "0.55"


def _number(v: float) -> str:
    """Four decimals as the printed tables have them (0.0026), else 4 significant digits."""
    return f"{v:.4f}" if 1e-3 <= abs(v) < 10 else f"{v:.4g}"


def _label(row: Mapping[str, Any], width: int) -> str:
    text = str(row.get("label") or row["key"])
    if row.get("label") and row["key"] != row["label"]:
        text += f"  [{row['key']}]"
    return "\n".join(textwrap.wrap(text, width)) or str(row["key"])


def plot_beside_published(
    rows: Sequence[Mapping[str, Any]],
    path: str | os.PathLike | None = None,
    metric: str = "value",
    title: str = "Ours beside the published figures",
    ours_name: str = "ours (rnnkit)",
    published_name: str = "published",
    note: str | None = "lower is better",
    width_px: int = 1020,
    dpi: int = 120,
) -> plt.Figure:
    """Draw ``rows`` (mappings with ``key``, ``label``, ``ours``, ``low``, ``high`` and
    optionally ``runs`` and ``published``, the text written at the published bar); save a
    PNG to ``path`` if given. Returns the Figure.

    ``low``/``high`` None: no published figure for that row (marked "none published").
    ``note`` follows the metric's name on the x axis. ``width_px`` at ``dpi`` sets the
    figure's width (default 1020 px); its height grows with the number of rows.
    """
    if not rows:
        raise ValueError("rows is empty: nothing to plot")
    for i, row in enumerate(rows):
        for key in ("key", "ours"):
            if key not in row:
                raise ValueError(f"rows[{i}] has no {key!r}: got keys {sorted(row)}")
    n = len(rows)
    width_in = width_px / dpi
    fig, ax = plt.subplots(figsize=(width_in, 1.3 + 0.62 * n), dpi=dpi)
    y = np.arange(n)[::-1].astype(float)  # first row at the top
    h = 0.36
    values: list[float] = []
    for yi, row in zip(y, rows, strict=True):
        ours = float(row["ours"])
        runs = [float(v) for v in row.get("runs") or []]
        ax.barh(yi + h / 2, ours, height=h, color=OURS_COLOR,
                label=ours_name if yi == y[0] else None)
        if len(runs) > 1:
            spread = [[max(0.0, ours - min(runs))], [max(0.0, max(runs) - ours)]]
            ax.errorbar(ours, yi + h / 2, xerr=spread, fmt="none", ecolor="black", capsize=3,
                        lw=1)
        values += [ours, *runs]
        low, high = row.get("low"), row.get("high")
        if low is None or high is None:
            ax.text(0, yi - h / 2, "  none published", va="center", fontsize=8,
                    color=PUBLISHED_COLOR, transform=ax.get_yaxis_transform())
            row_values = [(ours, yi + h / 2, _number(ours), OURS_COLOR)]
        else:
            low, high = float(low), float(high)
            mid = (low + high) / 2
            ax.barh(yi - h / 2, mid, height=h, color=PUBLISHED_COLOR,
                    label=published_name if yi == y[0] else None)
            if high > low:
                ax.errorbar(mid, yi - h / 2, xerr=[[mid - low], [high - mid]], fmt="none",
                            ecolor="black", capsize=3, lw=1)
            values += [low, high]
            pub_text = row.get("published") or (
                _number(low) if high == low else f"{_number(low)}-{_number(high)}")
            row_values = [(max([ours, *runs]), yi + h / 2, _number(ours), OURS_COLOR),
                          (high, yi - h / 2, pub_text, "0.3")]
        for x, yy, text, color in row_values:
            ax.annotate(text, (x, yy), xytext=(5, 0), textcoords="offset points",
                        va="center", fontsize=8, color=color)
    positive = [v for v in values if v > 0 and math.isfinite(v)]
    log = bool(positive) and max(positive) / min(positive) > 20
    if log:
        ax.set_xscale("log")
        ax.set_xlim(min(positive) / 2, max(positive) * 4)
    elif positive:
        ax.set_xlim(0, max(positive) * 1.25)
    # labels: as wide as the left ~45 % of the figure holds at 9 pt (about 11 chars per inch)
    chars = max(20, int(width_in * 0.45 * 11))
    ax.set_yticks(y, [_label(r, chars) for r in rows], fontsize=9)
    ax.set_ylim(-0.7, n - 0.3)
    ax.set_xlabel(metric + (" (log scale)" if log else "") + (f" - {note}" if note else ""))
    ax.set_title(title, loc="left", pad=22)  # room for the legend between title and axes
    ax.grid(axis="x", alpha=0.3, which="both" if log else "major")
    ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=2, fontsize=9, frameon=False,
              borderaxespad=0.2)
    fig.tight_layout()
    if path is not None:
        save_figure(fig, path, dpi=dpi)
    return fig


__all__ = ["plot_beside_published"]
