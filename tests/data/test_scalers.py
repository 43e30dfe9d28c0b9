import json

import numpy as np
import pytest

from rnnkit.data.scalers import MinMaxScaler, StandardScaler, make_scaler, scaler_from_dict
from rnnkit.data.windowing import time_split


def test_standard_scaler_values():
    s = StandardScaler().fit(np.array([1.0, 2.0, 3.0, 4.0]))
    np.testing.assert_allclose(s.shift_, [2.5])
    np.testing.assert_allclose(s.scale_, [np.sqrt(1.25)])
    z = s.transform(np.array([2.5, 2.5 + np.sqrt(1.25)]))
    np.testing.assert_allclose(z, [0.0, 1.0])


def test_minmax_per_column_and_inverse():
    x = np.array([[0.0, 10.0], [5.0, 30.0], [10.0, 20.0]])
    s = MinMaxScaler((-1, 1)).fit(x)
    np.testing.assert_allclose(s.transform(x), [[-1, -1], [0, 1], [1, 0]])
    np.testing.assert_allclose(s.inverse_transform(s.transform(x)), x)


def test_scaler_fitted_on_train_does_not_see_test_values():
    x = np.concatenate([np.linspace(0, 1, 80), np.full(20, 1000.0)])  # a huge test part
    split = time_split(len(x), valid=0, test=20)
    s = StandardScaler().fit(x[:split.train_end])
    assert s.shift_[0] == pytest.approx(0.5)  # mean of the training part only
    assert s.scale_[0] == pytest.approx(np.linspace(0, 1, 80).std())
    leaky = StandardScaler().fit(x)
    assert leaky.shift_[0] > 100  # the leak would have been visible


def test_constant_column_and_json_round_trip():
    s = StandardScaler().fit(np.full(5, 3.0))
    assert s.scale_[0] == 1.0
    state = json.loads(json.dumps(MinMaxScaler((0, 2)).fit(np.arange(4.0)).to_dict()))
    back = scaler_from_dict(state)
    np.testing.assert_allclose(back.transform(np.array([0.0, 3.0])), [0.0, 2.0])


def test_errors():
    with pytest.raises(RuntimeError, match="not fitted"):
        StandardScaler().transform(np.zeros(3))
    with pytest.raises(ValueError, match="scaler must be one of"):
        make_scaler("robust")
    with pytest.raises(ValueError, match="finite"):
        StandardScaler().fit(np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match="2 columns"):
        StandardScaler().fit(np.zeros((3, 2))).transform(np.zeros((3, 3)))


def test_log_scaler():
    x = np.array([1.0, np.e, np.e ** 2])  # log x = 0, 1, 2: mean 1, std sqrt(2/3)
    s = make_scaler("log").fit(x)
    np.testing.assert_allclose(s.transform(x), (np.array([0, 1, 2]) - 1) / np.sqrt(2 / 3))
    np.testing.assert_allclose(s.inverse_transform(s.transform(x)), x)
    np.testing.assert_allclose(s.inverse_column(np.array([0.0]), 0), [np.e])
    with pytest.raises(ValueError, match="the log scaler needs positive values, got a minimum"):
        s.fit(np.array([1.0, 0.0]))


def test_changes_scale_by_the_mean_absolute_change_over_k_steps_within_each_series():
    x = np.array([[1.0, 10.0], [3.0, 10.0], [2.0, 10.0], [6.0, 10.0]])  # |steps| 2, 1, 4; 0
    s = StandardScaler(changes=1).fit(x)
    np.testing.assert_allclose(s.shift_, [3.0, 10.0])
    np.testing.assert_allclose(s.scale_, [7 / 3, 1.0])  # a constant column: 1
    # k = 2: the mean of lag 1's 7/3 and lag 2's (|2 - 1| + |6 - 3|) / 2 = 2
    np.testing.assert_allclose(StandardScaler(changes=2).fit(x).scale_, [(7 / 3 + 2) / 2, 1])
    # many series: the changes are taken within each, never across the join; a lag longer
    # than a series is taken from the series that hold it
    pooled = StandardScaler(changes=2).fit([np.array([0.0, 1.0]), np.array([100.0, 103, 104])])
    np.testing.assert_allclose(pooled.scale_, [(5 / 3 + 4) / 2])
    # log: the changes of log x; a trend of +1 a step in log x scales to steps of 1
    log = make_scaler("log", changes=1).fit(np.exp(np.arange(5.0)))
    np.testing.assert_allclose(np.diff(log.transform(np.exp(np.arange(5.0)))), np.ones(4))
    back = scaler_from_dict(json.loads(json.dumps(log.to_dict())))
    assert back.changes == 1 and back.scale_[0] == pytest.approx(1.0)
    assert scaler_from_dict({"name": "standard", "shift": [0.0], "scale": [2.0]}).changes == 0
    for bad in (True, -1, 1.5):
        with pytest.raises(ValueError, match="changes must be an int >= 0"):
            StandardScaler(changes=bad)
