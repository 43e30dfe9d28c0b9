"""CUDA parity: every path on the GPU against the same layer on the CPU (skipped without CUDA).

The CPU runs are the reference here: their own parity with torch.nn and the NumPy engine is
tested elsewhere in tests/nn. On the GPU the fused path is cuDNN (variable lengths packed) and
the LN cells' fast path is the time-major torch loop (rnnkit.nn.fastpath.torch_loop), so these
tests hold both to the CPU in float64, forward and every gradient.
"""

from __future__ import annotations

import copy

import pytest
import torch

from rnnkit.nn import LNGRU, LNLSTM, LNSimpleRNN

from .helpers import KINDS, fields, randomise_ln_, rel, weighted_loss

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")

TOL = 1e-10
B, T, D, H = 4, 6, 3, 5


def _run(layer, x, lengths, seed: int):
    """Output, final state and the gradients of x and of every parameter, on x's device."""
    x = x.clone().requires_grad_(True)
    out, state = layer(x, lengths=lengths)
    gen = torch.Generator().manual_seed(seed)
    loss = weighted_loss(out.cpu(), tuple(f.cpu() for f in fields(state)), gen)
    grads = torch.autograd.grad(loss, [x, *layer.parameters()])
    return out.detach().cpu(), [f.detach().cpu() for f in fields(state)], [g.cpu() for g in grads]


def _assert_same(cpu_run, gpu_run) -> None:
    (out_c, st_c, g_c), (out_g, st_g, g_g) = cpu_run, gpu_run
    assert rel(out_g, out_c) < TOL
    for a, b in zip(st_g, st_c, strict=True):
        assert rel(a, b) < TOL
    for a, b in zip(g_g, g_c, strict=True):
        assert rel(a, b) < TOL


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("lengths", [None, [6, 2, 5, 1]])
def test_fused_path_on_cuda_equals_cpu(kind: str, lengths) -> None:
    cls, _, kwargs = KINDS[kind]
    torch.manual_seed(0)
    cpu = cls(D, H, num_layers=2, bidirectional=True, return_sequences=True,
              return_state=True, **kwargs).double()
    gpu = copy.deepcopy(cpu).cuda()
    x = torch.randn(B, T, D, dtype=torch.float64)
    lens = None if lengths is None else torch.tensor(lengths)
    cpu_run = _run(cpu, x, lens, seed=1)
    gpu_run = _run(gpu, x.cuda(), lens, seed=1)
    assert cpu.last_path == gpu.last_path == "fused"
    _assert_same(cpu_run, gpu_run)


@pytest.mark.parametrize("cls", [LNSimpleRNN, LNLSTM, LNGRU])
def test_ln_fast_path_on_cuda_equals_cpu_kernel(cls) -> None:
    torch.manual_seed(0)
    cpu = cls(D, H, num_layers=2, return_sequences=True, return_state=True).double()
    for cell in cpu.cells:
        randomise_ln_(cell)
    gpu = copy.deepcopy(cpu).cuda()
    x = torch.randn(B, T, D, dtype=torch.float64)
    cpu_run = _run(cpu, x, None, seed=2)
    gpu_run = _run(gpu, x.cuda(), None, seed=2)
    assert cpu.last_path == gpu.last_path == "fast"  # the compiled kernels / the torch loop
    _assert_same(cpu_run, gpu_run)
