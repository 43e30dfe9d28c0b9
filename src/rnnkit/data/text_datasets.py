"""Labelled text: a folder with one sub-folder per label, or a CSV of (label, text) rows.

Folder layout (as in the common movie-review set)::

    root/
      neg/ 0_3.txt 1_1.txt ...
      pos/ 0_9.txt ...

gives texts in sorted file order within each class, classes sorted by name (or the order of
``classes=``; folders not listed are skipped, so ``classes=["neg", "pos"]`` ignores ``unsup/``).

Every file is decoded with ``encoding`` (a UTF-8 byte-order mark is dropped); undecodable bytes
raise :class:`DataError` naming the file and the byte offset, with a hint to pass
``--encoding``. An empty text or label is an error naming the file (and the CSV line); CSV
fields may be of any length.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnnkit.data.checks import csv_rows, quote, read_text
from rnnkit.data.labelled import LABEL_NAMES, check_numeric_labels, encode_labels
from rnnkit.errors import DataError

log = logging.getLogger(__name__)

#: Data rows that the "auto" columns of :func:`load_text_csv` look at.
DETECT_ROWS = 200


@dataclass
class LabelledTexts:
    """``texts[i]`` has label ``classes[y[i]]``."""

    texts: list[str]
    y: np.ndarray
    classes: list[str]

    def __len__(self) -> int:
        return len(self.texts)


def load_text_folder(root: str | os.PathLike, encoding: str = "utf-8",
                     classes: Sequence[str] | None = None,
                     suffixes: Sequence[str] = (".txt",)) -> LabelledTexts:
    """Read ``root/<label>/*<suffix>`` files; one class per sub-folder."""
    r = Path(root)
    if not r.is_dir():
        raise DataError(f"text folder {str(r)!r} does not exist or is not a folder")
    found = sorted(d.name for d in r.iterdir() if d.is_dir() and not d.name.startswith("."))
    if classes is None:
        classes = found
    missing = [c for c in classes if c not in found]
    if missing:
        raise DataError(f"text folder {str(r)!r} has no sub-folder for classes {missing}; "
                        f"found {found}")
    if len(classes) < 2:
        raise DataError(f"text folder {str(r)!r} needs at least 2 label sub-folders, found "
                        f"{list(classes)}")
    texts, labels = [], []
    for k, name in enumerate(classes):
        files = sorted(f for f in (r / name).iterdir()
                       if f.is_file() and f.suffix in tuple(suffixes))
        if not files:
            raise DataError(f"text folder {str(r / name)!r} has no {'/'.join(suffixes)} files")
        for f in files:
            text = read_text(f, "text file", encoding)
            if not text.strip():
                raise DataError(f"text file {str(f)!r} is empty; every file must hold a text")
            texts.append(text)
            labels.append(k)
    return LabelledTexts(texts, np.asarray(labels, dtype=np.int64), list(classes))


def load_text_csv(path: str | os.PathLike, encoding: str = "utf-8",
                  label_column: str | int = "auto", text_column: str | int = "auto",
                  header: bool = True, delimiter: str = ",",
                  classes: Sequence[str] | None = None) -> LabelledTexts:
    """Read a CSV of labelled texts (quoted fields may hold commas and newlines).

    With ``header=True`` columns are chosen by name or index, or "auto" (default): the text
    column is the one named ``text``, else the one whose cells hold the most words; the label
    column the one named label, class, target or y, else the other column with the fewest
    distinct values (both over the first :data:`DETECT_ROWS` rows; a guess from the cells is
    logged). Without a header, ``label_column`` and ``text_column`` must be indices
    (default 0 and 1 then).
    """
    p = Path(path)
    text = read_text(p, "CSV file", encoding)
    rows = [(n, row) for n, row in csv_rows(text, p, "CSV file", delimiter) if row]
    if not rows:
        raise DataError(f"CSV file {str(p)!r} is empty")
    what = f"CSV file {str(p)!r}"
    if header:
        names = [h.strip() for h in rows[0][1]]

        def col(c: str | int, kind: str) -> int:
            if isinstance(c, int):
                return c
            if c not in names:
                raise DataError(f"{what} has no {kind} column {quote(c)}; columns are "
                                f"{quote(names)}: name it with {kind}_column= (rnnkit "
                                f"classify --{kind}-column)")
            return names.index(c)

        ti = (text_index(names, rows[1:], what) if text_column == "auto"
              else col(text_column, "text"))
        li = (_auto_label_index(names, rows[1:], ti, what) if label_column == "auto"
              else col(label_column, "label"))
    else:
        li = label_column if isinstance(label_column, int) else 0
        ti = text_column if isinstance(text_column, int) else 1
    texts, labels, lines = [], [], []
    for n, row in rows[1 if header else 0:]:
        if max(li, ti) >= len(row):
            raise DataError(f"{what} line {n}: {len(row)} fields, needs a label "
                            f"(column {li}) and a text (column {ti})")
        label, text = row[li].strip(), row[ti]
        if not label:
            raise DataError(f"{what} line {n}: empty label")
        if not text.strip():
            raise DataError(f"{what} line {n}: empty text")
        labels.append(label)
        texts.append(text)
        lines.append(n)
    if not texts:
        raise DataError(f"{what} has no data rows")
    check_numeric_labels(labels, lines, what)
    return LabelledTexts(texts, *encode_labels(labels, classes, p))


def _words(rows: list[tuple[int, list[str]]], k: int) -> float:
    """The mean number of words in column ``k`` of ``rows`` (0 where a row is short)."""
    return sum(len(r[k].split()) if k < len(r) else 0 for _, r in rows) / max(len(rows), 1)


def text_index(names: list[str], body: list[tuple[int, list[str]]], what: str) -> int:
    """The "auto" text column of a CSV with header ``names``: the one named ``text``, else
    the one holding the most words per row in the first :data:`DETECT_ROWS` rows of ``body``
    (logged)."""
    if "text" in names:
        return names.index("text")
    sample = body[:DETECT_ROWS]
    k = max(range(len(names)), key=lambda j: _words(sample, j))
    log.warning("%s: text column %s (the most words a row; --text-column chooses another)",
                what, quote(names[k]))
    return k


def _auto_label_index(names: list[str], body: list[tuple[int, list[str]]], text: int,
                      what: str) -> int:
    """The "auto" label column besides the ``text`` column: named label, class, target or y,
    else the one with the fewest distinct values in the first :data:`DETECT_ROWS` rows of
    ``body`` (logged)."""
    others = [j for j in range(len(names)) if j != text]
    if not others:
        raise DataError(f"{what} needs a label and a text column, got the one column "
                        f"{quote(names[text])}")
    named = [j for j in others if names[j].lower() in LABEL_NAMES]
    if named:
        return named[0]
    sample = body[:DETECT_ROWS]
    k = min(others, key=lambda j: len({r[j].strip() for _, r in sample if j < len(r)}))
    log.warning("%s: label column %s (the fewest distinct values; --label-column chooses "
                "another)", what, quote(names[k]))
    return k


def load_texts(path: str | os.PathLike, encoding: str = "utf-8",
               classes: Sequence[str] | None = None) -> LabelledTexts:
    """A folder -> :func:`load_text_folder`; a file -> :func:`load_text_csv`."""
    if Path(path).is_dir():
        return load_text_folder(path, encoding=encoding, classes=classes)
    return load_text_csv(path, encoding=encoding, classes=classes)


def load_sentiment(directory: str | os.PathLike | None = None,
                   download: bool = True) -> LabelledTexts:
    """The UCI "Sentiment Labelled Sentences" (Kotzias et al. 2015): 3,000 sentences from
    Amazon, IMDb and Yelp reviews, labels ``"neg"`` / ``"pos"`` (1,500 each).

    ``directory`` holds ``amazon_cells_labelled.txt``, ``imdb_labelled.txt`` and
    ``yelp_labelled.txt`` (lines ``sentence<TAB>0|1``); None reads the cache folder,
    downloading the set there on first use (:func:`rnnkit.data.download.sentiment_dir`).
    """
    from rnnkit.data.download import SENTIMENT_FILES, sentiment_dir

    d = Path(directory) if directory is not None else sentiment_dir(download=download)
    texts, labels = [], []
    for name in SENTIMENT_FILES:
        path = d / name
        for n, line in enumerate(read_text(path, "text file").splitlines(), start=1):
            if not line.strip():
                continue
            text, sep, label = line.rstrip().rpartition("\t")
            if not sep or label.strip() not in ("0", "1") or not text.strip():
                raise DataError(f"text file {str(path)!r} line {n}: expected "
                                f"'sentence<TAB>0|1', got {quote(line[:60])}")
            texts.append(text.strip())
            labels.append(int(label))
    return LabelledTexts(texts, np.asarray(labels, dtype=np.int64), ["neg", "pos"])


__all__ = ["LabelledTexts", "load_sentiment", "load_text_csv", "load_text_folder", "load_texts"]
