import re

import numpy as np
import pytest

from rnnkit.errors import ConfigError, DataError
from rnnkit.tasks.forecast.compare import auto_batch_epochs, compare, model_levels
from rnnkit.tasks.forecast.split import min_length


def seasonal(n=120, m=12, seed=0):
    t = np.arange(n)
    rng = np.random.default_rng(seed)
    return 20 + 0.05 * t + 3 * np.sin(2 * np.pi * t / m) + 0.1 * rng.normal(size=n)


def test_auto_batch_and_epochs_follow_a_step_budget():
    assert auto_batch_epochs(80, max_steps=300) == (16, 60)
    batch, epochs = auto_batch_epochs(2000, max_steps=300)
    assert batch == 128 and epochs == 19  # ceil(300 / 16 steps per epoch)
    assert auto_batch_epochs(2000) == (128, 63)  # the default budget: 1000 steps
    assert auto_batch_epochs(10**6) == (128, 5)
    assert auto_batch_epochs(2000, batch_size=32, max_steps=300) == (32, 5)
    assert auto_batch_epochs(2000, max_steps=None) == (128, 300)


def test_compare_selects_by_folds_and_scores_every_test_window():
    y = seasonal()
    lines = []
    res = compare(y, ["naive", "linear"], horizon=6, input_len=12, season=12, epochs=30,
                  lr=0.03, ensemble=0, progress=lines.append, verbose=0, peers=None)
    names = [r["model"] for r in res.rows]
    assert names == ["naive", "seasonal_naive", "linear"]
    assert res.best in ("seasonal_naive", "linear")
    assert res.best == min(res.rows[:3], key=lambda r: r["cv"]["mae"])["model"]
    assert res.y_true.shape == res.test_pred["linear"].shape == (7, 6)  # 2H - H + 1 windows
    np.testing.assert_allclose(res.y_true[:, 0], y[108:115])
    np.testing.assert_array_equal(res.origins, np.arange(108, 115))
    sn = res.test_pred["seasonal_naive"]
    np.testing.assert_allclose(sn[0], y[96:102], rtol=1e-5)  # y_{t-12}
    row = res.rows[1]["test"]
    assert row["mase"] == pytest.approx(row["mae"] / np.mean(np.abs(y[12:108] - y[:96])))
    assert row["mase1"] == pytest.approx(row["mae"] / np.mean(np.abs(np.diff(y[:108]))))
    assert res.model is res.fitted[res.best] and res.model.validation == 0
    assert any("linear fold 3/3" in line for line in lines)
    assert res.cv_residuals["linear"].shape == (3 * 7, 6)
    table = res.test_forecast_rows(series_id="s")
    assert len(table) == 7 * 6 and table[0]["origin"] == 108 and table[0]["step"] == 1
    assert set(table[0]) >= {"series_id", "date", "actual", "naive", "linear"}


def test_level_auto_gives_the_trained_models_changes_and_values_in_turn():
    assert model_levels(["linear", "simple_rnn", "lstm", "gru"], "auto") == {
        "linear": "last", "simple_rnn": "none", "lstm": "last", "gru": "none"}
    assert model_levels(["gru", "linear"], "auto") == {"gru": "last", "linear": "none"}
    assert model_levels(["naive", "gru", "seasonal_naive", "gru", "linear"], "auto") == {
        "gru": "last", "linear": "none"}  # baselines and repeats take no turn
    assert model_levels(["gru", "linear"], "none") == {"gru": "none", "linear": "none"}
    assert model_levels(["gru", "linear"], "auto", shared=True) == {"gru": "last",
                                                                    "linear": "last"}
    y = seasonal()
    res = compare(y, ["naive", "linear", "gru"], horizon=6, input_len=12, season=12,
                  epochs=2, verbose=0, peers=None)
    assert (res.fitted["linear"].level, res.fitted["gru"].level) == ("last", "none")
    levels = {r["model"]: r.get("level") for r in res.rows}
    assert levels["linear"] == "last" and levels["gru"] == "none"
    assert levels["naive"] is None and res.settings["level"] == "auto"
    res = compare(y, ["linear", "gru"], horizon=6, input_len=12, season=12, epochs=2,
                  verbose=0, peers=None, level="last")
    assert res.fitted["gru"].level == "last"
    two = {"a": y, "b": 2 * y}  # a global model reads changes; one model per series in turn
    quick = {"horizon": 6, "input_len": 12, "epochs": 1, "verbose": 0, "peers": None}
    assert compare(two, ["linear", "gru"], **quick).fitted["gru"].level == "last"
    local = compare(two, ["linear", "gru"], mode="local", **quick).fitted["gru"]
    assert {fc.level for fc in local.forecasters_.values()} == {"none"}
    with pytest.raises(ConfigError, match="level must be one of 'auto', 'last', 'none'"):
        compare(y, ["linear"], horizon=6, input_len=12, level="first", peers=None)


def test_the_default_selects_the_median_of_the_three_best_and_saves_it(tmp_path):
    from rnnkit.tasks.base import load_estimator
    from rnnkit.tasks.forecast.ensemble import EnsembleForecaster

    y = seasonal()
    res = compare(y, ["naive", "linear", "simple_rnn"], horizon=6, input_len=12, epochs=8,
                  lr=0.03, verbose=0, peers=None)
    singles = [r for r in res.rows if r["model"] != "ensemble"]
    top = [r["model"] for r in sorted(singles, key=lambda r: r["cv"]["mae"])[:3]]
    row = next(r for r in res.rows if r["model"] == "ensemble")
    assert row["members"] == top and res.best == "ensemble" and "median" in res.selection
    assert isinstance(res.model, EnsembleForecaster) and list(res.model.members_) == top
    median = np.median([res.test_pred[n] for n in top], axis=0)
    np.testing.assert_allclose(res.test_pred["ensemble"], median)
    # the saved model forecasts what the comparison scored, window by window
    back = res.model.backtest_windows(y, 108)
    np.testing.assert_allclose(back["y_pred"], median, rtol=1e-6)
    np.testing.assert_array_equal(back["start"] + res.model.input_len, res.origins)
    assert res.model.input_len == 12  # seasonal naive reads max(L, season) = 12 here
    assert "interval" in row and 0 <= row["interval"]["coverage"] <= 1
    res.model.save(tmp_path / "model")
    again = load_estimator(tmp_path / "model")
    assert isinstance(again, EnsembleForecaster) and list(again.members_) == top
    np.testing.assert_allclose(again.predict(y), np.median(
        [res.fitted[n].predict(y) for n in top], axis=0), rtol=1e-6)


def test_the_test_part_never_reaches_the_fits():
    """Changing the test values changes no cross-validation score and no selection."""
    y = seasonal()
    z = y.copy()
    z[108:] += 1000.0
    a = compare(y, ["linear"], horizon=6, input_len=12, epochs=5, verbose=0, peers=None)
    b = compare(z, ["linear"], horizon=6, input_len=12, epochs=5, verbose=0, peers=None)
    assert [r["cv"] for r in a.rows] == [r["cv"] for r in b.rows] and a.best == b.best
    # the first test window reads only values before the test part (later ones read earlier
    # test values as their input history, as a forecaster would)
    np.testing.assert_allclose(a.test_pred["linear"][0], b.test_pred["linear"][0])


def test_a_fold_fit_stops_early_before_its_origin_and_never_sees_its_block(monkeypatch):
    """Each fold's fit gets the values before the fold's origin only (its early stopping
    reads the last F of them), so the scored block is out of sample for the fit."""
    from rnnkit.tasks.forecast.forecaster import Forecaster

    seen = []
    fit = Forecaster.fit

    def recording_fit(self, X, *args, **kwargs):
        seen.append((self.model, len(X.values[0]), self.validation))
        return fit(self, X, *args, **kwargs)

    monkeypatch.setattr(Forecaster, "fit", recording_fit)
    res = compare(seasonal(), ["linear"], horizon=6, input_len=12, epochs=3, verbose=0,
                  peers=None, coverage=None)
    origins = [a for a, _ in res.plan.folds]
    assert [(n, v) for m, n, v in seen if m == "linear"] == (
        [(o, 12) for o in origins] + [(res.plan.valid_end, 0)])


def test_a_failed_model_is_never_selected():
    res = compare(seasonal(), ["lstm", "naive"], horizon=6, input_len=12, epochs=2,
                  hidden=4, lr=1e30, scaler="standard", verbose=0, peers=None)
    rows = {r["model"]: r for r in res.rows}
    assert rows["lstm"]["status"] != "ok" and rows["lstm"]["test"] is None
    assert "lstm" not in res.test_pred
    assert res.best == "ensemble" and list(res.model.members_) == rows["ensemble"]["members"]
    assert set(rows["ensemble"]["members"]) == {"naive", "seasonal_naive"}  # never the failed


def test_a_season_longer_than_a_folds_history_fails_its_row_not_the_run():
    y = seasonal(20)  # monthly, 20 values: the first fold trains on 12, a season + H is 16
    res = compare(y, ["naive", "linear"], horizon=4, input_len=4, season=12, test=4,
                  fold_len=4, folds=1, epochs=2, ensemble=0, verbose=0, peers=None)
    rows = {r["model"]: r for r in res.rows}
    assert "fewer than input_len + horizon = 12 + 4" in rows["seasonal_naive"]["status"]
    assert rows["naive"]["status"] == rows["linear"]["status"] == "ok"
    assert res.best in ("naive", "linear")


def test_a_diverged_model_joins_no_ensemble():
    """linear trained at lr 1e3 diverges to finite but huge errors: it is no member (the
    median of three with two such members was as bad as they were), and a note says why."""
    res = compare(seasonal(), ["linear", "naive"], horizon=6, input_len=12, epochs=20,
                  lr=1e3, scaler="standard", verbose=0, peers=None, coverage=None)
    rows = {r["model"]: r for r in res.rows}
    assert rows["linear"]["status"] == "ok"
    assert rows["linear"]["cv"]["mae"] > 10 * rows["seasonal_naive"]["cv"]["mae"]
    assert rows["ensemble"]["members"] == ["seasonal_naive", "naive"]
    assert any(n.startswith("linear: mean fold MAE over 10x") for n in res.notes)
    res = compare(seasonal(), ["linear"], horizon=6, input_len=12, epochs=20, lr=1e3,
                  scaler="standard", verbose=0, peers=None, coverage=None, ensemble=3)
    assert res.best == "seasonal_naive" and "ensemble" not in res.test_pred  # one member left


def test_many_series_of_different_lengths_align_folds_and_test_on_their_ends():
    y = seasonal()  # 120 values
    rng = np.random.default_rng(1)
    big = 1000 + 100 * y[:100] + rng.normal(0, 5, 100)  # 100 values, 100x the scale
    res = compare({"a": y, "b": big}, ["naive", "linear"], horizon=6, input_len=12,
                  epochs=20, lr=0.03, verbose=0, ensemble=2, peers=None)
    assert res.ids == ["a", "b"] and res.selected_by == "mase"
    a, b = res.plans
    assert (a.length - a.valid_end, b.length - b.valid_end) == (12, 12)
    assert [(s - o, a.length - s) for o, s in a.folds] == [(12, 24), (12, 18), (12, 12)]
    assert [(a.length - o) for o, _ in a.folds] == [b.length - o for o, _ in b.folds]
    assert list(res.series) == [0] * 7 + [1] * 7
    np.testing.assert_allclose(res.y_true[7:, 0], big[88:95])
    ok = sorted((r for r in res.rows if r["model"] != "ensemble"), key=lambda r: r["cv"]["mase"])
    assert res.best == "ensemble" and res.rows[-1]["members"] == [r["model"] for r in ok[:2]]
    for r in res.rows:
        per = r["series"]
        assert set(per) == {"a", "b"}
        assert r["test"]["mase"] == pytest.approx((per["a"]["mase"] + per["b"]["mase"]) / 2)
    sn = res.rows[1]["series"]["b"]
    assert sn["mae"] == pytest.approx(np.mean(np.abs(res.y_true[7:] -
                                                     res.test_pred["seasonal_naive"][7:])))
    table = res.test_forecast_rows(dates=[[f"a{t}" for t in range(120)],
                                          [f"b{t}" for t in range(100)]])
    assert table[0]["series_id"] == "a" and table[-1]["series_id"] == "b"
    assert table[-1]["date"] == "b99" and table[-1]["origin"] == 94


def test_local_mode_fits_one_model_per_series(tmp_path):
    from rnnkit.tasks.base import load_estimator
    from rnnkit.tasks.forecast.local import LocalForecaster

    y = seasonal()
    res = compare({"a": y, "b": 50 + 10 * y}, ["linear"], horizon=6, input_len=12, epochs=5,
                  verbose=0, mode="local", peers=None)
    assert isinstance(res.fitted["linear"], LocalForecaster)
    assert res.fitted["linear"].ids_ == ["a", "b"] and res.settings["mode"] == "local"
    # the selected ensemble of local models saves and loads like any forecaster
    assert res.best == "ensemble" and set(res.model.members_) == {"linear", "seasonal_naive"}
    res.model.save(tmp_path / "m")
    again = load_estimator(tmp_path / "m")
    assert isinstance(again.members_["linear"], LocalForecaster)
    data = {"a": y, "b": 50 + 10 * y}
    np.testing.assert_allclose(again.predict(data), res.model.predict(data), rtol=1e-6)
    with pytest.raises(ConfigError, match="mode must be one of"):
        compare(y, ["linear"], horizon=6, input_len=12, mode="both")


def test_the_future_of_a_past_covariate_never_reaches_the_fits_or_the_first_forecast():
    from rnnkit.data.panel import Panel

    rng = np.random.default_rng(2)
    x = rng.normal(size=121)
    y = 20 + 3 * x[:-1] + 0.1 * rng.normal(size=120)  # y_t follows x_{t-1}
    x = x[1:]
    both = Panel(["s"], [np.stack([y, x], axis=1)], covariates=["x"])
    z = both.values[0].copy()
    z[108:, 1] = rng.permutation(z[108:, 1])  # shuffle the covariate over the test part
    kw = dict(horizon=6, input_len=12, epochs=10, verbose=0, peers=None)
    a = compare(both, ["linear"], **kw)
    b = compare(Panel(["s"], [z], covariates=["x"]), ["linear"], **kw)
    assert [r["cv"] for r in a.rows] == [r["cv"] for r in b.rows] and a.best == b.best
    np.testing.assert_array_equal(a.test_pred["linear"][0], b.test_pred["linear"][0])
    assert not np.allclose(a.test_pred["linear"][1:], b.test_pred["linear"][1:])
    alone = compare(y, ["linear"], **kw)
    mae = {id(r): {row["model"]: row["test"]["mae"] for row in r.rows} for r in (a, alone)}
    assert mae[id(a)]["linear"] < mae[id(alone)]["linear"]  # x tells the first step


def test_fits_in_worker_processes_give_the_same_comparison():
    """jobs=2: the fits run in two spawned workers (one torch thread each, as here) and
    their results are the numbers one process computes; a model that fails in a worker is
    a failed row there too."""
    from rnnkit.tasks.forecast import peers

    kw = dict(horizon=6, input_len=12, season=12, epochs=4, hidden=4, verbose=0)
    models = ["naive", "linear", "gru", "lstm"]
    with_peers = ("AutoETS",) if peers.available() else None  # one more job for a worker
    lines: list[str] = []
    one = compare(seasonal(), models, peers=with_peers, **kw)
    two = compare(seasonal(), models, jobs=2, progress=lines.append, peers=with_peers, **kw)
    assert [r["model"] for r in two.rows] == [r["model"] for r in one.rows]
    for a, b in zip(one.rows, two.rows, strict=True):
        assert a["cv"] == b["cv"] and a["test"] == b["test"] and a["epochs"] == b["epochs"]
    assert two.best == one.best
    np.testing.assert_array_equal(two.test_pred["gru"], one.test_pred["gru"])
    # each fit's line (the peers' wait line, "fitting on the 3 folds", comes or not, as
    # the workers' timing goes)
    assert sum(bool(re.search(r" fold \d/3: ", line)) for line in lines) == 3 * 3
    assert sum(" refit on all training data: " in line for line in lines) == 3
    failed = compare(seasonal(), ["lstm", "naive"], jobs=2, lr=1e30, scaler="standard",
                     peers=None, **kw)
    rows = {r["model"]: r for r in failed.rows}
    assert rows["lstm"]["status"] != "ok" and "lstm" not in rows["ensemble"]["members"]


def test_auto_jobs_runs_small_work_here_and_large_work_on_every_core():
    import os

    from rnnkit.tasks.forecast.fitpool import WORK_PER_JOB, auto_jobs

    assert auto_jobs("auto", WORK_PER_JOB - 1, fits=16) == 1
    assert auto_jobs("auto", WORK_PER_JOB, fits=1) == 1  # never more workers than fits
    assert auto_jobs("auto", WORK_PER_JOB, fits=64) == min(64, len(os.sched_getaffinity(0)))
    assert auto_jobs(3, 10, fits=16) == 3


def test_a_panels_static_covariates_and_dates_reach_every_fit():
    from rnnkit.data.panel import Panel

    ys = [seasonal(seed=s) + 10 * s for s in range(2)]
    panel = Panel(["a", "b"], [y[:, None] for y in ys],
                  dates=[[f"d{t}" for t in range(len(y))] for y in ys],
                  static={"a": [0.0], "b": [1.0]}, static_names=["size"])
    res = compare(panel, ["linear"], horizon=6, input_len=12, epochs=3, verbose=0, peers=None,
                  ensemble=0)
    assert res.model.static_ == {"a": [0.0], "b": [1.0]}
    assert [r["status"] for r in res.rows] == ["ok", "ok"]  # linear, seasonal_naive


def test_a_series_too_short_for_any_split_is_left_out_and_named():
    y = seasonal()  # 120 values
    res = compare({"long": y, "short": y[:40]}, ["naive"], horizon=6, input_len=12,
                  verbose=0, peers=None)
    assert min_length(6, 12) == 12 + 6 + 2 * 12 + 12
    assert res.ids == ["long"]
    assert res.notes == ["1 of 2 series left out, shorter than the 54 values a split needs "
                         "(input_len + horizon + 2 x fold + test = 12 + 6 + 24 + 12): short; a "
                         "smaller input_len, horizon, fold or test keeps them"]
    with pytest.raises(DataError, match=r"each of the 2 series is shorter than the 54 values a "
                                        r"split needs .* the longest has 45"):
        compare({"a": y[:40], "b": y[:45]}, ["naive"], horizon=6, input_len=12, verbose=0,
                peers=None)


def test_seasonal_naive_fits_every_fold_that_the_networks_fit():
    """80 values, H = 12, L = 8, season 19: test and folds of 12 leave the first fold 44
    values, which hold seasonal naive's 19 + 12; with a validation part of 12 as well it had
    failed the whole comparison."""
    y = 10 + np.sin(np.arange(80) / 3)
    res = compare(y, ["naive"], horizon=12, input_len=8, season=19, test=12, fold_len=12,
                  peers=None)
    rows = {r["model"]: r for r in res.rows}
    assert rows["seasonal_naive"]["status"] == "ok"
    assert np.isfinite(rows["seasonal_naive"]["test"]["mae"])


def test_a_constant_series_leaves_the_mase_means_to_the_others():
    """A series whose training part is constant has no MASE (scale 0): its MASE is NaN, the
    means and the selection are over the other series, and a note names it."""
    t = np.arange(120)
    panel = {"flat": np.full(120, 3.0), "wave": 10 + np.sin(2 * np.pi * t / 12) + 0.01 * t}
    res = compare(panel, ["naive", "linear"], horizon=6, input_len=12, season=12, epochs=3,
                  verbose=0, peers=None, ensemble=0)
    for row in res.rows:
        assert np.isnan(row["series"]["flat"]["mase"])
        assert row["test"]["mase"] == pytest.approx(row["series"]["wave"]["mase"])
        assert np.isfinite(row["cv"]["mase"])
    assert any(n.startswith("MASE undefined (-) for flat: the training part repeats itself "
                            "every 12 steps") for n in res.notes)
