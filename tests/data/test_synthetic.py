import numpy as np
import pytest

from rnnkit.data.synthetic import generate_time_series, geron_split


def book_generate_time_series(batch_size, n_steps):
    # transcribed by hand from the notebook of ageron/handson-ml2, chapter 15
    freq1, freq2, offsets1, offsets2 = np.random.rand(4, batch_size, 1)  # noqa: NPY002
    time = np.linspace(0, 1, n_steps)
    series = 0.5 * np.sin((time - offsets1) * (freq1 * 10 + 10))  #   wave 1
    series += 0.2 * np.sin((time - offsets2) * (freq2 * 20 + 20))  # + wave 2
    series += 0.1 * (np.random.rand(batch_size, n_steps) - 0.5)  # noqa: NPY002  (+ noise)
    return series[..., np.newaxis].astype(np.float32)


def test_equals_the_book_with_global_seed():
    np.random.seed(42)  # noqa: NPY002
    expected = book_generate_time_series(5, 11)
    np.random.seed(42)  # noqa: NPY002
    ours = generate_time_series(5, 11)
    assert ours.dtype == np.float32 and ours.shape == (5, 11, 1)
    np.testing.assert_array_equal(ours, expected)


def test_int_seed_equals_global_seed_and_leaves_global_state():
    np.random.seed(42)  # noqa: NPY002
    expected = book_generate_time_series(4, 7)
    np.random.seed(7)  # noqa: NPY002
    before = np.random.get_state()[1].copy()  # noqa: NPY002
    ours = generate_time_series(4, 7, seed=42)
    np.testing.assert_array_equal(ours, expected)
    np.testing.assert_array_equal(np.random.get_state()[1], before)  # noqa: NPY002


def test_first_values_by_hand():
    # with seed 42 the first draws of np.random.rand are known constants
    rs = np.random.RandomState(42)
    u = rs.rand(4 * 2)
    f1, f2, o1, o2 = u[0:2], u[2:4], u[4:6], u[6:8]
    noise = rs.rand(2, 3)
    t = np.array([0.0, 0.5, 1.0])
    s00 = (0.5 * np.sin((t[0] - o1[0]) * (f1[0] * 10 + 10))
           + 0.2 * np.sin((t[0] - o2[0]) * (f2[0] * 20 + 20)) + 0.1 * (noise[0, 0] - 0.5))
    assert u[0] == pytest.approx(0.3745401188473625)
    assert generate_time_series(2, 3, seed=42)[0, 0, 0] == pytest.approx(s00, rel=1e-6)


def test_split_sizes_and_errors():
    s = np.zeros((10, 3, 1))
    a, b, c = geron_split(s, 7, 2)
    assert (len(a), len(b), len(c)) == (7, 2, 1)
    with pytest.raises(ValueError, match="n_steps must be a positive int"):
        generate_time_series(3, 0)
    with pytest.raises(TypeError, match="seed must be"):
        generate_time_series(3, 4, seed="42")
