import numpy as np
import pytest

from rnnkit.errors import ConfigError
from rnnkit.tasks.forecast.strategies import forecast, model_output_size, training_windows


def last_plus_one(x):
    return x[:, -1, :] + 1  # (N, 1): a one-step "model"


def test_recursive_feeds_predictions_back():
    x = np.array([[0.0, 1.0, 2.0]])[:, :, None]
    np.testing.assert_array_equal(forecast(last_plus_one, "recursive", x, 4), [[3, 4, 5, 6]])
    lengths = []

    def spy(b):
        lengths.append(b.shape[1])
        return last_plus_one(b)

    forecast(spy, "recursive", x, 3, feedback="slide")
    assert lengths == [3, 3, 3]
    lengths.clear()
    forecast(spy, "recursive", x, 3, feedback="grow")
    assert lengths == [3, 4, 5]


def test_direct_and_seq2seq_shapes():
    x = np.zeros((5, 7, 1))
    assert forecast(lambda b: np.ones((len(b), 4)), "direct", x, 4).shape == (5, 4)
    seq = np.arange(5 * 7 * 4, dtype=float).reshape(5, 7, 4)
    out = forecast(lambda b: seq, "seq2seq", x, 4)
    np.testing.assert_array_equal(out, seq[:, -1])  # the last step only


def test_training_windows_per_strategy():
    x = np.arange(12.0)
    assert training_windows("recursive", 4, 3)(x)["y"].shape == (8, 1)
    assert training_windows("direct", 4, 3)(x)["y"].shape == (6, 3)
    assert training_windows("seq2seq", 4, 3)(x)["y"].shape == (6, 4, 3)
    assert model_output_size("recursive", 5) == 1 and model_output_size("direct", 5) == 5


def test_errors():
    with pytest.raises(ConfigError, match="strategy must be one of"):
        forecast(last_plus_one, "dirty", np.zeros((1, 2, 1)), 2)
    with pytest.raises(ConfigError, match="univariate series only"):
        forecast(last_plus_one, "recursive", np.zeros((1, 2, 2)), 2)
