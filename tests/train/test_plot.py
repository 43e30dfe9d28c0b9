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
