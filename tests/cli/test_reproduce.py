"""``rnnkit reproduce`` and the examples that reproduce published experiments: each prints
our figure beside the published one (or says that none exists). The assertions are on OUR
figures, from runs small enough to take a second or two."""

import importlib.util
import json
import re
from pathlib import Path

import pytest

from rnnkit.cli.main import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run_example(name: str, argv: list[str]) -> int:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main(argv)


def table_rows(text: str) -> dict[str, tuple[float, str]]:
    """``{row: (ours, published)}`` from the printed geron table."""
    rows = {}
    for line in text.splitlines():
        m = re.match(r"(\w+)\s+(\d+\.\d{4})\s{2}(\S+(?: \(0\.223 older\))?)\s", line)
        if m:
            rows[m[1]] = (float(m[2]), m[3])
    return rows


def test_reproduce_geron_naive_rows_match_the_book(tmp_path, capsys):
    # no training: the book's data (10,000 series, seed 42) and the last-value forecasts
    assert main(["reproduce", "geron", "--models", "naive", "naive10",
                 "--out", str(tmp_path / "g")]) == 0
    rows = table_rows(capsys.readouterr().out)
    ours, published = rows["naive"]
    assert published == "0.0202" and ours == pytest.approx(0.0202, abs=0.001)
    ours, published = rows["naive10"]
    assert published == "0.257 (0.223 older)" and 0.22 < ours < 0.27
    from PIL import Image

    with Image.open(tmp_path / "g" / "geron.png") as png:
        assert png.width >= 900  # readable: labels fit beside horizontal bars


def test_reproduce_geron_rows(tmp_path, capsys):
    out = tmp_path / "g"
    rc = main(["reproduce", "geron", "--models", "naive", "linear10", "--epochs", "1",
               "--repeats", "2",
               "--n-series", "40", "--out", str(out)])
    assert rc == 0
    text, err = capsys.readouterr()
    rows = table_rows(text)
    assert rows["naive"][1] == "0.0202" and rows["linear10"][1] == "0.0187"
    res = json.loads((out / "results.json").read_text())
    assert [r["key"] for r in res["rows"]] == ["naive", "linear10"]
    assert len(res["rows"][0]["runs"]) == 1 and res["rows"][1]["seeds"] == [42, 43]
    assert res["rows"][1]["val_mse"] == sum(res["rows"][1]["runs"]) / 2
    assert rows["linear10"][0] == pytest.approx(res["rows"][1]["val_mse"], abs=5e-5)
    assert (out / "geron.png").is_file()
    # progress on stderr, one line per epoch, named after the row (two seeds: two lines)
    assert [line.split(" - ")[0] for line in err.splitlines()[1:]] == [
        "linear10 epoch 1/1", "linear10 epoch 1/1"]
    assert main(["reproduce", "geron", "--models", "linear10", "--epochs", "1",
                 "--n-series", "40", "--quiet"]) == 0
    assert capsys.readouterr().err == ""


def test_reproduce_sine_prints_our_fit_and_that_nothing_is_published(tmp_path, capsys):
    rc = main(["reproduce", "sine", "--out", str(tmp_path / "s")])  # 100 epochs, < 1 s
    assert rc == 0
    line = capsys.readouterr().out.splitlines()[0]
    m = re.search(r"training MSE (\S+) before -> (\S+) after; published: no published figure "
                  r"for this experiment$", line)
    assert m, line
    before, after = float(m[1]), float(m[2])
    assert before > 0.1 and after < 0.01 * before
    assert (tmp_path / "s" / "sine.png").is_file()


def test_reproduce_bad_row(capsys):
    assert main(["reproduce", "geron", "--models", "nope"]) == 2
    assert "unknown row 'nope'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:  # refused by the parser, before any work
        main(["reproduce", "sine", "--epochs", "0"])
    assert exit_info.value.code == 2
    assert "--epochs: expected a positive int, got '0'" in capsys.readouterr().err


def test_sine_ref_example(tmp_path, capsys):
    assert run_example("sine_ref", ["--epochs", "100", "--out", str(tmp_path / "s.png")]) == 0
    out = capsys.readouterr().out
    after = float(re.search(r"MSE after 100 epochs: (\S+)", out)[1])
    assert after < 0.005
    assert "published: no published figure for this experiment" in out


def test_rnnlm_ref_example_prints_the_books_perplexity(tmp_path, capsys):
    words = [f"w{i % 7}" if i % 3 else f"v{i % 5}" for i in range(400)]  # a few patterns
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(" ".join(words), encoding="utf-8")
    assert run_example("rnnlm_ref", ["--path", str(corpus), "--epochs", "2",
                                     "--batch-size", "2", "--time-size", "5", "--embed", "8",
                                     "--hidden", "8", "--lr", "1.0"]) == 0
    out = capsys.readouterr().out
    untrained = float(re.search(r"epoch 0: held-out perplexity (\S+)", out)[1])
    ours = float(re.search(r"ours: held-out perplexity (\S+) after 2 epochs", out)[1])
    assert ours < untrained  # it learns something
    assert "published: DLS2 ch. 6 Rnnlm (LSTM 100) on PTB" in out and "about 136" in out


def test_one_to_many_example(capsys):
    assert run_example("one_to_many", ["--epochs", "3", "--n", "500"]) == 0
    out = capsys.readouterr().out
    m = re.search(r"test MSE (\S+) vs (\S+) for predicting zeros", out)
    assert float(m[1]) < 0.85 * float(m[2])  # three short epochs already beat zeros
    assert "published: no published figure for this experiment" in out
