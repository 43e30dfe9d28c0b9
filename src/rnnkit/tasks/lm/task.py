r"""``LanguageModelTask``: train a word- or character-level RNN language model on a text,
measure its perplexity, continue a prompt.

>>> lm = LanguageModelTask(epochs=3).fit(text)      # a str, or a list of documents
>>> lm.history_["val_perplexity"]                   # per epoch, on the held-out tail
>>> lm.perplexity(other_text); lm.score(other_text) # score = -mean nats per token
>>> lm.generate("a list is", length=30, temperature=0.8, top_k=40)
>>> lm.predict(["the", "a list"])                   # greedy continuations (temperature 0)

The text (documents joined by newlines) is tokenised (:func:`rnnkit.data.text.tokenize`) and
split in time: the last ``validation`` of the tokens (a fraction, or a count of tokens) is
held out. The vocabulary is built on the training part (``max_size``, ``min_freq``; unknown
tokens map to ``<unk>``). Training is truncated BPTT over ``batch_size`` parallel streams
(:class:`rnnkit.data.batching.TokenStream`): chunks of ``bptt`` steps, the state carried
from one chunk to the next and detached, reset at the start of every epoch and of every
evaluation -- the shared recipe of :meth:`rnnkit.tasks.base.Estimator._train` with
``carry_state=True`` (``optimizer`` at ``lr``, gradients clipped at ``clip_grad_norm``,
early stopping on the held-out loss after ``patience`` epochs without improvement, the best
weights restored).

History (per epoch): ``loss`` / ``val_loss``, the mean of the chunks' mean cross-entropy per
token (nats; the last, shorter chunk of an epoch counts as much as a full one), and
``perplexity`` / ``val_perplexity`` = exp(total cross-entropy / number of tokens), exact per
token. The held-out streams each start from an empty state; :meth:`perplexity` reads a text
as one stream (``batch_size=1``), so its figure on the held-out tail is a little lower.

The unigram baseline (``unigram_perplexity_``) is the perplexity of the training-set token
frequencies (add-one smoothed) on the held-out part.

Generation: feed the prompt, then repeatedly sample the next token from
softmax(logits / temperature), restricted to the ``top_k`` most likely tokens if set
(``temperature=0`` takes the arg-max); ``<pad>`` and ``<unk>`` are never produced.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from rnnkit.data.batching import TokenStream
from rnnkit.data.text import LEVELS, Vocabulary, detokenize, tokenize
from rnnkit.errors import DataError
from rnnkit.tasks.base import (
    Estimator,
    check_bool,
    check_choice,
    check_float,
    check_int,
    n_held_out,
)
from rnnkit.tasks.lm.model import CELLS, RNNLanguageModel
from rnnkit.train.metrics import Metric

log = logging.getLogger(__name__)

OPTIMIZERS = ("adam", "adamw", "rmsprop", "sgd")


def unigram_perplexity(train_ids: np.ndarray, test_ids: np.ndarray, vocab_size: int) -> float:
    """exp(-mean log p(w)) with p the add-one-smoothed training frequencies."""
    counts = np.bincount(train_ids, minlength=vocab_size).astype(np.float64) + 1.0
    logp = np.log(counts / counts.sum())
    return float(np.exp(-logp[test_ids].mean()))


def _nll_stat(logits: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, int]:
    """(summed cross-entropy, number of tokens) of logits (B, T, V) against targets (B, T)."""
    total = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1),
                            reduction="sum")
    return total, target.numel()


#: exp(total cross-entropy / tokens) over an epoch: the exact per-token perplexity.
PERPLEXITY = Metric("perplexity", _nll_stat, math.exp)


def as_text(X: Any, name: str = "X") -> str:
    """A str as it is; a list (tuple, array) of str joined by newlines."""
    if isinstance(X, str):
        return X
    if isinstance(X, (list, tuple, np.ndarray)):
        docs = list(X)
        for i, d in enumerate(docs):
            if not isinstance(d, str):
                raise TypeError(f"{name}[{i}] must be a str, got {type(d).__name__}")
        return "\n".join(docs)
    raise TypeError(f"{name} must be a str or a list of str, got {type(X).__name__}")


class LanguageModelTask(Estimator):
    """Estimator over :class:`RNNLanguageModel`; see the module doc.

    Args:
        level: ``"word"`` or ``"char"`` tokens.
        lower: lower-case the text first.
        max_size: vocabulary size cap, specials included (None: no cap).
        min_freq: keep tokens seen at least this often in the training part.
        embed_size, hidden_size, num_layers, dropout, tie_weights, cell: the network
            (:class:`RNNLanguageModel`).
        bptt: truncated-BPTT chunk length (steps).
        epochs: maximum training epochs (early stopping may end sooner).
        batch_size: parallel token streams.
        optimizer: ``"adam"``, ``"adamw"``, ``"rmsprop"`` or ``"sgd"``, at ``lr``.
        lr: learning rate.
        clip_grad_norm: global gradient-norm clip (None: off).
        validation: held-out tail of the tokens: a fraction in [0, 1) or a count (0: none).
        patience: stop after this many epochs without a lower ``val_loss`` (None: off).
        seed: seed of the weights and of dropout.
        device: ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"``.
        verbose: progress on stderr: ``"auto"``, 0, 1 (bar) or 2 (a line per epoch).
        precision: ``"fp32"`` (default), ``"bf16"`` or ``"fp16"``: autocast in training.
    """

    task = "language-model"

    def __init__(self, level: str = "word", lower: bool = True, max_size: int | None = 10_000,
                 min_freq: int = 1, embed_size: int = 128, hidden_size: int = 256,
                 num_layers: int = 2, dropout: float = 0.2, tie_weights: bool = True,
                 cell: str = "lstm", bptt: int = 35, epochs: int = 5, batch_size: int = 32,
                 optimizer: str = "adam", lr: float = 2e-3, clip_grad_norm: float | None = 1.0,
                 validation: float | int = 0.1, patience: int | None = 3, seed: int = 0,
                 device: str = "cpu", verbose: int | str = "auto",
                 precision: str = "fp32"):
        self.level, self.lower, self.max_size, self.min_freq = level, lower, max_size, min_freq
        self.embed_size, self.hidden_size, self.num_layers = embed_size, hidden_size, num_layers
        self.dropout, self.tie_weights, self.cell, self.bptt = dropout, tie_weights, cell, bptt
        self.epochs, self.batch_size, self.optimizer, self.lr = epochs, batch_size, optimizer, lr
        self.clip_grad_norm, self.validation, self.patience = clip_grad_norm, validation, patience
        self.seed, self.device, self.verbose = seed, device, verbose
        self.precision = precision

    # -- options ------------------------------------------------------------------------------
    def _check_params(self) -> None:
        check_choice("level", self.level, LEVELS)
        check_bool("lower", self.lower)
        check_int("max_size", self.max_size, low=2, none=True)
        check_int("min_freq", self.min_freq)
        check_int("embed_size", self.embed_size)
        check_int("hidden_size", self.hidden_size)
        check_int("num_layers", self.num_layers)
        check_float("dropout", self.dropout, 0.0, 1.0, low_open=False)
        check_bool("tie_weights", self.tie_weights)
        check_choice("cell", self.cell, tuple(CELLS))
        check_int("bptt", self.bptt)
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        self._check_training()

    # -- training -----------------------------------------------------------------------------
    def fit(self, X: str | Sequence[str], y: None = None, *, checkpoint=None,
            checkpoint_every: int = 1, resume: bool = False) -> LanguageModelTask:
        """Train on ``X`` (a str, or documents joined by newlines); ``y`` is ignored.

        Sets ``vocab_``, ``unigram_perplexity_`` (None without a held-out part),
        ``n_train_`` / ``n_validation_`` (tokens), ``history_`` and ``model_``; returns
        ``self``. ``checkpoint``, ``checkpoint_every``, ``resume``: a resumable fit
        (:mod:`rnnkit.tasks.base`).
        """
        self._check_params()
        tokens = tokenize(as_text(X), self.level, self.lower)
        n_val = n_held_out(self.validation, len(tokens))
        n_train = len(tokens) - n_val
        if n_train < self.batch_size + 1:
            raise DataError(f"the text is too short: {len(tokens)} {self.level} tokens, {n_train} "
                            f"left for training after validation={self.validation!r}; "
                            f"batch_size={self.batch_size} streams need at least "
                            f"{self.batch_size + 1}")
        if n_val == 1:
            raise DataError(f"validation={self.validation!r} holds out 1 token of "
                            f"{len(tokens)}; hold out none (0) or at least 2")
        self.__dict__.pop("model_", None)  # a failed refit leaves the estimator unfitted
        self.n_train_, self.n_validation_ = n_train, n_val
        train_toks, val_toks = tokens[:n_train], tokens[n_train:]
        self.vocab_ = Vocabulary.build(train_toks, self.max_size, self.min_freq)
        train_ids = self.vocab_.encode(train_toks)
        train = TokenStream(train_ids, self.batch_size, self.bptt)
        val = None
        self.unigram_perplexity_: float | None = None
        if n_val:
            val_ids = self.vocab_.encode(val_toks)
            self.unigram_perplexity_ = unigram_perplexity(train_ids, val_ids, len(self.vocab_))
            # streams at least one chunk long (each starts from an empty state)
            streams = min(self.batch_size, max(1, (n_val - 1) // self.bptt))
            val = TokenStream(val_ids, streams, self.bptt)
        torch.manual_seed(self.seed)
        model = RNNLanguageModel(len(self.vocab_), self.embed_size, self.hidden_size,
                                 self.num_layers, self.dropout, self.tie_weights, self.cell)
        self._train(model, train, val, loss="cross_entropy", metrics=(PERPLEXITY,),
                    epochs=self.epochs, carry_state=True, optimizer=self.optimizer,
                    checkpoint=checkpoint, checkpoint_every=checkpoint_every, resume=resume)
        self.model_ = model
        return self

    # -- evaluation ---------------------------------------------------------------------------
    def _device(self) -> torch.device:
        return next(self.model_.parameters()).device

    @torch.no_grad()
    def _mean_nll(self, X: str | Sequence[str], batch_size: int) -> float:
        """Mean cross-entropy per token (nats) of the model on ``X`` read as streams."""
        self._check_fitted()
        check_int("batch_size", batch_size)
        ids = self.vocab_.encode(tokenize(as_text(X), self.level, self.lower))
        if len(ids) < batch_size + 1:
            raise DataError(f"X must hold at least {batch_size + 1} {self.level} tokens for "
                            f"batch_size={batch_size}, got {len(ids)}")
        self.model_.eval()
        dev = self._device()
        total = torch.zeros((), dtype=torch.float64, device=dev)
        count, state = 0, None
        for x, y in TokenStream(ids, batch_size, self.bptt):
            logits, state = self.model_(x.to(dev), state)  # (B, T, V)
            s, n = _nll_stat(logits, y.to(dev))
            total += s
            count += n
        return float(total) / count

    def score(self, X: str | Sequence[str], y: None = None, batch_size: int = 1) -> float:
        """Minus the mean cross-entropy per token of ``X`` in nats (higher is better).

        ``batch_size`` parallel streams (1: the text as one sequence, exact; more are faster
        but every stream starts from an empty state).
        """
        return -self._mean_nll(X, batch_size)

    def perplexity(self, X: str | Sequence[str], batch_size: int = 1) -> float:
        """exp(mean cross-entropy per token) of ``X``: ``exp(-score(X))``."""
        return math.exp(self._mean_nll(X, batch_size))

    # -- generation ---------------------------------------------------------------------------
    @torch.no_grad()
    def generate(self, prompt: str = "", length: int = 50, temperature: float = 1.0,
                 top_k: int | None = None, seed: int | None = None) -> str:
        """The prompt followed by ``length`` sampled tokens, as text.

        ``seed`` (default: the estimator's) makes the sampling reproducible;
        ``temperature=0`` is greedy (arg-max) and ignores ``top_k`` and ``seed``.
        """
        self._check_fitted()
        if not isinstance(prompt, str):
            raise TypeError(f"prompt must be a str, got {type(prompt).__name__}")
        check_int("length", length)
        check_float("temperature", temperature, low_open=False)
        check_int("top_k", top_k, none=True)
        self.model_.eval()
        dev = self._device()
        gen = torch.Generator().manual_seed(self.seed if seed is None else seed)
        toks = tokenize(prompt, self.level, self.lower) if prompt else []
        ids = self.vocab_.encode(toks) if toks else np.asarray([self.vocab_.unk_id])
        logits, state = self.model_(torch.from_numpy(ids)[None].to(dev))  # (1, T, V)
        last = logits[0, -1]  # (V,)
        banned = [self.vocab_.pad_id, self.vocab_.unk_id]
        out: list[str] = []
        for _ in range(length):
            scores = last.float().cpu().clone()  # (V,)
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
            logits, state = self.model_(torch.tensor([[nxt]], device=dev), state)  # (1, 1, V)
            last = logits[0, -1]
        return detokenize([*toks, *out], self.level)

    def predict(self, X: str | Sequence[str], length: int = 50, temperature: float = 0.0,
                top_k: int | None = None, seed: int | None = None) -> list[str]:
        """:meth:`generate` for every prompt of ``X`` (a str is one prompt); greedy by
        default, so the same model always gives the same continuations."""
        self._check_fitted()
        prompts = [X] if isinstance(X, str) else list(X)
        return [self.generate(p, length, temperature, top_k, seed) for p in prompts]

    # -- persistence --------------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        return {"vocab": self.vocab_.to_dict(), "unigram_perplexity": self.unigram_perplexity_,
                "n_train": self.n_train_, "n_validation": self.n_validation_}

    def _set_state(self, state: dict[str, Any]) -> None:
        vocab = Vocabulary.from_dict(state["vocab"])
        size = self.model_.get_config()["vocab_size"]
        if len(vocab) != size:
            raise ValueError(f"the vocabulary has {len(vocab)} tokens, the network {size}")
        self.vocab_ = vocab
        self.unigram_perplexity_ = state.get("unigram_perplexity")
        self.n_train_, self.n_validation_ = state.get("n_train"), state.get("n_validation")


__all__ = ["PERPLEXITY", "LanguageModelTask", "as_text", "unigram_perplexity"]
