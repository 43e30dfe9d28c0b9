import numpy as np
import pytest

from rnnkit.cli.main import main
from rnnkit.tasks.forecast import Forecaster


@pytest.fixture
def saved(tmp_path):
    y = 5 + np.sin(np.arange(40) / 3)
    fc = Forecaster("gru", input_len=6, horizon=3, epochs=1, hidden=4, dropout=0.2).fit(y)
    fc.save(tmp_path / "model", data_info={"column": "y"})
    data = tmp_path / "new.csv"
    data.write_text("month,other,y\n" + "".join(f"2001-{i + 1:02d},0,{v:.5f}\n"
                                                for i, v in enumerate(y[:12])))
    return fc, data


def test_predict_writes_csv(tmp_path, saved, capsys):
    fc, data = saved
    out = tmp_path / "pred.csv"
    rc = main(["predict", "--model", str(tmp_path / "model"), "--data", str(data),
               "--date-column", "month", "--out", str(out)])
    assert rc == 0
    rows = out.read_text().splitlines()
    assert rows[0] == "step,label,forecast"
    assert [r.split(",")[1] for r in rows[1:]] == ["2002-01", "2002-02", "2002-03"]
    y12 = np.loadtxt(data, delimiter=",", skiprows=1, usecols=2)
    expected = fc.predict(y12)
    got = np.array([float(r.split(",")[2]) for r in rows[1:]])
    np.testing.assert_allclose(got, expected, rtol=1e-4)


def test_predict_labels_steps_with_the_date_column_the_model_was_trained_with(tmp_path, saved,
                                                                          capsys):
    fc, data = saved
    fc.save(tmp_path / "dated", data_info={"column": "y", "date_column": "month"})
    out = tmp_path / "pred.csv"
    assert main(["predict", "--model", str(tmp_path / "dated"), "--data", str(data),
                 "--out", str(out)]) == 0
    labels = [r.split(",")[1] for r in out.read_text().splitlines()[1:]]
    assert labels == ["2002-01", "2002-02", "2002-03"]
    # a file whose dates are in a column of another name: detected, as rnnkit forecast does
    # (they were read as values: "column 'month', line 2: '2001-01' is not a number")
    fc.save(tmp_path / "other", data_info={"column": "y", "date_column": "DATE"})
    assert main(["predict", "--model", str(tmp_path / "other"), "--data", str(data),
                 "--out", str(out), "--overwrite"]) == 0
    labels = [r.split(",")[1] for r in out.read_text().splitlines()[1:]]
    assert labels == ["2002-01", "2002-02", "2002-03"]


def test_predict_to_stdout_with_intervals(tmp_path, saved, capsys):
    _, data = saved
    rc = main(["predict", "--model", str(tmp_path / "model"), "--data", str(data),
               "--intervals", "5"])
    assert rc == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "step,label,forecast,mean,std,lower,upper" and len(out) == 4


def test_predict_errors(tmp_path, saved, capsys):
    _, data = saved
    rc = main(["predict", "--model", str(tmp_path / "nope"), "--data", str(data)])
    assert rc == 2 and "nope is not a saved rnnkit model" in capsys.readouterr().err
    short = tmp_path / "short.csv"
    short.write_text("y\n1\n2\n")
    rc = main(["predict", "--model", str(tmp_path / "model"), "--data", str(short),
               "--out", str(tmp_path / "p.csv")])
    err = capsys.readouterr().err
    assert rc == 2 and "has 2 values; the model needs the last input_len=6" in err
    assert not (tmp_path / "p.csv").exists()


def test_predict_from_an_origin_and_any_number_of_steps(tmp_path, saved, capsys):
    fc, data = saved
    model = str(tmp_path / "model")
    y12 = np.loadtxt(data, delimiter=",", skiprows=1, usecols=2)
    assert main(["predict", "--model", model, "--data", str(data), "--date-column", "month",
                 "--origin", "2001-08", "--steps", "2"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert [r.split(",")[1] for r in rows[1:]] == ["2001-09", "2001-10"]
    got = np.array([float(r.split(",")[2]) for r in rows[1:]])
    np.testing.assert_allclose(got, fc.predict(y12[:8])[:2], rtol=1e-4)
    rc = main(["predict", "--model", model, "--data", str(data), "--steps", "5"])
    assert rc == 2 and "steps must be at most 3 for strategy 'direct'" in capsys.readouterr().err
    rc = main(["predict", "--model", model, "--data", str(data), "--origin", "1999-01"])
    assert rc == 2 and "--origin 1999-01 is neither a date" in capsys.readouterr().err


def test_recursive_model_forecasts_beyond_its_horizon(tmp_path, capsys):
    y = 5 + np.sin(np.arange(40) / 3)
    fc = Forecaster("linear", input_len=6, horizon=3, strategy="recursive", epochs=1).fit(y)
    fc.save(tmp_path / "rec", data_info={"column": "y"})
    data = tmp_path / "d.csv"
    data.write_text("y\n" + "".join(f"{v:.5f}\n" for v in y))
    assert main(["predict", "--model", str(tmp_path / "rec"), "--data", str(data),
                 "--steps", "7"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert len(rows) == 8 and rows[7].startswith("7,+7,")
    np.testing.assert_allclose([float(r.split(",")[2]) for r in rows[1:]],
                               fc.predict(y, steps=7), rtol=1e-4)


def test_predict_interpolates_when_the_model_was_trained_so(tmp_path, capsys):
    y = 5 + np.sin(np.arange(40) / 3)
    fc = Forecaster("naive", input_len=6, horizon=2).fit(y)
    fc.save(tmp_path / "m", data_info={"column": "y", "interpolate": True})
    data = tmp_path / "gap.csv"
    data.write_text("y\n" + "".join(f"{v:.5f}\n" for v in y[:10]) + "\n" + "NA\n7\n")
    assert main(["predict", "--model", str(tmp_path / "m"), "--data", str(data)]) == 0
    assert capsys.readouterr().out.splitlines()[1] == "1,+1,7"
