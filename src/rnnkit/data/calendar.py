"""Future-known covariates from the dates: calendar features of the steps being forecast.

A feature is a cycle position turned into two columns (no jump at the cycle's end):

    month      a = 2 pi (month - 1) / 12      sin a, cos a
    week       a = 2 pi (ISO week - 1) / 52   (week 53 wraps past week 1)
    dayofweek  a = 2 pi weekday / 7           (Monday 0)
    hour       a = 2 pi hour / 24

Shifted by the horizon: the row of time t holds the features of the date of t + H, so an
input window that ends at the forecast origin o (rows o - L .. o - 1) carries in its last H
rows the calendar of the H steps it forecasts, o .. o + H - 1 (all of them when L >= H). The
dates past the last row come from :func:`rnnkit.data.dates.future_dates`. Only the dates
are read, never the values, so these columns cannot leak the future; they are appended to
a :class:`~rnnkit.data.panel.Panel` as covariate columns (:func:`add_calendar`), read by the
models like past covariates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

import numpy as np

from rnnkit.data.dates import future_dates, infer_frequency, parse_dates
from rnnkit.errors import ConfigError, DataError

__all__ = ["CALENDAR", "add_calendar", "calendar_columns"]

#: Feature name -> (the position in its cycle of a datetime, the cycle's length).
CALENDAR = {
    "month": (lambda d: d.month - 1, 12),
    "week": (lambda d: d.isocalendar()[1] - 1, 52),
    "dayofweek": (lambda d: d.weekday(), 7),
    "hour": (lambda d: d.hour, 24),
}


def calendar_columns(dates: Sequence[str], names: Sequence[str], shift: int
                     ) -> tuple[np.ndarray, list[str]]:
    """``(columns (T, 2 C), their names)``: row t holds sin and cos of each feature of
    ``names`` for the date of t + ``shift`` (see the module doc)."""
    unknown = [n for n in names if n not in CALENDAR]
    if unknown:
        raise ConfigError(f"calendar features must be names from {list(CALENDAR)}, got "
                          f"{unknown[0]!r}")
    freq = infer_frequency(dates)
    parsed = parse_dates(list(dates))
    if freq is None or parsed is None:
        raise DataError(f"calendar features need increasing dates of a known frequency, got "
                        f"{dates[0] if len(dates) else 'none'}..{dates[-1] if len(dates) else ''}")
    ahead = parse_dates([str(dates[-1]), *future_dates(dates, shift, freq)])[0][1:] \
        if shift > 0 else []
    when: list[datetime] = parsed[0][shift:] + ahead  # T dates, t + shift each
    cols, labels = [], []
    for name in names:
        position, period = CALENDAR[name]
        a = 2 * np.pi * np.array([position(d) % period for d in when]) / period  # (T,)
        cols += [np.sin(a), np.cos(a)]
        labels += [f"{name}_sin(t+{shift})", f"{name}_cos(t+{shift})"]
    return np.stack(cols, axis=1), labels


def add_calendar(panel, names: Sequence[str], horizon: int):
    """``panel`` with the calendar columns of ``names`` (shifted by ``horizon``) appended to
    every series' covariates; needs the panel's dates."""
    if not names:
        return panel
    if panel.dates is None:
        raise DataError(f"{panel.source or 'data'}: calendar features need a date column")
    values, labels = [], []
    for v, d in zip(panel.values, panel.dates, strict=True):
        cols, labels = calendar_columns(d, names, horizon)
        values.append(np.concatenate([v, cols], axis=1))  # (T_i, D + 2 C)
    return replace(panel, values=values, covariates=[*panel.covariates, *labels])
