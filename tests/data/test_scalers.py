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
