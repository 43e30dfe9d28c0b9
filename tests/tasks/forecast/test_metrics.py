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


def test_errors():
    with pytest.raises(ValueError, match="same shape"):
        mse(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="longer than season=12"):
        naive_scale(np.zeros(5), 12)
