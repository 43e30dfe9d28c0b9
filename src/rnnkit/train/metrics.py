"""Losses and metrics by name, as PyTorch batch statistics and as plain NumPy functions.

Names (``compile(loss=..., metrics=[...])`` and ``Trainer``):

======================  =======================================================  ==========
name                    value over N targets (prediction p, target y)            kind
======================  =======================================================  ==========
``"mse"``               mean (p - y)^2                                           loss/metric
``"mae"``               mean |p - y|                                             loss/metric
``"rmse"``              sqrt(mean (p - y)^2) over the whole epoch                metric
``"huber"``             mean of 0.5 e^2 if |e| <= 1 else |e| - 0.5 (delta 1)     loss/metric
``"cross_entropy"``     mean -log softmax(p)[y]; p (B, C) or (B, T, C) logits,   loss/metric
                        y (B,) or (B, T) class indices, -100 ignored
``"bce"``               binary cross-entropy on logits p, targets y in [0, 1]     loss/metric
``"accuracy"``          fraction of correct classes: argmax_C p == y for index    metric
                        targets; (p > 0.5) == (y > 0.5) when p and y share a shape
                        (p are probabilities, e.g. after a sigmoid)
``"logit_accuracy"``    binary accuracy of logits: (p > 0) == (y > 0.5)           metric
======================  =======================================================  ==========

Regression losses align a trailing axis of size 1 like Keras ((B, 1) predictions with (B,)
targets), and otherwise refuse shapes that would broadcast silently.

A metric is accumulated over an epoch as a *sum* and a *count* kept on the device (no
host sync per batch); :meth:`Metric.result` turns the totals into the epoch value, so
``"mse"`` is the exact mean over every target of the epoch and ``"rmse"`` its square root.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

#: Targets equal to this index are ignored by cross-entropy and accuracy (torch's default).
IGNORE_INDEX = -100

ALIASES = {
    "mean_squared_error": "mse",
    "mean_absolute_error": "mae",
    "root_mean_squared_error": "rmse",
    "crossentropy": "cross_entropy",
    "sparse_categorical_crossentropy": "cross_entropy",
    "binary_crossentropy": "bce",
    "binary_cross_entropy": "bce",
    "acc": "accuracy",
}
LOSS_NAMES = ("mse", "mae", "huber", "cross_entropy", "bce")
METRIC_NAMES = ("mse", "mae", "rmse", "huber", "cross_entropy", "bce", "accuracy",
                "logit_accuracy")


def _align(pred: torch.Tensor, target: torch.Tensor, name: str) -> torch.Tensor:
    """Return ``target`` reshaped to ``pred``'s shape when they differ only by a trailing 1."""
    if pred.shape == target.shape:
        return target
    if pred.dim() == target.dim() + 1 and pred.shape[-1] == 1 and pred.shape[:-1] == target.shape:
        return target.unsqueeze(-1)
    if target.dim() == pred.dim() + 1 and target.shape[-1] == 1 and target.shape[:-1] == pred.shape:
        return target.squeeze(-1)
    raise ValueError(
        f"{name}: predictions of shape {tuple(pred.shape)} and targets of shape "
        f"{tuple(target.shape)} do not match"
    )


def _ce_shapes(pred: torch.Tensor, target: torch.Tensor, name: str):
    """Flatten logits (B, [T,] C) -> (N, C) and class indices (B, [T]) -> (N,)."""
    if pred.dim() != target.dim() + 1 or pred.shape[:-1] != target.shape:
        raise ValueError(
            f"{name}: expected logits of shape (B, C) or (B, T, C) and class indices of shape "
            f"(B,) or (B, T), got logits {tuple(pred.shape)} and targets {tuple(target.shape)}"
        )
    return pred.reshape(-1, pred.shape[-1]), target.reshape(-1).long()  # (N, C), (N,)


# ---------------------------------------------------------------- losses (batch means)

def mse_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error, mean over every element."""
    return F.mse_loss(pred, _align(pred, target, "mse"))


def mae_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean absolute error, mean over every element."""
    return F.l1_loss(pred, _align(pred, target, "mae"))


def huber_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Huber loss with delta 1 (Keras' and torch's default), mean over every element."""
    return F.huber_loss(pred, _align(pred, target, "huber"), delta=1.0)


def cross_entropy_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Softmax cross-entropy of logits against class indices; targets -100 are ignored."""
    logits, classes = _ce_shapes(pred, target, "cross_entropy")
    return F.cross_entropy(logits, classes, ignore_index=IGNORE_INDEX)


def bce_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of logits (sigmoid applied inside, numerically stable)."""
    target = _align(pred, target, "bce")
    return F.binary_cross_entropy_with_logits(pred, target.to(pred.dtype))


LOSSES: dict[str, LossFn] = {
    "mse": mse_loss,
    "mae": mae_loss,
    "huber": huber_loss,
    "cross_entropy": cross_entropy_loss,
    "bce": bce_loss,
}


def get_loss(loss: str | LossFn) -> LossFn:
    """A loss function ``f(pred, target) -> scalar mean`` from a name or a callable."""
    if callable(loss):
        return loss
    if isinstance(loss, str):
        key = ALIASES.get(loss.lower(), loss.lower())
        if key in LOSSES:
            return LOSSES[key]
    raise ValueError(
        f"loss must be one of {', '.join(repr(n) for n in LOSS_NAMES)} or a callable "
        f"f(pred, target) -> tensor, got {loss!r}"
    )


# ---------------------------------------------------------------- metrics (sum + count)

@dataclass
class Metric:
    """An epoch metric: per batch ``stat(pred, target) -> (sum, count)``, then ``finish``.

    ``stat`` returns tensors (kept on the device); the epoch value is
    ``finish(total_sum / total_count)``.
    """

    name: str
    stat: Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor | int]]
    finish: Callable[[float], float] = field(default=lambda v: v)

    def result(self, total: float, count: float) -> float:
        return self.finish(total / count) if count else float("nan")


def _sq_stat(p, y):
    e = p - _align(p, y, "mse")
    return (e * e).sum(), e.numel()


def _abs_stat(p, y):
    e = p - _align(p, y, "mae")
    return e.abs().sum(), e.numel()


def _huber_stat(p, y):
    return F.huber_loss(p, _align(p, y, "huber"), reduction="sum"), p.numel()


def _ce_stat(p, y):
    logits, classes = _ce_shapes(p, y, "cross_entropy")
    total = F.cross_entropy(logits, classes, ignore_index=IGNORE_INDEX, reduction="sum")
    return total, (classes != IGNORE_INDEX).sum()


def _bce_stat(p, y):
    y = _align(p, y, "bce")
    return F.binary_cross_entropy_with_logits(p, y.to(p.dtype), reduction="sum"), p.numel()


def _acc_stat(p, y):
    if p.shape == y.shape or (p.dim() == y.dim() + 1 and p.shape[-1] == 1):
        y = _align(p, y, "accuracy")
        return ((p > 0.5) == (y > 0.5)).sum(), y.numel()
    logits, classes = _ce_shapes(p, y, "accuracy")
    valid = classes != IGNORE_INDEX
    return ((logits.argmax(-1) == classes) & valid).sum(), valid.sum()


def _logit_acc_stat(p, y):
    y = _align(p, y, "logit_accuracy")
    return ((p > 0) == (y > 0.5)).sum(), y.numel()


_METRICS: dict[str, tuple] = {
    "mse": (_sq_stat,),
    "mae": (_abs_stat,),
    "rmse": (_sq_stat, math.sqrt),
    "huber": (_huber_stat,),
    "cross_entropy": (_ce_stat,),
    "bce": (_bce_stat,),
    "accuracy": (_acc_stat,),
    "logit_accuracy": (_logit_acc_stat,),
}


def get_metric(metric: str | Callable | Metric) -> Metric:
    """A :class:`Metric` from a name, a Metric, or a callable ``f(pred, target) -> batch mean``.

    A callable's epoch value is the batch-size-weighted mean of its batch values; its log key
    is its ``__name__`` (or its class name).
    """
    if isinstance(metric, Metric):
        return metric
    if isinstance(metric, str):
        key = ALIASES.get(metric.lower(), metric.lower())
        if key in _METRICS:
            return Metric(metric, *_METRICS[key])
        raise ValueError(
            f"metric must be one of {', '.join(repr(n) for n in METRIC_NAMES)} or a callable "
            f"f(pred, target) -> tensor, got {metric!r}"
        )
    if callable(metric):
        name = getattr(metric, "__name__", type(metric).__name__)

        def stat(p, y, _f=metric):
            return _f(p, y) * p.shape[0], p.shape[0]

        return Metric(name, stat)
    raise TypeError(f"metric must be a name or a callable, got {type(metric).__name__}")


def get_metrics(metrics: Sequence[str | Callable | Metric] | None) -> list[Metric]:
    """Metrics from a list of names/callables; duplicate names raise ValueError."""
    if metrics is None:
        return []
    if isinstance(metrics, (str, Metric)) or callable(metrics):
        metrics = [metrics]
    out = [get_metric(m) for m in metrics]
    names = [m.name for m in out]
    dupes = sorted({n for n in names if names.count(n) > 1} | ({"loss"} & set(names)))
    if dupes:
        raise ValueError(f"metrics must have distinct names other than 'loss', got {names}")
    return out


# ---------------------------------------------------------------- NumPy functions

def _np_pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    t, p = np.asarray(y_true, dtype=np.float64), np.asarray(y_pred, dtype=np.float64)
    if t.shape != p.shape:
        if p.ndim == t.ndim + 1 and p.shape[-1] == 1:
            p = p[..., 0]
        elif t.ndim == p.ndim + 1 and t.shape[-1] == 1:
            t = t[..., 0]
        else:
            raise ValueError(
                f"y_true of shape {t.shape} and y_pred of shape {p.shape} do not match"
            )
    return t, p


def mse(y_true, y_pred) -> float:
    """Mean squared error (NumPy, float64)."""
    t, p = _np_pair(y_true, y_pred)
    return float(np.mean((p - t) ** 2))


def mae(y_true, y_pred) -> float:
    """Mean absolute error (NumPy, float64)."""
    t, p = _np_pair(y_true, y_pred)
    return float(np.mean(np.abs(p - t)))


def rmse(y_true, y_pred) -> float:
    """Root mean squared error (NumPy, float64)."""
    return math.sqrt(mse(y_true, y_pred))


def huber(y_true, y_pred, delta: float = 1.0) -> float:
    """Huber loss: mean of 0.5 e^2 where |e| <= delta, else delta (|e| - 0.5 delta)."""
    t, p = _np_pair(y_true, y_pred)
    e = np.abs(p - t)
    return float(np.mean(np.where(e <= delta, 0.5 * e**2, delta * (e - 0.5 * delta))))


def cross_entropy(y_true, logits) -> float:
    """Mean softmax cross-entropy of logits (N, ..., C) against class indices (N, ...)."""
    z = np.asarray(logits, dtype=np.float64)
    y = np.asarray(y_true).astype(np.int64)
    z = z.reshape(-1, z.shape[-1])  # (N, C)
    y = y.reshape(-1)  # (N,)
    keep = y != IGNORE_INDEX
    z, y = z[keep], y[keep]
    zmax = z.max(axis=1, keepdims=True)
    logsumexp = np.log(np.exp(z - zmax).sum(axis=1)) + zmax[:, 0]
    return float(np.mean(logsumexp - z[np.arange(len(y)), y]))


def accuracy(y_true, y_pred) -> float:
    """Fraction correct: argmax of scores (N, ..., C) vs indices, or (p > 0.5) == (y > 0.5)."""
    p = np.asarray(y_pred)
    y = np.asarray(y_true)
    if p.ndim == y.ndim + 1 and p.shape[-1] > 1:
        y = y.reshape(-1)
        pred = p.reshape(-1, p.shape[-1]).argmax(axis=1)
        keep = y != IGNORE_INDEX
        return float(np.mean(pred[keep] == y[keep]))
    t, q = _np_pair(y, p)
    return float(np.mean((q > 0.5) == (t > 0.5)))


__all__ = [
    "LOSSES", "LOSS_NAMES", "METRIC_NAMES", "Metric", "accuracy", "bce_loss",
    "cross_entropy", "cross_entropy_loss", "get_loss", "get_metric", "get_metrics", "huber",
    "huber_loss", "mae", "mae_loss", "mse", "mse_loss", "rmse",
]
