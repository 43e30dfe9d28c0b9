"""``rnnkit lm train`` / ``generate`` end to end on a tiny text; errors as one line."""

from __future__ import annotations

import json

import pytest
import torch

from rnnkit.cli.main import main


@pytest.fixture(autouse=True)
def _restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_train_then_generate(tmp_path, capsys):
    text = tmp_path / "t.txt"
    text.write_text("the cat sat on the mat . the dog sat on the log . " * 20)
    out = tmp_path / "lm"
    code = main(["lm", "train", "--text", str(text), "--embed", "8", "--hidden", "16",
                 "--layers", "1", "--epochs", "2", "--batch-size", "4", "--bptt", "8",
                 "--lr", "0.01", "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "epoch 2/2" in printed and "unigram baseline perplexity" in printed
    assert printed.count("sample: the") == 3
    m = json.loads((out / "metrics.json").read_text())
    assert len(m["val_perplexity"]) == 2
    assert main(["lm", "generate", "--model", str(out), "--prompt", "the dog", "--length",
                 "4", "--top-k", "3"]) == 0
    assert capsys.readouterr().out.startswith("the dog")


def test_default_corpus_char_level_limit(tmp_path, capsys):
    code = main(["lm", "train", "--level", "char", "--limit", "3000", "--embed", "4",
                 "--hidden", "8", "--layers", "1", "--epochs", "1", "--batch-size", "4",
                 "--out", str(tmp_path / "c")])
    assert code == 0
    assert "epoch 1/1" in capsys.readouterr().out


def test_errors(tmp_path, capsys):
    p = tmp_path / "bad.txt"
    p.write_bytes(b"abc \xff\xfe")
    assert main(["lm", "train", "--text", str(p)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "byte offset 4" in err and "--encoding" in err
    assert main(["lm", "generate", "--model", str(tmp_path / "none")]) == 2
    assert "no valid config.json" in capsys.readouterr().err
