"""Many series in one Forecaster: per-series scaling, ids, saving the scalers."""

import logging

import numpy as np
import pytest

from rnnkit.errors import ConfigError, DataError
from rnnkit.tasks.forecast import Forecaster

T, N_TEST, H, L = 120, 24, 6, 24


def two_series():
    """Two noisy seasonal series at levels 10 and 1000 with different phases and trends."""
    rng = np.random.default_rng(0)
    t = np.arange(T)
    small = 10 + 2 * np.sin(2 * np.pi * t / 12) + 0.02 * t + rng.normal(0, 0.3, T)
    big = 1000 + 300 * np.sin(2 * np.pi * (t + 4) / 12) - 1.5 * t + rng.normal(0, 40, T)
    return small, big


def fit(data, **kw):
    kw = {"epochs": 100, **kw}
    return Forecaster("linear", input_len=L, horizon=H, verbose=0, patience=None,
                      **kw).fit(data)


def small_test_mae(fc, small, ids=None):
    res = fc.backtest_windows([small], T - N_TEST, ids=ids)
    return float(np.mean(np.abs(res["y_true"] - res["y_pred"])))


def test_per_series_scaling_keeps_the_small_series_as_good_as_alone():
    small, big = two_series()
    train = {"small": small[:-N_TEST], "big": big[:-N_TEST]}
    alone = small_test_mae(fit(small[:-N_TEST]), small)
    per_series = small_test_mae(fit(train), small, ids=["small"])
    pooled = small_test_mae(fit(train, scaling="pooled"), small, ids=["small"])
    assert per_series < 1.5 * alone
    assert pooled > 3 * alone  # one scaler for both: the small series drowns


def test_scalers_are_per_id_and_survive_save_load(tmp_path):
    small, big = two_series()
    fc = fit({"small": small[:-N_TEST], "big": big[:-N_TEST]}, validation=0)
    assert fc.ids_ == ["small", "big"]
    assert fc.scalers_["big"].shift_[0] == pytest.approx(big[:-N_TEST].mean())
    assert fc.scalers_["small"].shift_[0] == pytest.approx(small[:-N_TEST].mean())
    with pytest.raises(ConfigError, match="one scaler per series"):
        fc.scaler_  # noqa: B018
    both = fc.predict()  # (2, H)
    assert both.shape == (2, H)
    np.testing.assert_allclose(fc.predict(ids=["big"]), both[1], rtol=1e-6)  # float32
    fc.save(tmp_path / "m")
    back = Forecaster.load(tmp_path / "m")
    assert back.ids_ == ["small", "big"]
    np.testing.assert_allclose(back.scalers_["big"].scale_, fc.scalers_["big"].scale_)
    np.testing.assert_allclose(back.predict(), both, rtol=1e-5)
    with pytest.raises(ConfigError, match="'c' is not one of \\['small', 'big'\\]"):
        back.predict(ids=["c"])


def test_a_global_network_reads_each_series_spread(tmp_path):
    """Many series, each standardised by its own scaler, level "last": each scaler divides
    by its series' mean absolute change over 1..H steps, and the network reads the spread
    r = log(1 + std / c) of each training part as a side column, saved with the model; the
    recursive strategy and pooled scaling keep the std and read none."""
    small, big = two_series()
    train = {"small": small[:-N_TEST], "big": big[:-N_TEST]}
    fc = fit(train, validation=0, epochs=5)
    for k, v in train.items():
        c = np.mean([np.abs(v[j:] - v[:-j]).mean() for j in range(1, H + 1)])
        assert fc.scalers_[k].changes == H and fc.scalers_[k].scale_[0] == pytest.approx(c)
        assert fc.spread_[k] == pytest.approx(np.log1p(v.std() / c))
    before = fc.predict()  # (2, H)
    fc.save(tmp_path / "m")
    back = Forecaster.load(tmp_path / "m")
    assert back.spread_ == pytest.approx(fc.spread_)
    np.testing.assert_allclose(back.predict(), before, rtol=1e-6)
    back.spread_["small"] += 1.0  # the network reads it: another spread, another forecast
    assert np.abs(back.predict(ids=["small"]) - before[0]).max() > 1e-3
    np.testing.assert_allclose(back.predict(ids=["big"]), before[1], rtol=1e-6)
    for kw in ({"strategy": "recursive"}, {"scaling": "pooled"}):
        other = fit(train, validation=0, epochs=1, **kw)
        assert other.spread_ == {} and {sc.changes for sc in other.scalers_.values()} == {0}


def test_a_new_id_is_scaled_on_the_values_given(caplog):
    small, big = two_series()
    part = small[:-N_TEST]
    fc = fit({"small": part, "big": big[:-N_TEST]}, validation=0)
    with caplog.at_level(logging.WARNING, logger="rnnkit.tasks.forecast.forecaster"):
        new = fc.predict({"new": 100 * part})
    assert "not seen in training ('new')" in caplog.text
    # the same values x100, standardised on themselves, reach the network unchanged
    np.testing.assert_allclose(new, 100 * fc.predict(ids=["small"]), rtol=1e-4)
    # known ids keep their training scaler whatever values are given
    np.testing.assert_allclose(fc.predict({"small": part}), fc.predict(ids=["small"]),
                               rtol=1e-6)


def test_an_ensemble_says_once_that_an_id_is_new(caplog):
    from rnnkit.tasks.forecast.ensemble import EnsembleForecaster

    small, big = two_series()
    train = {"small": small[:-N_TEST], "big": big[:-N_TEST]}
    ens = EnsembleForecaster({"linear": fit(train, validation=0, epochs=2),
                              "naive": Forecaster("naive", input_len=L, horizon=H,
                                                  validation=0).fit(train)})
    with caplog.at_level(logging.WARNING, logger="rnnkit.tasks.forecast.forecaster"):
        ens.predict({"new": small})
        ens.predict({"newer": small})
    assert caplog.text.count("not seen in training ('new')") == 1
    assert caplog.text.count("not seen in training ('newer')") == 1


def test_unnamed_arrays_match_training_series_by_position():
    small, big = two_series()
    fc = fit([small[:-N_TEST], big[:-N_TEST]], validation=0)
    assert fc.ids_ == ["0", "1"]
    np.testing.assert_allclose(fc.predict([small[:-N_TEST], big[:-N_TEST]]), fc.predict(),
                               rtol=1e-6)
    res = fc.backtest_windows([small, big], [T - N_TEST, T - N_TEST])
    assert set(res["series"]) == {0, 1} and res["y_pred"].shape == (2 * (N_TEST - H + 1), H)
    big_rows = res["series"] == 1
    assert np.mean(np.abs(res["y_pred"][big_rows] - 1000)) < 600  # in the big series' units
    assert np.all(np.abs(res["y_pred"][~big_rows] - 10) < 10)


def test_a_local_forecaster_fits_each_series_alone_and_round_trips(tmp_path):
    from rnnkit.tasks.forecast.local import LocalForecaster

    small, big = two_series()
    train = {"small": small[:-N_TEST], "big": big[:-N_TEST]}
    template = Forecaster("linear", input_len=L, horizon=H, epochs=20, verbose=0,
                          patience=None, validation=0)
    local = LocalForecaster(template).fit(train)
    alone = Forecaster(**template.get_params()).fit(small[:-N_TEST])
    np.testing.assert_allclose(local.predict(ids=["small"]), alone.predict(), rtol=1e-5)
    assert local.model == "linear" and local.predict().shape == (2, H)
    res = local.backtest_windows({"big": big, "small": small}, T - N_TEST)
    mine = res["series"] == 1
    want = alone.backtest_windows(small, T - N_TEST)["y_pred"]
    np.testing.assert_allclose(res["y_pred"][mine], want, rtol=1e-5)
    local.save(tmp_path / "m")
    back = LocalForecaster.load(tmp_path / "m")
    assert back.ids_ == ["small", "big"]
    np.testing.assert_allclose(back.predict(), local.predict(), rtol=1e-6)
    with pytest.raises(DataError, match="series id 'new' has no model of its own"):
        back.predict({"new": small})


def lagged_pair(n=200, seed=0):
    """A past covariate x (AR(1)) and a target that follows it one step later."""
    rng = np.random.default_rng(seed)
    x = np.zeros(n)
    for t in range(1, n):
        x[t] = 0.7 * x[t - 1] + rng.normal()
    y = 5 + 2 * np.roll(x, 1) + 0.1 * rng.normal(size=n)
    return y[1:], x[1:]


def test_a_past_covariate_helps_and_its_future_never_leaks():
    y, x = lagged_pair()
    o = 160  # forecast origin: the first target index of the test part
    kw = dict(input_len=8, horizon=2, epochs=60, verbose=0, patience=None, validation=0)
    with_x = Forecaster("linear", **kw).fit(np.stack([y[:o], x[:o]], axis=1))
    alone = Forecaster("linear", **kw).fit(y[:o])

    def mae(fc, data):
        res = fc.backtest_windows(data, o)
        return float(np.mean(np.abs(res["y_true"] - res["y_pred"])))

    both = np.stack([y, x], axis=1)  # (T, 2): target, past covariate
    assert mae(with_x, both) < 0.7 * mae(alone, y)
    shuffled = both.copy()
    shuffled[o:, 1] = np.random.default_rng(1).permutation(shuffled[o:, 1])
    a = with_x.backtest_windows(both, o)["y_pred"]
    b = with_x.backtest_windows(shuffled, o)["y_pred"]
    np.testing.assert_array_equal(a[0], b[0])  # its inputs end before o
    assert not np.allclose(a[1:], b[1:])  # later windows read the shuffled values as history
    np.testing.assert_array_equal(with_x.predict(both[:o]), with_x.predict(shuffled[:o]))


def test_predict_frame_is_predict_as_a_long_table_with_the_dates_ahead():
    """``predict_frame``: one row per series and step (id, date, forecast), the forecasts of
    ``predict``; the dates continue a DataFrame's datetime index in its frequency, and are
    the step numbers where the input has no dates."""
    pd = pytest.importorskip("pandas")
    idx = pd.date_range("2021-03-01", periods=120, freq="D")
    t = np.arange(120)
    df = pd.DataFrame({"a": 10 + np.sin(t / 3), "b": 50 + 5 * np.cos(t / 4)}, index=idx)
    fc = Forecaster(model="linear", input_len=8, horizon=3, epochs=2, verbose=0).fit(df)
    frame = fc.predict_frame(df)
    assert list(frame.columns) == ["id", "date", "forecast"]
    assert frame["id"].tolist() == ["a"] * 3 + ["b"] * 3
    ahead = pd.date_range("2021-06-29", periods=3, freq="D").tolist()
    assert frame["date"].tolist() == ahead * 2
    np.testing.assert_allclose(frame["forecast"].to_numpy().reshape(2, 3), fc.predict(df))
    plain = fc.predict_frame({"a": df["a"].to_numpy(), "b": df["b"].to_numpy()})
    assert plain["date"].tolist() == [1, 2, 3] * 2
    one = fc.predict_frame(df["a"].rename(None), ids=["a"])  # a pandas Series: its index
    assert one["date"].tolist() == ahead and one["id"].tolist() == ["a"] * 3
