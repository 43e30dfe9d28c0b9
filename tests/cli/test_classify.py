"""``rnnkit classify`` end to end on tiny generated files; errors as one line, exit 2."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

from rnnkit.cli.main import main
from rnnkit.data.idx import write_idx
from tests.cli.helpers import updown_csv


def _csv(path, n, rng):
    updown_csv(path, n, rng)


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
    code = main(["classify", "--text", "--data", str(tmp_path / "data"), "--epochs", "1",
                 "--out", str(tmp_path / "o")])  # the text defaults, not the numeric ones
    assert code == 0
    m = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert m["model"] == "bigru" and m["resolved"]["hidden_size"] == 128


def test_bad_file_is_one_line_error(tmp_path, capsys):
    p = tmp_path / "r.csv"
    p.write_text("1,2,3,a\n1,2,b\n")
    assert main(["classify", "--data", str(p), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "ragged row" in err
    assert not (tmp_path / "o").exists()
    named = tmp_path / "named.csv"
    named.write_text("class,t0,t1\nup,1,2\ndown,2,1\n")
    assert main(["classify", "--data", str(named), "--label-column", "kind", "--out",
                 str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "label column 'kind' not found; columns are" in err
    bad = tmp_path / "m"
    bad.mkdir()
    header = b"\x00\x00\x08\x03" + struct.pack(">3I", 2, 28, 28)
    (bad / "train-images-idx3-ubyte").write_bytes(header + bytes(20))
    (bad / "train-labels-idx1-ubyte").write_bytes(b"\x00\x00\x08\x01" + bytes(4))
    assert main(["classify", "--data", f"mnist:{bad}"]) == 2
    assert "truncated" in capsys.readouterr().err


def test_metrics_record_the_resolved_budget_and_warnings(tmp_path, capsys):
    rng = np.random.default_rng(1)
    rows = [",".join(f"{v:.3f}" for v in rng.standard_normal(6)) + f",{'ab'[i % 2]}"
            for i in range(40)]  # labels that the values do not tell
    (tmp_path / "train.csv").write_text("\n".join(rows) + "\n")
    out = tmp_path / "out"
    code = main(["classify", "--data", str(tmp_path / "train.csv"), "--model", "conv-gru",
                 "--hidden", "4", "--epochs", "2", "--lr", "1e-7", "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    m = json.loads((out / "metrics.json").read_text())
    assert m["params"]["batch_size"] == "auto" and m["resolved"]["batch_size"] == 8
    assert m["params"]["normalize"] == "auto" and m["resolved"]["pooling"] == "max"
    assert m["early_stopping"]["max_epochs"] == 2 and m["resolved"]["validation"] == 0.0
    assert m["n_validation"] == 0 and "val_loss" not in m["history"]  # no early stopping
    assert m["warnings"] and "stayed near chance" in m["warnings"][0]
    assert "warning: training accuracy" in printed and "epochs at batch 8" in printed


def test_words_without_text_flag_names_it(tmp_path, capsys):
    p = tmp_path / "words.csv"
    p.write_text("label,text\npos,a great film\nneg,an awful film\n")
    assert main(["classify", "--data", str(p), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "look like words" in err and "--text" in err


def _offline(monkeypatch, tmp_path):
    import urllib.error

    from rnnkit.data import download

    monkeypatch.setenv("RNNKIT_CACHE", str(tmp_path / "cache"))

    def offline(url, dest, timeout=None):
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(download, "download_file", offline)
    return download


def test_mnist_by_name_offline_is_one_line(tmp_path, capsys, monkeypatch):
    _offline(monkeypatch, tmp_path)
    assert main(["classify", "--data", "mnist", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("rnnkit classify: error: could not download MNIST (URLError")
    assert str(tmp_path / "cache" / "mnist") in err[-1]
    assert not (tmp_path / "o").exists()


def test_mnist_by_name_from_the_cache_uses_feature_scaling(tmp_path, capsys, monkeypatch):
    import hashlib

    download = _offline(monkeypatch, tmp_path)
    rng = np.random.default_rng(0)
    d = tmp_path / "cache" / "mnist"
    for split, n in (("train", 30), ("t10k", 10)):
        write_idx(d / f"{split}-images-idx3-ubyte.gz",
                  rng.integers(0, 256, (n, 28, 28)).astype(np.uint8))
        write_idx(d / f"{split}-labels-idx1-ubyte.gz", (np.arange(n) % 10).astype(np.uint8))
    monkeypatch.setattr(download, "MNIST_SHA256", {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in d.iterdir()})
    out = tmp_path / "o"
    assert main(["classify", "--data", "mnist", "--model", "gru", "--hidden", "4", "--epochs",
                 "1", "--out", str(out)]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["params"]["normalize"] == "feature" and m["n_test"] == 10
    assert "(10 test sequences, gru" in capsys.readouterr().out


def test_ucr_by_name(tmp_path, capsys, monkeypatch):
    import zipfile

    download = _offline(monkeypatch, tmp_path)
    rng = np.random.default_rng(0)
    lines = ["@problemName Toy", "@univariate true", "@classLabel true down up", "@data"]
    for i in range(30):
        up = i % 2
        vals = (1 if up else -1) * np.linspace(0, 1, 8) + 0.05 * rng.standard_normal(8)
        lines.append(",".join(f"{v:.3f}" for v in vals) + (":up" if up else ":down"))
    with zipfile.ZipFile(tmp_path / "Toy.zip", "w") as z:
        z.writestr("Toy/Toy_TRAIN.ts", "\n".join(lines[:24]) + "\n")
        z.writestr("Toy/Toy_TEST.ts", "\n".join(lines[:4] + lines[24:]) + "\n")
    monkeypatch.setattr(download, "download_file",
                        lambda url, dest, timeout=None: dest.write_bytes(
                            (tmp_path / "Toy.zip").read_bytes()))
    assert main(["classify", "--data", "ucr:Toy", "--hidden", "4", "--epochs", "1",
                 "--out", str(tmp_path / "o")]) == 0
    assert ("(10 test sequences, 3 x gru-fcn reading series / series+stats / series, "
            in capsys.readouterr().out)  # ensemble auto, normalize auto
    assert main(["classify", "--data", "ucr:Toy", "--hidden", "4", "--epochs", "1",
                 "--ensemble", "1", "--out", str(tmp_path / "one")]) == 0
    assert "(10 test sequences, gru-fcn reading series+stats, " in capsys.readouterr().out
    assert main(["classify", "--data", "ucr:Toy", "--test", "x.ts"]) == 2
    assert "comes with its own test split" in capsys.readouterr().err


def test_auto_options_parse(tmp_path, capsys):
    for flag, value in (("--epochs", "0"), ("--batch-size", "many")):
        with pytest.raises(SystemExit):
            main(["classify", "--data", "x.csv", flag, value])
        assert "'auto' or a positive int" in capsys.readouterr().err


def test_ucr_archive_tsv_needs_no_label_flag(tmp_path, capsys):
    """The UCR archive's NAME_TRAIN.tsv: tab-separated, label first (whole numbers),
    values after: read with no --label-column."""
    rng = np.random.default_rng(0)
    for name, n in (("Toy_TRAIN.tsv", 40), ("Toy_TEST.tsv", 10)):
        rows = []
        for i in range(n):
            label = 1 + i % 2
            x = np.linspace(0, 1, 12) * (1 if label == 1 else -1) + rng.normal(0, 0.1, 12)
            rows.append("\t".join([str(label), *(f"{v:.3f}" for v in x)]))
        (tmp_path / name).write_text("\n".join(rows) + "\n")
    out = tmp_path / "out"
    assert main(["classify", "--data", str(tmp_path / "Toy_TRAIN.tsv"), "--test",
                 str(tmp_path / "Toy_TEST.tsv"), "--model", "gru", "--hidden", "8",
                 "--epochs", "3", "--out", str(out)]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["classes"] == ["1", "2"] and m["n_test"] == 10


def test_differences_flag_reaches_the_model(tmp_path, capsys):
    rng = np.random.default_rng(0)
    _csv(tmp_path / "train.csv", 40, rng)
    out = tmp_path / "out"
    assert main(["classify", "--data", str(tmp_path / "train.csv"), "--model", "gru",
                 "--hidden", "4", "--epochs", "1", "--differences", "--out", str(out)]) == 0
    assert "gru reading series with first differences" in capsys.readouterr().out
    m = json.loads((out / "metrics.json").read_text())
    assert m["params"]["differences"] is True and m["resolved"]["differences"] is True
    config = json.loads((out / "model" / "config.json").read_text())
    assert config["extra"]["state"]["differences"] is True


def test_crop_option(tmp_path, capsys):
    rng = np.random.default_rng(2)
    _csv(tmp_path / "train.csv", 40, rng)
    out = tmp_path / "out"
    code = main(["classify", "--data", str(tmp_path / "train.csv"), "--model", "conv-gru",
                 "--hidden", "4", "--epochs", "2", "--crop", "0.8", "--out", str(out)])
    assert code == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["params"]["crop"] == 0.8
    config = json.loads((out / "model" / "config.json").read_text())
    assert '"crop": 0.8' in json.dumps(config)  # the saved network crops in training
    capsys.readouterr()
    assert main(["classify", "--data", str(tmp_path / "train.csv"), "--model", "lstm",
                 "--crop", "0.8", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "crop=0.8 is for a model that pools over time" in err
    assert not (tmp_path / "o").exists()


def test_options_of_the_other_kind_of_data_are_refused(tmp_path, capsys):
    rng = np.random.default_rng(3)
    _csv(tmp_path / "train.csv", 20, rng)
    (tmp_path / "texts.csv").write_text("label,text\n" + "".join(
        f"{'ab'[i % 2]},word{i % 2} and more\n" for i in range(20)))
    cases = [(["--data", str(tmp_path / "train.csv"), "--vectors", "glove.vec"],
              "--vectors is for texts (--text); the data are numeric sequences"),
             (["--data", str(tmp_path / "train.csv"), "--text-column", "text"],
              "--text-column is for texts (--text); the data are numeric sequences"),
             (["--data", str(tmp_path / "train.csv"), "--level", "char"],
              "--level is for texts (--text)"),
             (["--text", "--data", str(tmp_path / "texts.csv"), "--crop", "0.9"],
              "--crop is for numeric sequences; the data are texts (--text)"),
             (["--text", "--data", str(tmp_path / "texts.csv"), "--normalize", "series"],
              "--normalize is for numeric sequences"),
             (["--data", "sentiment", "--mixup", "0.2"], "--mixup is for numeric sequences")]
    for argv, message in cases:
        assert main(["classify", *argv, "--out", str(tmp_path / "o")]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err, err
        assert not (tmp_path / "o").exists()
