"""``--nproc N``: a command trains in N processes (torchrun's launcher, gloo) and writes once.

Two processes with ``--batch-size 8`` train as one with ``--batch-size 16`` (the batch size
is per process), so their histories agree to float32 rounding.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import rnnkit
from rnnkit.cli.main import main
from tests.cli.helpers import updown_csv


def _rnnkit(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(Path(rnnkit.__file__).parents[1]),
                                          os.environ.get("PYTHONPATH", "")])}
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(key, None)
    return subprocess.run([sys.executable, "-m", "rnnkit", *args], env=env,
                          capture_output=True, text=True, timeout=300)


def _options(train: Path, test: Path) -> list[str]:
    return ["classify", "--data", str(train), "--test", str(test), "--model", "gru",
            "--hidden", "8", "--epochs", "3", "--lr", "0.03"]


def test_classify_nproc_2_trains_as_one_process_with_twice_the_batch(tmp_path, capsys):
    rng = np.random.default_rng(0)
    train = updown_csv(tmp_path / "train.csv", 80, rng)
    test = updown_csv(tmp_path / "test.csv", 20, rng)
    opts = _options(train, test)
    done = _rnnkit("-v", *opts, "--batch-size", "8", "--nproc", "2",
                   "--out", str(tmp_path / "two"))
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("test accuracy:") == 1 and done.stdout.count("wrote ") == 1
    assert done.stderr.count("joined the process group") == 1  # rank 1 logs no info
    assert "rank 0 of 2 (gloo)" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["test.csv", "train.csv", "two"]
    assert main([*opts, "--batch-size", "16", "--out", str(tmp_path / "one")]) == 0
    two = json.loads((tmp_path / "two" / "metrics.json").read_text())["history"]
    one = json.loads((tmp_path / "one" / "metrics.json").read_text())["history"]
    assert two.keys() == one.keys() and len(one["loss"]) == 3
    for key in one:
        np.testing.assert_allclose(two[key], one[key], rtol=1e-5, atol=1e-7, err_msg=key)


def test_nproc_under_torchrun_is_refused(tmp_path, monkeypatch, capsys):
    rng = np.random.default_rng(0)
    train = updown_csv(tmp_path / "train.csv", 10, rng)
    for key, value in (("RANK", "0"), ("WORLD_SIZE", "2"), ("LOCAL_RANK", "0")):
        monkeypatch.setenv(key, value)
    code = main([*_options(train, train), "--nproc", "2",
                 "--out", str(tmp_path / "o")])
    assert code == 2
    assert capsys.readouterr().err == (
        "rnnkit classify: error: --nproc 2 starts its own processes; under torchrun leave it "
        "out (torchrun's --nproc-per-node says how many)\n")


@pytest.mark.slow
def test_a_user_error_in_the_processes_is_one_line_and_exit_2(tmp_path):
    rng = np.random.default_rng(0)
    train = updown_csv(tmp_path / "train.csv", 40, rng)
    test = updown_csv(tmp_path / "test.csv", 4, rng, labels=("down", "sideways"))
    done = _rnnkit(*_options(train, test), "--nproc", "2",
                   "--out", str(tmp_path / "o"))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"rnnkit classify: error: {test}: test label 'sideways' is not among the training "
        f"classes ['down', 'up']"]
    assert not (tmp_path / "o").exists()
