"""Text corpora, tokenisation and vocabularies.

The default corpus is the Python documentation topics shipped with every Python's standard
library (``pydoc_data.topics``, about 465 k characters of English prose), so language-model
examples and tests run with no download.

Tokenisation: ``level="word"`` splits with the regex ``\\w+|[^\\w\\s]`` (words and single
punctuation marks); ``level="char"`` keeps every character, whitespace included.

``SubwordTokenizer`` (optional, needs the ``tokenizers`` library: ``pip install tokenizers``)
learns byte-pair-encoding subwords from a training corpus, so rare and unseen words split
into known pieces ("unwatchable" -> "un", "watch", "able"); it saves as a JSON string.

A :class:`Vocabulary` maps tokens to integer ids. Ids 0 and 1 are the specials ``<pad>`` and
``<unk>`` by default; the other tokens follow, most frequent first, ties broken by first
appearance, so the same tokens always give the same ids.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from rnnkit.data.checks import decode, quote, read_text
from rnnkit.errors import ConfigError, DataError

WORD_PATTERN = re.compile(r"\w+|[^\w\s]")
LEVELS = ("word", "char")


def default_corpus() -> str:
    """The Python documentation topics (``pydoc_data.topics``) joined by blank lines."""
    from pydoc_data import topics

    return "\n\n".join(topics.topics.values())


def load_corpus(path: str | os.PathLike | None = None, encoding: str = "utf-8") -> str:
    """Return the text of ``path`` decoded with ``encoding``; ``None`` gives the default corpus.

    A UTF-8 byte-order mark is dropped. Raises :class:`DataError` naming the file when it is
    missing, not a regular file (a folder, a named pipe), empty or only whitespace, and
    naming the byte offset when its bytes cannot be decoded.
    """
    if path is None:
        return default_corpus()
    text = read_text(path, "text file", encoding)
    if not text.strip():
        raise DataError(f"text file {str(path)!r} is empty"
                        + (" (only whitespace)" if text else ""))
    return text


def decode_bytes(raw: bytes, path: str | os.PathLike, encoding: str = "utf-8") -> str:
    """Decode ``raw`` (the bytes of ``path``), raising :class:`DataError` with the offset.

    A UTF-8 byte-order mark is dropped (see :func:`rnnkit.data.checks.decode`).
    """
    return decode(raw, path, encoding)


def tokenize(text: str, level: str = "word", lower: bool = True) -> list[str]:
    """Split ``text`` into tokens.

    ``level="word"``: ``re.findall(r"\\w+|[^\\w\\s]", text)``, so "Don't stop." gives
    ``["don", "'", "t", "stop", "."]``; ``level="char"``: ``list(text)``.
    ``lower=True`` (default) lower-cases first.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    if level not in LEVELS:
        raise ConfigError(f"level must be one of {LEVELS}, got {level!r}")
    if lower:
        text = text.lower()
    if level == "char":
        return list(text)
    return WORD_PATTERN.findall(text)


def detokenize(tokens: Iterable[str], level: str = "word") -> str:
    """Join tokens back into text: characters directly, words with spaces (best effort)."""
    if level not in LEVELS:
        raise ConfigError(f"level must be one of {LEVELS}, got {level!r}")
    if level == "char":
        return "".join(tokens)
    out = " ".join(tokens)
    return re.sub(r" ([.,;:!?)\]}'])", r"\1", out)


class Vocabulary:
    """A bijection between tokens and ids ``0 .. len(vocab)-1``.

    ``PAD = "<pad>"`` has id 0 and ``UNK = "<unk>"`` id 1 when built with the default
    ``specials``. Unknown tokens encode to the ``UNK`` id (an error if ``UNK`` is not in the
    vocabulary).
    """

    PAD = "<pad>"
    UNK = "<unk>"

    def __init__(self, tokens: Sequence[str]) -> None:
        self.id_to_token: list[str] = list(tokens)
        self.token_to_id: dict[str, int] = {}
        for i, tok in enumerate(self.id_to_token):
            if not isinstance(tok, str):
                raise TypeError(f"vocabulary tokens must be str, got {type(tok).__name__}")
            if tok in self.token_to_id:
                raise DataError(f"vocabulary tokens must be unique, got {tok!r} twice")
            self.token_to_id[tok] = i

    @classmethod
    def build(
        cls,
        tokens: Iterable[str] | Iterable[Iterable[str]],
        max_size: int | None = None,
        min_freq: int = 1,
        specials: Sequence[str] = (PAD, UNK),
    ) -> Vocabulary:
        """Count ``tokens`` (a token list, or a list of token lists) and keep the frequent ones.

        The vocabulary is ``specials`` followed by the tokens seen at least ``min_freq`` times,
        most frequent first, ties by first appearance; ``max_size`` caps the total size
        (specials included).
        """
        if max_size is not None and (
            isinstance(max_size, bool) or not isinstance(max_size, int)
            or max_size < len(specials)
        ):
            raise ConfigError(
                f"max_size must be None or an int >= the number of specials "
                f"({len(specials)}), got {max_size!r}"
            )
        if isinstance(min_freq, bool) or not isinstance(min_freq, int) or min_freq < 1:
            raise ConfigError(f"min_freq must be a positive int, got {min_freq!r}")
        counts: Counter[str] = Counter()
        for item in tokens:
            if isinstance(item, str):
                counts[item] += 1
            else:
                counts.update(item)
        # Counter keeps first-insertion order, and sorted() is stable: ties stay in that order.
        ranked = sorted(counts.items(), key=lambda kv: -kv[1])
        special_set = set(specials)
        words = [w for w, c in ranked if c >= min_freq and w not in special_set]
        if max_size is not None:
            words = words[: max_size - len(specials)]
        return cls([*specials, *words])

    def __len__(self) -> int:
        return len(self.id_to_token)

    def __contains__(self, token: object) -> bool:
        return token in self.token_to_id

    def __repr__(self) -> str:
        return f"Vocabulary(size={len(self)})"

    @property
    def pad_id(self) -> int:
        """Id of ``<pad>`` (0 by default); ``ValueError`` if the vocabulary has none."""
        if self.PAD not in self.token_to_id:
            raise ValueError(f"this vocabulary has no {self.PAD!r} token")
        return self.token_to_id[self.PAD]

    @property
    def unk_id(self) -> int | None:
        """Id of ``<unk>`` (1 by default), or None if the vocabulary has none."""
        return self.token_to_id.get(self.UNK)

    def encode(self, tokens: Iterable[str]) -> np.ndarray:
        """Token list -> int64 ids (T,); unknown tokens -> the ``<unk>`` id."""
        unk = self.unk_id
        ids = []
        for tok in tokens:
            i = self.token_to_id.get(tok, unk)
            if i is None:
                raise DataError(
                    f"token {tok!r} is not in the vocabulary, which has no {self.UNK!r}"
                )
            ids.append(i)
        return np.asarray(ids, dtype=np.int64)

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Ids -> token list (inverse of :meth:`encode` for known tokens)."""
        n = len(self.id_to_token)
        out = []
        for i in np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids).ravel():
            i = int(i)
            if not 0 <= i < n:
                raise ValueError(f"ids must be in [0, {n}), got {i}")
            out.append(self.id_to_token[i])
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form: ``{"tokens": [...]}`` in id order."""
        return {"tokens": list(self.id_to_token)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Vocabulary:
        """Inverse of :meth:`to_dict`."""
        if not isinstance(d, dict) or not isinstance(d.get("tokens"), list):
            keys = sorted(d) if isinstance(d, dict) else []
            raise DataError(
                f"vocabulary dict must have a 'tokens' list, got {type(d).__name__} "
                f"with keys {keys}"
            )
        bad = next((t for t in d["tokens"] if not isinstance(t, str)), None)
        if bad is not None:
            raise DataError(f"vocabulary tokens must be strings, got {quote(bad)}")
        return cls(d["tokens"])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocabulary) and self.id_to_token == other.id_to_token

    __hash__ = None  # type: ignore[assignment]


def _tokenizers():
    try:
        import tokenizers
    except ImportError:
        raise ConfigError("level='subword' needs the tokenizers library: pip install "
                          "tokenizers (or pip install 'rnnkit[text]')") from None
    return tokenizers


class SubwordTokenizer:
    """Byte-pair-encoding subwords (the ``tokenizers`` library), trained on a corpus.

    Pre-tokenisation splits words and punctuation like :func:`tokenize` (``lower`` first
    when set); BPE then merges characters into at most ``vocab_size`` subwords. Unknown
    characters become ``<unk>``.

        >>> tok = SubwordTokenizer.train(texts, vocab_size=8000)
        >>> tok.tokenize("Unwatchable.")          # ['un', 'watch', 'able', '.'] or the like
        >>> SubwordTokenizer.from_str(tok.to_str()).tokenize("Unwatchable.")  # the same
    """

    def __init__(self, tokenizer) -> None:
        self.tokenizer = tokenizer

    @classmethod
    def train(cls, texts: Iterable[str], vocab_size: int = 20_000,
              lower: bool = True) -> SubwordTokenizer:
        tk = _tokenizers()
        from tokenizers import models, normalizers, pre_tokenizers, trainers

        tok = tk.Tokenizer(models.BPE(unk_token=Vocabulary.UNK))
        norm = [normalizers.NFC()] + ([normalizers.Lowercase()] if lower else [])
        tok.normalizer = normalizers.Sequence(norm)
        tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(),
                                                     pre_tokenizers.Punctuation()])
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, show_progress=False,
                                      special_tokens=[Vocabulary.PAD, Vocabulary.UNK])
        tok.train_from_iterator(list(texts), trainer=trainer)
        return cls(tok)

    def tokenize(self, text: str) -> list[str]:
        """The subword tokens of ``text``."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        return self.tokenizer.encode(text).tokens

    def to_str(self) -> str:
        """The whole tokenizer as a JSON string (no pickle)."""
        return self.tokenizer.to_str()

    @classmethod
    def from_str(cls, text: str) -> SubwordTokenizer:
        """Inverse of :meth:`to_str`; ValueError on a string that is not a tokenizer."""
        tk = _tokenizers()
        if not isinstance(text, str):
            raise ValueError(f"a saved tokenizer is a JSON string, got {type(text).__name__}")
        try:
            return cls(tk.Tokenizer.from_str(text))
        except Exception as err:  # tokenizers raises its own Exception subclasses
            raise ValueError(f"not a saved tokenizer: {str(err)[:100]}") from None


__all__ = ["SubwordTokenizer", "Vocabulary", "decode_bytes", "default_corpus", "detokenize",
           "load_corpus", "tokenize"]
