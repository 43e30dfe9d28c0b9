"""Estimators for many-to-one classification: numeric sequences and text.

>>> clf = SequenceClassifier(model="lstm", hidden_size=128).fit(X_train, y_train)
>>> clf.predict(X_test)            # labels as given to fit (classes_[argmax])
>>> clf.score(X_test, y_test)      # accuracy
>>> clf.evaluate(X_test, y_test)   # {"accuracy", "macro_f1", "confusion_matrix", ...}

``X`` is an array (N, T, D) / (N, T) of equal-length sequences (any numeric dtype: raw
uint8 images too), or a list of (T_i, D) arrays of different lengths (padded per batch,
batches bucketed by length, the model reads ``lengths`` so padding never reaches the
state). ``normalize`` sets the preprocessing that the saved model carries:

- ``"feature"`` (default): each feature standardised with the training set's mean and
  standard deviation over all steps: x' = (x - mean_d) / std_d;
- ``"series"``: each sequence and feature z-normalised over its own steps (the usual UCR
  preprocessing): x' = (x - mean_t x) / std_t x;
- ``"none"``: values as given (cast to float32).

Missing values (NaN) become 0 after scaling. Labels are any hashable values (ints, strings);
``classes_`` holds them sorted, and ``predict`` returns them.

Training (:meth:`rnnkit.tasks.base.Estimator._train`): a stratified ``validation`` part of
the training data is held out (fraction or count; 0: none), early stopping on its loss after
``patience`` epochs without improvement restores the best weights; Adam at ``lr``, gradient
norm clipped at ``clip_grad_norm``, autocast per ``precision`` ("fp32", "bf16", "fp16").

:class:`TextClassifier` tokenises (word or char level), builds a vocabulary (``max_size``,
``min_freq``, ``<pad>``/``<unk>``), truncates to ``maxlen`` (if set) and batches in
length-bucketed batches (``bucket=True``) or at a fixed length (``bucket=False``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from rnnkit.data.batching import pad_sequences, padded_loader
from rnnkit.data.text import Vocabulary, tokenize
from rnnkit.errors import DataError
from rnnkit.tasks.base import (
    Estimator,
    check_choice,
    check_float,
    check_int,
    n_held_out,
)
from rnnkit.tasks.classify.metrics import classification_report
from rnnkit.tasks.classify.model import MODELS, RNNClassifier
from rnnkit.tasks.classify.split import stratified_split

log = logging.getLogger(__name__)

NORMALIZE = ("feature", "series", "none")


def _as_list(X) -> list[np.ndarray]:
    """Sequences as a list of (T_i, D) arrays (DataError naming the bad one)."""
    if isinstance(X, np.ndarray) and X.dtype != object:
        if X.ndim == 2:
            X = X[:, :, None]
        if X.ndim != 3:
            raise DataError(f"X must have shape (N, T) or (N, T, D), got {X.shape}")
        if X.shape[0] == 0 or X.shape[1] == 0:
            raise DataError(f"X must hold at least one sequence of one step, got {X.shape}")
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
        check_int("hidden_size", self.hidden_size)
        check_int("num_layers", self.num_layers)
        check_float("dropout", self.dropout, 0.0, 1.0, low_open=False)
        self._check_training()

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
                                self.batch_size, shuffle=shuffle, generator=gen)
        bucket = shuffle and getattr(self, "bucket", True)
        return padded_loader(seqs, y, batch_size=self.batch_size, shuffle=shuffle,
                             bucket=bucket, seed=seed, maxlen=getattr(self, "maxlen", None))

    def _new_model(self) -> RNNClassifier:
        raise NotImplementedError

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
        seqs = self._prepare(X, fit=True)
        if len(seqs) != len(ids):
            raise DataError(f"X and y must have the same length, got {len(seqs)} and "
                            f"{len(ids)}")
        n_val = 0 if validation_data is not None else n_held_out(self.validation, len(ids))
        tr, va = stratified_split(ids, n_val, self.seed)
        if n_val and len(va) == 0:
            log.warning("validation=%r holds out no sample of %d: training without early "
                        "stopping", self.validation, len(ids))
        torch.manual_seed(self.seed)
        self.model_ = self._new_model()
        train = self._loader([seqs[i] for i in tr], ids[tr], shuffle=True, seed=self.seed)
        val = (self._loader([seqs[i] for i in va], ids[va], shuffle=False) if len(va)
               else None)
        self.n_train_, self.n_validation_ = len(tr), len(va)
        if validation_data is not None:
            Xv, yv = validation_data
            yv = self._encode_labels(yv)
            val = self._loader(self._prepare(Xv), yv, shuffle=False)
            self.n_validation_ = len(yv)
        self._train(self.model_, train, val, loss="cross_entropy", metrics=("accuracy",),
                    epochs=self.epochs, desc=self.model, checkpoint=checkpoint,
                    checkpoint_every=checkpoint_every, resume=resume)
        return self

    @torch.no_grad()
    def predict_proba(self, X, batch_size: int = 512) -> np.ndarray:
        """(N, C) class probabilities, columns in ``classes_`` order."""
        self._check_fitted()
        self.model_.eval()
        seqs = self._prepare(X)
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
        return {"classes": self.classes_.tolist()}

    def _set_state(self, state: dict[str, Any]) -> None:
        classes = state["classes"]
        if not isinstance(classes, list) or len(classes) < 2:
            raise ValueError(f"state.classes must be a list of at least 2 labels, got "
                             f"{classes!r:.80}")
        self.classes_ = np.asarray(classes)


class SequenceClassifier(_Classifier):
    """Numeric sequences (N, T, D) or a list of (T_i, D) -> label. See the module doc."""

    task = "sequence-classifier"

    def __init__(self, model: str = "lstm", hidden_size: int = 128, num_layers: int = 1,
                 dropout: float = 0.0, normalize: str = "feature", epochs: int = 30,
                 batch_size: int = 64, lr: float = 2e-3, clip_grad_norm: float | None = 1.0,
                 validation: float | int = 0.1, patience: int | None = 5, seed: int = 0,
                 device: str = "cpu", verbose: int | str = "auto",
                 precision: str = "fp32"):
        self.model, self.hidden_size, self.num_layers = model, hidden_size, num_layers
        self.dropout, self.normalize = dropout, normalize
        self.epochs, self.batch_size, self.lr = epochs, batch_size, lr
        self.clip_grad_norm, self.validation, self.patience = clip_grad_norm, validation, patience
        self.seed, self.device, self.verbose = seed, device, verbose
        self.precision = precision

    def _check_params(self) -> None:
        super()._check_params()
        check_choice("normalize", self.normalize, NORMALIZE)

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
            self.n_features_ = seqs[0].shape[1]
        for i, s in enumerate(seqs):
            if s.shape[1] != self.n_features_:
                raise DataError(f"X[{i}] has {s.shape[1]} features; the model reads "
                                f"{self.n_features_}")
        if self.normalize == "feature":
            if fit:
                allv = np.concatenate(seqs, axis=0).astype(np.float64)  # (sum T_i, D)
                if np.isnan(allv).all(axis=0).any():
                    raise DataError("X has a feature whose values are all missing (NaN)")
                self.mean_ = np.nanmean(allv, axis=0).astype(np.float32)
                std = np.nanstd(allv, axis=0)
                self.std_ = np.where(std > 0, std, 1.0).astype(np.float32)
            seqs = [(s - self.mean_) / self.std_ for s in seqs]
        elif self.normalize == "series":
            seqs = [_znorm(s) for s in seqs]
        return [np.nan_to_num(s, nan=0.0) for s in seqs]

    def _new_model(self) -> RNNClassifier:
        return RNNClassifier(self.n_features_, len(self.classes_), self.model, self.hidden_size,
                             self.num_layers, self.dropout)

    def _state(self) -> dict[str, Any]:
        state = {**super()._state(), "n_features": self.n_features_}
        if self.normalize == "feature":
            state.update(mean=self.mean_.tolist(), std=self.std_.tolist())
        return state

    def _set_state(self, state: dict[str, Any]) -> None:
        super()._set_state(state)
        self.n_features_ = int(state["n_features"])
        if self.normalize == "feature":
            self.mean_ = np.asarray(state["mean"], dtype=np.float32).reshape(self.n_features_)
            self.std_ = np.asarray(state["std"], dtype=np.float32).reshape(self.n_features_)
            if not (np.isfinite(self.mean_).all() and (self.std_ > 0).all()):
                raise ValueError("state.mean/std must be finite with std > 0")


def _znorm(s: np.ndarray) -> np.ndarray:
    """Each feature of one sequence (T, D) standardised over its steps (NaN ignored)."""
    with np.errstate(invalid="ignore"):
        mean = np.nanmean(s, axis=0) if not np.isnan(s).all() else np.zeros(s.shape[1])
        std = np.nanstd(s, axis=0) if not np.isnan(s).all() else np.ones(s.shape[1])
    mean = np.nan_to_num(mean)
    std = np.where(np.nan_to_num(std) > 1e-8, std, 1.0)
    return ((s - mean) / std).astype(np.float32)


class TextClassifier(_Classifier):
    """Texts -> label: tokenise, vocabulary, Embedding -> (bi)RNN/LSTM/GRU -> Linear."""

    task = "text-classifier"
    _int_inputs = True

    def __init__(self, model: str = "lstm", level: str = "word", lower: bool = True,
                 max_size: int | None = 20_000, min_freq: int = 1, maxlen: int | None = None,
                 bucket: bool = True, embed_size: int = 100, hidden_size: int = 128,
                 num_layers: int = 1, dropout: float = 0.0, epochs: int = 30,
                 batch_size: int = 64, lr: float = 2e-3, clip_grad_norm: float | None = 1.0,
                 validation: float | int = 0.1, patience: int | None = 5, seed: int = 0,
                 device: str = "cpu", verbose: int | str = "auto",
                 precision: str = "fp32"):
        self.model, self.level, self.lower = model, level, lower
        self.max_size, self.min_freq, self.maxlen, self.bucket = max_size, min_freq, maxlen, bucket
        self.embed_size, self.hidden_size, self.num_layers = embed_size, hidden_size, num_layers
        self.dropout, self.epochs, self.batch_size, self.lr = dropout, epochs, batch_size, lr
        self.clip_grad_norm, self.validation, self.patience = clip_grad_norm, validation, patience
        self.seed, self.device, self.verbose = seed, device, verbose
        self.precision = precision

    def _check_params(self) -> None:
        super()._check_params()
        check_choice("level", self.level, ("word", "char"))
        check_int("max_size", self.max_size, 2, none=True)
        check_int("min_freq", self.min_freq)
        check_int("maxlen", self.maxlen, none=True)
        check_int("embed_size", self.embed_size)

    def _prepare(self, X, fit: bool = False) -> list[np.ndarray]:
        if isinstance(X, str):
            raise DataError("X must be a list of texts, got a single str")
        X = list(X)
        if not X:
            raise DataError("X must hold at least one text, got none")
        for i, t in enumerate(X):
            if not isinstance(t, str):
                raise DataError(f"X[{i}] must be a str, got {type(t).__name__}")
        docs = [tokenize(t, self.level, self.lower) for t in X]
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

    def _new_model(self) -> RNNClassifier:
        return RNNClassifier(None, len(self.classes_), self.model, self.hidden_size,
                             self.num_layers, self.dropout, vocab_size=len(self.vocab_),
                             embed_size=self.embed_size, pad_id=self.vocab_.pad_id)

    def _state(self) -> dict[str, Any]:
        return {**super()._state(), "vocab": self.vocab_.to_dict()}

    def _set_state(self, state: dict[str, Any]) -> None:
        super()._set_state(state)
        self.vocab_ = Vocabulary.from_dict(state["vocab"])


def class_names(classes: Sequence) -> list[str]:
    """Labels as printable names (for tables, plots and CSV headers)."""
    return [str(c) for c in classes]


__all__ = ["NORMALIZE", "SequenceClassifier", "TextClassifier", "class_names"]
