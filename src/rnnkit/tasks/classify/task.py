"""Estimators for many-to-one classification: numeric sequences and text.

>>> clf = SequenceClassifier(model="lstm", hidden_size=128, epochs=10).fit(X_train, y_train)
>>> clf.evaluate(X_test, y_test)   # {"accuracy", "macro_f1", "confusion_matrix", ...}

``X`` is an array (N, T, D) / (N, T) of equal-length sequences, or a list of (T_i, D) arrays
of different lengths (padded per batch, batches bucketed by length, the model reads
``lengths`` so padding never reaches the state). Features are standardised with the training
set's per-feature mean and standard deviation (``standardize=True``); missing values (NaN)
become 0 after scaling.

:class:`TextClassifier` tokenises (word or char level), builds a vocabulary (``max_size``,
``min_freq``, ``<pad>``/``<unk>``), truncates to ``maxlen`` (if set) and batches either at a
fixed length (``bucket=False`` with ``maxlen``: every batch padded to ``maxlen``) or in
length-bucketed batches (``bucket=True``, default). Either way the model reads ``lengths``
(packing/masking), so padding never changes the result.

Saved as ``config.json`` (options, classes, scaler or vocabulary) + ``model.safetensors``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from rnnkit.data.batching import pad_sequences, padded_loader
from rnnkit.data.text import Vocabulary, tokenize
from rnnkit.errors import DataError
from rnnkit.fileio import atomic_directory, write_json
from rnnkit.tasks.classify.metrics import classification_report
from rnnkit.tasks.classify.model import RNNClassifier


def _as_list(X) -> list[np.ndarray]:
    if isinstance(X, np.ndarray) and X.dtype != object:
        if X.ndim == 2:
            X = X[:, :, None]
        if X.ndim != 3:
            raise ValueError(f"X must have shape (N, T) or (N, T, D), got {X.shape}")
        return list(X)
    out = []
    for i, x in enumerate(X):
        a = np.asarray(x)
        a = a[:, None] if a.ndim == 1 else a
        if a.ndim != 2 or len(a) == 0:
            raise ValueError(f"X[{i}] must have shape (T, D) with T >= 1, got {a.shape}")
        out.append(a)
    return out


class _Base:
    """Shared fit / predict / evaluate / save over lists of sequences."""

    kind = "base"
    _int_inputs = False

    def __init__(self, model: str = "lstm", hidden_size: int = 128, num_layers: int = 1,
                 dropout: float = 0.0, epochs: int = 10, batch_size: int = 64,
                 optimizer: str = "adam", lr: float = 1e-3, clip_grad_norm: float | None = None,
                 seed: int = 0, device: str = "cpu"):
        self.model, self.hidden_size, self.num_layers = model, hidden_size, num_layers
        self.dropout, self.epochs, self.batch_size = dropout, epochs, batch_size
        self.optimizer, self.lr, self.clip_grad_norm = optimizer, lr, clip_grad_norm
        self.seed, self.device = seed, device

    _param_names = ("model", "hidden_size", "num_layers", "dropout", "epochs", "batch_size",
                    "optimizer", "lr", "clip_grad_norm", "seed")

    def params(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self._param_names}

    # -- labels -------------------------------------------------------------------------------
    def _fit_labels(self, y, classes: Sequence | None) -> np.ndarray:
        y = np.asarray(y)
        if classes is not None:
            self.classes_ = [str(c) for c in classes]
            ids = y.astype(np.int64)
            if ids.size and (ids.min() < 0 or ids.max() >= len(self.classes_)):
                raise ValueError(f"y must hold class ids in [0, {len(self.classes_)}) when "
                                 f"classes is given, got {ids.min()}..{ids.max()}")
            return ids
        uniq, ids = np.unique(y, return_inverse=True)
        self.classes_ = [str(c) for c in uniq.tolist()]
        self._label_values = uniq
        return ids.astype(np.int64)

    def _encode_labels(self, y) -> np.ndarray:
        y = np.asarray(y)
        values = getattr(self, "_label_values", None)
        if values is None:  # fitted with classes=..., or loaded: y holds class ids
            return y.astype(np.int64)
        if np.issubdtype(y.dtype, np.integer) and not np.issubdtype(values.dtype, np.integer):
            return y.astype(np.int64)  # string labels in training, ids given here
        index = {v: i for i, v in enumerate(values.tolist())}
        try:
            return np.asarray([index[v] for v in y.tolist()], dtype=np.int64)
        except KeyError as exc:
            raise DataError(f"label {exc.args[0]!r} was not seen in training") from exc

    # -- inputs -------------------------------------------------------------------------------
    def _prepare(self, X) -> list[np.ndarray]:
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

    def fit(self, X, y, validation_data: tuple | None = None, classes: Sequence | None = None,
            callbacks=()) -> _Base:
        """Train; ``classes`` (names) means ``y`` already holds ids into it."""
        from rnnkit.train import Trainer

        torch.manual_seed(self.seed)
        ids = self._fit_labels(y, classes)
        seqs = self._prepare(X, fit=True)
        if len(seqs) != len(ids):
            raise ValueError(f"X and y must have the same length, got {len(seqs)} and "
                             f"{len(ids)}")
        self.model_ = self._new_model()
        train = self._loader(seqs, ids, shuffle=True, seed=self.seed)
        val = None
        if validation_data is not None:
            Xv, yv = validation_data
            val = self._loader(self._prepare(Xv), self._encode_labels(yv), shuffle=False)
        opt = self.optimizer
        if self.optimizer == "sgd":
            def opt(p):
                return torch.optim.SGD(p, lr=self.lr)
        trainer = Trainer(self.model_, "cross_entropy", opt, metrics=["accuracy"],
                          callbacks=callbacks, clip_grad_norm=self.clip_grad_norm,
                          device=self.device, lr=None if callable(opt) else self.lr)
        self.history_ = trainer.fit(train, self.epochs, val)
        self.model_.eval()
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise ValueError(f"this {type(self).__name__} is not fitted: call fit() or load()")

    @torch.no_grad()
    def predict_proba(self, X, batch_size: int = 512) -> np.ndarray:
        """(N, C) class probabilities."""
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
        """(N,) predicted class ids (names: ``[clf.classes_[i] for i in ...]``)."""
        return self.predict_proba(X).argmax(1)

    def evaluate(self, X, y) -> dict[str, Any]:
        """Accuracy, macro-F1, confusion matrix, per-class F1 on ``(X, y)``."""
        pred = self.predict(X)
        return classification_report(self._encode_labels(y), pred, len(self.classes_))

    # -- persistence --------------------------------------------------------------------------
    def _extra_state(self) -> dict[str, Any]:
        return {}

    def _load_extra(self, cfg: dict[str, Any]) -> None:
        pass

    def save(self, directory: str | os.PathLike) -> None:
        self._check_fitted()
        with atomic_directory(directory) as tmp:
            save_file({k: v.detach().cpu().contiguous()
                       for k, v in self.model_.state_dict().items()}, tmp / "model.safetensors")
            write_json(tmp / "config.json", {"task": self.kind, "params": self.params(),
                                             "classes": self.classes_,
                                             "network": self.model_.get_config(),
                                             **self._extra_state()})

    @classmethod
    def load(cls, directory: str | os.PathLike):
        d = Path(directory)
        try:
            cfg = json.loads((d / "config.json").read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise DataError(f"model folder {str(d)!r} has no valid config.json: {exc}") from exc
        if cfg.get("task") != cls.kind:
            raise DataError(f"{str(d)!r} holds a {cfg.get('task')!r} model, not {cls.kind!r}")
        obj = cls(**cfg["params"])
        obj.classes_ = cfg["classes"]
        obj._label_values = None
        obj._load_extra(cfg)
        obj.model_ = RNNClassifier(**cfg["network"])
        obj.model_.load_state_dict(load_file(d / "model.safetensors"))
        obj.model_.eval()
        return obj


class SequenceClassifier(_Base):
    """Numeric sequences (N, T, D) or a list of (T_i, D) -> class. See the module doc."""

    kind = "sequence-classifier"

    def __init__(self, model: str = "lstm", hidden_size: int = 128, num_layers: int = 1,
                 dropout: float = 0.0, epochs: int = 10, batch_size: int = 64,
                 optimizer: str = "adam", lr: float = 1e-3, clip_grad_norm: float | None = None,
                 standardize: bool = True, seed: int = 0, device: str = "cpu"):
        super().__init__(model, hidden_size, num_layers, dropout, epochs, batch_size,
                         optimizer, lr, clip_grad_norm, seed, device)
        self.standardize = standardize

    _param_names = (*_Base._param_names, "standardize")

    def _prepare(self, X, fit: bool = False) -> list[np.ndarray]:
        seqs = [s.astype(np.float32) for s in _as_list(X)]
        if fit:
            self.n_features_ = seqs[0].shape[1]
            if self.standardize:
                allv = np.concatenate(seqs, axis=0)  # (sum T_i, D)
                self.mean_ = np.nanmean(allv, axis=0).astype(np.float32)
                std = np.nanstd(allv, axis=0)
                self.std_ = np.where(std > 0, std, 1.0).astype(np.float32)
        elif seqs and seqs[0].shape[1] != self.n_features_:
            raise DataError(f"sequences must have {self.n_features_} features like the "
                            f"training data, got {seqs[0].shape[1]}")
        if self.standardize:
            seqs = [(s - self.mean_) / self.std_ for s in seqs]
        return [np.nan_to_num(s, nan=0.0) for s in seqs]

    def _new_model(self) -> RNNClassifier:
        return RNNClassifier(self.n_features_, len(self.classes_), self.model, self.hidden_size,
                             self.num_layers, self.dropout)

    def _extra_state(self) -> dict[str, Any]:
        extra: dict[str, Any] = {"n_features": self.n_features_}
        if self.standardize:
            extra.update(mean=self.mean_.tolist(), std=self.std_.tolist())
        return extra

    def _load_extra(self, cfg: dict[str, Any]) -> None:
        self.n_features_ = int(cfg["n_features"])
        if self.standardize:
            self.mean_ = np.asarray(cfg["mean"], dtype=np.float32)
            self.std_ = np.asarray(cfg["std"], dtype=np.float32)


class TextClassifier(_Base):
    """Texts -> class: tokenise, vocabulary, Embedding -> (bi)RNN/LSTM/GRU -> Linear."""

    kind = "text-classifier"
    _int_inputs = True

    def __init__(self, model: str = "lstm", level: str = "word", lower: bool = True,
                 max_size: int | None = 20_000, min_freq: int = 1, maxlen: int | None = None,
                 bucket: bool = True,
                 embed_size: int = 100, hidden_size: int = 128, num_layers: int = 1,
                 dropout: float = 0.0, epochs: int = 5, batch_size: int = 32,
                 optimizer: str = "adam", lr: float = 1e-3, clip_grad_norm: float | None = 5.0,
                 seed: int = 0, device: str = "cpu"):
        super().__init__(model, hidden_size, num_layers, dropout, epochs, batch_size,
                         optimizer, lr, clip_grad_norm, seed, device)
        self.level, self.lower, self.max_size, self.min_freq = level, lower, max_size, min_freq
        self.maxlen, self.bucket, self.embed_size = maxlen, bucket, embed_size

    _param_names = (*_Base._param_names, "level", "lower", "max_size", "min_freq", "maxlen",
                    "bucket", "embed_size")

    def _prepare(self, X, fit: bool = False) -> list[np.ndarray]:
        if isinstance(X, str):
            raise TypeError("X must be a list of texts, got a single str")
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

    def _extra_state(self) -> dict[str, Any]:
        return {"vocab": self.vocab_.to_dict()}

    def _load_extra(self, cfg: dict[str, Any]) -> None:
        self.vocab_ = Vocabulary.from_dict(cfg["vocab"])


__all__ = ["SequenceClassifier", "TextClassifier"]
