"""``rnnkit classify`` end to end on tiny generated files; errors as one line, exit 2."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
import torch

from rnnkit.cli.main import main
from rnnkit.data.idx import write_idx


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def _csv(path, n, rng):
    rows = []
    for _ in range(n):
        up = int(rng.integers(0, 2))
        vals = (1 if up else -1) * np.linspace(0, 1, 5) + 0.05 * rng.standard_normal(5)
        rows.append(",".join(f"{v:.3f}" for v in vals) + ("," + ("up" if up else "down")))
    path.write_text("\n".join(rows) + "\n")


def test_csv_train_test(tmp_path, capsys):
    rng = np.random.default_rng(0)
    _csv(tmp_path / "train.csv", 80, rng)
    _csv(tmp_path / "test.csv", 20, rng)
    out = tmp_path / "out"
    code = main(["classify", "--data", str(tmp_path / "train.csv"), "--test",
                 str(tmp_path / "test.csv"), "--model", "gru", "--hidden", "8", "--epochs",
                 "5", "--batch-size", "16", "--lr", "0.03", "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "test accuracy:" in printed
    m = json.loads((out / "metrics.json").read_text())
    assert m["n_test"] == 20 and m["classes"] == ["down", "up"]
    assert f"{m['accuracy']:.4f}" in printed
    assert m["accuracy"] >= 0.9
    assert (out / "confusion.png").stat().st_size > 0 and (out / "history.png").exists()
    assert (out / "model" / "model.safetensors").exists()


def test_mnist_layout_tiny(tmp_path, capsys):
    rng = np.random.default_rng(0)
    d = tmp_path / "mnist"
    for split, n in (("train", 40), ("t10k", 10)):
        write_idx(d / f"{split}-images-idx3-ubyte.gz",
                  rng.integers(0, 256, (n, 28, 28)).astype(np.uint8))
        write_idx(d / f"{split}-labels-idx1-ubyte.gz", (np.arange(n) % 10).astype(np.uint8))
    code = main(["classify", "--data", f"mnist:{d}", "--model", "my-gru", "--hidden", "4",
                 "--epochs", "1", "--out", str(tmp_path / "o")])
    assert code == 0
    assert "(10 test sequences, my-gru" in capsys.readouterr().out


def test_text_folder(tmp_path, capsys):
    for lab, words in (("neg", "bad awful"), ("pos", "good great")):
        (tmp_path / "data" / lab).mkdir(parents=True)
        for i in range(12):
            (tmp_path / "data" / lab / f"{i}.txt").write_text(f"the film {words.split()[i % 2]}")
    code = main(["classify", "--text", "--data", str(tmp_path / "data"), "--model", "lstm",
                 "--hidden", "4", "--embed", "4", "--epochs", "1", "--out",
                 str(tmp_path / "o")])
    assert code == 0
    assert "(5 test sequences" in capsys.readouterr().out


def test_bad_file_is_one_line_error(tmp_path, capsys):
    p = tmp_path / "r.csv"
    p.write_text("1,2,3,a\n1,2,b\n")
    assert main(["classify", "--data", str(p), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "ragged row" in err
    assert not (tmp_path / "o").exists()
    bad = tmp_path / "m"
    bad.mkdir()
    header = b"\x00\x00\x08\x03" + struct.pack(">3I", 2, 28, 28)
    (bad / "train-images-idx3-ubyte").write_bytes(header + bytes(20))
    (bad / "train-labels-idx1-ubyte").write_bytes(b"\x00\x00\x08\x01" + bytes(4))
    assert main(["classify", "--data", f"mnist:{bad}"]) == 2
    assert "truncated" in capsys.readouterr().err
