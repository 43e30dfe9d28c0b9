"""``rnnkit lm train`` / ``generate`` and ``rnnkit predict`` on a language model, end to end
on a tiny text; errors as one line, before any work."""

from __future__ import annotations

import json

import pytest
import torch

from rnnkit.cli.main import main
from rnnkit.tasks.lm import LanguageModelTask

TINY = ["--embed", "8", "--hidden", "16", "--layers", "1", "--batch-size", "4", "--bptt", "8",
        "--lr", "0.01"]


@pytest.fixture(autouse=True)
def _restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny model trained by the command (module-wide: several tests read it)."""
    tmp = tmp_path_factory.mktemp("lm")
    text = tmp / "t.txt"
    text.write_text("the cat sat on the mat . the dog sat on the log . " * 20)
    out = tmp / "lm"
    code = main(["lm", "train", "--text", str(text), *TINY, "--epochs", "2", "--out", str(out),
                 "--quiet"])
    assert code == 0
    return out


def test_train_writes_metrics_and_model(trained):
    m = json.loads((trained / "metrics.json").read_text())
    for key in ("loss", "perplexity", "val_loss", "val_perplexity"):
        assert len(m["history"][key]) == 2  # train and held-out curves, one value per epoch
    assert m["best_epoch"] in (1, 2) and m["fit_status"] == "ok"
    assert m["n_validation_tokens"] == 28 and len(m["samples"]) == 3
    assert m["params"]["bptt"] == 8 and m["params"]["validation"] == 0.1
    assert (trained / "model" / "config.json").is_file()


def test_train_prints_epochs_baseline_and_samples(tmp_path, capsys):
    text = tmp_path / "t.txt"
    text.write_text("the cat sat on the mat . the dog sat on the log . " * 20)
    assert main(["lm", "train", "--text", str(text), *TINY, "--epochs", "2", "--out",
                 str(tmp_path / "o")]) == 0
    printed = capsys.readouterr()
    assert "epoch 2/2: train perplexity" in printed.out
    assert "unigram baseline perplexity" in printed.out
    assert printed.out.count("sample: the") == 3
    assert printed.err.count("epoch ") == 2  # progress, one line per epoch (not a terminal)


def test_generate_reads_the_output_folder_or_its_model(trained, capsys):
    args = ["--prompt", "the dog", "--length", "4", "--temperature", "0"]
    assert main(["lm", "generate", "--model", str(trained), *args]) == 0
    first = capsys.readouterr().out
    assert first.startswith("the dog")
    assert main(["lm", "generate", "--model", str(trained / "model"), *args]) == 0
    assert capsys.readouterr().out == first
    expected = LanguageModelTask.load(trained / "model").predict("the dog", length=4)
    assert first == expected[0] + "\n"


def test_rnnkit_predict_continues_a_prompt(trained, tmp_path, capsys):
    out = tmp_path / "samples.txt"
    assert main(["predict", "--model", str(trained / "model"), "--prompt", "the cat",
                 "--length", "5", "--samples", "2", "--top-k", "3", "--out", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert len(lines) == 2 and all(ln.startswith("the cat") for ln in lines)
    assert "wrote" in capsys.readouterr().err
    lm = LanguageModelTask.load(trained / "model")
    assert lines == [lm.generate("the cat", 5, temperature=0.8, top_k=3, seed=s)
                     for s in (0, 1)]


def test_default_corpus_char_level_limit(tmp_path, capsys):
    code = main(["lm", "train", "--level", "char", "--limit", "2000", "--embed", "4",
                 "--hidden", "8", "--layers", "1", "--epochs", "1", "--batch-size", "4",
                 "--out", str(tmp_path / "c"), "-q"])
    assert code == 0
    assert "epoch 1/1" in capsys.readouterr().out


def test_bad_numbers_are_refused_by_the_parser(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["lm", "generate", "--model", "m", "--length", "-5"])
    assert exc.value.code == 2
    assert "--length: expected a positive int, got '-5'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["lm", "train", "--epochs", "-1"])
    assert exc.value.code == 2
    assert "--epochs: expected a positive int, got '-1'" in capsys.readouterr().err


def test_help_shows_every_default(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["lm", "train", "--help"])
    assert exc.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for default in ("(default: 35)", "(default: 0.1)", "(default: 3)", "(default: out/lm)",
                    "(default: word)", "(default: 10000)"):
        assert default in text


def test_errors_are_one_line_and_come_before_training(tmp_path, capsys):
    p = tmp_path / "bad.txt"
    p.write_bytes(b"abc \xff\xfe")
    assert main(["lm", "train", "--text", str(p), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "byte offset 4" in err and "--encoding" in err
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert main(["lm", "train", "--out", str(blocker)]) == 2  # the default corpus is not read
    out, err = capsys.readouterr()
    assert out == "" and "exists and is not a folder" in err
    assert main(["lm", "train", "--text", str(tmp_path / "none.txt"), "--out",
                 str(tmp_path / "o")]) == 2
    assert "none.txt" in capsys.readouterr().err
    assert main(["lm", "generate", "--model", str(tmp_path / "none")]) == 2
    assert "is not a saved rnnkit model" in capsys.readouterr().err


def test_predict_refuses_data_for_a_language_model(trained, tmp_path, capsys):
    (tmp_path / "x.txt").write_text("the\n")
    assert main(["predict", "--model", str(trained / "model"), "--data",
                 str(tmp_path / "x.txt")]) == 2
    assert "give the text to continue with --prompt" in capsys.readouterr().err


def test_data_is_another_name_for_text():
    """``--data FILE``, the other commands' name for the input, reads the same file."""
    from rnnkit.cli.main import build_parser

    args = build_parser().parse_args(["lm", "train", "--data", "corpus.txt"])
    assert args.text == "corpus.txt"
