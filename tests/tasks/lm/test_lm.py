"""Language model: TBPTT state carry, parity with the reference engine, fit, generation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rnnkit.data.batching import TokenStream
from rnnkit.data.text import Vocabulary, tokenize
from rnnkit.tasks.lm import LanguageModelTask, RNNLanguageModel, detach, unigram_perplexity

TEXT = ("the cat sat on the mat . the dog sat on the log . a cat and a dog met on a mat . "
        * 30)


def test_chunked_stateful_forward_equals_one_pass():
    torch.manual_seed(0)
    m = RNNLanguageModel(11, 4, 5, num_layers=2).double().eval()
    x = torch.randint(0, 11, (3, 12))
    full, _ = m(x)
    state, parts = None, []
    for s in range(0, 12, 5):
        out, state = m(x[:, s:s + 5], detach(state))
        parts.append(out)
    torch.testing.assert_close(torch.cat(parts, 1), full)


def test_tied_weights_share_the_embedding():
    m = RNNLanguageModel(10, 6, 8, num_layers=1, tie_weights=True)
    assert m.out.weight is m.embed.weight
    assert m.bottleneck is not None and m.bottleneck.out_features == 6
    logits, _ = m(torch.zeros(2, 3, dtype=torch.int64))
    assert logits.shape == (2, 3, 10)


def test_unigram_perplexity_by_hand():
    # train counts (+1): [3, 2, 1] over V=3 -> p = [1/2, 1/3, 1/6]; test [0, 1]
    ppl = unigram_perplexity(np.array([0, 0, 1]), np.array([0, 1]), 3)
    assert ppl == pytest.approx(math.exp(-(math.log(1 / 2) + math.log(1 / 3)) / 2))


def test_reference_engine_and_torch_reach_the_same_perplexity():
    """Same weights, same TBPTT batches, same plain SGD: losses agree to float64 precision."""
    ref_models = pytest.importorskip("rnnkit.ref.models")
    vocab = Vocabulary.build(tokenize(TEXT))
    ids = vocab.encode(tokenize(TEXT))[:400]
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
            logits, state = tm(x, detach(state))
            loss = F.cross_entropy(logits.reshape(-1, V), y.reshape(-1))
            opt.zero_grad()
            loss.backward()
            opt.step()
            t_losses.append(loss.item())
    np.testing.assert_allclose(t_losses, ref_losses, rtol=1e-9)
    ppl_ref, ppl_torch = math.exp(np.mean(ref_losses[-20:])), math.exp(np.mean(t_losses[-20:]))
    assert abs(ppl_ref - ppl_torch) / ppl_ref < 0.02  # the acceptance bound; far closer here
    assert ref_losses[-1] < ref_losses[0]  # it did learn


def test_task_fit_perplexity_falls_and_generates(tmp_path):
    task = LanguageModelTask(embed_size=16, hidden_size=32, num_layers=1, dropout=0.0,
                             epochs=3, batch_size=4, bptt=8, lr=0.01)
    seen = []
    task.fit(TEXT, on_epoch_end=lambda e, logs: seen.append(e))
    assert seen == [0, 1, 2]
    val = task.history_["val_perplexity"]
    assert val[-1] < val[0] and val[-1] < task.unigram_perplexity_ / 2
    out = task.generate("the cat", length=6, temperature=0.8, top_k=3, seed=1)
    assert out.startswith("the cat ") and len(tokenize(out)) == 8
    assert task.generate("the", length=5, seed=2) == task.generate("the", length=5, seed=2)
    task.save(tmp_path / "lm")
    again = LanguageModelTask.load(tmp_path / "lm")
    assert again.generate("the", 5, temperature=0) == task.generate("the", 5, temperature=0)
    assert again.perplexity(TEXT[:300]) == pytest.approx(task.perplexity(TEXT[:300]))


def test_char_level_and_errors():
    task = LanguageModelTask(level="char", embed_size=8, hidden_size=16, num_layers=1,
                             epochs=1, batch_size=4, bptt=10)
    task.fit(TEXT[:600])
    assert len(task.generate("ca", length=10)) == 12
    with pytest.raises(ValueError, match="top_k must be None or a positive int, got 0"):
        task.generate("a", top_k=0)
    with pytest.raises(ValueError, match="level must be 'word' or 'char', got 'byte'"):
        LanguageModelTask(level="byte")
    with pytest.raises(ValueError, match="the text is too short"):
        LanguageModelTask(batch_size=32).fit("too short")
