import numpy as np
import pytest

from rnnkit.errors import ConfigError
from rnnkit.tasks.forecast import peers
from rnnkit.tasks.forecast.compare import plan_split


def test_default_peers_and_note():
    assert peers.default_peers(12) == ("AutoETS", "AutoARIMA")
    assert peers.default_peers(52) == ("AutoETS", "AutoARIMA", "MSTL")
    assert "statsforecast is not installed" in peers.missing_note()


def test_backtest_lines_up_with_the_plan_and_sees_only_the_past():
    pytest.importorskip("statsforecast")
    t = np.arange(120)
    y = 5.0 + np.sin(2 * np.pi * t / 12) + 0.01 * t  # (T,)
    plan = plan_split(len(y), 6, 12)
    folds, test = peers.backtest("AutoETS", y, plan, horizon=6, season=12)
    assert [f.shape for f in folds] == [(stop - o - 5, 6) for o, stop in plan.folds]
    assert test.shape == (len(y) - plan.valid_end - 5, 6)
    # a clean seasonal series: ETS forecasts it well
    truth = np.stack([y[o:o + 6] for o in range(plan.valid_end, len(y) - 5)])
    assert np.abs(test - truth).mean() < 0.05
    # changing the values after the test origins' inputs changes nothing before them
    y2 = y.copy()
    y2[plan.valid_end + 3:] += 100.0
    _, test2 = peers.backtest("AutoETS", y2, plan, horizon=6, season=12)
    np.testing.assert_allclose(test2[:4], test[:4])
    assert not np.allclose(test2[4:], test[4:])


def test_a_long_series_fits_and_filters_on_its_last_values(monkeypatch):
    """MAX_HISTORY caps what a peer reads: a fit the last values before its fit end, a
    forecast the last values before its origin (the Fourier regressors of the same rows)."""
    pytest.importorskip("statsforecast")
    seen = []
    make = peers.make_peer

    class Spy:
        def __init__(self, model):
            self.model = model

        def fit(self, y, X=None):
            seen.append(("fit", len(y), None if X is None else X[0, 0]))
            self.model.fit(y, X=X)

        def forward(self, y, h, X=None, X_future=None):
            seen.append(("forward", len(y), None if X is None else X[0, 0]))
            return self.model.forward(y, h, X=X, X_future=X_future)

    monkeypatch.setattr(peers, "MAX_HISTORY", 100)
    monkeypatch.setattr(peers, "make_peer", lambda name, m: Spy(make(name, m)))
    t = np.arange(400)
    y = 5.0 + np.sin(2 * np.pi * t / 30) + 0.01 * t  # (T,)
    out = peers._forecasts("AutoARIMA", y, 300, range(300, 302), 6, 30)  # m > 24: Fourier X
    assert out.shape == (2, 6)
    sin_at = np.sin(2 * np.pi * np.array([200, 200, 201]) / 30)  # X[t0, 0] = sin(2 pi t0 / m)
    assert [s[:2] for s in seen] == [("fit", 100), ("forward", 100), ("forward", 100)]
    np.testing.assert_allclose([s[2] for s in seen], sin_at)


def test_errors():
    pytest.importorskip("statsforecast")
    with pytest.raises(ConfigError, match="peers must be names from"):
        peers.make_peer("Prophet", 12)
    with pytest.raises(ConfigError, match="MSTL needs a season >= 2"):
        peers.make_peer("MSTL", 1)


def test_long_season_arima_uses_fourier_terms():
    pytest.importorskip("statsforecast")
    F = peers.fourier_terms(105, 52, k=2)  # (T, 2K)
    assert F.shape == (105, 4)
    np.testing.assert_allclose(F[52], F[0], atol=1e-12)  # period m
    np.testing.assert_allclose(F[13, :2], [1.0, 0.0], atol=1e-12)  # sin(π/2), sin(π)
    t = np.arange(160)
    y = 3.0 * np.sin(2 * np.pi * t / 26) + 0.01 * t
    plan = plan_split(len(y), 5, 26, folds=1)
    _, test = peers.backtest("AutoARIMA", y, plan, horizon=5, season=26)
    truth = np.stack([y[o:o + 5] for o in range(plan.valid_end, len(y) - 4)])
    assert np.abs(test - truth).mean() < 0.1


def test_arima_searches_on_the_approximate_likelihood_for_seasons_over_12():
    pytest.importorskip("statsforecast")
    monthly, hourly = peers.make_peer("AutoARIMA", 12), peers.make_peer("AutoARIMA", 24)
    assert (monthly.season_length, monthly.approximation) == (12, False)
    assert (hourly.season_length, hourly.approximation) == (24, True)
    assert peers.make_peer("AutoARIMA", 52).seasonal is False  # Fourier terms instead
