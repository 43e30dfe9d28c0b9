import numpy as np
import pytest

from rnnkit.tasks.forecast.metrics import evaluate_all, mae, mase, mse, naive_scale, rmse, smape


def test_values_by_hand():
    y = np.array([[1.0, 2.0], [3.0, 4.0]])
    p = np.array([[2.0, 2.0], [1.0, 4.0]])  # errors 1, 0, -2, 0
    assert mse(y, p) == pytest.approx(5 / 4)
    assert rmse(y, p) == pytest.approx(np.sqrt(5 / 4))
    assert mae(y, p) == pytest.approx(3 / 4)
    # sMAPE terms: 2*1/3, 0, 2*2/4, 0 -> mean 0.291666..., in percent
    assert smape(y, p) == pytest.approx(100 * (2 / 3 + 1) / 4)
    assert smape(np.zeros(2), np.zeros(2)) == 0.0


def test_mase_uses_the_training_naive_error():
    train = np.array([1.0, 3.0, 2.0, 6.0])  # |diffs| 2, 1, 4 -> scale 7/3
    assert naive_scale(train) == pytest.approx(7 / 3)
    assert naive_scale(train, season=2) == pytest.approx((1 + 3) / 2)
    assert mase([10.0, 12.0], [11.0, 10.0], train) == pytest.approx(1.5 / (7 / 3))
    assert set(evaluate_all([1.0], [2.0], train=train)) == {"mse", "rmse", "mae", "smape",
                                                             "mase"}


def test_mase_is_undefined_where_the_training_part_repeats_itself():
    assert np.isnan(mase([5.0, 5.0], [5.0, 5.0 + 1e-15], np.full(10, 5.0)))
    assert np.isnan(mase([1.0], [2.0], np.tile([1.0, 2.0], 5), season=2))
    assert mase([1.0], [2.0], np.tile([1.0, 2.0], 5), season=1) == pytest.approx(1.0)


def test_errors():
    with pytest.raises(ValueError, match="same shape"):
        mse(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="longer than season=12"):
        naive_scale(np.zeros(5), 12)


def _crps_by_integral(cdf, y: float, lo: float, hi: float) -> float:
    """∫ (F(z) - 1{y <= z})² dz on a fine grid (the definition, not the code's formula)."""
    z = np.linspace(lo, hi, 400_001)
    f = (cdf(z) - (z >= y)) ** 2
    return float(np.sum((f[1:] + f[:-1]) / 2 * np.diff(z)))


def test_crps_gaussian_matches_the_integral_and_is_the_abs_error_at_zero_std():
    norm = pytest.importorskip("scipy.stats").norm  # an independent reference

    from rnnkit.tasks.forecast.metrics import crps_gaussian

    for y, mu, sd in ((0.3, 0.0, 1.0), (-2.0, 1.0, 0.5), (5.0, 5.0, 3.0)):
        want = _crps_by_integral(lambda z, m=mu, s=sd: norm.cdf(z, m, s), y, -40, 40)
        assert crps_gaussian([y], [mu], [sd]) == pytest.approx(want, abs=1e-4)
    assert crps_gaussian([1.0, 2.0], [0.0, 2.5], [0.0, 0.0]) == pytest.approx(0.75)
    with pytest.raises(ValueError, match="std must be >= 0"):
        crps_gaussian([1.0], [0.0], [-1.0])


def test_crps_samples_and_quantiles():
    norm = pytest.importorskip("scipy.stats").norm  # an independent reference

    from rnnkit.tasks.forecast.metrics import crps_gaussian, crps_quantiles, crps_samples, pinball

    # two samples 0 and 1, y = 0.5: F = 1/2 on [0, 1), so ∫ (F - 1{z >= .5})² = 1/4
    assert crps_samples([0.5], np.array([[0.0], [1.0]])) == pytest.approx(0.25)
    assert crps_samples([2.0], np.full((5, 1), 3.0)) == pytest.approx(1.0)  # a point: |e|
    rng = np.random.default_rng(0)
    y = np.array([0.4, -1.0])
    draws = rng.normal(0.0, 1.0, size=(20_000, 2))
    exact = crps_gaussian(y, np.zeros(2), np.ones(2))
    assert crps_samples(y, draws) == pytest.approx(exact, rel=0.02)
    levels = [k / 100 for k in range(1, 100)]
    q = norm.ppf(levels)[:, None] * np.ones((1, 2))
    assert crps_quantiles(y, q, levels) == pytest.approx(exact, rel=0.03)
    assert pinball([1.0, 3.0], [2.0, 2.0], 0.9) == pytest.approx((0.1 + 0.9) / 2)
    with pytest.raises(ValueError, match=r"samples must have shape \(S, \*y_true.shape\)"):
        crps_samples([1.0, 2.0], np.zeros((3, 4)))
