"""The traced path (rnnkit.nn.fastpath.traced): user cells without per-step autograd.

Expected values come from the autograd loop (``path="loop"``) on the same cell and from finite
differences (``torch.autograd.gradcheck``), in float64.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.nn import Cell, LSTMState, Recurrent, fastpath
from rnnkit.nn.fastpath import traced
from rnnkit.tasks.classify.cells import MyGRUCell, MyLSTMCell  # cells as users write them

from .helpers import fields, rel, weighted_loss

B, T, D, H = 3, 5, 4, 6
LENGTHS = [5, 2, 4]


class UserGRU(Cell):
    """A GRU written as forward(x_t, h) only (no hoisting), with a bias of its own."""

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__(input_size, hidden_size)
        self.x2g = nn.Linear(input_size, 3 * hidden_size)
        self.h2g = nn.Linear(hidden_size, 3 * hidden_size)

    def forward(self, x_t: Tensor, h: Tensor) -> tuple[Tensor, Tensor]:
        xr, xz, xn = self.x2g(x_t).chunk(3, dim=-1)
        hr, hz, hn = self.h2g(h).chunk(3, dim=-1)
        r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
        n = torch.tanh(xn + r * hn)
        h = (1 - z) * n + z * h
        return h, h


class UserLNRNN(Cell):
    """An Elman cell with a layer norm (affine) on the pre-activation: h' = tanh(LN(Wx + Uh))."""

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__(input_size, hidden_size)
        self.inp = nn.Linear(input_size, hidden_size)
        self.rec = nn.Linear(hidden_size, hidden_size, bias=False)
        self.norm = nn.LayerNorm(hidden_size)

    def forward(self, x_t: Tensor, h: Tensor) -> tuple[Tensor, Tensor]:
        h = torch.tanh(self.norm(self.inp(x_t) + self.rec(h)))
        return h, h


class Branchy(UserLNRNN):
    """Control flow on a tensor's value: cannot be traced."""

    def forward(self, x_t: Tensor, h: Tensor) -> tuple[Tensor, Tensor]:
        h2, _ = super().forward(x_t, h)
        return (h2, h2) if h2.sum() > 0 else (-h2, -h2)


class InPlace(UserLNRNN):
    """An in-place op in the step."""

    def forward(self, x_t: Tensor, h: Tensor) -> tuple[Tensor, Tensor]:
        a = self.inp(x_t) + self.rec(h)
        a.tanh_()
        return a, a


class Dropping(UserLNRNN):
    """Dropout inside the step: random in training mode, the identity in eval mode."""

    def forward(self, x_t: Tensor, h: Tensor) -> tuple[Tensor, Tensor]:
        h2, _ = super().forward(x_t, h)
        h2 = F.dropout(h2, 0.3, training=self.training)
        return h2, h2


CELLS = {"lstm": MyLSTMCell, "gru": UserGRU, "ln-rnn": UserLNRNN,
         "hoisted-gru": MyGRUCell}  # MyGRUCell splits the step's input p_t itself


def _cell(kind: str, d: int = D) -> Cell:
    torch.manual_seed(0)
    cell = CELLS[kind](d, H).double()
    with torch.no_grad():  # LN gain and shift away from 1 and 0, so that they matter
        for p in cell.parameters():
            p.add_(0.2 * torch.randn_like(p))
    return cell


def _run(layer: Recurrent, x: Tensor, lengths=None, seed: int = 1):
    """Outputs, final state and the gradients of x, the initial state and every parameter."""
    x = x.clone().requires_grad_(True)
    gen = torch.Generator().manual_seed(seed)
    LD = len(layer.cells)
    n = 1 if layer.state_type is None else len(layer.state_type._fields)
    s0 = [torch.randn(LD, B, H, generator=gen, dtype=x.dtype, requires_grad=True)
          for _ in range(n)]
    state = s0[0] if layer.state_type is None else layer.state_type(*s0)
    out, final = layer(x, state, lengths=lengths)
    loss = weighted_loss(out, final, gen)
    grads = torch.autograd.grad(loss, [x, *s0, *layer.parameters()])
    return (out, *fields(final)), grads


def _layer(cell: Cell, path: str, **kw) -> Recurrent:
    return Recurrent(cell, return_sequences=True, return_state=True, path=path, **kw)


@pytest.mark.parametrize("with_lengths", [False, True], ids=["full", "lengths"])
@pytest.mark.parametrize("kind", list(CELLS))
def test_matches_the_loop(kind, with_lengths):
    """Outputs, final state and all gradients equal the autograd loop's (float64)."""
    x = torch.randn(B, T, D, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    lengths = LENGTHS if with_lengths else None
    auto = _layer(_cell(kind), "auto")
    got, got_grads = _run(auto, x, lengths)
    assert auto.last_path == "traced" and auto.last_path_reason is None
    want, want_grads = _run(_layer(_cell(kind), "loop"), x, lengths)
    for a, b in zip((*got, *got_grads), (*want, *want_grads), strict=True):
        assert a.shape == b.shape
        assert rel(a, b) < 1e-12
    if with_lengths:  # padded steps output zeros
        assert got[0][1, 2:].abs().max().item() == 0.0


def test_stacked_bidirectional_matches_the_loop():
    x = torch.randn(B, T, D, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    torch.manual_seed(0)
    cells = [UserGRU(D, H).double(), UserGRU(2 * H, H).double()]
    traced_layer = _layer(cells, "traced", bidirectional=True)
    loop_layer = _layer(cells, "loop", bidirectional=True)
    loop_layer.load_state_dict(traced_layer.state_dict())
    got, got_grads = _run(traced_layer, x, LENGTHS)
    want, want_grads = _run(loop_layer, x, LENGTHS)
    assert traced_layer.last_path == "traced"
    for a, b in zip((*got, *got_grads), (*want, *want_grads), strict=True):
        assert rel(a, b) < 1e-12


@pytest.mark.parametrize("kind", list(CELLS))
def test_gradcheck(kind):
    """Gradients of x, the initial state and the parameters against finite differences."""
    cell = _cell(kind, d=2)
    x = torch.randn(2, 3, 2, dtype=torch.float64, requires_grad=True)
    s = [torch.randn(2, H, dtype=torch.float64, requires_grad=True)
         for _ in range(1 if cell.state_type is None else 2)]
    params = list(cell.parameters())
    names = [n for n, _ in cell.named_parameters()]

    def f(x, *args):
        state = args[0] if cell.state_type is None else cell.state_type(*args[: len(s)])
        new = dict(zip(names, args[len(s):], strict=True))
        with torch.nn.utils.stateless._reparametrize_module(cell, new):
            hs, final = traced.run(cell, x, state, torch.tensor([3, 2]))
        return (hs, *fields(final))

    assert torch.autograd.gradcheck(f, (x, *s, *params))


def test_traced_once_and_cached():
    cell = _cell("lstm")
    layer = _layer(cell, "traced")
    x = torch.randn(B, T, D, dtype=torch.float64)
    layer(x)
    p = cell.project_input(x[:, 0])
    state = [f[0] for f in layer.initial_state(B)]
    prog = traced.program(cell, p, state)
    assert prog.trace_s > 0
    assert prog.param_grads is not None  # the LSTM's dW_hh is one product over all steps
    layer(torch.randn(B, 2 * T, D, dtype=torch.float64))  # another length: the same program
    assert traced.program(cell, p, state) is prog
    assert traced.program(cell, p[:2], [f[:2] for f in state]) is not prog  # another batch


@pytest.mark.parametrize(("batch", "copied"), [(B, True), (traced.SMALL_PIECE // H + 1, False)],
                         ids=["small", "large"])
def test_small_gate_blocks_are_copied_out_of_their_views(batch, copied):
    """The forward step splits the (B, 4H) pre-activation into contiguous blocks (one copy,
    then unbind) when the blocks are small, and keeps chunk's views when they are not."""
    cell = _cell("lstm")
    p = torch.zeros(batch, 4 * H, dtype=torch.float64)
    state = [torch.zeros(batch, H, dtype=torch.float64)] * 2
    ops = {nd.target for nd in traced.program(cell, p, state).forward.graph.nodes}
    assert (torch.ops.aten.unbind.int in ops) == copied
    assert (torch.ops.aten.split.Tensor in ops) != copied


@pytest.mark.parametrize(
    ("cell_cls", "reason"),
    [
        (Branchy, r"its step does not trace \("),
        (InPlace, r"its step modifies a tensor in place \(aten::tanh_\)"),
        (Dropping, r"its step draws random numbers \(aten::"),
    ],
    ids=["control-flow", "in-place", "dropout"],
)
def test_untraceable_cells_run_the_loop(cell_cls, reason):
    """auto falls back to the loop and says why; path='traced' refuses with the reason."""
    x = torch.randn(B, T, D)
    layer = _layer(cell_cls(D, H), "auto")
    layer(x)
    assert layer.last_path == "loop"
    assert layer.last_path_reason is not None
    assert layer.last_path_reason.startswith("the traced path is unavailable: ")
    with pytest.raises(ValueError, match=r"path='traced' is unavailable: " + reason):
        _layer(cell_cls(D, H), "traced")(x)


def test_dropout_cell_in_eval_mode_is_traced():
    layer = _layer(Dropping(D, H), "auto").eval()
    layer(torch.randn(B, T, D))
    assert layer.last_path == "traced"


def test_autocast_runs_the_loop():
    layer = _layer(UserLNRNN(D, H), "auto")
    with torch.autocast("cpu", dtype=torch.bfloat16):
        layer(torch.randn(B, T, D))
    assert layer.last_path == "loop"
    assert layer.last_path_reason == (
        "the traced path is unavailable: it does not run under autocast (torch.bfloat16)"
    )


def test_float32_and_no_grad_match_the_loop():
    """In float32 (the benchmark's dtype) within rounding, and under no_grad (no backward)."""
    torch.manual_seed(0)
    cell = MyLSTMCell(D, H)
    x = torch.randn(B, T, D)
    traced_layer, loop_layer = _layer(cell, "traced"), _layer(cell, "loop")
    with torch.no_grad():
        got, want = traced_layer(x, lengths=LENGTHS), loop_layer(x, lengths=LENGTHS)
    assert traced_layer.last_path == "traced"
    for a, b in zip((got[0], *got[1]), (want[0], *want[1]), strict=True):
        assert rel(a, b) < 1e-6
    got, got_grads = _run(traced_layer, x)
    want, want_grads = _run(loop_layer, x)
    for a, b in zip((*got, *got_grads), (*want, *want_grads), strict=True):
        assert rel(a, b) < 1e-5


# -- the loops: compiled by Numba from the graphs, or TorchScript ---------------------------------
numba_only = pytest.mark.skipif(not fastpath.numba_available(), reason="numba not installed")


def _program(cell: Cell, batch: int = B) -> traced.TracedStep:
    dtype = next(cell.parameters()).dtype
    p = torch.zeros(batch, cell.project_input(torch.zeros(1, 1, cell.input_size,
                                                          dtype=dtype)).shape[-1], dtype=dtype)
    n = 1 if cell.state_type is None else len(cell.state_type._fields)
    return traced.program(cell, p, [torch.zeros(batch, cell.hidden_size, dtype=dtype)] * n)


class ErfRNN(UserLNRNN):
    """h' = erf(W x + U h) (no layer norm): an op the Numba loops have no translation for."""

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__(input_size, hidden_size)
        del self.norm

    def forward(self, x_t: Tensor, h: Tensor) -> tuple[Tensor, Tensor]:
        h = torch.erf(self.inp(x_t) + self.rec(h))
        return h, h


@numba_only
@pytest.mark.parametrize(("cell", "loops"), [
    (lambda: _cell("lstm"), "Numba"),
    (lambda: _cell("gru"), "Numba"),
    (lambda: ErfRNN(D, H).double(), "TorchScript (Numba: aten.erf has no Numba translation)"),
    (lambda: _cell("ln-rnn"), "TorchScript (Numba: parameter gradients per step)"),
], ids=["lstm", "gru", "erf", "ln-rnn"])
def test_which_loops_run(cell, loops):
    """Element-wise cells compile to Numba loops; an op without a translation keeps
    TorchScript's, and says which op; so do gradients the loops cannot batch."""
    x = torch.randn(B, T, D, dtype=torch.float64, generator=torch.Generator().manual_seed(7))
    torch.manual_seed(0)
    layer = _layer(cell(), "traced")
    assert _program(layer.cells[0]).loops_on == loops
    got, got_grads = _run(layer, x, LENGTHS)
    torch.manual_seed(0)
    want, want_grads = _run(_layer(cell(), "loop"), x, LENGTHS)
    for a, b in zip((*got, *got_grads), (*want, *want_grads), strict=True):
        assert rel(a, b) < 1e-12


def test_without_numba_the_loops_are_torchscript(monkeypatch):
    monkeypatch.setattr(fastpath, "numba_available", lambda: False)
    x = torch.randn(B, T, D, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    cell = _cell("gru")
    assert _program(cell).loops_on == "TorchScript (Numba: not installed)"
    got, got_grads = _run(_layer(cell, "traced"), x, LENGTHS)
    want, want_grads = _run(_layer(_cell("gru"), "loop"), x, LENGTHS)
    for a, b in zip((*got, *got_grads), (*want, *want_grads), strict=True):
        assert rel(a, b) < 1e-12


@numba_only
@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_two_threads_run_half_batches_that_match_the_loop(kind):
    """From a step input of PARALLEL_MIN entries on, with two torch threads, each half of the
    batch runs its own compiled loops on its own thread; rows padded in both halves."""
    from rnnkit.nn.fastpath import jit
    from rnnkit.nn.fastpath.jit import PARALLEL_MIN
    from rnnkit.nn.fastpath.traced_numba import SplitLoops

    batch = 2 * PARALLEL_MIN // (4 * H) + 2  # rows (B, 4H) over the rule's size
    gen = torch.Generator().manual_seed(5)
    x = torch.randn(batch, T, D, dtype=torch.float64, generator=gen)
    lengths = torch.randint(1, T + 1, (batch,), generator=gen)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        layer = _layer(_cell(kind), "traced")
        out, final = layer(x, lengths=lengths)
        prog = _program(layer.cells[0], batch)
        assert isinstance(prog.split, SplitLoops)
        # the worker half ran torch ops on one thread (a team of its own would throttle
        # every OpenMP team of the process); this thread keeps its count
        assert jit._WORKER.submit(torch.get_num_threads).result() == 1
        assert torch.get_num_threads() == 2
        loop = _layer(_cell(kind), "loop")
        want, want_final = loop(x, lengths=lengths)
        gen = torch.Generator().manual_seed(6)
        w_out = torch.randn(out.shape, generator=gen, dtype=out.dtype)
        grads = torch.autograd.grad((out * w_out).sum(), list(layer.parameters()))
        want_grads = torch.autograd.grad((want * w_out).sum(), list(loop.parameters()))
    finally:
        torch.set_num_threads(before)
    assert rel(out, want) < 1e-12
    for a, b in zip((*fields(final), *grads), (*fields(want_final), *want_grads), strict=True):
        assert rel(a, b) < 1e-12


@numba_only
def test_compiled_loops_are_kept_on_disk(monkeypatch, tmp_path):
    """The generated source lies in $RNNKIT_CACHE/traced, for Numba's cache beside it."""
    monkeypatch.setenv("RNNKIT_CACHE", str(tmp_path))
    torch.manual_seed(0)
    cell = MyLSTMCell(D, H + 1).double()  # a shape no other test compiles
    layer = Recurrent(cell, return_sequences=True, path="traced")
    layer(torch.randn(B, T, D, dtype=torch.float64)).sum().backward()
    (source,) = (tmp_path / "traced").glob("rnnkit_traced_*.py")
    assert "def forward_loop(" in source.read_text()
    assert "def backward_loop(" in source.read_text()


def test_one_tensor_as_two_state_fields_is_traced_as_two():
    """traced.run with LSTMState(s, s): the step is traced on fresh inputs, so h and c stay two
    inputs (traced on the caller's tensors, both fields became one input of the graph)."""
    x = torch.randn(B, T, D, dtype=torch.float64, generator=torch.Generator().manual_seed(8))
    s = torch.randn(B, H, dtype=torch.float64, generator=torch.Generator().manual_seed(9))
    got, got_state = traced.run(_cell("lstm"), x, LSTMState(s, s))
    want, want_state = _layer(_cell("lstm"), "loop")(x, LSTMState(s[None], s[None]))
    for a, b in zip((got, *got_state), (want, *(f[0] for f in want_state)), strict=True):
        assert rel(a, b) < 1e-12


@numba_only
def test_graphs_numba_cannot_compile_keep_torchscript(monkeypatch):
    """Generated code that Numba rejects is found when the program is built (the loops are
    compiled then), and the step keeps TorchScript's loops."""
    from rnnkit.nn.fastpath import traced_numba

    monkeypatch.setitem(traced_numba.ELEMENTWISE, torch.ops.aten.sigmoid,
                        lambda a: f"no_such_function({a})")
    torch.manual_seed(0)
    cell = MyLSTMCell(D, H + 2).double()  # a shape no other test compiles
    assert _program(cell).loops_on.startswith(
        "TorchScript (Numba: Numba could not compile it (Failed in nopython mode")
