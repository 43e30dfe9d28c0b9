"""normalize="series+stats": each sequence's level and scale beside its z-normalised values."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnkit.tasks.base import load_estimator
from rnnkit.tasks.classify import SequenceClassifier
from rnnkit.tasks.classify.model import RNNClassifier
from rnnkit.tasks.classify.series_stats import (
    CLIP,
    EPS,
    StatisticsDropout,
    fit_scaling,
    misleading,
    moments,
    series_stats,
    with_stats,
)


def test_stats_by_hand_with_missing_values():
    a = np.array([[1.0, np.nan], [3.0, np.nan]])  # feature 1 missing at every step
    b = np.array([[2.0, 4.0], [np.nan, 8.0]])
    s = series_stats([moments(a), moments(b)])
    np.testing.assert_allclose(s[0], [2.0, 0.0, np.log(1.0 + EPS), np.log(EPS)])
    np.testing.assert_allclose(s[1], [2.0, 6.0, np.log(EPS), np.log(2.0 + EPS)])


def test_scaling_floors_and_clip():
    # levels 0 +- 0.001 and scales 1: an archive's z-normalised series -> z near 0
    stats = np.array([[0.001, 0.0], [-0.001, 0.0], [0.0, 0.0]])
    mu, sigma = fit_scaling(stats)
    np.testing.assert_allclose(mu, [0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(sigma, [0.1, 0.1])  # the floors: 0.1 x median std 1, 0.1
    z = with_stats([np.zeros((3, 1), np.float32)] * 3, stats, mu, sigma)
    assert all(x.shape == (3, 3) for x in z)
    assert np.abs(np.stack(z)[:, :, 1:]).max() <= 0.011
    # a level far outside the training ones is clipped
    far = with_stats([np.zeros((2, 1), np.float32)], np.array([[1e6, 0.0]]), mu, sigma)[0]
    np.testing.assert_allclose(far[:, 1], [CLIP, CLIP])


def _scaled_noise(rng, n):
    """Classes that differ only in amplitude: z-normalisation alone erases them."""
    y = np.arange(n) % 3
    return [rng.standard_normal((40, 2)) * (1 + 2 * k) for k in y], y


def test_the_scale_that_z_normalisation_removes_reaches_the_network(tmp_path):
    rng = np.random.default_rng(0)
    X, y = _scaled_noise(rng, 60)
    Xt, yt = _scaled_noise(rng, 60)
    kw = {"epochs": 30, "ensemble": 1, "verbose": 0}
    plain = SequenceClassifier(normalize="series", **kw).fit(X, y)
    stats = SequenceClassifier(normalize="series+stats", **kw).fit(X, y)
    assert plain.score(Xt, yt) < 0.6 and stats.score(Xt, yt) > 0.9
    stats.save(tmp_path / "m")
    back = load_estimator(tmp_path / "m")
    np.testing.assert_allclose(back.predict_proba(Xt), stats.predict_proba(Xt), rtol=1e-6)
    np.testing.assert_allclose(back.stats_sigma_, stats.stats_sigma_)


def test_a_damaged_saved_scaling_is_refused(tmp_path):
    rng = np.random.default_rng(1)
    X, y = _scaled_noise(rng, 12)
    est = SequenceClassifier(normalize="series+stats", epochs=1, ensemble=1, verbose=0)
    est.fit(X, y)
    state = est._state()
    state["stats_sigma"] = [0.0] * len(state["stats_sigma"])
    with pytest.raises(ValueError, match="stats_sigma must be finite with sigma > 0"):
        est._set_state(state)


def test_statistics_dropout_hides_whole_statistics_of_some_series_in_training_only():
    torch.manual_seed(0)
    x = torch.randn(4000, 5, 3) + 3.0  # (B, T, D + 2): the series, then two statistics
    drop = StatisticsDropout(2, 0.5)
    assert torch.equal(drop.eval()(x), x)  # evaluation reads them
    y = drop.train()(x)
    assert torch.equal(y[..., :1], x[..., :1])  # the series is never touched
    hidden = (y[..., 1:] == 0).all(dim=(1, 2))  # (B,) whole statistics hidden
    kept = (y[..., 1:] == x[..., 1:]).all(dim=(1, 2))  # kept as they are, not rescaled
    assert bool((hidden | kept).all()) and 0.45 < hidden.float().mean().item() < 0.55
    assert torch.equal(StatisticsDropout(2, 0.0).train()(x), x)
    with pytest.raises(ValueError, match="channels"):
        StatisticsDropout(0, 0.5)
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\)"):
        StatisticsDropout(2, 1.0)


def test_a_network_with_statistics_hides_them_in_training_only():
    torch.manual_seed(0)
    net = RNNClassifier(3, 4, "gru-fcn", 5, pooling="max", conv_blocks=1, conv_channels=3,
                        conv_norm="batch", fcn_channels=3, branch_heads=True,
                        statistics=(2, 0.999)).double()
    x = torch.randn(6, 9, 3, dtype=torch.float64)
    hidden = x.clone()
    hidden[..., 1:] = 0.0  # what StatisticsDropout leaves of them (p = 0.999: every series)
    torch.manual_seed(1)
    torch.testing.assert_close(net.train()(x), net(hidden))
    net.eval()
    assert not torch.allclose(net(x), net(hidden))  # evaluation reads them


def test_statistics_mislead_where_they_vary_without_telling_the_classes_apart():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(5), 4)  # 5 classes of 4: chance 1/5
    by_class = labels[:, None] + 0.1 * rng.normal(size=(20, 2))  # the level is the class
    assert not misleading(by_class, labels)  # leave-one-out 1-NN 1.0 = 5x chance
    assert misleading(rng.normal(size=(20, 2)), labels)  # noise: about chance
    assert not misleading(np.zeros((20, 2)), labels)  # constant (z-normalised in the archive)
    assert not misleading(1e-6 * rng.normal(size=(20, 2)), labels)  # the same, rounded
    many = np.repeat(np.arange(3), 1000)  # a large set: judged on a sample of 2,000
    assert not misleading(many[:, None] + 0.1 * rng.normal(size=(3000, 1)), many)
    assert misleading(rng.normal(size=(3000, 1)), many)
