"""Inputs without labels, for predicting with a trained model: texts one per line, or one
text column of a CSV."""

from __future__ import annotations

import os
from pathlib import Path

from rnnkit.data.checks import csv_rows, quote, read_text
from rnnkit.errors import DataError


def read_lines(path: str | os.PathLike, encoding: str = "utf-8",
               what: str = "text file") -> list[str]:
    """The non-blank lines of a text file (one text or source per line; CRLF and a UTF-8 BOM
    accepted). A file with no text is a DataError naming it."""
    text = read_text(path, what, encoding)
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise DataError(f"{what} {str(path)!r} has no non-blank line")
    return lines


def load_text_column(path: str | os.PathLike, column: str | int = "auto",
                     encoding: str = "utf-8") -> list[str]:
    """The texts of one column (a name from the header row, an index, or "auto": the column
    named ``text``, else the one holding the most words, as
    :func:`~rnnkit.data.text_datasets.load_text_csv` picks it) of a CSV file."""
    p = Path(path)
    what = f"CSV file {str(p)!r}"
    rows = [(n, row) for n, row in csv_rows(read_text(p, "CSV file", encoding), p) if row]
    if len(rows) < 2:
        raise DataError(f"{what} needs a header row and at least one data row")
    names = [h.strip() for h in rows[0][1]]
    if isinstance(column, int):
        index = column
    elif column == "auto":
        from rnnkit.data.text_datasets import text_index

        index = text_index(names, rows[1:], what)
    elif column in names:
        index = names.index(column)
    else:
        raise DataError(f"{what} has no text column {quote(column)}; columns are "
                        f"{quote(names)}")
    texts = []
    for n, row in rows[1:]:
        if not -len(row) <= index < len(row):
            raise DataError(f"{what} line {n}: {len(row)} fields, no column {index}")
        if not row[index].strip():
            raise DataError(f"{what} line {n}: empty text")
        texts.append(row[index])
    return texts


__all__ = ["load_text_column", "read_lines"]
