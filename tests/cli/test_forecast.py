import json

import numpy as np
import pytest

from rnnkit.cli.main import main
from rnnkit.data.panel import load_panel
from rnnkit.tasks.base import load_estimator
from rnnkit.tasks.forecast import Forecaster


def tiny_csv(tmp_path, n=60, name="tiny.csv"):
    t = np.arange(n)
    y = 10 + np.sin(2 * np.pi * t / 6) + 0.05 * t
    lines = ["when,y,other"] + [f"{2000 + i // 12}-{i % 12 + 1:02d},{v:.4f},x"
                                for i, v in enumerate(y)]
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def test_forecast_on_tiny_csv(tmp_path, capsys):
    out = tmp_path / "run"
    rc = main(["forecast", "--data", str(tiny_csv(tmp_path)), "--column", "y",
               "--date-column", "when", "--horizon", "3", "--input-len", "6", "--epochs", "2",
               "--hidden", "4", "--models", "naive", "linear", "gru", "--out", str(out),
               "--intervals", "5"])
    assert rc == 0
    stdout, stderr = capsys.readouterr()
    assert "model" in stdout and "MASE" in stdout and "gru" in stdout
    for name in ("metrics.json", "forecast.csv", "test_forecasts.csv", "backtest.png",
                 "future.png", "losses.png", "metrics.png", "model/ensemble.json",
                 "model/member-0/config.json", "model/member-2/model.safetensors"):
        assert (out / name).is_file(), name
    metrics = json.loads((out / "metrics.json").read_text())
    assert [m["model"] for m in metrics["models"]] == ["naive", "seasonal_naive", "linear",
                                                       "gru", "ensemble"]
    members = metrics["models"][-1]["members"]
    assert metrics["best_model"] == "ensemble" and len(members) == 3
    assert f"median forecast of {', '.join(members)}" in metrics["selected_by"]
    assert metrics["split"] == {"train": [0, 54], "folds": [[42, 48], [45, 51], [48, 54]],
                                "test": [54, 60]}
    assert metrics["season"] == 12 and "monthly" in metrics["detected"]
    assert "; linear read changes; gru read values (--level auto)" in stderr
    levels = {m["model"]: m.get("level") for m in metrics["models"]}
    assert (levels["linear"], levels["gru"]) == ("last", "none")
    assert set(metrics["models"][0]["test"]) == {"mae", "rmse", "mse", "smape", "mase",
                                                 "mase1"}
    assert len(metrics["models"][0]["cv"]["folds_mae"]) == 3
    tf = (out / "test_forecasts.csv").read_text().splitlines()
    assert tf[0] == ("series_id,origin,step,date,actual,naive,seasonal_naive,linear,gru,"
                     "ensemble")
    assert tf[1].startswith("y,54,1,2004-07,") and len(tf) == 1 + 4 * 3
    rows = (out / "forecast.csv").read_text().splitlines()
    assert rows[0] == "step,label,forecast,mean,std,lower,upper"
    assert rows[1].startswith("1,2005-01,") and len(rows) == 4
    fc = load_estimator(out / "model")
    assert fc.model == metrics["best_model"] and fc.horizon == 3
    assert list(fc.members_) == members
    future = [float(r.split(",")[2]) for r in rows[1:]]
    y = load_panel(tmp_path / "tiny.csv", column="y").values[0][:, 0]
    np.testing.assert_allclose(fc.predict(y), future, rtol=1e-5)  # what forecast.csv holds
    np.testing.assert_allclose(future, np.median(
        [load_estimator(out / "model" / f"member-{k}").predict(y) for k in range(3)], axis=0),
        rtol=1e-5)
    capsys.readouterr()
    assert main(["export", "--model", str(out / "model"), "--out", str(tmp_path / "x.onnx")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "holds an ensemble forecaster" in err[0]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".run")]


@pytest.mark.parametrize("damage, message", [
    (lambda m: (m / "ensemble.json").write_text("{not json"), "ensemble.json: not a saved "
     "ensemble forecaster"),
    (lambda m: (m / "ensemble.json").write_text('{"members": ["gru"]}'), "ensemble.json: not "
     "a saved ensemble forecaster"),
    (lambda m: (m / "member-1" / "config.json").unlink(), "ensemble.json: not a saved "
     "ensemble forecaster"),
])
def test_a_damaged_ensemble_folder_is_refused_in_one_line(tmp_path, capsys, damage, message):
    data = tiny_csv(tmp_path)
    out = tmp_path / "run"
    assert main(["forecast", "--data", str(data), "--column", "y", "--horizon", "3",
                 "--input-len", "6", "--models", "naive", "linear", "--epochs", "1",
                 "--peers", "none", "--out", str(out)]) == 0
    damage(out / "model")
    capsys.readouterr()
    rc = main(["predict", "--model", str(out / "model"), "--data", str(data)])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and message in err[0], err
    assert "Traceback" not in err[0]


def test_default_bundled_series_runs(tmp_path, capsys):
    out = tmp_path / "fc"
    assert main(["forecast", "--epochs", "2", "--hidden", "4", "--out", str(out)]) == 0
    table = capsys.readouterr().out
    for name in ("naive", "linear", "simple_rnn", "lstm", "gru"):
        assert f"\n{name} " in table
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n_values"] == 144 and metrics["forecast"]["labels"][0] == "1961-01"


def test_a_short_series_gets_a_shorter_auto_horizon(tmp_path, capsys, no_peers):
    data = tmp_path / "short.csv"
    data.write_text("month,y\n" + "".join(f"{2020 + i // 12}-{i % 12 + 1:02d},{50 + i}\n"
                                           for i in range(30)))
    out = tmp_path / "out"
    assert main(["forecast", "--data", str(data), "--models", "naive", "--out", str(out)]) == 0
    assert ("horizon 6 (auto: 12 shortened to 6: a split of horizon 12 needs 60 values, the "
            "series has 30)") in capsys.readouterr().err
    assert json.loads((out / "metrics.json").read_text())["horizon"] == 6
    assert main(["forecast", "--data", str(data), "--models", "naive", "--horizon", "12",
                 "--out", str(tmp_path / "asked")]) == 2  # a horizon asked for is kept
    assert "has 30 values; need at least" in capsys.readouterr().err
    assert main(["forecast", "--data", str(data), "--models", "naive", "--test", "12",
                 "--out", str(tmp_path / "split")]) == 2  # so is a split asked for
    assert "has 30 values; need at least" in capsys.readouterr().err


@pytest.mark.parametrize("content, extra, message", [
    (None, ["--column", "y"], "file not found"),
    ("when,y\n2000,1\n", ["--column", "z"], "column 'z' not found"),
    ("y\n1\n2\nabc\n", ["--column", "y"], "'abc' is not a number"),
    ("y\n1\n\nNaN\n3\n", ["--column", "y"], "missing value"),
    ("y\n" + "1\n" * 10, ["--column", "y"], "has 10 values; need at least"),
])
def test_bad_input_exits_2_with_one_line_and_no_output(tmp_path, capsys, content, extra,
                                                       message):
    data = tmp_path / "bad.csv"
    if content is not None:
        data.write_text(content)
    out = tmp_path / "out"
    rc = main(["forecast", "--data", str(data), "--horizon", "2", "--input-len", "3",
               "--epochs", "1", "--out", str(out), *extra])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2
    assert err[-1].startswith("rnnkit forecast: error: ") and message in err[-1]
    assert "Traceback" not in "\n".join(err)
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == (["bad.csv"] if content else [])


def test_unknown_model_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["forecast", "--models", "naive", "prophet", "--out", str(tmp_path / "o")])
    assert exit_info.value.code == 2
    assert "invalid choice: 'prophet'" in capsys.readouterr().err


@pytest.mark.parametrize("order", [["lstm", "naive"], ["naive", "lstm"]])
def test_a_diverged_model_is_failed_never_selected(tmp_path, capsys, order):
    """--lr 1e30 makes the LSTM's loss NaN: it is reported failed and naive is saved,
    whatever the order of --models; no NaN reaches metrics.json."""
    out = tmp_path / "run"
    rc = main(["forecast", "--data", str(tiny_csv(tmp_path)), "--column", "y", "--horizon", "3",
               "--input-len", "6", "--epochs", "3", "--hidden", "4", "--lr", "1e30",
               "--scaler", "standard", "--models", *order, "--ensemble", "0", "--out",
               str(out)])
    assert rc == 0
    text = (out / "metrics.json").read_text()
    metrics = json.loads(text, parse_constant=lambda c: pytest.fail(f"bare {c} in JSON"))
    rows = {r["model"]: r for r in metrics["models"]}
    assert metrics["best_model"] in ("naive", "seasonal_naive")
    assert rows["lstm"]["status"] != "ok" and rows["lstm"]["test"] is None
    assert "lstm" in capsys.readouterr().out  # the table shows the failure
    fc = Forecaster.load(out / "model")
    assert fc.model == metrics["best_model"] and np.all(np.isfinite(fc.predict()))


def test_out_with_files_of_someone_else_is_refused_before_training(tmp_path, capsys):
    out = tmp_path / "sb"
    (out / "model").mkdir(parents=True)
    (out / "model" / "important.py").write_text("x")
    rc = main(["forecast", "--models", "naive", "linear", "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and "--overwrite" in err and len(err.strip().splitlines()) == 1
    assert (out / "model" / "important.py").read_text() == "x"
    a_file = tmp_path / "f.txt"
    a_file.write_text("keep")
    rc = main(["forecast", "--models", "naive", "--out", str(a_file)])
    assert rc == 2 and a_file.read_text() == "keep"
    assert "[1/1]" not in capsys.readouterr().err  # refused before any model was fitted


def test_a_second_run_replaces_the_first_whole(tmp_path, capsys):
    out = tmp_path / "run"
    data = str(tiny_csv(tmp_path))
    common = ["forecast", "--data", data, "--column", "y", "--horizon", "3", "--input-len", "6",
              "--out", str(out)]
    assert main([*common, "--models", "naive", "--intervals", "3"]) == 0
    (out / "stale.png").write_bytes(b"old")  # as if an older run had written it
    marker = next(p for p in out.iterdir() if p.name.startswith(".rnnkit"))
    assert marker.is_file()
    assert main([*common, "--models", "linear", "--epochs", "1"]) != 0  # stale.png is foreign
    (out / "stale.png").unlink()
    assert main([*common, "--models", "linear", "--epochs", "1"]) == 0
    models = json.loads((out / "metrics.json").read_text())["models"]
    assert [m["model"] for m in models] == ["linear", "seasonal_naive", "ensemble"]


def weekly_csv(tmp_path, n=200, compact=True):
    """A weekly series with two value columns and YYYYMMDD dates in the first column."""
    from datetime import date, timedelta

    t = np.arange(n)
    y = 50 + 5 * np.sin(2 * np.pi * t / 52) + 0.02 * t
    days = [date(2020, 1, 5) + timedelta(weeks=int(i)) for i in t]
    fmt = "%Y%m%d" if compact else "%Y-%m-%d"
    lines = ["week,sales,price"] + [f"{d.strftime(fmt)},{v:.4f},{1 + i % 3}"
                                    for i, (d, v) in enumerate(zip(days, y, strict=True))]
    path = tmp_path / "weekly.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_data_alone_detects_dates_frequency_and_season(tmp_path, capsys):
    out = tmp_path / "w"
    rc = main(["forecast", "--data", str(weekly_csv(tmp_path)), "--horizon", "4",
               "--input-len", "8", "--models", "naive", "linear", "--epochs", "1",
               "--out", str(out)])
    assert rc == 0
    err = capsys.readouterr().err
    assert "weekly" in err and "season 52 (weekly)" in err
    assert "2 series (wide format: one series per value column), 200 values each: sales, " \
           "price" in err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["date_column"] == "week" and metrics["season"] == 52
    assert metrics["ids"] == ["sales", "price"] and metrics["layout"] == "wide"
    labels = metrics["forecast"]["price"]["labels"]
    assert labels[:2] == ["20231105", "20231112"]  # 200 and 201 weeks after 20200105
    rc = main(["forecast", "--data", str(weekly_csv(tmp_path)), "--column", "sales",
               "--horizon", "4", "--input-len", "8", "--models", "naive", "--out",
               str(tmp_path / "one")])
    assert rc == 0 and "other value columns: price" in capsys.readouterr().err


def test_dates_missing_from_the_calendar_are_named(tmp_path, capsys, no_peers):
    path = weekly_csv(tmp_path, compact=False)
    rows = path.read_text().splitlines()
    path.write_text("\n".join(rows[:11] + rows[13:]) + "\n")  # weeks 10 and 11 dropped
    assert main(["forecast", "--data", str(path), "--column", "sales", "--horizon", "4",
                 "--input-len", "8", "--models", "naive", "--out", str(tmp_path / "o")]) == 0
    assert "2 weekly date(s) missing (the first after 2020-03-08): the rows are read as " \
           "consecutive steps (--interpolate inserts them)" in capsys.readouterr().err
    assert main(["forecast", "--data", str(path), "--column", "sales", "--horizon", "4",
                 "--input-len", "8", "--models", "naive", "--interpolate", "--out",
                 str(tmp_path / "filled")]) == 0
    err = capsys.readouterr().err
    assert "date(s) missing" not in err
    assert "season 52 (weekly); 2 missing date(s) inserted, their values interpolated " \
           "(--interpolate)" in err
    metrics = json.loads((tmp_path / "filled" / "metrics.json").read_text())
    assert metrics["n_values"] == 200


@pytest.mark.parametrize("dates, horizon", [
    ([str(1800 + i) for i in range(80)], "horizon 6 (auto)"),  # yearly
    ([f"{1950 + i // 4}Q{i % 4 + 1}" for i in range(80)], "horizon 8 (auto)"),  # quarterly
    ([str(i) for i in range(1, 81)], "horizon 12 (auto)"),  # steps: no frequency
])
def test_the_horizon_comes_from_the_frequency_unless_given(tmp_path, capsys, no_peers,
                                                          dates, horizon):
    y = 10 + np.sin(np.arange(80) / 3)
    path = tmp_path / "s.csv"
    path.write_text("date,y\n" + "".join(f"{d},{v:.4f}\n" for d, v in zip(dates, y,
                                                                         strict=True)))
    args = ["forecast", "--data", str(path), "--models", "naive", "--input-len", "8"]
    assert main([*args, "--out", str(tmp_path / "auto")]) == 0
    assert horizon in capsys.readouterr().err
    n = int(horizon.split()[1])
    metrics = json.loads((tmp_path / "auto" / "metrics.json").read_text())
    assert metrics["horizon"] == n and len(metrics["forecast"]["labels"]) == n
    assert main([*args, "--horizon", "3", "--out", str(tmp_path / "given")]) == 0
    assert "horizon 3, " in capsys.readouterr().err


def test_a_constant_series_has_no_mase_and_says_why(tmp_path, capsys, no_peers, recwarn):
    path = tmp_path / "flat.csv"
    path.write_text("month,y\n" + "".join(f"{2000 + i // 12}-{i % 12 + 1:02d},5\n"
                                         for i in range(100)))
    out = tmp_path / "run"
    assert main(["forecast", "--data", str(path), "--models", "naive", "linear", "--epochs",
                 "2", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "MASE undefined (-): the training part repeats itself every 12 steps" in captured.err
    naive_row = next(line for line in captured.out.splitlines() if line.startswith("naive"))
    assert naive_row.split()[4:6] == ["-", "-"]  # MASE, MASE1
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["models"][0]["test"]["mase"] is None
    assert any(n.startswith("MASE undefined (-)") for n in metrics["notes"])
    assert not [w for w in recwarn if "matplotlib" in w.filename]  # the losses' axis: linear


def test_season_can_be_given(tmp_path, capsys):
    out = tmp_path / "w"
    rc = main(["forecast", "--data", str(weekly_csv(tmp_path)), "--horizon", "4",
               "--input-len", "8", "--models", "naive", "--season", "4", "--out", str(out)])
    assert rc == 0
    assert json.loads((out / "metrics.json").read_text())["season"] == 4


def test_intervals_do_not_change_the_models(tmp_path, capsys):
    """--intervals used to set dropout 0.1 for every model; now the models train the same."""
    data = str(tiny_csv(tmp_path))
    common = ["forecast", "--data", data, "--column", "y", "--horizon", "3", "--input-len",
              "6", "--epochs", "2", "--hidden", "4", "--models", "gru"]
    assert main([*common, "--out", str(tmp_path / "a")]) == 0
    assert main([*common, "--out", str(tmp_path / "b"), "--intervals", "3"]) == 0
    a = json.loads((tmp_path / "a" / "metrics.json").read_text())
    b = json.loads((tmp_path / "b" / "metrics.json").read_text())
    assert a["dropout"] == b["dropout"] == 0.0
    assert a["models"] == b["models"] or [r["test"] for r in a["models"]] == [
        r["test"] for r in b["models"]]
    assert "zero width" in capsys.readouterr().err


@pytest.fixture(autouse=True)
def no_peers(monkeypatch):
    """Skip the statistical peers (slow to fit) whether statsforecast is installed or not
    (every test here; tests/cli/test_forecast_peers.py runs them)."""
    monkeypatch.setattr("rnnkit.tasks.forecast.peers.available", lambda: False)


def long_csv(tmp_path, name="long.csv"):
    """Three monthly series at levels 10, 1000 and 100, of 60, 72 and 66 months, in rows of
    (store, month, sales), ending in the same month."""
    rng = np.random.default_rng(0)
    lines = ["store,month,sales"]
    for k, (sid, level, n) in enumerate([("a", 10, 60), ("b", 1000, 72), ("c", 100, 66)]):
        t = np.arange(n)
        y = level * (1 + 0.2 * np.sin(2 * np.pi * (t + k) / 12)) + rng.normal(0, 0.02 * level, n)
        for i in range(n):
            m = 72 - n + i
            lines.append(f"{sid},{2000 + m // 12}-{m % 12 + 1:02d},{y[i]:.4f}")
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_long_file_is_many_series_saved_and_predicted_by_id(tmp_path, capsys, no_peers):
    out = tmp_path / "run"
    data = str(long_csv(tmp_path))
    rc = main(["forecast", "--data", data, "--id-column", "store", "--horizon", "3",
               "--input-len", "12", "--models", "naive", "linear", "--epochs", "3",
               "--out", str(out)])
    assert rc == 0
    captured = capsys.readouterr()
    assert "3 series (long format: id column 'store', value column 'sales'), 60..72 values " \
           "each: a, b, c" in captured.err and "monthly" in captured.err
    assert "means over the 3 series" in captured.out
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["ids"] == ["a", "b", "c"] and metrics["n_values"]["b"] == 72
    assert metrics["split"]["a"]["test"] == [54, 60] and metrics["split"]["b"]["test"] == [66, 72]
    row = next(r for r in metrics["models"] if r["model"] == "linear")
    assert set(row["series"]) == {"a", "b", "c"}
    assert row["test"]["mase"] == pytest.approx(np.mean([row["series"][i]["mase"]
                                                         for i in "abc"]))
    tf = (out / "test_forecasts.csv").read_text().splitlines()
    assert tf[1].startswith("a,54,1,2005-07,") and tf[-1].startswith("c,63,3,2005-12,")
    assert len(tf) == 1 + 3 * 4 * 3  # 3 series x (2H - H + 1) windows x H steps
    fcsv = (out / "forecast.csv").read_text().splitlines()
    assert fcsv[0] == "series_id,step,label,forecast" and fcsv[1].startswith("a,1,2006-01,")
    for name in ("backtest.png", "future.png", "series_mase.png", "metrics.png"):
        assert (out / name).is_file(), name
    fc = load_estimator(out / "model")
    assert fc.ids_ == ["a", "b", "c"] and fc.data_info_["id_column"] == "store"
    assert fc.scalers_["b"].shift_[0] != fc.scalers_["a"].shift_[0]
    pred = tmp_path / "pred.csv"
    assert main(["predict", "--model", str(out / "model"), "--data", data, "--ids", "b",
                 "--out", str(pred)]) == 0
    rows = pred.read_text().splitlines()
    assert rows[0] == "series_id,step,label,forecast" and len(rows) == 4
    want = fc.predict(load_panel(data, id_column="store").select(["b"]))  # after the file
    np.testing.assert_allclose([float(r.split(",")[3]) for r in rows[1:]], want, rtol=1e-5)


def test_a_long_file_needs_no_id_column_flag(tmp_path, capsys):
    rc = main(["forecast", "--data", str(long_csv(tmp_path)), "--horizon", "3", "--input-len",
               "6", "--models", "naive", "--peers", "none", "--out", str(tmp_path / "o")])
    said = capsys.readouterr().err  # the opening line
    assert rc == 0 and "3 series (long format: id column 'store', value column 'sales')" in said


@pytest.mark.parametrize("extra, message", [
    (["--id-column", "shop"], "id column 'shop' not found; columns are ['store', 'month', "
                              "'sales']"),
    (["--id-column", "store", "--column", "units"], "value column 'units' not found"),
    ([], "column 'store' holds text ('b' on line 2), not numbers; a long file"),
])
def test_bad_id_or_value_columns_are_one_line_errors(tmp_path, capsys, extra, message):
    """The last case: no dates and the ids taking turns row by row, so that no id column is
    found and the file is read as wide (ids are found in runs of rows, or taking turns by
    date)."""
    data = long_csv(tmp_path)
    if not extra:
        head, *rows = data.read_text().splitlines()
        rows = sorted(rows, key=lambda r: r.split(",")[1])  # b, then a, b, c taking turns
        data.write_text("\n".join(",".join(r.split(",")[::2]) for r in [head, *rows]) + "\n")
    rc = main(["forecast", "--data", str(data), "--horizon", "3",
               "--input-len", "6", "--models", "naive", "--out", str(tmp_path / "o"), *extra])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and message in err[0]


def test_local_mode_saves_a_model_per_series_that_predict_reads(tmp_path, capsys, no_peers):
    out = tmp_path / "run"
    data = str(long_csv(tmp_path))
    rc = main(["forecast", "--data", data, "--id-column", "store", "--local", "--horizon", "3",
               "--input-len", "12", "--models", "naive", "linear", "--epochs", "2",
               "--ensemble", "0", "--out", str(out)])
    assert rc == 0 and "one model per series" in capsys.readouterr().err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["mode"] == "local"
    assert sorted(p.name for p in (out / "model").iterdir() if p.is_dir()) == [
        "series-0", "series-1", "series-2"]
    pred = tmp_path / "pred.csv"
    assert main(["predict", "--model", str(out / "model"), "--data", data, "--out",
                 str(pred)]) == 0
    rows = pred.read_text().splitlines()
    assert rows[0] == "series_id,step,label,forecast" and len(rows) == 1 + 3 * 3


def test_past_covariates_are_read_and_remembered_by_predict(tmp_path, capsys, no_peers):
    path = weekly_csv(tmp_path)
    out = tmp_path / "run"
    rc = main(["forecast", "--data", str(path), "--past-covariates", "price", "--horizon", "4",
               "--input-len", "8", "--models", "naive", "linear", "--epochs", "2",
               "--out", str(out)])
    assert rc == 0
    err = capsys.readouterr().err
    assert "column 'sales', 200 values" in err and "past covariates price" in err
    fc = load_estimator(out / "model")
    assert fc.n_features_ == 2 and fc.data_info_["past_covariates"] == ["price"]
    pred = tmp_path / "p.csv"
    assert main(["predict", "--model", str(out / "model"), "--data", str(path), "--out",
                 str(pred)]) == 0
    assert len(pred.read_text().splitlines()) == 1 + 4


def test_calendar_features_are_built_from_the_dates_again_by_predict(tmp_path, capsys,
                                                                     no_peers):
    data = str(tiny_csv(tmp_path))
    out = tmp_path / "run"
    rc = main(["forecast", "--data", data, "--column", "y", "--calendar", "month",
               "--horizon", "3", "--input-len", "6", "--models", "linear", "--epochs", "2",
               "--out", str(out)])
    assert rc == 0
    assert "calendar of each forecast step: month" in capsys.readouterr().err
    fc = load_estimator(out / "model")
    assert fc.n_features_ == 3 and fc.data_info_["calendar"] == ["month"]
    assert json.loads((out / "metrics.json").read_text())["scaler"] == "standard"
    pred = tmp_path / "p.csv"
    assert main(["predict", "--model", str(out / "model"), "--data", data, "--out",
                 str(pred)]) == 0
    rows = pred.read_text().splitlines()
    assert rows[1].startswith("1,2005-01,") and len(rows) == 1 + 3
    rc = main(["forecast", "--data", str(tmp_path / "tiny.csv"), "--column", "y",
               "--date-column", "other", "--calendar", "month", "--out", str(tmp_path / "x")])
    assert rc == 2 and "calendar features need increasing dates" in capsys.readouterr().err


def test_jobs_fit_in_workers_that_write_progress_lines(tmp_path, capfd):
    """--jobs 2: the fits run in two workers; their progress reaches stderr as lines (the
    first and last epoch of each fit), with one line per fit from the command, and the files
    are those of a run in one process."""
    out = tmp_path / "run"
    rc = main(["forecast", "--data", str(tiny_csv(tmp_path)), "--column", "y", "--horizon",
               "3", "--input-len", "6", "--epochs", "2", "--hidden", "4", "--models", "naive",
               "linear", "gru", "--jobs", "2", "--peers", "none", "--ensemble", "0", "--out",
               str(out)])
    assert rc == 0
    err = capfd.readouterr().err
    assert "gru epoch 1/2" in err and "gru epoch 2/2" in err  # written by a worker
    assert err.count("gru fold") == 3 and "gru refit on all training data" in err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["jobs"] == 2 and (out / "model/model.safetensors").is_file()


def test_series_too_short_for_a_split_are_left_out_and_named(tmp_path, capsys, no_peers):
    """With input_len 42 and horizon 3 a split needs 42 + 3 + 2 x 6 + 6 = 63 values: series
    'a' (60 values) is left out with a note naming it; 'b' (72) and 'c' (66) are compared. When
    no series is long enough, one error line says so and what the longest has."""
    out = tmp_path / "run"
    data = str(long_csv(tmp_path))
    args = ["forecast", "--data", data, "--id-column", "store", "--horizon", "3", "--test", "6",
            "--models", "naive", "--out", str(out)]  # --test: no shorter split is tried
    assert main([*args, "--input-len", "42"]) == 0
    err = capsys.readouterr().err
    assert ("1 of 3 series left out, shorter than the 63 values a split needs (input_len + "
            "horizon + 2 x fold + test = 42 + 3 + 12 + 6): a;") in err
    assert "forecast.csv still forecasts those of at least 42 values" in err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["ids"] == ["b", "c"] and metrics["forecast_only"] == ["a"]
    assert list(metrics["forecast"]) == ["a", "b", "c"]
    rows = (out / "forecast.csv").read_text().splitlines()[1:]
    assert [r.split(",")[0] for r in rows] == ["a"] * 3 + ["b"] * 3 + ["c"] * 3
    assert main([*args, "--input-len", "60", "--overwrite"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].endswith(
        "long.csv: each of the 3 series is shorter than the 81 values a split needs (input_len "
        "+ horizon + 2 x fold + test = 60 + 3 + 12 + 6); the longest has 72: ask for a "
        "smaller input_len, horizon, fold or test")


def test_weekly_dates_give_an_input_length_of_a_season_and_the_horizon(tmp_path, capsys,
                                                                        no_peers):
    start = np.datetime64("2001-01-06")
    y = 5 + np.sin(2 * np.pi * np.arange(300) / 52.18)
    path = tmp_path / "weekly.csv"
    path.write_text("week,y\n" + "".join(f"{start + np.timedelta64(7 * i, 'D')},{v:.4f}\n"
                                         for i, v in enumerate(y)))
    assert main(["forecast", "--data", str(path), "--models", "naive", "--out",
                 str(tmp_path / "run")]) == 0
    err = capsys.readouterr().err
    assert "weekly; season 52 (weekly); input_len 65 (auto: a whole season of 52 before " \
           "every forecast step), horizon 13 (auto)" in err


def test_a_shorter_split_is_chosen_when_the_default_would_leave_series_out(tmp_path, capsys,
                                                                           no_peers):
    """input_len 42, horizon 3: test and folds of 2H need 63 values ('a' has 60), of H 54:
    every series stays, and the opening line says so."""
    out = tmp_path / "run"
    assert main(["forecast", "--data", str(long_csv(tmp_path)), "--id-column", "store",
                 "--horizon", "3", "--input-len", "42", "--models", "naive",
                 "--out", str(out)]) == 0
    assert ("test 3 and folds of 3 (the default split would keep fewer series)"
            in capsys.readouterr().err)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["ids"] == ["a", "b", "c"] and metrics["split"]["a"]["test"] == [57, 60]


def test_score_table_keeps_columns_apart_at_any_scale():
    from rnnkit.cli.forecast import _table

    def row(model, scale):
        return {"model": model, "status": "ok", "epochs": 7, "train_seconds": 1.5,
                "test": {"mae": 4.6633e6 * scale, "rmse": 1.8103e7 * scale, "smape": 20.19,
                         "mase": 1.522, "mase1": 3.613}, "cv": {"mase": 0.542},
                "interval": {"coverage": 0.52, "zero_width": False, "crps": 3.908e6 * scale}}

    rows = [row("volume", 1.0), {"model": "gru", "status": "loss became nan"},
            row("close", 1e-6)]
    lines = _table(rows, "mase").splitlines()
    head = lines[0].split()
    assert head[:3] == ["model", "MAE", "RMSE"] and lines[1] == "-" * len(lines[0])
    for line, mae in ((lines[2], "4.663e+06"), (lines[4], "4.663")):
        cells = line.split()
        assert len(cells) == 12 and cells[1] == mae and cells[-2:] == ["7", "1.5"]
        assert len(line) == len(lines[0])  # every row as wide as the head
    assert lines[3].split() == ["gru", "failed:", "loss", "became", "nan"]
