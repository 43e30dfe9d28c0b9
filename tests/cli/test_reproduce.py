import json

from rnnkit.cli.main import main


def test_reproduce_geron_rows(tmp_path, capsys):
    out = tmp_path / "g"
    rc = main(["reproduce", "geron", "--models", "naive", "linear10", "--epochs", "1",
               "--repeats", "2",
               "--n-series", "40", "--out", str(out)])
    assert rc == 0
    text = capsys.readouterr().out
    assert "naive" in text and "0.0202" in text and "0.0187" in text
    res = json.loads((out / "results.json").read_text())
    assert [r["key"] for r in res["rows"]] == ["naive", "linear10"]
    assert len(res["rows"][0]["runs"]) == 1 and res["rows"][1]["seeds"] == [42, 43]
    assert res["rows"][1]["val_mse"] == sum(res["rows"][1]["runs"]) / 2
    assert (out / "geron.png").is_file()


def test_reproduce_sine(tmp_path, capsys):
    rc = main(["reproduce", "sine", "--epochs", "5", "--out", str(tmp_path / "s")])
    assert rc == 0
    assert "before" in capsys.readouterr().out
    assert (tmp_path / "s" / "sine.png").is_file()


def test_reproduce_bad_row(capsys):
    assert main(["reproduce", "geron", "--models", "nope"]) == 2
    assert "unknown row 'nope'" in capsys.readouterr().err
