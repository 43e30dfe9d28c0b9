"""Weight interchange: torch.nn both ways, Keras layout, the book's LSTM layout."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from rnnkit.nn import (
    GRU,
    LSTM,
    GRUCell,
    LSTMCell,
    LSTMState,
    SimpleRNN,
    from_torch,
    keras_to_torch,
    load_book_lstm,
    load_keras,
    to_torch,
)
from tests.nn.helpers import KINDS, as_torch_state, fields, rel, sigmoid


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("kind", list(KINDS))
def test_to_torch_then_from_torch_give_identical_outputs(kind, bidirectional):
    cls, tcls, kw = KINDS[kind]
    torch.manual_seed(0)
    # path="fused": the same torch.nn kernel on both sides, so the outputs are bit-identical
    # (path="auto" may run a GRU on rnnkit's CPU kernel, equal to rounding)
    ours = cls(3, 4, 2, bidirectional=bidirectional, return_sequences=True, return_state=True,
               path="fused", **kw)
    ours = ours.double()
    module = to_torch(ours)
    assert type(module) is tcls and module.batch_first and module.num_layers == 2
    x = torch.randn(2, 5, 3, dtype=torch.float64)
    out, st = ours(x)
    out_t, st_t = module(x)
    assert torch.equal(out, out_t)
    for a, b in zip(fields(st), fields(as_torch_state(st_t)), strict=True):
        assert torch.equal(a, b)
    back = from_torch(module, return_sequences=True, return_state=True, path="fused")
    assert type(back) is cls
    for (n1, p1), (n2, p2) in zip(ours.named_parameters(), back.named_parameters(), strict=True):
        assert n1 == n2 and torch.equal(p1, p2)
    assert torch.equal(back(x)[0], out)


def test_layer_methods_and_state_dict_names():
    torch.manual_seed(0)
    module = nn.LSTM(3, 4, batch_first=False).double()
    layer = LSTM.from_torch(module, return_sequences=True)
    assert isinstance(layer.to_torch(), nn.LSTM)
    assert set(layer.state_dict()) == {
        f"cells.0.{n}" for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    }
    with pytest.raises(TypeError, match=r"module must be the torch.nn twin of GRU, got LSTM"):
        GRU.from_torch(module)
    with pytest.raises(TypeError, match=r"module must be a torch.nn LSTM, GRU, RNN"):
        from_torch(nn.Linear(2, 2))
    with pytest.raises(ValueError, match=r"proj_size must be 0 \(no projections\), got 2"):
        from_torch(nn.LSTM(3, 4, proj_size=2))


# Hand-built Keras-layout arrays, D = 2 inputs, H = 2 units (values chosen by hand).
X = np.array([[0.5, -1.0]])
H0 = np.array([[0.1, -0.2]])
C0 = np.array([[0.3, 0.05]])


def _step_torch(cell, state):
    x = torch.tensor(X)
    h, new = cell.double()(x, state)
    return h.detach().numpy(), new


def test_keras_simple_rnn_import():
    kernel = np.array([[0.1, -0.2], [0.3, 0.4]])  # (D, H)
    rk = np.array([[0.5, 0.1], [-0.3, 0.2]])  # (H, H)
    bias = np.array([0.05, -0.1])
    want = np.tanh(X @ kernel + H0 @ rk + bias)  # Keras: h' = tanh(x K + h R + b)
    layer = SimpleRNN(2, 2).double()
    load_keras(layer, kernel, rk, bias)
    h, _ = _step_torch(layer.cells[0], torch.tensor(H0))
    assert np.allclose(h, want, rtol=1e-14, atol=1e-14)
    out = layer(torch.tensor(X[:, None, :]), state=torch.tensor(H0)[None])
    assert np.allclose(out.detach().numpy(), want, rtol=1e-14, atol=1e-14)


def test_keras_lstm_import():
    rng = np.random.default_rng(7)
    kernel = rng.normal(size=(2, 8)).round(2)  # (D, 4H), blocks i, f, c, o
    rk = rng.normal(size=(2, 8)).round(2)  # (H, 4H)
    bias = rng.normal(size=8).round(2)  # (4H,)
    z = X @ kernel + H0 @ rk + bias
    i, f, c, o = (z[:, k * 2 : (k + 1) * 2] for k in range(4))
    c1 = sigmoid(f) * C0 + sigmoid(i) * np.tanh(c)
    h1 = sigmoid(o) * np.tanh(c1)
    cell = LSTMCell(2, 2).double()
    load_keras(cell, kernel, rk, bias)
    h, new = _step_torch(cell, LSTMState(torch.tensor(H0), torch.tensor(C0)))
    assert np.allclose(h, h1, rtol=1e-14, atol=1e-14)
    assert np.allclose(new.c.detach().numpy(), c1, rtol=1e-14, atol=1e-14)


def test_keras_gru_reset_after_import():
    rng = np.random.default_rng(8)
    kernel = rng.normal(size=(2, 6)).round(2)  # (D, 3H), blocks z, r, h
    rk = rng.normal(size=(2, 6)).round(2)  # (H, 3H)
    bias = rng.normal(size=(2, 6)).round(2)  # (2, 3H): input bias, recurrent bias
    xk = X @ kernel + bias[0]
    hr = H0 @ rk + bias[1]
    z = sigmoid(xk[:, 0:2] + hr[:, 0:2])
    r = sigmoid(xk[:, 2:4] + hr[:, 2:4])
    hh = np.tanh(xk[:, 4:6] + r * hr[:, 4:6])
    want = z * H0 + (1 - z) * hh  # Keras' GRU update
    layer = GRU(2, 2, bidirectional=True).double()
    load_keras(layer, kernel, rk, bias, direction=1)
    h, _ = _step_torch(layer.cells[1], torch.tensor(H0))
    assert np.allclose(h, want, rtol=1e-14, atol=1e-14)
    w = keras_to_torch("GRU", kernel, rk, bias)
    assert np.array_equal(w["weight_ih"][0:2], kernel[:, 2:4].T)  # torch r = Keras block 1


def test_keras_import_errors():
    with pytest.raises(
        ValueError, match=r"GRU bias must have shape \(2, 6\) \(reset_after=True\), got \(6,\)"
    ):
        keras_to_torch("GRU", np.zeros((2, 6)), np.zeros((2, 6)), np.zeros(6))
    with pytest.raises(
        ValueError, match=r"recurrent_kernel must have shape \(H=2, 8\), got \(2, 6\)"
    ):
        keras_to_torch("LSTM", np.zeros((2, 8)), np.zeros((2, 6)))
    with pytest.raises(ValueError, match=r"kind must be 'SimpleRNN', 'LSTM' or 'GRU', got 'RNN'"):
        keras_to_torch("RNN", np.zeros((2, 2)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"weight_ih must have shape \(8, 3\), got \(8, 2\)"):
        load_keras(LSTMCell(3, 2), np.zeros((2, 8)), np.zeros((2, 8)))
    with pytest.raises(ValueError, match=r"layer/direction must address one of 2 cells"):
        load_keras(GRU(2, 2, 2), np.zeros((2, 6)), np.zeros((2, 6)), layer=2)


def test_book_lstm_import():
    rng = np.random.default_rng(9)
    Wx = rng.normal(size=(2, 8))  # (D, 4H), blocks f, g, i, o
    Wh = rng.normal(size=(2, 8))
    b = rng.normal(size=8)
    A = X @ Wx + H0 @ Wh + b
    f, g, i, o = (A[:, k * 2 : (k + 1) * 2] for k in range(4))
    c1 = sigmoid(f) * C0 + np.tanh(g) * sigmoid(i)
    h1 = sigmoid(o) * np.tanh(c1)
    cell = LSTMCell(2, 2).double()
    load_book_lstm(cell, Wx, Wh, b)
    h, _ = _step_torch(cell, LSTMState(torch.tensor(H0), torch.tensor(C0)))
    assert np.allclose(h, h1, rtol=1e-14, atol=1e-14)
    with pytest.raises(TypeError, match=r"target cell must be an LSTM cell, got GRUCell"):
        load_book_lstm(GRUCell(2, 2), Wx, Wh, b)


def test_torch_cells_round_trip():
    torch.manual_seed(0)
    for tcls in (nn.LSTMCell, nn.GRUCell, nn.RNNCell):
        t = tcls(3, 4).double()
        back = to_torch(from_torch(t))
        assert type(back) is tcls
        for a, b in zip(t.parameters(), back.parameters(), strict=True):
            assert torch.equal(a, b)
    assert rel(torch.ones(1), torch.ones(1)) == 0
