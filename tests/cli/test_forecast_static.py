"""``rnnkit forecast --static-covariates / --id-embedding`` and ``rnnkit predict`` of many
series (their static covariates, ``--origin``)."""

import json

import numpy as np
import pytest

from rnnkit.cli.main import main
from rnnkit.data.panel import load_panel
from rnnkit.tasks.base import load_estimator
from rnnkit.tasks.forecast import Forecaster

QUICK = ["--horizon", "3", "--input-len", "6", "--epochs", "2", "--hidden", "4",
         "--peers", "none", "--ensemble", "0"]  # one model: its static inputs are inspected
STORES = [("a", 60, "north", 10), ("b", 72, "south", 20), ("c", 66, "north", 40)]


def stores_csv(tmp_path, name="stores.csv", change=None, drop=(), only=None):
    """Monthly sales of the STORES (store, months, region, size), all ending 2005-12, with
    their region and size on every row; ``change`` = (store, row, column, value) edits one
    cell; ``drop`` leaves columns out; ``only`` keeps those stores."""
    rng = np.random.default_rng(0)
    cols = [c for c in ("store", "month", "sales", "region", "size") if c not in drop]
    lines = [",".join(cols)]
    for k, (sid, n, region, size) in enumerate(STORES):
        if only is not None and sid not in only:
            continue
        y = size * (1 + 0.2 * np.sin(2 * np.pi * (np.arange(n) + k) / 12)
                    + rng.normal(0, 0.15, n))
        for i in range(n):
            m = 72 - n + i
            row = {"store": sid, "month": f"{2000 + m // 12}-{m % 12 + 1:02d}",
                   "sales": f"{y[i]:.3f}", "region": region, "size": str(size)}
            if change and change[0] == sid and change[1] == i:
                row[change[2]] = change[3]
            lines.append(",".join(row[c] for c in cols))
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("static")
    data = stores_csv(tmp)
    out = tmp / "run"
    rc = main(["forecast", "--data", str(data), "--id-column", "store", "--static-covariates",
               "region", "size", "--id-embedding", "2", "--models", "linear", *QUICK,
               "--epochs", "30", "--out", str(out), "--quiet"])
    assert rc == 0
    return data, out


def test_the_command_trains_saves_and_predicts_with_static_covariates(trained, tmp_path,
                                                                      capsys):
    data, out = trained
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["id_embedding"] == 2
    fc = load_estimator(out / "model")
    assert fc.data_info_["static_covariates"] == ["region", "size"]
    assert fc.static_ == {"a": ["north", 10.0], "b": ["south", 20.0], "c": ["north", 40.0]}
    assert fc.model == "linear"  # the noise makes seasonal naive lose: the side columns count
    assert fc.static_encoder_.width == 3 and fc.id_embedding == 2
    assert fc.model_[0].weight.shape == (3, 2)  # the learned id embedding, one row per store
    pred = tmp_path / "p.csv"
    assert main(["predict", "--model", str(out / "model"), "--data", str(data), "--out",
                 str(pred)]) == 0
    got = np.array([float(r.split(",")[3]) for r in pred.read_text().splitlines()[1:]])
    panel = load_panel(data, id_column="store", static_covariates=["region", "size"])
    np.testing.assert_allclose(got, fc.predict(panel).ravel(), rtol=1e-5)
    # the file without the static columns: the saved values of the training ids serve
    bare = stores_csv(tmp_path, "bare.csv", drop=("region", "size"))
    assert main(["predict", "--model", str(out / "model"), "--data", str(bare), "--out",
                 str(tmp_path / "q.csv")]) == 0
    assert (tmp_path / "q.csv").read_text() == pred.read_text()


def test_a_gru_with_static_covariates_round_trips_through_the_folder(tmp_path, capsys):
    data = stores_csv(tmp_path)
    panel = load_panel(data, id_column="store", static_covariates=["region", "size"])
    fc = Forecaster("gru", input_len=6, horizon=3, epochs=2, hidden=4, id_embedding=2,
                    verbose=0).fit(panel)
    fc.save(tmp_path / "m", data_info={"layout": "long", "id_column": "store",
                                       "static_covariates": ["region", "size"]})
    pred = tmp_path / "p.csv"
    assert main(["predict", "--model", str(tmp_path / "m"), "--data", str(data), "--out",
                 str(pred)]) == 0
    got = np.array([float(r.split(",")[3]) for r in pred.read_text().splitlines()[1:]])
    np.testing.assert_allclose(got, fc.predict().ravel(), rtol=1e-5)
    # a new store with its own static values is forecast, with a note
    new = stores_csv(tmp_path, "new.csv", only=("a",))
    new.write_text(new.read_text().replace("\na,", "\nz,"))
    assert main(["predict", "--model", str(tmp_path / "m"), "--data", str(new), "--out",
                 str(tmp_path / "z.csv")]) == 0
    z = [float(r.split(",")[3]) for r in (tmp_path / "z.csv").read_text().splitlines()[1:]]
    np.testing.assert_allclose(z, fc.predict(load_panel(new, id_column="store",
                                                        static_covariates=["region", "size"])),
                               rtol=1e-5)
    # ONNX export refuses the side inputs in one line
    pytest.importorskip("onnxscript")
    capsys.readouterr()
    rc = main(["export", "--model", str(tmp_path / "m"), "--out", str(tmp_path / "m.onnx")])
    assert rc == 2
    one_line_error(capsys, "ONNX export of a forecaster with static covariates, an id "
                           "embedding or a scaler per series is not supported")


def one_line_error(capsys, message):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert "Traceback" not in err[0]


@pytest.mark.parametrize("edit, extra, message", [
    (("b", 40, "region", "east"), ["--static-covariates", "region"],
     "static covariate column 'region' is not constant within series 'b': 'south' (line 62) "
     "but 'east' (line 102)"),
    (None, ["--static-covariates", "zone"], "static covariate column 'zone' not found; "
                                            "columns are"),
    (("c", 3, "size", ""), ["--static-covariates", "size"],
     "static covariate column 'size' is missing for series 'c' (line 137)"),
    (None, ["--static-covariates", "size", "--local"], "--local fits one model per series, "
                                                       "where --static-covariates"),
    (None, ["--id-embedding", "2", "--local"], "where --id-embedding is one constant"),
])
def test_bad_static_input_is_one_line_and_exit_2(tmp_path, capsys, edit, extra, message):
    data = stores_csv(tmp_path, change=edit)
    rc = main(["forecast", "--data", str(data), "--id-column", "store", *extra,
               "--models", "linear", *QUICK, "--out", str(tmp_path / "o")])
    assert rc == 2
    one_line_error(capsys, message)


def test_static_covariates_need_a_long_file(tmp_path, capsys):
    data = tmp_path / "wide.csv"
    data.write_text("month,x\n" + "".join(f"2000-{m:02d},{m}\n" for m in range(1, 13)))
    assert main(["forecast", "--data", str(data), "--static-covariates", "x", *QUICK,
                 "--out", str(tmp_path / "o")]) == 2
    one_line_error(capsys, "static covariates (x) need a long file with its id column named")


def test_a_new_id_without_static_columns_is_refused_naming_it(trained, tmp_path, capsys):
    _, out = trained
    new = stores_csv(tmp_path, "new.csv", drop=("region", "size"), only=("a",))
    new.write_text(new.read_text().replace("\na,", "\nz,"))
    assert main(["predict", "--model", str(out / "model"), "--data", str(new)]) == 2
    one_line_error(capsys, f"{new}: series 'z' is not in the model's training data and the "
                           f"file has no static covariate column(s) region, size")
    # with its columns it is forecast, scaled on its own values and at the mean embedding
    full = stores_csv(tmp_path, "full.csv", only=("a",))
    full.write_text(full.read_text().replace("\na,", "\nz,"))
    assert main(["predict", "--model", str(out / "model"), "--data", str(full)]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("series_id,step,label,forecast\nz,1,2006-01,")
    assert "each is scaled on its own values and takes the mean id embedding" in captured.err


def test_predict_origin_forecasts_each_series_from_its_own_row(trained, tmp_path, capsys):
    data, out = trained
    fc = load_estimator(out / "model")
    pred = tmp_path / "p.csv"
    assert main(["predict", "--model", str(out / "model"), "--data", str(data), "--ids", "b",
                 "c", "--origin", "2004-06", "--out", str(pred)]) == 0
    rows = pred.read_text().splitlines()
    assert [r.split(",")[:3] for r in rows[1:4]] == [["b", "1", "2004-07"], ["b", "2", "2004-08"],
                                                     ["b", "3", "2004-09"]]
    panel = load_panel(data, id_column="store", static_covariates=["region", "size"])
    cut = panel.select(["b", "c"])
    # 2004-06 is row 53 of b (from 2000-01) and row 47 of c (from 2000-07)
    cut.values = [cut.values[0][:54], cut.values[1][:48]]
    want = fc.predict(cut)
    got = np.array([float(r.split(",")[3]) for r in rows[1:]]).reshape(2, 3)
    np.testing.assert_allclose(got, want, rtol=1e-5)
    assert not np.allclose(got, fc.predict(panel.select(["b", "c"])))
    capsys.readouterr()
    # a series without that date is named
    assert main(["predict", "--model", str(out / "model"), "--data", str(data), "--origin",
                 "2000-03"]) == 2
    one_line_error(capsys, "--origin 2000-03 is neither a date of series 'a' nor a row number")
    # too few values before the origin
    assert main(["predict", "--model", str(out / "model"), "--data", str(data), "--origin",
                 "2001-03", "--ids", "a"]) == 2
    one_line_error(capsys, "series 'a' has 3 values up to --origin 2001-03; the model needs "
                           "the last input_len=6")


def test_a_local_model_loads_and_refuses_export_in_one_line(tmp_path, capsys):
    data = stores_csv(tmp_path, drop=("region", "size"))
    out = tmp_path / "run"
    assert main(["forecast", "--data", str(data), "--id-column", "store", "--local",
                 "--models", "linear", *QUICK, "--out", str(out), "--quiet"]) == 0
    local = load_estimator(out / "model")
    assert type(local).__name__ == "LocalForecaster" and local.ids_ == ["a", "b", "c"]
    capsys.readouterr()
    assert main(["export", "--model", str(out / "model"), "--out",
                 str(tmp_path / "x.onnx")]) == 2
    one_line_error(capsys, "holds a local forecaster (one model per series, rnnkit forecast "
                           "--local), which is not one graph")
    assert main(["predict", "--model", str(out / "model"), "--data", str(data), "--origin",
                 "2005-06", "--ids", "c"]) == 0
    assert capsys.readouterr().out.splitlines()[1].startswith("c,1,2005-07,")
