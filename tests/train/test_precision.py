"""Mixed precision: bf16 autocast trains an LSTM classifier about as well as fp32 on the CPU;
fp16 scales the loss (GradScaler) and resumes exactly; fp32 runs without autocast."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from torch import nn

from rnnkit.tasks.classify import SequenceClassifier
from rnnkit.tasks.classify.model import RNNClassifier
from rnnkit.train import Sequential, Trainer
from tests.train.helpers import run_killed, same_weights


def _toy(n=256, seed=0):
    """(N, 8, 2) sequences; the label says whether the first feature sums above 0."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 8, 2)).astype(np.float32)
    return X, (X[:, :, 0].sum(1) > 0).astype(np.int64)


def _train(precision: str, model: str = "lstm"):
    torch.manual_seed(0)
    net = Sequential([RNNClassifier(2, 2, model, hidden_size=16)])
    net.compile(loss="cross_entropy", optimizer="adam", lr=0.02, metrics=["accuracy"],
                precision=precision)
    X, y = _toy()
    history = net.fit(X[:192], y[:192], epochs=8, batch_size=32, verbose=0, seed=0)
    return net, history, net.evaluate(X[192:], y[192:])


def test_bf16_lstm_classifier_trains_close_to_fp32():
    _, _, test32 = _train("fp32")
    _, h16, test16 = _train("bf16")
    assert all(np.isfinite(h16.history["loss"]))
    assert h16.history["loss"][-1] < 0.7 * h16.history["loss"][0]
    assert test32["accuracy"] > 0.8
    assert abs(test16["accuracy"] - test32["accuracy"]) <= 0.1, (test16, test32)


class _DtypeSpy(nn.Module):
    """Linear head that records the dtype of its output in training."""

    def __init__(self):
        super().__init__()
        self.lin, self.seen = nn.Linear(3, 1), set()

    def forward(self, x):
        out = self.lin(x)
        if self.training:
            self.seen.add(out.dtype)
        return out


@pytest.mark.parametrize(("precision", "dtype"), [("fp32", torch.float32),
                                                   ("bf16", torch.bfloat16)])
def test_the_forward_pass_runs_in_the_chosen_precision(precision, dtype):
    spy = _DtypeSpy()
    trainer = Trainer(spy, "mse", "sgd", precision=precision)
    trainer.fit([(torch.randn(4, 3), torch.randn(4, 1))], 1)
    assert spy.seen == {dtype}
    assert spy.lin.weight.dtype == torch.float32  # the weights stay float32
    assert (trainer.scaler is None) == (precision != "fp16")


def test_fp16_scales_the_loss_and_resumes_bit_identical(tmp_path):
    """GRU (torch's CPU LSTM kernel refuses fp16): the grad scaler's state is checkpointed."""
    X, y = _toy(96)

    def fit(ckpt=None, resume=False):
        torch.manual_seed(0)
        net = Sequential([RNNClassifier(2, 2, "gru", hidden_size=8)])
        with pytest.warns(UserWarning, match="fp16' on the CPU"):
            net.compile(loss="cross_entropy", optimizer="adam", lr=0.02, precision="fp16")
        h = net.fit(X, y, epochs=4, batch_size=16, verbose=0, seed=1, checkpoint=ckpt,
                    resume=resume)
        return net, h

    ref, href = fit()
    assert all(np.isfinite(href.history["loss"]))
    assert ref.trainer.scaler.get_scale() > 0
    assert run_killed(lambda: fit(tmp_path / "ck"), 2, 1) == -9
    net, h = fit(tmp_path / "ck", resume=True)
    assert same_weights(net, ref) and h.history == href.history
    assert net.trainer.scaler.state_dict() == ref.trainer.scaler.state_dict()


def test_an_estimator_trains_in_bf16():
    X, y = _toy(96)
    clf = SequenceClassifier(hidden_size=8, epochs=3, precision="bf16", verbose=0).fit(X, y)
    assert np.isfinite(clf.history_["loss"]).all()
    assert clf.predict_proba(X).dtype == np.float32  # prediction stays in fp32


def test_an_unknown_precision_is_refused():
    with pytest.raises(ValueError, match=re.escape(
            "precision must be one of 'fp32', 'bf16', 'fp16', got 'half'")):
        Trainer(nn.Linear(1, 1), "mse", "sgd", precision="half")
