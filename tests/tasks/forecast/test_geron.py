import numpy as np
import pytest

from rnnkit.data.synthetic import generate_time_series
from rnnkit.errors import ConfigError
from rnnkit.tasks.forecast.geron import ROWS, geron_data, reproduce, run_row


def test_data_follows_the_book_protocol():
    np.random.seed(42)  # noqa: NPY002
    series = generate_time_series(20, 60)
    Y = np.empty((20, 50, 10))
    for step_ahead in range(1, 10 + 1):
        Y[..., step_ahead - 1] = series[..., step_ahead:step_ahead + 50, 0]
    d = geron_data("seq2seq", n_series=20)
    np.testing.assert_array_equal(d["X_train"], series[:14, :50])
    np.testing.assert_array_equal(d["y_valid"], Y[14:18])
    ten = geron_data("ten_step", n_series=20)
    np.testing.assert_array_equal(ten["y_test"], series[18:, -10:, 0])
    one = geron_data("one_step", n_series=20)
    assert one["X_train"].shape == (14, 50, 1) and one["y_train"].shape == (14, 1)


def test_naive_rows_by_hand():
    d = geron_data("one_step", n_series=30)
    expected = np.mean((d["y_valid"] - d["X_valid"][:, -1]) ** 2)
    assert run_row("naive", n_series=30)["val_mse"] == pytest.approx(expected)


def test_rows_run_on_tiny_data():
    res = reproduce(["linear", "iterated", "conv_gru"], epochs=1, n_series=40)
    assert [r["key"] for r in res] == ["linear", "iterated", "conv_gru"]
    assert all(np.isfinite(r["val_mse"]) and r["val_mse"] > 0 for r in res)
    assert set(ROWS) >= {"naive", "wavenet", "seq2seq_bn", "seq2seq_ln"}
    with pytest.raises(ConfigError, match="model must be one of"):
        run_row("transformer")


def test_keras_single_bias_for_simple_rnn_and_lstm_not_gru():
    from rnnkit.tasks.forecast.geron import _build

    rnn = _build(ROWS["deep_rnn_dense"])
    frozen = [n for n, p in rnn.named_parameters() if not p.requires_grad]
    assert len(frozen) == 2 and all("bias_hh" in n for n in frozen)
    assert all(p.requires_grad for n, p in rnn.named_parameters() if "bias_ih" in n)
    gru = _build(ROWS["seq2seq_gru"])
    assert all(p.requires_grad for p in gru.parameters())
    lstm = _build(ROWS["seq2seq_lstm"])
    assert sum(not p.requires_grad for p in lstm.parameters()) == 2
