r"""The training budget of a classifier, in optimiser steps rather than epochs.

``batch_size="auto"`` and ``epochs="auto"`` are resolved at ``fit`` from N, the number of
training sequences (after the validation part is held out)::

    batch  = clip(round(N / 10), 8, 64)                 # at most N
    steps  = ceil(N / batch)                            # optimiser steps per epoch
    epochs = clip(ceil(MIN_STEPS / steps), MIN_EPOCHS, MAX_EPOCHS)

so 45 training series get batches of 8 and 167 epochs (1,002 steps) where a fixed 12 epochs
at batch 128 gave 12 steps, and 54,000 MNIST images get batches of 64 and MIN_EPOCHS epochs.
Early stopping (``patience``) may end training sooner.

``patience="auto"``: a :class:`~rnnkit.tasks.classify.SequenceClassifier` runs its whole
budget and keeps the final weights (the cosine schedule ends the training); a
:class:`~rnnkit.tasks.classify.TextClassifier` stops early on sets of at least
:data:`SMALL` training texts (5 epochs without a better validation loss, the best weights
restored) and runs the whole budget on smaller ones. Measured: on the development sets
ACSF1 and OSULeaf (10 and 20 validation series) the validation loss was at its lowest
after a few epochs, long before the test accuracy: stopping after 25 epochs without
improvement gave 0.41 and 0.70 test accuracy against 0.73 and 0.80 for the full budget;
MNIST rows (LSTM, 6,000 validation images): 98.7 % stopping after 5 epochs (epoch 12 of
20, the weights of epoch 7 restored) against 99.1 % for the 20 epochs; the generated
sentiment set: early stopping at epoch 12 of 23, 0.945 test accuracy.

``ensemble="auto"``: a conv-* or *-fcn model trains k = floor(36 s / t_1) networks (at
least 1, at most 3; :data:`AUTO_ENSEMBLE_SECONDS`, :data:`MAX_AUTO_ENSEMBLE`), where t_1 is
the predicted time of one fit from its optimiser steps and the sequence steps it reads
(the sum of the training lengths times the epochs)::

    t_1 = 6 ms * steps + 3.3 us * sequence_steps

(the default GRU-FCN on the 2-core VM of the benchmarks, torch on two threads, fitted to the
wall times of the six sets of ``benchmarks/classify_accuracy.py``: 6.2 s for UnitTest's
1,002 steps over 0.16 M sequence steps, 12.3 s for Coffee's 1,000 over 2.0 M; it
overestimates long series, whose pooled branches cost less a step: 54 s predicted for
ACSF1's 14.6 M, 37-48 s measured). The prediction never looks at a clock, so the same data
train the same members on every machine. Small sets, where a fit is quick and a seed's
luck moves the accuracy most, get three members; ACSF1, OSULeaf and PigCVP one. Measured
on PickupGestureWiimoteZ (one torch thread, seeds 0 and 1, 2026-12-04): three members
0.760 / 0.720 against 0.695 for one (mean over seeds 0-3). Plain recurrent models (and texts)
keep one network: the prediction holds for the convolutional models only.

The learning rate follows :class:`WarmupCosine` per epoch: a linear warm-up over the first
``warmup`` epochs (5 % of them, at least one) from ``lr / 10``, then a cosine decay to
``lr / 100`` at the last epoch::

    f(e) = 0.1 + 0.9 * e / warmup                             e < warmup
    f(e) = 0.01 + 0.99 * (1 + cos(pi * (e - warmup) / (E - warmup))) / 2    otherwise
    lr_e = lr * f(e)
"""

from __future__ import annotations

import math

#: Fewest optimiser steps an "auto" budget gives (tiny sets get more epochs).
MIN_STEPS = 1000
#: Fewest and most epochs of an "auto" budget.
MIN_EPOCHS = 20
MAX_EPOCHS = 500
#: Fewest training sequences on which patience="auto" stops early.
SMALL = 1000
#: The patience of "auto" on sets of at least SMALL sequences.
AUTO_PATIENCE = 5
#: The fraction ``validation="auto"`` holds out when early stopping is on.
AUTO_VALIDATION = 0.1
#: mixup's alpha under ``mixup="auto"`` on sets below SMALL (:mod:`rnnkit.train.mixup`).
AUTO_MIXUP = 0.2
#: Batch size bounds of an "auto" batch (N / 10 in between).
MIN_BATCH, MAX_BATCH = 8, 64
#: Predicted seconds of one optimiser step and of one sequence step read (see the module doc).
STEP_SECONDS, SEQUENCE_STEP_SECONDS = 6e-3, 3.3e-6
#: Predicted seconds that the members of ``ensemble="auto"`` may take together.
AUTO_ENSEMBLE_SECONDS = 36.0
#: Most members of ``ensemble="auto"``.
MAX_AUTO_ENSEMBLE = 3


def auto_batch_size(n: int) -> int:
    """``clip(round(n / 10), 8, 64)``, at most ``n`` (see the module doc)."""
    return max(1, min(n, MAX_BATCH, max(MIN_BATCH, round(n / 10))))


def auto_epochs(n: int, batch_size: int) -> int:
    """Epochs giving at least :data:`MIN_STEPS` steps, within [MIN_EPOCHS, MAX_EPOCHS]."""
    steps = math.ceil(n / batch_size)
    return min(MAX_EPOCHS, max(MIN_EPOCHS, math.ceil(MIN_STEPS / steps)))


def predicted_seconds(steps: int, sequence_steps: int) -> float:
    """``t_1`` of the module doc: a default conv model's fit of ``steps`` optimiser steps
    reading ``sequence_steps`` sequence steps (lengths x epochs)."""
    return STEP_SECONDS * steps + SEQUENCE_STEP_SECONDS * sequence_steps


def auto_ensemble(convolutional: bool, steps: int, sequence_steps: int) -> int:
    """Members of ``ensemble="auto"``: ``clip(floor(AUTO_ENSEMBLE_SECONDS / t_1), 1,
    MAX_AUTO_ENSEMBLE)`` for a ``convolutional`` (conv-* / *-fcn) model, else 1."""
    if not convolutional:
        return 1
    fits = int(AUTO_ENSEMBLE_SECONDS // predicted_seconds(steps, sequence_steps))
    return max(1, min(MAX_AUTO_ENSEMBLE, fits))


def auto_validation(n: int, patience: int | None) -> float:
    """The part of ``n`` sequences held out by ``validation="auto"``:
    :data:`AUTO_VALIDATION` when early stopping will use it (``patience`` not None) or on
    sets of at least :data:`SMALL` (a validation curve that costs little), else none: a
    small set trains on every sequence."""
    return AUTO_VALIDATION if patience is not None or n >= SMALL else 0.0


def auto_patience(n: int, stop_early: bool = True) -> int | None:
    """None (no early stopping) without ``stop_early`` or below :data:`SMALL` training
    sequences, else 5."""
    return None if not stop_early or n < SMALL else AUTO_PATIENCE


def auto_mixup(n: int) -> float:
    """:data:`AUTO_MIXUP` below :data:`SMALL` training sequences, else 0 (off): a small set
    trains its whole budget without early stopping and fits its training series exactly
    long before the end (PigCVP: training accuracy 1.0 by epoch 30 of 91), which mixup's
    mixed pairs hold back; a large set stops early on its validation part instead."""
    return AUTO_MIXUP if n < SMALL else 0.0


class WarmupCosine:
    """``f(epoch)`` for ``torch.optim.lr_scheduler.LambdaLR``; see the module doc.

    A callable object (not a closure) so the scheduler's state, which holds its
    ``__dict__``, goes into a training checkpoint as plain JSON.
    """

    def __init__(self, epochs: int, warmup: int | None = None) -> None:
        self.epochs = int(epochs)
        self.warmup = max(1, round(0.05 * epochs)) if warmup is None else int(warmup)

    def __call__(self, epoch: int) -> float:
        if epoch < self.warmup:
            return 0.1 + 0.9 * epoch / self.warmup
        span = max(1, self.epochs - self.warmup)
        return 0.01 + 0.99 * (1 + math.cos(math.pi * min(epoch - self.warmup, span) / span)) / 2


def scheduler_factory(kind: str, epochs: int):
    """``f(optimizer) -> scheduler`` for ``lr_schedule`` = "cosine", "plateau" or "none"."""
    if kind == "none":
        return None
    from torch.optim.lr_scheduler import LambdaLR, ReduceLROnPlateau

    if kind == "plateau":
        return lambda opt: ReduceLROnPlateau(opt, factor=0.5, patience=max(2, epochs // 20))
    return lambda opt: LambdaLR(opt, WarmupCosine(epochs))


__all__ = ["AUTO_ENSEMBLE_SECONDS", "AUTO_MIXUP", "AUTO_VALIDATION", "MAX_AUTO_ENSEMBLE",
           "MAX_EPOCHS", "MIN_EPOCHS", "MIN_STEPS", "SMALL", "WarmupCosine", "auto_batch_size",
           "auto_ensemble", "auto_epochs", "auto_mixup", "auto_patience", "auto_validation",
           "predicted_seconds", "scheduler_factory"]
