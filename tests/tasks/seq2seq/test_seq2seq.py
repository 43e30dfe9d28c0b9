"""Seq2seq: attention weights, padding invariance, beam 1 == greedy, and the estimator
contract (a tiny task learned, early stopping, save/load in a fresh process)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from rnnkit.data.seq2seq_tasks import make_reversal
from rnnkit.errors import ConfigError, DataError, NotFittedError
from rnnkit.nn.config import from_config, to_config
from rnnkit.tasks.base import load_estimator
from rnnkit.tasks.lm import LanguageModelTask
from rnnkit.tasks.seq2seq import Attention, Seq2Seq, Seq2SeqTask
from rnnkit.train.saving import load_model, save_model

PAIRS = make_reversal(300, 2, 3, "abc", seed=0)  # 39 distinct strings of 2-3 letters
TINY = {"hidden_size": 16, "embed_size": 8, "epochs": 6, "batch_size": 16, "lr": 0.02,
        "verbose": 0}


@pytest.fixture(scope="module")
def fitted() -> Seq2SeqTask:
    return Seq2SeqTask(**TINY).fit(PAIRS[:240])


@pytest.fixture(scope="module")
def saved(fitted, tmp_path_factory):
    path = tmp_path_factory.mktemp("s2s") / "model"
    fitted.save(path)
    return path


@pytest.mark.parametrize("kind", ["dot", "additive"])
def test_attention_weights_sum_to_one_and_skip_padding(kind):
    torch.manual_seed(0)
    attn = Attention(6, kind).double()
    q = torch.randn(3, 4, 6, dtype=torch.float64)
    k = torch.randn(3, 5, 6, dtype=torch.float64)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0], [1, 0, 0, 0, 0]], dtype=torch.bool)
    ctx, w = attn(q, k, mask)
    assert w.shape == (3, 4, 5) and ctx.shape == (3, 4, 6)
    torch.testing.assert_close(w.sum(-1), torch.ones(3, 4, dtype=torch.float64))
    assert (w[1, :, 2:] == 0).all() and (w[2, :, 1:] == 0).all()
    torch.testing.assert_close(ctx[2], k[2, :1].expand(4, 6))  # one valid step: all weight
    # weights by hand for the dot product
    if kind == "dot":
        s = q[0] @ k[0].T
        torch.testing.assert_close(w[0], torch.softmax(s, -1))


def test_attention_bad_kind():
    with pytest.raises(ValueError, match=r"attention must be one of \('dot', 'additive'\)"):
        Attention(4, "cosine")


@pytest.mark.parametrize("options", [
    {"cell": "lstm", "attention": "additive", "reverse_source": True},
    {"cell": "gru", "peeky": True},
    {"cell": "lstm", "attention": "dot", "peeky": True, "num_layers": 2},
])
def test_padded_batch_equals_per_sequence(options):
    torch.manual_seed(0)
    m = Seq2Seq(9, 7, embed_size=5, hidden_size=6, **options).double().eval()
    srcs = [torch.tensor([3, 4, 5, 6]), torch.tensor([7, 2]), torch.tensor([8, 3, 2])]
    tgt = torch.tensor([[2, 4, 5], [2, 6, 4], [2, 5, 5]])
    src = torch.zeros(3, 4, dtype=torch.int64)
    for i, s in enumerate(srcs):
        src[i, :len(s)] = s
    batch = m(src, torch.tensor([4, 2, 3]), tgt)  # (B, T, V)
    for i, s in enumerate(srcs):
        one = m(s[None], torch.tensor([len(s)]), tgt[i:i + 1])
        torch.testing.assert_close(batch[i:i + 1], one)


@pytest.mark.parametrize("attention", [None, "dot"])
def test_beam_one_equals_greedy(attention):
    torch.manual_seed(1)
    m = Seq2Seq(8, 8, embed_size=4, hidden_size=8, attention=attention).eval()
    for s in ([2, 3, 4], [5, 6, 7, 2, 3]):
        src = torch.tensor([s])
        g, _ = m.greedy(src, None, bos_id=2, eos_id=3, max_len=6)
        b, score = m.beam_search(src, None, bos_id=2, eos_id=3, max_len=6, beam_size=1)
        assert b == g[0].tolist()[:len(b)]
        gl = g[0].tolist()
        assert b == (gl[:gl.index(3) + 1] if 3 in gl else gl)
        # the score is the sum of the greedy tokens' log-probabilities
        tgt_in = torch.tensor([[2, *b[:-1]]])
        with torch.no_grad():
            logp = torch.log_softmax(m(src, None, tgt_in), -1)[0]
        assert score == pytest.approx(float(logp[torch.arange(len(b)), b].sum()), abs=1e-5)


def test_beam_search_finds_at_least_greedy_score():
    torch.manual_seed(2)
    m = Seq2Seq(8, 8, embed_size=4, hidden_size=8).eval()
    src = torch.tensor([[4, 5, 6]])
    _, s1 = m.beam_search(src, None, 2, 3, 6, beam_size=1)
    _, s4 = m.beam_search(src, None, 2, 3, 6, beam_size=4)
    assert s4 >= s1 - 1e-9


def test_model_argument_errors():
    with pytest.raises(ValueError, match=r"cell must be one of \('lstm', 'gru'\), got 'rnn'"):
        Seq2Seq(5, 5, cell="rnn")
    with pytest.raises(ValueError, match="hidden_size must be a positive int, got 0"):
        Seq2Seq(5, 5, hidden_size=0)
    m = Seq2Seq(5, 5)
    with pytest.raises(ValueError, match="beam_search decodes one source, got a batch of 2"):
        m.beam_search(torch.zeros(2, 3, dtype=torch.int64), None, 2, 3, 4)


def test_model_config_round_trip_and_save_model(tmp_path):
    torch.manual_seed(0)
    m = Seq2Seq(9, 7, embed_size=5, hidden_size=6, attention="additive", peeky=True,
                reverse_source=True, num_layers=2, dropout=0.1).eval()
    assert from_config(to_config(m)).get_config() == m.get_config()
    save_model(m, tmp_path / "m")
    again = load_model(tmp_path / "m").eval()
    src, tgt = torch.tensor([[3, 4, 5], [6, 7, 0]]), torch.tensor([[2, 4], [2, 5]])
    n = torch.tensor([3, 2])
    torch.testing.assert_close(again(src, n, tgt), m(src, n, tgt), rtol=0, atol=0)


# -- the estimator ----------------------------------------------------------------------------
def test_task_learns_reversal(fitted):
    h = fitted.history_
    assert set(h) == {"loss", "val_loss", "lr"} and len(h["val_loss"]) == 6
    assert h["loss"][-1] < h["loss"][0] / 4
    assert (fitted.n_train_, fitted.n_validation_) == (216, 24)  # validation=0.1 held out
    assert fitted.score(PAIRS[240:]) > 0.9
    sources, targets = [s for s, _ in PAIRS[240:]], [t for _, t in PAIRS[240:]]
    assert fitted.score(sources, targets) == fitted.score(PAIRS[240:])
    assert fitted.predict("abc") == fitted.predict(["abc"]) == ["cba"]
    assert fitted.score(PAIRS[240:260], beam_size=2) > 0.9
    w, src_toks, out = fitted.attention_weights("abc")
    np.testing.assert_allclose(w.sum(1), 1, rtol=1e-5)
    assert src_toks == list("abc") and w.shape == (len(out), 3)


def test_fit_on_sources_and_targets_equals_fit_on_pairs():
    few = PAIRS[:40]
    a = Seq2SeqTask(**{**TINY, "epochs": 1}).fit(few)
    b = Seq2SeqTask(**{**TINY, "epochs": 1}).fit([s for s, _ in few], [t for _, t in few])
    assert a.history_ == b.history_
    with pytest.raises(DataError, match="X and y must have the same length, got 2 sources "
                                        "and 1 targets"):
        Seq2SeqTask().fit(["ab", "ba"], ["ba"])
    with pytest.raises(TypeError, match=r"X\[0\] must be a \(source, target\) pair of str"):
        Seq2SeqTask().fit(["ab", "ba"])


def test_early_stopping_shows_in_the_history():
    # targets unrelated to the sources: the model can only memorise, and the held-out
    # loss rises after a few epochs
    rng = np.random.default_rng(0)
    noise = [("".join(rng.choice(list("abcd"), 4)), "".join(rng.choice(list("wxyz"), 4)))
             for _ in range(120)]
    est = Seq2SeqTask(hidden_size=32, embed_size=8, epochs=30, batch_size=8, lr=0.03,
                      validation=0.25, patience=1, verbose=0).fit(noise)
    val = est.history_["val_loss"]
    assert 2 <= len(val) < 30 and val[-1] > min(val)  # stopped one epoch after the best
    assert est.n_validation_ == 30


def test_progress_line_per_epoch_with_verbose_2(capsys):
    Seq2SeqTask(**{**TINY, "epochs": 2, "verbose": 2}).fit(PAIRS[:40])
    captured = capsys.readouterr()
    lines = [ln for ln in captured.err.splitlines() if ln.startswith("epoch ")]
    assert [ln.split(" - ")[0] for ln in lines] == ["epoch 1/2", "epoch 2/2"]
    assert "val_loss" in lines[0] and captured.out == ""


def test_saved_model_answers_the_same_in_a_fresh_process(fitted, saved):
    sources = ["abc", "ca", "bbc", "cab"]
    code = textwrap.dedent("""
        import json, sys
        import torch
        torch.set_num_threads(1)
        from rnnkit.tasks.base import load_estimator
        est = load_estimator(sys.argv[1])
        sources = json.loads(sys.argv[2])
        print(json.dumps({"greedy": est.predict(sources),
                          "beam": est.predict(sources, beam_size=3)}))
    """)
    run = subprocess.run([sys.executable, "-c", code, str(saved), json.dumps(sources)],
                         capture_output=True, text=True, check=True)
    got = json.loads(run.stdout)
    assert got["greedy"] == fitted.predict(sources)
    assert got["beam"] == fitted.predict(sources, beam_size=3)


def test_load_keeps_state_and_refuses_another_task(fitted, saved):
    again = load_estimator(saved)
    assert isinstance(again, Seq2SeqTask) and again.get_params() == fitted.get_params()
    assert again.src_vocab_ == fitted.src_vocab_ and again.tgt_vocab_ == fitted.tgt_vocab_
    assert again.max_target_len_ == fitted.max_target_len_ == 3
    with pytest.raises(DataError, match="holds a seq2seq model, not a language model"):
        LanguageModelTask.load(saved)


def test_not_fitted():
    est = Seq2SeqTask()
    for call in (lambda: est.predict(["ab"]), lambda: est.score([("ab", "ba")]),
                 lambda: est.attention_weights("ab"), lambda: est.save("never")):
        with pytest.raises(NotFittedError, match="this Seq2SeqTask is not fitted yet"):
            call()


def test_options_are_checked_at_fit_not_in_init():
    est = Seq2SeqTask(level="byte")  # stored as given
    with pytest.raises(ConfigError, match="level must be one of 'char', 'word', got 'byte'"):
        est.fit(PAIRS[:10])
    with pytest.raises(ConfigError, match="attention must be one of 'dot', 'additive', None, "
                                          "got 'cosine'"):
        Seq2SeqTask(attention="cosine").fit(PAIRS[:10])
    with pytest.raises(ConfigError, match="peeky must be True or False, got 1"):
        Seq2SeqTask(peeky=1).fit(PAIRS[:10])


def test_data_errors(fitted):
    with pytest.raises(DataError, match="pair 1 has an empty source"):
        Seq2SeqTask().fit([("ab", "ba"), ("", "x")])
    with pytest.raises(DataError, match="fit needs at least one training pair: 1 pair"):
        Seq2SeqTask(validation=1).fit([("ab", "ba")])
    with pytest.raises(DataError, match=r"X\[1\] is an empty source"):
        fitted.predict(["ab", ""])
