"""Language model: TBPTT state carry, parity with the reference engine, the estimator contract
(history, early stopping, score, save/load in a fresh process), generation."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rnnkit.data.batching import TokenStream
from rnnkit.data.text import Vocabulary, tokenize
from rnnkit.errors import ConfigError, DataError, NotFittedError
from rnnkit.nn.config import from_config, to_config
from rnnkit.tasks.base import load_estimator
from rnnkit.tasks.lm import LanguageModelTask, RNNLanguageModel, unigram_perplexity
from rnnkit.tasks.seq2seq import Seq2SeqTask
from rnnkit.train.saving import load_model, save_model
from rnnkit.train.trainer import detach_state

SENTENCES = "the cat sat on the mat . the dog sat on the log . a cat and a dog met on a mat . "
TEXT = SENTENCES * 10  # 240 word tokens
TINY = {"embed_size": 16, "hidden_size": 16, "num_layers": 1, "dropout": 0.0, "epochs": 4,
        "batch_size": 4, "bptt": 8, "lr": 0.05, "verbose": 0}


@pytest.fixture(scope="module")
def fitted() -> LanguageModelTask:
    return LanguageModelTask(**TINY).fit(TEXT)


@pytest.fixture(scope="module")
def saved(fitted, tmp_path_factory):
    path = tmp_path_factory.mktemp("lm") / "model"
    fitted.save(path)
    return path


# -- the network ------------------------------------------------------------------------------
def test_chunked_stateful_forward_equals_one_pass():
    torch.manual_seed(0)
    m = RNNLanguageModel(11, 4, 5, num_layers=2).double().eval()
    x = torch.randint(0, 11, (3, 12))
    full, _ = m(x)
    state, parts = None, []
    for s in range(0, 12, 5):
        out, state = m(x[:, s:s + 5], detach_state(state))
        parts.append(out)
    torch.testing.assert_close(torch.cat(parts, 1), full)


def test_tied_weights_share_the_embedding():
    m = RNNLanguageModel(10, 6, 8, num_layers=1, tie_weights=True)
    assert m.out.weight is m.embed.weight
    assert m.bottleneck is not None and m.bottleneck.out_features == 6
    logits, _ = m(torch.zeros(2, 3, dtype=torch.int64))
    assert logits.shape == (2, 3, 10)


@pytest.mark.parametrize("embed_size", [6, 8])  # with and without the H -> E bottleneck
def test_config_round_trip_and_tied_weights_survive_save_model(embed_size, tmp_path):
    torch.manual_seed(0)
    m = RNNLanguageModel(10, embed_size, 8, num_layers=2, dropout=0.1, tie_weights=True,
                         cell="gru").eval()
    assert from_config(to_config(m)).get_config() == m.get_config()
    save_model(m, tmp_path / "m")
    again = load_model(tmp_path / "m").eval()
    assert again.out.weight is again.embed.weight  # shared again, not two copies
    x = torch.randint(0, 10, (2, 5))
    torch.testing.assert_close(again(x)[0], m(x)[0], rtol=0, atol=0)


def test_unigram_perplexity_by_hand():
    # train counts (+1): [3, 2, 1] over V=3 -> p = [1/2, 1/3, 1/6]; test [0, 1]
    ppl = unigram_perplexity(np.array([0, 0, 1]), np.array([0, 1]), 3)
    assert ppl == pytest.approx(math.exp(-(math.log(1 / 2) + math.log(1 / 3)) / 2))


def test_reference_engine_and_torch_reach_the_same_perplexity():
    """Same weights, same TBPTT batches, same plain SGD: losses agree to float64 precision."""
    ref_models = pytest.importorskip("rnnkit.ref.models")
    vocab = Vocabulary.build(tokenize(TEXT))
    ids = vocab.encode(tokenize(TEXT))[:200]
    V, E, H = len(vocab), 6, 7
    ref = ref_models.RnnLM(V, E, H, dtype="float64", seed=0)
    tm = RNNLanguageModel(V, E, H, num_layers=1).double()
    with torch.no_grad():
        emb, w_ih, w_hh, b_ih, b_hh, w_out, b_out = (torch.from_numpy(p) for p in ref.params)
        tm.embed.weight.copy_(emb)
        cell = tm.rnn.cells[0]
        cell.weight_ih.copy_(w_ih)
        cell.weight_hh.copy_(w_hh)
        cell.bias_ih.copy_(b_ih)
        cell.bias_hh.copy_(b_hh)
        tm.out.weight.copy_(w_out)
        tm.out.bias.copy_(b_out)
    opt = torch.optim.SGD(tm.parameters(), lr=0.5)
    stream = TokenStream(ids, batch_size=4, bptt=5)
    ref_losses, t_losses = [], []
    for _ in range(2):  # epochs
        ref.reset_state()
        state = None
        for x, y in stream:
            ref_losses.append(ref.forward(x.numpy(), y.numpy()))
            ref.backward()
            for p, g in zip(ref.params, ref.grads, strict=True):
                p -= 0.5 * g
            logits, state = tm(x, detach_state(state))
            loss = F.cross_entropy(logits.reshape(-1, V), y.reshape(-1))
            opt.zero_grad()
            loss.backward()
            opt.step()
            t_losses.append(loss.item())
    np.testing.assert_allclose(t_losses, ref_losses, rtol=1e-9)
    assert ref_losses[-1] < ref_losses[0]  # it did learn


# -- the estimator ----------------------------------------------------------------------------
def test_fit_history_and_held_out_perplexity(fitted):
    h = fitted.history_
    assert set(h) == {"loss", "perplexity", "val_loss", "val_perplexity", "lr"}
    assert all(len(v) == 4 for v in h.values())
    assert h["val_perplexity"][-1] < h["val_perplexity"][0]
    assert h["val_perplexity"][-1] < fitted.unigram_perplexity_ / 3
    assert (fitted.n_train_, fitted.n_validation_) == (216, 24)  # the last tenth held out
    # val_perplexity is exact per token: the held-out tail read as the same streams
    # (min(batch_size, (24 - 1) // bptt) = 2) with the kept (best, here last) weights
    tail = " ".join(tokenize(TEXT)[-24:])
    assert fitted.perplexity(tail, batch_size=2) == pytest.approx(h["val_perplexity"][-1])


def test_score_is_minus_the_mean_cross_entropy_per_token(fitted):
    text = SENTENCES * 2
    ids = torch.from_numpy(fitted.vocab_.encode(tokenize(text)))
    with torch.no_grad():
        logits, _ = fitted.model_(ids[None, :-1])  # one pass over the whole text
    nll = F.cross_entropy(logits[0], ids[1:]).item()
    assert fitted.score(text) == pytest.approx(-nll, rel=1e-5)
    assert fitted.perplexity(text) == pytest.approx(math.exp(nll), rel=1e-5)
    assert fitted.score([SENTENCES, SENTENCES]) == pytest.approx(fitted.score(text), rel=1e-5)


def test_generate_and_predict(fitted):
    out = fitted.generate("the cat", length=6, temperature=0.8, top_k=3, seed=1)
    assert out.startswith("the cat ") and len(tokenize(out)) == 8
    assert fitted.generate("the", length=5, seed=2) == fitted.generate("the", length=5, seed=2)
    greedy = fitted.predict(["the cat", "a dog"], length=6)
    assert greedy == [fitted.generate(p, 6, temperature=0) for p in ("the cat", "a dog")]
    assert fitted.predict("the cat", length=6) == greedy[:1]
    with pytest.raises(ConfigError, match="top_k must be a positive int or None, got 0"):
        fitted.generate("a", top_k=0)
    with pytest.raises(ConfigError, match="length must be a positive int, got -5"):
        fitted.generate("a", length=-5)


def test_early_stopping_shows_in_the_history():
    # the held-out tail is all "c", a token the training part never has (<unk>): learning
    # "a b a b" makes the held-out loss rise from the first epoch on
    text = "a b " * 100 + "c " * 30
    lm = LanguageModelTask(embed_size=8, hidden_size=8, num_layers=1, epochs=10, batch_size=4,
                           bptt=8, lr=0.05, validation=30, patience=1, verbose=0).fit(text)
    val = lm.history_["val_loss"]
    assert len(val) == 2 and val[1] > val[0]  # stopped after one epoch without improvement
    assert lm.fit_status_ == "ok"


def test_progress_line_per_epoch_with_verbose_2(capsys):
    params = {**TINY, "epochs": 2, "verbose": 2}
    LanguageModelTask(**params).fit(SENTENCES * 4)
    captured = capsys.readouterr()
    lines = [ln for ln in captured.err.splitlines() if ln.startswith("epoch ")]
    assert [ln.split(" - ")[0] for ln in lines] == ["epoch 1/2", "epoch 2/2"]
    assert "val_perplexity" in lines[0] and captured.out == ""


def test_saved_model_answers_the_same_in_a_fresh_process(fitted, saved):
    code = textwrap.dedent("""
        import json, sys
        import torch
        torch.set_num_threads(1)
        from rnnkit.tasks.base import load_estimator
        lm = load_estimator(sys.argv[1])
        print(json.dumps({"predict": lm.predict(["the cat", "a dog"], length=6),
                          "sample": lm.generate("the", 8, temperature=0.8, top_k=3, seed=5),
                          "score": lm.score(sys.argv[2]),
                          "unigram": lm.unigram_perplexity_}))
    """)
    run = subprocess.run([sys.executable, "-c", code, str(saved), SENTENCES * 2],
                         capture_output=True, text=True, check=True)
    got = json.loads(run.stdout)
    assert got["predict"] == fitted.predict(["the cat", "a dog"], length=6)
    assert got["sample"] == fitted.generate("the", 8, temperature=0.8, top_k=3, seed=5)
    assert got["score"] == pytest.approx(fitted.score(SENTENCES * 2), rel=1e-6)
    assert got["unigram"] == pytest.approx(fitted.unigram_perplexity_)


def test_load_keeps_params_history_and_refuses_another_task(fitted, saved):
    again = load_estimator(saved)
    assert isinstance(again, LanguageModelTask)
    assert again.get_params() == fitted.get_params()
    assert again.history_.keys() == fitted.history_.keys()
    for key, values in fitted.history_.items():
        assert again.history_[key] == pytest.approx(values)
    assert again.vocab_ == fitted.vocab_
    with pytest.raises(DataError, match="holds a language model, not a seq2seq model"):
        Seq2SeqTask.load(saved)


def test_not_fitted():
    lm = LanguageModelTask()
    for call in (lambda: lm.predict(["a"]), lambda: lm.score("a b c"), lambda: lm.generate(),
                 lambda: lm.perplexity("a b"), lambda: lm.save("never")):
        with pytest.raises(NotFittedError, match="this LanguageModelTask is not fitted yet"):
            call()


def test_options_are_checked_at_fit_not_in_init():
    lm = LanguageModelTask(level="byte", patience=-1)  # stored as given
    assert lm.level == "byte"
    with pytest.raises(ConfigError, match="level must be one of 'word', 'char', got 'byte'"):
        lm.fit(TEXT)
    with pytest.raises(ConfigError, match=r"patience must be an int >= 0 or None, got -1"):
        lm.set_params(level="word").fit(TEXT)
    with pytest.raises(ConfigError, match=r"validation must be a fraction in \[0, 1\)"):
        LanguageModelTask(validation=1.5).fit(TEXT)
    with pytest.raises(ConfigError, match="verbose must be 'auto', 0, 1 or 2, got True"):
        LanguageModelTask(verbose=True).fit(TEXT)


def test_data_errors():
    with pytest.raises(DataError, match="the text is too short: 2 word tokens, 2 left for"):
        LanguageModelTask(batch_size=32).fit("too short")
    with pytest.raises(DataError, match="holds out 1 token of 24; hold out none"):
        LanguageModelTask(**{**TINY, "validation": 1}).fit(SENTENCES)
    with pytest.raises(TypeError, match=r"X\[1\] must be a str, got int"):
        LanguageModelTask(**TINY).fit(["a b", 3])


def test_char_level_without_validation():
    lm = LanguageModelTask(**{**TINY, "level": "char", "epochs": 1, "validation": 0})
    lm.fit(SENTENCES * 2)
    assert set(lm.history_) == {"loss", "perplexity", "lr"}
    assert lm.unigram_perplexity_ is None and lm.n_validation_ == 0
    assert len(lm.generate("ca", length=10)) == 12
