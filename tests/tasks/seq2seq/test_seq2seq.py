"""Seq2seq: attention weights, padding invariance, beam 1 == greedy, a tiny task learned."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnkit.data.seq2seq_tasks import make_reversal
from rnnkit.tasks.seq2seq import Attention, Seq2Seq, Seq2SeqTask


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


def test_task_learns_reversal_and_roundtrips(tmp_path):
    pairs = make_reversal(1200, 2, 4, "abcd", seed=0)
    task = Seq2SeqTask(hidden_size=32, embed_size=16, attention="dot", epochs=6, batch_size=32,
                       lr=0.01, seed=0).fit(pairs[:1000])
    loss = task.history_.history["loss"]
    assert loss[-1] < loss[0] / 4
    acc = task.score(pairs[1000:])
    assert acc > 0.9
    w, src_toks, out = task.attention_weights("abcd")
    np.testing.assert_allclose(w.sum(1), 1, rtol=1e-5)
    assert src_toks == list("abcd") and w.shape == (len(out), 4)
    task.save(tmp_path / "m")
    again = Seq2SeqTask.load(tmp_path / "m")
    assert again.predict(["abc", "dcb"]) == task.predict(["abc", "dcb"])
    assert again.score(pairs[1000:1050], beam_size=2) >= 0.8


def test_task_errors():
    with pytest.raises(ValueError, match="not fitted"):
        Seq2SeqTask().predict(["x"])
    with pytest.raises(ValueError, match="level must be 'char' or 'word', got 'byte'"):
        Seq2SeqTask(level="byte")
