"""Labelled sequence sets: arrays, CSV files (one sequence per row) and UCR/UEA ``.ts`` files.

Every loader returns a :class:`LabelledSequences`: a list of ``(T_i, D)`` float arrays (lengths
may differ), integer labels ``y`` (N,) and the class names, so ``classes[y[i]]`` is the label
as written in the file. :meth:`LabelledSequences.padded` gives ``(N, T, D)`` plus lengths for
masked/packed models.

CSV: one sequence per row, the label in ``label_column`` (default the last column; ``0`` for
the first). A header row is detected when its value fields are not numbers. Rows of different
length are an error unless ``variable_length=True``, where empty trailing fields end a row.

``.ts`` (sktime / UEA archive): ``@`` header lines (``@problemName``, ``@univariate``,
``@dimensions``, ``@equalLength``, ``@seriesLength``, ``@classLabel true c1 c2 ...``,
``@data``), then one case per line: dimensions separated by ``:``, values by ``,``, the class
label last; ``?`` is a missing value (NaN). Timestamped ``(t, v)`` data are not supported.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rnnkit.data.text import decode_bytes
from rnnkit.errors import DataError


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
            raise ValueError(f"X[{i}] must have shape (T,) or (T, D), got {a.shape}")
        seqs.append(a)
    if len(seqs) != len(y):
        raise ValueError(f"X and y must have the same length, got {len(seqs)} and {len(y)}")
    if len({s.shape[1] for s in seqs}) > 1:
        raise ValueError("all sequences in X must have the same number of features D")
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


def _read_text(path: str | os.PathLike, encoding: str, what: str) -> tuple[Path, str]:
    p = Path(path)
    if not p.exists():
        raise DataError(f"{what} {str(p)!r} does not exist")
    if not p.is_file():
        raise DataError(f"{what} {str(p)!r} is not a regular file")
    return p, decode_bytes(p.read_bytes(), p, encoding)


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def load_sequence_csv(
    path: str | os.PathLike,
    label_column: int = -1,
    header: bool | None = None,
    variable_length: bool = False,
    delimiter: str = ",",
    encoding: str = "utf-8",
    classes: Sequence[str] | None = None,
) -> LabelledSequences:
    """Read a CSV with one univariate sequence per row and a label column.

    ``header=None`` detects a header; ``classes`` fixes the class list (pass the training
    set's ``classes`` when reading a test file).
    """
    p, text = _read_text(path, encoding, "CSV file")
    rows = [r for r in csv.reader(io.StringIO(text), delimiter=delimiter) if r]
    if not rows:
        raise DataError(f"CSV file {str(p)!r} is empty")
    width = len(rows[0])
    if width < 2:
        raise DataError(f"CSV file {str(p)!r} needs a label and at least one value per row, "
                        f"got {width} column")
    lab = label_column if label_column >= 0 else width + label_column
    if not 0 <= lab < width:
        raise ValueError(f"label_column must index one of the {width} columns, got "
                         f"{label_column}")
    if header is None:
        header = not all(_is_number(v) for j, v in enumerate(rows[0]) if j != lab and v)
    start = 1 if header else 0
    seqs, labels = [], []
    for n, row in enumerate(rows[start:], start=start + 1):
        if len(row) != width and not variable_length:
            raise DataError(f"CSV file {str(p)!r} line {n}: ragged row with {len(row)} fields, "
                            f"expected {width} like line {start + 1} (pass variable_length=True "
                            f"for sequences of different length)")
        if lab >= len(row):
            raise DataError(f"CSV file {str(p)!r} line {n}: no label column {label_column}")
        label = row[lab].strip()
        fields = [v.strip() for j, v in enumerate(row) if j != lab]
        if variable_length:
            while fields and fields[-1] == "":
                fields.pop()
        try:
            values = np.asarray([float(v) if v not in ("", "?") else np.nan for v in fields],
                                dtype=np.float32)
        except ValueError as exc:
            raise DataError(f"CSV file {str(p)!r} line {n}: {exc}") from exc
        if values.size == 0:
            raise DataError(f"CSV file {str(p)!r} line {n}: the row has no values")
        seqs.append(values[:, None])
        labels.append(label)
    if not seqs:
        raise DataError(f"CSV file {str(p)!r} has a header but no data rows")
    return _finish(seqs, labels, classes, p)


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
    p, text = _read_text(path, encoding, ".ts file")
    meta: dict[str, str] = {}
    declared: list[str] | None = None
    seqs, labels = [], []
    in_data = False
    for n, line in enumerate(text.splitlines(), start=1):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
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
        label = parts[-1].strip()
        dims = []
        for d, chunk in enumerate(parts[:-1]):
            try:
                vals = [np.nan if v.strip() in ("?", "NaN", "") else float(v)
                        for v in chunk.split(",")]
            except ValueError as exc:
                raise DataError(f".ts file {str(p)!r} line {n} dimension {d}: {exc}") from exc
            dims.append(np.asarray(vals, dtype=np.float32))
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
        seqs.append(np.stack(dims, axis=1))
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
    """Dispatch on the suffix: ``.ts`` -> :func:`load_ts`, anything else -> CSV."""
    if str(path).lower().endswith(".ts"):
        return load_ts(path, encoding=encoding, classes=classes)
    return load_sequence_csv(path, encoding=encoding, classes=classes, **csv_options)


__all__ = ["LabelledSequences", "from_arrays", "load_labelled", "load_sequence_csv", "load_ts"]
