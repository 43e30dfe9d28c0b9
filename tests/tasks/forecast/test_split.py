"""The split of a comparison (folds and test part) and how the command sizes it."""

import pytest

from rnnkit.errors import ConfigError, DataError
from rnnkit.tasks.forecast.split import (
    auto_horizon,
    auto_input_len,
    auto_split,
    min_length,
    plan_split,
    smallest_split,
)


def test_plan_folds_lie_before_the_test_part():
    plan = plan_split(120, horizon=6, input_len=12)
    assert plan.valid_end == 108
    assert plan.folds == ((84, 96), (90, 102), (96, 108))  # 3 blocks of 2H, H apart
    # a fold's origin leaves one training window (L + H) and a fold (F) to stop early on
    assert plan_split(58, 6, 12).folds == ((34, 46),)  # room for one fold only
    with pytest.raises(DataError, match="room for 1 fold"):
        plan_split(58, 6, 12, folds=2)
    with pytest.raises(DataError, match=r"need at least .* = 12 \+ 6 \+ 24 \+ 12 = 54"):
        plan_split(53, 6, 12)
    with pytest.raises(ConfigError, match="folds must be a positive int"):
        plan_split(120, 6, 12, folds=0)


def test_the_commands_input_length_covers_a_long_season_where_the_series_has_room():
    assert auto_input_len(1, 6, 100) == auto_input_len(12, 12, 144) == 24  # yearly, monthly
    assert auto_input_len(52, 12, 2280) == 64  # weekly: a whole season before every step
    assert auto_input_len(52, 12, 130) == 46  # cut to the room a split leaves
    assert plan_split(130, 12, 46).folds and auto_input_len(52, 12, 100) == 24  # never below


def test_the_commands_split_shortens_for_short_series_and_keeps_what_is_given():
    assert auto_split([144], 12, 12) == (24, 24, 24, None)  # 24 + 12 + 48 + 24 = 108 <= 144
    assert auto_split([80], 12, 12) == (24, 12, 12,  # 24 + 12 + 24 + 12 = 72 <= 80
                                        "test 12 and folds of 12 (the default split needs more "
                                        "values than the series has)")
    # short yearly lengths, H = 6: L = 6 keeps every series of at least 30 values
    lengths = [15, 20, 26, 30, 31, 35, 40, 44, 50, 58]
    L, t, f, words = auto_split(lengths, 6, 1)
    assert (L, t, f) == (6, 6, 6) and words.startswith("test 6 and folds of 6, input_len 6")
    assert sum(n >= min_length(6, L, t, f) for n in lengths) == 7
    assert auto_split(lengths, 6, 1, input_len=12)[:3] == (12, 6, 6)  # a given L stays
    assert auto_split([80], 12, 12, test=24, fold_len=24) == (24, 24, 24, None)


def test_the_auto_horizon_shortens_only_when_no_split_of_it_fits():
    assert smallest_split(12) == 60 and smallest_split(12, input_len=24) == 72  # 5H; L + 4H
    assert auto_horizon([144], 12) == 12  # room: the frequency's horizon stays
    assert auto_horizon([30], 12) == 6  # 5 x 6 = 30 values
    assert auto_horizon([30], 12, input_len=10) == 5  # 10 + 4 x 5 = 30
    assert auto_horizon([4], 12) == 12  # not even H = 1 fits: the split's error names it
    # many series: the one at the lower quartile decides
    assert auto_horizon([20, 40, 100, 100], 12) == 8 and auto_horizon([20] + [100] * 7, 12) == 12
