"""Dense, Conv1D, TimeDistributed, Embedding, Flatten, norms and the Bidirectional wrapper."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from rnnkit.nn import (
    GRU,
    LNLSTM,
    LSTM,
    BatchNorm1D,
    Bidirectional,
    Conv1D,
    Dense,
    Embedding,
    Flatten,
    LayerNorm,
    LNGRUCell,
    LNSimpleRNN,
    LSTMCell,
    Recurrent,
    SimpleRNN,
    TimeDistributed,
    to_config,
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


@pytest.mark.parametrize("activation", [None, "relu", "softmax"])
def test_conv1d_channels_first_is_the_same_convolution(activation):
    """``channels_first`` on (B, D, T) equals the channels-last call transposed, softmax over
    the channels in both; its receptive-field check names T."""
    torch.manual_seed(0)
    conv = Conv1D(2, 3, 4, stride=2, padding="same", activation=activation).double()
    x = torch.randn(2, 10, 2, dtype=torch.float64)
    y = conv.channels_first(x.transpose(1, 2))  # (B, O, T')
    assert y.shape == (2, 3, 5)
    torch.testing.assert_close(y, conv(x).transpose(1, 2), rtol=1e-12, atol=1e-12)
    if activation == "softmax":
        torch.testing.assert_close(y.sum(dim=1), torch.ones(2, 5, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"Conv1D input has T=2 steps"):
        Conv1D(1, 1, 4).channels_first(torch.zeros(1, 1, 2))


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


# -- constructor arguments: every one is checked, the message names it --------------------------
CTORS = {  # a valid construction; a test changes one keyword argument
    "Dense": lambda **k: Dense(**{"in_features": 3, "out_features": 2, **k}),
    "Conv1D": lambda **k: Conv1D(**{"in_channels": 3, "out_channels": 2, "kernel_size": 2, **k}),
    "Embedding": lambda **k: Embedding(**{"num_embeddings": 5, "embedding_dim": 2, **k}),
    "LayerNorm": lambda **k: LayerNorm(**{"normalized_shape": 3, **k}),
    "BatchNorm1D": lambda **k: BatchNorm1D(**{"num_features": 3, **k}),
    "LNGRUCell": lambda **k: LNGRUCell(**{"input_size": 3, "hidden_size": 2, **k}),
    "SimpleRNN": lambda **k: SimpleRNN(**{"input_size": 3, "hidden_size": 2, **k}),
    "LNLSTM": lambda **k: LNLSTM(**{"input_size": 3, "hidden_size": 2, **k}),
    "Recurrent": lambda **k: Recurrent(**{"cell_or_cells": LSTMCell(3, 2), **k}),
    "Bidirectional": lambda **k: Bidirectional(**{"layer": LSTM(3, 2), **k}),
    "TimeDistributed": lambda **k: TimeDistributed(**{"module": Dense(3, 2), **k}),
}
BAD_ARGS = [
    ("Dense", "bias", "yes"), ("Dense", "bias", 1), ("Dense", "bias", None),
    ("Dense", "in_features", True), ("Dense", "out_features", 2.5), ("Dense", "init", None),
    ("Dense", "activation", "elu"), ("Conv1D", "bias", "no"), ("Conv1D", "stride", 0),
    ("Conv1D", "padding", "full"), ("Embedding", "padding_idx", True),
    ("Embedding", "padding_idx", 5), ("Embedding", "padding_idx", "0"),
    ("LayerNorm", "eps", "yes"), ("LayerNorm", "eps", 0.0), ("LayerNorm", "eps", float("nan")),
    ("BatchNorm1D", "eps", -1e-5), ("BatchNorm1D", "eps", 10**400),
    ("BatchNorm1D", "momentum", 1.5), ("BatchNorm1D", "momentum", "0.1"),
    ("LNGRUCell", "hidden_size", None),
    ("LNGRUCell", "bias", "yes"), ("SimpleRNN", "nonlinearity", ["tanh"]),
    ("SimpleRNN", "num_layers", 0), ("SimpleRNN", "bidirectional", "yes"),
    ("SimpleRNN", "stateful", 1), ("SimpleRNN", "dropout", True),
    ("SimpleRNN", "recurrent_dropout", 1.0), ("SimpleRNN", "path", "gpu"),
    ("SimpleRNN", "bias", "yes"), ("SimpleRNN", "init", "he"), ("LNLSTM", "input_size", "3"),
    ("LNLSTM", "mc_dropout", None), ("LNLSTM", "merge_mode", "max"),
    ("Recurrent", "cell_or_cells", None), ("Recurrent", "return_state", "no"),
    ("Bidirectional", "merge_mode", None), ("TimeDistributed", "module", "Dense"),
]
GOOD_ARGS = [
    ("Dense", "bias", False), ("Dense", "in_features", np.int64(3)), ("Conv1D", "bias", False),
    ("Embedding", "padding_idx", None), ("Embedding", "padding_idx", 4),
    ("Embedding", "padding_idx", np.int64(0)), ("LayerNorm", "eps", 1e-3),
    ("LayerNorm", "eps", np.float32(1e-3)), ("BatchNorm1D", "eps", 1),
    ("BatchNorm1D", "momentum", None), ("BatchNorm1D", "momentum", 1),
    ("BatchNorm1D", "momentum", 0.0), ("LNGRUCell", "bias", False),
    ("SimpleRNN", "nonlinearity", "relu"), ("SimpleRNN", "dropout", 0),
    ("SimpleRNN", "recurrent_dropout", np.float32(0.5)), ("SimpleRNN", "num_layers", np.int64(2)),
    ("LNLSTM", "bidirectional", True), ("Recurrent", "cell_or_cells", (LSTMCell(3, 2),)),
    ("Bidirectional", "merge_mode", "mul"),
]


def _ids(cases: list[tuple]) -> list[str]:
    return [f"{cls}-{arg}={value!r:.20}" for cls, arg, value in cases]


@pytest.mark.parametrize(("cls", "arg", "value"), BAD_ARGS, ids=_ids(BAD_ARGS))
def test_constructor_rejects_a_bad_argument_by_name(cls, arg, value):
    with pytest.raises((TypeError, ValueError), match=rf"^{arg} must be .*, got "):
        CTORS[cls](**{arg: value})


@pytest.mark.parametrize(("cls", "arg", "value"), GOOD_ARGS, ids=_ids(GOOD_ARGS))
def test_constructor_accepts_a_good_argument(cls, arg, value):
    cfg = to_config(CTORS[cls](**{arg: value}))["config"]
    json.dumps(cfg)  # NumPy numbers come back as Python ints / floats
    if arg != "cell_or_cells":  # (a module argument comes back as its config)
        assert cfg[arg] == value
