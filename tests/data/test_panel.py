import numpy as np
import pytest

from rnnkit.data.panel import Panel, as_panel, load_panel, panel_from_frame
from rnnkit.errors import DataError


def write(tmp_path, text, name="p.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


LONG = ("store,month,sales\n"
        "a,2020-01,1\na,2020-02,2\na,2020-03,3\n"
        "b,2020-02,100\nb,2020-03,200\n")


def test_long_file_groups_rows_by_id_and_finds_the_date_column(tmp_path):
    p = load_panel(write(tmp_path, LONG), id_column="store")
    assert p.ids == ["a", "b"] and p.layout == "long"
    assert p.date_column == "month" and p.value_column == "sales"
    np.testing.assert_array_equal(p.values[0][:, 0], [1, 2, 3])
    np.testing.assert_array_equal(p.values[1][:, 0], [100, 200])
    assert p.dates == [["2020-01", "2020-02", "2020-03"], ["2020-02", "2020-03"]]
    assert "2 series (long format" in p.describe() and "2..3 values" in p.describe()


def test_long_file_errors_name_the_column_and_the_choices(tmp_path):
    path = write(tmp_path, LONG)
    with pytest.raises(DataError, match=r"id column 'shop' not found; columns are "
                                        r"\['store', 'month', 'sales'\]"):
        load_panel(path, id_column="shop")
    with pytest.raises(DataError, match="value column 'units' not found"):
        load_panel(path, id_column="store", column="units")
    shuffled = write(tmp_path, "id,d,y\na,2020-02,1\na,2020-01,2\n", "s.csv")
    with pytest.raises(DataError, match="rows of id 'a' are not in time order"):
        load_panel(shuffled, id_column="id", date_column="d")


def test_long_file_interpolates_within_each_series(tmp_path):
    path = write(tmp_path, "id,y\na,1\na,\na,3\nb,10\nb,20\n")
    with pytest.raises(DataError, match="column 'y' has 1 missing value"):
        load_panel(path, id_column="id")
    p = load_panel(path, id_column="id", interpolate=True)
    np.testing.assert_array_equal(p.values[0][:, 0], [1, 2, 3])


def test_interpolate_inserts_the_months_each_series_skips(tmp_path):
    path = write(tmp_path, "id,month,y\na,2020-01,1\na,2020-02,2\na,2020-05,5\na,2020-06,6\n"
                           "b,2020-01,10\nb,2020-02,20\nb,2020-03,30\n")
    assert load_panel(path, id_column="id").inserted == 0  # read as they are without it
    p = load_panel(path, id_column="id", interpolate=True)
    assert p.dates[0] == ["2020-01", "2020-02", "2020-03", "2020-04", "2020-05", "2020-06"]
    np.testing.assert_array_equal(p.values[0][:, 0], [1, 2, 3, 4, 5, 6])
    assert p.dates[1] == ["2020-01", "2020-02", "2020-03"] and p.inserted == 2


def test_wide_file_makes_one_series_per_value_column(tmp_path):
    path = write(tmp_path, "day,x,y\n2020-01-01,1,10\n2020-01-02,2,20\n2020-01-03,3,30\n")
    p = load_panel(path)
    assert p.ids == ["x", "y"] and p.date_column == "day" and p.layout == "wide"
    np.testing.assert_array_equal(p.values[1][:, 0], [10, 20, 30])
    assert p.dates[1][-1] == "2020-01-03"
    assert load_panel(path, column="y").ids == ["y"]


def test_a_wide_files_series_may_start_later_and_end_sooner(tmp_path):
    path = write(tmp_path, "month,a,b\n2020-01,1,\n2020-02,2,\n2020-03,3,30\n2020-04,4,40\n"
                           "2020-05,5,\n")
    p = load_panel(path)
    np.testing.assert_array_equal(p.values[1][:, 0], [30, 40])
    assert p.dates == [["2020-01", "2020-02", "2020-03", "2020-04", "2020-05"],
                       ["2020-03", "2020-04"]]
    inside = write(tmp_path, "month,a,b\n2020-01,1,10\n2020-02,2,\n2020-03,3,30\n", "in.csv")
    with pytest.raises(DataError, match="column 'b' has 1 missing value"):
        load_panel(inside)  # a gap within a series is still missing


def test_a_long_files_id_column_is_found(tmp_path):
    """Without id_column: a column of text whose ids each fill a run of rows is the ids; so
    is one of whole numbers named id (a whole-number value column is not)."""
    p = load_panel(write(tmp_path, LONG))
    assert p.layout == "long" and p.id_column == "store" and p.ids == ["a", "b"]
    np.testing.assert_array_equal(p.values[1][:, 0], [100, 200])
    numbered = "month,id,sales\n2020-01,7,1\n2020-02,7,2\n2020-01,9,5\n2020-02,9,6\n"
    p = load_panel(write(tmp_path, numbered))
    assert p.id_column == "id" and p.ids == ["7", "9"] and p.date_column == "month"
    # rows in date order, the ids taking turns: each date once per id
    turns = "month,store,sales\n2020-01,a,1\n2020-01,b,5\n2020-02,a,2\n2020-02,b,6\n"
    p = load_panel(write(tmp_path, turns))
    assert p.id_column == "store" and p.dates == [["2020-01", "2020-02"]] * 2
    np.testing.assert_array_equal(p.values[1][:, 0], [5, 6])
    # as wide files: whole numbers not named as ids, a repeated category, a missing cell
    counts = "month,n,sales\n2020-01,7,1\n2020-02,7,2\n2020-03,9,5\n2020-04,9,6\n"
    assert load_panel(write(tmp_path, counts)).layout == "wide"
    for text in ("month,day,sales\n2020-01,mon,1\n2020-02,tue,2\n2020-03,mon,3\n",
                 "month,tag,sales\n2020-01,x,1\n2020-02,x,2\n2020-03,,3\n",
                 "month,sales\n2020-01,1\n2020-02,1\n2020-03,x\n2020-04,2\n"):
        with pytest.raises(DataError, match=r"holds text|is not a number"):  # read as wide
            load_panel(write(tmp_path, text))


def test_a_long_file_read_as_wide_hints_at_the_id_column(tmp_path):
    with pytest.raises(DataError, match=r"column 'store' holds text \('a' on line 2\).*"
                                        r"--id-column store"):
        load_panel(write(tmp_path, LONG), id_column=None)


def test_arrays_and_dicts():
    p = as_panel([np.arange(5.0), np.arange(7.0)])
    assert p.ids == ["0", "1"] and not p.named and [len(v) for v in p.values] == [5, 7]
    q = as_panel({"a": np.arange(4.0), 3: np.ones((4, 1))})
    assert q.ids == ["a", "3"] and q.named and q.values[0].shape == (4, 1)
    assert as_panel(np.zeros((10, 2)), ids=["z"]).ids == ["z"]
    with pytest.raises(DataError, match="ids must name the 2 series once each"):
        as_panel([np.zeros(3), np.zeros(3)], ids=["a", "a"])
    assert as_panel(p) is p and isinstance(p.select(["1"]), Panel)
    with pytest.raises(DataError, match="series id 'c' not found; ids are"):
        p.select(["c"])


def test_pandas_long_and_wide():
    pd = pytest.importorskip("pandas")
    long = pd.DataFrame({"id": ["a", "a", "b", "b", "b"],
                         "when": pd.to_datetime(["2020-01-01", "2020-01-02", "2020-01-01",
                                                 "2020-01-02", "2020-01-03"]),
                         "v": [1.0, 2, 3, 4, 5]})
    p = panel_from_frame(long, id_column="id")
    long_dates = p.dates
    assert p.ids == ["a", "b"] and p.date_column == "when" and p.value_column == "v"
    assert p.dates[1] == ["2020-01-01", "2020-01-02", "2020-01-03"]
    np.testing.assert_array_equal(p.values[1][:, 0], [3, 4, 5])
    wide = pd.DataFrame({"x": [1.0, 2, 3], "y": [10.0, 20, 30]},
                        index=pd.date_range("2021-03-01", periods=3, freq="D"))
    w = as_panel(wide)
    assert w.ids == ["x", "y"] and w.dates[0] == ["2021-03-01", "2021-03-02", "2021-03-03"]
    # the id column found (text, or whole numbers named like statsforecast's unique_id)
    assert as_panel(long.drop(columns="when")).ids == ["a", "b"]
    numbered = long.rename(columns={"id": "unique_id"}).assign(unique_id=[4, 4, 7, 7, 7])
    assert as_panel(numbered).ids == ["4", "7"] and as_panel(numbered).id_column == "unique_id"
    with pytest.raises(DataError, match=r"column 'id' does not hold numbers.*id_column="):
        panel_from_frame(long.drop(columns="when"), id_column=None)
    by_date = long.sort_values("when", kind="stable")  # a, b, a, b, b: taking turns by date
    assert as_panel(by_date).ids == ["a", "b"] and as_panel(by_date).dates == long_dates


def test_past_covariates_follow_the_target_column(tmp_path):
    long = write(tmp_path, "id,d,price,y\na,2020-01,5,1\na,2020-02,6,2\nb,2020-01,7,3\n"
                           "b,2020-02,8,4\n")
    p = load_panel(long, id_column="id", past_covariates=["price"])
    assert p.value_column == "y" and p.covariates == ["price"]
    np.testing.assert_array_equal(p.values[1], [[3, 7], [4, 8]])  # target first
    assert "past covariates price" in p.describe()
    wide = write(tmp_path, "d,north,south,temp\n2020-01,1,10,0.5\n2020-02,2,20,0.7\n", "w.csv")
    w = load_panel(wide, past_covariates=["temp"])  # shared by every series, not a series
    assert w.ids == ["north", "south"]
    np.testing.assert_array_equal(w.values[1], [[10, 0.5], [20, 0.7]])
    with pytest.raises(DataError, match="past covariate column 'rain' not found"):
        load_panel(wide, past_covariates=["rain"])


def test_a_long_file_without_dates_counts_its_steps_in_a_column_that_is_not_the_values(
        tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("id,t,value\na,1,10\na,2,12\na,3,13\nb,5,7\nb,6,8\n")
    panel = load_panel(path, id_column="id")
    assert panel.value_column == "value" and panel.dates is None
    np.testing.assert_array_equal(panel.values[1][:, 0], [7, 8])
    path.write_text("id,t,date,value\na,1,2001,10\na,2,2002,12\nb,1,2001,7\nb,2,2002,8\n")
    panel = load_panel(path, id_column="id")
    assert (panel.value_column, panel.date_column) == ("value", "date")


def test_long_file_refuses_a_repeated_date_within_an_id(tmp_path):
    path = write(tmp_path, "id,d,y\na,2020-01,1\na,2020-02,2\nb,2020-01,3\nb,2020-01,4\n")
    with pytest.raises(DataError, match=r"rows of id 'b' are not in time order, one row a "
                                        r"date: date column 'd', line 5 \(2020-01\) repeats "
                                        r"line 4 \(2020-01\); sort the file by id and date"):
        load_panel(path, id_column="id")


def test_dataframe_dates_out_of_order_or_repeated_are_refused():
    """A DataFrame's datetime index (wide) or date column (long, per id) must be in time
    order, one row a date: the error names the rows."""
    pd = pytest.importorskip("pandas")
    idx = pd.date_range("2020-01-01", periods=5, freq="D")
    newest_first = pd.DataFrame({"y": np.arange(5.0)}, index=idx[::-1])
    with pytest.raises(DataError, match=r"DataFrame: the rows are not in time order, one row "
                                        r"a date: date column 'index', row 1 \(2020-01-04\) "
                                        r"goes back in time after row 0 \(2020-01-05\); sort "
                                        r"the DataFrame by date"):
        panel_from_frame(newest_first)
    long = pd.DataFrame({"id": ["a", "a", "b", "b"], "y": np.arange(4.0),
                         "d": pd.to_datetime(["2020-01-01", "2020-01-02"] * 2)})
    assert panel_from_frame(long, id_column="id").dates == [["2020-01-01", "2020-01-02"]] * 2
    long.loc[3, "d"] = pd.Timestamp("2020-01-01")
    with pytest.raises(DataError, match=r"rows of id 'b' .* row 3 \(2020-01-01\) repeats "
                                        r"row 2"):
        panel_from_frame(long, id_column="id")


def test_wide_file_with_thousands_separators_gets_the_number_hint(tmp_path):
    """A value column of numbers written with separators is not taken for a long file's id
    column: the hint is about the numbers."""
    path = write(tmp_path, 'm,revenue\n2020-01,"1,000"\n2020-02,"1,250"\n')
    with pytest.raises(DataError, match=r"column 'revenue', line 2: '1,000' is not a number; "
                                        r"it looks like a number written with separators"):
        load_panel(path)


def test_a_wide_dataframes_series_may_start_later_and_end_sooner():
    pd = pytest.importorskip("pandas")
    idx = pd.date_range("2020-01-01", periods=5, freq="D")
    frame = pd.DataFrame({"a": np.arange(5.0), "b": [np.nan, 1.0, 2.0, 3.0, np.nan]}, index=idx)
    p = panel_from_frame(frame)
    np.testing.assert_array_equal(p.values[1][:, 0], [1, 2, 3])
    assert p.dates[1] == ["2020-01-02", "2020-01-03", "2020-01-04"] and len(p.dates[0]) == 5
    frame.loc[idx[2], "b"] = np.nan
    with pytest.raises(DataError, match=r"column 'b' has 1 missing value"):
        panel_from_frame(frame)  # a gap within a series is still missing


def test_a_date_column_after_the_values_is_found(tmp_path):
    path = write(tmp_path, "sales,price,day\n5,10,2020-01-01\n7,11,2020-01-02\n6,12,2020-01-03\n")
    p = load_panel(path)
    assert p.date_column == "day" and p.ids == ["sales", "price"]
    assert p.dates[0][-1] == "2020-01-03"
    years = write(tmp_path, "sales,count\n5,2001\n7,2002\n6,2003\n", "years.csv")
    assert load_panel(years).date_column is None  # numbers that look like years stay values
