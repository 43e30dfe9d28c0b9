"""Optimisers by name/object/factory, gradient clipping, seeding."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from torch import nn

from rnnkit.train import Sequential, seed_everything
from rnnkit.train.optim import get_optimizer
from tests.train.helpers import LastStep


class RecordingSGD(torch.optim.SGD):
    """SGD that records the global L2 norm of the gradients it is asked to apply."""

    def __init__(self, params, lr=0.01):
        super().__init__(params, lr=lr)
        self.norms: list[float] = []

    def step(self, closure=None):
        grads = [p.grad.double() for g in self.param_groups for p in g["params"]
                 if p.grad is not None]
        self.norms.append(float(torch.sqrt(sum((g * g).sum() for g in grads))))
        return super().step(closure)


def _norms(clip):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((24, 5, 2)).astype(np.float32)
    y = 50 * rng.standard_normal((24, 1)).astype(np.float32)  # big errors: big gradients
    torch.manual_seed(0)
    model = Sequential([LastStep(2, 4), nn.Linear(4, 1)])
    model.compile(optimizer=RecordingSGD, clip_grad_norm=clip)
    model.fit(X, y, epochs=2, batch_size=6, shuffle=False, verbose=0)
    return model.trainer.optimizer.norms


def test_clipping_bounds_the_global_norm():
    raw = _norms(None)
    clipped = _norms(1.5)
    assert min(raw) > 1.5  # without clipping every step's norm is larger
    assert clipped[0] == pytest.approx(1.5, rel=1e-5)  # same first batch, rescaled to 1.5
    assert all(n <= 1.5 * (1 + 1e-5) for n in clipped)


def test_optimizers_by_name_object_and_factory():
    params = [nn.Parameter(torch.zeros(2))]
    adam = get_optimizer("adam", params)
    assert isinstance(adam, torch.optim.Adam) and adam.param_groups[0]["lr"] == 1e-3
    sgd = get_optimizer("SGD", params)
    assert isinstance(sgd, torch.optim.SGD) and sgd.param_groups[0]["lr"] == 1e-2
    rms = get_optimizer("rmsprop", params, lr=0.5)
    assert rms.param_groups[0]["lr"] == 0.5 and rms.param_groups[0]["alpha"] == 0.9
    obj = torch.optim.Adagrad(params, lr=0.3)
    assert get_optimizer(obj, params) is obj
    assert get_optimizer(obj, params, lr=0.2).param_groups[0]["lr"] == 0.2
    fac = get_optimizer(lambda p: torch.optim.SGD(p, lr=0.7, momentum=0.9), params)
    assert fac.param_groups[0]["momentum"] == 0.9
    with pytest.raises(TypeError, match=r"optimizer callable must return a torch.optim.Optimizer"
                       r", got int"):
        get_optimizer(lambda p: 3, params)
    with pytest.raises(TypeError, match=r"optimizer must be a name, a torch.optim.Optimizer or a "
                       r"callable f\(params\) -> Optimizer, got float"):
        get_optimizer(0.1, params)


def test_seed_everything_seeds_all_three_generators():
    seed_everything(5)
    a = (random.random(), np.random.rand(), torch.rand(1).item())  # noqa: NPY002
    seed_everything(5)
    b = (random.random(), np.random.rand(), torch.rand(1).item())  # noqa: NPY002
    assert a == b
    with pytest.raises(ValueError, match=r"seed must be a non-negative int, got -1"):
        seed_everything(-1)
