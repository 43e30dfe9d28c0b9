r"""Several softmax heads read as one classifier: their combinations, loss and accuracy.

K member networks (:class:`~rnnkit.tasks.classify.model.EnsembleNet`) predict with the
normalised geometric mean of their probabilities, :func:`combine`::

    log p = log_softmax(mean_k log_softmax(logits_k))          logits (B, K, C) -> (B, C)

A GRU-FCN with branch heads (:class:`~rnnkit.tasks.classify.model.RNNClassifier`'s
``branch_heads``) returns in training the logits of three heads (B, 3, C): the joint head on
both branches' vectors (index 0), the head on the recurrent branch (1) and the head on the FCN
branch (2). Each head is trained on its own: the loss is the mean of the heads' cross-entropies
(not the cross-entropy of a combination, whose minimum lets one head stay uniform while another
does all the work)::

    loss = mean_k CE(logits_k, y)

and the network predicts with the mixture (the arithmetic mean of the probabilities,
:func:`mixture`) of the two branch heads alone, :func:`heads_log_proba`::

    log p = log((softmax(logits_1) + softmax(logits_2)) / 2)

The joint head is trained (its cross-entropy shapes both branches) but does not vote. Measured
(2026-12-05, scratch, the default GRU-FCN, the three heads' test probabilities of the same
trained networks combined offline; the development sets cut to their first two training series
a class, seeds 0-5, and the whole sets, seeds 0-3):

============================================  ===============================  ======
prediction                                    cuts: ACSF1 / OSULeaf / Pickup   whole
============================================  ===============================  ======
geometric mean of the three heads (before)    0.650 / 0.610 / 0.577  (0.612)   0.900
mixture of the three heads                    0.642 / 0.631 / 0.643  (0.639)   0.903
geometric mean of the two branch heads        0.652 / 0.674 / 0.547  (0.624)   0.902
mixture of the two branch heads (default)     0.642 / 0.713 / 0.633  (0.663)   0.911
the same, networks trained without the joint  0.640 / 0.705 / 0.577  (0.641)   0.903
the FCN head alone                            0.602 / 0.807 / 0.347  (0.585)   0.852
the recurrent head alone                      0.603 / 0.390 / 0.667  (0.553)   0.860
============================================  ===============================  ======

(the whole sets under the default: 0.920 / 0.934 / 0.880). On short series, the development sets
average-pooled to 85-91 steps (factors 16, 5 and 4; seeds 0-3, whole training sets), the default
scored 0.761 against 0.753 for the geometric mean of the three heads. Each branch's head alone
wins on one set and fails on another: on OSULeaf's cut the recurrent head scores 0.390 and the
FCN head 0.807, on PickupGestureWiimoteZ's 0.667 and 0.347. Under a geometric mean a head that
gives a class almost no probability vetoes it; under the mixture each head's probability counts
for half whatever the other says. On the README's held-out sets (never tuned on; seeds 0-3) the
mixture gave 0.851 against 0.854, within the seeds' noise.

:func:`heads_cross_entropy` and :data:`HEADS_ACCURACY` (the accuracy of
:func:`heads_log_proba`) are the usual cross-entropy and accuracy for (B, C) outputs, so the
classifiers pass them for every model.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from rnnkit.train.metrics import Metric, cross_entropy_loss, get_metric


def combine(logits: Tensor, dim: int = 1) -> Tensor:
    """The heads' normalised geometric mean, as log-probabilities: ``log_softmax(mean over
    dim of log_softmax(logits))``; (B, K, C) -> (B, C) with ``dim=1``."""
    return torch.log_softmax(torch.log_softmax(logits, dim=-1).mean(dim=dim), dim=-1)


def mixture(logits: Tensor, dim: int = 1) -> Tensor:
    """The heads' mixture, as log-probabilities: ``log(mean over dim of softmax(logits))``,
    computed as ``logsumexp(log_softmax(logits)) - log K``; (B, K, C) -> (B, C) with
    ``dim=1``."""
    log_p = torch.log_softmax(logits, dim=-1)
    return torch.logsumexp(log_p, dim=dim) - math.log(logits.shape[dim])


def heads_log_proba(logits: Tensor) -> Tensor:
    """What a GRU-FCN with branch heads predicts from its heads' logits (B, 3, C): the
    :func:`mixture` of the branch heads (1 and 2), as log-probabilities (B, C); the joint
    head (0) does not vote (see the module doc)."""
    return mixture(logits[:, 1:])


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
    return _ACCURACY.stat(heads_log_proba(pred) if _stacked(pred, target) else pred, target)


#: The accuracy of :func:`heads_log_proba` for (B, 3, C) logits, of argmax otherwise.
HEADS_ACCURACY = Metric("accuracy", _heads_accuracy)

__all__ = ["HEADS_ACCURACY", "combine", "heads_cross_entropy", "heads_log_proba", "mixture"]
