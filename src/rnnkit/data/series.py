"""Load time series from CSV files (and the bundled data set) into NumPy arrays.

A CSV file has a header row; one or more value columns are read as float64, an optional
date column is kept as strings (used for labels and plots, never parsed into the model).
Infinite values and values beyond float32's range (|x| > 3.4e38, what the models compute
in) are errors, as are a column with no values at all and a file with no data rows.
Empty cells before a series' first value and after its last are not missing values: the
series starts later or ends sooner than the file (its rows are those in between,
:func:`value_span`). Missing values within (an empty cell, ``NA``, ``NaN``, ``null``) raise a
:class:`DataError` that names the file, column and row, unless ``interpolate=True`` fills them
linearly in time (a covariate's values before its first / after its last known one take that
nearest value) and inserts the dates that the calendar of a date column skips, their values on
the line between the rows either side (:func:`rnnkit.data.dates.fill_missing_steps`).
"""

from __future__ import annotations

import csv
import itertools
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from rnnkit.data.checks import csv_rows, parse_number, quote, read_text, sniff_delimiter
from rnnkit.data.dates import fill_missing_steps
from rnnkit.errors import ConfigError, DataError

__all__ = [
    "BUNDLED",
    "Series",
    "bundled_path",
    "check_column",
    "column_cells",
    "column_values",
    "counts_steps",
    "csv_columns",
    "detect_date_column",
    "fill_missing",
    "index_column",
    "load_bundled",
    "load_csv",
    "read_table",
    "value_columns",
    "value_span",
]

MISSING = {"", "na", "nan", "null", "none", "n/a", "#n/a", "?"}

#: Bundled data sets: name -> (file, value column, date column). See bundled/SOURCE.md.
BUNDLED: dict[str, tuple[str, str, str]] = {
    "airline_passengers": ("airline_passengers.csv", "passengers", "month"),
}


@dataclass
class Series:
    """Values ``(T, D)`` float64 with their column names, optional dates and source."""

    values: np.ndarray
    columns: list[str]
    dates: list[str] | None = None
    source: str = ""
    date_column: str | None = None

    def __len__(self) -> int:
        return len(self.values)

    def column(self, name: str | None = None) -> np.ndarray:
        """One column as ``(T,)``; ``None`` gives the first."""
        if name is None:
            return self.values[:, 0]
        if name not in self.columns:
            raise DataError(f"{self.source}: column {quote(name)} not found; columns are "
                            f"{quote(self.columns)}")
        return self.values[:, self.columns.index(name)]


def fill_missing(values: np.ndarray) -> np.ndarray:
    """Linear interpolation over NaN along time; edges take the nearest known value."""
    t = np.arange(len(values))
    known = ~np.isnan(values)
    return np.interp(t, t[known], values[known])


def _read(path: Path) -> str:
    return read_text(path, "CSV file", encoding="utf-8")


def csv_columns(path: str | os.PathLike) -> list[str]:
    """The column names of a CSV file, as :func:`read_table` gives them, from its first line
    alone (DataError if unreadable)."""
    text = _read(Path(path))
    first = text.split("\n", 1)[0]
    row = next(csv.reader([first], delimiter=sniff_delimiter(first)), [])
    return _column_names([h.strip() for h in row])[0]


def load_csv(path: str | os.PathLike, column: str | list[str] | None = None,
             date_column: str | None = None, interpolate: bool = False) -> Series:
    """Read value column(s) of a CSV file with a header row.

    Args:
        path: the CSV file (comma, semicolon or tab separated; UTF-8, a byte-order mark
            and CRLF line ends accepted).
        column: a value column name, a list of names, or ``None`` for the first column that
            is not ``date_column``.
        date_column: optional column of time labels, kept as strings; ``"auto"``: the
            column :func:`detect_date_column` finds (the first when its cells are dates),
            else none. Dates must be in time order, each once (:func:`check_time_order`).
        interpolate: fill missing values linearly instead of raising, and insert the
            dates a date column's calendar skips (values interpolated).

    Raises:
        DataError: missing or non-regular file, unknown column, non-numeric cell, NaN,
            infinite or float32-overflowing value (|x| > 3.4e38), missing values (without
            ``interpolate``), a column with no values, or no data rows; the message names
            the file, the column and the line.
    """
    path = Path(path)
    header, body = read_table(path)
    if date_column == "auto" and "auto" not in header:
        date_column = detect_date_column(header, body)
    if date_column is not None:
        check_column(path, date_column, header, "date column")
    if column is None:
        names = [h for h in header if h not in (date_column, index_column(header, body))][:1]
        if not names:
            raise DataError(f"{path}: no value column besides the date column "
                            f"{quote(date_column)}")
    else:
        names = [column] if isinstance(column, str) else list(column)
    for name in names:
        check_column(path, name, header)
    if date_column is not None:
        check_time_order(path, date_column, lines(body), column_cells(
            body, header.index(date_column)))
    body = value_span(header, body, names[0])  # the rows where the first column has values
    values = np.stack([column_values(path, header, body, name, interpolate)
                       for name in names], axis=1)  # (T, D)

    dates = None
    if date_column is not None:
        dates = column_cells(body, header.index(date_column))
        if interpolate:
            dates, values = fill_missing_steps(dates, values)
    return Series(values=values, columns=names, dates=dates, source=str(path),
                  date_column=date_column)


def read_table(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header (stripped names) and the non-blank data rows ``(line number, cells)`` of a
    CSV file (DataError when empty or without data rows). A file whose first row holds only
    numbers and dates has no header: its columns are named ``value`` (one column) or
    ``column 1``, ``column 2``, ... and every row is data. In a one-column file a blank line
    between two data rows is an empty cell, a missing value (a spreadsheet writes a blank
    cell of one column so), not a line to skip, which would shift the steps after it."""
    text = _read(path)
    first = text.split("\n", 1)[0]
    if not first.strip():
        raise DataError(f"{path}: empty file, expected a header row and data rows")
    rows = list(csv_rows(text, path, delimiter=sniff_delimiter(first)))
    header, named = _column_names([h.strip() for h in rows[0][1]])
    rows = rows[1 if named else 0:]
    filled = [k for k, (_, r) in enumerate(rows) if any(c.strip() for c in r)]
    if not filled:
        raise DataError(f"{path}: no data rows after the header")
    if len(header) == 1:  # blank lines inside the data are missing values
        return header, [(n, r or [""]) for n, r in rows[filled[0]:filled[-1] + 1]]
    return header, [rows[k] for k in filled]


def _column_names(first_row: list[str]) -> tuple[list[str], bool]:
    """``(names, named)``: the cells of a CSV's first row and True, or, when they are all
    numbers and dates (:func:`_is_value`: no header row, the row is data), ``value`` (one
    column) or ``column 1``, ``column 2``, ... and False."""
    if not first_row or not all(_is_value(h) for h in first_row):
        return first_row, True
    if len(first_row) == 1:
        return ["value"], False
    return [f"column {k + 1}" for k in range(len(first_row))], False


def _is_value(cell: str) -> bool:
    """Whether a cell is a number or a date (:func:`rnnkit.data.dates.read_dates`), so that a
    first row of such cells is data, not names."""
    from rnnkit.data.dates import read_dates

    try:
        float(cell)
    except ValueError:
        return read_dates([cell, cell]) is not None
    return True


def check_column(path: str | os.PathLike, name: str, header: list[str],
                 what: str = "column") -> None:
    """DataError naming the file, the column and the choices when ``name`` is not in
    ``header``."""
    if name not in header:
        raise DataError(f"{path}: {what} {quote(name)} not found; columns are "
                        f"{quote(header)}")


def value_span(header: list[str], body: list[tuple[int, list[str]]], name: str
               ) -> list[tuple[int, list[str]]]:
    """The rows of ``body`` from the first to the last with a value in column ``name``: a
    series of a wide file may start later or end sooner than the others, the cells before and
    after it left empty (all of ``body`` when the column has no value)."""
    k = header.index(name)
    has = [(row[k].strip() if k < len(row) else "").lower() not in MISSING for _, row in body]
    if not any(has):
        return body
    return body[has.index(True) : len(has) - has[::-1].index(True)]


def column_values(path: str | os.PathLike, header: list[str],
                  body: list[tuple[int, list[str]]], name: str,
                  interpolate: bool = False) -> np.ndarray:
    """The cells of column ``name`` in the rows ``body`` as float64 ``(T,)``: missing cells
    filled linearly with ``interpolate``, else a DataError naming the file, column and line
    (see the module doc)."""
    k = header.index(name)
    values = np.empty(len(body), dtype=np.float64)  # (T,)
    for t, (line_no, row) in enumerate(body):
        cell = row[k].strip() if k < len(row) else ""
        if cell.lower() in MISSING:
            values[t] = np.nan
            continue
        values[t] = parse_number(cell, f"{path}: column {quote(name)}, line {line_no}")
    missing = np.isnan(values)
    if missing.any():
        first_missing = body[int(np.argmax(missing))][0]
        if missing.all():
            raise DataError(f"{path}: column {quote(name)} has no values, all "
                            f"{len(body)} are missing")
        if not interpolate:
            raise DataError(f"{path}: column {quote(name)} has {int(missing.sum())} "
                            f"missing value(s) (first on line {first_missing}); fill them "
                            f"or ask for interpolation (interpolate=True, --interpolate)")
        values = fill_missing(values)
    return values


def check_time_order(source: str | os.PathLike, date_column: str, places: list[str],
                     cells: list[str], whose: str = "the rows", sort_by: str = "date") -> None:
    """DataError naming the two places (``"line 7"``, ``"row 6"``) when the dates ``cells``
    of a date column repeat a date or go back in time (cells that are not all dates are
    labels: no check)."""
    from rnnkit.data.dates import read_dates

    parsed = read_dates(cells)
    if parsed is None:
        return
    dates = parsed[0]
    table = "the DataFrame" if source == "DataFrame" else "the file"
    for t in range(1, len(dates)):
        if dates[t] <= dates[t - 1]:
            what = "repeats" if dates[t] == dates[t - 1] else "goes back in time after"
            raise DataError(f"{source}: {whose} are not in time order, one row a date: date "
                            f"column {quote(date_column)}, {places[t]} ({cells[t]}) {what} "
                            f"{places[t - 1]} ({cells[t - 1]}); sort {table} by {sort_by} "
                            f"and drop repeated rows")


def lines(rows: list[tuple[int, list[str]]]) -> list[str]:
    """``["line 2", "line 3", ...]``: the places of CSV rows ``(line number, cells)``."""
    return [f"line {n}" for n, _ in rows]


def column_cells(body: list[tuple[int, list[str]]], k: int) -> list[str]:
    """The stripped cells of column ``k`` in the rows ``body`` ("" where a row is short)."""
    return [row[k].strip() if k < len(row) else "" for _, row in body]


def counts_steps(cells: list[str]) -> bool:
    """Whether ``cells`` are consecutive integers, each 1 more than the one before (a row
    index 0, 1, 2, ... or a step column 1, 2, 3, ...)."""
    return len(cells) > 1 and all(c.lstrip("-").isdigit() for c in cells) and all(
        int(b) - int(a) == 1 for a, b in itertools.pairwise(cells))


def index_column(header: list[str], body: list[tuple[int, list[str]]]) -> str | None:
    """The first column's name when it counts the rows (:func:`counts_steps`: pandas'
    ``to_csv`` row index 0, 1, 2, ..., or a step column t = 1, 2, 3, ...) and is not dates
    (years 1990, 1991, ... and 20240101, 20240102, ... are), else None. Such a column is
    neither a series nor dates."""
    return _first_columns(header, body)[1]


def detect_date_column(header: list[str], body: list[tuple[int, list[str]]]) -> str | None:
    """The name of the first column (after a row index, :func:`index_column`) when its cells
    are dates (:func:`rnnkit.data.dates.looks_like_dates`), else of the first column whose
    cells are dates in a form that numbers never take (``2024-01-05``, not ``2024``), else
    None."""
    from rnnkit.data.dates import NUMBER_FORMS, read_dates

    first = _first_columns(header, body)[0]
    if first is not None:
        return first
    for k, name in enumerate(header):
        parsed = read_dates(column_cells(body, k))
        if parsed is not None and parsed[1] not in NUMBER_FORMS:
            return name
    return None


def _first_columns(header: list[str], body: list[tuple[int, list[str]]]
                   ) -> tuple[str | None, str | None]:
    """``(date column, row index column)`` among the first two columns (each None when
    absent), each column's cells parsed once."""
    from rnnkit.data.dates import looks_like_dates

    if len(header) < 2:
        return None, None
    cells = column_cells(body, 0)
    if looks_like_dates(cells):
        return header[0], None
    if not counts_steps(cells):
        return None, None
    dates = len(header) > 2 and looks_like_dates(column_cells(body, 1))
    return (header[1] if dates else None), header[0]


def value_columns(path: str | os.PathLike, date_column: str | None = None) -> list[str]:
    """The columns of a CSV file's header other than ``date_column`` and a row index."""
    header, body = read_table(Path(path))
    index = index_column(header, body)
    return [c for c in header if c not in (date_column, index)]


def bundled_path(name: str = "airline_passengers") -> Path:
    """Path of a bundled CSV file (see ``rnnkit/data/bundled/SOURCE.md``)."""
    if name not in BUNDLED:
        raise ConfigError(f"name must be one of {sorted(BUNDLED)}, got {name!r}")
    return Path(str(resources.files("rnnkit.data") / "bundled" / BUNDLED[name][0]))


def load_bundled(name: str = "airline_passengers") -> Series:
    """The bundled series ``name`` (default: airline passengers, monthly 1949-1960)."""
    _, column, date_column = BUNDLED.get(name, (None, None, None))
    return load_csv(bundled_path(name), column=column, date_column=date_column)
