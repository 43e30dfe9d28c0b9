r"""Mixup (Zhang et al. 2018, "mixup: Beyond Empirical Risk Minimization") for training
batches of float sequences.

Each training batch is replaced by convex combinations of its own rows, and the loss by the
same combination of the losses against both rows' targets::

    lam ~ Beta(alpha, alpha),  lam = max(lam, 1 - lam)      one draw per batch
    perm = a random permutation of the B rows
    x'   = lam x + (1 - lam) x[perm]                        (B, T, D)
    L    = lam loss(f(x'), y) + (1 - lam) loss(f(x'), y[perm])

``max(lam, 1 - lam)`` keeps each mixed row closest to its own sample, so the batch's
training accuracy still reads against ``y``. Padded batches (``{"x", "lengths"}``) mix the
zero-padded arrays and give each mixed row the longer of its two lengths. Draws come from
torch's global generator, which the estimators seed before training (and a checkpoint
saves), so a seeded fit is repeatable.

Measured (``benchmarks/classify_accuracy.py --threads 2``, seeds 0-3, 2026-12-03, alpha 0.2
against none): development sets ACSF1 / OSULeaf / PickupGestureWiimoteZ 0.849 against 0.851
(ACSF1 0.873 against 0.910), held-out Coffee / PigCVP / UnitTest 0.878 against 0.864 (PigCVP
0.723 against 0.682): within the seeds' spread (PigCVP 0.53-0.83), so the classifier leaves it
off by default (``mixup=0``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch


def check_alpha(alpha: Any) -> float | None:
    """``alpha`` as a float, None for 0 or None (no mixup); ValueError unless >= 0."""
    if alpha is None:
        return None
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not alpha >= 0:
        raise ValueError(f"mixup must be a number >= 0 (the Beta distribution's alpha; 0: "
                         f"off) or None, got {alpha!r}")
    return float(alpha) or None


class Mixup:
    """Mixes training batches; see the module doc. ``Mixup(alpha)``, alpha > 0."""

    def __init__(self, alpha: float) -> None:
        self.alpha = float(alpha)
        self._beta = torch.distributions.Beta(self.alpha, self.alpha)

    def mix(self, inputs: Any) -> tuple[Any, float, torch.Tensor]:
        """``(mixed inputs, lam, perm)`` for inputs x (B, ...) or ``{"x", "lengths"}``."""
        x = inputs["x"] if isinstance(inputs, dict) else inputs
        if not isinstance(x, torch.Tensor) or not x.is_floating_point():
            raise TypeError("mixup mixes float inputs; got "
                            f"{getattr(x, 'dtype', type(x).__name__)} (token ids cannot be "
                            f"mixed: use mixup=0)")
        lam = float(self._beta.sample())
        lam = max(lam, 1.0 - lam)
        perm = torch.randperm(x.shape[0]).to(x.device)
        mixed = torch.lerp(x[perm], x, lam)  # lam x + (1 - lam) x[perm]
        if not isinstance(inputs, dict):
            return mixed, lam, perm
        out = dict(inputs, x=mixed)
        lengths = inputs.get("lengths")
        if lengths is not None:
            out["lengths"] = torch.maximum(lengths, lengths[perm])
        return out, lam, perm

    @staticmethod
    def loss(loss_fn: Callable, pred: torch.Tensor, targets: torch.Tensor, lam: float,
             perm: torch.Tensor) -> torch.Tensor:
        """``lam loss(pred, y) + (1 - lam) loss(pred, y[perm])``."""
        return lam * loss_fn(pred, targets) + (1.0 - lam) * loss_fn(pred, targets[perm])


__all__ = ["Mixup", "check_alpha"]
