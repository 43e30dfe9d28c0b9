"""``--resume DIR``: a command killed with SIGKILL at a random batch and run again with the
same options ends as if never killed (same metrics, same saved model); options that differ
are refused naming the option; ``--resume`` inside ``--out`` is refused."""

from __future__ import annotations

import json
import random

import numpy as np

from rnnkit.cli.main import main
from rnnkit.tasks.base import load_estimator
from tests.cli.helpers import updown_csv
from tests.cli.test_forecast import tiny_csv
from tests.train.helpers import run_killed, same_weights


def _csv(path, n, rng):
    return updown_csv(path, n, rng, noise=0.3)


def _without_times(metrics: dict) -> dict:
    drop = {"train_seconds"}
    out = {k: v for k, v in metrics.items() if k not in drop}
    if "models" in out:
        out["models"] = [{k: v for k, v in m.items() if k not in drop} for m in out["models"]]
    return out


def test_classify_killed_then_resumed_equals_an_uninterrupted_run(tmp_path):
    data = _csv(tmp_path / "train.csv", 60, np.random.default_rng(0))
    args = ["classify", "--data", str(data), "--model", "lstm", "--hidden", "6", "--epochs",
            "5", "--batch-size", "8", "--lr", "0.02", "--dropout", "0.2", "--quiet"]
    assert main([*args, "--out", str(tmp_path / "ref")]) == 0
    epoch, batch = random.randrange(5), random.randrange(5)
    run = [*args, "--out", str(tmp_path / "run"), "--resume", str(tmp_path / "ck")]
    assert run_killed(lambda: main(run), epoch, batch) == -9, (epoch, batch)
    assert not (tmp_path / "run").exists()
    assert main(run) == 0
    ref = json.loads((tmp_path / "ref" / "metrics.json").read_text())
    got = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert _without_times(got) == _without_times(ref), (epoch, batch)
    assert same_weights(load_estimator(tmp_path / "run" / "model").model_,
                        load_estimator(tmp_path / "ref" / "model").model_), (epoch, batch)


def test_forecast_resumes_the_model_it_was_training_and_skips_finished_ones(tmp_path):
    data = tiny_csv(tmp_path, n=72)
    args = ["forecast", "--data", str(data), "--column", "y", "--horizon", "3",
            "--input-len", "6", "--epochs", "4", "--hidden", "4", "--batch-size", "8",
            "--models", "naive", "linear", "gru", "--quiet"]
    assert main([*args, "--out", str(tmp_path / "ref"), "--resume", str(tmp_path / "ref_ck")]) == 0
    linear_fits = sorted(p.name for p in (tmp_path / "ref_ck" / "linear").iterdir())
    assert linear_fits[-1] == "refit" and linear_fits[0] == "fold-1"  # folds, then the refit
    epoch, batch = random.randrange(4), random.randrange(4)
    run = [*args, "--out", str(tmp_path / "run"), "--resume", str(tmp_path / "ck")]
    # the baselines do not train; the kill lands in gru's first fold fit, after linear's fits
    assert run_killed(lambda: main(run), epoch, batch, fit=len(linear_fits)) == -9
    finished = json.loads((tmp_path / "ck" / "linear" / "refit" / "trainer.json").read_text())
    assert finished["finished"]
    gru = tmp_path / "ck" / "gru" / "fold-1" / "trainer.json"  # none if killed in epoch 1
    assert not gru.exists() or not json.loads(gru.read_text())["finished"]
    assert main(run) == 0
    ref = json.loads((tmp_path / "ref" / "metrics.json").read_text())
    got = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert _without_times(got) == _without_times(ref), (epoch, batch)


def test_other_options_are_refused_naming_the_option(tmp_path, capsys):
    data = _csv(tmp_path / "train.csv", 40, np.random.default_rng(0))
    args = ["classify", "--data", str(data), "--hidden", "4", "--epochs", "3", "--quiet",
            "--out", str(tmp_path / "run"), "--resume", str(tmp_path / "ck")]
    assert run_killed(lambda: main(args), 1, 0) == -9
    capsys.readouterr()
    assert main([*args, "--lr", "0.5"]) == 2
    err = capsys.readouterr().err
    assert "settings.lr=0.002, this run has settings.lr=0.5" in err
    assert len(err.strip().splitlines()) == 1


def test_resume_inside_out_is_refused_before_any_work(tmp_path, capsys):
    code = main(["classify", "--data", str(tmp_path / "missing.csv"), "--out",
                 str(tmp_path / "o"), "--resume", str(tmp_path / "o" / "ck")])
    assert code == 2
    assert "must be outside --out" in capsys.readouterr().err
