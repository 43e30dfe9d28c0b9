"""Estimators for many-to-one classification: numeric sequences and text.

>>> clf = SequenceClassifier().fit(X_train, y_train)   # the defaults suit any size of data
>>> clf.predict(X_test)            # labels as given to fit (classes_[argmax])
>>> clf.score(X_test, y_test)      # accuracy
>>> clf.evaluate(X_test, y_test)   # {"accuracy", "macro_f1", "confusion_matrix", ...}

``X`` is an array (N, T, D) / (N, T) of equal-length sequences (Keras' layout; aeon's and
sktime's (n_cases, n_channels, n_timepoints) is ``X.transpose(0, 2, 1)``, and one channel
(N, 1, T) is refused with that hint; any numeric dtype: raw uint8 images too), or a list of
(T_i, D) arrays of different lengths (padded per batch, batches bucketed by length, the
model reads ``lengths`` so padding never reaches the state). ``normalize`` sets the
preprocessing that the saved model carries:

- ``"auto"`` (default): the members of an ensemble alternate: members 0, 2, ... read the series
  as under "series", members 1, 3, ... as under "series+stats" (each network trained and saved
  as one model, its inputs carrying the 3D channels of "series+stats" and the even members
  reading the first D). Where a series' amplitude tells the classes apart, the members that read
  it are sure of the class and outweigh the others in the ensemble's geometric mean; where it
  misleads (few training series a class), they are half the vote. Measured (2026-12-05, scratch,
  one thread, three members, seeds 0-3): PickupGestureWiimoteZ 0.810 against 0.700 for three
  "series" members and 0.825 for three "series+stats" ones; UnitTest (seeds 0 and 1) 0.909, as
  three "series" members (three "series+stats": 0.864). A conv-* or *-fcn network alone reads the
  series as under "series+stats", each series' statistics hidden from it (set to 0) in a
  training batch with probability 3/4, so that it cannot lean on them alone; a plain recurrent
  one as under "series". Where the statistics vary without telling the training classes apart
  (their leave-one-out 1-NN accuracy below 1.5 times chance), every network reads "series"
  (figures in :mod:`rnnkit.tasks.classify.series_stats`);
- ``"series"``: each sequence and feature z-normalised over its own steps (the usual UCR
  preprocessing): x' = (x - mean_t x) / std_t x;
- ``"series+stats"``: the same, and 2D constant channels with each sequence's own level and
  log scale, standardised over the training set, so that what the z-normalisation removed
  still reaches the network (:mod:`rnnkit.tasks.classify.series_stats`);
- ``"feature"``: each feature standardised with the training set's mean and standard
  deviation over all steps: x' = (x - mean_d) / std_d (images such as MNIST rows, where a
  row's level is information);
- ``"none"``: values as given (cast to float32).

``differences=True`` (off by default) appends each feature's first difference as D more
channels before the normalisation, ``x'_t = [x_t, x_t - x_{t-1}]`` (T, 2D), the first
step's difference missing (NaN, so 0 once scaled): the representation that MultiRocket (Tan
et al., 2022) adds to MiniRocket's, normalised over its own steps like the series. It helped
two sets and hurt six, PigCVP most, so it is not the default. Measured
with it on (default GRU-FCN otherwise, seeds 0 and 1, two threads, 2026-12-05 04:37-04:49
UTC, ``benchmarks/classify_accuracy.py --no-text --threads 2 --seeds 0 1 --extra DIR``; the
default in brackets, from the runs of 02:39-03:37 UTC and, for Covid3Month_disc and Trace, a
run at 04:17): OSULeaf 0.990 (0.952), UnitTest 0.955 (0.909), ACSF1 0.900 (0.915),
PickupGestureWiimoteZ 0.760 (0.840), Coffee 0.982 (1.000), PLAID 0.833 (0.866),
Covid3Month_disc 0.656 (0.672), Trace 1.000 (1.000) and PigCVP, two training series a
class, 0.327 (0.724).

Missing values (NaN) become 0 after scaling. Labels are any hashable values (ints, strings);
``classes_`` holds them sorted, and ``predict`` returns them.

Training (:meth:`rnnkit.tasks.base.Estimator._train`): a stratified ``validation`` part of the
training data is held out (fraction or count; 0: none; "auto", the default: 10 % when early
stopping is on or on 1,000 sequences or more, else none, so a small set trains on every sequence),
early stopping on its loss after ``patience`` epochs without improvement restores the best weights
(``patience="auto"``: none for numeric sequences, whose cosine schedule ends the training; 5
epochs for texts on sets of 1,000 or more; measurements in :mod:`rnnkit.tasks.classify.budget`);
Adam at ``lr`` (the softmax layers of a conv-* or *-fcn network at 5 ``lr``,
:data:`~rnnkit.tasks.classify.budget.HEAD_LR`), gradient norm clipped at ``clip_grad_norm``,
autocast per ``precision`` ("fp32", "bf16", "fp16"). ``epochs="auto"`` and ``batch_size="auto"``
(the defaults) set a budget in optimiser steps from the number of training sequences, and for a
conv-* or *-fcn model with few training series a class more epochs, until each class's series are
read 500 times or the fit's predicted time reaches 40 s (:mod:`rnnkit.tasks.classify.budget`); the
values used are in ``resolved_``. ``lr_schedule``: "cosine" (warm-up then cosine decay, default),
"plateau" (halve on a validation-loss plateau) or "none". ``mixup`` (numeric sequences): the alpha
of mixup on the training batches (:mod:`rnnkit.train.mixup`; 0, the default: off; "auto": 0.2
below 1,000 training sequences, else off; its measured gain is within the seeds' noise). ``crop``
(numeric sequences, models that pool over time): each training sequence is read through a random
window of that share of its steps, a new one every batch, and evaluation reads whole sequences
(window slicing, :mod:`rnnkit.tasks.classify.augment`; 1: whole sequences; "auto", the default:
whole sequences, except for a conv-* or *-fcn model that pools over time whose few-shot epochs the
predicted time cuts short: windows of r = max(0.5, epochs / wanted) of each series, and the epochs
counted again for the windows' work, :func:`~rnnkit.tasks.classify.budget.few_shot_window`;
``crop_`` holds the share used). ``ensemble=k`` trains k networks (seeds ``seed`` .. ``seed + k -
1``) and combines their probabilities by their normalised geometric mean (one saved model;
:class:`~rnnkit.tasks.classify.model.EnsembleNet`); ``ensemble="auto"`` (the default) trains up to
3 for a conv-* or *-fcn model on a set small enough for their predicted time to stay under 40 s
(:func:`~rnnkit.tasks.classify.budget.auto_ensemble`, from the network's FLOPs; no clock is read),
else 1.

After ``fit``, a training accuracy below ``1/C + 0.1`` (C classes) is a warning, logged and
kept in ``warnings_``: the model never left chance. So is an array X of shape (N, T, D) with
fewer steps than features, 1 < T < D: most likely aeon's / sktime's (n_cases, n_channels,
n_timepoints) read the wrong way round (40 recordings of 6 sensor channels and 100 steps,
(40, 6, 100) in that layout, are 6 steps of 100 features to an (N, T, D) reader); one step of
several features, T = 1, is refused.

Models (:mod:`rnnkit.tasks.classify.model`): the default ``"gru-fcn"`` (GRU-FCN, Karim et al.
2017) is the ``"conv-gru"`` network below beside a fully convolutional branch on the input
(three Conv1D -> norm -> ReLU blocks of ``fcn_channels``, 2 ``fcn_channels``, ``fcn_channels``
filters, kernels 8, 5, 3, max-pooled after the first block so that the other two read at most
256 steps, averaged over the valid steps), the two vectors concatenated before the softmax
layer, and a softmax layer on each branch's vector alone: in training each of the three layers
is scored by its own cross-entropy, so that each branch must classify on its own, and the two
branch layers predict by the mixture (mean) of their probabilities, the joint one trained but
not voting (:mod:`rnnkit.tasks.classify.heads`, with the measurements: on the development sets'
cuts to two training series a class 0.663 against 0.612 for the geometric mean of the three,
seeds 0-5). ``"conv-gru"`` reads the series through Conv1D + norm + ReLU + max-pool
blocks (``conv_channels`` channels; ``conv_norm="auto"``, in both branches: a batch norm over
batches drawn at random when every training series has the same length; otherwise ``"renorm"``,
the batch norm over the valid steps of batches bucketed by length (little padding), renormalised
(Ioffe 2017) so that a bucket's skewed statistics do not train the network for statistics that
evaluation never uses; ``conv_blocks="auto"``: enough halvings to bring the longest training
series to at most 64 steps) into a GRU whose outputs are max-pooled over time
(``pooling="auto"``: "last" for the plain recurrent models, "max" for conv-* and *-fcn models,
"attention" for the text biGRU; ``hidden_size="auto"``: 64 units for conv-* and *-fcn models,
128 for the others). Chosen on the development sets only (the FCN branch's pools after its first
block, 2026-12-05, were chosen for time, with the held-out sets' figures looked at:
:class:`~rnnkit.tasks.classify.frontend.FCNBranch`): what was tried, with figures, is in the
docstring of ``benchmarks/classify_accuracy.py``, which prints the figures beside 1-NN and
MiniRocket.

:class:`TextClassifier` tokenises (word or char level), builds a vocabulary (``max_size``,
``min_freq``, ``<pad>``/``<unk>``), truncates to ``maxlen`` (if set) and batches in
length-bucketed batches (``bucket=True``) or at a fixed length (``bucket=False``).
``level="subword"`` trains a byte-pair-encoding tokenizer (the optional ``tokenizers``
library) on the training texts instead. ``vectors=FILE`` starts the embedding from
pretrained word vectors in the GloVe / fastText text format (:mod:`rnnkit.data.embeddings`;
a local file, never downloaded).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rnnkit.data.batching import pad_sequences, padded_loader
from rnnkit.data.text import Vocabulary, tokenize
from rnnkit.errors import ConfigError, DataError
from rnnkit.tasks.base import (
    Estimator,
    check_choice,
    check_float,
    check_int,
    n_held_out,
)
from rnnkit.tasks.classify.budget import (
    adam_with_fast_heads,
    auto_batch_size,
    auto_ensemble,
    auto_epochs,
    auto_mixup,
    auto_patience,
    auto_validation,
    few_shot_epochs,
    few_shot_window,
    forward_flops,
    predicted_seconds,
    scheduler_factory,
    wanted_epochs,
)
from rnnkit.tasks.classify.frontend import NORMS, auto_blocks, auto_fcn_pool
from rnnkit.tasks.classify.heads import HEADS_ACCURACY, heads_cross_entropy
from rnnkit.tasks.classify.metrics import classification_report
from rnnkit.tasks.classify.model import (
    MODELS,
    EnsembleNet,
    RNNClassifier,
    has_fcn_branch,
    has_frontend,
)
from rnnkit.tasks.classify.pooling import POOLINGS
from rnnkit.tasks.classify.series_stats import (
    STATS_DROPOUT,
    fit_scaling,
    misleading,
    moments,
    series_stats,
    with_stats,
)
from rnnkit.tasks.classify.split import stratified_split
from rnnkit.train.mixup import check_alpha

log = logging.getLogger(__name__)

NORMALIZE = ("auto", "feature", "series", "series+stats", "none")
LR_SCHEDULES = ("cosine", "plateau", "none")
TEXT_LEVELS = ("word", "char", "subword")
#: hidden_size="auto" of SequenceClassifier: plain recurrent models, conv-* models.
AUTO_HIDDEN = (128, 64)
#: Most training sequences the chance check scores (a sample of larger sets).
CHANCE_SAMPLE = 5000


def _as_list(X) -> list[np.ndarray]:
    """Sequences as a list of (T_i, D) arrays (DataError naming the bad one)."""
    if isinstance(X, np.ndarray) and X.dtype != object:
        if X.ndim == 2:
            X = X[:, :, None]
        if X.ndim != 3:
            raise DataError(f"X must have shape (N, T) or (N, T, D), got {X.shape}")
        if X.shape[0] == 0 or X.shape[1] == 0:
            raise DataError(f"X must hold at least one sequence of one step, got {X.shape}")
        if X.shape[1] == 1 and X.shape[2] > 1:
            raise DataError(f"X of shape {X.shape} is read as (N, T, D): sequences of one step "
                            f"with {X.shape[2]} features each; for aeon's / sktime's layout "
                            f"(n_cases, n_channels, n_timepoints) pass X.transpose(0, 2, 1), "
                            f"or X[:, 0] for one channel")
        return list(X)
    out = []
    for i, x in enumerate(X):
        a = np.asarray(x)
        a = a[:, None] if a.ndim == 1 else a
        if a.ndim != 2 or len(a) == 0:
            raise DataError(f"X[{i}] must have shape (T, D) with T >= 1, got {a.shape}")
        out.append(a)
    if not out:
        raise DataError("X must hold at least one sequence, got none")
    return out


def _layout_warning(X, seqs: list[np.ndarray]) -> str | None:
    """A warning when every (T_i, D) sequence of ``seqs`` (``X`` as :func:`_as_list` read
    it) has fewer steps than features, 1 < T_i < D: aeon's / sktime's layout (n_cases,
    n_channels, n_timepoints), or its list of (n_channels, n_timepoints_i) arrays, read the
    other way round; else None. One step (T = 1) is refused by :func:`_as_list` instead."""
    D = seqs[0].shape[1]
    if not all(1 < len(s) < D for s in seqs):
        return None
    if isinstance(X, np.ndarray) and X.dtype != object:
        return (f"X of shape {X.shape} is read as (N, T, D): {X.shape[1]} steps of {D} "
                f"features each; if it is aeon's / sktime's layout (n_cases, n_channels, "
                f"n_timepoints), pass X.transpose(0, 2, 1)")
    return (f"every sequence of X has fewer steps than its {D} features (X[0] is read as "
            f"{seqs[0].shape[0]} steps); if they are (n_channels, n_timepoints) arrays, pass "
            f"[x.T for x in X]")


def _labels(y) -> np.ndarray:
    """Labels as an array; empty or missing ones are a DataError naming the sample."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise DataError(f"y must be a 1-D array of labels, got shape {y.shape}")
    for i, v in enumerate(y.tolist()):
        if v is None or (isinstance(v, str) and not v.strip()) or (
                isinstance(v, float) and not np.isfinite(v)):
            raise DataError(f"y[{i}] is a missing or empty label ({v!r})")
    return y


class _Classifier(Estimator):
    """Shared fit / predict / score / evaluate over lists of sequences."""

    _int_inputs = False
    _estimator_type = "classifier"

    # -- options ------------------------------------------------------------------------------
    def _check_params(self) -> None:
        check_choice("model", self.model, MODELS)
        if not (self.hidden_size == "auto" and self.default("hidden_size") == "auto"):
            check_int("hidden_size", self.hidden_size)
        check_int("num_layers", self.num_layers)
        check_float("dropout", self.dropout, 0.0, 1.0, low_open=False)
        check_choice("pooling", self.pooling, ("auto", *POOLINGS))
        check_choice("lr_schedule", self.lr_schedule, LR_SCHEDULES)
        if self.ensemble != "auto":
            check_int("ensemble", self.ensemble)
        self._check_training()

    def _pooling(self) -> str:
        """``pooling`` with "auto" resolved: "last" for a plain recurrent model."""
        if self.pooling != "auto":
            return self.pooling
        plain = not has_frontend(self.model) and self.model not in self._pooled_models
        return "last" if plain else self._auto_pooling

    #: Models that pool over time under pooling="auto" (beside the conv-* ones), and how.
    _pooled_models: tuple[str, ...] = ()
    _auto_pooling = "max"
    #: Whether patience="auto" may stop early (see :mod:`rnnkit.tasks.classify.budget`).
    _auto_stop = False

    # -- labels -------------------------------------------------------------------------------
    def _encode_labels(self, y) -> np.ndarray:
        y = _labels(y)
        index = {v: i for i, v in enumerate(self.classes_.tolist())}
        try:
            return np.asarray([index[v] for v in y.tolist()], dtype=np.int64)
        except KeyError as exc:
            raise DataError(f"label {exc.args[0]!r} was not seen in training; classes are "
                            f"{self.classes_.tolist()[:10]}") from exc

    # -- inputs -------------------------------------------------------------------------------
    def _prepare(self, X, fit: bool = False) -> list[np.ndarray]:
        raise NotImplementedError

    def _loader(self, seqs: list[np.ndarray], y: np.ndarray | None, shuffle: bool,
                seed: int = 0):
        lengths = {len(s) for s in seqs}
        if len(lengths) == 1 and not self._int_inputs:
            from rnnkit.train import ArrayBatches

            x = torch.from_numpy(np.stack(seqs))  # (N, T, D)
            gen = torch.Generator().manual_seed(seed)
            return ArrayBatches(x, None if y is None else torch.from_numpy(y),
                                self.batch_size_, shuffle=shuffle, generator=gen)
        bucket = shuffle and self._bucket()
        return padded_loader(seqs, y, batch_size=self.batch_size_, shuffle=shuffle,
                             bucket=bucket, seed=seed, maxlen=getattr(self, "maxlen", None))

    def _bucket(self) -> bool:
        """Whether shuffled training batches group sequences of similar lengths."""
        return getattr(self, "bucket", True)

    def _new_model(self, seqs: list[np.ndarray], member: int = 0) -> RNNClassifier:
        """A network for the prepared ``seqs``: ensemble member ``member`` (0 alone)."""
        raise NotImplementedError

    def _choose_inputs(self, seqs: list[np.ndarray], train: np.ndarray, ids: np.ndarray
                       ) -> list[np.ndarray]:
        """The prepared inputs once the training part ``train`` (indices) and the class
        ``ids`` are known, before the budget counts a network's work (as they are, here)."""
        return seqs

    def _resolved_inputs(self, members: list[RNNClassifier]) -> dict[str, Any]:
        """What ``resolved_`` records of the members' inputs (nothing, here)."""
        return {}

    # -- fit / predict ------------------------------------------------------------------------
    def fit(self, X, y, validation_data: tuple | None = None, *, checkpoint=None,
            checkpoint_every: int = 1, resume: bool = False) -> _Classifier:
        """Train on sequences ``X`` and labels ``y``; returns ``self``.

        ``validation_data=(X_val, y_val)`` replaces the split of ``validation``.
        ``checkpoint``, ``checkpoint_every``, ``resume``: a resumable fit
        (:mod:`rnnkit.tasks.base`)."""
        self._check_params()
        y = _labels(y)
        self.classes_, ids = np.unique(y, return_inverse=True)
        ids = ids.astype(np.int64)
        if len(self.classes_) < 2:
            raise DataError(f"y must hold at least 2 classes, got {self.classes_.tolist()}")
        self.warnings_: list[str] = []
        seqs = self._prepare(X, fit=True)
        if len(seqs) != len(ids):
            raise DataError(f"X and y must have the same length, got {len(seqs)} and "
                            f"{len(ids)}")
        self.patience_ = (auto_patience(len(ids), self._auto_stop) if self.patience == "auto"
                          else self.patience)
        self.validation_ = (auto_validation(len(ids), self.patience_)
                            if self.validation == "auto" else self.validation)
        n_val = 0 if validation_data is not None else n_held_out(self.validation_, len(ids))
        tr, va = stratified_split(ids, n_val, self.seed)
        self.n_train_, self.n_validation_ = len(tr), len(va)
        self.batch_size_ = (auto_batch_size(len(tr)) if self.batch_size == "auto"
                            else self.batch_size)
        self.epochs_ = (auto_epochs(len(tr), self.batch_size_) if self.epochs == "auto"
                        else self.epochs)
        mixup = getattr(self, "mixup", 0)
        self.mixup_ = auto_mixup(len(tr)) if mixup == "auto" else check_alpha(mixup) or 0.0
        if n_val and len(va) == 0 and self.patience_ is not None:
            log.warning("validation=%r holds out no sample of %d: training without early "
                        "stopping", self.validation, len(ids))
        seqs = self._choose_inputs(seqs, tr, ids)
        train_seqs = [seqs[i] for i in tr]
        self._auto_budget(train_seqs)
        train = self._loader(train_seqs, ids[tr], shuffle=True, seed=self.seed)
        val = (self._loader([seqs[i] for i in va], ids[va], shuffle=False) if len(va)
               else None)
        if validation_data is not None:
            Xv, yv = validation_data
            yv = self._encode_labels(yv)
            val = self._loader(self._prepare(Xv), yv, shuffle=False)
            self.n_validation_ = len(yv)
        members, histories = [], []
        for k in range(self.ensemble_):
            torch.manual_seed(self.seed + k)
            net = self._new_model(train_seqs, k)
            if k:  # each member shuffles its own way
                train = self._loader(train_seqs, ids[tr], shuffle=True, seed=self.seed + k)
            ckpt = checkpoint
            if checkpoint is not None and self.ensemble_ > 1:
                ckpt = Path(checkpoint) / f"member-{k}"
            desc = (self.model if self.ensemble_ == 1
                    else f"{self.model} {k + 1}/{self.ensemble_}")
            histories.append(self._train(
                net, train, val, loss=heads_cross_entropy, metrics=(HEADS_ACCURACY,),
                epochs=self.epochs_, desc=desc, checkpoint=ckpt,
                checkpoint_every=checkpoint_every, resume=resume,
                optimizer=(adam_with_fast_heads(net.head_parameters())
                           if has_frontend(self.model) else "adam"),
                lr_schedule=scheduler_factory(self.lr_schedule, self.epochs_)))
            members.append(net)
        self.model_ = members[0] if self.ensemble_ == 1 else EnsembleNet(members).eval()
        self.member_histories_ = histories
        self.history_ = histories[0]
        cfg = members[0].get_config()
        self.resolved_ = {"epochs": self.epochs_, "batch_size": self.batch_size_,
                          "patience": self.patience_, "validation": self.validation_,
                          "mixup": self.mixup_, "ensemble": self.ensemble_,
                          "hidden_size": cfg["hidden_size"],
                          "pooling": cfg["pooling"], "conv_blocks": cfg["conv_blocks"],
                          "conv_norm": cfg["conv_norm"] if cfg["conv_blocks"] else None,
                          "epochs_run": [len(h.get("loss", [])) for h in histories]}
        if "fcn_pool" in cfg:
            self.resolved_["fcn_pool"] = cfg["fcn_pool"]
        self.resolved_.update(self._resolved_inputs(members))
        self._check_chance(train_seqs, ids[tr])
        return self

    def _auto_budget(self, train_seqs: list[np.ndarray]) -> None:
        """Resolve ``ensemble_`` and, for a conv-* or *-fcn model, raise an "auto"
        ``epochs_`` for few training series a class, both from the predicted time of a fit
        (:func:`~rnnkit.tasks.classify.budget.few_shot_epochs`,
        :func:`~rnnkit.tasks.classify.budget.auto_ensemble`); where that time binds the
        epochs, :meth:`_window` may shorten the training windows, and the epochs are counted
        again for the windows' work."""
        self.ensemble_ = 1 if self.ensemble == "auto" else self.ensemble
        if not has_frontend(self.model) or "auto" not in (self.epochs, self.ensemble):
            return  # the prediction holds for the convolutional models only
        n, C = len(train_seqs), len(self.classes_)
        per_epoch = -(-n // self.batch_size_)  # optimiser steps
        net = self._new_model(train_seqs)
        flops = forward_flops(net, train_seqs) * n  # an epoch's forward work
        if self.epochs == "auto":
            epochs = self.epochs_

            def raised(flops: float) -> int:  # the few-shot epochs an epoch's work allows
                seconds = predicted_seconds(epochs * per_epoch, flops * epochs)
                return few_shot_epochs(epochs, n, C, seconds)

            self.epochs_ = raised(flops)
            share = self._window(self.epochs_, wanted_epochs(n, C))
            if share < 1:  # the same count for windows of the series
                windows = [s[:math.ceil(share * len(s))] for s in train_seqs]
                flops = forward_flops(net, windows) * n
                self.epochs_ = raised(flops)
        if self.ensemble == "auto":
            self.ensemble_ = auto_ensemble(self.epochs_ * per_epoch, flops * self.epochs_)

    def _window(self, epochs: int, wanted: int) -> float:
        """The share of each training sequence that a batch reads where the predicted time
        allows ``epochs`` of the ``wanted`` ones: 1 (whole sequences), here."""
        return 1.0

    def _check_chance(self, seqs: list[np.ndarray], ids: np.ndarray) -> None:
        """Warn (log + ``warnings_``) when the training accuracy stayed near chance."""
        if len(seqs) > CHANCE_SAMPLE:
            pick = np.random.default_rng(self.seed).choice(len(seqs), CHANCE_SAMPLE,
                                                            replace=False)
            seqs, ids = [seqs[i] for i in pick], ids[pick]
        acc = float(np.mean(self._proba(seqs).argmax(1) == ids))
        self.train_accuracy_ = acc
        C = len(self.classes_)
        if acc < 1.0 / C + 0.1:
            msg = (f"training accuracy {acc:.3f} stayed near chance (1/{C} = {1 / C:.3f}): "
                   f"the model did not learn; try more epochs, another lr, another "
                   f"normalize or model")
            self._warn(msg)

    def _warn(self, msg: str) -> None:
        """Log ``msg`` as a warning and keep it in ``warnings_`` (metrics.json, the command's
        stderr)."""
        log.warning("%s: %s", type(self).__name__, msg)
        self.warnings_.append(msg)

    def predict_proba(self, X, batch_size: int = 512) -> np.ndarray:
        """(N, C) class probabilities, columns in ``classes_`` order."""
        self._check_fitted()
        return self._proba(self._prepare(X), batch_size)

    @torch.no_grad()
    def _proba(self, seqs: list[np.ndarray], batch_size: int = 512) -> np.ndarray:
        self.model_.eval()
        dev = next(self.model_.parameters()).device
        out = []
        for s in range(0, len(seqs), batch_size):
            chunk = seqs[s:s + batch_size]
            x, n = pad_sequences(chunk)
            xt = torch.from_numpy(x).to(dev)
            lengths = None if (n == x.shape[1]).all() else torch.from_numpy(n)
            out.append(torch.softmax(self.model_(xt, lengths=lengths), -1).cpu().numpy())
        return np.concatenate(out)

    def predict(self, X) -> np.ndarray:
        """(N,) predicted labels (values of ``classes_``)."""
        proba = self.predict_proba(X)  # (N, C)
        return self.classes_[proba.argmax(1)]

    def score(self, X, y) -> float:
        """Accuracy of :meth:`predict` on ``(X, y)``."""
        proba = self.predict_proba(X)  # (N, C)
        return float(np.mean(self._encode_labels(y) == proba.argmax(1)))

    def evaluate(self, X, y) -> dict[str, Any]:
        """Accuracy, macro-F1, confusion matrix, per-class F1 on ``(X, y)``."""
        pred = self.predict_proba(X).argmax(1)  # (N,) class ids
        return classification_report(self._encode_labels(y), pred, len(self.classes_))

    # -- persistence --------------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        return {"classes": self.classes_.tolist(), "resolved": getattr(self, "resolved_", {}),
                "warnings": getattr(self, "warnings_", [])}

    def _set_state(self, state: dict[str, Any]) -> None:
        classes = state["classes"]
        if not isinstance(classes, list) or len(classes) < 2:
            raise ValueError(f"state.classes must be a list of at least 2 labels, got "
                             f"{classes!r:.80}")
        self.classes_ = np.asarray(classes)
        self.resolved_ = dict(state.get("resolved") or {})
        self.warnings_ = list(state.get("warnings") or [])


class SequenceClassifier(_Classifier):
    """Numeric sequences (N, T, D) or a list of (T_i, D) -> label. See the module doc."""

    task = "sequence-classifier"

    def __init__(self, model: str = "gru-fcn", hidden_size: int | str = "auto",
                 num_layers: int = 1,
                 dropout: float = 0.0, pooling: str = "auto", conv_blocks: int | str = "auto",
                 conv_channels: int = 32, conv_norm: str = "auto", fcn_channels: int = 64,
                 normalize: str = "auto", differences: bool = False,
                 epochs: int | str = "auto", batch_size: int | str = "auto", lr: float = 2e-3,
                 lr_schedule: str = "cosine", clip_grad_norm: float | None = 1.0,
                 ensemble: int | str = "auto", validation: float | int | str = "auto",
                 patience: int | str | None = "auto", mixup: float | str = 0.0,
                 crop: float | str = "auto", seed: int = 0, device: str = "cpu",
                 verbose: int | str = "auto", precision: str = "fp32"):
        self.model, self.hidden_size, self.num_layers = model, hidden_size, num_layers
        self.dropout, self.pooling, self.normalize = dropout, pooling, normalize
        self.differences, self.mixup, self.crop = differences, mixup, crop
        self.conv_blocks, self.conv_channels = conv_blocks, conv_channels
        self.conv_norm, self.fcn_channels = conv_norm, fcn_channels
        self.epochs, self.batch_size, self.lr = epochs, batch_size, lr
        self.lr_schedule, self.ensemble = lr_schedule, ensemble
        self.clip_grad_norm, self.validation, self.patience = clip_grad_norm, validation, patience
        self.seed, self.device, self.verbose = seed, device, verbose
        self.precision = precision

    def _check_params(self) -> None:
        super()._check_params()
        check_choice("normalize", self.normalize, NORMALIZE)
        check_choice("differences", self.differences, (True, False))
        if self.mixup != "auto":
            try:
                check_alpha(self.mixup)
            except ValueError as e:
                raise ConfigError(f"{e} or 'auto'") from None
        if self.conv_blocks != "auto":
            check_int("conv_blocks", self.conv_blocks)
        check_int("conv_channels", self.conv_channels)
        check_choice("conv_norm", self.conv_norm, ("auto", *NORMS))
        check_int("fcn_channels", self.fcn_channels)
        if self.crop != "auto":
            check_float("crop", self.crop, 0.0, 1.0, high_open=False)
        if self.crop != "auto" and self.crop < 1 and self._pooling() == "last":
            raise ConfigError(f"crop={self.crop!r} is for a model that pools over time; "
                              f"model {self.model!r} reads its last step (pooling "
                              f"'last'): use crop=1 or another pooling")

    def _prepare(self, X, fit: bool = False) -> list[np.ndarray]:
        seqs = _as_list(X)
        for i, s in enumerate(seqs):
            if not (np.issubdtype(s.dtype, np.number) or s.dtype == np.bool_):
                raise DataError(f"X[{i}] must hold numbers, got dtype {s.dtype} (for texts "
                                f"use TextClassifier / rnnkit classify --text)")
        seqs = [s.astype(np.float32) for s in seqs]
        for i, s in enumerate(seqs):
            if np.isinf(s).any():
                raise DataError(f"X[{i}] holds an infinite value (or one beyond float32)")
        if fit:
            if layout := _layout_warning(X, seqs):
                self._warn(layout)
            self.n_features_ = seqs[0].shape[1]
            self.differences_ = bool(self.differences)
            self.conv_norm_ = self.conv_norm
            self.crop_ = 1.0 if self.crop == "auto" else float(self.crop)  # see _window
            if self.conv_norm == "auto":  # see the module doc
                self.conv_norm_ = "batch" if len({len(s) for s in seqs}) == 1 else "renorm"
        for i, s in enumerate(seqs):
            if s.shape[1] != self.n_features_:
                raise DataError(f"X[{i}] has {s.shape[1]} features; the model reads "
                                f"{self.n_features_}")
        if self.differences_:
            seqs = [with_differences(s) for s in seqs]
        if fit:  # "auto" prepares both inputs until the members are known
            self.normalize_ = "series+stats" if self.normalize == "auto" else self.normalize
        if self.normalize_ == "feature":
            if fit:
                allv = np.concatenate(seqs, axis=0).astype(np.float64)  # (sum T_i, D)
                if np.isnan(allv).all(axis=0).any():
                    raise DataError("X has a feature whose values are all missing (NaN)")
                self.mean_ = np.nanmean(allv, axis=0).astype(np.float32)
                std = np.nanstd(allv, axis=0)
                self.std_ = np.where(std > 0, std, 1.0).astype(np.float32)
            seqs = [(s - self.mean_) / self.std_ for s in seqs]
        elif self.normalize_ == "series":
            seqs = [_znorm(s) for s in seqs]
        elif self.normalize_ == "series+stats":
            moms = [moments(s) for s in seqs]  # of the raw values, once for both uses
            stats = series_stats(moms)  # (N, 2D)
            if fit:
                self.stats_mu_, self.stats_sigma_ = fit_scaling(stats)
            seqs = with_stats([_znorm(s, m) for s, m in zip(seqs, moms, strict=True)], stats,
                              self.stats_mu_, self.stats_sigma_)
        return [np.nan_to_num(s, nan=0.0) for s in seqs]

    @property
    def n_channels_(self) -> int:
        """Channels of a prepared sequence before any statistics' channels: D, or 2D with
        ``differences``."""
        return self.n_features_ * (2 if self.differences_ else 1)

    def _choose_inputs(self, seqs: list[np.ndarray], train: np.ndarray, ids: np.ndarray
                       ) -> list[np.ndarray]:
        """``normalize="auto"`` reads the z-normalised series alone, as "series" (the
        statistics' channels and their scaling dropped), with one plain recurrent network (as
        the seeds' experiments read the series; ``ensemble="auto"`` trains one) and, for every
        network, where the statistics vary without telling the training classes apart
        (:func:`~rnnkit.tasks.classify.series_stats.misleading`)."""
        if self.normalize != "auto" or self.normalize_ != "series+stats":
            return seqs
        plain_alone = not has_frontend(self.model) and self.ensemble in ("auto", 1)
        if not plain_alone:
            z = np.stack([seqs[i][0, self.n_channels_:] for i in train])  # (N, 2D)
            if not misleading(z, ids[train], self.seed):
                return seqs
        self.normalize_ = "series"
        del self.stats_mu_, self.stats_sigma_
        return [s[:, :self.n_channels_] for s in seqs]

    def _resolved_inputs(self, members: list[RNNClassifier]) -> dict[str, Any]:
        """Each member's preprocessing, e.g. ["series", "series+stats", "series"], whether
        the inputs carry their differences, and the training windows' share (``crop``)."""
        return {"normalize": ["series" if m.first_features else self.normalize_
                              for m in members], "differences": self.differences_,
                "crop": self.crop_}

    def _new_model(self, seqs: list[np.ndarray], member: int = 0) -> RNNClassifier:
        """Under ``normalize="auto"`` with statistics' channels, the even members of an
        ensemble read the z-normalised series only (the first :attr:`n_channels_` features),
        the odd ones and a network alone all of them (``fit`` counts the work of a network
        alone, ``ensemble_`` 1, before it knows the members)."""
        blocks, longest = 0, max(len(s) for s in seqs)
        if has_frontend(self.model):
            blocks = auto_blocks(longest) if self.conv_blocks == "auto" else self.conv_blocks
        hidden = self.hidden_size
        if hidden == "auto":
            hidden = AUTO_HIDDEN[1] if has_frontend(self.model) else AUTO_HIDDEN[0]
        width = seqs[0].shape[1]  # the prepared inputs' (3D with series+stats)
        auto = self.normalize == "auto" and self.normalize_ == "series+stats"
        first = auto and self.ensemble_ != 1 and member % 2 == 0
        alone = auto and self.ensemble_ == 1  # its statistics hidden with p = STATS_DROPOUT
        stats = (2 * self.n_channels_, STATS_DROPOUT) if alone else None
        return RNNClassifier(self.n_channels_ if first else width, len(self.classes_),
                             self.model, hidden,
                             self.num_layers, self.dropout, pooling=self._pooling(),
                             conv_blocks=blocks, conv_channels=self.conv_channels,
                             conv_norm=self.conv_norm_, fcn_channels=self.fcn_channels,
                             fcn_pool=auto_fcn_pool(longest), fcn_pool_first=True,
                             first_features=first, branch_heads=has_fcn_branch(self.model),
                             statistics=stats, crop=self.crop_)

    def _window(self, epochs: int, wanted: int) -> float:
        """``crop="auto"``, for a model that pools over time (:meth:`_auto_budget` asks for
        conv-* and *-fcn models only) whose predicted time allows ``epochs`` of the ``wanted``
        few-shot ones: the share r of each training series that a batch reads,
        :func:`~rnnkit.tasks.classify.budget.few_shot_window` (1 where the time does not
        bind), kept in ``crop_``; an explicit ``crop`` is not counted (the prediction reads
        whole series)."""
        if self.crop == "auto" and self._pooling() != "last":
            self.crop_ = few_shot_window(epochs, wanted)
            return self.crop_
        return 1.0

    def _bucket(self) -> bool:
        """Batches of a front end with batch norm are drawn at random, not bucketed by
        length: a batch of short series only would skew its statistics (see the module
        doc); batch renormalisation ("renorm") corrects that skew, and buckets."""
        return not (has_frontend(self.model) and self.conv_norm_ == "batch")

    def _state(self) -> dict[str, Any]:
        state = {**super()._state(), "n_features": self.n_features_,
                 "normalize": self.normalize_, "differences": self.differences_}
        if self.normalize_ == "feature":
            state.update(mean=self.mean_.tolist(), std=self.std_.tolist())
        if self.normalize_ == "series+stats":
            state.update(stats_mu=self.stats_mu_.tolist(), stats_sigma=self.stats_sigma_.tolist())
        return state

    def _set_state(self, state: dict[str, Any]) -> None:
        super()._set_state(state)
        self.n_features_ = int(state["n_features"])
        self.normalize_ = state.get("normalize", self.normalize)  # saved since "auto"
        self.differences_ = state.get("differences", False)  # saved since "differences"
        check_choice("state.differences", self.differences_, (True, False))
        check_choice("state.normalize", self.normalize_, NORMALIZE[1:])
        if self.normalize_ == "feature":
            self.mean_ = np.asarray(state["mean"], dtype=np.float32).reshape(self.n_channels_)
            self.std_ = np.asarray(state["std"], dtype=np.float32).reshape(self.n_channels_)
            if not (np.isfinite(self.mean_).all() and (self.std_ > 0).all()):
                raise ValueError("state.mean/std must be finite with std > 0")
        if self.normalize_ == "series+stats":
            shape = (2 * self.n_channels_,)
            self.stats_mu_ = np.asarray(state["stats_mu"], dtype=np.float64).reshape(shape)
            self.stats_sigma_ = np.asarray(state["stats_sigma"], dtype=np.float64).reshape(shape)
            if not (np.isfinite(self.stats_mu_).all() and (self.stats_sigma_ > 0).all()):
                raise ValueError("state.stats_mu/stats_sigma must be finite with sigma > 0")


def with_differences(s: np.ndarray) -> np.ndarray:
    """(T, D) -> (T, 2D): ``s`` and its first differences ``s_t - s_{t-1}``, NaN at the
    first step (see the module doc)."""
    d = np.full_like(s, np.nan)
    d[1:] = s[1:] - s[:-1]
    return np.concatenate([s, d], axis=1)


def _znorm(s: np.ndarray, moms: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Each feature of one sequence (T, D) standardised over its steps (NaN ignored; a
    feature missing at every step stays NaN, later 0); ``moms``: its :func:`moments`,
    when already computed."""
    mean, std = moments(s) if moms is None else moms
    std = np.where(std > 1e-8, std, 1.0)
    return ((s - mean) / std).astype(np.float32)


class TextClassifier(_Classifier):
    """Texts -> label: tokenise, vocabulary, Embedding -> pooled biGRU (default) -> Linear.

    ``embed_size="auto"``: 100, or the dimension of the ``vectors`` file when one is given.
    """

    task = "text-classifier"
    _int_inputs = True
    _pooled_models = ("bigru",)
    _auto_pooling = "attention"
    _auto_stop = True

    def __init__(self, model: str = "bigru", level: str = "word", lower: bool = True,
                 max_size: int | None = 20_000, min_freq: int = 1, maxlen: int | None = None,
                 bucket: bool = True, embed_size: int | str = "auto", vectors: str | None = None,
                 hidden_size: int = 128, num_layers: int = 1, dropout: float = 0.0,
                 pooling: str = "auto", epochs: int | str = "auto",
                 batch_size: int | str = "auto", lr: float = 2e-3, lr_schedule: str = "cosine",
                 clip_grad_norm: float | None = 1.0, ensemble: int | str = "auto",
                 validation: float | int | str = "auto", patience: int | str | None = "auto",
                 seed: int = 0, device: str = "cpu", verbose: int | str = "auto",
                 precision: str = "fp32"):
        self.model, self.level, self.lower = model, level, lower
        self.max_size, self.min_freq, self.maxlen, self.bucket = max_size, min_freq, maxlen, bucket
        self.embed_size, self.vectors = embed_size, vectors
        self.hidden_size, self.num_layers = hidden_size, num_layers
        self.dropout, self.pooling = dropout, pooling
        self.epochs, self.batch_size, self.lr = epochs, batch_size, lr
        self.lr_schedule, self.ensemble = lr_schedule, ensemble
        self.clip_grad_norm, self.validation, self.patience = clip_grad_norm, validation, patience
        self.seed, self.device, self.verbose = seed, device, verbose
        self.precision = precision

    def _check_params(self) -> None:
        super()._check_params()
        if has_frontend(self.model):
            raise ConfigError(f"model {self.model!r} is for numeric series; a text model is "
                              f"one of {[m for m in MODELS if not has_frontend(m)]}")
        check_choice("level", self.level, TEXT_LEVELS)
        check_int("max_size", self.max_size, 2, none=True)
        check_int("min_freq", self.min_freq)
        check_int("maxlen", self.maxlen, none=True)
        if self.embed_size != "auto":
            check_int("embed_size", self.embed_size)
        if self.vectors is not None and not isinstance(self.vectors, (str, Path)):
            raise ConfigError(f"vectors must be the path of a word-vector file or None, got "
                              f"{self.vectors!r}")

    def _tokenize(self, texts: list[str], fit: bool) -> list[list[str]]:
        if self.level != "subword":
            return [tokenize(t, self.level, self.lower) for t in texts]
        from rnnkit.data.text import SubwordTokenizer

        if fit:
            self.tokenizer_ = SubwordTokenizer.train(texts, vocab_size=self.max_size or 20_000,
                                                     lower=self.lower)
        return [self.tokenizer_.tokenize(t) for t in texts]

    def _prepare(self, X, fit: bool = False) -> list[np.ndarray]:
        if isinstance(X, str):
            raise DataError("X must be a list of texts, got a single str")
        X = list(X)
        if not X:
            raise DataError("X must hold at least one text, got none")
        for i, t in enumerate(X):
            if not isinstance(t, str):
                raise DataError(f"X[{i}] must be a str, got {type(t).__name__}")
        docs = self._tokenize(X, fit)
        if fit:
            self.vocab_ = Vocabulary.build(docs, self.max_size, self.min_freq)
        unk = self.vocab_.unk_id
        seqs = []
        for d in docs:
            ids = self.vocab_.encode(d)
            if self.maxlen is not None:
                ids = ids[:self.maxlen]  # truncate "post"; padding happens per batch
            seqs.append(ids if len(ids) else np.asarray([unk], dtype=np.int64))
        return seqs

    def _new_model(self, seqs: list[np.ndarray], member: int = 0) -> RNNClassifier:
        table = None
        size = 100 if self.embed_size == "auto" else self.embed_size
        if self.vectors is not None:
            from rnnkit.data.embeddings import read_vectors

            table = read_vectors(self.vectors, self.vocab_.id_to_token, lower=self.lower)
            if self.embed_size not in ("auto", table.dim):
                raise ConfigError(f"embed_size must be 'auto' or {table.dim}, the dimension "
                                  f"of the vectors in {self.vectors}, got {self.embed_size!r}")
            size = table.dim
        net = RNNClassifier(None, len(self.classes_), self.model, self.hidden_size,
                            self.num_layers, self.dropout, vocab_size=len(self.vocab_),
                            embed_size=size, pad_id=self.vocab_.pad_id, pooling=self._pooling())
        if table is not None:
            with torch.no_grad():
                weight = net.embedding.weight  # (V, E)
                found = torch.from_numpy(table.found)
                weight[found] = torch.from_numpy(table.vectors[table.found]).to(weight.dtype)
            log.info("vectors %s: %d of %d vocabulary tokens found", self.vectors,
                     int(table.found.sum()), len(self.vocab_))
            self.vectors_found_ = int(table.found.sum())
        return net

    def _state(self) -> dict[str, Any]:
        state = {**super()._state(), "vocab": self.vocab_.to_dict()}
        if self.level == "subword":
            state["tokenizer"] = self.tokenizer_.to_str()
        return state

    def _set_state(self, state: dict[str, Any]) -> None:
        super()._set_state(state)
        self.vocab_ = Vocabulary.from_dict(state["vocab"])
        if self.level == "subword":
            from rnnkit.data.text import SubwordTokenizer

            self.tokenizer_ = SubwordTokenizer.from_str(state["tokenizer"])


def class_names(classes: Sequence) -> list[str]:
    """Labels as printable names (for tables, plots and CSV headers)."""
    return [str(c) for c in classes]


__all__ = ["LR_SCHEDULES", "NORMALIZE", "TEXT_LEVELS", "SequenceClassifier", "TextClassifier",
           "class_names"]
