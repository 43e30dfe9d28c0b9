import numpy as np
import pytest
import torch

from rnnkit.tasks.forecast.intervals import mc_dropout_intervals, summarise_samples
from rnnkit.tasks.forecast.models import build_model


def test_summary_by_hand():
    samples = np.array([1.0, 2.0, 3.0, 4.0, 5.0]).reshape(5, 1, 1)
    out = summarise_samples(samples, quantiles=(0.25, 0.75))
    assert out["mean"][0, 0] == 3.0
    assert out["std"][0, 0] == pytest.approx(np.sqrt(2.0))
    assert (out["lower"][0, 0], out["upper"][0, 0]) == (2.0, 4.0)
    assert out["q0.25"][0, 0] == 2.0


def test_mc_dropout_active_at_inference_and_seeded():
    torch.manual_seed(0)
    x = torch.randn(2, 6, 1)
    noisy = build_model("gru", 6, 3, hidden=8, dropout=0.3, mc_dropout=True)
    noisy.eval()

    def sample():
        with torch.no_grad():
            return noisy(x).numpy()

    a = mc_dropout_intervals(sample, n_samples=20, seed=1)
    b = mc_dropout_intervals(sample, n_samples=20, seed=1)
    assert a["samples"].shape == (20, 2, 3)
    assert np.all(a["std"] > 0)
    np.testing.assert_array_equal(a["mean"], b["mean"])  # same seed, same masks
    assert np.all(a["lower"] <= a["upper"])

    plain = build_model("gru", 6, 3, hidden=8, dropout=0.3, mc_dropout=False)
    plain.eval()
    with torch.no_grad():
        c = mc_dropout_intervals(lambda: plain(x).numpy(), n_samples=5)
    np.testing.assert_allclose(c["std"], 0.0, atol=1e-7)


def test_errors():
    with pytest.raises(ValueError, match="n_samples must be a positive int"):
        mc_dropout_intervals(lambda: np.zeros((1, 1)), n_samples=0)
    with pytest.raises(ValueError, match="quantiles must be numbers in"):
        summarise_samples(np.zeros((2, 1, 1)), quantiles=(1.5,))
