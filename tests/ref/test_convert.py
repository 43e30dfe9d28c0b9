"""The book's (DLFS2) LSTM packing <-> rnnkit/torch layout."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit import ref


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def book_lstm_forward(Wx, Wh, b, xs, h, c):
    """DLFS2 ch06 ``LSTM.forward`` run over time, copied from the book's equations:
    A = x Wx + h Wh + b; f, g, i, o = A split in four; c = f c + g i; h = o tanh(c)."""
    H = Wh.shape[0]
    hs = []
    for t in range(xs.shape[1]):
        A = xs[:, t] @ Wx + h @ Wh + b
        f, g, i, o = A[:, :H], A[:, H : 2 * H], A[:, 2 * H : 3 * H], A[:, 3 * H :]
        f, g, i, o = _sigmoid(f), np.tanh(g), _sigmoid(i), _sigmoid(o)
        c = f * c + g * i
        h = o * np.tanh(c)
        hs.append(h)
    return np.stack(hs, axis=1)


def test_book_weights_run_unchanged_in_time_lstm(rng):
    D, H = 3, 4
    Wx, Wh, b = rng.standard_normal((D, 4 * H)), rng.standard_normal((H, 4 * H)), \
        rng.standard_normal(4 * H)
    xs = rng.standard_normal((2, 5, D))
    h0, c0 = rng.standard_normal((2, H)), rng.standard_normal((2, H))
    layer = ref.TimeLSTM(D, H, dtype="float64")
    layer.set_params(ref.lstm_from_dlfs2(Wx, Wh, b))
    np.testing.assert_allclose(layer.forward(xs, (h0, c0)),
                               book_lstm_forward(Wx, Wh, b, xs, h0, c0), rtol=1e-12, atol=1e-14)


def test_gate_blocks_land_where_torch_expects_them(rng):
    H = 2
    # book column blocks f, g, i, o filled with 0, 1, 2, 3
    Wx = np.repeat(np.arange(4.0), H)[None, :]
    W_ih, _, b_ih, b_hh = ref.lstm_from_dlfs2(Wx, np.zeros((H, 4 * H)), np.arange(4.0 * H))
    np.testing.assert_array_equal(W_ih[:, 0], [2, 2, 0, 0, 1, 1, 3, 3])  # i, f, g, o
    np.testing.assert_array_equal(b_ih, [4, 5, 0, 1, 2, 3, 6, 7])
    assert not b_hh.any()


def test_round_trip_sums_the_two_biases(rng):
    layer = ref.TimeLSTM(3, 4, dtype="float64", seed=0)
    Wx, Wh, b = ref.lstm_to_dlfs2(layer.params)
    assert Wx.shape == (3, 16) and Wh.shape == (4, 16) and b.shape == (16,)
    back = ref.lstm_from_dlfs2(Wx, Wh, b)
    np.testing.assert_array_equal(back[0], layer.params[0])
    np.testing.assert_array_equal(back[1], layer.params[1])
    np.testing.assert_allclose(back[2] + back[3], layer.params[2] + layer.params[3], rtol=1e-15)
    xs = rng.standard_normal((2, 3, 3))
    other = ref.TimeLSTM(3, 4, dtype="float64")
    other.set_params(back)
    np.testing.assert_allclose(other.forward(xs), layer.forward(xs), rtol=1e-13, atol=1e-15)


def test_bad_shapes():
    with pytest.raises(ValueError, match=r"Wx must have shape \(D, 4H\), got \(3, 6\)"):
        ref.lstm_from_dlfs2(np.zeros((3, 6)), np.zeros((2, 8)), np.zeros(8))
    with pytest.raises(ValueError, match=r"Wh must have shape \(2, 8\), got \(8, 2\)"):
        ref.lstm_from_dlfs2(np.zeros((3, 8)), np.zeros((8, 2)), np.zeros(8))
    with pytest.raises(ValueError, match=r"b must have shape \(8,\), got \(4,\)"):
        ref.lstm_from_dlfs2(np.zeros((3, 8)), np.zeros((2, 8)), np.zeros(4))
    with pytest.raises(ValueError, match=r"params\[1\] \(W_hh\) must have shape \(8, 2\)"):
        ref.lstm_to_dlfs2([np.zeros((8, 3)), np.zeros((8, 3)), np.zeros(8), np.zeros(8)])
