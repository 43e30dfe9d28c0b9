"""Sequential: a small container that chains layers, collects their params and runs backward.

``Sequential(*layers, loss=None)``. ``forward(x, t=None)`` runs the layers in order; with a
loss and targets ``t`` it returns the loss value, else the output. ``backward(dout=1.0)`` runs
the loss (if any) and the layers in reverse and returns the input gradient (None when the first
layer is an embedding). ``params``/``grads`` are collected afresh on every access, so a layer
whose arrays were replaced (``set_params``) is still seen.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class Sequential:
    """Layers applied one after another (each needs ``forward(x)`` and ``backward(dout)``)."""

    def __init__(self, *layers: Any, loss: Any = None) -> None:
        for k, layer in enumerate(layers):
            if not (hasattr(layer, "forward") and hasattr(layer, "backward")):
                raise TypeError(f"layers[{k}] must have forward and backward, got "
                                f"{type(layer).__name__}")
        self.layers = list(layers)
        self.loss = loss

    @property
    def params(self) -> list[np.ndarray]:
        return [p for layer in self.layers for p in layer.params]

    @property
    def grads(self) -> list[np.ndarray]:
        return [g for layer in self.layers for g in layer.grads]

    def forward(self, x: Any, t: Any = None) -> Any:
        for layer in self.layers:
            x = layer.forward(x)
        if t is None:
            return x
        if self.loss is None:
            raise ValueError("t was given but the Sequential has no loss")
        return self.loss.forward(x, t)

    __call__ = forward

    def backward(self, dout: Any = 1.0) -> Any:
        if self.loss is not None and np.isscalar(dout):
            dout = self.loss.backward(dout)
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        return dout

    def reset_state(self) -> None:
        """Reset every stateful layer."""
        for layer in self.layers:
            if hasattr(layer, "reset_state"):
                layer.reset_state()

    def train(self, mode: bool = True) -> Sequential:
        """Switch dropout layers to training (True) or evaluation (False) mode."""
        for layer in self.layers:
            if hasattr(layer, "training"):
                layer.training = mode
        return self

    def eval(self) -> Sequential:
        return self.train(False)
