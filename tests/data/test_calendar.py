import numpy as np
import pytest

from rnnkit.data.calendar import add_calendar, calendar_columns
from rnnkit.data.panel import Panel
from rnnkit.errors import ConfigError, DataError

MONTHS = [f"{2000 + i // 12}-{i % 12 + 1:02d}" for i in range(30)]  # 2000-01 .. 2002-06


def test_rows_hold_the_calendar_of_the_date_h_steps_later():
    cols, names = calendar_columns(MONTHS, ["month"], 3)
    assert names == ["month_sin(t+3)", "month_cos(t+3)"] and cols.shape == (30, 2)
    np.testing.assert_allclose(cols[0], [1, 0], atol=1e-12)  # 2000-04: a quarter turn
    np.testing.assert_allclose(cols[-1], [-np.sqrt(3) / 2, -0.5])  # 2002-09, past the data
    days = ["2024-01-01", "2024-01-02", "2024-01-03"]  # Monday, Tuesday, Wednesday
    cols, _ = calendar_columns(days, ["dayofweek"], 1)
    np.testing.assert_allclose(cols[:, 0], np.sin(2 * np.pi * np.array([1, 2, 3]) / 7))


def test_errors_name_the_features_and_the_dates():
    with pytest.raises(ConfigError, match="calendar features must be names from"):
        calendar_columns(MONTHS, ["season"], 1)
    with pytest.raises(DataError, match="need increasing dates"):
        calendar_columns(["a", "b", "c"], ["month"], 1)
    with pytest.raises(DataError, match="need a date column"):
        add_calendar(Panel(["y"], [np.zeros((30, 1))]), ["month"], 2)


def test_month_features_let_a_short_window_see_the_season():
    from rnnkit.tasks.forecast.compare import compare

    n = 144
    rng = np.random.default_rng(0)
    t = np.arange(n)
    y = 50 + 10 * np.sin(2 * np.pi * t / 12) + 5 * np.cos(4 * np.pi * t / 12)
    y = y + rng.normal(0, 1, n)
    dates = [f"{2000 + i // 12}-{i % 12 + 1:02d}" for i in range(n)]
    plain = Panel(["y"], [y[:, None]], [dates])
    with_month = add_calendar(plain, ["month"], 3)
    assert with_month.covariates == ["month_sin(t+3)", "month_cos(t+3)"]
    kw = dict(horizon=3, input_len=4, epochs=50, verbose=0, peers=None)  # L < season 12

    def mae(panel):
        res = compare(panel, ["linear"], **kw)
        return next(r["test"]["mae"] for r in res.rows if r["model"] == "linear")

    assert mae(with_month) < 0.5 * mae(plain)
