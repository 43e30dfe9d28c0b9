r"""A UCR/UEA classification set in Weka's ARFF layout, the archive's other format beside
``.ts`` (what aeon's and sktime's ``load_from_arff_file`` read).

Univariate: one numeric attribute a step, the class attribute last::

    @relation NAME
    @attribute att1 numeric
    ...
    @attribute target {a,b}
    @data
    0.1,0.5,...,a

Multivariate: one relational attribute whose value holds one line a channel, the lines
joined by a literal ``\n`` inside the quotes::

    @attribute relationalAtt relational
      @attribute t1 numeric
      ...
    @end relationalAtt
    @attribute activity {Standing,Walking}
    @data
    '0.1,0.2,0.3\n1.1,1.2,1.3',Walking

``?`` is a missing value: trailing ones pad a shorter series to the attributes' count (the
archive's variable-length sets) and are dropped; others stay missing (NaN). ``%`` starts a
comment line. A nominal class attribute (``{a,b}``) gives the classes and their order.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rnnkit.data.checks import content_lines, parse_values, read_text
from rnnkit.data.labelled import LabelledSequences, encode_labels
from rnnkit.errors import DataError

_ATTRIBUTE = re.compile(r"@attribute\s+('[^']*'|\"[^\"]*\"|\S+)\s+(.+)$", re.IGNORECASE)


def _unquote(s: str) -> str:
    s = s.strip()
    return s[1:-1] if len(s) >= 2 and s[0] == s[-1] and s[0] in "'\"" else s


def _without_padding(values: np.ndarray) -> np.ndarray:
    """``values`` (T,) without the trailing missing values that pad it."""
    kept = np.flatnonzero(~np.isnan(values))
    return values[: kept[-1] + 1] if kept.size else values[:0]


def _relational_row(s: str, place: str) -> tuple[list[list[str]], str]:
    """``'c1\nc2...',label`` -> (each channel's cells, the label)."""
    quote = s[0]
    end = s.rfind(quote + ",")
    if quote not in "'\"" or end <= 0:
        raise DataError(f"{place}: expected a quoted relational value then the label "
                        f"('v,v\\nv,v',label), got {s[:40]!r}")
    return [c.split(",") for c in s[1:end].split("\\n")], _unquote(s[end + 2:])


def load_arff(path: str | os.PathLike, encoding: str = "utf-8",
              classes: Sequence[str] | None = None) -> LabelledSequences:
    """Read an ARFF classification file (see the module doc) as
    :class:`~rnnkit.data.labelled.LabelledSequences`: (T_i, D) float32 series, D = 1 or
    the relational attribute's channels."""
    p = Path(path)
    text = read_text(p, "ARFF file", encoding)
    kinds: list[str] = []  # the top-level attributes' types (the relational one's own skipped)
    in_relational, in_data, relational = False, False, False
    seqs, labels = [], []
    for n, s in content_lines(text, "%"):
        place = f"ARFF file {str(p)!r} line {n}"
        if not in_data:
            low = s.lower()
            if low.startswith("@data"):
                if not kinds:
                    raise DataError(f"{place}: @data before any @attribute line")
                in_data, relational = True, kinds[0].lower() == "relational"
            elif low.startswith("@end"):
                in_relational = False
            elif low.startswith("@attribute"):
                m = _ATTRIBUTE.match(s)
                if not m:
                    raise DataError(f"{place}: expected '@attribute NAME TYPE', got {s[:40]!r}")
                if not in_relational:
                    kinds.append(m.group(2).strip())
                    in_relational = kinds[-1].lower() == "relational"
            elif not low.startswith("@relation"):
                raise DataError(f"{place}: expected an @ header line or @data before the "
                                f"data, got {s[:30]!r}")
            continue
        if relational:
            channels, label = _relational_row(s, place)
        else:
            cells = s.split(",")
            if len(cells) != len(kinds):
                raise DataError(f"{place}: {len(cells)} values, expected {len(kinds)} (one "
                                f"a step, then the class)")
            channels, label = [cells[:-1]], _unquote(cells[-1])
        if not label or label == "?":
            raise DataError(f"{place}: the label is missing")
        dims = [_without_padding(parse_values(c, f"{place} channel {d + 1}"))
                for d, c in enumerate(channels)]
        if len({len(d) for d in dims}) > 1:
            raise DataError(f"{place}: channels of different lengths {[len(d) for d in dims]}")
        if seqs and len(dims) != seqs[0].shape[1]:
            raise DataError(f"{place}: {len(dims)} channels, expected {seqs[0].shape[1]} like "
                            f"the first case")
        if not len(dims[0]):
            raise DataError(f"{place}: the case has no values, all are missing")
        seqs.append(np.stack(dims, axis=1).astype(np.float32))  # (T, D)
        labels.append(label)
    if not in_data:
        raise DataError(f"ARFF file {str(p)!r} has no @data line")
    if not seqs:
        raise DataError(f"ARFF file {str(p)!r} has no cases after @data")
    declared = kinds[-1]
    if classes is None and declared.startswith("{") and declared.endswith("}"):
        classes = [_unquote(c) for c in declared[1:-1].split(",")]
    return LabelledSequences(seqs, *encode_labels(labels, classes, p))


__all__ = ["load_arff"]
