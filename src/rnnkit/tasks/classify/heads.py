r"""Several softmax heads read as one classifier: their combination, loss and accuracy.

A network with K heads (a GRU-FCN's joint head and one head on each branch,
:class:`~rnnkit.tasks.classify.model.RNNClassifier`'s ``branch_heads``; or K member networks,
:class:`~rnnkit.tasks.classify.model.EnsembleNet`) predicts with the normalised geometric
mean of the heads' probabilities::

    log p = log_softmax(mean_k log_softmax(logits_k))          logits (B, K, C) -> (B, C)

In training such a network returns the K heads' logits (B, K, C), and each head is trained
on its own: the loss is the mean of the heads' cross-entropies (not the cross-entropy of
the combination, whose minimum lets one head stay uniform while another does all the work):

    loss = mean_k CE(logits_k, y)

:func:`heads_cross_entropy` and :data:`HEADS_ACCURACY` (the accuracy of the combination) are
the usual cross-entropy and accuracy for (B, C) outputs, so the classifiers pass them for
every model.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnnkit.train.metrics import Metric, cross_entropy_loss, get_metric


def combine(logits: Tensor, dim: int = 1) -> Tensor:
    """The heads' normalised geometric mean, as log-probabilities: ``log_softmax(mean over
    dim of log_softmax(logits))``; (B, K, C) -> (B, C) with ``dim=1``."""
    return torch.log_softmax(torch.log_softmax(logits, dim=-1).mean(dim=dim), dim=-1)


def _stacked(pred: Tensor, target: Tensor) -> bool:
    """Whether ``pred`` holds K heads' logits (B, K, C) for class indices ``target`` (B,)."""
    return pred.dim() == 3 and target.dim() == 1


def heads_cross_entropy(pred: Tensor, target: Tensor) -> Tensor:
    """The mean of the heads' cross-entropies for (B, K, C) logits and (B,) classes; the
    cross-entropy otherwise (:func:`~rnnkit.train.metrics.cross_entropy_loss`)."""
    if _stacked(pred, target):
        target = target[:, None].expand(-1, pred.shape[1])  # (B, K), each head's classes
    return cross_entropy_loss(pred, target)


_ACCURACY = get_metric("accuracy")


def _heads_accuracy(pred: Tensor, target: Tensor) -> tuple[Tensor, Tensor | int]:
    return _ACCURACY.stat(combine(pred) if _stacked(pred, target) else pred, target)


#: The accuracy of the heads' combination for (B, K, C) logits, of argmax otherwise.
HEADS_ACCURACY = Metric("accuracy", _heads_accuracy)

__all__ = ["HEADS_ACCURACY", "combine", "heads_cross_entropy"]
