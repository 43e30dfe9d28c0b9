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


def test_conformal_halfwidth_and_scores():
    from rnnkit.tasks.forecast.intervals import conformal_halfwidth, interval_scores

    res = np.tile(np.arange(1.0, 11.0)[:, None], (1, 2))  # |r| = 1..10 at both steps
    res[::2] *= -1
    q = conformal_halfwidth(res, 0.8)  # the ceil(11 * 0.8) = 9th smallest
    np.testing.assert_allclose(q, [9.0, 9.0])
    y = np.array([0.0, 1.0, 2.0, 3.0])
    s = interval_scores(y, y - 1.5, y + (y < 2) * 1.0, coverage=0.8)
    assert s["coverage"] == 1.0 and s["width"] == pytest.approx(2.0) and not s["zero_width"]
    z = interval_scores(y, y, y)
    assert z["zero_width"] and z["width"] == 0.0 and z["pinball"] == 0.0
    with pytest.raises(ValueError, match="coverage must be in"):
        conformal_halfwidth(res, 1.0)


def test_conformal_intervals_of_a_comparison_cover_about_the_level():
    from rnnkit.tasks.forecast.compare import compare

    rng = np.random.default_rng(0)
    y = 10 + rng.normal(size=400)  # white noise: naive residuals are exchangeable
    res = compare(y, ["naive"], horizon=4, input_len=8, season=1, test=200, folds=3,
                  fold_len=60, verbose=0)
    row = next(r for r in res.rows if r["model"] == "naive")
    assert 0.7 <= row["interval"]["coverage"] <= 0.95 and row["interval"]["level"] == 0.8


def test_equal_passes_give_exactly_zero_width():
    # the same forecast S times (a baseline, or no active dropout): std and width exactly 0
    from rnnkit.tasks.forecast.intervals import interval_scores

    one = np.array([[0.1, 0.7, 1e6 / 3]])
    out = summarise_samples(np.stack([one] * 7))
    assert np.all(out["std"] == 0.0) and np.all(out["upper"] == out["lower"])
    scores = interval_scores(one + 1.0, out["lower"], out["upper"])
    assert scores["zero_width"] and scores["width"] == 0.0 and scores["coverage"] == 0.0


def test_conformal_quantiles_and_crps():
    from rnnkit.tasks.forecast.intervals import conformal_crps, conformal_quantiles
    from rnnkit.tasks.forecast.metrics import mae

    res = np.tile(np.arange(1.0, 11.0)[:, None], (1, 2))  # |r| = 1..10
    off = conformal_quantiles(res, [0.1, 0.5, 0.9])
    np.testing.assert_allclose(off, [[-9.0, -9.0], [0.0, 0.0], [9.0, 9.0]])
    y = np.array([[0.0, 1.0], [2.0, 3.0]])
    assert conformal_crps(y, y, np.zeros((4, 2))) == 0.0  # no residual: a point, no error
    # a point distribution's CRPS is its MAE
    assert conformal_crps(y, y + 1.5, np.zeros((4, 2))) == pytest.approx(mae(y, y + 1.5))
    # spread around a perfect forecast costs something
    spread = conformal_crps(y, y, res)
    assert 0.0 < spread
