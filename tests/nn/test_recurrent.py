"""Recurrent layer behaviour: variable lengths, stateful chunks, go_backwards, dropout, paths."""

from __future__ import annotations

import pytest
import torch

from rnnkit.nn import (
    GRU,
    LNGRU,
    LNLSTM,
    LSTM,
    LNSimpleRNN,
    LSTMCell,
    LSTMState,
    Recurrent,
    SimpleRNN,
    fastpath,
)
from rnnkit.nn.masking import reverse_padded
from tests.nn.helpers import fields, rel

LAYERS = [SimpleRNN, LSTM, GRU, LNSimpleRNN, LNLSTM, LNGRU]
TOL = 1e-10


def _x(B=3, T=6, D=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(B, T, D, generator=g, dtype=torch.float64)


def _make(cls, path, **kw):
    torch.manual_seed(0)
    return cls(3, 4, 2, path=path, return_sequences=True, return_state=True, **kw).double()


def _combos(classes):
    """(class, path) pairs: both paths for standard layers, the loop for LN layers."""
    return [(c, p) for c in classes for p in ("fused", "loop") if p == "loop" or c in STANDARD]


STANDARD = (SimpleRNN, LSTM, GRU)


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize(("cls", "path"), _combos([SimpleRNN, LSTM, GRU, LNLSTM]))
def test_padded_batch_equals_each_sequence_alone(cls, path, bidirectional):
    layer = _make(cls, path, bidirectional=bidirectional)
    x = _x(B=3, T=6)
    lengths = [6, 3, 1]
    out, st = layer(x, lengths=lengths)
    assert layer.last_path == path
    for b, n in enumerate(lengths):
        out_b, st_b = layer(x[b : b + 1, :n])
        assert rel(out[b, :n], out_b[0]) < TOL
        assert torch.all(out[b, n:] == 0)
        for a, s in zip(fields(st), fields(st_b), strict=True):
            assert rel(a[:, b], s[:, 0]) < TOL
    last = _make(cls, path, bidirectional=bidirectional)
    last.return_sequences = False
    last_out, _ = last(x, lengths=lengths)
    H = 4
    for b, n in enumerate(lengths):
        assert rel(last_out[b, :H], out[b, n - 1, :H]) < TOL  # forward: last valid step
        if bidirectional:
            assert rel(last_out[b, H:], out[b, 0, H:]) < TOL  # backward: after reading all


def test_mask_equals_lengths():
    layer = _make(LSTM, "loop")
    x = _x()
    lengths = torch.tensor([6, 4, 2])
    mask = torch.arange(6).unsqueeze(0) < lengths.unsqueeze(1)
    a, _ = layer(x, lengths=lengths)
    b, _ = layer(x, mask=mask)
    assert torch.equal(a, b)


@pytest.mark.parametrize(("cls", "path"), _combos([LSTM, GRU, LNGRU]))
def test_stateful_chunks_equal_one_pass(cls, path):
    layer = _make(cls, path)
    x = _x(B=2, T=7)
    whole, st_whole = layer(x)
    stateful = _make(cls, path, stateful=True)
    o1, _ = stateful(x[:, :3])
    o2, st = stateful(x[:, 3:])
    assert rel(torch.cat([o1, o2], dim=1), whole) < TOL
    for a, b in zip(fields(st), fields(st_whole), strict=True):
        assert rel(a, b) < TOL
    assert all(not f.requires_grad for f in fields(stateful._state))  # detached (TBPTT)
    stateful.reset_state()
    o1b, _ = stateful(x[:, :3])
    assert torch.equal(o1b, o1)


@pytest.mark.parametrize(("cls", "path"), _combos([SimpleRNN, LSTM, LNSimpleRNN]))
def test_go_backwards_equals_reversed_input(cls, path):
    fwd = _make(cls, path)
    back = _make(cls, path, go_backwards=True)
    back.load_state_dict(fwd.state_dict())
    x = _x()
    a, sa = back(x)
    b, sb = fwd(x.flip(1))
    assert rel(a, b) < TOL
    lengths = torch.tensor([6, 2, 4])
    a, sa = back(x, lengths=lengths)
    b, sb = fwd(reverse_padded(x, lengths), lengths=lengths)
    assert rel(a, b) < TOL
    assert rel(fields(sa)[0], fields(sb)[0]) < TOL
    # a single sequence read backwards starts at its own last valid step
    one, _ = fwd(x[1:2, :2].flip(1))
    assert rel(a[1, :2], one[0]) < TOL


def lstm_auto_path() -> str:
    """Where path="auto" runs an LSTM without recurrent dropout: its CPU kernel where
    fastpath.AUTO_KERNELS says (one torch thread on x86_64), else the fused torch.nn.LSTM."""
    return "fast" if fastpath.preferred(LSTMCell(3, 4)) else "fused"


def test_mc_dropout_samples_differ_at_inference_only_when_on():
    x = _x()
    torch.manual_seed(0)
    on = LSTM(3, 4, 2, dropout=0.3, input_dropout=0.2, recurrent_dropout=0.3, mc_dropout=True)
    on = on.double().eval()
    off = LSTM(3, 4, 2, dropout=0.3, input_dropout=0.2, recurrent_dropout=0.3).double().eval()
    assert not torch.equal(on(x), on(x))
    assert on.last_path == "loop"  # recurrent dropout is active
    assert torch.equal(off(x), off(x))
    assert off.last_path == lstm_auto_path()  # no dropout in eval: the kernel runs
    # MC dropout on the fused or fast path: only inter-layer and input dropout
    fused_mc = LSTM(3, 4, 2, dropout=0.5, input_dropout=0.2, mc_dropout=True).double().eval()
    assert not torch.equal(fused_mc(x), fused_mc(x))
    assert fused_mc.last_path == lstm_auto_path()


def test_recurrent_dropout_uses_one_mask_for_all_steps():
    torch.manual_seed(0)
    layer = SimpleRNN(1, 6, recurrent_dropout=0.5, return_sequences=True, bias=False)
    with torch.no_grad():
        layer.cells[0].weight_hh.copy_(torch.eye(6))
        layer.cells[0].weight_ih.fill_(0.0)
    layer.train()
    h0 = torch.full((1, 1, 6), 0.1)
    out = layer(torch.zeros(1, 4, 1), state=h0)  # h_t = tanh(mask * h_{t-1})
    dropped = out[0] == 0
    assert dropped.any() and not dropped.all()
    assert torch.equal(dropped, dropped[:1].expand_as(dropped))  # same units at every step


def test_auto_path_selection():
    x = _x()
    lstm = LSTM(3, 4).double()
    lstm(x)
    assert lstm.last_path == lstm_auto_path()
    lstm.train()
    rd = LSTM(3, 4, recurrent_dropout=0.2).double().train()
    rd(x)
    assert rd.last_path == "loop"
    ln = LNLSTM(3, 4).double()
    ln(x)
    assert ln.last_path == "fast"  # LN cells on the CPU in float64: the NumPy kernels
    ln(x, lengths=[6, 2, 3])
    assert ln.last_path == "fast"  # the CPU kernels take variable lengths


def test_forced_paths_raise_when_unavailable():
    x = _x()
    with pytest.raises(ValueError, match=r"path='fused' needs standard SimpleRNN/LSTM/GRU"):
        LNLSTM(3, 4, path="fused").double()(x)
    with pytest.raises(ValueError, match=r"path='fused' needs no active recurrent_dropout"):
        LSTM(3, 4, recurrent_dropout=0.1, path="fused").double().train()(x)
    with pytest.raises(ValueError, match=r"path='fast' is unavailable: its CPU kernels take"):
        LSTM(3, 4, path="fast").bfloat16()(x.bfloat16())
    with pytest.raises(ValueError, match=r"path must be one of"):
        LSTM(3, 4, path="cuda")


@pytest.mark.parametrize("mode", ["sum", "mul", "ave", "concat"])
def test_merge_modes(mode):
    layer = _make(LSTM, "fused", bidirectional=True)
    merged = _make(LSTM, "fused", bidirectional=True, merge_mode=mode)
    x = _x()
    out, _ = layer(x)
    got, _ = merged(x)
    f, b = out[..., :4], out[..., 4:]
    want = {"sum": f + b, "mul": f * b, "ave": (f + b) / 2, "concat": out}[mode]
    assert rel(got, want) < TOL
    assert merged.output_size == got.shape[-1]


def test_initial_state_is_used():
    layer = _make(GRU, "loop")
    x = _x()
    h0 = torch.randn(2, 3, 4, dtype=torch.float64)
    a, _ = layer(x, state=h0)
    b, _ = layer(x)
    assert not torch.allclose(a, b)
    layer.path = "fused"
    c, _ = layer(x, state=h0)
    assert rel(c, a) < TOL


def test_output_shapes_follow_torch():
    x = _x(B=2, T=5)
    out, (h, c) = LSTM(3, 4, 3, bidirectional=True, return_state=True).double()(x)
    assert out.shape == (2, 8) and h.shape == (6, 2, 4) and c.shape == (6, 2, 4)
    out = GRU(3, 4, return_sequences=True).double()(x)
    assert out.shape == (2, 5, 4)


def test_errors_pin_messages():
    layer = LSTM(3, 4, return_state=True).double()
    x = _x(B=2, T=5)
    with pytest.raises(
        ValueError, match=r"x must have shape \(B, T, D=3\) with B, T >= 1, got \(2, 5, 4\)"
    ):
        layer(torch.zeros(2, 5, 4, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"x must have shape .*got \(2, 5\)"):
        layer(torch.zeros(2, 5, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"lengths must be in \[1, T=5\], got 0 at index 1"):
        layer(x, lengths=[3, 0])
    with pytest.raises(ValueError, match=r"lengths must be in \[1, T=5\], got 6 at index 0"):
        layer(x, lengths=[6, 2])
    with pytest.raises(ValueError, match=r"lengths must have shape \(B=2,\), got \(3,\)"):
        layer(x, lengths=[1, 2, 3])
    with pytest.raises(TypeError, match=r"lengths must hold integers, got dtype torch.float32"):
        layer(x, lengths=torch.tensor([1.0, 2.0]))
    bad_mask = torch.tensor([[True, False, True, False, False], [True] * 5])
    with pytest.raises(ValueError, match=r"mask must be True on a prefix of each row .* row 0"):
        layer(x, mask=bad_mask)
    with pytest.raises(ValueError, match=r"mask must have shape \(B=2, T=5\), got \(2, 4\)"):
        layer(x, mask=torch.ones(2, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"give lengths or mask, not both"):
        layer(x, lengths=[1, 2], mask=torch.ones(2, 5, dtype=torch.bool))
    h = torch.zeros(1, 2, 4, dtype=torch.float64)
    with pytest.raises(TypeError, match=r"state must be a LSTMState\('h', 'c'\) of tensors"):
        layer(x, state=h)
    with pytest.raises(
        ValueError, match=r"state.c must have shape \(L\*Dir=1, B=2, H=4\), got \(2, 2, 4\)"
    ):
        layer(x, state=LSTMState(h, torch.zeros(2, 2, 4, dtype=torch.float64)))
    gru = GRU(3, 4, 2, bidirectional=True).double()
    with pytest.raises(
        ValueError, match=r"state must have shape \(L\*Dir=4, B=2, H=4\), got \(2, 2, 4\)"
    ):
        gru(x, state=torch.zeros(2, 2, 4, dtype=torch.float64))
    stateful = GRU(3, 4, stateful=True).double()
    stateful(x)
    with pytest.raises(
        ValueError, match=r"holds a state for batch size 2, got x with batch size 1"
    ):
        stateful(x[:1])


def test_constructor_errors_pin_messages():
    with pytest.raises(ValueError, match=r"hidden_size must be a positive int, got 0"):
        LSTM(3, 0)
    with pytest.raises(ValueError, match=r"num_layers must be a positive int, got -1"):
        GRU(3, 4, -1)
    with pytest.raises(ValueError, match=r"dropout must be a float in \[0, 1\), got 1.0"):
        LSTM(3, 4, 2, dropout=1.0)
    with pytest.raises(
        ValueError, match=r"recurrent_dropout must be a float in \[0, 1\), got -0.1"
    ):
        LSTM(3, 4, recurrent_dropout=-0.1)
    with pytest.raises(ValueError, match=r"merge_mode must be one of .*got 'max'"):
        LSTM(3, 4, bidirectional=True, merge_mode="max")
    with pytest.raises(ValueError, match=r"nonlinearity must be 'tanh' or 'relu', got 'gelu'"):
        SimpleRNN(3, 4, nonlinearity="gelu")
    with pytest.raises(ValueError, match=r"init must be one of \['keras', 'torch'\], got 'he'"):
        GRU(3, 4, init="he")
    with pytest.raises(TypeError, match=r"cell_or_cells must be a Cell or a non-empty list"):
        Recurrent([])
    with pytest.warns(UserWarning, match=r"dropout=0.2 acts between stacked layers"):
        LSTM(3, 4, dropout=0.2)
