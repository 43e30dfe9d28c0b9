"""Losses and metrics by name, against formulas written out here in NumPy."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from rnnkit.train import metrics as M


@pytest.fixture
def reg(rng):
    p = rng.standard_normal((7, 3))
    y = rng.standard_normal((7, 3)) * 2
    return p, y


def _t(a):
    return torch.tensor(a, dtype=torch.float64)


def test_regression_losses_match_formulas(reg):
    p, y = reg
    e = p - y
    huber = np.where(np.abs(e) <= 1, 0.5 * e**2, np.abs(e) - 0.5).mean()
    assert M.mse_loss(_t(p), _t(y)).item() == pytest.approx((e**2).mean(), rel=1e-12)
    assert M.mae_loss(_t(p), _t(y)).item() == pytest.approx(np.abs(e).mean(), rel=1e-12)
    assert M.huber_loss(_t(p), _t(y)).item() == pytest.approx(huber, rel=1e-12)
    assert M.mse(y, p) == pytest.approx((e**2).mean(), rel=1e-12)
    assert M.mae(y, p) == pytest.approx(np.abs(e).mean(), rel=1e-12)
    assert M.rmse(y, p) == pytest.approx(math.sqrt((e**2).mean()), rel=1e-12)
    assert M.huber(y, p) == pytest.approx(huber, rel=1e-12)


def test_cross_entropy_and_accuracy_match_formulas(rng):
    z = rng.standard_normal((5, 4, 3))  # (B, T, C)
    y = rng.integers(0, 3, size=(5, 4))
    y[0, 0] = -100  # ignored
    keep = y != -100
    logp = z - np.log(np.exp(z).sum(-1, keepdims=True))
    nll = -np.take_along_axis(logp, np.where(keep, y, 0)[..., None], -1)[..., 0]
    expected = nll[keep].mean()
    acc = (z.argmax(-1) == y)[keep].mean()
    yt = torch.tensor(y)
    assert M.cross_entropy_loss(_t(z), yt).item() == pytest.approx(expected, rel=1e-12)
    assert M.cross_entropy(y, z) == pytest.approx(expected, rel=1e-12)
    assert M.accuracy(y, z) == pytest.approx(acc)
    s, c = M.get_metric("accuracy").stat(_t(z), yt)
    assert s.item() / c.item() == pytest.approx(acc)


def test_binary_accuracy_and_bce(rng):
    prob = rng.uniform(size=(9, 1))
    y = (rng.uniform(size=9) > 0.5).astype(np.float64)
    acc = ((prob[:, 0] > 0.5) == (y > 0.5)).mean()
    assert M.accuracy(y, prob) == pytest.approx(acc)
    s, c = M.get_metric("acc").stat(_t(prob), _t(y))
    assert s.item() / c == pytest.approx(acc)
    logits = rng.standard_normal(9)
    s, c = M.get_metric("logit_accuracy").stat(_t(logits), _t(y))
    assert s.item() / c == pytest.approx(((logits > 0) == (y > 0.5)).mean())
    sig = 1 / (1 + np.exp(-logits))
    bce = -(y * np.log(sig) + (1 - y) * np.log(1 - sig)).mean()
    assert M.bce_loss(_t(logits), _t(y)).item() == pytest.approx(bce, rel=1e-10)


def test_trailing_one_is_aligned_and_mismatch_refused():
    p = torch.zeros(4, 1)
    assert M.mse_loss(p, torch.ones(4)).item() == 1.0  # (B, 1) vs (B,): no (B, B) broadcast
    with pytest.raises(ValueError, match=r"mse: predictions of shape \(4, 1\) and targets of "
                       r"shape \(4, 2\) do not match"):
        M.mse_loss(p, torch.ones(4, 2))


def test_unknown_names_and_duplicates():
    with pytest.raises(ValueError, match=r"loss must be one of 'mse', 'mae', 'huber', "
                       r"'cross_entropy', 'bce' or a callable .*, got 'msee'"):
        M.get_loss("msee")
    with pytest.raises(ValueError, match=r"metric must be one of .*got 'f1'"):
        M.get_metric("f1")
    with pytest.raises(ValueError, match=r"metrics must have distinct names"):
        M.get_metrics(["mae", "mae"])
    assert M.get_loss("mean_squared_error") is M.mse_loss
