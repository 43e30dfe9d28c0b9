"""float64 parity with torch.nn: every path of every standard layer, forward and all gradients."""

from __future__ import annotations

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnnkit.nn import from_torch
from tests.nn.helpers import KINDS, as_torch_state, fields, rel, weighted_loss

TOL = 1e-10


def _pair(kind: str, bidirectional: bool, path: str, num_layers: int = 2):
    _, tcls, kw = KINDS[kind]
    torch.manual_seed(1)
    ref = tcls(3, 4, num_layers, batch_first=True, bidirectional=bidirectional, **kw).double()
    ours = from_torch(ref, return_sequences=True, return_state=True, path=path)
    return ref, ours


def _assert_match_then_backward(ours, path, out_o, st_o, out_r, st_r, loss_seed):
    """Outputs and final states equal torch's; then the same random loss backward on both."""
    assert ours.last_path == path
    assert rel(out_o, out_r) < TOL
    for a, b in zip(fields(st_o), fields(as_torch_state(st_r)), strict=True):
        assert rel(a, b) < TOL
    weighted_loss(out_r, st_r, torch.Generator().manual_seed(loss_seed)).backward()
    weighted_loss(out_o, st_o, torch.Generator().manual_seed(loss_seed)).backward()


def _inputs(ref, B=3, T=5, gen_seed=2):
    g = torch.Generator().manual_seed(gen_seed)
    x = torch.randn(B, T, 3, generator=g, dtype=torch.float64)
    LD = ref.num_layers * (2 if ref.bidirectional else 1)
    h0 = torch.randn(LD, B, 4, generator=g, dtype=torch.float64)
    c0 = torch.randn(LD, B, 4, generator=g, dtype=torch.float64)
    return x, h0, c0


@pytest.mark.parametrize("path", ["fused", "loop"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("kind", list(KINDS))
def test_forward_and_gradients_match_torch(kind, bidirectional, path):
    ref, ours = _pair(kind, bidirectional, path)
    x, h0, c0 = _inputs(ref)
    state0 = (h0, c0) if kind == "lstm" else h0
    xs = [x.clone().requires_grad_(), x.clone().requires_grad_()]
    s0s = [tuple(s.clone().requires_grad_() for s in fields(state0)) for _ in range(2)]
    out_r, st_r = ref(xs[0], s0s[0] if kind == "lstm" else s0s[0][0])
    out_o, st_o = ours(xs[1], s0s[1] if kind == "lstm" else s0s[1][0])
    _assert_match_then_backward(ours, path, out_o, st_o, out_r, st_r, loss_seed=3)
    assert rel(xs[1].grad, xs[0].grad) < TOL
    for a, b in zip(s0s[1], s0s[0], strict=True):
        assert rel(a.grad, b.grad) < TOL
    dirs = 2 if bidirectional else 1
    for l in range(2):
        for d in range(dirs):
            cell = ours.cells[l * dirs + d]
            sfx = f"_l{l}" + ("_reverse" if d else "")
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                g_ours = getattr(cell, name).grad
                g_ref = getattr(ref, name + sfx).grad
                assert rel(g_ours, g_ref) < TOL, name + sfx


@pytest.mark.parametrize("path", ["fused", "loop"])
@pytest.mark.parametrize("kind", ["lstm", "gru", "tanh"])
def test_variable_lengths_match_torch_packed(kind, path):
    ref, ours = _pair(kind, True, path)
    x, _, _ = _inputs(ref, B=4, T=6)
    lengths = torch.tensor([6, 2, 4, 1])
    xr = x.clone().requires_grad_()
    xo = x.clone().requires_grad_()
    packed = pack_padded_sequence(xr, lengths, batch_first=True, enforce_sorted=False)
    out_p, st_r = ref(packed)
    out_r, _ = pad_packed_sequence(out_p, batch_first=True, total_length=6)
    out_o, st_o = ours(xo, lengths=lengths)
    _assert_match_then_backward(ours, path, out_o, st_o, out_r, st_r, loss_seed=5)
    assert rel(xo.grad, xr.grad) < TOL
    assert rel(ours.cells[1].weight_hh.grad, ref.weight_hh_l0_reverse.grad) < TOL


def test_bias_false_matches_torch():
    torch.manual_seed(0)
    ref = torch.nn.GRU(3, 4, 1, bias=False, batch_first=True).double()
    x = torch.randn(2, 5, 3, dtype=torch.float64)
    for path in ("fused", "loop"):
        ours = from_torch(ref, return_sequences=True, path=path)
        assert ours.cells[0].bias_ih is None
        assert rel(ours(x), ref(x)[0]) < TOL
