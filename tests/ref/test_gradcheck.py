"""float64 central-difference checks of every hand-written backward: max relative error < 1e-6."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit import ref
from rnnkit.ref import gradcheck
from tests.ref.helpers import cell_gradcheck, time_layer_gradcheck

TOL = 1e-6
TIME_LAYERS = [
    (ref.TimeRNN, {"nonlinearity": "tanh"}),
    (ref.TimeRNN, {"nonlinearity": "relu"}),
    (ref.TimeLSTM, {}),
    (ref.TimeGRU, {}),
    (ref.TimeLNRNN, {"nonlinearity": "tanh"}),
    (ref.TimeLNRNN, {"nonlinearity": "relu"}),
    (ref.TimeLNLSTM, {}),
    (ref.TimeLNGRU, {}),
]
IDS = [f"{c.__name__}-{kw.get('nonlinearity', '')}" for c, kw in TIME_LAYERS]


def _eps(kw: dict) -> float:
    """Finite-difference step: small for relu so no pre-activation lies within 2 eps of 0."""
    return 1e-4 if kw.get("nonlinearity") == "relu" else 1e-3


@pytest.mark.parametrize(("cls", "kw"), TIME_LAYERS, ids=IDS)
def test_time_layer(cls, kw):
    layer = cls(3, 4, dtype="float64", seed=1, **kw)
    assert time_layer_gradcheck(layer, B=2, T=4, eps=_eps(kw)) < TOL


@pytest.mark.parametrize(("cls", "kw"), TIME_LAYERS, ids=IDS)
def test_stateful_time_layer_carried_state(cls, kw):
    """Stateful, several steps: the initial state is the carried one (set_state), and
    dstate0 is the gradient w.r.t. it."""
    layer = cls(2, 3, stateful=True, dtype="float64", seed=2, **kw)
    layer.forward(np.ones((2, 3, 2)))  # a first window, so a state is carried
    assert time_layer_gradcheck(layer, B=2, T=5, seed=3, via_set_state=True, eps=_eps(kw)) < TOL


@pytest.mark.parametrize(
    "cls",
    [ref.RNNCell, ref.LSTMCell, ref.GRUCell, ref.LNRNNCell, ref.LNLSTMCell, ref.LNGRUCell],
)
def test_cell(cls):
    assert cell_gradcheck(cls(3, 4, dtype="float64", seed=4)) < TOL


def test_relu_cell():
    assert cell_gradcheck(ref.RNNCell(3, 4, nonlinearity="relu", dtype="float64", seed=5)) < TOL


def _layer_check(layer, x, rng, check_x=True):
    """gradcheck of L = sum(layer(x) * W) w.r.t. params (and x)."""
    W = rng.standard_normal(layer.forward(x).shape)

    def f():
        return float((layer.forward(x) * W).sum())

    f()
    dx = layer.backward(W)
    arrays, analytic = list(layer.params), [g.copy() for g in layer.grads]
    if check_x:
        arrays, analytic = [*arrays, x], [*analytic, dx]
    return gradcheck(f, arrays, analytic)


def test_linear_and_time_linear(rng):
    assert _layer_check(ref.Linear(4, 3, dtype="float64", seed=0), rng.standard_normal((5, 4)),
                        rng) < TOL
    assert _layer_check(ref.TimeLinear(4, 3, dtype="float64", seed=0),
                        rng.standard_normal((2, 3, 4)), rng) < TOL


def test_embedding_with_repeated_ids(rng):
    emb = ref.TimeEmbedding(6, 3, dtype="float64", seed=0)
    ids = np.array([[0, 2, 2], [5, 2, 0]])
    assert _layer_check(emb, ids, rng, check_x=False) < TOL
    assert not emb.grads[0][[1, 3, 4]].any()  # rows never looked up get no gradient


@pytest.mark.parametrize("cls", [ref.Sigmoid, ref.Tanh, ref.ReLU])
def test_activations(cls, rng):
    x = rng.standard_normal((4, 5))
    x[np.abs(x) < 1e-3] = 0.5  # keep away from relu's kink
    assert _layer_check(cls(), x, rng) < TOL


def test_dropout_uses_the_same_mask_in_backward(rng):
    drop = ref.Dropout(0.4, seed=0)
    x = rng.standard_normal((6, 7))
    y = drop.forward(x)
    dx = drop.backward(np.ones_like(x))
    kept = y != 0
    assert 0 < kept.mean() < 1
    np.testing.assert_allclose(y[kept], x[kept] / 0.6)
    np.testing.assert_allclose(dx, kept / 0.6)
    drop.training = False
    np.testing.assert_array_equal(drop.forward(x), x)


def test_last_time_step(rng):
    assert _layer_check(ref.LastTimeStep(), rng.standard_normal((2, 3, 4)), rng) < TOL


def test_mse_loss(rng):
    y, t = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    loss = ref.MSELoss()
    loss.forward(y, t)
    assert gradcheck(lambda: loss.forward(y, t), [y], [loss.backward()]) < TOL


def test_softmax_cross_entropy_over_time_with_ignore_index(rng):
    scores = rng.standard_normal((2, 5, 7)) * 3
    ts = rng.integers(0, 7, (2, 5))
    ts[0, 1] = ts[1, 4] = -1
    loss = ref.SoftmaxCrossEntropy(ignore_index=-1)
    loss.forward(scores, ts)
    d = loss.backward()
    assert not d[0, 1].any() and not d[1, 4].any()
    assert gradcheck(lambda: loss.forward(scores, ts), [scores], [d]) < TOL


def test_bidirectional(rng):
    bi = ref.TimeBidirectional(ref.TimeGRU(3, 4, dtype="float64", seed=0),
                               ref.TimeGRU(3, 2, dtype="float64", seed=1))
    xs = rng.standard_normal((2, 5, 3))
    W = rng.standard_normal((2, 5, 6))

    def f():
        return float((bi.forward(xs) * W).sum())

    f()
    dxs = bi.backward(W)
    assert gradcheck(f, [*bi.params, xs], [*(g.copy() for g in bi.grads), dxs]) < TOL


def test_sequential_rnn_regressor(rng):
    model = ref.Sequential(ref.TimeLSTM(2, 3, dtype="float64", seed=0), ref.LastTimeStep(),
                           ref.Linear(3, 1, dtype="float64", seed=1), loss=ref.MSELoss())
    xs, ys = rng.standard_normal((4, 5, 2)), rng.standard_normal((4, 1))
    model.forward(xs, ys)
    dxs = model.backward()
    analytic = [*(g.copy() for g in model.grads), dxs]
    assert gradcheck(lambda: model.forward(xs, ys), [*model.params, xs], analytic) < TOL


def test_gradcheck_detects_a_wrong_gradient(rng):
    x = rng.standard_normal(5)
    assert gradcheck(lambda: float((x**3).sum()), [x], [3 * x**2]) < 1e-8
    assert gradcheck(lambda: float((x**3).sum()), [x], [2 * x**2]) > 0.1
