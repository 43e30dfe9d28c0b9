"""Optimisers by name or object, and learning-rate schedules.

``get_optimizer(spec, params, lr=None)`` accepts:

- a name: ``"adam"``, ``"adamw"``, ``"rmsprop"``, ``"sgd"``; the torch optimiser is built with
  Keras' default learning rates (Adam/AdamW/RMSprop 1e-3, SGD 1e-2) unless ``lr`` is given,
  and RMSprop's decay ``alpha = 0.9`` (Keras' ``rho``; torch's default is 0.99). Other
  hyperparameters are torch's defaults.
- a ``torch.optim.Optimizer`` already built over the model's parameters (``lr`` then sets the
  learning rate of every parameter group);
- a callable ``f(params) -> Optimizer`` such as ``torch.optim.SGD`` or
  ``lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9)`` (``lr``, when given, is passed as
  ``f(params, lr=lr)``).

``get_scheduler(spec, optimizer)`` accepts ``None``, a scheduler already bound to the
optimiser (``torch.optim.lr_scheduler.LRScheduler``, ``ReduceLROnPlateau`` included), or a
callable ``f(optimizer) -> scheduler`` (e.g. ``lambda opt: StepLR(opt, step_size=10)``). The
Trainer steps it once per epoch, after validation; ``ReduceLROnPlateau`` is stepped with
``val_loss`` (``loss`` when there is no validation).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch.optim.lr_scheduler import LRScheduler, ReduceLROnPlateau

#: name -> (class, default keyword arguments). Learning rates follow Keras' defaults.
OPTIMIZERS: dict[str, tuple[type[torch.optim.Optimizer], dict[str, Any]]] = {
    "adam": (torch.optim.Adam, {"lr": 1e-3}),
    "adamw": (torch.optim.AdamW, {"lr": 1e-3}),
    "rmsprop": (torch.optim.RMSprop, {"lr": 1e-3, "alpha": 0.9}),
    "sgd": (torch.optim.SGD, {"lr": 1e-2}),
}


def _check_lr(lr: float | None) -> None:
    if lr is not None and (
        isinstance(lr, bool) or not isinstance(lr, (int, float)) or not lr > 0
    ):
        raise ValueError(f"lr must be a positive number or None, got {lr!r}")


def get_optimizer(
    spec: str | torch.optim.Optimizer | Callable[..., torch.optim.Optimizer],
    params: Iterable[torch.nn.Parameter] | Iterable[dict[str, Any]],
    lr: float | None = None,
) -> torch.optim.Optimizer:
    """Build (or adopt) the optimiser described by ``spec`` over ``params``, parameters or
    torch's parameter groups (dicts with their own options); see the module docstring."""
    _check_lr(lr)
    if isinstance(spec, torch.optim.Optimizer):
        if lr is not None:
            for group in spec.param_groups:
                group["lr"] = float(lr)
        return spec
    if isinstance(spec, str):
        key = spec.lower()
        if key not in OPTIMIZERS:
            raise ValueError(
                f"optimizer must be one of {', '.join(repr(k) for k in OPTIMIZERS)}, a "
                f"torch.optim.Optimizer or a callable f(params) -> Optimizer, got {spec!r}"
            )
        cls, kwargs = OPTIMIZERS[key]
        kwargs = dict(kwargs)
        if lr is not None:
            kwargs["lr"] = float(lr)
        return cls(list(params), **kwargs)
    if callable(spec):
        opt = spec(list(params)) if lr is None else spec(list(params), lr=float(lr))
        if not isinstance(opt, torch.optim.Optimizer):
            raise TypeError(
                "optimizer callable must return a torch.optim.Optimizer, got "
                f"{type(opt).__name__}"
            )
        return opt
    raise TypeError(
        "optimizer must be a name, a torch.optim.Optimizer or a callable f(params) -> "
        f"Optimizer, got {type(spec).__name__}"
    )


def get_scheduler(
    spec: LRScheduler | Callable[[torch.optim.Optimizer], LRScheduler] | None,
    optimizer: torch.optim.Optimizer,
) -> LRScheduler | None:
    """The per-epoch learning-rate scheduler described by ``spec`` (or None)."""
    if spec is None:
        return None
    if isinstance(spec, (LRScheduler, ReduceLROnPlateau)):
        if spec.optimizer is not optimizer:
            raise ValueError(
                "lr_schedule is bound to a different optimizer than the one training the "
                "model; pass a callable f(optimizer) -> scheduler instead"
            )
        return spec
    if callable(spec):
        sched = spec(optimizer)
        if not isinstance(sched, (LRScheduler, ReduceLROnPlateau)):
            raise TypeError(
                "lr_schedule callable must return a torch.optim.lr_scheduler scheduler, got "
                f"{type(sched).__name__}"
            )
        return sched
    raise TypeError(
        "lr_schedule must be None, a torch.optim.lr_scheduler scheduler or a callable "
        f"f(optimizer) -> scheduler, got {type(spec).__name__}"
    )


def current_lr(optimizer: torch.optim.Optimizer) -> float:
    """The learning rate of the first parameter group."""
    lr = optimizer.param_groups[0]["lr"]
    return float(lr.item() if isinstance(lr, torch.Tensor) else lr)


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """Set the first parameter group's learning rate to ``lr`` and scale the others by the
    same factor, so that the groups keep their ratios (as torch's ``LambdaLR`` does)."""
    first = current_lr(optimizer)
    ratios = [float(group["lr"]) / first for group in optimizer.param_groups]  # the first: 1
    for group, ratio in zip(optimizer.param_groups, ratios, strict=True):
        group["lr"] = float(lr) * ratio


__all__ = ["OPTIMIZERS", "current_lr", "get_optimizer", "get_scheduler", "set_lr"]
