"""Every layer type and path under the ecosystem's tools: torch.jit.trace, torch.export,
torch.onnx.export (+ onnxruntime), bf16 autocast, torch.compile (slow), without Numba.

The layers: SimpleRNN / LSTM / GRU (fused path), their layer-normalised versions (fast path,
which falls back to the autograd loop under every graph capture and under autocast), a user
cell on ``Recurrent`` (loop), bidirectional and stacked variants and the ``Bidirectional``
wrapper, each with and without ``lengths``. Which path ran under a capture is recorded by a spy
on ``Recurrent._choose_path`` (torch.export restores module attributes after tracing, so
``last_path`` cannot tell afterwards).
"""

from __future__ import annotations

import copy
import subprocess
import sys
import warnings
from collections.abc import Callable

import pytest
import torch
from torch import Tensor, nn

from rnnkit.nn import (
    GRU,
    LNGRU,
    LNLSTM,
    LSTM,
    Bidirectional,
    Cell,
    GRUCell,
    LNSimpleRNN,
    LSTMCell,
    Recurrent,
    SimpleRNN,
    SimpleRNNCell,
    fastpath,
)

B, T, D, H = 3, 4, 3, 4
LENGTHS = [4, 2, 3]
NEW_LENGTHS = [3, 4, 1]  # other values than the capture saw


class TanhCell(Cell):
    """A user cell in plain torch ops (no kernel anywhere): h' = tanh(W x + U h)."""

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__(input_size, hidden_size)
        self.inp = nn.Linear(input_size, hidden_size)
        self.rec = nn.Linear(hidden_size, hidden_size, bias=False)

    def forward(self, x_t: Tensor, state: Tensor) -> tuple[Tensor, Tensor]:
        h = torch.tanh(self.inp(x_t) + self.rec(state))
        return h, h


def _seq(**kw):
    return {"return_sequences": True, **kw}


#: where path="auto" runs a GRU / SimpleRNN / LSTM eagerly: its CPU kernel on the machine kinds
#: and thread counts of fastpath.AUTO_KERNELS (with Numba), else the fused torch.nn module
GRU_EAGER = "fast" if fastpath.preferred(GRUCell(D, H)) else "fused"
RNN_EAGER = "fast" if fastpath.preferred(SimpleRNNCell(D, H)) else "fused"
LSTM_EAGER = "fast" if fastpath.preferred(LSTMCell(D, H)) else "fused"


#: name -> (layer factory, path eagerly, path under export/trace without and with lengths)
CASES: dict[str, tuple[Callable[[], nn.Module], str, str, str]] = {
    "SimpleRNN": (lambda: SimpleRNN(D, H, **_seq(return_state=True)), RNN_EAGER, "fused",
                  "fused"),
    "LSTM": (lambda: LSTM(D, H, **_seq(return_state=True)), LSTM_EAGER, "fused", "loop"),
    "GRU": (lambda: GRU(D, H, **_seq(return_state=True)), GRU_EAGER, "fused", "fused"),
    "LSTM-bi-stacked": (lambda: LSTM(D, H, 2, bidirectional=True), LSTM_EAGER, "fused",
                        "fused"),
    "GRU-stacked": (lambda: GRU(D, H, 2, **_seq(return_state=True)), GRU_EAGER, "fused",
                    "fused"),
    "LNSimpleRNN": (lambda: LNSimpleRNN(D, H, **_seq(return_state=True)), "fast", "loop",
                    "loop"),
    "LNLSTM": (lambda: LNLSTM(D, H, **_seq(return_state=True)), "fast", "loop", "loop"),
    "LNGRU-bi-stacked": (lambda: LNGRU(D, H, 2, bidirectional=True, **_seq()), "fast",
                         "loop", "loop"),
    "user-cell": (lambda: Recurrent(TanhCell(D, H), **_seq(return_state=True)), "traced",
                  "loop", "loop"),
    "Bidirectional-GRU": (lambda: Bidirectional(GRU(D, H, **_seq())), GRU_EAGER, "fused",
                          "fused"),
}


class Net(nn.Module):
    """A layer as a module of plain tensors: (x, lengths) -> (out, *state fields)."""

    def __init__(self, layer: nn.Module) -> None:
        super().__init__()
        self.layer = layer

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> tuple[Tensor, ...]:
        out = self.layer(x, lengths=lengths)
        if isinstance(out, Tensor):
            return (out,)
        out, state = out
        return (out, *((state,) if isinstance(state, Tensor) else tuple(state)))


def _make(name: str, dtype: torch.dtype = torch.float64) -> Net:
    torch.manual_seed(0)
    net = Net(CASES[name][0]()).to(dtype)
    with torch.no_grad():  # LN gain and shift away from 1 and 0, so that they matter
        for n, p in net.named_parameters():
            if "ln_" in n:
                p.add_(0.3 * torch.randn_like(p))
    return net.eval()


def _inputs(b: int = B, t: int = T, lengths: list[int] | None = None, seed: int = 1,
            dtype: torch.dtype = torch.float64) -> tuple[Tensor, ...]:
    x = torch.randn(b, t, D, generator=torch.Generator().manual_seed(seed), dtype=dtype)
    return (x,) if lengths is None else (x, torch.tensor(lengths))


@pytest.fixture
def paths(monkeypatch) -> list[str]:
    """The paths every Recurrent chose, in order, while the test ran."""
    seen: list[str] = []
    choose = Recurrent._choose_path

    def spy(self, *args, **kwargs):
        path = choose(self, *args, **kwargs)
        seen.append(path)
        return path

    monkeypatch.setattr(Recurrent, "_choose_path", spy)
    return seen


def _close(got: tuple[Tensor, ...], want: tuple[Tensor, ...], tol: float) -> None:
    assert len(got) == len(want)
    for a, b in zip(got, want, strict=True):
        assert a.shape == b.shape
        assert (a - b).abs().max().item() <= tol


@pytest.mark.parametrize("with_lengths", [False, True], ids=["full", "lengths"])
@pytest.mark.parametrize("name", list(CASES))
def test_eager_path(name, with_lengths):
    net = _make(name)
    net(*_inputs(lengths=LENGTHS if with_lengths else None))
    layer = net.layer
    assert layer.last_path == CASES[name][1]


@pytest.mark.parametrize("with_lengths", [False, True], ids=["full", "lengths"])
@pytest.mark.parametrize("name", list(CASES))
def test_jit_trace(name, with_lengths, paths):
    net = _make(name)
    lengths = LENGTHS if with_lengths else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        torch.jit.trace(net, _inputs(lengths=lengths))  # checks the trace against eager
        paths.clear()
        traced = torch.jit.trace(net, _inputs(lengths=lengths), check_trace=False)
    assert set(paths) == {CASES[name][3 if with_lengths else 2]}
    new = _inputs(b=4, lengths=None if lengths is None else [*NEW_LENGTHS, 2], seed=2)
    _close(traced(*new), net(*new), 1e-10)


@pytest.mark.parametrize("with_lengths", [False, True], ids=["full", "lengths"])
@pytest.mark.parametrize("name", list(CASES))
def test_torch_export(name, with_lengths, paths):
    net = _make(name)
    lengths = LENGTHS if with_lengths else None
    program = torch.export.export(net, _inputs(lengths=lengths))
    assert set(paths) == {CASES[name][3 if with_lengths else 2]}
    new = _inputs(lengths=None if lengths is None else NEW_LENGTHS, seed=2)
    _close(program.module()(*new), net(*new), 1e-10)


#: the exporter takes 10-30 s for the unrolled loops of a stacked bidirectional LN layer
ONNX_CASES = [pytest.param(n, marks=pytest.mark.slow) if n == "LNGRU-bi-stacked" else n
              for n in CASES]


@pytest.mark.parametrize("with_lengths", [False, True], ids=["full", "lengths"])
@pytest.mark.parametrize("name", ONNX_CASES)
def test_onnx_export_matches_onnxruntime(name, with_lengths, paths, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    net = _make(name, torch.float32)
    lengths = LENGTHS if with_lengths else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(net, _inputs(lengths=lengths, dtype=torch.float32),
                                    dynamo=True, verbose=False, optimize=False)
    program.save(tmp_path / "layer.onnx")
    assert set(paths) == {CASES[name][3 if with_lengths else 2]}
    session = ort.InferenceSession(tmp_path / "layer.onnx", providers=["CPUExecutionProvider"])
    new = _inputs(lengths=None if lengths is None else NEW_LENGTHS, seed=2, dtype=torch.float32)
    got = session.run(None, {i.name: t.numpy() for i, t in zip(session.get_inputs(), new,
                                                                strict=True)})
    with torch.no_grad():
        _close(tuple(torch.from_numpy(g) for g in got), net(*new), 1e-5)


@pytest.mark.parametrize("with_lengths", [False, True], ids=["full", "lengths"])
@pytest.mark.parametrize("name", list(CASES))
def test_bf16_autocast_forward_backward(name, with_lengths, paths):
    """Under CPU autocast to bfloat16: fused layers run torch.nn's kernel in bf16, the LN and
    user cells the loop (the fast path's kernels compute in the input's dtype); finite
    gradients, outputs within bf16 rounding of float32."""
    net = _make(name, torch.float32).train()
    inputs = _inputs(lengths=LENGTHS if with_lengths else None, dtype=torch.float32)
    with torch.no_grad():
        want = net(*inputs)
    paths.clear()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got = net(*inputs)
    eager, captured = CASES[name][1], CASES[name][2]
    expected = captured if eager in ("fast", "traced") else eager  # the kernels' fallback
    assert set(paths) == {expected}
    assert net.layer.last_path == expected
    sum(t.float().sum() for t in got).backward()
    for n, p in net.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), n
    _close(tuple(t.float() for t in got), want, 0.05)


def test_fast_path_reasons():
    """Why the fast path steps aside, in the words of ``path='fast'``'s error."""
    layer = LNLSTM(D, H, path="fast")
    x = torch.randn(B, T, D)
    with torch.autocast("cpu", dtype=torch.bfloat16), pytest.raises(
            ValueError, match=r"path='fast' is unavailable: its CPU kernels do not run under "
                              r"autocast \(torch.bfloat16\)"):
        layer(x)
    with pytest.raises(ValueError, match=r"its CPU kernels take float32 or float64 inputs and "
                                         r"weights alike, got \['torch.float16'\]"):
        copy.deepcopy(layer).half()(x.half())
    with warnings.catch_warnings(), pytest.raises(
            ValueError, match=r"torch.jit.trace is capturing the graph; use 'auto'"):
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        torch.jit.trace(layer, (x,))
    assert fastpath.unavailable(layer.cells[0], x) is None


def test_without_numba_ln_layers_warn_once_and_run_the_loop(monkeypatch):
    monkeypatch.setitem(sys.modules, "numba", None)  # import numba -> ImportError
    monkeypatch.setattr(fastpath, "_warned", False)
    fastpath.numba_available.cache_clear()
    try:
        torch.manual_seed(0)
        layer = LNGRU(D, H, return_sequences=True).double()
        loop = copy.deepcopy(layer)
        loop.path = "loop"
        x = torch.randn(B, T, D, dtype=torch.float64)
        with pytest.warns(UserWarning, match=r"numba is not installed.*pip install "
                                             r"rnnkit\[fast\]"):
            out = layer(x)
        assert layer.last_path == "loop"
        assert torch.equal(out, loop(x))
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # once per process
            layer(x, lengths=[4, 2, 3])
        layer.path = "fast"
        with pytest.raises(ValueError, match=r"numba is not installed \(pip install "
                                             r"rnnkit\[fast\]\)"):
            layer(x)
    finally:
        fastpath.numba_available.cache_clear()


def test_rnnkit_nn_imports_and_runs_without_numba():
    code = ("import sys, warnings; sys.modules['numba'] = None\n"
            "import torch, rnnkit.nn as nn\n"
            "layer = nn.LNLSTM(3, 4)\n"
            "with warnings.catch_warnings(record=True) as w:\n"
            "    warnings.simplefilter('always')\n"
            "    layer(torch.randn(2, 5, 3))\n"
            "assert layer.last_path == 'loop', layer.last_path\n"
            "assert any('rnnkit[fast]' in str(m.message) for m in w), w\n"
            "assert nn.LSTM(3, 4)(torch.randn(2, 5, 3)).shape == (2, 4)\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]


# -- the fused path runs torch.nn's module on the cells' own parameters -------------------
def test_fused_module_shares_the_cells_parameters_and_follows_replacements():
    torch.manual_seed(0)
    layer = LSTM(D, H, 2, bidirectional=True, return_sequences=True, path="fused").double()
    ref = layer.to_torch().double()
    x = torch.randn(B, T, D, dtype=torch.float64)
    assert torch.allclose(layer(x), ref(x)[0], atol=1e-12, rtol=0)
    assert all(k.startswith("cells.") for k in layer.state_dict())  # no second copy saved
    # a parameter replaced by a new object, and load_state_dict(assign=True), are followed
    new = nn.Parameter(layer.cells[1].weight_hh.detach() * 0.5)
    layer.cells[1].weight_hh = new
    ref.weight_hh_l0_reverse = nn.Parameter(new.detach().clone())
    assert torch.allclose(layer(x), ref(x)[0], atol=1e-12, rtol=0)
    state = {k: v.clone() * 1.1 for k, v in layer.state_dict().items()}
    layer.load_state_dict(state, assign=True)
    out = layer(x)
    assert layer.last_path == "fused"
    loop = copy.deepcopy(layer)
    loop.path = "loop"
    assert torch.allclose(out, loop(x), atol=1e-12, rtol=0)
    out.sum().backward()  # gradients land on the cells' parameters
    assert all(p.grad is not None for p in layer.parameters())


def test_fused_path_under_functional_call():
    """torch.func.functional_call swaps the layer's parameters: the fused path follows."""
    torch.manual_seed(0)
    layer = GRU(D, H, return_sequences=True).double()
    x = torch.randn(B, T, D, dtype=torch.float64)
    before = layer(x)
    doubled = {k: 2 * v.detach() for k, v in layer.named_parameters()}
    twin = copy.deepcopy(layer)
    twin.load_state_dict(doubled)
    got = torch.func.functional_call(layer, doubled, (x,))
    assert torch.allclose(got, twin(x), atol=1e-12, rtol=0)
    assert torch.equal(layer(x), before)  # and back to its own parameters


# -- torch.compile: minutes on two cores, so opt-in -------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("with_lengths", [False, True], ids=["full", "lengths"])
@pytest.mark.parametrize("name", list(CASES))
def test_torch_compile_train_step_and_eval(name, with_lengths, paths):
    torch.compiler.reset()
    net = _make(name, torch.float32).train()
    lengths = LENGTHS if with_lengths else None
    compiled = torch.compile(net)
    inputs = _inputs(lengths=lengths, dtype=torch.float32)
    sum(t.sum() for t in compiled(*inputs)).backward()
    eager, captured = CASES[name][1], CASES[name][2]  # compile keeps lengths on the fused path
    assert net.layer.last_path == captured
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.parameters())
    net.eval()
    new = _inputs(lengths=None if lengths is None else NEW_LENGTHS, seed=2, dtype=torch.float32)
    with torch.no_grad():
        got = compiled(*new)
        want = net(*new)
    assert net.layer.last_path == eager
    _close(got, want, 1e-5)


def test_bf16_lstm_where_onednn_has_none_runs_on_aten(monkeypatch):
    """A CPU without AVX-512 has no oneDNN bfloat16 LSTM (torch.nn.LSTM itself raises "could
    not create a primitive descriptor"): the fused LSTM learns that at its first bf16 call and
    runs with oneDNN off. Simulated here, so that every machine runs the fallback."""
    from rnnkit.nn import fused

    layer = LSTM(D, H, return_sequences=True)
    x = torch.randn(B, T, D)
    with torch.no_grad():
        want = layer(x)  # float32, oneDNN
    real = nn.LSTM.forward
    calls = []

    def no_onednn_bf16(self, *args):
        calls.append(torch.backends.mkldnn.enabled)
        if torch.backends.mkldnn.enabled:
            raise RuntimeError("could not create a primitive descriptor for the LSTM forward "
                               "propagation primitive")
        return real(self, *args)

    monkeypatch.setattr(nn.LSTM, "forward", no_onednn_bf16)
    monkeypatch.setattr(fused, "_ONEDNN_BF16_LSTM", None)
    for _ in range(2):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            got = layer(x)
        got.float().sum().backward()
        assert layer.last_path == "fused"
        _close((got.float(),), (want,), 0.05)
    assert calls == [True, False, False] and fused._ONEDNN_BF16_LSTM is False
    assert torch.backends.mkldnn.enabled  # restored after each call
    assert all(torch.isfinite(p.grad).all() for p in layer.parameters())
