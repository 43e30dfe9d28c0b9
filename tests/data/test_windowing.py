import numpy as np
import pytest

from rnnkit.data.windowing import (
    Windowing,
    as_series_list,
    sliding_windows,
    time_split,
    toeplitz_windows,
)


def test_vector_windows_exact_indices():
    x = np.arange(10.0)  # x_t = t, so every value names its own index
    batch = Windowing(input_len=3, horizon=2)(x)
    expected_x = np.array([[0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5], [4, 5, 6], [5, 6, 7]],
                          dtype=float)[:, :, None]
    expected_y = np.array([[3, 4], [4, 5], [5, 6], [6, 7], [7, 8], [8, 9]], dtype=float)
    np.testing.assert_array_equal(batch["x"], expected_x)
    np.testing.assert_array_equal(batch["y"], expected_y)
    np.testing.assert_array_equal(batch["start"], [0, 1, 2, 3, 4, 5])
    np.testing.assert_array_equal(batch["series"], [0] * 6)


def test_stride():
    batch = Windowing(3, 1, stride=3)(np.arange(10.0))
    np.testing.assert_array_equal(batch["start"], [0, 3, 6])
    np.testing.assert_array_equal(batch["y"], [[3], [6], [9]])


def test_seq2seq_targets_match_the_book_formula():
    x = np.arange(8.0)  # L = 4, H = 3: y[n, t, k] = x[n + t + 1 + k]
    batch = Windowing(4, 3, target="seq2seq")(x)
    assert batch["y"].shape == (2, 4, 3)
    expected_first = np.array([[1, 2, 3], [2, 3, 4], [3, 4, 5], [4, 5, 6]], dtype=float)
    np.testing.assert_array_equal(batch["y"][0], expected_first)
    np.testing.assert_array_equal(batch["y"][1], expected_first + 1)
    # the book: Y[..., k-1] = series[..., k:k+L, 0] for one window of length L + H
    series = np.arange(7.0)[None, :, None]
    Y = np.empty((1, 4, 3))
    for k in range(1, 4):
        Y[..., k - 1] = series[..., k:k + 4, 0]
    np.testing.assert_array_equal(batch["y"][:1], Y)
    # the last step of the seq2seq target is the vector target
    vec = Windowing(4, 3)(x)["y"]
    np.testing.assert_array_equal(batch["y"][:, -1], vec)


def test_many_series_and_multivariate_target_col():
    a = np.stack([np.arange(5.0), 100 + np.arange(5.0)], axis=1)  # (5, 2)
    b = np.stack([np.arange(4.0) + 10, np.arange(4.0) + 200], axis=1)  # (4, 2)
    batch = Windowing(2, 1, target_col=1)([a, b])
    assert batch["x"].shape == (3 + 2, 2, 2)
    np.testing.assert_array_equal(batch["series"], [0, 0, 0, 1, 1])
    np.testing.assert_array_equal(batch["start"], [0, 1, 2, 0, 1])
    np.testing.assert_array_equal(batch["y"][:, 0], [102, 103, 104, 202, 203])
    np.testing.assert_array_equal(batch["x"][3], [[10, 200], [11, 201]])


def test_split_windows_never_read_later_parts():
    x = np.arange(20.0)
    split = time_split(20, valid=4, test=4, min_train=5)
    assert (split.train_end, split.valid_end) == (12, 16)
    w = Windowing(3, 2)
    train = w(x, 0, split.train_end)
    valid = w(x, split.train_end, split.valid_end)
    test = w(x, split.valid_end)
    # training windows touch only values < 12; validation targets in [12, 16); test in [16, 20)
    assert train["x"].max() < 12 and train["y"].max() < 12
    np.testing.assert_array_equal(train["start"], np.arange(0, 8))
    np.testing.assert_array_equal(valid["y"], [[12, 13], [13, 14], [14, 15]])
    np.testing.assert_array_equal(valid["start"], [9, 10, 11])  # inputs reach back into train
    np.testing.assert_array_equal(test["y"], [[16, 17], [17, 18], [18, 19]])
    assert valid["y"].max() < 16


def test_empty_part_gives_empty_arrays_with_shapes():
    batch = Windowing(5, 2, target="seq2seq")(np.arange(6.0))
    assert batch["x"].shape == (0, 5, 1) and batch["y"].shape == (0, 5, 2)


def test_toeplitz_windows():
    t = toeplitz_windows(np.array([1.0, 2, 3, 4, 5]), 3)
    np.testing.assert_array_equal(t, [[1, 2, 3], [2, 3, 4], [3, 4, 5]])
    with pytest.raises(ValueError, match="width must be at most len"):
        toeplitz_windows(np.arange(3.0), 4)


def test_sliding_windows_function():
    X, Y = sliding_windows(np.arange(6.0), 4, 2)
    np.testing.assert_array_equal(X[:, :, 0], [[0, 1, 2, 3]])
    np.testing.assert_array_equal(Y, [[4, 5]])


def test_last_input():
    np.testing.assert_array_equal(Windowing(3).last_input(np.arange(7.0))[0, :, 0], [4, 5, 6])


@pytest.mark.parametrize("kwargs, message", [
    ({"input_len": 0}, "input_len must be a positive int, got 0"),
    ({"input_len": 3, "horizon": -1}, "horizon must be a positive int, got -1"),
    ({"input_len": 3, "target": "tree"}, "target must be one of"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Windowing(**kwargs)


def test_time_split_errors_and_fractions():
    s = time_split(100, valid=0.1, test=0.2)
    assert (s.train_end, s.valid_end) == (70, 80)
    with pytest.raises(ValueError, match="leaves 2 for training"):
        time_split(10, valid=4, test=4, min_train=5)


def test_as_series_list_shapes():
    assert [a.shape for a in as_series_list(np.zeros((3, 5, 2)))] == [(5, 2)] * 3
    with pytest.raises(ValueError, match="same number of columns"):
        as_series_list([np.zeros((4, 1)), np.zeros((4, 2))])
