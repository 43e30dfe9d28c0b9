"""Mixup of training batches (rnnkit.train.mixup) and its place in the Trainer and the
classifier."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from rnnkit.errors import ConfigError
from rnnkit.train import Trainer
from rnnkit.train.mixup import Mixup, check_alpha


def test_mix_is_a_convex_combination_of_the_batch_rows():
    x = torch.randn(8, 5, 3)
    torch.manual_seed(0)
    mixed, lam, perm = Mixup(0.4).mix(x)
    assert 0.5 <= lam <= 1.0
    assert sorted(perm.tolist()) == list(range(8))
    torch.testing.assert_close(mixed, lam * x + (1 - lam) * x[perm])
    draws = []
    for seed in range(20):  # a Beta(0.4, 0.4) draw: not a constant
        torch.manual_seed(seed)
        draws.append(Mixup(0.4).mix(x)[1])
    assert max(draws) - min(draws) > 0.1


def test_padded_batches_keep_the_longer_length():
    x = torch.randn(4, 6, 2)
    lengths = torch.tensor([6, 2, 4, 3])
    torch.manual_seed(1)
    out, lam, perm = Mixup(0.2).mix({"x": x, "lengths": lengths})
    assert out["lengths"].tolist() == torch.maximum(lengths, lengths[perm]).tolist()
    torch.testing.assert_close(out["x"], lam * x + (1 - lam) * x[perm])


def test_token_ids_are_refused_and_alpha_checked():
    with pytest.raises(TypeError, match="token ids cannot be mixed"):
        Mixup(0.2).mix(torch.zeros(2, 3, dtype=torch.int64))
    assert check_alpha(0) is None and check_alpha(None) is None and check_alpha(1) == 1.0
    for bad in (-0.1, True, "0.2"):
        with pytest.raises(ValueError, match="mixup must be a number >= 0"):
            check_alpha(bad)


def test_trainer_loss_is_the_mixed_pair_of_losses(monkeypatch):
    """One batch, a learning rate too small to move the weights: the epoch's loss is
    lam CE(f(x'), y) + (1 - lam) CE(f(x'), y[perm]) for the batch the Trainer mixed."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 3))
    x = torch.randn(6, 4, 3)
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    seen = {}
    mix = Mixup.mix

    def recording(self, inputs):
        out = mix(self, inputs)
        seen["x"], seen["lam"], seen["perm"] = out
        return out

    monkeypatch.setattr(Mixup, "mix", recording)
    trainer = Trainer(model, "cross_entropy", lambda p: torch.optim.SGD(p, lr=1e-12),
                      mixup=1.0)
    history = trainer.fit([(x, y)], epochs=1)
    with torch.no_grad():
        pred = model(seen["x"])
        lam, perm = seen["lam"], seen["perm"]
        want = lam * F.cross_entropy(pred, y) + (1 - lam) * F.cross_entropy(pred, y[perm])
        plain = F.cross_entropy(model(x), y)
    assert history.history["loss"][0] == pytest.approx(float(want), rel=1e-5)
    assert lam < 0.9 and abs(float(want) - float(plain)) > 1e-3  # another number
    assert Trainer(model, "mse", "sgd", mixup=0).mixup is None


def test_classifier_resolves_and_checks_mixup():
    from rnnkit.tasks.classify import SequenceClassifier

    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 12, 1)).astype(np.float32)
    y = (X[:, :, 0].mean(1) > 0).astype(int)
    clf = SequenceClassifier(model="gru", epochs=1, verbose=0, mixup="auto").fit(X, y)
    assert clf.resolved_["mixup"] == 0.2  # a small set: mixup on
    off = SequenceClassifier(model="gru", epochs=1, verbose=0).fit(X, y)  # default: off
    assert off.resolved_["mixup"] == 0.0
    with pytest.raises(ConfigError, match=r"mixup must be a number >= 0.*or 'auto'"):
        SequenceClassifier(mixup=-1).fit(X, y)
