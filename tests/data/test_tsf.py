"""The .tsf reader (the Monash forecasting archive's format) against hand-written files, and
``rnnkit forecast`` / ``rnnkit predict`` on one."""

import json

import numpy as np
import pytest

from rnnkit.cli.main import main
from rnnkit.data.panel import load_panel
from rnnkit.data.tsf import load_tsf, series_dates
from rnnkit.errors import DataError

HEAD = ["# a comment", "@relation toy", "@attribute series_name string",
        "@attribute start_timestamp date", "@frequency {freq}", "@horizon 3",
        "@missing true", "@equallength false", "@data"]


def _write(path, rows, freq="monthly", head=HEAD):
    path.write_text("\n".join([h.format(freq=freq) for h in head] + rows) + "\n")
    return path


def test_series_ids_values_dates_and_horizon(tmp_path):
    path = _write(tmp_path / "m.tsf", ["A:1990-11-01 00-00-00:1,2,3.5",
                                       "B:2001-01-01 00-00-00:4,5"])
    panel = load_tsf(path)
    assert panel.ids == ["A", "B"] and panel.horizon == 3 and panel.layout == "tsf"
    np.testing.assert_array_equal(panel.values[0][:, 0], [1, 2, 3.5])
    assert panel.values[1].shape == (2, 1)
    assert panel.dates == [["1990-11", "1990-12", "1991-01"], ["2001-01", "2001-02"]]
    assert panel.describe().startswith("2 series (a .tsf file), 2..3 values each")
    assert load_panel(path).ids == ["A", "B"]  # dispatched on the suffix


@pytest.mark.parametrize(("freq", "want"), [
    ("yearly", ["1999", "2000", "2001"]),
    ("quarterly", ["1999 Q4", "2000 Q1", "2000 Q2"]),
    ("weekly", ["1999-12-31", "2000-01-07", "2000-01-14"]),
    ("daily", ["1999-12-31", "2000-01-01", "2000-01-02"]),
    ("half_hourly", ["1999-12-31 23:00", "1999-12-31 23:30", "2000-01-01 00:00"]),
    ("4_seconds", None),  # no form of rnnkit's dates: left out
])
def test_dates_of_each_frequency(freq, want):
    from datetime import datetime

    assert series_dates(datetime(1999, 12, 31, 23), 3, freq) == want


def test_without_names_or_start(tmp_path):
    head = ["@relation toy", "@attribute state string", "@frequency yearly", "@data"]
    panel = load_tsf(_write(tmp_path / "a.tsf", ["VIC:1,2,3", "NSW:4,5,6"], head=head))
    assert panel.ids == ["VIC", "NSW"] and panel.dates is None and panel.horizon is None
    head = ["@relation toy", "@frequency yearly", "@data"]
    panel = load_tsf(_write(tmp_path / "b.tsf", ["1,2,3", "4,5,6"], head=head))
    assert panel.ids == ["0", "1"]  # positions


def test_hierarchical_ids(tmp_path):
    """Several string attributes (a group, then the name): the names alone when they are
    unique, else group and name joined."""
    head = ["@relation toy", "@attribute series_group string",
            "@attribute series_name string", "@frequency yearly", "@data"]
    unique = load_tsf(_write(tmp_path / "a.tsf", ["G1:T1:1,2", "G2:T2:3,4"], head=head))
    assert unique.ids == ["T1", "T2"]
    shared = load_tsf(_write(tmp_path / "b.tsf", ["G1:T1:1,2", "G2:T1:3,4"], head=head))
    assert shared.ids == ["G1/T1", "G2/T1"]


def test_missing_values_refused_or_interpolated(tmp_path):
    path = _write(tmp_path / "m.tsf", ["A:1990-01-01 00-00-00:1,?,3,?",
                                       "B:1990-01-01 00-00-00:4,5"])
    with pytest.raises(DataError, match=r"line 10: series 'A' has a missing value \('\?'\) at "
                                        r"step 2; --interpolate"):
        load_tsf(path)
    panel = load_tsf(path, interpolate=True)
    np.testing.assert_array_equal(panel.values[0][:, 0], [1, 2, 3, 3])  # the edge: nearest


@pytest.mark.parametrize(("rows", "match"), [
    (["A:1990-01-01 00-00-00"], r"line 10: expected 2 attribute value\(s\) and the series"),
    (["A:1990-13-01 00-00-00:1,2"], r"line 10: start '1990-13-01 00-00-00' is not a date"),
    (["A:1990-01-01 00-00-00:1,x"], r"line 10 \(series 'A'\), value 2: 'x' is not a number"),
    (["A:1990-01-01 00-00-00:1", "A:1990-01-01 00-00-00:2"], r"series names repeat \(\['A'\]\)"),
    ([], r"no series after @data"),
])
def test_bad_rows_name_the_line(tmp_path, rows, match):
    with pytest.raises(DataError, match=match):
        load_tsf(_write(tmp_path / "bad.tsf", rows))


def test_csv_options_are_refused(tmp_path):
    path = _write(tmp_path / "m.tsf", ["A:1990-01-01 00-00-00:1,2,3"])
    with pytest.raises(DataError, match=r"a \.tsf file holds one series a row.*column"):
        load_panel(path, column="value")


def test_forecast_and_predict_on_a_tsf_file(tmp_path, capsys):
    rng = np.random.default_rng(0)
    rows = []
    for k in range(3):
        t = np.arange(36 + 4 * k)
        y = 10 + k + np.sin(2 * np.pi * t / 12) + rng.normal(0, 0.1, len(t))
        rows.append(f"S{k}:{2000 + k}-01-01 00-00-00:" + ",".join(f"{v:.3f}" for v in y))
    data = _write(tmp_path / "m.tsf", rows)
    out = tmp_path / "out"
    assert main(["forecast", "--data", str(data), "--models", "naive", "seasonal_naive",
                 "--peers", "none", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "3 series (a .tsf file)" in err and "horizon 3 (the file's @horizon)" in err
    assert "season 12 (monthly)" in err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["horizon"] == 3
    future = (out / "forecast.csv").read_text().splitlines()
    assert future[1].startswith("S0,1,2003-01,")  # 36 months from 2000-01, then the next
    assert main(["predict", "--model", str(out / "model"), "--data", str(data)]) == 0
    assert "S2,3,2005-11," in capsys.readouterr().out  # 44 months from 2002-01, then 3 more


def test_the_files_horizon_is_not_shortened(tmp_path, capsys):
    """Half the series too short for a split of horizon 6: an "auto" horizon would be
    shortened; the file's @horizon is kept, the short series forecast but not scored."""
    rng = np.random.default_rng(1)
    head = [h.replace("@horizon 3", "@horizon 6") for h in HEAD]
    rows = [f"S{k}:1950-01-01 00-00-00:" + ",".join(
        f"{v:.2f}" for v in 100 + np.cumsum(rng.normal(1, 1, 40 if k < 3 else 15)))
        for k in range(6)]
    data = _write(tmp_path / "y.tsf", rows, freq="yearly", head=head)
    out = tmp_path / "out"
    assert main(["forecast", "--data", str(data), "--models", "naive", "--peers", "none",
                 "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "horizon 6 (the file's @horizon)" in err and "shortened" not in err
    future = (out / "forecast.csv").read_text().splitlines()
    assert sum(r.startswith("S5,") for r in future) == 6  # a short series: 6 steps too
