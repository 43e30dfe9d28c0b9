"""Dense, Conv1D, TimeDistributed, Embedding, Flatten, norms and the Bidirectional wrapper."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnkit.nn import (
    GRU,
    LSTM,
    BatchNorm1D,
    Bidirectional,
    Conv1D,
    Dense,
    Embedding,
    Flatten,
    LayerNorm,
    LNSimpleRNN,
    SimpleRNN,
    TimeDistributed,
)
from rnnkit.nn.masking import reverse_padded
from tests.nn.helpers import fields, rel


def test_dense_acts_on_last_axis():
    torch.manual_seed(0)
    d = Dense(3, 2, activation="tanh").double()
    x = torch.randn(4, 5, 3, dtype=torch.float64)
    W, b = d.weight.detach().numpy(), d.bias.detach().numpy()
    want = np.tanh(x.numpy() @ W.T + b)
    assert np.allclose(d(x).detach().numpy(), want, rtol=1e-12, atol=1e-12)
    assert d(x[:, 0]).shape == (4, 2)
    assert torch.all(d.bias == 0)  # keras init
    with pytest.raises(ValueError, match=r"activation must be one of .*got 'elu'"):
        Dense(3, 2, activation="elu")
    with pytest.raises(
        ValueError, match=r"Dense input must have shape \(B, ..., 3\), got \(4, 2\)"
    ):
        d(torch.zeros(4, 2, dtype=torch.float64))


def _conv_numpy(x, W, b, stride, dilation, left, right):
    B = x.shape[0]
    O, _, k = W.shape
    xp = np.pad(x, ((0, 0), (left, right), (0, 0)))
    span = dilation * (k - 1)
    steps = range(0, xp.shape[1] - span, stride)
    out = np.zeros((B, len(steps), O))
    for j, t in enumerate(steps):
        for i in range(k):
            out[:, j] += xp[:, t + i * dilation] @ W[:, :, i].T
    return out + b


@pytest.mark.parametrize(
    ("padding", "k", "stride", "dilation", "T_out"),
    [
        ("valid", 4, 2, 1, 4),  # floor((10 - 3 - 1) / 2) + 1
        ("causal", 2, 1, 4, 10),
        ("same", 3, 1, 1, 10),
        ("same", 4, 3, 1, 4),  # ceil(10 / 3)
    ],
)
def test_conv1d_channels_last(padding, k, stride, dilation, T_out):
    torch.manual_seed(0)
    conv = Conv1D(2, 3, k, stride=stride, dilation=dilation, padding=padding).double()
    x = torch.randn(2, 10, 2, dtype=torch.float64)
    y = conv(x)
    assert y.shape == (2, T_out, 3)
    span = dilation * (k - 1)
    if padding == "valid":
        left = right = 0
    elif padding == "causal":
        left, right = span, 0
    else:
        total = max((T_out - 1) * stride + span + 1 - 10, 0)
        left, right = total // 2, total - total // 2
    want = _conv_numpy(
        x.numpy(),
        conv.weight.detach().numpy(),
        conv.bias.detach().numpy(),
        stride,
        dilation,
        left,
        right,
    )
    assert np.allclose(y.detach().numpy(), want, rtol=1e-12, atol=1e-12)


def test_conv1d_causal_sees_only_the_past():
    conv = Conv1D(1, 1, 2, dilation=2, padding="causal").double()
    x = torch.zeros(1, 8, 1, dtype=torch.float64)
    x[0, 5] = 1.0
    y = conv(x) - conv(torch.zeros_like(x))
    assert torch.all(y[0, :5] == 0) and y[0, 5:].abs().sum() > 0
    with pytest.raises(ValueError, match=r"padding must be one of .*got 'full'"):
        Conv1D(1, 1, 2, padding="full")
    with pytest.raises(
        ValueError, match=r"Conv1D input has T=2 steps, fewer than the receptive field 4"
    ):
        Conv1D(1, 1, 4)(torch.zeros(1, 2, 1))


def test_time_distributed_embedding_flatten_norms():
    torch.manual_seed(0)
    td = TimeDistributed(Dense(3, 2)).double()
    x = torch.randn(4, 5, 3, dtype=torch.float64)
    y = td(x)
    assert y.shape == (4, 5, 2)
    assert rel(y[:, 2], td.module(x[:, 2])) < 1e-14
    emb = Embedding(10, 3, padding_idx=0)
    ids = torch.tensor([[0, 3, 9], [1, 1, 0]])
    e = emb(ids)
    assert e.shape == (2, 3, 3) and torch.all(e[0, 0] == 0) and torch.equal(e[1, 0], e[1, 1])
    with pytest.raises(
        ValueError, match=r"Embedding ids must be in \[0, 10\), got values in \[10, 10\]"
    ):
        emb(torch.tensor([[10]]))
    assert Flatten()(x).shape == (4, 15)
    ln = LayerNorm(3).double()
    z = ln(x)
    assert torch.allclose(z.mean(-1), torch.zeros(4, 5, dtype=torch.float64), atol=1e-12)
    bn = BatchNorm1D(3).double().train()
    zb = bn(x * 5 + 2)
    assert torch.allclose(zb.mean((0, 1)), torch.zeros(3, dtype=torch.float64), atol=1e-12)
    assert bn(x[:, 0]).shape == (4, 3)


@pytest.mark.parametrize("mode", ["concat", "sum", "ave", "mul"])
def test_bidirectional_wrapper_matches_two_layers(mode):
    torch.manual_seed(0)
    # path="fused": the wrapper runs both directions as one torch.nn.GRU
    inner = GRU(3, 4, return_sequences=True, return_state=True, path="fused").double()
    bi = Bidirectional(inner, merge_mode=mode)
    x = torch.randn(3, 6, 3, dtype=torch.float64)
    lengths = torch.tensor([6, 2, 4])
    out, st = bi(x, lengths=lengths)
    assert bi.last_path == "fused"
    f, sf = inner(x, lengths=lengths)
    bwd = GRU(3, 4, return_sequences=True, return_state=True).double()
    bwd.load_state_dict(bi.backward_layer.state_dict())
    b, sb = bwd(reverse_padded(x, lengths), lengths=lengths)
    b = reverse_padded(b, lengths)
    want = {"concat": torch.cat([f, b], -1), "sum": f + b, "ave": (f + b) / 2, "mul": f * b}[mode]
    assert rel(out, want) < 1e-12
    assert st.shape == (2, 3, 4) and rel(st[0], sf[0]) < 1e-12 and rel(st[1], sb[0]) < 1e-12


def test_bidirectional_wrapper_equals_bidirectional_layer():
    torch.manual_seed(0)
    layer = LSTM(3, 4, bidirectional=True, return_state=True).double()
    bi = Bidirectional(LSTM(3, 4, return_state=True).double())
    bi.forward_layer.cells[0].load_state_dict(layer.cells[0].state_dict())
    bi.backward_layer.cells[0].load_state_dict(layer.cells[1].state_dict())
    x = torch.randn(2, 5, 3, dtype=torch.float64)
    a, sa = layer(x, lengths=[5, 3])
    b, sb = bi(x, lengths=[5, 3])
    assert rel(a, b) < 1e-12
    for p, q in zip(fields(sa), fields(sb), strict=True):
        assert rel(p, q) < 1e-12
    ln = Bidirectional(LNSimpleRNN(3, 4).double())
    assert ln(x).shape == (2, 8)
    with pytest.raises(ValueError, match=r"layer must be unidirectional"):
        Bidirectional(SimpleRNN(3, 4, bidirectional=True))
    with pytest.raises(TypeError, match=r"layer must be an rnnkit.nn Recurrent layer, got Dense"):
        Bidirectional(Dense(3, 4))
