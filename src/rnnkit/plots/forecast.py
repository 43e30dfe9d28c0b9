"""Forecast figures (PNG): history + forecasts with interval bands, loss curves, metric bars;
for many series, one panel per chosen series (:func:`plot_series_backtests`,
:func:`pick_series`) and the spread of the per-series MASE by model
(:func:`plot_series_scores`)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from rnnkit.plots import plt, save_figure

__all__ = ["SeriesPanel", "pick_series", "plot_backtest", "plot_forecasts", "plot_losses",
           "plot_metric_bars", "plot_series_backtests", "plot_series_scores"]


def plot_forecasts(path: str | os.PathLike, history: np.ndarray,
                   forecasts: Mapping[str, np.ndarray], start: int,
                   actual: np.ndarray | None = None,
                   bands: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None,
                   labels: Sequence[str] | None = None, title: str = "Forecast") -> None:
    """The observed series and each model's forecast of the steps ``start, start+1, ...``.

    ``history (T,)`` is drawn in full (it may include the forecast period, then pass
    ``actual=None``); ``forecasts[name] (H,)``; ``bands[name] = (lower, upper)`` shades an
    interval; ``labels`` (T + H,) optional x tick labels (dates).
    """
    history = np.asarray(history, dtype=np.float64)
    fig, ax = plt.subplots(figsize=(9, 4.5))
    ax.plot(np.arange(len(history)), history, color="black", lw=1.2, label="observed")
    if actual is not None:
        actual = np.asarray(actual, dtype=np.float64)
        ax.plot(start + np.arange(len(actual)), actual, color="black", lw=1.2, ls=":",
                label="actual")
    for name, values in forecasts.items():
        values = np.asarray(values, dtype=np.float64)
        t = start + np.arange(len(values))
        (line,) = ax.plot(t, values, lw=1.5, marker=".", label=name)
        if bands and name in bands:
            lo, hi = bands[name]
            ax.fill_between(t, lo, hi, color=line.get_color(), alpha=0.2,
                            label=f"{name} interval")
    ax.axvline(start - 0.5, color="grey", lw=0.8, ls="--")
    if labels is not None:
        n = len(labels)
        ticks = np.linspace(0, n - 1, min(n, 8)).round().astype(int)
        ax.set_xticks(ticks, [labels[i] for i in ticks], rotation=30, ha="right")
    ax.set_title(title)
    ax.set_xlabel("time step" if labels is None else "")
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    save_figure(fig, path)


def plot_backtest(path: str | os.PathLike, values: np.ndarray, origins: np.ndarray,
                  forecasts: Mapping[str, np.ndarray], start: int,
                  labels: Sequence[str] | None = None, context: int | None = None,
                  title: str = "Backtest", selected: str | None = None) -> None:
    """The whole test period ``values[start:]`` and each model's forecasts of it, readable on
    long series: the windows whose origins are ``start, start + H, ...`` are tiled (each
    drawn in full, so a model's line restarts at every H-th step), after ``context`` values
    of history (default: as many as the test part, at least 2H).

    ``values (T,)``; ``origins (N,)`` the first target index of each window; ``forecasts
    [name] (N, H)``; ``labels (T,)`` dates for the x axis (else the time index);
    ``selected``: the name drawn thick and on top (the model the user gets).
    """
    fig, ax = plt.subplots(figsize=(11, 4.5))
    _draw_backtest(ax, values, origins, forecasts, start, labels, context, selected)
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize=8, ncol=2)
    save_figure(fig, path)


def _draw_backtest(ax, values: np.ndarray, origins: np.ndarray,
                   forecasts: Mapping[str, np.ndarray], start: int,
                   labels: Sequence[str] | None, context: int | None,
                   selected: str | None = None) -> None:
    """:func:`plot_backtest`'s drawing on one axis (colours in the order of ``forecasts``)."""
    values = np.asarray(values, dtype=np.float64)
    origins = np.asarray(origins)
    H = next(iter(forecasts.values())).shape[1] if forecasts else 1
    n_test = len(values) - start
    context = max(n_test, 2 * H) if context is None else context
    lo = max(0, start - context)
    t = np.arange(lo, len(values))
    ax.plot(t, values[lo:], color="black", lw=1.0, label="observed")
    tiled = [n for n, o in enumerate(origins) if (o - start) % H == 0]
    for j, (name, pred) in enumerate(forecasts.items()):
        pred = np.asarray(pred, dtype=np.float64)
        style = {"lw": 2.6, "zorder": 3} if name == selected else {"lw": 1.1, "alpha": 0.8}
        for i, n in enumerate(tiled):
            ax.plot(origins[n] + np.arange(H), pred[n], color=f"C{j}",
                    label=(f"{name} (selected)" if name == selected else name) if i == 0
                    else None, **style)
    ax.axvline(start - 0.5, color="grey", lw=0.8, ls="--")
    if labels is not None:
        ticks = np.linspace(lo, len(values) - 1, min(len(values) - lo, 8)).round().astype(int)
        ax.set_xticks(ticks, [labels[i] for i in ticks], rotation=30, ha="right")
    ax.set_xlabel("" if labels is not None else "time step")
    ax.grid(alpha=0.3)


@dataclass
class SeriesPanel:
    """One series of :func:`plot_series_backtests`: its ``values (T,)``, test ``start``,
    test window ``origins (N,)``, ``forecasts[name] (N, H)``, optional ``labels (T,)``
    and a ``title``."""

    title: str
    values: np.ndarray
    start: int
    origins: np.ndarray
    forecasts: Mapping[str, np.ndarray]
    labels: Sequence[str] | None = None
    selected: str | None = None  # the row drawn thick, as in plot_backtest


def pick_series(ids: Sequence[str], scores: Sequence[float], first: int = 4,
                worst: int = 2) -> list[int]:
    """Which series to draw: the ``first`` ones, then the ``worst`` others by ``scores``
    (e.g. the selected model's MASE, higher is worse), without repeats."""
    chosen = list(range(min(first, len(ids))))
    order = sorted(range(len(ids)), key=lambda i: -scores[i])
    chosen += [i for i in order if i not in chosen][:worst]
    return chosen


def plot_series_backtests(path: str | os.PathLike, panels: Sequence[SeriesPanel],
                          title: str = "Backtest by series") -> None:
    """One :func:`plot_backtest` panel per series, two columns, one legend."""
    n = len(panels)
    cols = 1 if n == 1 else 2
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(6.5 * cols, 3.4 * rows + 0.6), squeeze=False,
                             layout="constrained")
    for ax, sp in zip(axes.flat, panels, strict=False):
        _draw_backtest(ax, sp.values, sp.origins, sp.forecasts, sp.start, sp.labels, None,
                       sp.selected)
        ax.set_title(sp.title, fontsize=9)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    handles, names = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="outside lower center", fontsize=8,
               ncol=min(len(names), 6))
    fig.suptitle(title)
    save_figure(fig, path)


def plot_series_scores(path: str | os.PathLike, scores: Mapping[str, Sequence[float]],
                       name: str = "MASE",
                       title: str = "Test score of each series by model (lower is better)"
                       ) -> None:
    """The spread over series of one score per model: a box per model, the points over
    it, the mean marked (the aggregate that the table reports)."""
    models = list(scores)
    fig, ax = plt.subplots(figsize=(max(5.0, 1.1 * len(models) + 2), 4.2))
    data = [np.asarray(scores[m], dtype=np.float64) for m in models]
    ax.boxplot(data, showfliers=False)
    rng = np.random.default_rng(0)
    for k, d in enumerate(data, 1):
        ax.scatter(k + rng.uniform(-0.12, 0.12, len(d)), d, s=10, alpha=0.6, color=f"C{k - 1}")
        ax.scatter([k], [d.mean()], marker="D", color="black", s=24,
                   label="mean" if k == 1 else None)
    ax.set_xticks(range(1, len(models) + 1), models, rotation=30, ha="right")
    ax.set_ylabel(name)
    ax.set_title(title)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    save_figure(fig, path)


def plot_losses(path: str | os.PathLike, histories: Mapping[str, Mapping[str, Sequence[float]]],
                title: str = "Training curves (scaled MSE)") -> None:
    """``loss`` (solid) and ``val_loss`` (dashed) per epoch for each model (log scale, or
    linear when a loss is 0)."""
    fig, ax = plt.subplots(figsize=(8, 4.5))
    drawn: list[float] = []
    for name, hist in histories.items():
        if not hist.get("loss"):
            continue
        (line,) = ax.plot(np.arange(1, len(hist["loss"]) + 1), hist["loss"], label=name)
        if hist.get("val_loss"):
            ax.plot(np.arange(1, len(hist["val_loss"]) + 1), hist["val_loss"], ls="--",
                    color=line.get_color(), label=f"{name} (val)")
        drawn += [*hist["loss"], *hist.get("val_loss", [])]
    if drawn:
        if min(drawn) > 0:  # a loss of 0 (a constant series) has no place on a log axis
            ax.set_yscale("log")
        ax.legend(fontsize=8)
    else:
        ax.text(0.5, 0.5, "no trained model", ha="center", va="center",
                transform=ax.transAxes)
    ax.set_xlabel("epoch")
    ax.set_ylabel("MSE")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    save_figure(fig, path)


def plot_metric_bars(path: str | os.PathLike, metrics: Mapping[str, Mapping[str, float]],
                     names: Sequence[str] = ("mae", "rmse", "smape", "mase"),
                     title: str = "Test metrics by model (lower is better)") -> None:
    """One panel per metric, one bar per model."""
    models = list(metrics)
    names = [n for n in names if all(n in metrics[m] for m in models)]
    fig, axes = plt.subplots(1, max(len(names), 1), figsize=(3.2 * max(len(names), 1), 3.6),
                             squeeze=False)
    for ax, name in zip(axes[0], names, strict=False):
        values = [metrics[m][name] for m in models]
        ax.bar(range(len(models)), values, color=plt.cm.tab10(np.arange(len(models)) % 10))
        ax.set_xticks(range(len(models)), models, rotation=40, ha="right")
        ax.set_title(name.upper() if name != "smape" else "sMAPE (%)")
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle(title)
    save_figure(fig, path)
