"""Parity with PyTorch autograd on copied weights (torch is imported here, never in rnnkit.ref).

"Equal to tol relative" means max |ours - torch| <= tol * max |torch| for each array.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from rnnkit import ref  # noqa: E402
from tests.ref.helpers import randomise_ln  # noqa: E402

TOLS = {"float64": 1e-10, "float32": 1e-5}
B, T, D, H = 3, 6, 4, 5


def assert_close(ours, theirs, tol, what=""):
    theirs = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else np.asarray(theirs)
    assert ours.shape == theirs.shape, what
    scale = max(float(np.abs(theirs).max()), 1e-30)
    err = float(np.abs(ours.astype(np.float64) - theirs).max()) / scale
    assert err <= tol, f"{what}: relative error {err:.3g} > {tol}"


def _copy_into_torch(module, arrays):
    with torch.no_grad():
        for p, a in zip(module.parameters(), arrays, strict=True):
            p.copy_(torch.from_numpy(np.ascontiguousarray(a)))


CASES = [
    (ref.TimeRNN, torch.nn.RNN, {"nonlinearity": "tanh"}),
    (ref.TimeRNN, torch.nn.RNN, {"nonlinearity": "relu"}),
    (ref.TimeLSTM, torch.nn.LSTM, {}),
    (ref.TimeGRU, torch.nn.GRU, {}),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("cls", "tcls", "kw"), CASES,
                         ids=["rnn-tanh", "rnn-relu", "lstm", "gru"])
def test_time_layer_matches_torch_nn(cls, tcls, kw, dtype):
    tol, tdt = TOLS[dtype], getattr(torch, dtype)
    rng = np.random.default_rng(0)
    layer = cls(D, H, dtype=dtype, seed=1, **kw)
    tm = tcls(D, H, batch_first=True, **kw).to(tdt)
    _copy_into_torch(tm, layer.params)
    lstm = layer.state_parts == 2
    xs = rng.standard_normal((B, T, D)).astype(dtype)
    h0, c0 = (rng.standard_normal((B, H)).astype(dtype) for _ in range(2))
    dhs = rng.standard_normal((B, T, H)).astype(dtype)
    dh, dc = (rng.standard_normal((B, H)).astype(dtype) for _ in range(2))

    hs = layer.forward(xs, (h0, c0) if lstm else h0)
    dxs = layer.backward(dhs, (dh, dc) if lstm else dh)

    X = torch.tensor(xs, requires_grad=True)
    th0 = torch.tensor(h0[None], requires_grad=True)
    tc0 = torch.tensor(c0[None], requires_grad=True)
    if lstm:
        out, (hT, cT) = tm(X, (th0, tc0))
        loss = (out * torch.tensor(dhs)).sum() + (hT[0] * torch.tensor(dh)).sum() \
            + (cT[0] * torch.tensor(dc)).sum()
    else:
        out, hT = tm(X, th0)
        loss = (out * torch.tensor(dhs)).sum() + (hT[0] * torch.tensor(dh)).sum()
    loss.backward()

    assert hs.dtype == np.dtype(dtype) and dxs.dtype == np.dtype(dtype)
    assert_close(hs, out, tol, "hs")
    assert_close(dxs, X.grad, tol, "dxs")
    if lstm:
        assert_close(layer.state[0], hT[0], tol, "h_T")
        assert_close(layer.state[1], cT[0], tol, "c_T")
        assert_close(layer.dstate0[0], th0.grad[0], tol, "dh0")
        assert_close(layer.dstate0[1], tc0.grad[0], tol, "dc0")
    else:
        assert_close(layer.state, hT[0], tol, "h_T")
        assert_close(layer.dstate0, th0.grad[0], tol, "dh0")
    for name, g, (tname, p) in zip(["W_ih", "W_hh", "b_ih", "b_hh"], layer.grads,
                                   tm.named_parameters(), strict=True):
        assert_close(g, p.grad, tol, f"d{name} ({tname})")


# ---------------------------------------------------------------- layer-normalised layers
def _torch_ln(a, gamma, beta, G):
    """LayerNorm of each of the G blocks of a (B, G*H), written with torch ops."""
    Bn, GH = a.shape
    v = a.reshape(Bn, G, GH // G)
    mu = v.mean(dim=2, keepdim=True)
    var = ((v - mu) ** 2).mean(dim=2, keepdim=True)
    return ((v - mu) / torch.sqrt(var + 1e-5)).reshape(Bn, GH) * gamma + beta


def _torch_ln_layer(kind, params, xs, state, nonlinearity="tanh"):
    """The LN cells' equations, from the issue text, run in a plain torch loop."""
    W_ih, W_hh, b_ih, b_hh, gamma, beta = params
    Hn = W_hh.shape[1]
    h, c = state if kind == "lstm" else (state, None)
    outs = []
    for t in range(xs.shape[1]):
        x = xs[:, t]
        if kind == "rnn":
            a = _torch_ln(x @ W_ih.T + b_ih + h @ W_hh.T + b_hh, gamma, beta, 1)
            h = torch.relu(a) if nonlinearity == "relu" else torch.tanh(a)
        elif kind == "lstm":
            a = _torch_ln(x @ W_ih.T + b_ih + h @ W_hh.T + b_hh, gamma, beta, 4)
            i, f, g, o = a.split(Hn, dim=1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
        else:
            gi, gh = x @ W_ih.T + b_ih, h @ W_hh.T + b_hh
            gs = [slice(k * Hn, (k + 1) * Hn) for k in range(3)]
            r = torch.sigmoid(_torch_ln(gi[:, gs[0]] + gh[:, gs[0]], gamma[gs[0]], beta[gs[0]], 1))
            z = torch.sigmoid(_torch_ln(gi[:, gs[1]] + gh[:, gs[1]], gamma[gs[1]], beta[gs[1]], 1))
            n = torch.tanh(_torch_ln(gi[:, gs[2]] + r * gh[:, gs[2]], gamma[gs[2]], beta[gs[2]], 1))
            h = (1 - z) * n + z * h
        outs.append(h)
    return torch.stack(outs, dim=1), ((h, c) if kind == "lstm" else h)


LN_CASES = [
    (ref.TimeLNRNN, "rnn", "tanh"),
    (ref.TimeLNRNN, "rnn", "relu"),
    (ref.TimeLNLSTM, "lstm", None),
    (ref.TimeLNGRU, "gru", None),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("cls", "kind", "nl"), LN_CASES,
                         ids=["lnrnn-tanh", "lnrnn-relu", "lnlstm", "lngru"])
def test_ln_time_layer_matches_torch_autograd(cls, kind, nl, dtype):
    tol = TOLS[dtype]
    rng = np.random.default_rng(3)
    layer = cls(D, H, dtype=dtype, seed=2, **({"nonlinearity": nl} if nl else {}))
    randomise_ln(layer, rng)
    lstm = kind == "lstm"
    xs = rng.standard_normal((B, T, D)).astype(dtype)
    s0 = [rng.standard_normal((B, H)).astype(dtype) for _ in range(2 if lstm else 1)]
    dhs = rng.standard_normal((B, T, H)).astype(dtype)
    ds = [rng.standard_normal((B, H)).astype(dtype) for _ in range(2 if lstm else 1)]

    hs = layer.forward(xs, tuple(s0) if lstm else s0[0])
    dxs = layer.backward(dhs, tuple(ds) if lstm else ds[0])

    tp = [torch.tensor(p, requires_grad=True) for p in layer.params]
    X = torch.tensor(xs, requires_grad=True)
    ts0 = [torch.tensor(s, requires_grad=True) for s in s0]
    out, final = _torch_ln_layer(kind, tp, X, tuple(ts0) if lstm else ts0[0], nl or "tanh")
    finals = list(final) if lstm else [final]
    loss = (out * torch.tensor(dhs)).sum() + sum(
        (f * torch.tensor(d)).sum() for f, d in zip(finals, ds, strict=True))
    loss.backward()

    assert_close(hs, out, tol, "hs")
    assert_close(dxs, X.grad, tol, "dxs")
    for k, (ours, theirs) in enumerate(zip(layer.grads, tp, strict=True)):
        assert_close(ours, theirs.grad, tol, f"grads[{k}]")
    d0 = list(layer.dstate0) if lstm else [layer.dstate0]
    for k, (ours, theirs) in enumerate(zip(d0, ts0, strict=True)):
        assert_close(ours, theirs.grad, tol, f"dstate0[{k}]")


# ---------------------------------------------------------------- other layers and losses
def test_bidirectional_lstm_matches_torch():
    rng = np.random.default_rng(4)
    bi = ref.TimeBidirectional(ref.TimeLSTM(D, H, dtype="float64", seed=0),
                               ref.TimeLSTM(D, H, dtype="float64", seed=1))
    tm = torch.nn.LSTM(D, H, batch_first=True, bidirectional=True).double()
    _copy_into_torch(tm, bi.params)  # torch order: *_l0 then *_l0_reverse
    xs = rng.standard_normal((B, T, D))
    dhs = rng.standard_normal((B, T, 2 * H))
    hs = bi.forward(xs)
    dxs = bi.backward(dhs)
    X = torch.tensor(xs, requires_grad=True)
    out, _ = tm(X)
    (out * torch.tensor(dhs)).sum().backward()
    assert_close(hs, out, 1e-10, "hs")
    assert_close(dxs, X.grad, 1e-10, "dxs")
    for g, p in zip(bi.grads, tm.parameters(), strict=True):
        assert_close(g, p.grad, 1e-10, "grad")


def test_linear_matches_torch():
    rng = np.random.default_rng(5)
    lin = ref.TimeLinear(D, 3, dtype="float64", seed=0)
    tl = torch.nn.Linear(D, 3).double()
    _copy_into_torch(tl, lin.params)
    xs, dy = rng.standard_normal((B, T, D)), rng.standard_normal((B, T, 3))
    X = torch.tensor(xs, requires_grad=True)
    y = tl(X)
    (y * torch.tensor(dy)).sum().backward()
    assert_close(lin.forward(xs), y, 1e-12)
    assert_close(lin.backward(dy), X.grad, 1e-12)
    assert_close(lin.grads[0], tl.weight.grad, 1e-12)
    assert_close(lin.grads[1], tl.bias.grad, 1e-12)


def test_embedding_matches_torch():
    rng = np.random.default_rng(6)
    emb = ref.TimeEmbedding(7, 3, dtype="float64", seed=0)
    te = torch.nn.Embedding(7, 3).double()
    _copy_into_torch(te, emb.params)
    ids, dy = rng.integers(0, 7, (B, T)), rng.standard_normal((B, T, 3))
    y = te(torch.tensor(ids))
    (y * torch.tensor(dy)).sum().backward()
    assert_close(emb.forward(ids), y, 0)
    emb.backward(dy)
    assert_close(emb.grads[0], te.weight.grad, 1e-12)


def test_softmax_cross_entropy_matches_torch():
    rng = np.random.default_rng(7)
    scores, ts = rng.standard_normal((B, T, 9)) * 5, rng.integers(0, 9, (B, T))
    ts[0, :3] = -100
    loss = ref.SoftmaxCrossEntropy()
    S = torch.tensor(scores, requires_grad=True)
    tl = torch.nn.functional.cross_entropy(S.reshape(-1, 9), torch.tensor(ts).reshape(-1))
    tl.backward()
    assert abs(loss.forward(scores, ts) - tl.item()) <= 1e-12 * abs(tl.item())
    assert_close(loss.backward(), S.grad, 1e-12)


def test_mse_matches_torch():
    rng = np.random.default_rng(8)
    y, t = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    Y = torch.tensor(y, requires_grad=True)
    tl = torch.nn.functional.mse_loss(Y, torch.tensor(t))
    tl.backward()
    loss = ref.MSELoss()
    assert abs(loss.forward(y, t) - tl.item()) <= 1e-12 * tl.item()
    assert_close(loss.backward(), Y.grad, 1e-12)


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (lambda: ref.SGD(lr=0.1), lambda ps: torch.optim.SGD(ps, lr=0.1)),
        (lambda: ref.Momentum(lr=0.1, momentum=0.8),
         lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.8)),
        (lambda: ref.Adam(lr=0.01), lambda ps: torch.optim.Adam(ps, lr=0.01)),
    ],
    ids=["sgd", "momentum", "adam"],
)
def test_optimisers_match_torch(ours, theirs):
    """Same gradients for 5 steps -> same parameters. (torch's momentum: v = m v + g,
    p -= lr v, is the same trajectory as v = m v - lr g, p += v for a constant lr.)"""
    rng = np.random.default_rng(9)
    params = [rng.standard_normal((3, 2)), rng.standard_normal(4)]
    tparams = [torch.tensor(p, requires_grad=True) for p in params]
    opt, topt = ours(), theirs(tparams)
    for _ in range(5):
        grads = [rng.standard_normal(p.shape) for p in params]
        opt.update(params, grads)
        for tp, g in zip(tparams, grads, strict=True):
            tp.grad = torch.tensor(g)
        topt.step()
    for p, tp in zip(params, tparams, strict=True):
        assert_close(p, tp, 1e-12)


def test_clip_grads_matches_torch():
    rng = np.random.default_rng(10)
    grads = [rng.standard_normal((3, 4)) * 3, rng.standard_normal(5)]
    tparams = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for tp, g in zip(tparams, grads, strict=True):
        tp.grad = torch.tensor(g)
    tnorm = torch.nn.utils.clip_grad_norm_(tparams, max_norm=1.0)
    norm = ref.clip_grads(grads, max_norm=1.0)
    assert abs(norm - tnorm.item()) <= 1e-12 * norm
    for g, tp in zip(grads, tparams, strict=True):
        assert_close(g, tp.grad, 1e-12)
