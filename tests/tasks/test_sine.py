"""The sine experiment (reference engine) and its figure."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit.tasks.sine import run_sine, sine_windows


def test_windows_are_toeplitz():
    s, X, y = sine_windows()
    assert X.shape == (17, 3, 1) and y.shape == (17, 1)
    np.testing.assert_allclose(s[:4], [0, np.sqrt(0.5), 1, np.sqrt(0.5)], atol=1e-15)
    np.testing.assert_array_equal(X[5, :, 0], s[5:8])
    assert y[5, 0] == s[8]


def test_training_fits_the_sine():
    r = run_sine(epochs=100)
    assert r.loss_before > 0.1  # an untrained net does not know the sine
    assert r.loss_after < 0.01 * r.loss_before
    assert len(r.losses) == 101
    np.testing.assert_allclose(r.pred_after, r.targets, atol=0.1)
    assert np.abs(r.pred_before - r.targets).max() > 0.5
    np.testing.assert_array_equal(r.t, np.arange(3, 20))


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"epochs must be a positive int, got 0"):
        run_sine(epochs=0)
    with pytest.raises(ValueError, match=r"n_points must be an int greater than window \(3\)"):
        sine_windows(n_points=3)


def test_figure_is_written(tmp_path):
    from rnnkit.plots.sine import plot_sine

    out = tmp_path / "sine.png"
    plot_sine(run_sine(epochs=3), out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
