import numpy as np
import pytest

from rnnkit.data.series import csv_columns, load_bundled, load_csv
from rnnkit.errors import DataError


def test_bundled_airline_passengers_check_numbers():
    s = load_bundled()
    y = s.column("passengers")
    assert y.shape == (144,)
    assert y.sum() == 40363
    assert y.mean() == pytest.approx(280.2986, abs=1e-4)
    assert (y.min(), y.max()) == (104, 622)
    assert (s.dates[0], y[0], s.dates[-1], y[-1]) == ("1949-01", 112, "1960-12", 432)


def write(tmp_path, text, name="data.csv"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_columns_dates_and_delimiters(tmp_path):
    p = write(tmp_path, "day;a;b\n1;1.5;10\n2;2.5;20\n")
    s = load_csv(p, column=["b", "a"], date_column="day")
    np.testing.assert_array_equal(s.values, [[10, 1.5], [20, 2.5]])
    assert s.dates == ["1", "2"] and s.columns == ["b", "a"]
    assert load_csv(p, date_column="day").columns == ["a"]  # first non-date column
    assert csv_columns(p) == ["day", "a", "b"]


def test_interpolation(tmp_path):
    p = write(tmp_path, "y\n\n1\nNA\n3\n4\n\n")
    with pytest.raises(DataError, match=r"column 'y' has 1 missing value\(s\) \(first on line 4\)"):
        load_csv(p)
    np.testing.assert_array_equal(load_csv(p, interpolate=True).column(), [1, 2, 3, 4])
    # cells before the first value and after the last: the series starts later, ends sooner
    p2 = write(tmp_path, "d,y\n2020,NA\n2021,2\n2022,4\n2023,nan\n", "edges.csv")
    s = load_csv(p2, date_column="d")
    np.testing.assert_array_equal(s.column(), [2, 4])
    assert s.dates == ["2021", "2022"]


def test_a_blank_line_inside_a_one_column_file_is_a_missing_value(tmp_path):
    p = write(tmp_path, "y\n\n1\n2\n\n\n5\n\n")  # blank before, inside (two) and after
    with pytest.raises(DataError, match=r"has 2 missing value\(s\) \(first on line 5\)"):
        load_csv(p)
    np.testing.assert_array_equal(load_csv(p, interpolate=True).column(), [1, 2, 3, 4, 5])
    two = write(tmp_path, "d,y\n1,1\n\n2,2\n", "two.csv")  # a blank row of two columns:
    np.testing.assert_array_equal(load_csv(two, date_column="d").column(), [1, 2])  # skipped


def test_interpolation_inserts_the_weeks_a_date_column_skips(tmp_path):
    p = write(tmp_path, "week,y\n2024-01-07,1\n2024-01-14,2\n2024-02-04,5\n2024-02-11,6\n")
    s = load_csv(p, date_column="week", interpolate=True)
    assert s.dates == ["2024-01-07", "2024-01-14", "2024-01-21", "2024-01-28", "2024-02-04",
                       "2024-02-11"]
    np.testing.assert_array_equal(s.column(), [1, 2, 3, 4, 5, 6])
    assert load_csv(p, date_column="week").dates[2] == "2024-02-04"  # not without it


@pytest.mark.parametrize("text, kwargs, message", [
    ("y\n1\nabc\n", {}, r"column 'y', line 3: 'abc' is not a number"),
    ("y\n1\n2\n", {"column": "z"}, r"column 'z' not found; columns are \['y'\]"),
    ("y\n1\n", {"date_column": "when"}, r"date column 'when' not found"),
    ("y\n", {}, "no data rows"),
    ("", {}, "empty file"),
    ("y\nNA\nNA\n", {"interpolate": True}, "has no values, all 2 are missing"),
    ("y\n1\ninf\n", {}, "is not a finite number"),
])
def test_bad_files(tmp_path, text, kwargs, message):
    p = write(tmp_path, text)
    with pytest.raises(DataError, match=message) as info:
        load_csv(p, **kwargs)
    assert str(p) in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        load_csv(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="not valid utf-8: undecodable byte"):
        load_csv(write_bytes(tmp_path))


def write_bytes(tmp_path):
    p = tmp_path / "bin.csv"
    p.write_bytes(b"y\n\xff\xfe\x00\n")
    return p


@pytest.mark.parametrize("text, message", [
    ("y\n1\n1e39\n", r"column 'y', line 3: '1e39' overflows float32"),
    ("y\n1\n-Infinity\n", r"column 'y', line 3: '-Infinity' is not a finite number"),
    ("y\n\n\n", r"no data rows after the header"),
    ("y,z\n,1\nNA,2\n", r"column 'y' has no values, all 2 are missing"),
    ("y\n1\n" + "9" * 100_000 + "x\n", r"line 3: '9{60,}\.\.\.' is not a number$"),
])
def test_values_a_model_cannot_take(tmp_path, text, message):
    p = write(tmp_path, text)
    with pytest.raises(DataError, match=message) as info:
        load_csv(p, column="y")
    assert str(p) in str(info.value) and len(str(info.value)) < 300


def test_bom_crlf_and_long_fields_are_fine(tmp_path):
    p = tmp_path / "bom.csv"
    note = "n" * 200_000
    p.write_bytes(("\ufeffmonth,y,note\r\n2000-01,1,a\r\n2000-02,2,\"" + note + "\"\r\n")
                  .encode("utf-8"))
    s = load_csv(p, column="y", date_column="month")
    np.testing.assert_array_equal(s.column(), [1, 2])
    assert s.dates == ["2000-01", "2000-02"]
    assert csv_columns(p) == ["month", "y", "note"]


def test_a_fifo_is_refused_not_read(tmp_path):
    import os

    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    with pytest.raises(DataError, match=r"pipe\.csv' is a named pipe \(FIFO\)"):
        load_csv(fifo)
    with pytest.raises(DataError, match=r"pipe\.csv' is a named pipe \(FIFO\)"):
        csv_columns(fifo)


def test_date_column_auto_detects_a_first_column_of_dates(tmp_path):
    from rnnkit.data.series import load_csv

    path = tmp_path / "d.csv"
    path.write_text("day,a,b\n20240101,1,2\n20240102,3,4\n20240103,5,6\n")
    s = load_csv(path, date_column="auto")
    assert s.date_column == "day" and s.columns == ["a"] and s.dates[0] == "20240101"
    path.write_text("x,a\n3,1\n2,3\n1,5\n")  # not increasing: a value column
    s = load_csv(path, date_column="auto")
    assert s.date_column is None and s.columns == ["x"] and s.dates is None


def test_a_row_index_or_step_column_is_neither_a_series_nor_the_dates(tmp_path):
    """``DataFrame.to_csv`` writes the row index as an unnamed first column of 0, 1, 2, ...:
    the dates are then the second column, and the index is no series; nor is a first column
    counting the steps."""
    from rnnkit.data.panel import load_panel
    from rnnkit.data.series import load_csv, value_columns

    path = tmp_path / "yearly.csv"
    path.write_text(",year,activity,other\n0,1700.0,5.0,1\n1,1701.0,11.0,2\n"
                    "2,1702.0,16.0,3\n")
    s = load_csv(path, date_column="auto")
    assert s.date_column == "year" and s.columns == ["activity"] and s.dates[0] == "1700.0"
    panel = load_panel(path)
    assert panel.ids == ["activity", "other"] and panel.dates[0] == ["1700.0", "1701.0",
                                                                         "1702.0"]
    assert value_columns(path, "year") == ["activity", "other"]
    path.write_text("index,a\n0,1\n2,3\n3,5\n")  # not 0, 1, 2, ...: a value column
    assert load_csv(path, date_column="auto").columns == ["index"]
    path.write_text("t,a,b\n1,5,1\n2,3,2\n3,5,3\n")  # a step column t = 1, 2, 3, ...
    assert load_csv(path, date_column="auto").columns == ["a"]
    assert load_panel(path).ids == ["a", "b"] and load_panel(path).dates is None


@pytest.mark.parametrize("loader", ["series", "panel"])
def test_dates_out_of_order_or_repeated_are_refused_with_the_lines(tmp_path, loader):
    """A date column is detected even when its rows are out of order (its cells are dates of
    a form values never take), and then refused: the error names the column and the two
    lines, whether a date goes back in time or repeats."""
    from rnnkit.data.panel import load_panel

    load = (lambda p: load_csv(p, date_column="auto")) if loader == "series" else load_panel
    shuffled = write(tmp_path, "day,sales\n2020-01-01,1\n2020-01-03,2\n2020-01-02,3\n",
                     "shuffled.csv")
    with pytest.raises(DataError, match=r"not in time order, one row a date: date column "
                                        r"'day', line 4 \(2020-01-02\) goes back in time "
                                        r"after line 3 \(2020-01-03\); sort the file by date"):
        load(shuffled)
    repeated = write(tmp_path, "day,sales\n2020-01-01,1\n2020-01-02,2\n2020-01-02,3\n",
                     "repeated.csv")
    with pytest.raises(DataError, match=r"line 4 \(2020-01-02\) repeats line 3"):
        load(repeated)
    newest_first = write(tmp_path, "day,sales\n2020-03,1\n2020-02,2\n2020-01,3\n", "desc.csv")
    with pytest.raises(DataError, match="goes back in time"):
        load(newest_first)


def test_numbers_out_of_order_are_values_not_dates(tmp_path):
    """A first column of year-like numbers in no order is a value column, not dates (only
    increasing years are read as dates)."""
    path = write(tmp_path, "a,b\n2003,1\n1998,2\n2010,3\n")
    s = load_csv(path, date_column="auto")
    assert s.date_column is None and s.columns == ["a"]
    np.testing.assert_array_equal(s.values[:, 0], [2003, 1998, 2010])


def test_a_file_without_header_row_keeps_its_first_row(tmp_path):
    """A first row of numbers and dates is data, not column names: no value is lost."""
    s = load_csv(write(tmp_path, "1\n2\n3\n", "one.csv"))
    assert s.columns == ["value"] and s.values[:, 0].tolist() == [1, 2, 3]
    dated = write(tmp_path, "2020-01,5\n2020-02,6\n2020-03,7\n", "dated.csv")
    s = load_csv(dated, date_column="auto")
    assert (s.date_column, s.columns) == ("column 1", ["column 2"])
    assert s.dates == ["2020-01", "2020-02", "2020-03"] and len(s) == 3
    assert csv_columns(dated) == ["column 1", "column 2"]
