import numpy as np
import pytest

from rnnkit.tasks.forecast import Forecaster, rolling_origin, rolling_origins


def test_origins():
    assert rolling_origins(20, 3, n_origins=3) == [11, 14, 17]
    assert rolling_origins(20, 3, n_origins=2, step=1) == [16, 17]
    with pytest.raises(ValueError, match="cannot hold 5 origins"):
        rolling_origins(10, 3, n_origins=5, min_train=4)


def test_naive_backtest_by_hand():
    y = np.array([0, 1, 3, 6, 10, 15, 21, 28, 36, 45], dtype=float)
    res = rolling_origin(Forecaster("naive", input_len=2, horizon=2, validation=0), y,
                         n_origins=2, refit=True)
    assert res["origins"] == [6, 8]
    np.testing.assert_array_equal(res["y_true"], [[21, 28], [36, 45]])
    np.testing.assert_allclose(res["y_pred"], [[15, 15], [28, 28]])
    assert res["metrics"]["mae"] == pytest.approx((6 + 13 + 8 + 17) / 4)
    once = rolling_origin(Forecaster("naive", input_len=2, horizon=2, validation=0), y,
                          n_origins=2, refit=False)
    np.testing.assert_allclose(once["y_pred"], res["y_pred"])
