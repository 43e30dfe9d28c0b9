"""``Seq2SeqTask``: fit an encoder-decoder on (source, target) string pairs, decode, score.

>>> from rnnkit.data.seq2seq_tasks import make_addition
>>> pairs = make_addition(50_000, seed=0)
>>> task = Seq2SeqTask(epochs=25).fit(pairs[:45_000])   # or fit(sources, targets)
>>> task.score(pairs[45_000:])          # exact-match accuracy
>>> task.predict(["16+75"])             # ['91']

Training (:meth:`rnnkit.tasks.base.Estimator._train`): teacher forcing with cross-entropy
over the real target tokens (padding ignored), Adam at ``lr``, gradient norm clipped at
``clip_grad_norm``, length-bucketed shuffled batches. A ``validation`` part of the training
pairs (a fraction or a count, drawn with ``seed``; 0: none) is held out; training stops
after ``patience`` epochs without a lower ``val_loss`` and keeps the best weights. The
vocabularies and ``max_target_len_`` (the longest training target, in tokens) come from
the training part. Decoding stops at ``</s>`` or after ``max_target_len_ + 2`` tokens.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from rnnkit.data.batching import Shardable, bucket_batches, pad_sequences, shard_batch
from rnnkit.data.seq2seq_tasks import BOS, EOS, build_vocabs, encode_pairs, split_tokens
from rnnkit.data.text import Vocabulary
from rnnkit.errors import ConfigError, DataError
from rnnkit.tasks.base import (
    Estimator,
    check_bool,
    check_choice,
    check_float,
    check_int,
    n_held_out,
)
from rnnkit.tasks.seq2seq.attention import KINDS
from rnnkit.tasks.seq2seq.model import CELLS, Seq2Seq

log = logging.getLogger(__name__)

LEVELS = ("char", "word")


class PairBatches(Shardable):
    """Length-bucketed teacher-forcing batches ``({"src", "src_lengths", "tgt_in"}, tgt_out)``.

    With ``shuffle``, a new order every pass (seeded with ``seed + pass``); ``state_dict()``
    holds the pass count, so a resumed fit repeats the order (:mod:`rnnkit.train.resume`).
    ``shard(rank, world_size)``: the copy one of W data-parallel processes reads, its part of
    each batch of W x ``batch_size`` pairs (``training=False``: of each of its own batches,
    unpadded), as :class:`~rnnkit.data.batching.BucketBatchSampler` does.
    """

    def __init__(self, enc, batch_size: int, shuffle: bool, seed: int, pad_id: int = 0):
        self.enc, self.batch_size, self.shuffle, self.seed = enc, batch_size, shuffle, seed
        self.pad_id = pad_id
        self._epoch = 0
        self.lengths = np.asarray([len(s) for s in enc.src])

    def __len__(self) -> int:
        return len(bucket_batches(self.lengths, self._global_size(), self.shuffle, 0))

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self._epoch}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self._epoch = int(state["epoch"])

    def __iter__(self) -> Iterator:
        batches = bucket_batches(self.lengths, self._global_size(), self.shuffle,
                                 self.seed + self._epoch)
        self._epoch += 1
        for b in batches:
            if self._shard is not None:
                rank, world, training = self._shard
                b = shard_batch(b, rank, world, pad=training)
                if not len(b):
                    continue
            yield collate(self.enc, b, self.pad_id)


def collate(enc, index, pad_id: int = 0):
    src, n = pad_sequences([enc.src[i] for i in index], value=pad_id)
    tin, _ = pad_sequences([enc.tgt_in[i] for i in index], value=pad_id)
    tout, _ = pad_sequences([enc.tgt_out[i] for i in index], value=pad_id)
    inputs = {"src": torch.from_numpy(src), "src_lengths": torch.from_numpy(n),
              "tgt_in": torch.from_numpy(tin)}
    return inputs, torch.from_numpy(tout)  # (B, S), (B,), (B, T) ; (B, T)


def masked_cross_entropy(logits: torch.Tensor, target: torch.Tensor, pad_id: int = 0
                         ) -> torch.Tensor:
    """Mean cross-entropy over the non-padding target tokens: logits (B, T, V), target (B, T)."""
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1),
                           ignore_index=pad_id)


def _strings(X: Any, name: str) -> list[str]:
    if isinstance(X, str):
        return [X]
    try:
        items = list(X)
    except TypeError:
        raise TypeError(f"{name} must be a list of str, got {type(X).__name__}") from None
    for i, s in enumerate(items):
        if not isinstance(s, str):
            raise TypeError(f"{name}[{i}] must be a str, got {type(s).__name__}")
    return items


def as_pairs(X: Any, y: Any = None) -> list[tuple[str, str]]:
    """``(source, target)`` pairs from ``X`` pairs (``y`` None) or ``X`` sources and ``y``
    targets of the same length."""
    if y is not None:
        sources, targets = _strings(X, "X"), _strings(y, "y")
        if len(sources) != len(targets):
            raise DataError(f"X and y must have the same length, got {len(sources)} sources "
                            f"and {len(targets)} targets")
        return list(zip(sources, targets, strict=True))
    if isinstance(X, str):
        raise TypeError("X must be (source, target) pairs, or sources with y the targets; "
                        "got one str")
    pairs = []
    for i, p in enumerate(X):
        p = tuple(p) if not isinstance(p, str) else (p,)
        if len(p) != 2 or not all(isinstance(s, str) for s in p):
            raise TypeError(f"X[{i}] must be a (source, target) pair of str, got {p!r:.80} "
                            f"(pass sources as X and targets as y)")
        pairs.append(p)
    return pairs


class Seq2SeqTask(Estimator):
    """Estimator over :class:`Seq2Seq`; see the module doc.

    Args:
        cell: ``"lstm"`` or ``"gru"``.
        embed_size, hidden_size, num_layers: the network's sizes.
        attention: ``"dot"``, ``"additive"`` or None.
        peeky: feed the encoder summary to every decoder step.
        reverse_source: read each source backwards.
        dropout: on embeddings, between layers and before the output layer.
        level: ``"char"`` or ``"word"`` tokens.
        epochs: maximum training epochs (early stopping may end sooner).
        batch_size: pairs per optimiser step.
        lr: Adam learning rate.
        clip_grad_norm: global gradient-norm clip (None: off).
        validation: pairs held out for early stopping: a fraction in [0, 1) or a count.
        patience: stop after this many epochs without a lower ``val_loss`` (None: off).
        seed: seed of the weights, the split and the batch order.
        device: ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"``.
        verbose: progress on stderr: ``"auto"``, 0, 1 (bar) or 2 (a line per epoch).
        precision: ``"fp32"`` (default), ``"bf16"`` or ``"fp16"``: autocast in training.
    """

    task = "seq2seq"

    def __init__(self, cell: str = "lstm", embed_size: int = 32, hidden_size: int = 128,
                 num_layers: int = 1, attention: str | None = "dot", peeky: bool = True,
                 reverse_source: bool = True, dropout: float = 0.0, level: str = "char",
                 epochs: int = 10, batch_size: int = 128, lr: float = 2e-3,
                 clip_grad_norm: float | None = 5.0, validation: float | int = 0.1,
                 patience: int | None = 3, seed: int = 0, device: str = "cpu",
                 verbose: int | str = "auto", precision: str = "fp32"):
        self.cell, self.embed_size, self.hidden_size = cell, embed_size, hidden_size
        self.num_layers, self.attention, self.peeky = num_layers, attention, peeky
        self.reverse_source, self.dropout, self.level = reverse_source, dropout, level
        self.epochs, self.batch_size, self.lr = epochs, batch_size, lr
        self.clip_grad_norm, self.validation, self.patience = clip_grad_norm, validation, patience
        self.seed, self.device, self.verbose = seed, device, verbose
        self.precision = precision

    # -- options ------------------------------------------------------------------------------
    def _check_params(self) -> None:
        check_choice("cell", self.cell, tuple(CELLS))
        check_int("embed_size", self.embed_size)
        check_int("hidden_size", self.hidden_size)
        check_int("num_layers", self.num_layers)
        check_choice("attention", self.attention, (*KINDS, None))
        check_bool("peeky", self.peeky)
        check_bool("reverse_source", self.reverse_source)
        check_float("dropout", self.dropout, 0.0, 1.0, low_open=False)
        check_choice("level", self.level, LEVELS)
        self._check_training()

    # -- training -----------------------------------------------------------------------------
    def fit(self, X: Sequence, y: Sequence[str] | None = None, *, checkpoint=None,
            checkpoint_every: int = 1, resume: bool = False) -> Seq2SeqTask:
        """Train on ``X`` (source, target) pairs, or ``X`` sources and ``y`` targets.
        ``checkpoint``, ``checkpoint_every``, ``resume``: a resumable fit
        (:mod:`rnnkit.tasks.base`).

        Sets ``src_vocab_``, ``tgt_vocab_``, ``max_target_len_``, ``n_train_`` /
        ``n_validation_`` (pairs), ``history_`` and ``model_``; returns ``self``.
        """
        self._check_params()
        pairs = as_pairs(X, y)
        for i, (s, t) in enumerate(pairs):
            if not split_tokens(s, self.level) or not split_tokens(t, self.level):
                what = "source" if not split_tokens(s, self.level) else "target"
                raise DataError(f"pair {i} has an empty {what} ({s!r} -> {t!r})")
        n_val = n_held_out(self.validation, len(pairs))
        if len(pairs) - n_val < 1:
            raise DataError(f"fit needs at least one training pair: {len(pairs)} pair(s) and "
                            f"validation={self.validation!r} holds out {n_val}")
        self.__dict__.pop("model_", None)  # a failed refit leaves the estimator unfitted
        order = np.random.default_rng(self.seed).permutation(len(pairs))
        train_pairs = [pairs[i] for i in order[n_val:]]
        val_pairs = [pairs[i] for i in order[:n_val]]
        self.n_train_, self.n_validation_ = len(train_pairs), len(val_pairs)
        self.src_vocab_, self.tgt_vocab_ = build_vocabs(train_pairs, self.level)
        self.max_target_len_ = max(len(split_tokens(t, self.level)) for _, t in train_pairs)
        enc = encode_pairs(train_pairs, self.src_vocab_, self.tgt_vocab_, self.level)
        train = PairBatches(enc, self.batch_size, True, self.seed)
        val = None
        if val_pairs:
            val = PairBatches(encode_pairs(val_pairs, self.src_vocab_, self.tgt_vocab_,
                                           self.level), max(self.batch_size, 512), False, 0)
        torch.manual_seed(self.seed)
        model = Seq2Seq(len(self.src_vocab_), len(self.tgt_vocab_), self.embed_size,
                        self.hidden_size, self.cell, self.num_layers, self.attention,
                        self.peeky, self.reverse_source, self.dropout)
        self._train(model, train, val, loss=masked_cross_entropy, epochs=self.epochs,
                    checkpoint=checkpoint, checkpoint_every=checkpoint_every, resume=resume)
        self.model_ = model
        return self

    # -- decoding -----------------------------------------------------------------------------
    def _encode_sources(self, sources: Sequence[str], offset: int = 0):
        ids = [self.src_vocab_.encode(split_tokens(s, self.level)) for s in sources]
        for i, a in enumerate(ids):
            if len(a) == 0:
                raise DataError(f"X[{offset + i}] is an empty source ({sources[i]!r})")
        src, n = pad_sequences(ids)
        dev = next(self.model_.parameters()).device
        return torch.from_numpy(src).to(dev), torch.from_numpy(n)  # (B, S), (B,)

    def _join(self, tokens: list[str]) -> str:
        return ("" if self.level == "char" else " ").join(tokens)

    def _strip(self, ids) -> list[str]:
        toks = self.tgt_vocab_.decode(ids)
        return toks[:toks.index(EOS)] if EOS in toks else toks

    def predict(self, X: Sequence[str], beam_size: int = 1, max_len: int | None = None,
                batch_size: int = 512) -> list[str]:
        """Decoded targets of the sources ``X`` (a str is one source): greedy for
        ``beam_size=1`` (batched), else beam search one source at a time."""
        self._check_fitted()
        sources = _strings(X, "X")
        check_int("beam_size", beam_size)
        check_int("max_len", max_len, none=True)
        check_int("batch_size", batch_size)
        self.model_.eval()
        max_len = max_len or self.max_target_len_ + 2
        bos, eos = self.tgt_vocab_.token_to_id[BOS], self.tgt_vocab_.token_to_id[EOS]
        out: list[str] = []
        if beam_size == 1:
            for s in range(0, len(sources), batch_size):
                src, n = self._encode_sources(sources[s:s + batch_size], s)
                ids, _ = self.model_.greedy(src, n, bos, eos, max_len)  # (B, T')
                out += [self._join(self._strip(row)) for row in ids.cpu().numpy()]
            return out
        for i, source in enumerate(sources):
            src, n = self._encode_sources([source], i)
            ids, _ = self.model_.beam_search(src, n, bos, eos, max_len, beam_size)
            out.append(self._join(self._strip(ids)))
        return out

    def score(self, X: Sequence, y: Sequence[str] | None = None, beam_size: int = 1) -> float:
        """Exact-match accuracy of the decoded targets (``X`` pairs, or sources and ``y``)."""
        self._check_fitted()
        pairs = as_pairs(X, y)
        if not pairs:
            raise DataError("score needs at least one (source, target) pair, got 0")
        pred = self.predict([s for s, _ in pairs], beam_size=beam_size)
        return float(np.mean([p == t for p, (_, t) in zip(pred, pairs, strict=True)]))

    def attention_weights(self, source: str, max_len: int | None = None
                          ) -> tuple[np.ndarray, list[str], list[str]]:
        """Greedy decode of one source: weights (T', S) in source order, source tokens,
        output tokens (``</s>`` included)."""
        self._check_fitted()
        if self.attention is None:
            raise ConfigError("this model has no attention (attention=None)")
        src, n = self._encode_sources([source])
        bos, eos = self.tgt_vocab_.token_to_id[BOS], self.tgt_vocab_.token_to_id[EOS]
        ids, w = self.model_.greedy(src, n, bos, eos, max_len or self.max_target_len_ + 2)
        toks = self.tgt_vocab_.decode(ids[0])
        T = toks.index(EOS) + 1 if EOS in toks else len(toks)
        w = w[0, :T].cpu().numpy()  # (T', S)
        if self.reverse_source:
            w = w[:, ::-1]  # the encoder read the source backwards
        return w, split_tokens(source, self.level), toks[:T]

    # -- persistence --------------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        return {"src_vocab": self.src_vocab_.to_dict(), "tgt_vocab": self.tgt_vocab_.to_dict(),
                "max_target_len": self.max_target_len_, "n_train": self.n_train_,
                "n_validation": self.n_validation_}

    def _set_state(self, state: dict[str, Any]) -> None:
        src, tgt = Vocabulary.from_dict(state["src_vocab"]), Vocabulary.from_dict(
            state["tgt_vocab"])
        cfg = self.model_.get_config()
        for name, vocab in (("src", src), ("tgt", tgt)):
            if len(vocab) != cfg[f"{name}_vocab_size"]:
                raise ValueError(f"the {name} vocabulary has {len(vocab)} tokens, the network "
                                 f"{cfg[f'{name}_vocab_size']}")
            if BOS not in vocab or EOS not in vocab:
                raise ValueError(f"the {name} vocabulary lacks {BOS} or {EOS}")
        max_len = state["max_target_len"]
        if isinstance(max_len, bool) or not isinstance(max_len, int) or max_len < 1:
            raise ValueError(f"max_target_len must be a positive int, got {max_len!r}")
        self.src_vocab_, self.tgt_vocab_, self.max_target_len_ = src, tgt, max_len
        self.n_train_, self.n_validation_ = state.get("n_train"), state.get("n_validation")


__all__ = ["PairBatches", "Seq2SeqTask", "as_pairs", "collate", "masked_cross_entropy"]
