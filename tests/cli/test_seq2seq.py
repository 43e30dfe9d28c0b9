"""``rnnkit seq2seq`` and ``rnnkit predict`` on a seq2seq model, end to end on a tiny task;
errors as one line, exit 2, before any work."""

from __future__ import annotations

import json

import pytest
import torch

from rnnkit.cli.main import main
from rnnkit.tasks.seq2seq import Seq2SeqTask

TINY = ["--hidden", "16", "--embed", "8", "--epochs", "2", "--batch-size", "32"]


@pytest.fixture(autouse=True)
def _restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_reversal_with_attention_then_predict(tmp_path, capsys):
    out = tmp_path / "o"
    code = main(["seq2seq", "--task", "reversal", "--n", "300", "--test", "50", *TINY,
                 "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr()
    m = json.loads((out / "metrics.json").read_text())
    assert f"exact match: {m['exact_match']:.4f}" in printed.out
    assert printed.err.count("epoch ") == 2  # progress, one line per epoch
    assert len(m["history"]["loss"]) == len(m["history"]["val_loss"]) == 2
    assert (m["n_train"], m["n_validation"], m["n_test"]) == (225, 25, 50)
    assert m["params"]["attention"] == "dot" and m["params"]["reverse_source"] is True
    assert (out / "attention.png").stat().st_size > 0
    assert (out / "samples.txt").read_text().count("\n") == 50
    # rnnkit predict: one source per line (a TSV's first field), source<TAB>prediction
    sources = tmp_path / "sources.txt"
    sources.write_text("abcd\n\ncab\tbac\n")
    pred = tmp_path / "pred.tsv"
    assert main(["predict", "--model", str(out / "model"), "--data", str(sources),
                 "--beam", "2", "--out", str(pred)]) == 0
    expected = Seq2SeqTask.load(out / "model").predict(["abcd", "cab"], beam_size=2)
    assert pred.read_text() == f"abcd\t{expected[0]}\ncab\t{expected[1]}\n"


def test_tsv_word_level(tmp_path, capsys):
    p = tmp_path / "p.tsv"
    p.write_text("".join(f"go {i}\tva {i}\n" for i in range(30)))
    code = main(["seq2seq", "--data", str(p), "--level", "word", "--test", "5", "--hidden",
                 "8", "--epochs", "1", "--attention", "none", "--no-peeky", "--beam", "2",
                 "--out", str(tmp_path / "o"), "-q"])
    assert code == 0
    assert "5 held-out pairs" in capsys.readouterr().out
    assert not (tmp_path / "o" / "attention.png").exists()
    # without --test: a tenth of the file's pairs (the default of 5,000 refused a small file)
    code = main(["seq2seq", "--data", str(p), "--level", "word", "--hidden", "8", "--epochs",
                 "1", "--out", str(tmp_path / "o2"), "-q"])
    assert code == 0 and "3 held-out pairs" in capsys.readouterr().out


def test_help_shows_every_default(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["seq2seq", "--help"])
    assert exc.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for default in ("(default: 50000)", "(default: auto)", "(default: dot)", "(default: True)",
                    "(default: 0.1)", "(default: 3)", "(default: out/seq2seq)", "(default: 0.002)"):
        assert default in text


def test_errors_are_one_line_and_come_before_training(tmp_path, capsys):
    p = tmp_path / "p.tsv"
    p.write_text("only one field\n")
    assert main(["seq2seq", "--data", str(p), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "tab-separated" in err
    assert main(["seq2seq", "--task", "addition", "--n", "10", "--test", "10",
                 "--out", str(tmp_path / "o")]) == 2
    assert "--test must be smaller than --n (10)" in capsys.readouterr().err
    p.write_text("ab\tba\ncd\tdc\n")
    assert main(["seq2seq", "--data", str(p), "--test", "5", "--out", str(tmp_path / "o")]) == 2
    assert "--test must be smaller than the 2 pairs" in capsys.readouterr().err
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert main(["seq2seq", "--out", str(blocker)]) == 2  # 50,000 pairs are not generated
    out, err = capsys.readouterr()
    assert out == "" and "exists and is not a folder" in err
    with pytest.raises(SystemExit) as exc:
        main(["seq2seq", "--test", "0"])
    assert exc.value.code == 2
    assert not (tmp_path / "o").exists()


def test_predict_needs_sources(tmp_path, capsys):
    p = tmp_path / "p.tsv"
    p.write_text("".join(f"{s}\t{s[::-1]}\n" for s in ("ab", "ba", "abc", "cab", "bca")))
    assert main(["seq2seq", "--data", str(p), "--test", "1", "--hidden", "4", "--embed", "4",
                 "--epochs", "1", "--validation", "0", "--out", str(tmp_path / "o"),
                 "-q"]) == 0
    capsys.readouterr()
    assert main(["predict", "--model", str(tmp_path / "o" / "model")]) == 2
    assert "--data is required for a seq2seq model" in capsys.readouterr().err
