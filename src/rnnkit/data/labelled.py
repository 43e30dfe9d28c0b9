"""Labelled sequence sets: arrays, CSV files (one sequence per row) and UCR/UEA ``.ts`` files.

Every loader returns a :class:`LabelledSequences`: a list of ``(T_i, D)`` float arrays (lengths
may differ), integer labels ``y`` (N,) and the class names, so ``classes[y[i]]`` is the label
as written in the file. :meth:`LabelledSequences.padded` gives ``(N, T, D)`` plus lengths for
masked/packed models.

CSV: one sequence per row, the label in ``label_column``: an index, a header's column name, or
``"auto"`` (the default): the column a header names ``label``, ``class``, ``target`` or ``y``,
else the first column when the last holds numbers (or missing cells) that are not all whole
(no label) and the first holds text or whole numbers (the UCR archive's ``.tsv`` layout: label
first, values after, NaN-padded), else the last column. A header row is detected when none of
its value fields is empty or a number (the first may be empty: pandas' index); a first column
named "", ``index`` or ``Unnamed: 0`` counting the rows (0, 1, 2, ...) after a header is a row
index, not a value. Rows of different length are an error unless ``variable_length=True``,
where empty trailing fields end a row.

``.ts`` (sktime / UEA archive): ``@`` header lines (``@problemName``, ``@univariate``,
``@dimensions``, ``@equalLength``, ``@seriesLength``, ``@classLabel true c1 c2 ...``,
``@data``), then one case per line: dimensions separated by ``:``, values by ``,``, the class
label last; ``?`` is a missing value (NaN). Timestamped ``(t, v)`` data are not supported.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rnnkit.data.checks import MISSING, csv_rows, parse_values, quote, read_text, sniff_delimiter
from rnnkit.data.series import column_cells, counts_steps
from rnnkit.errors import ConfigError, DataError

log = logging.getLogger(__name__)


@dataclass
class LabelledSequences:
    """Sequences ``X[i]`` of shape (T_i, D), labels ``y`` (N,) int64, class names."""

    X: list[np.ndarray]
    y: np.ndarray
    classes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.X)

    @property
    def lengths(self) -> np.ndarray:
        """(N,) int64 number of steps of each sequence."""
        return np.asarray([len(x) for x in self.X], dtype=np.int64)

    @property
    def n_features(self) -> int:
        return int(self.X[0].shape[1]) if self.X else 0

    @property
    def equal_length(self) -> bool:
        return len(set(self.lengths.tolist())) <= 1

    def padded(self, maxlen: int | None = None, value: float = 0.0
               ) -> tuple[np.ndarray, np.ndarray]:
        """``(X (N, T, D) float32, lengths (N,))``, zero-padded after the end (post)."""
        from rnnkit.data.batching import pad_sequences

        return pad_sequences(self.X, maxlen=maxlen, value=value, dtype=np.float32)

    def encode_labels(self, labels: Sequence[str]) -> np.ndarray:
        """Map label strings to ids of ``self.classes`` (for a test set read apart)."""
        index = {c: i for i, c in enumerate(self.classes)}
        unknown = sorted({lab for lab in labels if lab not in index})
        if unknown:
            raise DataError(f"labels {unknown[:5]} are not among the training classes "
                            f"{self.classes[:10]}")
        return np.asarray([index[lab] for lab in labels], dtype=np.int64)


def from_arrays(X: np.ndarray | Sequence[np.ndarray], y: Sequence) -> LabelledSequences:
    """Wrap arrays: ``X`` (N, T) / (N, T, D) or a list of (T_i,) / (T_i, D); any labels."""
    seqs = []
    for i, x in enumerate(X):
        a = np.asarray(x, dtype=np.float32)
        if a.ndim == 1:
            a = a[:, None]
        if a.ndim != 2:
            raise DataError(f"X[{i}] must have shape (T,) or (T, D), got {a.shape}")
        seqs.append(a)
    if len(seqs) != len(y):
        raise DataError(f"X and y must have the same length, got {len(seqs)} and {len(y)}")
    if len({s.shape[1] for s in seqs}) > 1:
        raise DataError("all sequences in X must have the same number of features D")
    labels = [str(v) for v in np.asarray(y).tolist()]
    classes = _sorted_classes(labels)
    index = {c: i for i, c in enumerate(classes)}
    return LabelledSequences(seqs, np.asarray([index[v] for v in labels], dtype=np.int64),
                             classes)


def _sorted_classes(labels: Sequence[str]) -> list[str]:
    uniq = set(labels)
    try:
        return sorted(uniq, key=float)
    except ValueError:
        return sorted(uniq)


def is_number(s: str) -> bool:
    """Whether ``float`` reads ``s``."""
    try:
        float(s)
    except ValueError:
        return False
    return True


def _sequence(values: np.ndarray, place: str) -> np.ndarray:
    """``values`` (T,) float64 -> (T,) float32, refusing an empty or all-missing record."""
    if values.size == 0:
        raise DataError(f"{place}: the sequence has no values")
    if np.isnan(values).all():
        raise DataError(f"{place}: the sequence has no values, all {values.size} are missing")
    return values.astype(np.float32)


def _check_label(label: str, place: str) -> str:
    if not label:
        raise DataError(f"{place}: empty label")
    return label


def check_numeric_labels(labels: Sequence[str], lines: Sequence[int], what: str) -> None:
    """When every label is a number, the labels are class ids: each must be a whole number
    (``1`` or ``1.0``, not ``1.5``) and no two spellings may name the same number (``1`` and
    ``1.0``). DataError naming ``what`` and the line otherwise."""
    if not labels or not all(is_number(v) for v in labels):
        return
    seen: dict[float, str] = {}
    for label, line in zip(labels, lines, strict=True):
        x = float(label)
        if not math.isfinite(x) or x != int(x):
            raise DataError(f"{what} line {line}: label {quote(label)} is not a whole number; "
                            f"numeric class labels must be integers (is the label column "
                            f"right? the UCR archive's .tsv files put it first: "
                            f"label_column=0, --label-column 0)")
        other = seen.setdefault(x, label)
        if other != label:
            raise DataError(f"{what} line {line}: labels {quote(other)} and {quote(label)} "
                            f"name the same class {int(x)}; write it one way")


def load_sequence_csv(
    path: str | os.PathLike,
    label_column: int | str = "auto",
    header: bool | None = None,
    variable_length: bool = False,
    delimiter: str | None = None,
    encoding: str = "utf-8",
    classes: Sequence[str] | None = None,
) -> LabelledSequences:
    """Read a CSV with one univariate sequence per row and a label column.

    ``label_column``: an index, a header's column name, or "auto" (see the module doc: a
    column named label, class, target or y, the first in the UCR archive's layout, else the
    last). ``delimiter=None`` takes the comma, semicolon or tab that the first line holds
    most (:func:`~rnnkit.data.checks.sniff_delimiter`: the UCR archive's tab-separated
    ``.tsv`` files).

    ``header=None`` detects a header; ``classes`` fixes the class list (pass the training set's
    ``classes`` when reading a test file). An empty cell, ``?`` or ``NaN`` is a missing value
    (NaN), except at the end of a row, where such cells are padding: the sequence ends at its
    last value (the UCR archive pads its variable-length sets with NaN, and ragged rows written
    with ``variable_length=True`` end in empty cells); a row with no value, a row whose values
    are all missing, an empty label, an infinite value or one beyond float32's range is a
    DataError naming the line. Labels are class names; when all are numbers they must be whole
    numbers (``1.5`` is refused, never truncated).
    """
    p = Path(path)
    seqs, labels, lines = _sequence_rows(p, label_column, header, variable_length, delimiter,
                                         encoding)
    check_numeric_labels(labels, lines, f"CSV file {str(p)!r}")
    return _finish(seqs, labels, classes, p)


def load_sequence_rows(path: str | os.PathLike, header: bool | None = None,
                       delimiter: str | None = None, encoding: str = "utf-8"
                       ) -> list[np.ndarray]:
    """The sequences (T_i, 1) of a CSV with one univariate sequence per row and no label
    (inputs to predict on): every column a value, rows of any length, read as
    :func:`load_sequence_csv` reads the values."""
    return _sequence_rows(Path(path), None, header, True, delimiter, encoding)[0]


#: Header names that ``label_column="auto"`` takes for the label column.
LABEL_NAMES = ("label", "class", "target", "y")


def _is_header(row: list[str], label: int | None = None) -> bool:
    """Whether a first ``row`` is a header: it names every column, so each field but the
    label's (index ``label``) is a word, neither empty nor a number, save the first, which
    may be empty (pandas leaves its index's name empty); one number makes it a data row."""
    return all((v.strip() and not is_number(v)) or (j == 0 and not v.strip())
               for j, v in enumerate(row) if j != label)


def _label_index(rows: list[tuple[int, list[str]]], label_column: int | str, what: str) -> int:
    """The index of the label column: ``label_column`` an index, a header name, or "auto"
    (the module doc); whether the first row is a header follows :func:`_is_header`."""
    if isinstance(label_column, int):
        return label_column
    first_row = [c.strip() for c in rows[0][1]]
    header = _is_header(first_row)
    if label_column != "auto":
        if header and label_column in first_row:
            return first_row.index(label_column)
        raise DataError(f"{what}: label column {quote(label_column)} not found; "
                        + _why_not_found(first_row, header))
    named = [j for j, c in enumerate(first_row) if c.lower() in LABEL_NAMES] if header else []
    if named:
        return named[0]
    sample = [r for _, r in rows[1 if header else 0 : 101]] or [rows[0][1]]

    def whole(cell: str) -> bool:
        return is_number(cell) and float(cell).is_integer()

    first, last = [r[0].strip() for r in sample], [r[-1].strip() for r in sample]
    values_last = all(is_number(c) or c.lower() in MISSING for c in last)
    text_first = not any(is_number(c) for c in first)
    return 0 if (values_last and not all(map(whole, last))
                 and (text_first or all(map(whole, first)))) else -1


def _why_not_found(first_row: list[str], header: bool) -> str:
    """The end of the error for a label column name that ``first_row`` (stripped) lacks."""
    if header:
        return f"columns are {quote(first_row)}"
    blank = [j + 1 for j, c in enumerate(first_row) if j and not c]
    if blank and not any(is_number(c) for c in first_row):
        return (f"line 1 is not read as a header: its column {blank[0]} has no name (a header "
                f"names every column but the first)")
    return "the file has no header row: give the label column's index"


def _row_names(body: list[tuple[int, list[str]]], name: str | None) -> str | None:
    """How the first column names the rows rather than holding values, or None when it holds
    values: "index" for pandas' row index (an unnamed, "index" or "Unnamed: 0" header over
    0, 1, 2, ...), "ids" for a different word on every row before at least two more columns
    (``s1, s2, ...``)."""
    cells = column_cells(body, 0)
    if name is not None and name.lower() in ("", "index", "unnamed: 0") and counts_steps(cells):
        return "index"
    if (len(cells) < 2 or len(set(cells)) < len(cells) or len(body[0][1]) < 3
            or any(is_number(c) or len(c.split()) != 1 for c in cells)):
        return None
    return "ids"


def _sequence_rows(p: Path, label_column: int | str | None, header: bool | None,
                   variable_length: bool, delimiter: str | None, encoding: str
                   ) -> tuple[list[np.ndarray], list[str], list[int]]:
    """``(sequences (T_i, 1), labels, line numbers)`` of a sequence CSV (see
    :func:`load_sequence_csv`); ``label_column`` None: no labels, every column a value."""
    what = f"CSV file {str(p)!r}"
    text = read_text(p, "CSV file", encoding)
    if delimiter is None:
        delimiter = sniff_delimiter(text.lstrip("\ufeff").split("\n", 1)[0])
    rows = [(n, r) for n, r in csv_rows(text, p, "CSV file", delimiter) if r]
    if not rows:
        raise DataError(f"{what} is empty")
    width = len(rows[0][1])
    if label_column is not None:
        label_column = _label_index(rows, label_column, what)
    if label_column is None:
        lab = None
    elif width < 2:
        raise DataError(f"{what} needs a label and at least one value per row, got {width} "
                        f"column")
    else:
        lab = label_column if label_column >= 0 else width + label_column
        if not 0 <= lab < width:
            raise ConfigError(f"label_column must index one of the {width} columns of "
                              f"{what}, got {label_column}")
    if header is None:
        header = _is_header(rows[0][1], lab)
    body = rows[1:] if header else rows
    skip = set() if lab is None else {lab}
    name = rows[0][1][0].strip() if header else None
    names = None if lab == 0 else _row_names(body, name)
    if names is not None:  # pandas' row index (to_csv) or the rows' ids: not values
        skip.add(0)
    if names == "ids":  # the user may not expect it: say so
        log.warning("the first column%s holds a different word on every row (%s, ...): read "
                    "as the rows' names, not values", f" {quote(name)}" if name else "",
                    ", ".join(quote(c) for c in column_cells(body, 0)[:2]))
    seqs, labels, lines = [], [], []
    for n, row in body:
        if len(row) != width and not variable_length:
            raise DataError(f"{what} line {n}: ragged row with {len(row)} fields, expected "
                            f"{width} like line {body[0][0]} (pass variable_length=True for "
                            f"sequences of different length)")
        if lab is not None and lab >= len(row):
            raise DataError(f"{what} line {n}: no label column {label_column}")
        fields = [v for j, v in enumerate(row) if j not in skip]
        end = len(fields)  # trailing missing cells are padding: the row ends before them
        while end and fields[end - 1].strip().lower() in MISSING:
            end -= 1
        fields = fields[:end] or fields  # all missing: the error below counts them
        place = f"{what} line {n}"
        try:
            values = parse_values(fields, place)
        except DataError as err:
            if any(sum(c.isalpha() for c in f) > 1 for f in fields):
                raise DataError(f"{err}; the values look like words: for labelled texts use "
                                f"TextClassifier (rnnkit classify --text)") from None
            raise
        seqs.append(_sequence(values, place)[:, None])
        if lab is not None:
            labels.append(_check_label(row[lab].strip(), place))
        lines.append(n)
    if not seqs:
        raise DataError(f"{what} has a header but no data rows")
    return seqs, labels, lines


def encode_labels(labels: Sequence[str], classes: Sequence[str] | None,
                  path: Path) -> tuple[np.ndarray, list[str]]:
    """Label strings -> ``(ids (N,) int64, classes)``; classes sorted (numerically if they
    all are numbers) unless given, and a label outside given classes is an error naming
    ``path``."""
    if classes is None:
        classes = _sorted_classes(labels)
    index = {c: i for i, c in enumerate(classes)}
    unknown = sorted({lab for lab in labels if lab not in index})
    if unknown:
        raise DataError(f"file {str(path)!r} has labels {unknown[:5]} not among the classes "
                        f"{list(classes)[:10]}")
    return np.asarray([index[v] for v in labels], dtype=np.int64), list(classes)


def _finish(seqs, labels, classes, p) -> LabelledSequences:
    return LabelledSequences(seqs, *encode_labels(labels, classes, p))


def load_ts(path: str | os.PathLike, encoding: str = "utf-8",
            classes: Sequence[str] | None = None) -> LabelledSequences:
    """Read a UCR/UEA ``.ts`` file (univariate or multivariate, equal or variable length)."""
    p = Path(path)
    text = read_text(p, ".ts file", encoding)
    meta: dict[str, str] = {}
    declared: list[str] | None = None
    seqs, labels = [], []
    in_data = False
    for n, line in enumerate(text.splitlines(), start=1):
        s = line.strip()
        if not s or s.startswith("#") or (not in_data and s.startswith("%")):
            continue  # "#" comments anywhere; "%" (ARFF's) in the header, as aeon's own files
        if not in_data:
            if not s.startswith("@"):
                raise DataError(f".ts file {str(p)!r} line {n}: expected an @ header line or "
                                f"@data before the data, got {s[:30]!r}")
            key, _, rest = s[1:].partition(" ")
            key = key.lower()
            rest = rest.strip()
            if key == "data":
                in_data = True
            elif key == "classlabel":
                parts = rest.split()
                if not parts or parts[0].lower() not in ("true", "false"):
                    raise DataError(f".ts file {str(p)!r} line {n}: @classLabel must be "
                                    f"'true c1 c2 ...' or 'false', got {rest!r}")
                if parts[0].lower() == "false":
                    raise DataError(f".ts file {str(p)!r} has no class labels "
                                    f"(@classLabel false); classification needs them")
                declared = parts[1:]
            else:
                meta[key] = rest.lower()
            continue
        if meta.get("timestamps") == "true" or s.startswith("("):
            raise DataError(f".ts file {str(p)!r} uses timestamped (t, v) values, which are "
                            f"not supported")
        parts = s.split(":")
        if len(parts) < 2:
            raise DataError(f".ts file {str(p)!r} line {n}: expected 'values:label', got "
                            f"{s[:40]!r}")
        place = f".ts file {str(p)!r} line {n}"
        label = _check_label(parts[-1].strip(), place)
        dims = [parse_values(chunk.split(","), f"{place} dimension {d}")
                for d, chunk in enumerate(parts[:-1])]
        if seqs and len(dims) != seqs[0].shape[1]:
            raise DataError(f".ts file {str(p)!r} line {n}: {len(dims)} dimensions, expected "
                            f"{seqs[0].shape[1]} like the first case")
        if "dimensions" in meta and meta["dimensions"].isdigit() and \
                len(dims) != int(meta["dimensions"]):
            raise DataError(f".ts file {str(p)!r} line {n}: {len(dims)} dimensions but the "
                            f"header declares @dimensions {meta['dimensions']}")
        length = len(dims[0])
        if any(len(v) != length for v in dims):
            raise DataError(f".ts file {str(p)!r} line {n}: dimensions of different lengths "
                            f"{[len(v) for v in dims]}")
        if meta.get("equallength") == "true" and seqs and length != len(seqs[0]):
            raise DataError(f".ts file {str(p)!r} line {n}: length {length} but @equalLength "
                            f"true and the first case has {len(seqs[0])}")
        if meta.get("serieslength", "").isdigit() and meta.get("equallength") == "true" and \
                length != int(meta["serieslength"]):
            raise DataError(f".ts file {str(p)!r} line {n}: length {length} but "
                            f"@seriesLength {meta['serieslength']}")
        values = np.stack(dims, axis=1)  # (T, D)
        if np.isnan(values).all():
            raise DataError(f"{place}: the case has no values, all {values.size} are missing")
        seqs.append(values.astype(np.float32))
        labels.append(label)
    if not in_data:
        raise DataError(f".ts file {str(p)!r} has no @data line")
    if not seqs:
        raise DataError(f".ts file {str(p)!r} has no cases after @data")
    if declared is not None and classes is None:
        classes = declared
    return _finish(seqs, labels, classes, p)


def load_labelled(path: str | os.PathLike, encoding: str = "utf-8",
                  classes: Sequence[str] | None = None, **csv_options) -> LabelledSequences:
    """Dispatch on the suffix: ``.ts`` -> :func:`load_ts`, ``.arff`` ->
    :func:`rnnkit.data.arff.load_arff`, anything else -> CSV."""
    suffix = Path(path).suffix.lower()
    if suffix == ".ts":
        return load_ts(path, encoding=encoding, classes=classes)
    if suffix == ".arff":
        from rnnkit.data.arff import load_arff  # it imports this module

        return load_arff(path, encoding=encoding, classes=classes)
    return load_sequence_csv(path, encoding=encoding, classes=classes, **csv_options)


def load_ucr(name: str, download: bool = True) -> tuple[LabelledSequences, LabelledSequences]:
    """``(train, test)`` of the UCR/UEA set ``name`` (``"ACSF1"``) from the cache folder,
    downloaded there from the archive on first use (:func:`rnnkit.data.download.ucr_files`);
    the test set uses the training set's classes."""
    from rnnkit.data.download import ucr_files

    train_path, test_path = ucr_files(name, download=download)
    train = load_ts(train_path)
    return train, load_ts(test_path, classes=train.classes)


#: Suffixes of the UCR/UEA archive's own formats, which carry their labels (no column flags).
ARCHIVE_SUFFIXES = (".ts", ".arff")

__all__ = ["ARCHIVE_SUFFIXES", "LabelledSequences", "from_arrays", "is_number", "load_labelled",
           "load_sequence_csv", "load_sequence_rows", "load_ts", "load_ucr"]
