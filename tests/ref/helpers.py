"""Helpers shared by the reference-engine tests: gradient checks of time layers and cells."""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnkit.ref import gradcheck


def parts(state: Any) -> list[np.ndarray]:
    """A state (array or tuple of arrays) as a list of arrays."""
    return list(state) if isinstance(state, (tuple, list)) else [state]


def random_state(layer: Any, B: int, rng: np.random.Generator) -> Any:
    H = layer.hidden_size
    if layer.state_parts == 2:
        return (rng.standard_normal((B, H)), rng.standard_normal((B, H)))
    return rng.standard_normal((B, H))


def randomise_ln(layer: Any, rng: np.random.Generator) -> None:
    """Move gamma/beta away from 1/0 so their gradients are checked at a generic point."""
    if getattr(layer, "layer_norm", False):
        layer.params[4][...] = rng.uniform(0.5, 1.5, layer.params[4].shape)
        layer.params[5][...] = rng.normal(0.0, 0.3, layer.params[5].shape)


def time_layer_gradcheck(layer: Any, B: int = 2, T: int = 4, seed: int = 0,
                         via_set_state: bool = False, eps: float = 1e-3) -> float:
    """Max relative error of a float64 time layer's params, xs and initial-state gradients.

    The scalar is L = sum(hs * W) + sum(final state * WS), so dstate (w.r.t. the final state)
    is exercised too. ``eps``: finite-difference step (smaller for relu, whose kink must not
    lie within 2 eps of a pre-activation). With ``via_set_state`` the initial state is given
    by ``set_state`` before each forward (the carried state of a stateful layer) instead of
    the argument.
    """
    rng = np.random.default_rng(seed)
    randomise_ln(layer, rng)
    xs = rng.standard_normal((B, T, layer.input_size))
    s0 = random_state(layer, B, rng)
    W = rng.standard_normal((B, T, layer.hidden_size))
    WS = random_state(layer, B, rng)

    def f() -> float:
        if via_set_state:
            layer.set_state(s0)
            hs = layer.forward(xs)
        else:
            hs = layer.forward(xs, s0)
        v = float((hs * W).sum())
        for s, w in zip(parts(layer.state), parts(WS), strict=True):
            v += float((s * w).sum())
        return v

    f()
    dxs = layer.backward(W, WS)
    analytic = [g.copy() for g in layer.grads] + [dxs] + parts(layer.dstate0)
    return gradcheck(f, [*list(layer.params), xs, *parts(s0)], analytic, eps=eps)


def cell_gradcheck(cell: Any, B: int = 3, seed: int = 0) -> float:
    """Max relative error of a float64 step cell's params, x and state gradients."""
    rng = np.random.default_rng(seed)
    randomise_ln(cell, rng)
    x = rng.standard_normal((B, cell.input_size))
    s0 = random_state(cell, B, rng)
    WS = random_state(cell, B, rng)

    def f() -> float:
        new = cell.forward(x, s0)
        return float(sum((s * w).sum() for s, w in zip(parts(new), parts(WS), strict=True)))

    f()
    dx, ds = cell.backward(WS)
    analytic = [g.copy() for g in cell.grads] + [dx] + parts(ds)
    return gradcheck(f, [*list(cell.params), x, *parts(s0)], analytic)
