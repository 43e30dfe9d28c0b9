"""The fast path (rnnkit.nn.fastpath): parity with the autograd loop and the reference engine.

Float64 where gradients are compared tightly (the float32 tests allow float32 rounding).
Expected values come from code other than the fast path: the cells' own torch step run by the
autograd loop (path="loop"), and the NumPy reference engine's TimeLN* layers run directly on
the same weights.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnnkit import ref
from rnnkit.nn import (
    GRU,
    LNGRU,
    LNLSTM,
    LSTM,
    Cell,
    GRUCell,
    LNGRUCell,
    LNLSTMCell,
    LNSimpleRNN,
    LNSimpleRNNCell,
    LSTMCell,
    LSTMState,
    Recurrent,
    SimpleRNNCell,
    fastpath,
    from_torch,
)
from rnnkit.nn.fastpath.torch_loop import run_torch

pytest.importorskip("numba")  # the CPU kernels need it (rnnkit[fast])

import numba

from rnnkit.nn.fastpath.gru_kernel import GRUKernel
from rnnkit.nn.fastpath.jit import PARALLEL_MIN, parallel_rows, sigmoid, small_product
from rnnkit.nn.fastpath.lngru_kernel import LNGRUKernel
from rnnkit.nn.fastpath.lnrnn_kernel import LNRNNKernel
from rnnkit.nn.fastpath.lstm_kernel import LNLSTMKernel, LSTMKernel
from rnnkit.nn.fastpath.rnn_kernel import RNNKernel

from .helpers import fields, randomise_ln_, rel, weighted_loss

B, T, D, H = 3, 5, 4, 6
TOL = 1e-10

#: cell class, its named layer, the reference time layer, cell kwargs
LN_KINDS = {
    "lnrnn_tanh": (LNSimpleRNNCell, LNSimpleRNN, ref.TimeLNRNN, {"nonlinearity": "tanh"}),
    "lnrnn_relu": (LNSimpleRNNCell, LNSimpleRNN, ref.TimeLNRNN, {"nonlinearity": "relu"}),
    "lnlstm": (LNLSTMCell, LNLSTM, ref.TimeLNLSTM, {}),
    "lngru": (LNGRUCell, LNGRU, ref.TimeLNGRU, {}),
}


def make_cell(kind: str, d: int = D, h: int = H, seed: int = 0, **kw) -> Cell:
    """An LN cell in float64 with random (not initial) LN gain and shift and biases."""
    cell_cls, _, _, kwargs = LN_KINDS[kind]
    torch.manual_seed(seed)
    cell = cell_cls(d, h, **kwargs, **kw).double()
    with torch.no_grad():
        for p in cell.parameters():
            p.copy_(torch.randn_like(p) * 0.5)
        cell.ln_weight.add_(1.0)
    return cell


def random_state(cell: Cell, b: int, gen: torch.Generator):
    h = torch.randn(b, cell.hidden_size, generator=gen, dtype=torch.float64)
    if cell.state_type is None:
        return h
    return cell.state_type(h, torch.randn(b, cell.hidden_size, generator=gen, dtype=torch.float64))


def loss_and_grads(layer: Recurrent, x: Tensor, state, seed: int = 1):
    """Run one layer, weight every output and final-state field randomly, return all grads."""
    x = x.clone().requires_grad_(True)
    s0 = tuple(f.clone().requires_grad_(True) for f in fields(state))  # (B, H) each
    layered = [f.unsqueeze(0) for f in s0]  # (1, B, H): L*Dir = 1
    out, final = layer(x, layered[0] if layer.state_type is None else layer.state_type(*layered))
    gen = torch.Generator().manual_seed(seed)
    loss = (out * torch.randn(out.shape, generator=gen, dtype=out.dtype)).sum()
    for f in fields(final):
        loss = loss + (f * torch.randn(f.shape, generator=gen, dtype=f.dtype)).sum()
    params = list(layer.parameters())
    grads = torch.autograd.grad(loss, [x, *s0, *params])
    return out.detach(), [f.detach() for f in fields(final)], grads


def one_layer(cell: Cell, path: str) -> Recurrent:
    return Recurrent(cell, return_sequences=True, return_state=True, path=path)


@pytest.mark.parametrize("kind", sorted(LN_KINDS))
def test_fast_path_equals_loop_and_reference(kind: str) -> None:
    cell = make_cell(kind)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(B, T, D, generator=gen, dtype=torch.float64)
    s0 = random_state(cell, B, gen)

    fast = one_layer(cell, "auto")
    out_f, fin_f, g_f = loss_and_grads(fast, x, s0)
    assert fast.last_path == "fast"
    loop = one_layer(cell, "loop")
    out_l, fin_l, g_l = loss_and_grads(loop, x, s0)
    assert loop.last_path == "loop"

    assert rel(out_f, out_l) < TOL
    for a, b in zip(fin_f, fin_l, strict=True):
        assert rel(a, b) < TOL
    # x, every initial-state field, weight_ih, weight_hh, bias_ih, bias_hh, ln_weight, ln_bias
    assert len(g_f) == 1 + len(fields(s0)) + 6
    for a, b in zip(g_f, g_l, strict=True):
        assert rel(a, b) < TOL

    # the reference engine, run directly on the same weights with the same upstream gradients
    _, _, ref_cls, kwargs = LN_KINDS[kind]
    layer = ref_cls(D, H, **kwargs, dtype="float64")
    layer.set_params([p.detach().numpy().copy() for p in cell_params(cell)])
    parts = [f.numpy() for f in fields(s0)]
    hs = layer.forward(x.numpy(), tuple(parts) if len(parts) == 2 else parts[0])
    np.testing.assert_allclose(hs, out_f.numpy(), rtol=0, atol=1e-12)
    gen = torch.Generator().manual_seed(1)
    dhs = torch.randn(out_f.shape, generator=gen, dtype=torch.float64).numpy()
    dfin = [torch.randn((1, B, H), generator=gen, dtype=torch.float64).numpy()[0] for _ in fin_f]
    dx = layer.backward(dhs, tuple(dfin) if len(dfin) == 2 else dfin[0])
    d0 = layer.dstate0 if isinstance(layer.dstate0, tuple) else (layer.dstate0,)
    expected = [dx, *d0, *layer.grads]
    for got, want in zip(g_f, expected, strict=True):
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-10, atol=1e-12)


def cell_params(cell: Cell) -> list[Tensor]:
    return [
        cell.weight_ih,
        cell.weight_hh,
        cell.bias_ih,
        cell.bias_hh,
        cell.ln_weight,
        cell.ln_bias,
    ]


@pytest.mark.parametrize("kind", ["lnrnn_tanh", "lnlstm", "lngru"])
def test_gradcheck_fast_path(kind: str) -> None:
    cell = make_cell(kind, d=2, h=3)
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(2, 3, 2, generator=gen, dtype=torch.float64, requires_grad=True)
    s0 = [f.requires_grad_(True) for f in fields(random_state(cell, 2, gen))]
    params = list(cell.parameters())
    n_s = len(s0)

    def f(x, *rest):
        state = rest[0] if n_s == 1 else LSTMState(*rest[:n_s])
        hs, final = fastpath.run(cell, x, state)
        return (hs, *fields(final))

    assert torch.autograd.gradcheck(f, (x, *s0, *params), eps=1e-6, atol=1e-7)


def test_double_backward_raises() -> None:
    cell = make_cell("lnlstm")
    x = torch.randn(B, T, D, dtype=torch.float64, requires_grad=True)
    hs, _ = fastpath.run(cell, x, cell.initial_state(B))
    (gx,) = torch.autograd.grad(hs.pow(2).sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match=r"once_differentiable|double backward|differentiable"):
        gx.sum().backward()


@pytest.mark.parametrize("kind", sorted(LN_KINDS))
def test_bias_false_and_float32(kind: str) -> None:
    cell_cls, _, _, kwargs = LN_KINDS[kind]
    torch.manual_seed(3)
    cell = cell_cls(D, H, **kwargs, bias=False)  # float32
    x = torch.randn(B, T, D)
    fast, loop = one_layer(cell, "fast"), one_layer(cell, "loop")
    out_f, _ = fast(x)
    out_f.sum().backward()
    g_f = [p.grad.clone() for p in cell.parameters()]
    cell.zero_grad()
    out_l, _ = loop(x)
    out_l.sum().backward()
    g_l = [p.grad.clone() for p in cell.parameters()]
    assert fast.last_path == "fast" and out_f.dtype == torch.float32
    assert rel(out_f, out_l) < 1e-5
    for a, b in zip(g_f, g_l, strict=True):
        assert rel(a, b) < 1e-4


def test_outputs_survive_the_next_call_and_retain_graph() -> None:
    """Kernel buffers are reused from call to call: earlier outputs and graphs stay valid."""
    cell = make_cell("lnlstm")
    x1 = torch.randn(B, T, D, dtype=torch.float64, requires_grad=True)
    x2 = torch.randn(B, T, D, dtype=torch.float64, requires_grad=True)
    s = cell.initial_state(B)
    hs1, _ = fastpath.run(cell, x1, s)
    kept = hs1.detach().clone()
    hs2, _ = fastpath.run(cell, x2, s)  # a second graph while the first is alive
    with torch.no_grad():
        fastpath.run(cell, x2, s)  # inference call in between
    assert torch.equal(hs1.detach(), kept)
    (g1,) = torch.autograd.grad(hs1.sum(), x1, retain_graph=True)
    (g1b,) = torch.autograd.grad(hs1.sum(), x1)  # backward through the same graph again
    (g2,) = torch.autograd.grad(hs2.sum(), x2)
    xl = x1.detach().requires_grad_(True)
    hl, _ = run_loop(cell, xl, s)
    (gl,) = torch.autograd.grad(hl.sum(), xl)
    assert rel(g1, gl) < TOL and rel(g1b, gl) < TOL
    assert not torch.equal(g1, g2)


def run_loop(cell: Cell, x: Tensor, state):
    """The plain loop, written here: one cell step per time step."""
    outs = []
    for t in range(x.shape[1]):
        h, state = cell(x[:, t], state)
        outs.append(h)
    return torch.stack(outs, dim=1), state


def test_only_final_cell_state_used() -> None:
    """A gradient that enters through c_T only (h outputs unused)."""
    cell = make_cell("lnlstm")
    x = torch.randn(B, T, D, dtype=torch.float64, requires_grad=True)
    _, (_, c) = fastpath.run(cell, x, cell.initial_state(B))
    (g,) = torch.autograd.grad(c.pow(2).sum(), x)
    xl = x.detach().requires_grad_(True)
    _, (_, cl) = run_loop(cell, xl, cell.initial_state(B))
    (gl,) = torch.autograd.grad(cl.pow(2).sum(), xl)
    assert rel(g, gl) < TOL


@pytest.mark.parametrize("kind", ["lnlstm", "lngru"])
def test_stacked_bidirectional_layer_on_fast_path(kind: str) -> None:
    _, layer_cls, _, _ = LN_KINDS[kind]
    torch.manual_seed(4)
    fast = layer_cls(D, H, 2, bidirectional=True, return_sequences=True).double()
    loop = layer_cls(D, H, 2, bidirectional=True, return_sequences=True, path="loop").double()
    loop.load_state_dict(fast.state_dict())
    x = torch.randn(B, T, D, dtype=torch.float64)
    out_f, out_l = fast(x), loop(x)
    assert fast.last_path == "fast" and loop.last_path == "loop"
    assert rel(out_f, out_l) < TOL
    out_f.pow(2).sum().backward()
    out_l.pow(2).sum().backward()
    for (name, a), b in zip(fast.named_parameters(), loop.parameters(), strict=True):
        assert rel(a.grad, b.grad) < TOL, name


#: compiled kernel, its reference time layer, constructor kwargs
FAST_KERNELS = {
    "lnrnn_tanh": (LNRNNKernel, ref.TimeLNRNN, {"nonlinearity": "tanh"}),
    "lnrnn_relu": (LNRNNKernel, ref.TimeLNRNN, {"nonlinearity": "relu"}),
    "lnlstm": (LNLSTMKernel, ref.TimeLNLSTM, {}),
    "lstm": (LSTMKernel, ref.TimeLSTM, {}),
    "lngru": (LNGRUKernel, ref.TimeLNGRU, {}),
    "gru": (GRUKernel, ref.TimeGRU, {}),
    "rnn_tanh": (RNNKernel, ref.TimeRNN, {"nonlinearity": "tanh"}),
    "rnn_relu": (RNNKernel, ref.TimeRNN, {"nonlinearity": "relu"}),
}


def kernel_and_reference(kind: str, d: int, h: int, dtype: str, rng: np.random.Generator):
    """A compiled kernel and its reference layer with the same random weights (and random LN
    gain and shift)."""
    fast_cls, ref_cls, kwargs = FAST_KERNELS[kind]
    ref_layer = ref_cls(d, h, **kwargs, dtype=dtype, seed=1)
    fast = fast_cls(d, h, **kwargs, dtype=dtype)
    if ref_layer.layer_norm:
        ref_layer.params[4][:] = rng.uniform(0.5, 1.5, ref_layer.params[4].shape)
        ref_layer.params[5][:] = rng.uniform(-0.5, 0.5, ref_layer.params[5].shape)
    fast.set_params([p.copy() for p in ref_layer.params])
    return fast, ref_layer


def as_tuple(s):
    """A state as a tuple: (h,) or (h, c)."""
    return s if isinstance(s, tuple) else (s,)


@pytest.mark.parametrize("kind", sorted(FAST_KERNELS))
@pytest.mark.parametrize("b", [8, 32])
def test_fast_kernels_large_rows_match_reference(kind: str, b: int) -> None:
    """Large rows (H = 600): every per-step product is over ``small_product``'s size and runs
    through torch instead of NumPy (the small shapes of the other tests take the NumPy
    products); the numbers are the reference engine's, in float64."""
    rng = np.random.default_rng(5)
    t, d, h = 3, 5, 600
    fast, ref_layer = kernel_and_reference(kind, d, h, "float64", rng)
    assert not small_product(b, h, h)
    x = rng.standard_normal((b, t, d))
    np.testing.assert_allclose(fast.forward(x), ref_layer.forward(x), rtol=0, atol=1e-12)
    dhs = rng.standard_normal((b, t, h))
    np.testing.assert_allclose(fast.backward(dhs), ref_layer.backward(dhs), rtol=0, atol=1e-12)
    for a, w in zip(fast.grads, ref_layer.grads, strict=True):
        np.testing.assert_allclose(a, w, rtol=0, atol=1e-10)
    for a, w in zip(as_tuple(fast.dstate0), as_tuple(ref_layer.dstate0), strict=True):
        np.testing.assert_allclose(a, w, rtol=0, atol=1e-12)


def assert_close32(got: np.ndarray, want: np.ndarray) -> None:
    """float32 agreement: rtol 1e-4, atol 1e-5 times the array's scale (at least 1). Weight
    gradients are sums over T*B rows with cancellation: an entry 1000x smaller than the
    array's largest carries the rounding of the large terms (both engines err by about
    5e-7 of the scale against float64 here)."""
    assert got.dtype == np.float32
    scale = max(1.0, float(np.abs(want).max()))
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5 * scale)


@pytest.mark.parametrize("kind", sorted(FAST_KERNELS))
def test_fast_kernels_float32_match_reference(kind: str) -> None:
    """float32 kernels (constants typed from the arrays) against the float32 reference, with
    an initial state and a gradient w.r.t. the final state, at a moderate shape (NumPy
    per-step products); the buffers are reused by a second call of another batch size."""
    rng = np.random.default_rng(8)
    b, t, d, h = 16, 7, 5, 40
    fast, ref_layer = kernel_and_reference(kind, d, h, "float32", rng)
    assert small_product(b, h, 4 * h)
    n_state = fast.state_parts
    for batch in (b, b // 2):
        x = rng.standard_normal((batch, t, d)).astype(np.float32)
        s0 = [rng.standard_normal((batch, h)).astype(np.float32) for _ in range(n_state)]
        state = tuple(s0) if n_state == 2 else s0[0]
        hs_f, hs_r = fast.forward(x, state), ref_layer.forward(x, state)
        assert_close32(hs_f, hs_r)
        for a, w in zip(as_tuple(fast.state), as_tuple(ref_layer.state), strict=True):
            assert_close32(a, w)
        dhs = rng.standard_normal((batch, t, h)).astype(np.float32)
        dfin = [rng.standard_normal((batch, h)).astype(np.float32) for _ in range(n_state)]
        dstate = tuple(dfin) if n_state == 2 else dfin[0]
        dx_f, dx_r = fast.backward(dhs, dstate), ref_layer.backward(dhs, dstate)
        assert_close32(dx_f, dx_r)
        for a, w in zip(fast.grads, ref_layer.grads, strict=True):
            assert_close32(a, w)
        for a, w in zip(as_tuple(fast.dstate0), as_tuple(ref_layer.dstate0), strict=True):
            assert_close32(a, w)


@pytest.mark.parametrize("kind", sorted(LN_KINDS))
def test_torch_loop_implementation_equals_cell_loop(kind: str) -> None:
    """The implementation used off the CPU (CUDA), exercised here on the CPU."""
    cell = make_cell(kind)
    gen = torch.Generator().manual_seed(6)
    x = torch.randn(B, T, D, generator=gen, dtype=torch.float64, requires_grad=True)
    s0 = random_state(cell, B, gen)
    hs, fin = run_torch(cell, x, s0)
    hl, finl = run_loop(cell, x, s0)
    assert rel(hs, hl) < TOL
    for a, b in zip(fields(fin), fields(finl), strict=True):
        assert rel(a, b) < TOL


class MGUCell(Cell):
    """Minimal gated unit (Zhou et al. 2016), a user-defined cell with both hooks.

    f = sigmoid(W_f x + U_f h), h~ = tanh(W_h x + U_h (f * h)), h' = (1 - f) h + f h~.
    """

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__(input_size, hidden_size)
        self.weight_ih = nn.Parameter(torch.randn(2 * hidden_size, input_size) * 0.5)
        self.bias_ih = nn.Parameter(torch.randn(2 * hidden_size) * 0.1)
        self.weight_hh = nn.Parameter(torch.randn(2 * hidden_size, hidden_size) * 0.5)

    def project_input(self, x: Tensor) -> Tensor:
        return torch.nn.functional.linear(x, self.weight_ih, self.bias_ih)  # (..., 2H)

    def step(self, p_t: Tensor, state: Tensor) -> tuple[Tensor, Tensor]:
        H = self.hidden_size
        U_f, U_h = self.weight_hh[:H], self.weight_hh[H:]
        f = torch.sigmoid(p_t[:, :H] + state @ U_f.T)  # (B, H)
        cand = torch.tanh(p_t[:, H:] + (f * state) @ U_h.T)  # (B, H)
        h = (1 - f) * state + f * cand
        return h, h

    def forward(self, x_t: Tensor, state: Tensor) -> tuple[Tensor, Tensor]:
        return self.step(self.project_input(x_t), state)


def test_user_defined_cell_has_no_kernel() -> None:
    """A cell in plain torch ops has no kernel: auto runs it elsewhere (the traced path or the
    loop), forcing "fast" says why."""
    torch.manual_seed(7)
    cell = MGUCell(D, H).double()
    x = torch.randn(B, T, D, dtype=torch.float64)
    s0 = torch.randn(B, H, dtype=torch.float64)
    assert not fastpath.supports(cell, x)
    auto = one_layer(cell, "auto")
    out, _, _ = loss_and_grads(auto, x, s0)
    assert auto.last_path in ("traced", "loop")
    hl, _ = run_loop(cell, x, s0)  # the cell's own forward, step by step
    assert rel(out, hl) < TOL
    with pytest.raises(ValueError, match="path='fast' is unavailable: it does not support MGUCell"):
        one_layer(cell, "fast")(x)


def test_supports() -> None:
    cell = LNLSTMCell(D, H)
    assert fastpath.supports(cell, torch.randn(B, T, D))
    assert fastpath.supports(cell.double(), torch.randn(B, T, D, dtype=torch.float64))
    assert not fastpath.supports(cell, torch.randn(B, T, D + 1))  # wrong D
    assert not fastpath.supports(cell, torch.randn(B, T, D, dtype=torch.float32))  # mixed dtypes
    assert not fastpath.supports(cell.bfloat16(), torch.randn(B, T, D, dtype=torch.bfloat16))

    class NoHooks(Cell):
        def forward(self, x_t, state):  # pragma: no cover - never run
            return state, state

    assert not fastpath.supports(NoHooks(D, H), torch.randn(B, T, D))
    with pytest.raises(ValueError, match="cell must be one the fast path supports"):
        fastpath.run(NoHooks(D, H), torch.randn(B, T, D), NoHooks(D, H).initial_state(B))


def test_layer_records_fast_path_and_forced_path() -> None:
    layer = LNLSTM(D, H)
    x = torch.randn(B, T, D)
    layer(x)
    assert layer.last_path == "fast"
    layer(x, lengths=[T, T - 1, 2])  # variable lengths: the CPU kernels take them too
    assert layer.last_path == "fast"
    layer.path = "loop"
    layer(x)
    assert layer.last_path == "loop"


@pytest.mark.parametrize("kind", sorted(LN_KINDS))
def test_variable_lengths_on_fast_path_equal_loop(kind: str) -> None:
    """A right-padded batch, two layers, both directions: outputs (zero at padded steps), each
    row's final state and every gradient equal the autograd loop's, which masks every step."""
    _, layer_cls, _, kwargs = LN_KINDS[kind]
    torch.manual_seed(8)
    opts = {"return_sequences": True, "return_state": True, **kwargs}
    fast = layer_cls(D, H, 2, bidirectional=True, **opts).double()
    loop = layer_cls(D, H, 2, bidirectional=True, path="loop", **opts).double()
    for cell in fast.cells:
        randomise_ln_(cell)
    loop.load_state_dict(fast.state_dict())
    gen = torch.Generator().manual_seed(9)
    x = torch.randn(4, T, D, generator=gen, dtype=torch.float64)
    lengths = torch.tensor([T, 2, 1, T - 1])
    results = []
    for layer in (fast, loop):
        xr = x.clone().requires_grad_(True)
        out, state = layer(xr, lengths=lengths)
        g = torch.Generator().manual_seed(10)
        loss = weighted_loss(out, state, g)
        results.append((out, fields(state), torch.autograd.grad(loss, [xr, *layer.parameters()])))
    assert fast.last_path == "fast" and loop.last_path == "loop"
    (out_f, st_f, g_f), (out_l, st_l, g_l) = results
    assert rel(out_f, out_l) < TOL
    assert out_f[1, 2:].abs().max() == 0 and out_f[2, 1:].abs().max() == 0
    for a, b in zip(st_f, st_l, strict=True):
        assert rel(a, b) < TOL
    for a, b in zip(g_f, g_l, strict=True):
        assert rel(a, b) < TOL
    assert g_f[0][2, 1:].abs().max() == 0  # nothing flows into padded inputs


def test_padded_row_equals_the_sequence_alone() -> None:
    """Row b of a padded batch on the fast path == sequence b run alone, final state included."""
    cell = make_cell("lnlstm")
    gen = torch.Generator().manual_seed(11)
    x = torch.randn(3, T, D, generator=gen, dtype=torch.float64)
    lengths = torch.tensor([2, T, 4])
    hs, (h, c) = fastpath.run(cell, x, cell.initial_state(3), lengths)
    for b, n in enumerate(lengths.tolist()):
        hb, (hb_last, cb_last) = fastpath.run(cell, x[b : b + 1, :n], cell.initial_state(1))
        assert rel(hs[b, :n], hb[0]) < TOL
        assert rel(h[b], hb_last[0]) < TOL and rel(c[b], cb_last[0]) < TOL
        if n < T:
            assert hs[b, n:].abs().max().item() == 0


# -- the plain GRU and RNN kernels: against torch.nn, and where path="auto" picks them ---------
TORCH_LAYERS = {"gru": lambda **kw: nn.GRU(**kw), "rnn_tanh": lambda **kw: nn.RNN(**kw),
                "rnn_relu": lambda **kw: nn.RNN(nonlinearity="relu", **kw),
                "lstm": lambda **kw: nn.LSTM(**kw)}


@pytest.mark.parametrize("kind", sorted(TORCH_LAYERS))
@pytest.mark.parametrize("with_lengths", [False, True], ids=["full", "lengths"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
def test_kernel_matches_torch_nn_layer(kind: str, bidirectional: bool,
                                       with_lengths: bool) -> None:
    """Two stacked layers in float64 on path="fast" against torch.nn.GRU / RNN / LSTM (packed
    sequences for lengths): outputs, final state and the gradients of x, the initial state
    and every parameter."""
    torch.manual_seed(1)
    theirs = TORCH_LAYERS[kind](input_size=3, hidden_size=4, num_layers=2, batch_first=True,
                                bidirectional=bidirectional).double()
    ours = from_torch(theirs, return_sequences=True, return_state=True, path="fast")
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(4, 6, 3, generator=gen, dtype=torch.float64)
    parts = 2 if kind == "lstm" else 1  # (h0, c0) or h0
    s0 = [torch.randn(len(ours.cells), 4, 4, generator=gen, dtype=torch.float64)
          for _ in range(parts)]
    lengths = torch.tensor([6, 2, 4, 1]) if with_lengths else None
    xt, xo = x.clone().requires_grad_(), x.clone().requires_grad_()
    s0t, s0o = [s.clone().requires_grad_() for s in s0], [s.clone().requires_grad_() for s in s0]
    state_t = tuple(s0t) if parts == 2 else s0t[0]
    state_o = ours.state_type(*s0o) if parts == 2 else s0o[0]
    if lengths is None:
        out_t, st_t = theirs(xt, state_t)
    else:
        packed = pack_padded_sequence(xt, lengths, batch_first=True, enforce_sorted=False)
        out_p, st_t = theirs(packed, state_t)
        out_t, _ = pad_packed_sequence(out_p, batch_first=True, total_length=6)
    out_o, st_o = ours(xo, state_o, lengths=lengths)
    assert ours.last_path == "fast"
    assert rel(out_o, out_t) < TOL
    for a, b in zip(fields(st_o), fields(st_t), strict=True):
        assert rel(a, b) < TOL
    weighted_loss(out_t, st_t, torch.Generator().manual_seed(3)).backward()
    weighted_loss(out_o, st_o, torch.Generator().manual_seed(3)).backward()
    assert rel(xo.grad, xt.grad) < TOL
    for a, b in zip(s0o, s0t, strict=True):
        assert rel(a.grad, b.grad) < TOL
    dirs = 2 if bidirectional else 1
    for i, cell in enumerate(ours.cells):
        sfx = f"_l{i // dirs}" + ("_reverse" if i % dirs else "")
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            assert rel(getattr(cell, name).grad, getattr(theirs, name + sfx).grad) < TOL, (
                name + sfx)


def test_auto_runs_the_gru_kernel_only_where_the_table_says(monkeypatch) -> None:
    """path="auto" runs a GRU on its kernel on the machine kinds of AUTO_KERNELS, else on the
    fused torch.nn.GRU; the fused path again under autocast (the kernel steps aside). The
    table holds the GRU and the SimpleRNN cell for x86_64 machines with up to 2 torch threads,
    the LSTM cell for one thread."""
    assert fastpath.AUTO_KERNELS == {GRUCell: ("x86_64", 2), SimpleRNNCell: ("x86_64", 2),
                                     LSTMCell: ("x86_64", 1)}
    layer = GRU(3, 4, return_sequences=True)
    x = torch.randn(2, 5, 3)
    monkeypatch.setattr(fastpath, "AUTO_KERNELS", {})
    layer(x)
    assert layer.last_path == "fused"
    here = (fastpath._MACHINE, torch.get_num_threads())
    monkeypatch.setattr(fastpath, "AUTO_KERNELS", {GRUCell: here})
    out = layer(x)
    assert layer.last_path == "fast"
    with torch.autocast("cpu", dtype=torch.bfloat16):
        layer(x)
    assert layer.last_path == "fused"
    other = ("another-arch", here[1])
    monkeypatch.setattr(fastpath, "AUTO_KERNELS", {GRUCell: other})
    assert rel(layer(x), out) < 1e-5  # float32: the fused path agrees with the kernel
    assert layer.last_path == "fused"


def test_auto_runs_the_lstm_kernel_on_one_thread_only(monkeypatch) -> None:
    """path="auto" runs an LSTM on its kernel where the table says, with one torch thread,
    and on the fused torch.nn.LSTM with two; the same numbers either way (float32)."""
    monkeypatch.setattr(fastpath, "AUTO_KERNELS", {LSTMCell: (fastpath._MACHINE, 1)})
    layer = LSTM(3, 4, return_sequences=True)
    x = torch.randn(2, 5, 3)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = layer(x)
        assert layer.last_path == "fast"
        torch.set_num_threads(2)
        two = layer(x)
        assert layer.last_path == "fused"
    finally:
        torch.set_num_threads(before)
    assert rel(one, two) < 1e-5


def test_one_thread_products_run_in_numpy_on_one_blas_thread(monkeypatch) -> None:
    """With one torch thread the kernels' products run in NumPy (jit.numpy_products) and
    OpenBLAS is held to one thread while they run, so that a one-thread worker process starts
    no BLAS threads of its own; with two torch threads the products stay in torch."""
    from rnnkit.nn.fastpath import jit

    if not jit._blas_libraries():
        pytest.skip("threadpoolctl finds no BLAS library")
    rng = np.random.default_rng(4)
    fast, _ = kernel_and_reference("lstm", 3, 600, "float64", rng)  # per-step torch products
    seen: list[tuple[bool, list[int]]] = []
    original = jit.StepProduct.__init__

    def spy(self, M, B):
        original(self, M, B)
        seen.append((self.small, [lib.get_num_threads() for lib in jit._blas_libraries()]))

    monkeypatch.setattr(jit.StepProduct, "__init__", spy)
    x = rng.standard_normal((8, 3, 3))
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        fast.forward(x)
        fast.backward(rng.standard_normal((8, 3, 600)))
        torch.set_num_threads(2)
        fast.forward(x)
    finally:
        torch.set_num_threads(before)
    (f1, threads_f), (b1, threads_b), (f2, _) = seen
    assert f1 and b1 and threads_f and set(threads_f) == set(threads_b) == {1}
    assert not f2


@pytest.mark.parametrize("kind", sorted(FAST_KERNELS))
def test_threaded_passes_equal_one_thread(kind: str) -> None:
    """The compiled passes split the batch rows across threads when a step is large enough and
    torch may use two threads: the same numbers as on one thread (float64; the per-row
    dgamma / dbeta sums make the parameter gradients independent of the split)."""
    rng = np.random.default_rng(9)
    fast_cls, _, _ = FAST_KERNELS[kind]
    b, t, d = 48, 4, 3
    h = PARALLEL_MIN // (b * fast_cls.gates) + 1  # just over the threshold
    fast, _ = kernel_and_reference(kind, d, h, "float64", rng)
    x, dhs = rng.standard_normal((b, t, d)), rng.standard_normal((b, t, h))
    before = torch.get_num_threads()
    results = []
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            assert parallel_rows(b, fast.gates * h) == (threads - 1)
            hs = fast.forward(x)
            dx = fast.backward(dhs)
            results.append([hs, dx, *(g.copy() for g in fast.grads)])
    finally:
        torch.set_num_threads(before)
    for one, two in zip(*results, strict=True):
        np.testing.assert_allclose(two, one, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", sorted(FAST_KERNELS))
@pytest.mark.parametrize("h", [6, 70])
def test_whole_loop_equals_the_step_loop(kind: str, h: int, monkeypatch) -> None:
    """Small steps run the whole time loop in one compiled call (``jit.whole_loop``), larger
    ones a Python loop of per-step calls: on the same small problem, with variable lengths
    and a final state's gradient, both give the same numbers (float64). h = 70 takes the GRU's
    row-view backward passes (above ``gru_kernel.ROWS_MAX_H``)."""
    from rnnkit.nn.fastpath import kernel as module  # Kernel.forward decides for both passes

    rng = np.random.default_rng(11)
    b, t, d = 4, 6, 3
    fast, _ = kernel_and_reference(kind, d, h, "float64", rng)
    x, dhs = rng.standard_normal((b, t, d)), rng.standard_normal((b, t, h))
    s0 = tuple(rng.standard_normal((b, h)) for _ in range(fast.state_parts))
    dfinal = tuple(rng.standard_normal((b, h)) for _ in range(fast.state_parts))
    results = []
    for whole in (True, False):
        monkeypatch.setattr(module, "whole_loop", lambda *_, w=whole: w)
        fast.lengths = np.array([6, 2, 5, 1])
        state = s0 if fast.state_parts == 2 else s0[0]
        hs = fast.forward(x, state)
        dx = fast.backward(dhs, dfinal if fast.state_parts == 2 else dfinal[0])
        results.append([hs, dx, *as_tuple(fast.state), *as_tuple(fast.dstate0),
                        *(g.copy() for g in fast.grads)])
    for whole, steps in zip(*results, strict=True):
        np.testing.assert_allclose(whole, steps, rtol=1e-12, atol=1e-12)


def test_whole_loop_only_for_small_steps_on_one_thread(monkeypatch) -> None:
    """The compiled time loop takes small steps (one-thread passes, a NumPy-sized product, or
    with one torch thread a product OpenBLAS keeps on one thread), never large ones, and never
    without SciPy (Numba's ``np.dot`` needs its BLAS)."""
    from rnnkit.nn.fastpath import jit

    monkeypatch.setattr(jit, "HAS_SCIPY", True)
    assert jit.whole_loop(64, 20, 80)  # (64, 50, 1, 20): LN-LSTM's step
    assert not jit.whole_loop(64, 128, 512)  # over PARALLEL_MIN and small_product's size
    assert not jit.whole_loop(1, 600, 1800)  # one row, but a large product
    before = torch.get_num_threads()
    try:  # with one torch thread, every product OpenBLAS runs on one thread
        torch.set_num_threads(1)
        assert jit.whole_loop(128, 32, 96)  # 393,216 multiply-adds
        assert not jit.whole_loop(128, 32, 128)  # 524,288: OpenBLAS's second thread
        torch.set_num_threads(2)
        assert not jit.whole_loop(128, 32, 96)  # torch's two threads take the products
    finally:
        torch.set_num_threads(before)
    monkeypatch.setattr(jit, "HAS_SCIPY", False)
    assert not jit.whole_loop(64, 20, 80)


@numba.njit
def _compiled_sigmoid(x: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    out = np.empty_like(x)
    for j in range(x.shape[0]):
        out[j] = sigmoid(x[j])
    return out


@pytest.mark.parametrize(("dtype", "ulps"), [(np.float32, 8), (np.float64, 64)])
def test_compiled_sigmoid_is_accurate_to_a_few_ulps(dtype, ulps: int) -> None:
    """The kernels' own sigmoid (``jit.sigmoid``: exp from 2^k and a polynomial) against
    ``1 / (1 + exp(-x))`` in long double, over the range gates see and beyond it: within a
    few units in the last place where the value is a normal float, 0 / 1 at the extremes."""
    x = np.concatenate([np.linspace(-30, 30, 20001), [-700.0, -100.0, 0.0, 1e-12, 100.0, 700.0],
                        np.random.default_rng(0).standard_normal(5000) * 5]).astype(dtype)
    got = _compiled_sigmoid(x)
    want = 1.0 / (1.0 + np.exp(-x.astype(np.longdouble)))
    normal = want > np.finfo(dtype).tiny * 1e6
    err_ulps = np.abs(got - want)[normal] / np.spacing(want[normal].astype(dtype))
    assert err_ulps.max() <= ulps
    assert np.all(got[x >= 100] == 1.0)
    assert np.all((got >= 0) & (got <= 1))
    assert got[x == 0][0] == 0.5
