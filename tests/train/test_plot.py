"""Loss-curve plot from a History."""

from __future__ import annotations

import pytest

from rnnkit.plots import plt
from rnnkit.plots.training import plot_history
from rnnkit.train import History


def test_plot_history_draws_training_and_validation(tmp_path):
    h = History()
    for e, (loss, val) in enumerate([(1.0, 1.2), (0.5, 0.7), (0.01, 0.02)]):
        h.append(e, {"loss": loss, "mae": loss / 2, "val_loss": val, "val_mae": val / 2,
                     "lr": 1e-3})
    fig = plot_history(h, tmp_path / "loss.png", title="t")
    assert (tmp_path / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    axes = fig.axes
    assert [ax.get_ylabel() for ax in axes] == ["loss", "mae"]  # constant lr: no panel
    assert [line.get_label() for line in axes[0].get_lines()] == ["training", "validation"]
    assert list(axes[0].get_lines()[1].get_ydata()) == [1.2, 0.7, 0.02]
    assert axes[0].get_yscale() == "log"  # 1.2 / 0.01 > 20
    fig2 = plot_history(h.to_dict(), keys=["mae"], logy=False)
    assert len(fig2.axes) == 1 and fig2.axes[0].get_yscale() == "linear"
    plt.close(fig2)
    with pytest.raises(ValueError, match=r"keys \['acc'\] are not in the history"):
        plot_history(h, keys=["acc"])


def test_plot_beside_published_is_wide_with_readable_rows(tmp_path):
    from PIL import Image

    from rnnkit.plots.reproduce import plot_beside_published

    rows = [
        {"key": "naive", "label": "one-step naive (last value)", "ours": 0.0201,
         "low": 0.0202, "high": 0.0202, "published": "0.0202"},
        {"key": "seq2seq_rnn", "label": "seq2seq: SimpleRNN(20, seq) x2 -> "
         "TimeDistributed(Dense(10)), lr 0.01", "ours": 0.0071, "runs": [0.0065, 0.0077],
         "low": 0.0058, "high": 0.0096},
        {"key": "naive10", "label": "ten-step naive", "ours": 0.25, "low": None,
         "high": None},
    ]
    fig = plot_beside_published(rows, tmp_path / "r.png", metric="validation MSE")
    with Image.open(tmp_path / "r.png") as png:
        assert 900 <= png.width <= 1200 and png.height > 200
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[0] == "one-step naive (last value)  [naive]"
    assert "\n" in labels[1] and labels[1].endswith("[seq2seq_rnn]")  # long labels wrap
    assert max(len(line) for label in labels for line in label.splitlines()) <= 50
    texts = [t.get_text() for t in ax.texts]
    assert {"0.0201", "0.0202", "0.0071", "0.0058-0.0096", "0.2500"} <= set(texts)
    assert "  none published" in texts
    assert ax.get_xscale() == "log"  # 0.0058 .. 0.25 spans more than 20x
    widths = sorted(round(p.get_width(), 4) for p in ax.patches)
    assert 0.0071 in widths and round((0.0058 + 0.0096) / 2, 4) in widths
    with pytest.raises(ValueError, match=r"rows\[0\] has no 'ours'"):
        plot_beside_published([{"key": "a"}])


def test_backtest_draws_the_selected_row_thick_and_labelled():
    import numpy as np

    from rnnkit.plots.forecast import _draw_backtest

    y = np.arange(20.0)
    origins = np.arange(14, 18)  # H = 3: windows start at 14 .. 17, test part from 14
    forecasts = {"naive": np.ones((4, 3)), "ensemble": np.zeros((4, 3))}
    fig, ax = plt.subplots()
    _draw_backtest(ax, y, origins, forecasts, 14, None, None, selected="ensemble")
    lines = {ln.get_label(): ln for ln in ax.get_lines()}
    assert "ensemble (selected)" in lines and "naive" in lines
    assert lines["ensemble (selected)"].get_linewidth() > 2 * lines["naive"].get_linewidth()
    plt.close(fig)
