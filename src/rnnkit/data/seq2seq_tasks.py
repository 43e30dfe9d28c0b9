"""Generated sequence-to-sequence tasks and parallel text files.

Each generator returns a list of ``(source, target)`` string pairs, reproducible from ``seed``:

- :func:`make_addition`: ``"16+75" -> "91"`` (operands 0 .. 10**digits - 1, as in Deep
  Learning from Scratch 2, chapter 7).
- :func:`make_dates`: human dates in many formats -> ISO ``YYYY-MM-DD``
  (``"tuesday, september 27, 1994"``, ``"9/27/94"``, ``"27.09.1994"``, ... -> ``"1994-09-27"``).
  Numeric formats are fixed (``m/d/y`` and ``d.m.y``), so every source has one answer.
- :func:`make_reversal`: ``"abcde" -> "edcba"``.
- :func:`load_parallel_tsv`: any tab-separated file of ``source<TAB>target`` lines.

:func:`build_vocabs` / :func:`encode_pairs` turn pairs into id arrays with the specials
``<pad>`` (0), ``<unk>`` (1), ``<s>`` (2, begin) and ``</s>`` (3, end): the decoder reads
``<s> y1 .. yn`` and must predict ``y1 .. yn </s>``.
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnnkit.data.checks import quote, read_text
from rnnkit.data.text import Vocabulary, tokenize
from rnnkit.errors import ConfigError, DataError

BOS = "<s>"
EOS = "</s>"
SPECIALS = (Vocabulary.PAD, Vocabulary.UNK, BOS, EOS)
TASKS = ("addition", "dates", "reversal")

MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december")
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _check_n(n: int) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ConfigError(f"n must be a positive int, got {n!r}")


def make_addition(n: int, digits: int = 3, seed: int = 0, unique: bool = True
                  ) -> list[tuple[str, str]]:
    """``n`` problems ``"a+b" -> str(a + b)`` with ``0 <= a, b < 10**digits``."""
    _check_n(n)
    if isinstance(digits, bool) or not isinstance(digits, int) or digits < 1:
        raise ConfigError(f"digits must be a positive int, got {digits!r}")
    top = 10 ** digits
    if unique and n > top * top:
        raise ConfigError(f"n must be <= {top * top} for unique {digits}-digit problems, got {n}")
    rng = np.random.default_rng(seed)
    seen: set[tuple[int, int]] = set()
    out = []
    while len(out) < n:
        # operand lengths uniform in 1..digits, then the digits themselves
        a, b = (int(rng.integers(0, 10 ** int(rng.integers(1, digits + 1)))) for _ in range(2))
        if unique:
            if (a, b) in seen:
                continue
            seen.add((a, b))
        out.append((f"{a}+{b}", str(a + b)))
    return out


def _format_date(d: _dt.date, k: int) -> str:
    m, day, y = MONTHS[d.month - 1], d.day, d.year
    forms = (
        f"{m} {day}, {y}",
        f"{m[:3]} {day}, {y}",
        f"{day} {m} {y}",
        f"{DAYS[d.weekday()]}, {m} {day}, {y}",
        f"{d.month}/{day}/{y % 100:02d}",
        f"{d.month:02d}/{day:02d}/{y}",
        f"{day:02d}.{d.month:02d}.{y}",
        f"{day} {m[:3]} {y}",
        f"{DAYS[d.weekday()][:3]} {day} {m} {y}",
        f"{m} {day} {y}",
    )
    return forms[k]


N_DATE_FORMATS = 10


def make_dates(n: int, seed: int = 0, start: str = "1950-01-01", end: str = "2049-12-31"
               ) -> list[tuple[str, str]]:
    """``n`` pairs (human date, ISO date) with dates uniform in [start, end].

    Two-digit years in ``m/d/yy`` mean 1950-2049, so keep ``start``/``end`` in that range.
    Case is drawn at random: lower, UPPER or Title.
    """
    _check_n(n)
    d0, d1 = _dt.date.fromisoformat(start), _dt.date.fromisoformat(end)
    span = (d1 - d0).days
    if span < 0:
        raise ConfigError(f"end must not be before start, got start={start} end={end}")
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        d = d0 + _dt.timedelta(days=int(rng.integers(0, span + 1)))
        s = _format_date(d, int(rng.integers(0, N_DATE_FORMATS)))
        case = int(rng.integers(0, 3))
        s = s.upper() if case == 1 else s.title() if case == 2 else s
        out.append((s, d.isoformat()))
    return out


def make_reversal(n: int, min_len: int = 3, max_len: int = 10,
                  alphabet: str = "abcdefghijklmnopqrstuvwxyz", seed: int = 0
                  ) -> list[tuple[str, str]]:
    """``n`` random strings over ``alphabet`` and their reversal."""
    _check_n(n)
    if not 1 <= min_len <= max_len:
        raise ConfigError(f"min_len and max_len must satisfy 1 <= min_len <= max_len, got "
                         f"{min_len} and {max_len}")
    rng = np.random.default_rng(seed)
    letters = np.asarray(list(alphabet))
    out = []
    for _ in range(n):
        s = "".join(rng.choice(letters, int(rng.integers(min_len, max_len + 1))))
        out.append((s, s[::-1]))
    return out


def make_task(name: str, n: int, seed: int = 0) -> list[tuple[str, str]]:
    """One of :data:`TASKS` by name."""
    if name == "addition":
        return make_addition(n, seed=seed)
    if name == "dates":
        return make_dates(n, seed=seed)
    if name == "reversal":
        return make_reversal(n, seed=seed)
    raise ConfigError(f"task must be one of {TASKS}, got {name!r}")


def load_parallel_tsv(path: str | os.PathLike, encoding: str = "utf-8",
                      columns: tuple[int, int] = (0, 1)) -> list[tuple[str, str]]:
    """``source<TAB>target`` lines (extra columns ignored; blank lines skipped).

    A UTF-8 byte-order mark and CRLF line ends are accepted; a line with too few fields or
    an empty source or target is a DataError naming the file and the line.
    """
    p = Path(path)
    text = read_text(p, "TSV file", encoding)
    what = f"TSV file {str(p)!r}"
    pairs = []
    need = max(columns) + 1
    for n, line in enumerate(text.split("\n"), start=1):
        line = line.removesuffix("\r")
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) < need:
            raise DataError(f"{what} line {n}: {len(parts)} tab-separated field(s), expected "
                            f"at least {need}: {quote(line)}")
        src, tgt = parts[columns[0]].strip(), parts[columns[1]].strip()
        if not src or not tgt:
            raise DataError(f"{what} line {n}: empty {'source' if not src else 'target'}")
        pairs.append((src, tgt))
    if not pairs:
        raise DataError(f"{what} has no pairs")
    return pairs


def split_tokens(s: str, level: str = "char") -> list[str]:
    """Characters as they are (``level="char"``) or lower-cased words (``"word"``)."""
    return list(s) if level == "char" else tokenize(s, level="word")


def build_vocabs(pairs: Sequence[tuple[str, str]], level: str = "char",
                 max_size: int | None = None, min_freq: int = 1
                 ) -> tuple[Vocabulary, Vocabulary]:
    """Source and target vocabularies with :data:`SPECIALS` first."""
    src = Vocabulary.build([split_tokens(s, level) for s, _ in pairs], max_size, min_freq,
                           SPECIALS)
    tgt = Vocabulary.build([split_tokens(t, level) for _, t in pairs], max_size, min_freq,
                           SPECIALS)
    return src, tgt


@dataclass
class EncodedPairs:
    """``src[i]`` ids (S_i,); ``tgt_in[i]`` = ``<s> y``; ``tgt_out[i]`` = ``y </s>``."""

    src: list[np.ndarray]
    tgt_in: list[np.ndarray]
    tgt_out: list[np.ndarray]

    def __len__(self) -> int:
        return len(self.src)


def encode_pairs(pairs: Sequence[tuple[str, str]], src_vocab: Vocabulary,
                 tgt_vocab: Vocabulary, level: str = "char") -> EncodedPairs:
    bos, eos = tgt_vocab.token_to_id[BOS], tgt_vocab.token_to_id[EOS]
    src, tin, tout = [], [], []
    for s, t in pairs:
        src.append(src_vocab.encode(split_tokens(s, level)))
        y = tgt_vocab.encode(split_tokens(t, level))
        tin.append(np.concatenate([[bos], y]).astype(np.int64))
        tout.append(np.concatenate([y, [eos]]).astype(np.int64))
    return EncodedPairs(src, tin, tout)


__all__ = ["BOS", "EOS", "SPECIALS", "TASKS", "EncodedPairs", "build_vocabs", "encode_pairs",
           "load_parallel_tsv", "make_addition", "make_dates", "make_reversal", "make_task",
           "split_tokens"]
