"""Many series keyed by id (a ``Panel``): from a long or wide CSV file, a pandas DataFrame,
a dict of arrays, or arrays.

Layouts and the rule that tells them apart:

    long   one row per (series, time step): an id column (named: ``id_column=``,
           ``--id-column``), an optional date column and a value column (default: the first
           column that is neither). The rows of one id are in time order (its dates, when
           they parse, strictly increase); ids keep the order of their first row; series may
           have different lengths and dates.
    wide   one row per time step (no ``id_column``): an optional date column and value
           columns; every value column is one series whose id is the column name, unless
           ``column`` names the one (or the list) to read; a column's empty cells before its
           first value and after its last are outside its series (it starts later or ends
           sooner). A column of text is refused with a hint at ``id_column``, since it is
           what a long file without it looks like.
    arrays ``(T,)``/``(T, D)`` is one series, ``(S, T, D)`` or a list are S series; their ids
           are the positions "0", "1", ... (``named`` is False); a dict maps ids to arrays.

Past covariates (``past_covariates=["price", ...]``, ``--past-covariates``): other columns
that a model reads beside the target over its input window only, so a forecast made at an
origin never sees their values after it. In a long file each id has its own; in a wide file
they are shared by every series and are not series themselves.

Static covariates (``static_covariates=["region", ...]``, ``--static-covariates``): columns of
a long table whose value is one per series id (a store's region or size). They are not
values over time: a column that changes within a series is an error naming the column, the
id and the two lines. ``Panel.static`` maps each id to its values in the order of
``static_names``: floats when every id's cell is a number, else the text (a categorical
column; :mod:`rnnkit.tasks.forecast.static` encodes both for a model).

Values are float64 ``(T_i, D)``: column 0 the target, then the P past covariates in the order
named (D = 1 + P); missing values are an error naming the file, column and line unless
``interpolate`` fills them linearly, within each series; it also inserts the dates that a
series' calendar skips (a week without a row in weekly data), their values on the line
between the rows either side (:func:`~rnnkit.data.dates.fill_missing_steps`), and counts
them in ``Panel.inserted``. pandas is never imported here: a
DataFrame is read through its ``columns`` and ``to_numpy``, so it stays an optional
dependency.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from rnnkit.data.checks import decorated_number_hint, quote
from rnnkit.data.series import (
    MISSING,
    check_column,
    check_time_order,
    column_cells,
    column_values,
    counts_steps,
    detect_date_column,
    fill_missing,
    index_column,
    lines,
    read_table,
    value_span,
)
from rnnkit.data.windowing import as_series_list
from rnnkit.errors import DataError

__all__ = ["Panel", "as_panel", "datetime_labels", "is_frame", "load_panel", "number_or_none",
           "panel_from_frame"]


@dataclass
class Panel:
    """S series by id: ``values[i] (T_i, D)`` float64, ``dates[i]`` its T_i labels or None.

    ``layout`` is "long", "wide" or "arrays"; ``value_column`` the value column of a long
    table; ``named`` is False when the ids are positions made up for unnamed arrays;
    ``covariates`` names the columns after the target (past covariates); ``static`` maps
    ids to their static covariates, named by ``static_names``; ``inserted`` counts the rows
    that ``interpolate`` inserted for dates the calendar skips (see the module doc);
    ``horizon`` is the forecast horizon the file declares (a ``.tsf`` file's ``@horizon``),
    else None.
    """

    ids: list[str]
    values: list[np.ndarray]
    dates: list[list[str]] | None = None
    source: str = ""
    layout: str = "arrays"
    id_column: str | None = None
    date_column: str | None = None
    value_column: str | None = None
    named: bool = True
    covariates: list[str] = field(default_factory=list)
    static: dict[str, list[float | str]] | None = None
    static_names: list[str] = field(default_factory=list)
    inserted: int = 0
    horizon: int | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def index(self, series_id: str) -> int:
        """The position of ``series_id`` (DataError naming the ids when unknown)."""
        if series_id not in self.ids:
            raise DataError(f"{self.source or 'data'}: series id {quote(series_id)} not found; "
                            f"ids are {quote(self.ids)}")
        return self.ids.index(series_id)

    def select(self, ids: Sequence[str]) -> Panel:
        """The panel of the series ``ids`` (in that order)."""
        idx = [self.index(i) for i in ids]
        return replace(self, ids=[self.ids[i] for i in idx],
                       values=[self.values[i] for i in idx],
                       dates=[self.dates[i] for i in idx] if self.dates is not None else None,
                       static=({self.ids[i]: self.static[self.ids[i]] for i in idx}
                               if self.static is not None else None))

    def head(self, ends: Sequence[int]) -> Panel:
        """Each series up to its own end ``ends[i]`` (values and dates; ids, covariates and
        static values kept)."""
        return replace(self, values=[v[:e] for v, e in zip(self.values, ends, strict=True)],
                       dates=None if self.dates is None else
                       [d[:e] for d, e in zip(self.dates, ends, strict=True)])

    def describe(self) -> str:
        """One line: how many series, their layout and lengths."""
        lengths = [len(v) for v in self.values]
        span = (f"{lengths[0]}" if min(lengths) == max(lengths)
                else f"{min(lengths)}..{max(lengths)}")
        if self.layout == "long":
            how = (f"long format: id column {quote(self.id_column)}, value column "
                   f"{quote(self.value_column)}")
        elif self.layout == "wide":
            how = "wide format: one series per value column"
        elif self.layout == "tsf":
            how = "a .tsf file"
        else:
            how = "arrays"
        past = (f"; past covariates {', '.join(self.covariates)} (read up to each forecast "
                f"origin)" if self.covariates else "")
        if self.static_names:
            past += f"; static covariates {', '.join(self.static_names)} (one value per id)"
        return f"{len(self)} series ({how}), {span} values each{past}"


#: Header names of whole-number id columns that ``id_column="auto"`` takes (a column of text
#: ids needs no name).
ID_NAMES = ("id", "unique_id", "series_id", "item_id", "series")


def detect_id_column(header: list[str], body: list[tuple[int, list[str]]]) -> str | None:
    """The series-id column of a long file, or None (a wide file): a column besides dates,
    with no cell missing, of text (``s1``, ``store_a``; no number among them) or of whole
    numbers under a name of :data:`ID_NAMES`, whose values each fill one run of two or more
    consecutive rows (the first such column), else whose values take turns row by row beside
    a date column, each date once per id and some date on several rows (a file sorted by
    date, :func:`_takes_turns`)."""
    from rnnkit.data.dates import looks_like_dates

    interleaved, dates = [], []  # columns whose ids may take turns row by row; date columns
    for k, name in enumerate(header):
        cells = column_cells(body, k)
        if any(c.lower() in MISSING for c in cells):
            continue
        if looks_like_dates(cells):
            dates.append(cells)
            continue
        numbers = [number_or_none(c) for c in cells]
        if not _may_hold_ids(name, all(x is None for x in numbers),
                             all(x is not None and float(x).is_integer() for x in numbers)):
            continue
        if _fills_runs(cells):
            return name
        interleaved.append((name, cells))
    for name, cells in interleaved:  # rows in date order: each date once per id
        if any(_takes_turns(cells, d) for d in dates):
            return name
    return None


def _may_hold_ids(name: str, text: bool, whole: bool) -> bool:
    """Whether a column named ``name`` of ``text`` (no number among its cells) or of
    ``whole`` numbers may hold series ids: text under any name, whole numbers under a name
    of :data:`ID_NAMES`."""
    return text or (whole and name.strip().lower() in ID_NAMES)


def _takes_turns(ids: list[str], dates: list[str]) -> bool:
    """Whether ``ids`` name series whose rows take turns by date: at least two ids, each on
    two or more rows, no (id, date) pair twice and some date on several rows."""
    counts = Counter(ids)
    return (len(counts) >= 2 and min(counts.values()) >= 2
            and len(set(zip(ids, dates, strict=True))) == len(ids)
            and len(set(dates)) < len(dates))


def _frame_ids(a: np.ndarray, name: str, dates: list[str] | None) -> bool:
    """Whether a DataFrame column ``a`` holds series ids (:func:`panel_from_frame`; the rule
    of :func:`detect_id_column`, beside the frame's ``dates``)."""
    text = a.dtype.kind in "OUS" and all(isinstance(x, str) for x in a)
    ids = a.tolist()
    return _may_hold_ids(name, text, a.dtype.kind in "iu") and (_fills_runs(ids) or (
        dates is not None and _takes_turns([str(x) for x in ids], dates)))


def _fills_runs(values: Sequence[Any]) -> bool:
    """Whether each distinct value of ``values`` fills one run of two or more consecutive
    entries, with at least two values (a long table's ids, its rows by id)."""
    from itertools import groupby

    runs = [(key, sum(1 for _ in group)) for key, group in groupby(values)]
    return (len(runs) >= 2 and len({key for key, _ in runs}) == len(runs)
            and min(n for _, n in runs) >= 2)


def load_panel(path: str | os.PathLike, id_column: str | None = "auto",
               column: str | list[str] | None = None, date_column: str | None = "auto",
               interpolate: bool = False,
               past_covariates: Sequence[str] | None = None,
               static_covariates: Sequence[str] | None = None) -> Panel:
    """Read a long (``id_column`` given or found) or wide CSV file into a :class:`Panel`
    (module doc). ``id_column="auto"`` (default) finds the id column of a long file
    (:func:`detect_id_column`); None reads the file as wide.

    ``date_column="auto"`` takes, in a wide file, the column
    :func:`~rnnkit.data.series.detect_date_column` finds, and in a long file the first column
    besides the id whose cells of the first id are
    (:func:`~rnnkit.data.dates.looks_like_dates`); dates must be in time order, one row a date
    (per id) (:func:`~rnnkit.data.series.check_time_order`). Errors name the file, the column
    (and the choices) and the line.
    """
    path = Path(path)
    if path.suffix.lower() == ".tsf":
        return _tsf(path, column, interpolate, past_covariates, static_covariates)
    header, body = read_table(path)
    past = list(past_covariates or [])
    for name in past:
        check_column(path, name, header, "past covariate column")
    static = list(static_covariates or [])
    for name in static:
        check_column(path, name, header, "static covariate column")
    if id_column == "auto" and "auto" not in header:
        id_column = detect_id_column(header, body)
    if id_column is not None:
        panel = _long(path, header, body, id_column, column, date_column, interpolate, past,
                      static)
        return _with_skipped_dates(panel) if interpolate else panel
    if static:
        raise DataError(f"{path}: static covariates ({', '.join(static)}) need a long file "
                        f"with its id column named (--id-column / id_column=): one value per "
                        f"series id")
    if date_column == "auto" and "auto" not in header:
        date_column = detect_date_column(header, body)
    if date_column is not None:
        check_column(path, date_column, header, "date column")
    index = index_column(header, body)  # pandas' row index: neither a series nor dates
    names = ([column] if isinstance(column, str) else list(column) if column is not None
             else [h for h in header if h not in (date_column, index) and h not in past])
    if not names:
        raise DataError(f"{path}: no value column besides the date column "
                        f"{quote(date_column)}")
    for name in names:
        check_column(path, name, header)
        if column is None:
            _refuse_text(path, header, body, name)
    if date_column is not None:
        check_time_order(path, date_column, lines(body),
                         column_cells(body, header.index(date_column)))
    spans = [value_span(header, body, n) for n in names]  # each series' rows: first to last
    values = [np.stack([column_values(path, header, rows, c, interpolate) for c in (n, *past)],
                       axis=1) for n, rows in zip(names, spans, strict=True)]  # S x (T_i, 1 + P)
    dates = (None if date_column is None else
             [column_cells(rows, header.index(date_column)) for rows in spans])
    panel = Panel(list(names), values, dates, str(path), "wide", None, date_column,
                  covariates=past)
    return _with_skipped_dates(panel) if interpolate else panel


def _tsf(path: Path, column, interpolate: bool, past_covariates, static_covariates) -> Panel:
    """:func:`rnnkit.data.tsf.load_tsf`, refusing the options of a CSV's columns."""
    from rnnkit.data.tsf import load_tsf  # it imports this module

    for option, given in (("column", column), ("past_covariates", past_covariates),
                          ("static_covariates", static_covariates)):
        if given:
            raise DataError(f"{path}: a .tsf file holds one series a row and no columns; "
                            f"{option} ({given!r}) does not apply")
    return load_tsf(path, interpolate)  # its dates are made step by step: none is skipped


def _with_skipped_dates(panel: Panel) -> Panel:
    """``panel`` with the dates each series' calendar skips inserted and their values
    interpolated (:func:`~rnnkit.data.dates.fill_missing_steps`), counted in ``inserted``."""
    from rnnkit.data.dates import fill_missing_steps

    if panel.dates is None:
        return panel
    filled = [fill_missing_steps(d, v) for d, v in zip(panel.dates, panel.values, strict=True)]
    inserted = sum(len(d) - len(d0) for (d, _), d0 in zip(filled, panel.dates, strict=True))
    return replace(panel, dates=[d for d, _ in filled], values=[v for _, v in filled],
                   inserted=inserted)


def _refuse_text(path: Path, header: list[str], body: list[tuple[int, list[str]]],
                 name: str) -> None:
    """A DataError with a hint at ``id_column`` when column ``name`` holds text."""
    k = header.index(name)
    for line_no, row in body:
        cell = row[k].strip() if k < len(row) else ""
        if cell.lower() in MISSING:
            continue
        try:
            float(cell)
        except ValueError:
            hint = decorated_number_hint(cell)
            if hint:
                raise DataError(f"{path}: column {quote(name)}, line {line_no}: "
                                f"{quote(cell)} is not a number{hint}") from None
            raise DataError(f"{path}: column {quote(name)} holds text ({quote(cell)} on line "
                            f"{line_no}), not numbers; a long file (rows of id, date, value) "
                            f"needs its id column named (--id-column {name} / "
                            f"id_column={name!r}), or pick the value column(s) with "
                            f"--column") from None
        return


def _long(path: Path, header: list[str], body: list[tuple[int, list[str]]], id_column: str,
          column: str | list[str] | None, date_column: str | None,
          interpolate: bool, past: list[str], static: list[str]) -> Panel:
    from rnnkit.data.dates import looks_like_dates

    check_column(path, id_column, header, "id column")
    k_id = header.index(id_column)
    groups: dict[str, list[tuple[int, list[str]]]] = {}
    for line_no, row in body:
        key = row[k_id].strip() if k_id < len(row) else ""
        if not key:
            raise DataError(f"{path}: id column {quote(id_column)} is empty on line {line_no}")
        groups.setdefault(key, []).append((line_no, row))
    first = next(iter(groups.values()))
    rest = [h for h in header if h != id_column]
    if date_column == "auto" and "auto" not in header:
        date_column = next((h for h in rest if looks_like_dates(
            column_cells(first, header.index(h)))), None)
    if date_column is not None:
        check_column(path, date_column, header, "date column")
    if isinstance(column, list):
        if len(column) != 1:
            raise DataError(f"{path}: a long file has one value column; got {quote(column)}")
        column = column[0]
    if column is None:
        candidates = [h for h in rest if h not in (date_column, *past, *static)]
        steps = _step_column(header, candidates[:-1], first)  # never the last candidate
        column = next((h for h in candidates if h != steps), None)
        if column is None:
            raise DataError(f"{path}: no value column besides the id column "
                            f"{quote(id_column)} and the date column {quote(date_column)}")
    check_column(path, column, header, "value column")
    values, dates = [], []
    for key, rows in groups.items():
        values.append(np.stack([column_values(path, header, rows, n, interpolate)
                                for n in (column, *past)], axis=1))  # (T_i, 1 + P)
        if date_column is not None:
            d = column_cells(rows, header.index(date_column))
            check_time_order(path, date_column, lines(rows), d,
                             f"the rows of id {quote(key)}", "id and date")
            dates.append(d)
    table = {key: [_constant([(f"line {n}", r[header.index(name)].strip()
                                if header.index(name) < len(r) else "") for n, r in rows],
                              f"{path}: static covariate column {quote(name)}", key)
                   for name in static] for key, rows in groups.items()}
    return Panel(list(groups), values, dates if date_column is not None else None, str(path),
                 "long", id_column, date_column, column, covariates=past,
                 static=_typed(table, static) if static else None, static_names=static)


def _step_column(header: list[str], names: list[str],
                 rows: list[tuple[int, list[str]]]) -> str | None:
    """The first of ``names`` whose cells in ``rows`` (the first id's) count the time steps
    (:func:`~rnnkit.data.series.counts_steps`): a step column of a long file without dates,
    not the values."""
    return next((name for name in names
                 if counts_steps(column_cells(rows, header.index(name)))), None)


def _constant(cells: list[tuple[str, Any]], where: str, key: str) -> Any:
    """The one value of a static covariate in the cells ``(where, value)`` of series
    ``key``: DataError naming both places when two differ, or a missing cell."""
    for place, value in cells:
        if value is None or (isinstance(value, str) and value.lower() in MISSING) or (
                isinstance(value, float) and np.isnan(value)):
            raise DataError(f"{where} is missing for series {quote(key)} ({place}); a static "
                            f"covariate needs its value on every row")
    first_place, first = cells[0]
    for place, value in cells[1:]:
        number = number_or_none(value)
        same_number = number is not None and number == number_or_none(first)
        if value != first and not same_number:
            raise DataError(f"{where} is not constant within series {quote(key)}: "
                            f"{quote(first)} ({first_place}) but {quote(value)} ({place}); a "
                            f"static covariate has one value per series id (a value that "
                            f"changes over time is a past covariate)")
    return first


def number_or_none(value: Any) -> float | None:
    """``value`` as a float, or None when it is no number (NaN never equals itself)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _typed(table: dict[str, list[Any]], names: list[str]) -> dict[str, list[float | str]]:
    """Each static column as floats when every id's value is a number, else as text."""
    out = {key: list(row) for key, row in table.items()}
    for j in range(len(names)):
        numbers = [number_or_none(row[j]) for row in table.values()]
        numeric = all(v is not None for v in numbers)
        for key, v in zip(table, numbers, strict=True):
            out[key][j] = v if numeric else str(table[key][j]).strip()
    return out


# ---------------------------------------------------------------------- pandas and arrays
def is_frame(obj: Any) -> bool:
    """Whether ``obj`` looks like a pandas DataFrame (checked without importing pandas)."""
    return hasattr(obj, "columns") and hasattr(obj, "to_numpy") and hasattr(obj, "iloc")


def datetime_labels(obj: Any) -> list[str] | None:
    """The datetime index of a pandas Series (or DataFrame) as text labels
    (:func:`_labels`), or None when it has none."""
    index = getattr(obj, "index", None)
    if index is None or np.asarray(index).dtype.kind != "M":
        return None
    return _labels(index)


def _labels(values: Any) -> list[str]:
    """Time labels as text: datetimes as ``YYYY-MM-DD`` (with the time of day when any
    has one), anything else through ``str``."""
    arr = np.asarray(values)
    if arr.dtype.kind == "M":
        days = arr.astype("datetime64[D]")
        unit = "D" if np.all(arr == days) else "s"
        return [str(s) for s in np.datetime_as_string(arr, unit=unit)]
    return [str(v) for v in arr]


def _numbers(values: Any, where: str, interpolate: bool) -> np.ndarray:
    """A DataFrame column as float64 ``(T,)``; missing values filled or refused."""
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(f"{where} must hold numbers, got dtype "
                        f"{getattr(values, 'dtype', type(values).__name__)}") from None
    if np.isinf(arr).any():
        raise DataError(f"{where} holds infinite values")
    missing = np.isnan(arr)
    if missing.all():
        raise DataError(f"{where} has no values, all {len(arr)} are missing")
    if missing.any():
        if not interpolate:
            raise DataError(f"{where} has {int(missing.sum())} missing value(s) (first at "
                            f"row {int(np.argmax(missing))}); fill them or pass "
                            f"interpolate=True")
        arr = fill_missing(arr)
    return arr


def panel_from_frame(frame: Any, id_column: str | None = "auto", column: str | None = None,
                     date_column: str | None = None, interpolate: bool = False,
                     past_covariates: Sequence[str] | None = None,
                     static_covariates: Sequence[str] | None = None) -> Panel:
    """A pandas DataFrame as a :class:`Panel`: long with ``id_column``, else wide (every
    numeric column but the date and covariate columns is a series). ``id_column="auto"``
    (default) takes the first column of text, or of whole numbers named as in
    :data:`ID_NAMES` (statsforecast's ``unique_id``), whose ids each fill one run of rows or
    take turns by date (:func:`detect_id_column`); None reads the frame as wide. The dates
    come from ``date_column``, else from the first datetime column, else (wide) from a
    datetime index. ``past_covariates``, ``static_covariates`` (long only): see the module
    doc."""
    cols = [str(c) for c in frame.columns]
    lookup = dict(zip(cols, frame.columns, strict=True))

    def col(name: str, what: str = "column") -> np.ndarray:
        if name not in lookup:
            raise DataError(f"DataFrame: {what} {quote(name)} not found; columns are "
                            f"{quote(cols)}")
        return frame[lookup[name]].to_numpy()

    if date_column is None:
        date_column = next((c for c in cols if np.asarray(col(c)).dtype.kind == "M"), None)
    dates_all = _labels(col(date_column, "date column")) if date_column is not None else None
    if id_column == "auto" and "auto" not in cols:
        id_column = next((c for c in cols if _frame_ids(col(c), c, dates_all)), None)
    past = [str(c) for c in past_covariates or []]
    for name in past:
        col(name, "past covariate column")
    static = [str(c) for c in static_covariates or []]
    for name in static:
        col(name, "static covariate column")
    if static and id_column is None:
        raise DataError(f"DataFrame: static covariates ({', '.join(static)}) need a long "
                        f"table and its id_column: one value per series id")
    if id_column is not None:
        keys = np.asarray([str(k) for k in col(id_column, "id column")])
        value = column or next((c for c in cols
                                if c not in (id_column, date_column, *past, *static)), None)
        if value is None:
            raise DataError(f"DataFrame: no value column besides {quote(id_column)}")
        raw = [col(n) for n in (value, *past)]
        _, first = np.unique(keys, return_index=True)
        ids = [str(keys[i]) for i in sorted(first)]
        rows = [np.flatnonzero(keys == k) for k in ids]
        values = [np.stack([_numbers(a[r], f"DataFrame column {quote(n)} (id {quote(k)})",
                                     interpolate) for n, a in zip((value, *past), raw,
                                                                  strict=True)], axis=1)
                  for k, r in zip(ids, rows, strict=True)]  # S x (T_i, 1 + P)
        dates = None
        if dates_all is not None:
            dates = [[dates_all[i] for i in r] for r in rows]
            for k, r, d in zip(ids, rows, dates, strict=True):
                check_time_order("DataFrame", date_column, [f"row {i}" for i in r], d,
                                 f"the rows of id {quote(k)}", "id and date")
        table = {k: [_constant([(f"row {i}", _cell(a[i])) for i in r],
                               f"DataFrame static covariate column {quote(n)}", k)
                     for n, a in zip(static, [col(n) for n in static], strict=True)]
                 for k, r in zip(ids, rows, strict=True)}
        return Panel(ids, values, dates, "DataFrame", "long", id_column, date_column, value,
                     covariates=past, static=_typed(table, static) if static else None,
                     static_names=static)
    names = [column] if column is not None else [c for c in cols
                                                 if c != date_column and c not in past]
    if dates_all is None:
        dates_all = datetime_labels(frame)
    if dates_all is not None:
        check_time_order("DataFrame", date_column or "index",
                         [f"row {i}" for i in range(len(dates_all))], dates_all)
    values, dates = [], []
    for name in names:
        data = col(name)
        if np.asarray(data).dtype.kind not in "biuf":
            raise DataError(f"DataFrame: column {quote(name)} does not hold numbers (dtype "
                            f"{np.asarray(data).dtype}); a long table (rows of id, date, "
                            f"value) needs id_column=, or pick the value column with column=")
        present = np.flatnonzero(~np.isnan(np.asarray(data, dtype=np.float64)))
        span = slice(present[0], present[-1] + 1) if present.size else slice(None)
        values.append(np.stack([_numbers(col(n)[span], f"DataFrame column {quote(n)}",
                                         interpolate) for n in (name, *past)],
                               axis=1))  # (T_i, 1 + P): the rows from its first value to its last
        dates.append(dates_all[span] if dates_all else None)
    return Panel(names, values, dates if dates_all else None, "DataFrame", "wide", None,
                 date_column, covariates=past)


def _cell(value: Any) -> Any:
    """A DataFrame cell as a Python float or str (NaN and None stay missing)."""
    if value is None:
        return None
    if isinstance(value, (bool, int, float, np.number)):
        return float(value)
    return str(value)


def as_panel(data: Any, ids: Sequence[str] | None = None) -> Panel:
    """Any accepted input as a :class:`Panel` (see the module doc): a Panel, a DataFrame
    (long when :func:`panel_from_frame` finds an id column, else wide), a dict
    ``{id: (T,) or (T, D)}``, a loaded :class:`~rnnkit.data.series.Series` (one series of
    its D columns), or arrays. ``ids`` names unnamed arrays."""
    if isinstance(data, Panel):
        panel = data
    elif is_frame(data):
        panel = panel_from_frame(data)
    elif isinstance(data, Mapping):
        if not data:
            raise DataError("series must hold at least one series, got an empty dict")
        panel = Panel([str(k) for k in data], _arrays(list(data.values())))
    else:
        dates = None
        if isinstance(getattr(data, "values", None), np.ndarray) and hasattr(data, "columns"):
            dates = [data.dates] if data.dates else None  # rnnkit.data.series.Series
            data = data.values  # (T, D)
        values = _arrays(data)
        panel = Panel([str(i) for i in range(len(values))], values, dates, named=False)
    if ids is not None:
        ids = [str(i) for i in ids]
        if len(ids) != len(panel) or len(set(ids)) != len(ids):
            raise DataError(f"ids must name the {len(panel)} series once each, got "
                            f"{quote(ids)}")
        static = (dict(zip(ids, panel.static.values(), strict=True))
                  if panel.static is not None else None)
        panel = replace(panel, ids=ids, named=True, static=static)
    return panel


def _arrays(data: Any) -> list[np.ndarray]:
    """One or many series as float64 ``(T_i, D)`` arrays (numbers only)."""
    try:
        items = as_series_list(data)
    except ValueError as err:
        raise DataError(str(err)) from err
    out = []
    for i, a in enumerate(items):
        if not (np.issubdtype(a.dtype, np.number) or a.dtype == np.bool_):
            raise DataError(f"series {i} must hold numbers, got dtype {a.dtype}")
        out.append(a.astype(np.float64))
    return out
