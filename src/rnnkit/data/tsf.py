"""Many series from a ``.tsf`` file, the format of the Monash forecasting archive (Godahewa et
al., 2021; what sktime's ``load_tsf_to_dataframe`` and GluonTS read)::

    # comment
    @relation M
    @attribute series_name string
    @attribute start_timestamp date
    @frequency monthly
    @horizon 18
    @missing false
    @equallength false
    @data
    T1:1990-01-01 00-00-00:12.5,13.1,?,14.0
    T2:1991-06-01 00-00-00:3,4,5

Each data row holds the attributes' values, then the series, separated by ``:`` (the archive
writes times as ``00-00-00`` so that no value holds a colon). The series' id is its
``series_name`` when that is unique, else its string attributes joined by ``/`` (``G1/T1`` in
a hierarchical file), else its position; with a ``date`` attribute and a known ``@frequency``
each step gets its date, written in a form :mod:`rnnkit.data.dates` reads (``1990``,
``1990 Q1``, ``1990-01``, ``1990-01-01``, ``1990-01-01 00:00``), so the season and the
default horizon follow as for a CSV; other frequencies (``4_seconds``) and files without a
start leave the dates out. ``@horizon`` is the file's forecast horizon
(:attr:`~rnnkit.data.panel.Panel.horizon`), which ``rnnkit forecast`` takes unless
``--horizon`` is given, and keeps as it keeps a ``--horizon``: it does not shorten it for
short series (those too short for its split are forecast, unscored). ``?`` is a missing
value: an error naming the series and its line, or filled linearly with ``interpolate``.
"""

from __future__ import annotations

import os
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from rnnkit.data.checks import content_lines, parse_values, quote, read_text
from rnnkit.data.dates import SEASONS, Frequency, dates_from
from rnnkit.data.panel import Panel
from rnnkit.data.series import fill_missing
from rnnkit.errors import DataError

#: ``@frequency`` -> its :class:`~rnnkit.data.dates.Frequency` (name, season, the dates' form,
#: months or time between steps) and a date of that form, which the dates are written like.
FREQUENCIES = {
    "yearly": (Frequency("yearly", SEASONS["yearly"], "Y", months=12), "2000"),
    "quarterly": (Frequency("quarterly", SEASONS["quarterly"], "YQ", months=3), "2000 Q1"),
    "monthly": (Frequency("monthly", SEASONS["monthly"], "YM", months=1), "2000-01"),
    **{name: (Frequency(name, SEASONS[name], "YMD", delta=timedelta(days=days)), "2000-01-01")
       for name, days in (("weekly", 7), ("daily", 1))},
    **{tsf: (Frequency(name, SEASONS[name], "ISO", delta=timedelta(minutes=minutes)),
             "2000-01-01 00:00")
       for tsf, name, minutes in (("hourly", "hourly", 60), ("half_hourly", "half-hourly", 30),
                                  ("10_minutes", "10-minutely", 10),
                                  ("minutely", "minutely", 1))},
}
_START_FORMS = ("%Y-%m-%d %H-%M-%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d")


def _start(text: str, place: str) -> datetime:
    for form in _START_FORMS:
        try:
            return datetime.strptime(text.strip(), form)
        except ValueError:
            continue
    raise DataError(f"{place}: start {quote(text)} is not a date like 1990-01-01 00-00-00")


def series_dates(start: datetime, steps: int, frequency: str) -> list[str] | None:
    """The ``steps`` dates from ``start`` at the file's ``@frequency`` (None when the
    frequency is not one of :data:`FREQUENCIES`)."""
    if frequency not in FREQUENCIES:
        return None
    return dates_from(start, steps, *FREQUENCIES[frequency])


def _names(keys: list[tuple[str, ...]], attributes: list[str], p: Path) -> list[str]:
    """The series' ids from their string attributes' ``keys``: ``series_name`` when the file
    has it and it is unique, else all of them joined by ``/`` (``G1/T1`` in a hierarchical
    file), else the positions when there are none."""
    if not attributes:
        return [str(i) for i in range(len(keys))]
    if "series_name" in attributes:
        names = [k[attributes.index("series_name")] for k in keys]
        if len(set(names)) == len(names):
            return names
    names = ["/".join(k) for k in keys]
    repeated = sorted(i for i, k in Counter(names).items() if k > 1)
    if repeated:
        raise DataError(f".tsf file {str(p)!r}: series names repeat ({quote(repeated[:3])})")
    return names


def load_tsf(path: str | os.PathLike, interpolate: bool = False) -> Panel:
    """Read a ``.tsf`` file (module doc) into a :class:`~rnnkit.data.panel.Panel` of
    (T_i, 1) float64 series."""
    p = Path(path)
    text = read_text(p, ".tsf file", "utf-8")
    attributes: list[tuple[str, str]] = []  # (name, type)
    meta: dict[str, str] = {}
    keys, values, dates, in_data = [], [], [], False
    named: list[int] = []  # positions of the string attributes (the id), set at @data
    start: int | None = None  # position of the first date attribute (the start), or None
    for n, s in content_lines(text, "#"):
        place = f".tsf file {str(p)!r} line {n}"
        if not in_data:
            word, _, rest = s.partition(" ")
            word = word.lower()
            if word == "@data":
                in_data = True
                named = [k for k, (_, kind) in enumerate(attributes) if kind == "string"]
                start = next((k for k, (_, kind) in enumerate(attributes) if kind == "date"),
                             None)
            elif word == "@attribute":
                name, _, kind = rest.strip().partition(" ")
                attributes.append((name, kind.strip().lower()))
            elif word.startswith("@"):
                meta[word[1:]] = rest.strip().lower()
            else:
                raise DataError(f"{place}: expected an @ header line or @data before the "
                                f"data, got {s[:30]!r}")
            continue
        parts = s.split(":", len(attributes))
        if len(parts) != len(attributes) + 1:
            raise DataError(f"{place}: expected {len(attributes)} attribute value(s) and the "
                            f"series, separated by ':', got {len(parts)} field(s)")
        key = tuple(parts[k].strip() for k in named)
        shown = quote("/".join(key) or str(len(keys)))
        y = parse_values(parts[-1].split(","), f"{place} (series {shown})")
        if np.isnan(y).any():
            if not interpolate:
                k = int(np.argmax(np.isnan(y)))
                raise DataError(f"{place}: series {shown} has a missing value ('?') at step "
                                f"{k + 1}; --interpolate fills missing values linearly")
            y = fill_missing(y)
        keys.append(key)
        values.append(y[:, None])
        dates.append(None if start is None else
                     series_dates(_start(parts[start], place), len(y), meta.get("frequency")))
    if not in_data:
        raise DataError(f".tsf file {str(p)!r} has no @data line")
    if not keys:
        raise DataError(f".tsf file {str(p)!r} has no series after @data")
    ids = _names(keys, [attributes[k][0] for k in named], p)
    horizon = meta.get("horizon", "")
    return Panel(ids, values, dates if all(d is not None for d in dates) else None, str(p),
                 "tsf", horizon=int(horizon) if horizon.isdigit() else None)


__all__ = ["FREQUENCIES", "load_tsf", "series_dates"]
