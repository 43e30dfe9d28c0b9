import numpy as np
import pytest

from rnnkit.data.dates import (
    fill_missing_steps,
    future_dates,
    infer_frequency,
    missing_steps,
    parse_dates,
    season_from_values,
)


@pytest.mark.parametrize("dates, name, season, nxt", [
    (["1990", "1991", "1992"], "yearly", 1, ["1993", "1994"]),
    (["1700.0", "1701.0", "1702.0"], "yearly", 1, ["1703.0", "1704.0"]),  # pandas' floats
    (["1990Q3", "1990Q4", "1991Q1"], "quarterly", 4, ["1991Q2", "1991Q3"]),
    (["2000-11", "2000-12", "2001-01"], "monthly", 12, ["2001-02", "2001-03"]),
    (["2000-01", "2000-04", "2000-07"], "quarterly", 4, ["2000-10", "2001-01"]),
    (["2020-01-31", "2020-02-29", "2020-03-31"], "monthly", 12, ["2020-04-30", "2020-05-31"]),
    (["20231224", "20231231", "20240107"], "weekly", 52, ["20240114", "20240121"]),
    (["2024-02-27", "2024-02-28", "2024-02-29"], "daily", 7, ["2024-03-01", "2024-03-02"]),
    (["2024-01-01T22:00", "2024-01-01T23:00"], "hourly", 24,
     ["2024-01-02T00:00", "2024-01-02T01:00"]),
    (["2024-01-01 23:00:00", "2024-01-02 00:00:00"], "hourly", 24,
     ["2024-01-02 01:00:00", "2024-01-02 02:00:00"]),
    # below the hour: the season is the day
    (["2024-01-01 23:00", "2024-01-01 23:30"], "half-hourly", 48,
     ["2024-01-02 00:00", "2024-01-02 00:30"]),
    (["2024-01-01T10:15", "2024-01-01T10:30"], "quarter-hourly", 96,
     ["2024-01-01T10:45", "2024-01-01T11:00"]),
    (["2024-01-01 10:50:00", "2024-01-01 10:55:00"], "5-minutely", 288,
     ["2024-01-01 11:00:00", "2024-01-01 11:05:00"]),
    (["2024-12-31 23:58", "2024-12-31 23:59"], "minutely", 1440,
     ["2025-01-01 00:00", "2025-01-01 00:01"]),
    # spreadsheet forms: month first (US), day first when a first field exceeds 12
    (["01/30/2021", "01/31/2021", "02/01/2021"], "daily", 7, ["02/02/2021", "02/03/2021"]),
    (["30/01/2021", "31/01/2021", "01/02/2021"], "daily", 7, ["02/02/2021", "03/02/2021"]),
    (["1/11/2021", "1/12/2021", "1/13/2021"], "daily", 7, ["1/14/2021", "1/15/2021"]),
    (["10/1/2021", "11/1/2021", "12/1/2021"], "monthly", 12, ["1/1/2022", "2/1/2022"]),
    (["10/1/01", "11/1/01", "12/1/01"], "monthly", 12, ["1/1/02", "2/1/02"]),
    (["30.12.2021", "31.12.2021", "01.01.2022"], "daily", 7, ["02.01.2022", "03.01.2022"]),
    (["30-01-2021", "31-01-2021", "01-02-2021"], "daily", 7, ["02-02-2021", "03-02-2021"]),
    # two-digit years: the year stays two digits, zero-padded as written
    (["12/30/98", "12/31/98", "1/1/99"], "daily", 7, ["1/2/99", "1/3/99"]),
    (["1/13/05", "1/14/05"], "daily", 7, ["1/15/05", "1/16/05"]),
    (["11/01/99", "12/01/99", "01/01/00"], "monthly", 12, ["02/01/00", "03/01/00"]),
    (["30.12.05", "31.12.05", "01.01.06"], "daily", 7, ["02.01.06", "03.01.06"]),
    (["30-12-19", "31-12-19", "1-1-20"], "daily", 7, ["2-1-20", "3-1-20"]),
    # months by name, written back as they are written
    (["Nov 2023", "Dec 2023", "Jan 2024"], "monthly", 12, ["Feb 2024", "Mar 2024"]),
    (["1949-Oct", "1949-Nov", "1949-Dec"], "monthly", 12, ["1950-Jan", "1950-Feb"]),
    (["JANUARY-2024", "APRIL-2024", "JULY-2024"], "quarterly", 4, ["OCTOBER-2024",
                                                                  "JANUARY-2025"]),
    # spreadsheet and report forms: Excel's mmm-yy, dd-mmm-yyyy, a year and quarter spaced
    (["Nov-99", "Dec-99", "Jan-00"], "monthly", 12, ["Feb-00", "Mar-00"]),
    (["30-DEC-2020", "31-DEC-2020"], "daily", 7, ["01-JAN-2021", "02-JAN-2021"]),
    (["8 January 2024", "9 January 2024"], "daily", 7, ["10 January 2024", "11 January 2024"]),
    (["2023 Q4", "2024 Q1"], "quarterly", 4, ["2024 Q2", "2024 Q3"]),
    (["2023q4", "2024q1"], "quarterly", 4, ["2024q2", "2024q3"]),
    # months and quarters before the year, as spreadsheets and reports write them
    (["11/2023", "12/2023", "01/2024"], "monthly", 12, ["02/2024", "03/2024"]),
    (["11-2023", "12-2023", "1-2024"], "monthly", 12, ["2-2024", "3-2024"]),
    (["Q3 2023", "Q4 2023", "Q1 2024"], "quarterly", 4, ["Q2 2024", "Q3 2024"]),
    (["q4-2023", "q1-2024"], "quarterly", 4, ["q2-2024", "q3-2024"]),
    # time-zone-aware dates as pandas and ISO 8601 write them: the offset is kept
    (["2024-01-01 22:00:00+00:00", "2024-01-01 23:00:00+00:00"], "hourly", 24,
     ["2024-01-02 00:00:00+00:00", "2024-01-02 01:00:00+00:00"]),
    (["2024-01-01T22:00:00Z", "2024-01-01T23:00:00Z"], "hourly", 24,
     ["2024-01-02T00:00:00Z", "2024-01-02T01:00:00Z"]),
    (["2024-03-31T01:00+01:00", "2024-03-31T03:00+02:00", "2024-03-31T04:00+02:00"],
     "hourly", 24, ["2024-03-31T05:00+02:00", "2024-03-31T06:00+02:00"]),  # summer time
    # neither field over 12: the reading whose day of the month never changes (monthly data)
    (["01/11/2020", "01/12/2020", "01/01/2021"], "monthly", 12, ["01/02/2021", "01/03/2021"]),
    (["11/01/2020", "12/01/2020", "01/01/2021"], "monthly", 12, ["02/01/2021", "03/01/2021"]),
])
def test_frequency_season_and_future_dates(dates, name, season, nxt):
    freq = infer_frequency(dates)
    assert (freq.name, freq.season) == (name, season)
    assert future_dates(dates, 2) == nxt


def test_two_digit_years_pivot_as_strptime():
    dates, form = parse_dates(["7/4/68", "7/4/69", "7/4/99", "7/4/00"][1:])
    assert [d.year for d in dates] == [1969, 1999, 2000] and form == "M/D/y"
    assert parse_dates(["7/4/68", "7/4/69"]) is None  # 2068, then 1969


@pytest.mark.parametrize("cells", [["1", "2", "x"], ["2001", "2000"], ["12", "13"],
                                   ["Foo 2024", "Bar 2024"],
                                   ["1700.5", "1701.5"],
                                   ["20201340", "20201341"], ["2020-01", "2020-01-02"],
                                   ["13/13/2020", "14/13/2020"], ["1/2/202", "1/3/202"],
                                   ["11.2020", "12.2020"], ["13/2020", "14/2020"],
                                   ["Q5 2020", "Q6 2020"],
                                   ["Jan 20", "Jan 21"],  # days without a year, perhaps
                                   ["31 Feb 2020", "1 Mar 2020"], ["Foo-20", "Bar-20"]])
def test_not_dates(cells):
    assert parse_dates(cells) is None


def test_trading_days_are_business_daily():
    # Thu 2024-03-07 .. Fri 2024-03-29, weekdays only, Good Friday (03-29) kept, 03-18 missing
    days = [f"2024-03-{d:02d}" for d in (7, 8, 11, 12, 13, 14, 15, 19, 20, 21, 22, 25, 26,
                                         27, 28, 29)]
    freq = infer_frequency(days)
    assert (freq.name, freq.season) == ("business daily", 5)
    assert future_dates(days, 3) == ["2024-04-01", "2024-04-02", "2024-04-03"]  # Mon-Wed
    assert future_dates(days[:-1], 2, freq) == ["2024-03-29", "2024-04-01"]  # Fri, then Mon
    # fewer than seven days apart, or a weekend day among them: plain daily
    assert infer_frequency(["2024-03-11", "2024-03-12", "2024-03-13"]).name == "daily"
    assert infer_frequency([*days, "2024-03-30"]).name == "daily"


def test_missing_steps_of_a_calendar_are_counted():
    weekly = ["2024-01-07", "2024-01-14", "2024-02-04", "2024-02-11", "2024-02-18",
              "2024-02-25", "2024-03-10", "2024-03-17"]  # no 01-21, 01-28; no 03-03
    assert missing_steps(weekly, infer_frequency(weekly)) == (3, "2024-01-14")
    monthly = ["2023-10", "2023-11", "2023-12", "2024-03", "2024-04"]
    assert missing_steps(monthly, infer_frequency(monthly)) == (2, "2023-12")
    whole = ["2024-01-07", "2024-01-14", "2024-01-21"]
    assert missing_steps(whole, infer_frequency(whole)) == (0, None)
    # trading days skip holidays by design: not counted
    days = ["2024-07-01", "2024-07-02", "2024-07-03", "2024-07-05", "2024-07-08", "2024-07-09",
            "2024-07-10"]
    assert infer_frequency(days).business and missing_steps(days, infer_frequency(days)) == (
        0, None)


def test_skipped_dates_are_inserted_with_values_on_the_line():
    weekly = ["20240107", "20240114", "20240204", "20240211"]  # no 01-21, 01-28
    values = np.array([[1.0, 10.0], [2.0, 20.0], [8.0, 50.0], [9.0, 60.0]])  # (T, D)
    dates, filled = fill_missing_steps(weekly, values)
    assert dates == ["20240107", "20240114", "20240121", "20240128", "20240204", "20240211"]
    np.testing.assert_allclose(filled, [[1, 10], [2, 20], [4, 30], [6, 40], [8, 50], [9, 60]])
    quarterly = ["2023Q3", "2023Q4", "2024Q3"]
    dates, filled = fill_missing_steps(quarterly, np.array([[0.0], [3.0], [15.0]]))
    assert dates == ["2023Q3", "2023Q4", "2024Q1", "2024Q2", "2024Q3"]
    np.testing.assert_allclose(filled[:, 0], [0, 3, 7, 11, 15])


def test_nothing_is_inserted_without_a_gap_or_a_frequency():
    values = np.arange(3.0)[:, None]
    whole = ["2024-01-07", "2024-01-14", "2024-01-21"]
    assert fill_missing_steps(whole, values) == (whole, values)
    irregular = ["2020-01-01", "2020-01-04", "2020-01-07"]  # every 3 days: no frequency
    assert fill_missing_steps(irregular, values)[0] == irregular
    days = ["2024-07-01", "2024-07-02", "2024-07-03", "2024-07-05", "2024-07-08", "2024-07-09",
            "2024-07-10"]  # trading days: a holiday is not a gap
    assert fill_missing_steps(days, np.zeros((7, 1)))[0] == days


def test_unknown_frequency_gives_offsets():
    assert infer_frequency(["2020-01-01", "2020-01-04", "2020-01-07"]) is None
    assert infer_frequency(["2020-01-01 00:00", "2020-01-01 00:07"]) is None  # 7 minutes
    assert future_dates(["2020-01-01", "2020-01-04"], 2) == ["+1", "+2"]
    assert future_dates(None or [], 3) == ["+1", "+2", "+3"]


@pytest.mark.parametrize("period", [4, 7, 12, 24])
def test_season_from_values(period):
    rng = np.random.default_rng(0)
    t = np.arange(20 * period)
    y = 0.1 * t + 3 * np.sin(2 * np.pi * t / period) + 0.3 * rng.normal(size=len(t))
    assert season_from_values(y) == period


def test_no_season_in_noise():
    assert season_from_values(np.random.default_rng(1).normal(size=300).cumsum()) == 1
    assert season_from_values(np.ones(50)) == 1
