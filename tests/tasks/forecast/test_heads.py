import math

import numpy as np
import pytest
import torch

from rnnkit.errors import ConfigError
from rnnkit.tasks.forecast.heads import (
    check_quantiles,
    head_loss,
    n_outputs,
    point_of,
    quantiles_of,
)


def test_outputs_and_quantile_checks():
    assert [n_outputs(h, 5, (0.1, 0.5, 0.9)) for h in ("point", "quantile", "gaussian")] == \
        [5, 15, 10]
    assert check_quantiles([0.9, 0.5, 0.1]) == (0.1, 0.5, 0.9)
    with pytest.raises(ConfigError, match=r"must hold 0\.5"):
        check_quantiles([0.1, 0.9])
    with pytest.raises(ConfigError, match="distinct numbers in"):
        check_quantiles([0.5, 1.0])
    with pytest.raises(ConfigError, match="head must be one of"):
        n_outputs("laplace", 5, (0.5,))


def test_losses_by_hand():
    y = torch.tensor([[1.0, 2.0]])  # (B=1, H=2)
    out = torch.tensor([[0.0, 0.0, 1.0, 1.0, 3.0, 3.0]])  # q0.1, q0.5, q0.9 per step
    loss = head_loss("quantile", 2, (0.1, 0.5, 0.9))(out, y)
    # u = y - q: (1, 2), (0, 1), (-2, -1) -> 0.1*3 + 0.5*1 + 0.1*3 (tau-1 = -0.1 on negatives)
    assert float(loss) == pytest.approx((0.1 * 1 + 0.1 * 2 + 0.5 * 0 + 0.5 * 1 + 0.1 * 2
                                         + 0.1 * 1) / 6)
    mu, raw = torch.tensor([[0.5, -1.0]]), torch.tensor([[0.3, -2.0]])
    sigma = torch.log1p(torch.exp(raw)) + 1e-4
    want = -torch.distributions.Normal(mu, sigma).log_prob(y).mean() - 0.5 * math.log(2 * math.pi)
    got = head_loss("gaussian", 2)(torch.cat([mu, raw], 1), y)
    assert float(got) == pytest.approx(float(want), rel=1e-6)
    assert head_loss("point", 2) == "mse"


def test_quantiles_and_points_of_each_head():
    norm = pytest.importorskip("scipy.stats").norm  # an independent reference

    out = np.array([[1.0, 2.0, 0.0, 1.0]])  # gaussian H=2: mu (1, 2), raw scale (0, 1)
    sigma = np.log1p(np.exp([0.0, 1.0])) + 1e-4
    q = quantiles_of("gaussian", out, 2, [0.1, 0.5, 0.9])
    np.testing.assert_allclose(q[:, 0], norm.ppf([[0.1], [0.5], [0.9]], [1.0, 2.0], sigma))
    np.testing.assert_allclose(point_of("gaussian", out, 2), [[1.0, 2.0]])
    # quantile head H=1 with crossing outputs (q0.1 > q0.5): sorted, then interpolated
    qo = np.array([[2.0, 1.0, 4.0]])
    q = quantiles_of("quantile", qo, 1, [0.05, 0.1, 0.3, 0.5, 0.7, 0.95], (0.1, 0.5, 0.9))
    np.testing.assert_allclose(q[:, 0, 0], [1.0, 1.0, 1.5, 2.0, 3.0, 4.0])
    np.testing.assert_allclose(point_of("quantile", qo, 1), [[2.0]])


@pytest.mark.parametrize("head", ["quantile", "gaussian"])
def test_training_a_constant_recovers_the_distribution(head):
    """Fit a constant output (a bias) to N(3, 2²) draws: its quantiles approach the truth."""
    norm = pytest.importorskip("scipy.stats").norm  # an independent reference

    torch.manual_seed(0)
    y = 3.0 + 2.0 * torch.randn(2000, 1)  # (B, H=1)
    bias = torch.zeros(1, n_outputs(head, 1, (0.1, 0.5, 0.9)), requires_grad=True)
    loss_fn = head_loss(head, 1, (0.1, 0.5, 0.9))
    opt = torch.optim.Adam([bias], lr=0.1)
    for _ in range(300):
        opt.zero_grad()
        loss_fn(bias.expand(len(y), -1), y).backward()
        opt.step()
    q = quantiles_of(head, bias.detach().numpy(), 1, [0.1, 0.5, 0.9], (0.1, 0.5, 0.9))
    np.testing.assert_allclose(q[:, 0, 0], norm.ppf([0.1, 0.5, 0.9], 3.0, 2.0), atol=0.15)


def _noisy(n=400, seed=0):
    t = np.arange(n)
    return 10 + 2 * np.sin(2 * np.pi * t / 12) + np.random.default_rng(seed).normal(0, 0.5, n)


@pytest.mark.parametrize("head", ["quantile", "gaussian"])
def test_forecaster_heads_cover_and_round_trip(head, tmp_path):
    from rnnkit.tasks.forecast import Forecaster

    y = _noisy()
    fc = Forecaster(model="linear", input_len=24, horizon=6, head=head, epochs=200,
                    batch_size=32, lr=0.01, scaler="standard", verbose=0).fit(y[:320])
    q = fc.predict_quantiles(levels=(0.1, 0.5, 0.9))  # (Q, H)
    assert q.shape == (3, 6) and np.all(q[0] < q[1]) and np.all(q[1] < q[2])
    np.testing.assert_allclose(fc.predict(), q[1], rtol=1e-5)  # the point is the median
    res = fc.backtest_windows(y, 320, levels=(0.1, 0.9))  # windows never trained on
    lo, hi = res["quantiles"]
    inside = np.mean((lo <= res["y_true"]) & (res["y_true"] <= hi))
    assert 0.6 <= inside <= 0.95  # an 80 % band: the noise is N(0, 0.5²)
    # 2 x 1.28 x the noise's std, 1.28, to 1.81 when the level subtracted (the last input)
    # adds its own noise; an untrained head is wider (2.4 after 60 epochs of the Gaussian)
    assert 1.0 <= np.mean(hi - lo) <= 2.2
    back = Forecaster.load(fc.save(tmp_path / "m"))
    np.testing.assert_allclose(back.predict_quantiles(levels=(0.1, 0.5, 0.9)), q, rtol=1e-6)


def test_forecaster_head_errors():
    from rnnkit.tasks.forecast import Forecaster

    y = _noisy(100)
    with pytest.raises(ConfigError, match="head 'quantile' needs strategy 'direct'"):
        Forecaster(model="linear", strategy="recursive", head="quantile").fit(y)
    fc = Forecaster(model="naive", input_len=12, horizon=3).fit(y)
    with pytest.raises(ConfigError, match="quantiles need a probabilistic head"):
        fc.predict_quantiles()
