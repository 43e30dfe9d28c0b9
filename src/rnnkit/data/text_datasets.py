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

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnnkit.data.checks import csv_rows, quote, read_text
from rnnkit.data.labelled import check_numeric_labels, encode_labels
from rnnkit.errors import DataError


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
                  label_column: str | int = "label", text_column: str | int = "text",
                  header: bool = True, delimiter: str = ",",
                  classes: Sequence[str] | None = None) -> LabelledTexts:
    """Read a CSV of labelled texts (quoted fields may hold commas and newlines).

    With ``header=True`` columns are chosen by name (or index); without a header,
    ``label_column`` and ``text_column`` must be indices (default 0 and 1 then).
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

        li, ti = col(label_column, "label"), col(text_column, "text")
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
