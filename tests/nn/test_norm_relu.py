"""The compiled channels-first layer norm + ReLU + mask (rnnkit.nn.fastpath.norm_relu).

Expected values come from torch's own ops on the same tensors: F.layer_norm over the
transposed channels, torch.relu and the mask multiply, differentiated by autograd; and from
finite differences in float64 (gradcheck).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from rnnkit.nn.fastpath import norm_relu

pytest.importorskip("numba")  # the compiled passes need it (rnnkit[fast])

from rnnkit.nn.fastpath import norm_relu_kernel
from rnnkit.nn.fastpath.jit import PARALLEL_MIN, parallel_rows


def torch_ops(y, w, b, eps, lengths, pool=1):
    """maxpool(relu(LayerNorm over dim 1) * valid), with torch ops and autograd only."""
    z = torch.relu(F.layer_norm(y.transpose(1, 2), (y.shape[1],), w, b, eps)).transpose(1, 2)
    if lengths is not None:
        valid = torch.arange(y.shape[2])[None, :] < lengths[:, None]  # (B, T)
        z = z * valid[:, None, :].to(z.dtype)
    return F.max_pool1d(z, pool, pool, ceil_mode=True)


def inputs(B, C, T, dtype, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = (torch.randn(B, C, T, generator=g, dtype=dtype) * 2 + 0.5).requires_grad_()
    w = (torch.rand(C, generator=g, dtype=dtype) + 0.5).requires_grad_()
    b = (torch.rand(C, generator=g, dtype=dtype) - 0.5).requires_grad_()
    return y, w, b


def grads(fn, y, w, b, lengths, pool):
    out = fn(y, w, b, 1e-5, lengths, pool)
    dout = torch.randn(out.shape, generator=torch.Generator().manual_seed(3), dtype=out.dtype)
    return (out, *torch.autograd.grad(out, (y, w, b), dout))


@pytest.fixture(params=[1, 2], ids=["1-thread", "2-threads"])
def threads(request):
    """torch's threads (the suite runs on one): two let the passes split the rows."""
    before = torch.get_num_threads()
    torch.set_num_threads(request.param)
    yield request.param
    torch.set_num_threads(before)


# (B, C, T): rows on one thread, and enough entries (B C T >= 16,384) for the threaded passes
@pytest.mark.parametrize("shape", [(4, 5, 9), (16, 32, 40)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("padded", [False, True])
@pytest.mark.parametrize("pool", [1, 4])  # 4 divides neither T: a short last window
def test_matches_torch_ops_forward_and_backward(shape, dtype, padded, pool, threads,
                                                monkeypatch) -> None:
    """Every output entry is written: the kernels' arrays start as NaN here."""
    B, C, T = shape
    assert parallel_rows(B, C * T) == (threads > 1 and B * C * T >= PARALLEL_MIN)
    monkeypatch.setattr(norm_relu_kernel, "_empty",
                        lambda shape, dtype: np.full(shape, -1 if dtype == np.int32 else np.nan,
                                                     dtype))
    y, w, b = inputs(B, C, T, dtype)
    lengths = torch.randint(1, T + 1, (B,), generator=torch.Generator().manual_seed(1))
    lengths = lengths if padded else None
    if padded:
        lengths[0] = T
    assert norm_relu.compiled(y, w)
    got = grads(norm_relu.layer_norm_relu, y, w, b, lengths, pool)
    want = grads(torch_ops, y, w, b, lengths, pool)
    tol = {"atol": 1e-5, "rtol": 1e-4} if dtype == torch.float32 else {"atol": 1e-12, "rtol": 0}
    for name, g, e in zip(("out", "dy", "dw", "db"), got, want, strict=True):
        torch.testing.assert_close(g, e, **tol, msg=lambda m, n=name: f"{n}: {m}")
    if padded:  # padded steps are zero and pass no gradient
        out, dy = got[0], got[1]
        for i, L in enumerate(lengths.tolist()):
            assert not out[i, :, -(-L // pool):].any() and not dy[i, :, L:].any()


@pytest.mark.parametrize("pool", [1, 2])
def test_gradcheck_float64(pool) -> None:
    y, w, b = inputs(3, 4, 7, torch.float64, seed=2)
    lengths = torch.tensor([7, 4, 1])

    def f(y, w, b):
        return norm_relu.layer_norm_relu(y, w, b, 1e-5, lengths, pool)

    assert torch.autograd.gradcheck(f, (y, w, b), eps=1e-6, atol=1e-7)


def test_falls_back_to_torch_ops_where_the_passes_do_not_run() -> None:
    y, w, b = inputs(2, 3, 5, torch.float32)
    lengths = torch.tensor([5, 2])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert not norm_relu.compiled(y, w)
    assert not norm_relu.compiled(y.half(), w.half())
    assert not norm_relu.compiled(y.double(), w)  # dtypes must match
    assert not norm_relu.compiled(y, w, b.double())
    half = norm_relu.layer_norm_relu(y.half(), w.half(), b.half(), 1e-5, lengths)
    torch.testing.assert_close(half, torch_ops(y.half(), w.half(), b.half(), 1e-5, lengths))
    assert half.dtype == torch.float16


def test_double_backward_raises() -> None:
    y, w, b = inputs(2, 3, 5, torch.float64)
    z = norm_relu.layer_norm_relu(y, w, b, 1e-5)
    (dy,) = torch.autograd.grad(z.sum(), y, create_graph=True)
    with pytest.raises(RuntimeError):
        dy.sum().backward()


def test_frontend_blocks_run_it_and_keep_their_outputs(monkeypatch) -> None:
    """A GRU-FCN with the per-step layer norm gives the same logits and gradients on the
    compiled passes as on torch's ops (the fallback), with padded rows."""
    from rnnkit.tasks.classify.model import RNNClassifier

    torch.manual_seed(0)
    net = RNNClassifier(2, 3, "gru-fcn", 8, conv_blocks=2, conv_channels=4, conv_norm="layer",
                        fcn_channels=4, fcn_pool=1, pooling="max").double()
    x = torch.randn(3, 20, 2, dtype=torch.float64)
    lengths = torch.tensor([20, 11, 5])
    x[1, 11:] = 0
    x[2, 5:] = 0

    def run():
        net.zero_grad()
        out = net(x, lengths=lengths)
        out.square().sum().backward()
        return out.detach(), [p.grad.clone() for p in net.parameters()]

    calls = []
    real = norm_relu._LayerNormReLU.apply
    monkeypatch.setattr(norm_relu._LayerNormReLU, "apply",
                        lambda *a: calls.append(1) or real(*a))
    fast, fast_grads = run()
    assert len(calls) == 5  # three FCN blocks and two front-end blocks
    monkeypatch.setattr(norm_relu, "compiled", lambda y, w, b=None: False)
    slow, slow_grads = run()
    torch.testing.assert_close(fast, slow, atol=1e-12, rtol=0)
    for g, e in zip(fast_grads, slow_grads, strict=True):
        torch.testing.assert_close(g, e, atol=1e-11, rtol=0)


def batch_norm_ops(y, w, b, eps, lengths, pool=1, running=None):
    """maxpool(relu(w (r xhat + d) + b) * valid): the batch norm of y over its valid steps,
    renormalised against ``running`` = (mean, var) when given (r, d clipped at 3 and 5,
    constants), with torch ops and autograd only."""
    valid = (torch.arange(y.shape[2])[None, :] < lengths[:, None])[:, None, :].to(y.dtype)
    n = valid.sum() * 1.0
    mean = (y * valid).sum((0, 2)) / n
    var = (((y - mean[:, None]) * valid) ** 2).sum((0, 2)) / n
    s = torch.sqrt(var + eps)
    xhat = (y - mean[:, None]) / s[:, None]
    if running is not None:
        mu, sigma = running[0], torch.sqrt(running[1] + eps)
        r = (s / sigma).detach().clamp(1 / 3, 3)
        d = ((mean - mu) / sigma).detach().clamp(-5, 5)
        xhat = xhat * r[:, None] + d[:, None]
    z = torch.relu(xhat * w[:, None] + b[:, None]) * valid
    return F.max_pool1d(z, pool, pool, ceil_mode=True), mean.detach(), var.detach()


@pytest.mark.parametrize("shape", [(4, 5, 9), (16, 32, 40)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("renorm", [False, True])
@pytest.mark.parametrize("pool", [1, 4])
def test_batch_norm_matches_torch_ops_forward_and_backward(shape, dtype, renorm, pool, threads,
                                                           monkeypatch) -> None:
    """Outputs, the statistics, and the gradients of y, w and b; every output entry is
    written (the kernels' arrays start as NaN here)."""
    from rnnkit.nn.fastpath import batch_norm_relu_kernel

    for module in (norm_relu_kernel, batch_norm_relu_kernel):
        monkeypatch.setattr(module, "_empty", lambda shape, dtype: np.full(
            shape, -1 if dtype == np.int32 else np.nan, dtype))
    B, C, T = shape
    y, w, b = inputs(B, C, T, dtype)
    lengths = torch.randint(1, T + 1, (B,), generator=torch.Generator().manual_seed(1))
    running = None
    if renorm:  # a running mean and variance that make some clips bind
        running = (torch.linspace(-3.0, 3.0, C, dtype=dtype),
                   torch.linspace(0.1, 40.0, C, dtype=dtype))

    def correction(mean, var):
        sigma = torch.sqrt(running[1] + 1e-5)
        return ((torch.sqrt(var + 1e-5) / sigma).clamp(1 / 3, 3),
                ((mean - running[0]) / sigma).clamp(-5, 5))

    assert norm_relu.compiled(y, w, b)
    out, mean, var = norm_relu.batch_norm_relu(y, w, b, 1e-5, lengths, pool,
                                               correction if renorm else None)
    want, want_mean, want_var = batch_norm_ops(y, w, b, 1e-5, lengths, pool, running)
    dout = torch.randn(out.shape, generator=torch.Generator().manual_seed(3), dtype=dtype)
    got = (out, mean, var, *torch.autograd.grad(out, (y, w, b), dout))
    expected = (want, want_mean, want_var, *torch.autograd.grad(want, (y, w, b), dout))
    tol = {"atol": 1e-4, "rtol": 1e-4} if dtype == torch.float32 else {"atol": 1e-10, "rtol": 0}
    for name, g, e in zip(("out", "mean", "var", "dy", "dw", "db"), got, expected, strict=True):
        torch.testing.assert_close(g, e, **tol, msg=lambda m, n=name: f"{n}: {m}")
    dy = got[3]
    for i, L in enumerate(lengths.tolist()):  # padded steps are zero and pass no gradient
        assert not out[i, :, -(-L // pool):].any() and not dy[i, :, L:].any()


def test_batch_norm_gradcheck_float64() -> None:
    y, w, b = inputs(3, 4, 7, torch.float64, seed=2)
    lengths = torch.tensor([7, 4, 1])

    def f(y, w, b):
        return norm_relu.batch_norm_relu(y, w, b, 1e-5, lengths, 2)[0]

    assert torch.autograd.gradcheck(f, (y, w, b), eps=1e-6, atol=1e-7)


@pytest.mark.parametrize("renorm", [False, True])
def test_masked_batch_norm_blocks_run_it_and_keep_their_outputs(renorm, monkeypatch) -> None:
    """A padded GRU-FCN with the masked batch norm (renormalised or not) in training gives the
    same logits, gradients and running statistics on the compiled passes as on the
    MaskedBatchNorm formulas (float32 both)."""
    from rnnkit.tasks.classify.frontend import MaskedBatchNorm
    from rnnkit.tasks.classify.model import RNNClassifier

    torch.manual_seed(0)
    net = RNNClassifier(2, 3, "gru-fcn", 8, conv_blocks=2, conv_channels=4,
                        conv_norm="renorm" if renorm else "batch", fcn_channels=4, fcn_pool=1,
                        pooling="max")
    start = {k: v.clone() for k, v in net.state_dict().items()}
    x = torch.randn(3, 20, 2)
    lengths = torch.tensor([20, 11, 5])
    x[1, 11:] = 0
    x[2, 5:] = 0

    def run():
        net.load_state_dict(start)
        net.zero_grad()
        out = net(x, lengths=lengths)
        out.square().sum().backward()
        return out.detach(), [p.grad.clone() for p in net.parameters()], [
            v.clone() for k, v in net.state_dict().items() if "running" in k]

    calls = []
    real = norm_relu._BatchNormReLU.apply
    monkeypatch.setattr(norm_relu._BatchNormReLU, "apply",
                        lambda *a: calls.append(1) or real(*a))
    fast = run()
    assert len(calls) == 5  # three FCN blocks and two front-end blocks
    monkeypatch.setattr(MaskedBatchNorm, "fused", lambda self, y, lengths: False)
    slow = run()
    torch.testing.assert_close(fast[0], slow[0], atol=1e-5, rtol=1e-4)
    for f, s in zip(fast[1] + fast[2], slow[1] + slow[2], strict=True):
        torch.testing.assert_close(f, s, atol=1e-4, rtol=1e-3)
