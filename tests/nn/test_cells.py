"""Cells: one step against torch.nn cells and NumPy equations, gradcheck, user-defined cells."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from rnnkit.nn import (
    Cell,
    GRUCell,
    LNGRUCell,
    LNLSTMCell,
    LNSimpleRNNCell,
    LSTMCell,
    LSTMState,
    Recurrent,
    SimpleRNNCell,
    from_torch,
)
from tests.nn.helpers import fields, randomise_ln_, rel, sigmoid

ALL_CELLS = [SimpleRNNCell, LSTMCell, GRUCell, LNSimpleRNNCell, LNLSTMCell, LNGRUCell]


def _cell(cls, **kw):
    torch.manual_seed(0)
    cell = cls(3, 4, **kw).double()
    randomise_ln_(cell)
    return cell


def _state(cell, B=2, seed=1):
    g = torch.Generator().manual_seed(seed)
    z = cell.initial_state(B)
    return (
        type(z)(*(torch.randn(f.shape, generator=g, dtype=f.dtype) for f in z))
        if isinstance(z, tuple)
        else torch.randn(z.shape, generator=g, dtype=z.dtype)
    )


@pytest.mark.parametrize(
    ("cls", "tcls", "kw"),
    [
        (SimpleRNNCell, nn.RNNCell, {"nonlinearity": "tanh"}),
        (SimpleRNNCell, nn.RNNCell, {"nonlinearity": "relu"}),
        (LSTMCell, nn.LSTMCell, {}),
        (GRUCell, nn.GRUCell, {}),
    ],
)
def test_standard_cell_step_matches_torch_cell(cls, tcls, kw):
    torch.manual_seed(0)
    tcell = tcls(3, 4, **kw).double()
    cell = from_torch(tcell)
    assert type(cell) is cls
    x = torch.randn(2, 3, dtype=torch.float64)
    state = _state(cell)
    h, new = cell(x, state)
    want = tcell(x, tuple(state) if cls is LSTMCell else state)
    want_h = want[0] if cls is LSTMCell else want
    assert rel(h, want_h) < 1e-12
    if cls is LSTMCell:
        assert isinstance(new, LSTMState) and rel(new.c, want[1]) < 1e-12


@pytest.mark.parametrize("cls", ALL_CELLS)
def test_gradcheck_every_cell(cls):
    cell = _cell(cls)
    names = [n for n, _ in cell.named_parameters()]
    params = [p.detach().clone().requires_grad_() for p in cell.parameters()]
    x = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    s = fields(_state(cell))
    s = tuple(f.clone().requires_grad_() for f in s)

    def step(x, *rest):
        st = rest[: len(s)]
        ps = rest[len(s) :]
        state = st[0] if cell.state_type is None else cell.state_type(*st)
        h, new = torch.func.functional_call(cell, dict(zip(names, ps, strict=True)), (x, state))
        return (h, *fields(new))

    assert torch.autograd.gradcheck(step, (x, *s, *params), eps=1e-6, atol=1e-7)


def _ln(a, g, b):
    mu = a.mean(-1, keepdims=True)
    var = a.var(-1, keepdims=True)  # biased, like the equations
    return (a - mu) / np.sqrt(var + 1e-5) * g + b


@pytest.mark.parametrize("cls", [LNSimpleRNNCell, LNLSTMCell, LNGRUCell])
def test_ln_cells_follow_the_numpy_equations(cls):
    cell = _cell(cls)
    P = {n: p.detach().numpy() for n, p in cell.named_parameters()}
    H = 4
    x = np.random.default_rng(0).normal(size=(2, 3))
    state = _state(cell)
    h, new = cell(torch.from_numpy(x), state)
    Wi, Wh, bi, bh, g, b = (
        P[k] for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "ln_weight", "ln_bias")
    )
    blk = lambda a, k: a[..., k * H : (k + 1) * H]  # noqa: E731
    if cls is LNSimpleRNNCell:
        h0 = state.numpy()
        want = np.tanh(_ln(x @ Wi.T + bi + h0 @ Wh.T + bh, g, b))
    elif cls is LNLSTMCell:
        h0, c0 = (f.numpy() for f in state)
        a = x @ Wi.T + bi + h0 @ Wh.T + bh
        i, f, gg, o = (_ln(blk(a, k), blk(g, k), blk(b, k)) for k in range(4))
        c1 = sigmoid(f) * c0 + sigmoid(i) * np.tanh(gg)
        want = sigmoid(o) * np.tanh(c1)
        assert np.allclose(new.c.detach().numpy(), c1, rtol=1e-12, atol=1e-12)
    else:
        h0 = state.numpy()
        ai, ah = x @ Wi.T + bi, h0 @ Wh.T + bh
        r = sigmoid(_ln(blk(ai, 0) + blk(ah, 0), blk(g, 0), blk(b, 0)))
        z = sigmoid(_ln(blk(ai, 1) + blk(ah, 1), blk(g, 1), blk(b, 1)))
        n = np.tanh(_ln(blk(ai, 2) + r * blk(ah, 2), blk(g, 2), blk(b, 2)))
        want = (1 - z) * n + z * h0
    assert np.allclose(h.detach().numpy(), want, rtol=1e-12, atol=1e-12)


def test_keras_init_rule():
    torch.manual_seed(0)
    cell = LSTMCell(5, 6)
    W = cell.weight_hh.detach()  # (4H, H): orthonormal columns
    assert torch.allclose(W.T @ W, torch.eye(6), atol=1e-5)
    limit = (6 / (5 + 24)) ** 0.5
    assert cell.weight_ih.abs().max() <= limit
    b = (cell.bias_ih + cell.bias_hh).detach()
    assert torch.equal(b, torch.cat([torch.zeros(6), torch.ones(6), torch.zeros(12)]))
    t = GRUCell(5, 16, init="torch")
    assert t.bias_hh.abs().max() <= 0.25 and t.bias_hh.abs().max() > 0.1


class MinimalRNNCell(Cell):
    """A user cell written with forward only: h' = tanh(x U + h V) (no hoisting)."""

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__(input_size, hidden_size)
        self.U = nn.Parameter(torch.randn(input_size, hidden_size) * 0.5)
        self.V = nn.Parameter(torch.randn(hidden_size, hidden_size) * 0.5)

    def forward(self, x_t, state):
        h = torch.tanh(x_t @ self.U + state @ self.V)  # (B, H)
        return h, h


class HoistedCell(Cell):
    """A user cell with a hoisted input projection and a two-part state (h, c)."""

    state_type = LSTMState

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__(input_size, hidden_size)
        self.lin = nn.Linear(input_size, 2 * hidden_size)
        self.V = nn.Parameter(torch.randn(hidden_size, 2 * hidden_size) * 0.5)

    def project_input(self, x):
        return self.lin(x)  # (..., 2H)

    def step(self, p_t, state):
        h, c = state
        a, b = (p_t + h @ self.V).chunk(2, dim=-1)
        c = torch.sigmoid(a) * c + torch.tanh(b)
        h = torch.tanh(c)
        return h, LSTMState(h, c)

    def forward(self, x_t, state):
        return self.step(self.project_input(x_t), state)


def _manual_loop(cell, x, state):
    outs = []
    for t in range(x.shape[1]):
        h, state = cell(x[:, t], state)
        outs.append(h)
    return torch.stack(outs, 1), state


@pytest.mark.parametrize("cls", [MinimalRNNCell, HoistedCell])
def test_user_cell_gets_every_layer_feature(cls):
    torch.manual_seed(0)
    cells = [cls(3, 4), cls(8, 4)]
    layer = Recurrent(cells, bidirectional=True, return_sequences=True, return_state=True).double()
    assert layer.last_path is None
    x = torch.randn(2, 5, 3, dtype=torch.float64)
    _, st = layer(x)
    assert layer.last_path == "traced"  # a user cell: traced step, no per-step autograd
    if cls is HoistedCell:  # the backward copy is re-drawn by reset_parameters()
        assert not torch.equal(layer.cells[0].lin.weight, layer.cells[1].lin.weight)
    # layer 0, forward direction, equals a hand-written loop over the cell
    out0, st0 = _manual_loop(layer.cells[0], x, layer.cells[0].initial_state(2))
    layer1 = Recurrent(layer.cells[0], return_sequences=True, return_state=True)
    o1, _ = layer1(x)
    assert rel(o1, out0) < 1e-12
    assert rel(fields(st)[0][0], fields(st0)[0]) < 1e-12
    # variable lengths and stateful work on user cells too
    out_l, _ = layer(x, lengths=[5, 2])
    alone, _ = layer(x[1:, :2])
    assert rel(out_l[1, :2], alone[0]) < 1e-12
    sf = Recurrent(cls(3, 4), stateful=True, return_sequences=True).double()
    whole = Recurrent(sf.cells[0], return_sequences=True)(x)
    chunks = torch.cat([sf(x[:, :2]), sf(x[:, 2:])], dim=1)
    assert rel(chunks, whole) < 1e-12
    # recurrent dropout in training
    rd = Recurrent(cls(3, 4), recurrent_dropout=0.5).double().train()
    rd(x)
    assert rd.last_path == "loop"


def test_cell_errors_pin_messages():
    with pytest.raises(ValueError, match=r"input_size must be a positive int, got 0"):
        LSTMCell(0, 3)
    with pytest.raises(ValueError, match=r"hidden_size must be a positive int, got 2.5"):
        GRUCell(3, 2.5)
    with pytest.raises(TypeError, match=r"bias must be a bool, got 1"):
        GRUCell(3, 2, bias=1)
    with pytest.raises(ValueError, match=r"batch_size must be a positive int, got 0"):
        GRUCell(3, 2).initial_state(0)
