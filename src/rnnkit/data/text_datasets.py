"""Labelled text: a folder with one sub-folder per label, or a CSV of (label, text) rows.

Folder layout (as in the common movie-review set)::

    root/
      neg/ 0_3.txt 1_1.txt ...
      pos/ 0_9.txt ...

gives texts in sorted file order within each class, classes sorted by name (or the order of
``classes=``; folders not listed are skipped, so ``classes=["neg", "pos"]`` ignores ``unsup/``).

Every file is decoded with ``encoding``; undecodable bytes raise :class:`DataError` naming the
file and the byte offset, with a hint to pass ``--encoding``.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnnkit.data.labelled import encode_labels
from rnnkit.data.text import decode_bytes
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
            texts.append(decode_bytes(f.read_bytes(), f, encoding))
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
    if not p.is_file():
        raise DataError(f"CSV file {str(p)!r} does not exist or is not a file")
    text = decode_bytes(p.read_bytes(), p, encoding)
    try:
        rows = [row for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
                if row]
    except csv.Error as exc:
        raise DataError(f"CSV file {str(p)!r}: {exc}") from exc
    if not rows:
        raise DataError(f"CSV file {str(p)!r} is empty")
    start = 0
    if header:
        names = [h.strip() for h in rows[0]]
        start = 1

        def col(c: str | int, what: str) -> int:
            if isinstance(c, int):
                return c
            if c not in names:
                raise DataError(f"CSV file {str(p)!r} has no {what} column {c!r}; columns are "
                                f"{names}")
            return names.index(c)

        li, ti = col(label_column, "label"), col(text_column, "text")
    else:
        li = label_column if isinstance(label_column, int) else 0
        ti = text_column if isinstance(text_column, int) else 1
    texts, labels = [], []
    for n, row in enumerate(rows[start:], start=start + 1):
        if max(li, ti) >= len(row):
            raise DataError(f"CSV file {str(p)!r} row {n}: {len(row)} fields, needs a label "
                            f"(column {li}) and a text (column {ti})")
        labels.append(row[li].strip())
        texts.append(row[ti])
    if not texts:
        raise DataError(f"CSV file {str(p)!r} has no data rows")
    return LabelledTexts(texts, *encode_labels(labels, classes, p))


def load_texts(path: str | os.PathLike, encoding: str = "utf-8",
               classes: Sequence[str] | None = None) -> LabelledTexts:
    """A folder -> :func:`load_text_folder`; a file -> :func:`load_text_csv`."""
    if Path(path).is_dir():
        return load_text_folder(path, encoding=encoding, classes=classes)
    return load_text_csv(path, encoding=encoding, classes=classes)


__all__ = ["LabelledTexts", "load_text_csv", "load_text_folder", "load_texts"]
