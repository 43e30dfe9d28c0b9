import json

import numpy as np
import pytest

from rnnkit.cli.main import main


def monthly_csv(tmp_path, n=72):
    t = np.arange(n)
    y = 10 + np.sin(2 * np.pi * t / 12) + 0.05 * t
    lines = ["when,y"] + [f"{2000 + i // 12}-{i % 12 + 1:02d},{v:.4f}" for i, v in enumerate(y)]
    path = tmp_path / "m.csv"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


@pytest.mark.slow  # statsforecast's import and fits, and a trained quantile head
def test_peers_are_rows_of_the_table_and_the_head_is_scored(tmp_path, capsys):
    pytest.importorskip("statsforecast")
    out = tmp_path / "run"
    rc = main(["forecast", "--data", monthly_csv(tmp_path), "--horizon", "3", "--input-len",
               "12", "--models", "naive", "linear", "--epochs", "3", "--peers", "AutoETS",
               "--head", "quantile", "--out", str(out)])
    assert rc == 0
    stdout = capsys.readouterr().out
    assert "AutoETS" in stdout and "CRPS" in stdout and "dist80%" in stdout
    rows = {r["model"]: r for r in json.loads((out / "metrics.json").read_text())["models"]}
    assert rows["AutoETS"]["peer"] and "AutoARIMA" not in rows
    assert json.loads((out / "metrics.json").read_text())["best_model"] != "AutoETS"
    assert "distribution" in rows["linear"] and "distribution" not in rows["naive"]
    assert rows["linear"]["interval"]["crps"] > 0


def test_without_statsforecast_one_note(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("rnnkit.tasks.forecast.peers.available", lambda: False)
    rc = main(["forecast", "--data", monthly_csv(tmp_path), "--horizon", "3", "--input-len",
               "12", "--models", "naive", "--out", str(tmp_path / "o")])
    assert rc == 0
    err = capsys.readouterr().err
    assert err.count("statsforecast is not installed") == 1
