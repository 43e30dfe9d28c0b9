"""``Seq2SeqTask``: fit an encoder-decoder on (source, target) string pairs, decode, score.

>>> from rnnkit.data.seq2seq_tasks import make_addition
>>> pairs = make_addition(50_000, seed=0)
>>> task = Seq2SeqTask(reverse_source=True, peeky=True, epochs=25).fit(pairs[:45_000])
>>> task.score(pairs[45_000:])          # exact-match accuracy
>>> task.predict(["16+75"])             # ['91']

Training uses teacher forcing with cross-entropy over the real target tokens (padding is
ignored), Adam and gradient clipping, through :class:`rnnkit.train.trainer.Trainer`.
Saved as ``config.json`` (options and vocabularies) + ``model.safetensors``.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from rnnkit.data.batching import bucket_batches, pad_sequences
from rnnkit.data.seq2seq_tasks import BOS, EOS, build_vocabs, encode_pairs, split_tokens
from rnnkit.data.text import Vocabulary
from rnnkit.errors import DataError
from rnnkit.fileio import atomic_directory, write_json
from rnnkit.tasks.seq2seq.model import Seq2Seq

log = logging.getLogger(__name__)


class PairBatches:
    """Length-bucketed teacher-forcing batches ``({"src", "src_lengths", "tgt_in"}, tgt_out)``."""

    def __init__(self, enc, batch_size: int, shuffle: bool, seed: int, pad_id: int = 0):
        self.enc, self.batch_size, self.shuffle, self.seed = enc, batch_size, shuffle, seed
        self.pad_id = pad_id
        self._epoch = 0
        self.lengths = np.asarray([len(s) for s in enc.src])

    def __len__(self) -> int:
        return -(-len(self.lengths) // self.batch_size) if not self.shuffle else len(
            bucket_batches(self.lengths, self.batch_size, True, 0))

    def __iter__(self):
        batches = bucket_batches(self.lengths, self.batch_size, self.shuffle,
                                 self.seed + self._epoch)
        self._epoch += 1
        for b in batches:
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


class Seq2SeqTask:
    """Estimator over :class:`Seq2Seq`; ``fit`` returns self; learned state ends in ``_``."""

    def __init__(self, cell: str = "lstm", embed_size: int = 32, hidden_size: int = 128,
                 num_layers: int = 1, attention: str | None = None, peeky: bool = False,
                 reverse_source: bool = False, dropout: float = 0.0, level: str = "char",
                 epochs: int = 10, batch_size: int = 128, lr: float = 1e-3,
                 clip_grad_norm: float | None = 5.0, seed: int = 0, device: str = "cpu"):
        if level not in ("char", "word"):
            raise ValueError(f"level must be 'char' or 'word', got {level!r}")
        self.cell, self.embed_size, self.hidden_size = cell, embed_size, hidden_size
        self.num_layers, self.attention, self.peeky = num_layers, attention, peeky
        self.reverse_source, self.dropout, self.level = reverse_source, dropout, level
        self.epochs, self.batch_size, self.lr = epochs, batch_size, lr
        self.clip_grad_norm, self.seed, self.device = clip_grad_norm, seed, device

    def params(self) -> dict[str, Any]:
        keys = ("cell", "embed_size", "hidden_size", "num_layers", "attention", "peeky",
                "reverse_source", "dropout", "level", "epochs", "batch_size", "lr",
                "clip_grad_norm", "seed")
        return {k: getattr(self, k) for k in keys}

    def _build(self) -> None:
        torch.manual_seed(self.seed)
        self.model_ = Seq2Seq(len(self.src_vocab_), len(self.tgt_vocab_), self.embed_size,
                              self.hidden_size, self.cell, self.num_layers, self.attention,
                              self.peeky, self.reverse_source, self.dropout)

    def fit(self, pairs: Sequence[tuple[str, str]],
            val_pairs: Sequence[tuple[str, str]] | None = None, callbacks=()) -> Seq2SeqTask:
        from rnnkit.train import Trainer

        if not pairs:
            raise DataError("pairs must hold at least one (source, target) pair, got 0")
        self.src_vocab_, self.tgt_vocab_ = build_vocabs(pairs, self.level)
        self.max_target_len_ = max(len(split_tokens(t, self.level)) for _, t in pairs)
        self._build()
        enc = encode_pairs(pairs, self.src_vocab_, self.tgt_vocab_, self.level)
        train = PairBatches(enc, self.batch_size, True, self.seed)
        val = None
        if val_pairs:
            val = PairBatches(encode_pairs(val_pairs, self.src_vocab_, self.tgt_vocab_,
                                           self.level), 512, False, 0)
        trainer = Trainer(self.model_, masked_cross_entropy,
                          lambda p: torch.optim.Adam(p, lr=self.lr), callbacks=callbacks,
                          clip_grad_norm=self.clip_grad_norm, device=self.device)
        self.history_ = trainer.fit(train, self.epochs, val)
        self.model_.eval()
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise ValueError("this Seq2SeqTask is not fitted: call fit() or load() first")

    def _encode_sources(self, sources: Sequence[str]):
        ids = [self.src_vocab_.encode(split_tokens(s, self.level)) for s in sources]
        if any(len(i) == 0 for i in ids):
            raise ValueError("sources must be non-empty strings")
        src, n = pad_sequences(ids)
        dev = next(self.model_.parameters()).device
        return torch.from_numpy(src).to(dev), torch.from_numpy(n)

    def _join(self, tokens: list[str]) -> str:
        return ("" if self.level == "char" else " ").join(tokens)

    def _strip(self, ids) -> list[str]:
        toks = self.tgt_vocab_.decode(ids)
        return toks[:toks.index(EOS)] if EOS in toks else toks

    def predict(self, sources: Sequence[str], beam_size: int = 1, max_len: int | None = None,
                batch_size: int = 512) -> list[str]:
        """Decoded targets (greedy for ``beam_size=1``, else beam search, one by one)."""
        self._check_fitted()
        self.model_.eval()
        max_len = max_len or self.max_target_len_ + 2
        bos, eos = self.tgt_vocab_.token_to_id[BOS], self.tgt_vocab_.token_to_id[EOS]
        out: list[str] = []
        if beam_size == 1:
            for s in range(0, len(sources), batch_size):
                src, n = self._encode_sources(sources[s:s + batch_size])
                ids, _ = self.model_.greedy(src, n, bos, eos, max_len)
                out += [self._join(self._strip(row)) for row in ids.cpu().numpy()]
            return out
        for source in sources:
            src, n = self._encode_sources([source])
            ids, _ = self.model_.beam_search(src, n, bos, eos, max_len, beam_size)
            out.append(self._join(self._strip(ids)))
        return out

    def score(self, pairs: Sequence[tuple[str, str]], beam_size: int = 1) -> float:
        """Exact-match accuracy of the decoded targets."""
        pred = self.predict([s for s, _ in pairs], beam_size=beam_size)
        return float(np.mean([p == t for p, (_, t) in zip(pred, pairs, strict=True)]))

    def attention_weights(self, source: str, max_len: int | None = None
                          ) -> tuple[np.ndarray, list[str], list[str]]:
        """Greedy decode of one source: weights (T', S) in source order, source tokens,
        output tokens (``</s>`` included)."""
        self._check_fitted()
        if self.attention is None:
            raise ValueError("this model has no attention (attention=None)")
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
    def save(self, directory: str | os.PathLike) -> None:
        self._check_fitted()
        with atomic_directory(directory) as tmp:
            save_file({k: v.detach().cpu().contiguous()
                       for k, v in self.model_.state_dict().items()}, tmp / "model.safetensors")
            write_json(tmp / "config.json", {
                "task": "seq2seq", "params": self.params(),
                "max_target_len": self.max_target_len_,
                "src_vocab": self.src_vocab_.to_dict(), "tgt_vocab": self.tgt_vocab_.to_dict()})

    @classmethod
    def load(cls, directory: str | os.PathLike) -> Seq2SeqTask:
        d = Path(directory)
        try:
            cfg = json.loads((d / "config.json").read_text(encoding="utf-8"))
            if cfg.get("task") != "seq2seq":
                raise DataError(f"{str(d)!r} holds a {cfg.get('task')!r} model, not seq2seq")
            task = cls(**cfg["params"])
            task.src_vocab_ = Vocabulary.from_dict(cfg["src_vocab"])
            task.tgt_vocab_ = Vocabulary.from_dict(cfg["tgt_vocab"])
            task.max_target_len_ = int(cfg["max_target_len"])
        except (OSError, KeyError, json.JSONDecodeError) as exc:
            raise DataError(f"model folder {str(d)!r} has no valid config.json: {exc}") from exc
        task._build()
        task.model_.load_state_dict(load_file(d / "model.safetensors"))
        task.model_.eval()
        return task


__all__ = ["PairBatches", "Seq2SeqTask", "collate", "masked_cross_entropy"]
