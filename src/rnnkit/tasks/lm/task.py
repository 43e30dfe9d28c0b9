r"""``LanguageModelTask``: train a word- or character-level RNN LM on one text, measure
perplexity on a held-out part, generate from a prompt.

The text is tokenised (:func:`rnnkit.data.text.tokenize`) and split in time: the last
``val_fraction`` of the tokens is held out. The vocabulary is built on the training part
(``max_size``, ``min_freq``; unknown tokens map to ``<unk>``). Training is stateful
truncated BPTT over ``batch_size`` parallel streams (:class:`rnnkit.data.batching.
TokenStream`): chunks of ``bptt`` steps, the state carried across chunks and detached, reset
at the start of every epoch.

Perplexity = exp(mean cross-entropy per token). The unigram baseline is the perplexity of
the training-set token frequencies (add-one smoothed) on the held-out part.

Generation: feed the prompt, then repeatedly sample the next token from
softmax(logits / temperature), restricted to the ``top_k`` most likely tokens if set
(``temperature=0`` takes the arg-max); ``<pad>`` and ``<unk>`` are never produced.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from rnnkit.data.batching import TokenStream
from rnnkit.data.text import Vocabulary, detokenize, tokenize
from rnnkit.errors import DataError
from rnnkit.fileio import atomic_directory, write_json
from rnnkit.tasks.lm.model import RNNLanguageModel, detach

EpochCallback = Callable[[int, dict[str, float]], None]


def unigram_perplexity(train_ids: np.ndarray, test_ids: np.ndarray, vocab_size: int) -> float:
    """exp(-mean log p(w)) with p the add-one-smoothed training frequencies."""
    counts = np.bincount(train_ids, minlength=vocab_size).astype(np.float64) + 1.0
    logp = np.log(counts / counts.sum())
    return float(np.exp(-logp[test_ids].mean()))


def run_tbptt_epoch(model: RNNLanguageModel, stream: TokenStream,
                    optimizer: torch.optim.Optimizer | None, clip_grad_norm: float | None,
                    device: torch.device) -> float:
    """One pass over ``stream``; trains when ``optimizer`` is given. Returns the mean loss
    per token (nats)."""
    train = optimizer is not None
    model.train(train)
    state = None
    total, count = 0.0, 0
    with torch.set_grad_enabled(train):
        for x, y in stream:
            x, y = x.to(device), y.to(device)  # (B, T)
            logits, state = model(x, detach(state))  # (B, T, V)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
            if train:
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if clip_grad_norm:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), clip_grad_norm)
                optimizer.step()
            total += loss.detach().item() * y.numel()
            count += y.numel()
    return total / count


class LanguageModelTask:
    """Estimator over :class:`RNNLanguageModel`; see the module doc."""

    _param_names = ("level", "lower", "max_size", "min_freq", "embed_size", "hidden_size",
                    "num_layers", "dropout", "tie_weights", "cell", "epochs", "batch_size",
                    "bptt", "optimizer", "lr", "clip_grad_norm", "val_fraction", "seed")

    def __init__(self, level: str = "word", lower: bool = True, max_size: int | None = 10_000,
                 min_freq: int = 1, embed_size: int = 128, hidden_size: int = 256,
                 num_layers: int = 2, dropout: float = 0.2, tie_weights: bool = True,
                 cell: str = "lstm", epochs: int = 5, batch_size: int = 32, bptt: int = 35,
                 optimizer: str = "adam", lr: float = 2e-3, clip_grad_norm: float | None = 1.0,
                 val_fraction: float = 0.1, seed: int = 0, device: str = "cpu"):
        if level not in ("word", "char"):
            raise ValueError(f"level must be 'word' or 'char', got {level!r}")
        if optimizer not in ("adam", "sgd"):
            raise ValueError(f"optimizer must be 'adam' or 'sgd', got {optimizer!r}")
        if not 0.0 < val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction!r}")
        self.level, self.lower, self.max_size, self.min_freq = level, lower, max_size, min_freq
        self.embed_size, self.hidden_size, self.num_layers = embed_size, hidden_size, num_layers
        self.dropout, self.tie_weights, self.cell = dropout, tie_weights, cell
        self.epochs, self.batch_size, self.bptt = epochs, batch_size, bptt
        self.optimizer, self.lr, self.clip_grad_norm = optimizer, lr, clip_grad_norm
        self.val_fraction, self.seed, self.device = val_fraction, seed, device

    def params(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self._param_names}

    def _build(self) -> None:
        torch.manual_seed(self.seed)
        self.model_ = RNNLanguageModel(len(self.vocab_), self.embed_size, self.hidden_size,
                                       self.num_layers, self.dropout, self.tie_weights,
                                       self.cell).to(self.device)

    def fit(self, text: str, on_epoch_end: EpochCallback | None = None) -> LanguageModelTask:
        """Train on ``text``; ``history_`` holds per-epoch loss, perplexity, val_perplexity,
        seconds. ``on_epoch_end(epoch, logs)`` is called after each epoch."""
        tokens = tokenize(text, self.level, self.lower)
        n_val = int(len(tokens) * self.val_fraction)
        if len(tokens) - n_val < 2 * self.batch_size + 2 or n_val < 2:
            raise DataError(f"the text is too short: {len(tokens)} {self.level} tokens for "
                            f"batch_size {self.batch_size} and val_fraction {self.val_fraction}")
        train_toks, val_toks = tokens[:-n_val], tokens[-n_val:]
        self.vocab_ = Vocabulary.build(train_toks, self.max_size, self.min_freq)
        train_ids = self.vocab_.encode(train_toks)
        val_ids = self.vocab_.encode(val_toks)
        self.unigram_perplexity_ = unigram_perplexity(train_ids, val_ids, len(self.vocab_))
        self._build()
        dev = torch.device(self.device)
        params = self.model_.parameters()
        opt = (torch.optim.Adam(params, lr=self.lr) if self.optimizer == "adam"
               else torch.optim.SGD(params, lr=self.lr))
        train = TokenStream(train_ids, self.batch_size, self.bptt)
        val = TokenStream(val_ids, min(self.batch_size, max(1, (len(val_ids) - 1) // 2)),
                          self.bptt)
        self.history_: dict[str, list[float]] = {"loss": [], "perplexity": [],
                                                 "val_perplexity": [], "seconds": []}
        for epoch in range(self.epochs):
            t0 = time.perf_counter()
            loss = run_tbptt_epoch(self.model_, train, opt, self.clip_grad_norm, dev)
            val_loss = run_tbptt_epoch(self.model_, val, None, None, dev)
            logs = {"loss": loss, "perplexity": math.exp(loss),
                    "val_perplexity": math.exp(val_loss),
                    "seconds": time.perf_counter() - t0}
            for k, v in logs.items():
                self.history_[k].append(v)
            if on_epoch_end is not None:
                on_epoch_end(epoch, logs)
        self.model_.eval()
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise ValueError("this LanguageModelTask is not fitted: call fit() or load()")

    def perplexity(self, text: str, batch_size: int = 8) -> float:
        """Perplexity of the fitted model on ``text`` (stateful over one pass)."""
        self._check_fitted()
        ids = self.vocab_.encode(tokenize(text, self.level, self.lower))
        bs = min(batch_size, max(1, (len(ids) - 1) // 2))
        stream = TokenStream(ids, bs, self.bptt)
        dev = next(self.model_.parameters()).device
        return math.exp(run_tbptt_epoch(self.model_, stream, None, None, dev))

    @torch.no_grad()
    def generate(self, prompt: str = "", length: int = 50, temperature: float = 1.0,
                 top_k: int | None = None, seed: int | None = None) -> str:
        """The prompt followed by ``length`` sampled tokens, as text."""
        self._check_fitted()
        if temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {temperature!r}")
        if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int)
                                  or top_k < 1):
            raise ValueError(f"top_k must be None or a positive int, got {top_k!r}")
        self.model_.eval()
        dev = next(self.model_.parameters()).device
        gen = torch.Generator().manual_seed(self.seed if seed is None else seed)
        toks = tokenize(prompt, self.level, self.lower) if prompt else []
        ids = self.vocab_.encode(toks) if toks else np.asarray([self.vocab_.unk_id])
        logits, state = self.model_(torch.from_numpy(ids)[None].to(dev))  # (1, T, V)
        last = logits[0, -1]  # (V,)
        banned = [self.vocab_.pad_id, self.vocab_.unk_id]
        out: list[str] = []
        for _ in range(length):
            scores = last.float().cpu().clone()
            scores[banned] = float("-inf")
            if temperature == 0:
                nxt = int(scores.argmax())
            else:
                scores = scores / temperature
                if top_k is not None and top_k < len(scores):
                    kth = scores.topk(top_k).values[-1]
                    scores[scores < kth] = float("-inf")
                nxt = int(torch.multinomial(torch.softmax(scores, -1), 1, generator=gen))
            out.append(self.vocab_.id_to_token[nxt])
            logits, state = self.model_(torch.tensor([[nxt]], device=dev), state)
            last = logits[0, -1]
        return detokenize([*toks, *out], self.level)

    # -- persistence --------------------------------------------------------------------------
    def save(self, directory: str | os.PathLike) -> None:
        self._check_fitted()
        with atomic_directory(directory) as tmp:
            sd = {k: v.detach().cpu().contiguous() for k, v in self.model_.state_dict().items()}
            if self.tie_weights:
                sd.pop("out.weight", None)  # the same tensor as embed.weight
            save_file(sd, tmp / "model.safetensors")
            write_json(tmp / "config.json", {
                "task": "lm", "params": self.params(), "vocab": self.vocab_.to_dict(),
                "unigram_perplexity": self.unigram_perplexity_,
                "history": getattr(self, "history_", {})})

    @classmethod
    def load(cls, directory: str | os.PathLike, device: str = "cpu") -> LanguageModelTask:
        d = Path(directory)
        try:
            cfg = json.loads((d / "config.json").read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise DataError(f"model folder {str(d)!r} has no valid config.json: {exc}") from exc
        if cfg.get("task") != "lm":
            raise DataError(f"{str(d)!r} holds a {cfg.get('task')!r} model, not a language "
                            f"model")
        task = cls(**cfg["params"], device=device)
        task.vocab_ = Vocabulary.from_dict(cfg["vocab"])
        task.unigram_perplexity_ = cfg.get("unigram_perplexity")
        task.history_ = cfg.get("history", {})
        task._build()
        sd = load_file(d / "model.safetensors")
        task.model_.load_state_dict(sd, strict=not task.tie_weights)
        task.model_.eval()
        return task


__all__ = ["LanguageModelTask", "run_tbptt_epoch", "unigram_perplexity"]
