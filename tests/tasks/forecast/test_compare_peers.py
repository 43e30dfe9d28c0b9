import numpy as np
import pytest

from rnnkit.errors import ConfigError
from rnnkit.tasks.forecast import peers
from rnnkit.tasks.forecast.compare import compare


def seasonal(n=120, m=12, seed=0):
    t = np.arange(n)
    rng = np.random.default_rng(seed)
    return 20 + 0.05 * t + 3 * np.sin(2 * np.pi * t / m) + 0.1 * rng.normal(size=n)


def test_peers_are_rows_on_the_same_windows_never_selected():
    pytest.importorskip("statsforecast")
    y = seasonal()
    lines = []
    res = compare(y, ["naive"], horizon=6, input_len=12, season=12, ensemble=2, verbose=0,
                  peers=["AutoETS"], progress=lines.append)
    rows = {r["model"]: r for r in res.rows}
    ets = rows["AutoETS"]
    # the wait for the peers is said before it starts
    wait = lines.index("[peer] AutoETS: fitting on the 3 folds and the test part ...")
    assert lines[wait + 1].startswith("[peer] AutoETS          CV MAE")
    assert ets["peer"] and ets["status"] == "ok"
    assert res.test_pred["AutoETS"].shape == res.y_true.shape == (7, 6)
    # scored like every row: the MAE of its forecasts on the same test windows
    assert ets["test"]["mae"] == pytest.approx(
        np.mean(np.abs(res.test_pred["AutoETS"] - res.y_true)))
    assert res.cv_residuals["AutoETS"].shape == res.cv_residuals["naive"].shape
    assert 0 <= ets["interval"]["coverage"] <= 1 and ets["interval"]["crps"] > 0
    # a clean seasonal series: ETS beats naive by far, and still is neither selected nor
    # an ensemble member
    assert ets["cv"]["mae"] < rows["naive"]["cv"]["mae"]
    assert res.best == "ensemble"
    assert set(rows["ensemble"]["members"]) == set(res.model.members_) == {"naive",
                                                                           "seasonal_naive"}
    assert not res.notes


def test_auto_peers_follow_the_season(monkeypatch):
    monkeypatch.setattr(peers, "available", lambda: True)
    from rnnkit.tasks.forecast.compare import _peer_names

    assert _peer_names("auto", 12) == (["AutoETS", "AutoARIMA"], None)
    assert _peer_names("auto", 52)[0] == ["AutoETS", "AutoARIMA", "MSTL"]
    assert _peer_names(None, 52) == ([], None)


def test_without_statsforecast_the_peers_are_skipped_with_a_note(monkeypatch):
    monkeypatch.setattr(peers, "available", lambda: False)
    lines = []
    res = compare(seasonal(), ["naive"], horizon=6, input_len=12, progress=lines.append)
    assert [r["model"] for r in res.rows] == ["naive", "seasonal_naive", "ensemble"]
    assert res.notes == [peers.missing_note()] and peers.missing_note() in lines
    with pytest.raises(ConfigError, match="peers must be 'auto' or names from"):
        compare(seasonal(), ["naive"], horizon=6, input_len=12, peers=["Theta"])


def test_a_quantile_head_is_scored_on_its_own_band_and_crps():
    y = seasonal(200)
    res = compare(y, ["linear"], horizon=6, input_len=12, epochs=40, lr=0.01, verbose=0,
                  peers=None, head="quantile")
    rows = {r["model"]: r for r in res.rows}
    dist = rows["linear"]["distribution"]
    assert 0.0 <= dist["coverage"] <= 1.0 and dist["width"] > 0 and dist["crps"] > 0
    assert "distribution" not in rows["seasonal_naive"]  # baselines have no head
    # a point forecast's CRPS is its MAE; a spread around the median that fits the noise
    # scores below it
    assert dist["crps"] < rows["linear"]["test"]["mae"]


def test_peers_on_many_series_report_their_progress(monkeypatch):
    """The peers' fits of a long panel are no silent wait: a line per series done (at most
    every PEER_REPORT_SECONDS), not after the last one."""
    import importlib

    compare_module = importlib.import_module("rnnkit.tasks.forecast.compare")  # not the function
    monkeypatch.setattr(compare_module, "PEER_REPORT_SECONDS", 0.0)
    monkeypatch.setattr(peers, "backtest", lambda name, v, p, h, m: ([], np.zeros((1, h))))
    lines = []
    out = compare_module._run_peers(["AutoETS"], [np.zeros(5)] * 3, [None] * 3, 2, 1,
                                    lines.append)
    assert [name for name, _, _ in out] == ["AutoETS"] and len(out[0][1]) == 3
    assert [line.split(",")[0] for line in lines] == ["  AutoETS: 1/3 series",
                                                      "  AutoETS: 2/3 series"]
