"""``rnnkit predict`` serves every saved task: each model is trained by its own command on
tiny files, then ``rnnkit predict`` on raw inputs must give what the loaded estimator gives;
and every command shows progress lines when stderr is not a terminal."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest

from rnnkit.cli.main import main
from rnnkit.data.idx import write_idx
from rnnkit.tasks.base import load_estimator

TINY = ["--epochs", "2", "--hidden", "4"]


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def _check_class_predictions(model_dir, X, text):
    est = load_estimator(model_dir)
    rows = _rows(text)
    names = [str(c) for c in est.classes_]
    assert rows[0] == ["index", "prediction", *[f"p_{c}" for c in names]]
    assert [r[1] for r in rows[1:]] == [str(c) for c in est.predict(X)]
    proba = np.asarray([[float(v) for v in r[2:]] for r in rows[1:]])
    np.testing.assert_allclose(proba, est.predict_proba(X), rtol=1e-5, atol=1e-6)


def _cases(n, rng):
    """n series of 8 steps rising ("up") or falling ("down"), with their labels."""
    for _ in range(n):
        up = rng.integers(0, 2)
        v = (1 if up else -1) * np.linspace(0, 1, 8) + 0.1 * rng.standard_normal(8)
        yield ",".join(f"{x:.3f}" for x in v), "up" if up else "down"


def _ts(path, n, rng):
    lines = ["@problemName toy", "@univariate true", "@equalLength true", "@seriesLength 8",
             "@classLabel true up down", "@data"]
    lines += [f"{values}:{label}" for values, label in _cases(n, rng)]
    path.write_text("\n".join(lines) + "\n")


def _arff(path, n, rng):
    lines = ["@relation toy", *(f"@attribute att{t} numeric" for t in range(1, 9)),
             "@attribute target {up,down}", "@data"]
    lines += [f"{values},{label}" for values, label in _cases(n, rng)]
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("suffix", [".ts", ".arff"])
def test_archive_file_classifier(tmp_path, capsys, rng, suffix):
    """The UCR/UEA archive's formats: no column flag to train on them or predict on them."""
    write = _ts if suffix == ".ts" else _arff
    train, test = tmp_path / f"train{suffix}", tmp_path / f"test{suffix}"
    write(train, 40, rng)
    write(test, 10, rng)
    out = tmp_path / "ucr"
    assert main(["classify", "--data", str(train), "--test", str(test), *TINY,
                 "--out", str(out)]) == 0
    assert "epoch 2/2" in capsys.readouterr().err  # progress lines when not a terminal
    pred = tmp_path / "pred.csv"
    assert main(["predict", "--model", str(out / "model"), "--data", str(test),
                 "--out", str(pred)]) == 0
    assert "accuracy on the labels" in capsys.readouterr().err
    from rnnkit.data.labelled import load_labelled

    _check_class_predictions(out / "model", load_labelled(test).X, pred.read_text())


def test_sequence_csv_classifier_predicts_on_rows_with_or_without_labels(tmp_path, capsys,
                                                                         rng):
    """A model trained on a sequence CSV (label last) predicts on new rows without labels
    (every column a value) and on labelled rows (the last column's cells name its classes:
    the accuracy is printed); ``--label-column none`` reads every column as a value."""
    def rows(n: int) -> tuple[np.ndarray, list[str]]:
        up = rng.integers(0, 2, n)
        X = (np.where(up, 1, -1)[:, None] * np.linspace(0, 1, 8)
             + 0.1 * rng.standard_normal((n, 8)))
        return X, ["up" if u else "down" for u in up]

    X, y = rows(40)
    train = tmp_path / "train.csv"
    train.write_text("".join(",".join(f"{v:.3f}" for v in x) + f",{c}\n" for x, c in zip(
        X, y, strict=True)))
    out = tmp_path / "seq"
    assert main(["classify", "--data", str(train), *TINY, "--out", str(out)]) == 0
    Xn, yn = rows(6)
    new = tmp_path / "new.csv"
    new.write_text("".join(",".join(f"{v:.3f}" for v in x) + "\n" for x in Xn))
    pred = tmp_path / "pred.csv"
    capsys.readouterr()
    assert main(["predict", "--model", str(out / "model"), "--data", str(new), "--out",
                 str(pred)]) == 0
    assert "accuracy" not in capsys.readouterr().err
    X3 = np.round(Xn, 3)[:, :, None]
    _check_class_predictions(out / "model", X3, pred.read_text())
    labelled = tmp_path / "labelled.csv"
    labelled.write_text("".join(",".join(f"{v:.3f}" for v in x) + f",{c}\n" for x, c in zip(
        Xn, yn, strict=True)))
    assert main(["predict", "--model", str(out / "model"), "--data", str(labelled),
                 "--out", str(pred), "--overwrite"]) == 0
    assert "accuracy on the labels" in capsys.readouterr().err
    _check_class_predictions(out / "model", X3, pred.read_text())
    assert main(["predict", "--model", str(out / "model"), "--data", str(new), "--out",
                 str(pred), "--overwrite", "--label-column", "none"]) == 0
    _check_class_predictions(out / "model", X3, pred.read_text())
    # a text label the model never saw is still a label: accuracy on the known ones
    unseen = tmp_path / "unseen.csv"
    unseen.write_text("".join(",".join(f"{v:.3f}" for v in x) + f",{c}\n" for x, c in zip(
        Xn, ["sideways", *yn[1:]], strict=True)))
    assert main(["predict", "--model", str(out / "model"), "--data", str(unseen),
                 "--out", str(pred), "--overwrite"]) == 0
    assert "(5 labelled with known classes)" in capsys.readouterr().err
    _check_class_predictions(out / "model", X3, pred.read_text())


def test_mnist_classifier_reads_raw_images(tmp_path, capsys, rng):
    d = tmp_path / "mnist"
    d.mkdir()
    for split, n in (("train", 60), ("t10k", 12)):
        y = rng.integers(0, 10, n).astype(np.uint8)
        images = (rng.integers(0, 40, (n, 6, 6)) + 20 * y[:, None, None]).astype(np.uint8)
        write_idx(d / f"{split}-images-idx3-ubyte.gz", images)
        write_idx(d / f"{split}-labels-idx1-ubyte.gz", y)
    out = tmp_path / "run"
    assert main(["classify", "--data", f"mnist:{d}", *TINY, "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["predict", "--model", str(out / "model"), "--data",
                 str(d / "t10k-images-idx3-ubyte.gz")]) == 0
    from rnnkit.data.idx import load_idx

    raw = load_idx(d / "t10k-images-idx3-ubyte.gz")  # uint8: the model scales it itself
    _check_class_predictions(out / "model", raw, capsys.readouterr().out)


def test_text_classifier(tmp_path, capsys, rng):
    words = {"pos": ["great", "fine"], "neg": ["awful", "bad"]}
    rows = ["sentiment,review"] + [f"{lab},the film is {rng.choice(words[lab])}"
                                   for lab in ("pos", "neg") * 20]
    (tmp_path / "train.csv").write_text("\n".join(rows) + "\n")
    out = tmp_path / "txt"
    assert main(["classify", "--text", "--data", str(tmp_path / "train.csv"),
                 "--label-column", "sentiment", "--text-column", "review", *TINY,
                 "--out", str(out)]) == 0
    texts = ["a great film", "awful", "the film is bad"]
    (tmp_path / "new.txt").write_text("\r\n".join(texts) + "\r\n")  # CRLF is fine
    capsys.readouterr()
    assert main(["predict", "--model", str(out / "model"), "--data",
                 str(tmp_path / "new.txt")]) == 0
    _check_class_predictions(out / "model", texts, capsys.readouterr().out)


def test_forecaster(tmp_path, capsys):
    y = 10 + np.sin(np.arange(60) / 2)
    data = tmp_path / "s.csv"
    data.write_text("y\n" + "".join(f"{v:.4f}\n" for v in y))
    out = tmp_path / "fc"
    assert main(["forecast", "--data", str(data), "--horizon", "3", "--input-len", "6",
                 "--models", "gru", *TINY, "--out", str(out)]) == 0
    assert "gru epoch 2/2" in capsys.readouterr().err
    assert main(["predict", "--model", str(out / "model"), "--data", str(data)]) == 0
    rows = _rows(capsys.readouterr().out)
    got = np.asarray([float(r[2]) for r in rows[1:]])
    np.testing.assert_allclose(got, load_estimator(out / "model").predict(y), rtol=1e-5)


def test_a_folder_that_is_no_model_is_one_line(tmp_path, capsys):
    (tmp_path / "junk").mkdir()
    assert main(["predict", "--model", str(tmp_path / "junk"), "--data", "x.csv"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "junk" in err[0] and "not a saved rnnkit model" in err[0]
