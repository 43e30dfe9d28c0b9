import json

import numpy as np
import pytest

from rnnkit.errors import ConfigError, DataError, NotFittedError
from rnnkit.tasks.forecast import Forecaster


def sine(n=80, noise=0.0, seed=0):
    t = np.arange(n)
    return 10 + np.sin(2 * np.pi * t / 12) + noise * np.random.default_rng(seed).normal(size=n)


@pytest.mark.parametrize("strategy", ["direct", "recursive", "seq2seq"])
def test_fit_predict_shapes_per_strategy(strategy):
    fc = Forecaster("gru", input_len=12, horizon=4, strategy=strategy, epochs=2, hidden=4)
    assert fc.fit(sine()) is fc
    assert fc.predict().shape == (4,)
    assert fc.predict([sine(30), sine(40)]).shape == (2, 4)
    assert len(fc.history_["loss"]) == 2 and "val_loss" in fc.history_
    res = fc.backtest_windows(sine(), target_start=60)
    assert res["y_pred"].shape == res["y_true"].shape == (80 - 60 - 4 + 1, 4)


def test_naive_forecaster_is_exact_and_untrained():
    y = np.arange(50.0)
    fc = Forecaster("naive", input_len=6, horizon=3).fit(y)
    np.testing.assert_allclose(fc.predict(), [49, 49, 49])
    assert fc.history_ == {}
    s = Forecaster("seasonal_naive", input_len=12, horizon=3, season=12).fit(sine(48))
    np.testing.assert_allclose(s.predict(), sine(48)[36:39], rtol=1e-5)


def test_linear_learns_a_sine_better_than_naive():
    y = sine(120)
    lin = Forecaster("linear", input_len=12, horizon=3, epochs=40, lr=0.03, seed=0).fit(y[:100])
    nai = Forecaster("naive", input_len=12, horizon=3).fit(y[:100])
    assert lin.evaluate(y, 100)["mae"] < 0.1 * nai.evaluate(y, 100)["mae"]


def test_save_load_round_trip(tmp_path):
    y = sine(60, noise=0.1)
    fc = Forecaster("lstm", input_len=8, horizon=3, epochs=2, hidden=4, dropout=0.2,
                    scaler="minmax").fit(y)
    fc.save(tmp_path / "m", data_info={"column": "y"})
    back = Forecaster.load(tmp_path / "m")
    assert back.get_params() == fc.get_params()
    assert back.data_info_ == {"column": "y"}
    np.testing.assert_allclose(back.scaler_.shift_, fc.scaler_.shift_)
    np.testing.assert_allclose(back.predict(), fc.predict(), rtol=1e-6)
    np.testing.assert_allclose(back.predict(y[:40]), fc.predict(y[:40]), rtol=1e-6)
    iv_a = fc.predict_intervals(n_samples=10, seed=3)
    iv_b = back.predict_intervals(n_samples=10, seed=3)
    np.testing.assert_allclose(iv_a["mean"], iv_b["mean"], rtol=1e-6)
    assert np.all(iv_a["std"] > 0)
    cfg = json.loads((tmp_path / "m" / "config.json").read_text())
    assert cfg["extra"]["params"]["model"] == "lstm"
    assert not list((tmp_path / "m").glob("*.pkl"))


def test_scaler_sees_only_the_training_part():
    y = np.concatenate([np.linspace(0, 1, 40), np.full(10, 500.0)])
    fc = Forecaster("naive", input_len=4, horizon=2, validation=10).fit(y)
    assert fc.scaler_.shift_[0] == pytest.approx(0.5)  # mean of the first 40 values


def test_one_series_network_reading_changes_is_scaled_by_its_changes_over_the_horizon():
    """Level "last" (the default), one series: its changes reach the network in units of its
    mean absolute change over 1..H steps, not of its std (which a trend inflates); level
    "none": the std (many series: test_multiseries)."""
    y = np.arange(100.0) * 2 + np.tile([0.0, 1.0], 50)  # steps 3, 1, 3, ...; 2-steps 4, 4
    fc = Forecaster("naive", input_len=4, horizon=2, validation=0).fit(y)
    assert fc.scaler_.changes == 2
    assert fc.scaler_.scale_[0] == pytest.approx(((50 * 3 + 49) / 99 + 4) / 2)
    assert fc.scaler_.shift_[0] == pytest.approx(y.mean())
    flat = Forecaster("naive", input_len=4, horizon=2, validation=0, level="none").fit(y)
    assert flat.scaler_.changes == 0 and flat.scaler_.scale_[0] == pytest.approx(y.std())


def test_errors(tmp_path):
    with pytest.raises(DataError, match="fewer than input_len \\+ horizon = 10 \\+ 5 = 15"):
        Forecaster("linear", input_len=10, horizon=5).fit(np.arange(12.0))
    with pytest.raises(DataError, match="NaN or inf"):
        Forecaster("linear", input_len=2, horizon=1).fit(np.array([1.0, np.nan, 2, 3, 4]))
    with pytest.raises(ConfigError, match="strategy must be one of"):
        Forecaster("linear", strategy="magic").fit(np.arange(100.0))
    with pytest.raises(ConfigError, match="model must be one of"):
        Forecaster("prophet").fit(np.arange(100.0))
    with pytest.raises(NotFittedError, match="not fitted"):
        Forecaster().predict()
    with pytest.raises(DataError, match="missing is not a saved rnnkit model"):
        Forecaster.load(tmp_path / "missing")
    fc = Forecaster("naive", input_len=5, horizon=2).fit(np.arange(20.0))
    with pytest.raises(DataError, match="fewer than input_len=5"):
        fc.predict(np.arange(3.0))


def test_fit_takes_a_loaded_csv_series(tmp_path):
    from rnnkit.data.series import load_csv

    path = tmp_path / "s.csv"
    path.write_text("month,y\n" + "".join(f"2000-{i % 12 + 1:02d},{i % 7}\n" for i in range(40)))
    series = load_csv(path, column="y")
    fc = Forecaster("naive", input_len=4, horizon=2).fit(series)
    np.testing.assert_allclose(fc.predict(), [39 % 7, 39 % 7], rtol=1e-6)
