"""RnnLM, Sequential and the optimisers: gradients, training progress, bad arguments."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit import ref
from rnnkit.ref import gradcheck


def test_rnnlm_gradients(rng):
    lm = ref.RnnLM(vocab_size=7, embed_size=3, hidden_size=4, dtype="float64", seed=0)
    xs, ts = rng.integers(0, 7, (2, 4)), rng.integers(0, 7, (2, 4))

    def f():
        lm.reset_state()
        return lm.forward(xs, ts)

    f()
    lm.backward()
    assert gradcheck(f, lm.params, [g.copy() for g in lm.grads]) < 1e-6
    assert [p.shape for p in lm.params] == [(7, 3), (16, 3), (16, 4), (16,), (16,), (7, 4), (7,)]


def test_rnnlm_learns_a_periodic_stream_with_truncated_bptt():
    ids = np.tile(np.array([0, 1, 2, 3, 2, 1]), 50)
    lm = ref.RnnLM(vocab_size=4, embed_size=8, hidden_size=16, seed=0)
    opt = ref.Adam(lr=0.02)
    losses = []
    for _ in range(8):
        lm.reset_state()
        total = []
        for xs, ts in ref.tbptt_batches(ids, batch_size=4, time_size=6):
            total.append(lm.forward(xs, ts))
            lm.backward()
            ref.clip_grads(lm.grads, 5.0)
            opt.update(lm.params, lm.grads)
        losses.append(float(np.mean(total)))
    assert losses[0] > 1.0  # ~log 4 at the start
    assert losses[-1] < 0.3  # the next token is predictable from two tokens of context


def test_sequential_collects_params_and_switches_dropout():
    drop = ref.Dropout(0.5, seed=0)
    lstm = ref.TimeLSTM(2, 3, stateful=True)
    model = ref.Sequential(lstm, drop, ref.TimeLinear(3, 1))
    assert len(model.params) == 6 and len(model.grads) == 6
    model.eval()
    assert drop.training is False
    model.forward(np.zeros((1, 2, 2)))
    assert lstm.state is not None
    model.reset_state()
    assert lstm.state is None
    with pytest.raises(ValueError, match="t was given but the Sequential has no loss"):
        model.forward(np.zeros((1, 2, 2)), np.zeros((1, 2, 1)))
    with pytest.raises(TypeError, match=r"layers\[1\] must have forward and backward, got int"):
        ref.Sequential(lstm, 3)


def test_bad_layer_and_loss_input():
    with pytest.raises(ValueError, match=r"x must have last dimension 3, got shape \(2, 4\)"):
        ref.Linear(3, 2).forward(np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"xs must be a 3-d array, got shape \(2, 3\)"):
        ref.TimeLinear(3, 2).forward(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"xs must lie in \[0, 5\), got values in \[0, 5\]"):
        ref.TimeEmbedding(5, 2).forward(np.array([[0, 5]]))
    with pytest.raises(TypeError, match=r"ids must be an integer array, got dtype float64"):
        ref.Embedding(5, 2).forward(np.zeros(3))
    with pytest.raises(ValueError, match=r"p must be a float in \[0, 1\), got 1"):
        ref.Dropout(1)
    with pytest.raises(ValueError, match=r"t must have the shape of y \(2, 3\), got \(3, 2\)"):
        ref.MSELoss().forward(np.zeros((2, 3)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"ts must have shape \(2, 3\) \(scores without its last "
                                         r"axis\), got \(2, 4\)"):
        ref.SoftmaxCrossEntropy().forward(np.zeros((2, 3, 5)), np.zeros((2, 4), int))
    with pytest.raises(ValueError, match=r"ts must lie in \[0, 5\) or equal ignore_index -100, "
                                         r"got 7"):
        ref.SoftmaxCrossEntropy().forward(np.zeros((1, 2, 5)), np.array([[1, 7]]))


def test_all_targets_ignored_gives_zero_loss_and_gradient():
    loss = ref.SoftmaxCrossEntropy(ignore_index=0)
    assert loss.forward(np.ones((2, 3, 4)), np.zeros((2, 3), int)) == 0.0
    assert not loss.backward().any()


def test_bad_optimiser_arguments():
    with pytest.raises(ValueError, match=r"lr must be a positive number, got 0"):
        ref.SGD(lr=0)
    with pytest.raises(ValueError, match=r"momentum must be a number in \[0, 1\), got 1.5"):
        ref.Momentum(momentum=1.5)
    with pytest.raises(ValueError, match=r"grads must hold one array per param \(1\), got 2"):
        ref.Adam().update([np.zeros(2)], [np.zeros(2), np.zeros(2)])
    with pytest.raises(ValueError, match=r"max_norm must be a positive number, got -1"):
        ref.clip_grads([np.zeros(2)], -1)


def test_clip_grads_leaves_small_gradients_alone():
    g = [np.array([0.3, 0.4])]
    assert ref.clip_grads(g, 1.0) == pytest.approx(0.5)
    np.testing.assert_array_equal(g[0], [0.3, 0.4])
