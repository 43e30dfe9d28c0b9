"""Dates of a series: parse the common text forms, infer the frequency and its season,
extend the dates over the forecast steps, and find a season from the values when there are
no dates.

Accepted forms (one form per column): ``YYYY`` (or ``YYYY.0``, a year as pandas writes a float
column), ``YYYY-MM``, ``YYYYQn`` / ``YYYY-Qn`` / ``YYYY Qn``, ``YYYY-MM-DD`` (or ``/``),
``YYYYMMDD``, ISO datetimes (``YYYY-MM-DDTHH:MM[:SS]`` or with a space, and an optional UTC
offset, ``Z`` or ``+01:00``, as pandas writes time-zone-aware dates), ``MM/DD/YYYY`` or
``DD/MM/YYYY`` (or with ``-``; spreadsheet exports: day first when a first field exceeds 12,
month first when a second one does; when neither does, the reading whose day of the month never
changes, as in monthly data, else month first as pandas reads them), ``DD.MM.YYYY``, the same
three with two-digit years (``1/15/98``, ``15.01.98``: 69-99 are 1969-1999 and 00-68 are
2000-2068, the POSIX pivot of strptime's ``%y`` that pandas shares), ``MM/YYYY`` (or ``-``),
``Qn YYYY`` (or ``Qn-YYYY``, ``QnYYYY``) and months by their English name (``Jan 2024``,
``January-2024``, ``1949-Jan``, Excel's ``Jan-24``, whose two-digit year pivots as above, and
days ``05-Jan-2024`` / ``5 January 2024``; not ``Jan 24``, which may be a day without its
year). The frequency comes from the median gap between consecutive dates:

    frequency  yearly  quarterly  monthly  weekly  daily  business daily  hourly
    season m        1          4       12      52      7               5      24
    horizon H       6          8       12      13     14              10      48

and below the hour (ISO date-times) every 30, 15, 10, 5 minutes or every minute: half-hourly,
quarter-hourly, 10-minutely, 5-minutely, minutely, whose season is the day (48, 96, 144, 288,
1440 steps; pandas' ``"30min"`` ... ``"min"``, GluonTS' seasonality of those frequencies) and
default horizon 48 steps, as hourly data's.

The default horizons (:data:`HORIZONS`, the ``rnnkit forecast`` command's ``--horizon auto``)
are the M4 competition's (Makridakis et al., 2020: yearly 6, quarterly 8, weekly 13, daily
14, hourly 48), except monthly data's 12, a year ahead as in the Box-Jenkins airline
example (M4: 18), and business days' 10, two trading weeks (M4 had none).

"business daily" is daily data with no Saturday or Sunday over at least a week of dates
(trading days: a gap over each weekend, others over holidays); its season is the five-day
week, and its future dates skip weekends (pandas' ``"B"``; holidays are not known).

Future dates keep the form of the input (``20240107`` -> ``20240114`` for weekly data).
:func:`season_from_values` finds m from the autocorrelation of the differenced values when
there are no dates (1 when no lag stands out).
"""

from __future__ import annotations

import calendar
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

__all__ = ["HORIZONS", "SEASONS", "Frequency", "dates_from", "fill_missing_steps",
           "future_dates", "infer_frequency", "looks_like_dates", "missing_steps", "parse_dates",
           "read_dates", "season_from_values"]

#: Frequencies below the hour: minutes between dates -> name.
MINUTELY = {30: "half-hourly", 15: "quarter-hourly", 10: "10-minutely", 5: "5-minutely",
            1: "minutely"}
#: Default season of each frequency (below the hour: the steps of a day).
SEASONS = {"yearly": 1, "quarterly": 4, "monthly": 12, "weekly": 52, "daily": 7,
           "business daily": 5, "hourly": 24,
           **{name: 1440 // minutes for minutes, name in MINUTELY.items()}}
#: Default forecast horizon of each frequency (module doc).
HORIZONS = {"yearly": 6, "quarterly": 8, "monthly": 12, "weekly": 13, "daily": 14,
            "business daily": 10, "hourly": 48, **dict.fromkeys(MINUTELY.values(), 48)}

_FORMS = [
    ("Y", re.compile(r"^\d{4}(\.0+)?$")),
    ("YQ", re.compile(r"^(\d{4})[ -]?Q([1-4])$", re.IGNORECASE)),
    ("YM", re.compile(r"^(\d{4})[-/](\d{1,2})$")),
    ("YMD", re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$")),
    ("Y/M/D", re.compile(r"^\d{4}/\d{1,2}/\d{1,2}$")),
    ("YMDc", re.compile(r"^\d{8}$")),
    ("ISO", re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?"
                       r"(Z|[+-]\d{2}:\d{2})?$")),
    ("M/D/Y", re.compile(r"^\d{1,2}/\d{1,2}/\d{4}$")),
    ("M-D-Y", re.compile(r"^\d{1,2}-\d{1,2}-\d{4}$")),
    ("D.M.Y", re.compile(r"^\d{1,2}\.\d{1,2}\.\d{4}$")),
    ("M/D/y", re.compile(r"^\d{1,2}/\d{1,2}/\d{2}$")),  # two-digit years
    ("M-D-y", re.compile(r"^\d{1,2}-\d{1,2}-\d{2}$")),
    ("D.M.y", re.compile(r"^\d{1,2}\.\d{1,2}\.\d{2}$")),
    ("QY", re.compile(r"^Q([1-4])([ /-]?)(\d{4})$", re.IGNORECASE)),
    ("MY", re.compile(r"^(\d{1,2})([/-])(\d{4})$")),  # not ".": 12.2024 may be a number
    ("Mon Y", re.compile(r"^([A-Za-z]{3,9})([ -])(\d{4})$")),
    ("Y Mon", re.compile(r"^(\d{4})([ -])([A-Za-z]{3,9})$")),
    ("Mon-y", re.compile(r"^([A-Za-z]{3,9})-(\d{2})$")),  # Excel's mmm-yy; not "Jan 20"
    ("D Mon Y", re.compile(r"^(\d{1,2})([ -])([A-Za-z]{3,9})\2(\d{4})$")),
]
_FORM_PATTERNS = dict(_FORMS)
#: the forms with a month's name
_NAMED = ("Mon Y", "Y Mon", "Mon-y", "D Mon Y")
#: Forms that a column of numbers may take too (``2024``, ``20240105``).
NUMBER_FORMS = ("Y", "YMDc")
#: English month names and their three-letter abbreviations -> month number
_MONTHS = {name.lower(): k for names in (calendar.month_name, calendar.month_abbr)
           for k, name in enumerate(names) if k}
#: the readings of a form whose fields may be in either order
_READINGS = {"M/D/Y": ("M/D/Y", "D/M/Y"), "M-D-Y": ("M-D-Y", "D-M-Y")}
#: the forms with the year last, after a day and a month
_DAY_MONTH = {"M/D/Y": "%m/%d/%Y", "D/M/Y": "%d/%m/%Y", "M-D-Y": "%m-%d-%Y",
              "D-M-Y": "%d-%m-%Y", "D.M.Y": "%d.%m.%Y"}


def _two_digit(form: str) -> str:
    """The two-digit-year twin of a form or strptime format: "M/D/Y" -> "M/D/y",
    "%m/%d/%Y" -> "%m/%d/%y"."""
    return form[:-1] + "y"


_READINGS |= {_two_digit(f): tuple(map(_two_digit, r)) for f, r in _READINGS.items()}
_DAY_MONTH |= {_two_digit(f): _two_digit(fmt) for f, fmt in _DAY_MONTH.items()}
_STRPTIME = {"YMD": "%Y-%m-%d", "Y/M/D": "%Y/%m/%d", "YMDc": "%Y%m%d", **_DAY_MONTH}


@dataclass(frozen=True)
class Frequency:
    """A series' frequency: ``name`` (a key of :data:`SEASONS`), its default ``season``, the
    text ``form`` of its dates and the ``step`` between them (months for the month-based
    frequencies, else a ``timedelta``); :attr:`business`: steps skip Saturdays and
    Sundays."""

    name: str
    season: int
    form: str
    months: int = 0
    delta: timedelta | None = None

    @property
    def business(self) -> bool:
        return self.name == "business daily"


def _parse(text: str, form: str) -> datetime:
    text = text.strip()
    if form == "Y":
        return datetime(int(text.split(".")[0]), 1, 1)
    if form in ("YQ", "YM", "QY", "MY"):  # a year and a quarter or month, either order
        fields = _FORM_PATTERNS[form].match(text).groups()
        year, part = (fields[0], fields[1]) if form[0] == "Y" else (fields[2], fields[0])
        return datetime(int(year), 3 * int(part) - 2 if "Q" in form else int(part), 1)
    if form in _NAMED:  # a month's name, a year and perhaps a day
        fields = _FORM_PATTERNS[form].match(text).groups()
        name = fields[2] if form in ("Y Mon", "D Mon Y") else fields[0]
        month = _MONTHS.get(name.lower())
        if month is None:
            raise ValueError(f"{name!r} is not a month")
        if form == "Mon-y":
            return datetime(datetime.strptime(fields[1], "%y").year, month, 1)
        if form == "D Mon Y":
            return datetime(int(fields[3]), month, int(fields[0]))
        return datetime(int(fields[2] if form == "Mon Y" else fields[0]), month, 1)
    if form in _STRPTIME:
        return datetime.strptime(text, _STRPTIME[form])
    return datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)


def read_dates(texts: Sequence[str]) -> tuple[list[datetime], str] | None:
    """``(datetimes, form)`` if there are two or more texts, all of one accepted form, in any
    order; else ``None``."""
    texts = [str(t).strip() for t in texts]
    if len(texts) < 2:
        return None
    for form, pattern in _FORMS:
        if all(pattern.match(t) for t in texts):
            readings = {}
            for reading in _READINGS.get(form, (form,)):
                try:
                    readings[reading] = [_parse(t, reading) for t in texts]
                except ValueError:
                    continue
            if not readings:
                return None
            constant_day = [r for r, dates in readings.items()
                            if len({d.day for d in dates}) == 1]
            reading = constant_day[0] if len(constant_day) == 1 else next(iter(readings))
            return readings[reading], reading
    return None


def parse_dates(texts: Sequence[str]) -> tuple[list[datetime], str] | None:
    """``(datetimes, form)`` if every text has the same accepted form and the dates strictly
    increase; else ``None``."""
    parsed = read_dates(texts)
    return parsed if parsed is not None and _increasing(parsed[0]) else None


def _increasing(dates: list[datetime]) -> bool:
    return all(b > a for a, b in itertools.pairwise(dates))


def looks_like_dates(texts: Sequence[str]) -> bool:
    """Whether a column's cells are dates: strictly increasing dates of any accepted form, or
    dates in any order of a form that numbers never take (``2024-01-05``, not ``2024`` or
    ``20240105``, which a column of values may hold)."""
    parsed = read_dates(texts)
    return parsed is not None and (parsed[1] not in NUMBER_FORMS or _increasing(parsed[0]))


def _months_between(a: datetime, b: datetime) -> int:
    return (b.year - a.year) * 12 + b.month - a.month


def infer_frequency(texts: Sequence[str]) -> Frequency | None:
    """The frequency of a column of dates (``None`` if they do not parse or the gaps match
    no known frequency)."""
    return _frequency(parse_dates(texts))


def _frequency(parsed: tuple[list[datetime], str] | None) -> Frequency | None:
    """:func:`infer_frequency` of dates already parsed (:func:`parse_dates`)."""
    if parsed is None:
        return None
    dates, form = parsed
    if form == "Y":
        return Frequency("yearly", 1, form, months=12)
    if form in ("YQ", "QY"):
        return Frequency("quarterly", 4, form, months=3)
    gaps = np.diff([d.timestamp() for d in dates]) / 86400.0  # days
    gap = float(np.median(gaps))
    for name, lo, hi, months in (("yearly", 360, 370, 12), ("quarterly", 88, 93, 3),
                                 ("monthly", 27, 32, 1)):
        if lo <= gap <= hi:
            return Frequency(name, SEASONS[name], form, months=months)
    for name, days in (("weekly", 7.0), ("daily", 1.0), ("hourly", 1 / 24)):
        if abs(gap - days) < 1e-6 * max(days, 1.0):
            if name == "daily" and _weekdays_only(dates):
                name = "business daily"
            return Frequency(name, SEASONS[name], form, delta=timedelta(days=days))
    minutes = gap * 1440
    for step, name in MINUTELY.items():
        if abs(minutes - step) < 1e-6:
            return Frequency(name, SEASONS[name], form, delta=timedelta(minutes=step))
    return None


def _gaps(parsed: tuple[list[datetime], str] | None, frequency: Frequency
          ) -> np.ndarray | None:
    """(T - 1,) the calendar steps of ``frequency`` missing between each pair of consecutive
    dates ``parsed`` (:func:`parse_dates`; 0 where none is), or None when they did not parse
    or are business days (a trading calendar skips holidays by design: not checked)."""
    if parsed is None or frequency.business:
        return None
    dates = parsed[0]
    if frequency.months:
        steps = np.array([_months_between(a, b) for a, b in itertools.pairwise(dates)]
                         ) / frequency.months
    else:
        steps = np.diff([d.timestamp() for d in dates]) / frequency.delta.total_seconds()
    return np.maximum(np.round(steps).astype(int) - 1, 0)


def missing_steps(texts: Sequence[str], frequency: Frequency) -> tuple[int, str | None]:
    """``(steps missing, the date after which the first is missing)`` of dates ``texts`` of
    ``frequency``: the calendar's steps between the first and the last date that no row
    holds (``(0, None)`` when none is missing; business days are not checked)."""
    extra = _gaps(parse_dates(texts), frequency)
    if extra is None or not extra.any():
        return 0, None
    return int(extra.sum()), str(texts[int(np.argmax(extra > 0))]).strip()


def fill_missing_steps(texts: Sequence[str], values: np.ndarray,
                       frequency: Frequency | None = None) -> tuple[list[str], np.ndarray]:
    """Insert the steps of the calendar that dates ``texts`` skip (:func:`missing_steps`):
    their dates, in the form of the date before them, and their values (T, D) on the line
    between the rows either side, ``v_a + (v_b - v_a) j / (k + 1)`` for the j-th of k
    missing steps (pandas' ``asfreq`` then ``interpolate``, Darts' ``fill_missing_dates``).
    Dates of unknown frequency, or none missing, come back as they are."""
    texts = [str(t) for t in texts]
    parsed = parse_dates(texts)
    frequency = frequency or _frequency(parsed)
    extra = _gaps(parsed, frequency) if frequency else None
    if extra is None or not extra.any():
        return texts, values
    out_dates, out_values = [], []
    for i, k in enumerate(extra):
        out_dates.append(texts[i])
        out_values.append(values[i : i + 1])
        if k:
            out_dates += future_dates(texts[: i + 1], int(k), frequency)
            j = np.arange(1, k + 1)[:, None] / (k + 1)  # (k, 1)
            out_values.append(values[i] + (values[i + 1] - values[i]) * j)  # (k, D)
    out_dates.append(texts[-1])
    out_values.append(values[-1:])
    return out_dates, np.concatenate(out_values)


def _weekdays_only(dates: list[datetime]) -> bool:
    """Whether daily dates span at least a week and none falls on a Saturday or Sunday."""
    return (dates[-1] - dates[0]).days >= 7 and all(d.weekday() < 5 for d in dates)


def _add_months(d: datetime, k: int) -> datetime:
    month = d.month - 1 + k
    year, month = d.year + month // 12, month % 12 + 1
    day = min(d.day, calendar.monthrange(year, month)[1])
    return d.replace(year=year, month=month, day=day)


def _month_name(month: int, written: str) -> str:
    """Month ``month``'s English name in the style of ``written``: abbreviated or not, upper
    case or not."""
    name = (calendar.month_name if len(written) > 3 else calendar.month_abbr)[month]
    return name.upper() if written.isupper() else name


def _format(d: datetime, form: str, like: str) -> str:
    if form == "Y":
        return f"{d.year:04d}{like[4:]}"  # "1700.0" -> "2009.0"
    if form == "YQ":  # "2024Q1", "2024-q1", "2024 Q1": the separator and letter as written
        return f"{d.year:04d}{like[4:-2]}{like[-2]}{(d.month - 1) // 3 + 1}"
    if form == "YM":
        return f"{d.year:04d}{like[4]}{d.month:02d}"
    if form == "QY":  # "Q1 2024", "q1-2024", "Q12024": the letter and separator as written
        return f"{like[0]}{(d.month - 1) // 3 + 1}{like[2:-4]}{d.year:04d}"
    if form == "MY":  # "01/2024" or "1-2024": zero-padded when the input is
        month = f"{d.month:02d}" if like[:2].isdigit() else str(d.month)
        return f"{month}{like[-5]}{d.year:04d}"
    if form in _NAMED:  # the name as written: "Jan", "JAN" or "January"
        fields = _FORM_PATTERNS[form].match(like).groups()
        if form == "Mon-y":
            return f"{_month_name(d.month, fields[0])}-{d.year % 100:02d}"
        if form == "D Mon Y":  # "05-Jan-2024" or "5 Jan 2024": the day padded as written
            day = f"{d.day:02d}" if len(fields[0]) == 2 else str(d.day)
            return f"{day}{fields[1]}{_month_name(d.month, fields[2])}{fields[1]}{d.year:04d}"
        if form == "Mon Y":
            return f"{_month_name(d.month, fields[0])}{fields[1]}{d.year:04d}"
        return f"{d.year:04d}{fields[1]}{_month_name(d.month, fields[2])}"
    if form in _DAY_MONTH:  # day and month zero-padded when the input's are, the year never
        text = d.strftime(_STRPTIME[form])
        if all(len(field) == 2 for field in re.split(r"[/.-]", like)[:2]):
            return text
        digits = 2 if form.endswith("y") else 4
        return re.sub(r"(^|[/.-])0(\d)", r"\1\2", text[:-digits]) + text[-digits:]
    if form in _STRPTIME:
        return d.strftime(_STRPTIME[form])
    minutes = like[16:17] in ("", "Z", "+", "-")  # no seconds in the input
    text = d.isoformat(sep="T" if "T" in like else " ", timespec="minutes" if minutes else "auto")
    if like.endswith("Z") and text.endswith("+00:00"):  # UTC written as ISO 8601's "Z"
        return text[:-6] + "Z"
    return text


def dates_from(start: datetime, steps: int, frequency: Frequency, like: str) -> list[str]:
    """``steps`` dates from ``start`` (included) at ``frequency``, written as ``like``, a
    date of ``frequency.form``, is (separators, padding, case)."""
    out, d = [], start
    for k in range(steps):
        if k and frequency.months:
            d = _add_months(start, frequency.months * k)
        elif k:
            d = d + frequency.delta
            while frequency.business and d.weekday() >= 5:
                d = d + frequency.delta
        out.append(_format(d, frequency.form, like))
    return out


def future_dates(texts: Sequence[str], steps: int, frequency: Frequency | None = None
                 ) -> list[str]:
    """The ``steps`` dates after the last of ``texts``, in the same form and frequency;
    ``+1 .. +steps`` when the frequency is unknown."""
    frequency = frequency or (infer_frequency(texts) if texts else None)
    if frequency is None:
        return [f"+{k}" for k in range(1, steps + 1)]
    last_text = str(texts[-1]).strip()
    return dates_from(_parse(last_text, frequency.form), steps + 1, frequency, last_text)[1:]


def season_from_values(values: np.ndarray, max_lag: int | None = None,
                       threshold: float = 0.3) -> int:
    """A season m from the data: the lag (2..max_lag, default min(T // 3, 400)) with the
    highest autocorrelation of the first differences among the local peaks above
    ``threshold``; 1 when there is none."""
    x = np.diff(np.asarray(values, dtype=np.float64).reshape(-1))
    n = len(x)
    max_lag = min(n // 3, 400) if max_lag is None else min(max_lag, n - 2)
    if max_lag < 2:
        return 1
    x = x - x.mean()
    denom = float(np.dot(x, x))
    if denom <= 0:
        return 1
    acf = np.array([np.dot(x[:-k], x[k:]) / denom for k in range(1, max_lag + 2)])  # lag 1..
    best, best_value = 1, threshold
    for lag in range(2, max_lag + 1):
        a = acf[lag - 1]
        if a > best_value and a >= acf[lag - 2] and a >= acf[lag]:
            best, best_value = lag, a
    return best
