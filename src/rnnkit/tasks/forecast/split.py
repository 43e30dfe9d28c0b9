r"""Where a comparison's folds and test part lie, and how the command sizes them.

:func:`plan_split` places, on a series of T values, the test part (the last ``test`` values,
default 2H) and up to :data:`MAX_FOLDS` rolling-origin folds of F values (default 2H), origins
H apart, before it; each fold's fit gets one window of ``input_len + H`` values and F more to
stop early on before the fold's origin, so a series needs at least (:func:`min_length`)::

    input_len + H + 2 F + test        values (one fold)

The command (``rnnkit forecast``) sizes the split from the data: :func:`auto_input_len` (a
whole season before every forecast step), :func:`auto_split` (test and folds of H where 2H
would leave out too many short series) and :func:`long_enough` (the series still too short,
left out by name).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rnnkit.data.panel import Panel
from rnnkit.errors import ConfigError, DataError

__all__ = ["BASE_INPUT_LEN", "KEEP", "MAX_FOLDS", "Plan", "auto_horizon", "auto_input_len",
           "auto_split", "long_enough", "min_length", "plan_split", "sizes", "smallest_split"]

#: Most folds chosen when ``folds`` is None.
MAX_FOLDS = 3


@dataclass(frozen=True)
class Plan:
    """Where the folds and the test part lie: folds ``[(o_k, o_k + F), ...]`` oldest
    first, the test part ``[valid_end, length)``."""

    length: int
    valid_end: int
    folds: tuple[tuple[int, int], ...]

    def to_dict(self) -> dict[str, Any]:
        return {"train": [0, self.valid_end], "folds": [list(f) for f in self.folds],
                "test": [self.valid_end, self.length]}


def plan_split(length: int, horizon: int, input_len: int, test: int | None = None,
               folds: int | None = None, fold_len: int | None = None) -> Plan:
    """Choose the test part (default 2H) and the folds: ``folds`` (default: as many as fit,
    at most :data:`MAX_FOLDS`) blocks of ``fold_len`` F (default 2H) values, origins H apart,
    each with at least ``input_len + H`` values (one window) to train on and F more to stop
    early on before its origin."""
    H, L = horizon, input_len
    n_test, F = sizes(H, test, fold_len)
    if n_test < H or F < H:
        raise ConfigError(f"test and fold_len must hold at least the horizon {H} values, "
                          f"got {n_test} and {F}")
    valid_end = length - n_test
    min_origin = L + H + F  # one training window, then F values to stop early on
    room = (valid_end - F - min_origin) // H + 1  # folds that fit
    if room < 1:
        raise DataError(f"the series has {length} values; need at least "
                        f"{_need(H, L, test, fold_len)} = {min_length(H, L, test, fold_len)}")
    if folds is None:
        folds = min(MAX_FOLDS, room)
    elif isinstance(folds, bool) or not isinstance(folds, int) or folds < 1:
        raise ConfigError(f"folds must be a positive int, got {folds!r}")
    elif folds > room:
        raise DataError(f"the series has {length} values: room for {room} fold(s) of {F} "
                        f"values {H} apart before the test part, not {folds}")
    blocks = tuple((valid_end - F - k * H, valid_end - k * H) for k in range(folds))[::-1]
    return Plan(length, valid_end, blocks)


def sizes(horizon: int, test: int | None = None, fold_len: int | None = None
          ) -> tuple[int, int]:
    """``(test, F)``: the test part's and a fold's values, 2H each unless given."""
    return (2 * horizon if test is None else test,
            2 * horizon if fold_len is None else fold_len)


def min_length(horizon: int, input_len: int, test: int | None = None,
               fold_len: int | None = None) -> int:
    """The fewest values :func:`plan_split` accepts (one fold): ``L + H + 2F + test``, F and
    test 2H by default."""
    n_test, F = sizes(horizon, test, fold_len)
    return input_len + horizon + 2 * F + n_test


def _need(horizon: int, input_len: int, test: int | None, fold_len: int | None) -> str:
    """:func:`min_length`'s sum in words and numbers, for the error messages."""
    n_test, F = sizes(horizon, test, fold_len)
    return (f"input_len + horizon + 2 x fold + test = {input_len} + {horizon} + {2 * F} + "
            f"{n_test}")


#: The input length the command uses when the season is short (and the Forecaster's default).
BASE_INPUT_LEN = 24


def auto_input_len(season: int, horizon: int, length: int, test: int | None = None,
                   fold_len: int | None = None) -> int:
    """The command's default input length L: :data:`BASE_INPUT_LEN`, or ``season + horizon``
    when that is longer (weekly data, m = 52: 65 for H = 13), so that every window holds a
    whole season before each step it forecasts; cut to what a series of ``length`` values
    leaves room for in a split (:func:`min_length`), never below the base.

    Measured (2026-12-03, a generated weekly series of 2,280 values with a trend and a yearly
    season, the default models, H = 12): the selected median of three scored test MAE 0.599
    with L = 24 and 0.345 with L = 64 (MSTL 0.336)."""
    want = max(BASE_INPUT_LEN, season + horizon) if season > 1 else BASE_INPUT_LEN
    room = length - min_length(horizon, 0, test, fold_len)
    return max(BASE_INPUT_LEN, min(want, room))


#: The share of the series the command's split should keep (see :func:`auto_split`).
KEEP = 0.75


def smallest_split(horizon: int, input_len: int | None = None) -> int:
    """The values of the smallest split :func:`auto_split` tries for ``horizon`` H (its last
    candidate, test and folds of H): L + 4H, L = H unless ``input_len`` is given."""
    H = horizon
    return min_length(H, H if input_len is None else input_len, H, H)


def auto_horizon(lengths: Sequence[int], horizon: int, input_len: int | None = None) -> int:
    """The command's ``--horizon auto``: the frequency's ``horizon``, or, when the series at
    the lower quartile of ``lengths`` is too short for even its :func:`smallest_split`, the
    largest horizon whose smallest split it holds; ``horizon`` when none does (the split's
    error then names the values it needs)."""
    n = _quartile_length(lengths)
    return next((h for h in range(horizon, 0, -1) if smallest_split(h, input_len) <= n),
                horizon)


def _quartile_length(lengths: Sequence[int]) -> int:
    """The length of the series at the lower quartile: :data:`KEEP` of them are as long."""
    return sorted(lengths)[int(len(lengths) * (1 - KEEP))]


def auto_split(lengths: Sequence[int], horizon: int, season: int,
               input_len: int | None = None, test: int | None = None,
               fold_len: int | None = None) -> tuple[int, int, int, str | None]:
    """The command's split for series of ``lengths``: ``(L, test, F, words)``, words saying
    what was shortened (None when nothing was). Values given are kept.

    Candidates, in order: test and folds of 2H with L from :func:`auto_input_len` (of the
    shortest series), the default; test and folds of H (the M competitions' protocol: one
    test window per series); then, L not given, L cut to the room of the series at the
    lower quartile of the lengths, and L = H. The first that keeps at least :data:`KEEP` of
    the series (:func:`min_length`) is taken, else the one that keeps the most (the earlier
    on a tie): short series left out of it are named by :func:`long_enough`."""
    H = horizon
    quartile = _quartile_length(lengths)

    def kept(split: tuple[int, int, int]) -> int:
        return sum(n >= min_length(H, *split) for n in lengths)

    tests = ([(2 * H, 2 * H), (H, H)] if test is None and fold_len is None
             else [sizes(H, test, fold_len)])
    splits = [(input_len if input_len is not None else auto_input_len(season, H, min(lengths),
                                                                      t, f), t, f)
              for t, f in tests]
    if input_len is None and len(tests) == 2:
        room = quartile - min_length(H, 0, H, H)
        splits += [(room, H, H)] * (room >= H) + [(H, H, H)]
    best = next((s for s in splits if kept(s) >= KEEP * len(lengths)),
                max(splits, key=kept))
    if best == splits[0]:
        return (*best, None)
    L, t, f = best
    words = f"test {t} and folds of {f}"
    if L != splits[0][0]:
        words += f", input_len {L}"
    why = ("the default split needs more values than the series has" if len(lengths) == 1
           else "the default split would keep fewer series")
    return L, t, f, f"{words} ({why})"


def long_enough(panel: Panel, horizon: int, input_len: int, test: int | None = None,
                fold_len: int | None = None) -> tuple[Panel, str | None]:
    """The series of ``panel`` long enough for a split (:func:`min_length`), and a note
    naming those left out (None when none is). DataError when several series are given and
    none is long enough (one series: :func:`plan_split` says why)."""
    need = min_length(horizon, input_len, test, fold_len)
    short = [i for i, v in zip(panel.ids, panel.values, strict=True) if len(v) < need]
    if not short or len(panel) == 1:
        return panel, None
    why = f"the {need} values a split needs ({_need(horizon, input_len, test, fold_len)})"
    if len(short) == len(panel):
        raise DataError(f"each of the {len(panel)} series is shorter than {why}; the longest "
                        f"has {max(len(v) for v in panel.values)}: ask for a smaller "
                        f"input_len, horizon, fold or test")
    shown = ", ".join(short[:5]) + (", ..." if len(short) > 5 else "")
    note = (f"{len(short)} of {len(panel)} series left out, shorter than {why}: {shown}; a "
            f"smaller input_len, horizon, fold or test keeps them")
    left_out = set(short)
    return panel.select([i for i in panel.ids if i not in left_out]), note
