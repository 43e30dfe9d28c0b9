"""Parity with the reference engine (rnnkit.ref): same weights, same outputs and gradients.

Each path of each standard cell and the loop of each LN cell equals the NumPy engine's
forward and hand-derived backward in float64; weights move both ways (to_ref / from_ref /
load_ref).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnkit.nn import (
    GRU,
    LNGRU,
    LNLSTM,
    LSTM,
    LNSimpleRNN,
    SimpleRNN,
    from_ref,
    load_ref,
    to_ref,
)
from tests.nn.helpers import fields, randomise_ln_

TOL = 1e-10
CASES = [
    (SimpleRNN, {"nonlinearity": "tanh"}, ("fused", "loop")),
    (SimpleRNN, {"nonlinearity": "relu"}, ("fused", "loop")),
    (LSTM, {}, ("fused", "loop")),
    (GRU, {}, ("fused", "loop")),
    (LNSimpleRNN, {}, ("loop",)),
    (LNLSTM, {}, ("loop",)),
    (LNGRU, {}, ("loop",)),
]
PARAMS = [(cls, kw, p) for cls, kw, paths in CASES for p in paths]


def _close(a: np.ndarray, b: np.ndarray) -> bool:
    return float(np.abs(a - b).max()) <= TOL * max(float(np.abs(b).max()), 1e-300)


@pytest.mark.parametrize(("cls", "kw", "path"), PARAMS)
def test_forward_and_backward_equal_reference_engine(cls, kw, path):
    torch.manual_seed(0)
    layer = cls(3, 4, return_sequences=True, return_state=True, path=path, **kw).double()
    randomise_ln_(layer.cells[0])
    rl = to_ref(layer.cells[0], dtype="float64")
    rng = np.random.default_rng(1)
    xs = rng.normal(size=(2, 5, 3))
    s0 = tuple(rng.normal(size=(2, 4)) for _ in fields(layer.cells[0].initial_state(2)))
    dhs = rng.normal(size=(2, 5, 4))
    ds = tuple(rng.normal(size=(2, 4)) for _ in s0)

    hs = rl.forward(xs, s0 if len(s0) == 2 else s0[0])
    dxs = rl.backward(dhs, ds if len(ds) == 2 else ds[0])

    x = torch.tensor(xs, requires_grad=True)
    st0 = [torch.tensor(s, requires_grad=True) for s in s0]
    state = st0[0][None] if len(st0) == 1 else type(layer.initial_state(2))(*(s[None] for s in st0))
    out, st = layer(x, state)
    assert layer.last_path == path
    assert _close(out.detach().numpy(), hs)
    ref_final = (rl.state,) if len(s0) == 1 else tuple(rl.state)
    for a, b in zip(fields(st), ref_final, strict=True):
        assert _close(a[0].detach().numpy(), b)
    loss = (out * torch.tensor(dhs)).sum()
    for f, d in zip(fields(st), ds, strict=True):
        loss = loss + (f[0] * torch.tensor(d)).sum()
    loss.backward()
    assert _close(x.grad.numpy(), dxs)
    d0 = (rl.dstate0,) if len(s0) == 1 else tuple(rl.dstate0)
    for a, b in zip(st0, d0, strict=True):
        assert _close(a.grad.numpy(), b)
    for p, g in zip(layer.cells[0].parameters(), rl.grads, strict=True):
        assert _close(p.grad.numpy(), g)


@pytest.mark.parametrize("cls", [LSTM, LNGRU, SimpleRNN])
def test_weights_move_both_ways(cls):
    torch.manual_seed(0)
    layer = cls(3, 4, 2, bidirectional=True).double()
    layers = to_ref(layer)
    assert len(layers) == 4
    cell = from_ref(layers[3])
    assert type(cell) is type(layer.cells[3])
    for a, b in zip(cell.parameters(), layer.cells[3].parameters(), strict=True):
        assert torch.equal(a, b)
    other = cls(3, 4, 2, bidirectional=True).double()
    load_ref(other, layers)
    for a, b in zip(other.parameters(), layer.parameters(), strict=True):
        assert torch.equal(a, b)
    with pytest.raises(ValueError, match=r"ref_layers must hold 4 Time layers, got 1"):
        load_ref(other, layers[:1])
