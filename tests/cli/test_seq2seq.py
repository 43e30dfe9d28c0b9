"""``rnnkit seq2seq`` end to end on a tiny task; errors as one line, exit 2."""

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


def test_reversal_with_attention(tmp_path, capsys):
    out = tmp_path / "o"
    code = main(["seq2seq", "--task", "reversal", "--n", "300", "--test", "50", "--attention",
                 "dot", "--hidden", "16", "--embed", "8", "--epochs", "1", "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    m = json.loads((out / "metrics.json").read_text())
    assert f"exact match: {m['exact_match']:.4f}" in printed
    assert (out / "attention.png").stat().st_size > 0
    assert (out / "samples.txt").read_text().count("\n") == 50


def test_tsv_word_level(tmp_path, capsys):
    p = tmp_path / "p.tsv"
    p.write_text("".join(f"go {i}\tva {i}\n" for i in range(30)))
    code = main(["seq2seq", "--data", str(p), "--level", "word", "--test", "5", "--hidden",
                 "8", "--epochs", "1", "--peeky", "--reverse", "--beam", "2", "--out",
                 str(tmp_path / "o")])
    assert code == 0
    assert "5 held-out pairs" in capsys.readouterr().out


def test_errors(tmp_path, capsys):
    p = tmp_path / "p.tsv"
    p.write_text("only one field\n")
    assert main(["seq2seq", "--data", str(p)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "tab-separated" in err
    assert main(["seq2seq", "--task", "addition", "--n", "10", "--test", "10"]) == 2
    assert "--test must be between 1 and 9" in capsys.readouterr().err
