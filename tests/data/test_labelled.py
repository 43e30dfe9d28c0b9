"""Labelled sequence loaders: CSV and UCR/UEA .ts on small generated files and corrupt ones."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit.data.labelled import from_arrays, load_labelled, load_sequence_csv, load_ts
from rnnkit.errors import DataError


def test_csv_label_last_no_header(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text("1,2,3,b\n4,5,6,a\n7,8,9,b\n")
    ds = load_sequence_csv(p)
    assert ds.classes == ["a", "b"]
    np.testing.assert_array_equal(ds.y, [1, 0, 1])
    assert len(ds) == 3 and ds.n_features == 1
    np.testing.assert_array_equal(ds.X[1][:, 0], [4, 5, 6])


def test_csv_header_label_first_numeric_classes(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text("label,t0,t1\n10,0.5,1.5\n2,2.5,3.5\n")
    ds = load_sequence_csv(p, label_column=0)
    assert ds.classes == ["2", "10"]  # numeric labels sort as numbers
    np.testing.assert_array_equal(ds.y, [1, 0])
    np.testing.assert_allclose(ds.X[0][:, 0], [0.5, 1.5])


def test_csv_written_by_pandas_with_its_row_index(tmp_path):
    """``DataFrame.to_csv`` adds an unnamed first column 0, 1, 2, ...: a header, and a row
    index that is no value of the sequences."""
    p = tmp_path / "a.csv"
    p.write_text(",t0,t1,label\n0,0.5,1.5,x\n1,2.5,3.5,y\n2,4.5,5.5,x\n")
    ds = load_sequence_csv(p)
    assert ds.classes == ["x", "y"] and ds.n_features == 1
    np.testing.assert_allclose(ds.X[2][:, 0], [4.5, 5.5])
    p.write_text(",t0,t1,label\n5,0.5,1.5,x\n9,2.5,3.5,y\n")  # not an index: a value
    np.testing.assert_allclose(load_sequence_csv(p).X[1][:, 0], [9, 2.5, 3.5])


def test_csv_first_column_of_row_ids_is_left_out(tmp_path, caplog):
    """A first column with a different text on every row names the rows (``s1, s2, ...``):
    it is no value, and reading it as one failed with "'s1' is not a number"."""
    p = tmp_path / "a.csv"
    p.write_text("id,t0,t1,label\ns1,0.5,1.5,x\ns2,2.5,3.5,y\n")
    ds = load_sequence_csv(p)
    np.testing.assert_allclose(ds.X[1][:, 0], [2.5, 3.5])
    assert "'id' holds a different word on every row" in caplog.text
    p.write_text("s1,0.5,1.5,x\ns1,2.5,3.5,y\n")  # repeated: not ids, and not numbers
    with pytest.raises(DataError, match="'s1' is not a number"):
        load_sequence_csv(p)


def test_csv_ragged_row_is_error(tmp_path):
    p = tmp_path / "r.csv"
    p.write_text("1,2,3,a\n4,5,a\n")
    with pytest.raises(DataError, match=r"r\.csv' line 2: ragged row with 3 fields, expected 4"):
        load_sequence_csv(p)


def test_csv_variable_length_and_padding(tmp_path):
    p = tmp_path / "v.csv"
    p.write_text("a,1,2,3\nb,4,,\nb,5,6\n")
    ds = load_sequence_csv(p, label_column=0, variable_length=True)
    np.testing.assert_array_equal(ds.lengths, [3, 1, 2])
    x, lengths = ds.padded()
    assert x.shape == (3, 3, 1) and x.dtype == np.float32
    np.testing.assert_array_equal(x[:, :, 0], [[1, 2, 3], [4, 0, 0], [5, 6, 0]])
    np.testing.assert_array_equal(lengths, [3, 1, 2])


def test_csv_bad_number_and_unknown_test_label(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("1,2,a\n1,zz,b\n")
    with pytest.raises(DataError, match=r"x\.csv' line 2, value 2: 'zz' is not a number"):
        load_sequence_csv(p, header=False)
    q = tmp_path / "t.csv"
    q.write_text("1,2,c\n")
    with pytest.raises(DataError, match=r"labels \['c'\] not among the classes \['a', 'b'\]"):
        load_sequence_csv(q, classes=["a", "b"])


def test_csv_undecodable(tmp_path):
    p = tmp_path / "u.csv"
    p.write_bytes(b"1,2,\xe9\n")
    with pytest.raises(DataError, match="byte offset 4; pass --encoding"):
        load_sequence_csv(p)
    assert load_sequence_csv(p, encoding="latin-1").classes == ["é"]


UNI = """# a comment
@problemName Tiny
@timeStamps false
@univariate true
@equalLength true
@seriesLength 3
@classLabel true up down
@data
1,2,3:up
3,2,?:down
"""

MULTI = """@problemName TinyMV
@univariate false
@dimensions 2
@equalLength false
@classLabel true 1 2
@data
1,2,3:4,5,6:1
7,8:9,10:2
"""


def test_ts_univariate(tmp_path):
    p = tmp_path / "u.ts"
    p.write_text(UNI)
    ds = load_ts(p)
    assert ds.classes == ["up", "down"]  # declared order
    np.testing.assert_array_equal(ds.y, [0, 1])
    assert ds.X[0].shape == (3, 1)
    assert np.isnan(ds.X[1][2, 0])


def test_ts_header_takes_arff_percent_comments(tmp_path):
    p = tmp_path / "c.ts"
    p.write_text("%# a description, as in aeon's UnitTest files\n%\n" + UNI)
    ds = load_ts(p)
    assert ds.classes == ["up", "down"] and len(ds.X) == 2
    p.write_text(UNI + "%1,2,3:up\n")  # after @data a "%" line is data, and not valid data
    with pytest.raises(DataError, match="line 11"):
        load_ts(p)


def test_ts_multivariate_variable_length(tmp_path):
    p = tmp_path / "m.ts"
    p.write_text(MULTI)
    ds = load_labelled(p)
    assert [x.shape for x in ds.X] == [(3, 2), (2, 2)]
    np.testing.assert_array_equal(ds.X[1], [[7, 9], [8, 10]])
    np.testing.assert_array_equal(ds.y, [0, 1])
    assert not ds.equal_length


@pytest.mark.parametrize(("body", "message"), [
    (MULTI.replace("7,8:9,10:2", "7,8:2"), r"line 8: 1 dimensions, expected 2"),
    (MULTI.replace("7,8:9,10:2", "7,8:9:2"), r"dimensions of different lengths \[2, 1\]"),
    (UNI.replace("3,2,?:down", "3,2:down"), r"length 2 but @equalLength true"),
    (UNI.replace("3,2,?:down", "3,2,1:sideways"), r"labels \['sideways'\] not among"),
    (UNI.replace("@data\n", ""), r"expected an @ header line or @data"),
    (UNI.replace("1,2,3:up", "1,x,3:up"), r"line 9 dimension 0, value 2: 'x' is not a number"),
    (UNI.replace("@classLabel true up down", "@classLabel false"), r"no class labels"),
])
def test_ts_corrupt(tmp_path, body, message):
    p = tmp_path / "c.ts"
    p.write_text(body)
    with pytest.raises(DataError, match=message):
        load_ts(p)


def test_ts_missing_file(tmp_path):
    with pytest.raises(DataError, match=r"\.ts file .*none\.ts': file not found"):
        load_ts(tmp_path / "none.ts")


def test_from_arrays():
    ds = from_arrays(np.zeros((4, 5)), ["x", "y", "x", "z"])
    assert ds.classes == ["x", "y", "z"]
    np.testing.assert_array_equal(ds.y, [0, 1, 0, 2])
    assert ds.X[0].shape == (5, 1)
    with pytest.raises(ValueError, match="X and y must have the same length, got 4 and 3"):
        from_arrays(np.zeros((4, 5)), [1, 2, 3])


@pytest.mark.parametrize("text, message", [
    ("1,2,a\n3,4,\n", r"line 2: empty label"),
    ("0.5,2,1\n3,4,1.5\n", r"line 2: label '1.5' is not a whole number; numeric class labels "
                           r"must be integers"),
    ("1,2,1\n3,4,1.0\n", r"line 2: labels '1' and '1.0' name the same class 1"),
    ("1,2,a\n?,,b\n", r"line 2: the sequence has no values, all 2 are missing"),
    ("1,2,a\n3,1e39,b\n", r"line 2, value 2: '1e39' overflows float32"),
    ("1,2,a\n3,inf,b\n", r"line 2, value 2: 'inf' is not a finite number"),
])
def test_csv_records_and_labels_are_checked(tmp_path, text, message):
    p = tmp_path / "s.csv"
    p.write_text(text)
    with pytest.raises(DataError, match=r"CSV file '.*s\.csv' " + message):
        load_sequence_csv(p)


def test_csv_whole_float_labels_bom_and_crlf(tmp_path):
    p = tmp_path / "s.csv"
    p.write_bytes(b"\xef\xbb\xbft0,t1,label\r\n1,2,1.0\r\n3,4,2.0\r\n")
    ds = load_sequence_csv(p)
    assert ds.classes == ["1.0", "2.0"] and len(ds) == 2  # class names as written
    with pytest.raises(ValueError, match=r"label_column must index one of the 3 columns of "
                       r"CSV file '.*s\.csv', got 7"):
        load_sequence_csv(p, label_column=7)


@pytest.mark.parametrize("case, message", [
    ("1,2,3:", r"line 9: empty label"),
    ("?,?,?:up", r"line 9: the case has no values, all 3 are missing"),
    ("1,2,1e39:up", r"line 9 dimension 0, value 3: '1e39' overflows float32"),
    ("1,-inf,3:up", r"line 9 dimension 0, value 2: '-inf' is not a finite number"),
])
def test_ts_records_are_checked(tmp_path, case, message):
    p = tmp_path / "c.ts"
    p.write_text(UNI.replace("1,2,3:up", case))
    with pytest.raises(DataError, match=r"\.ts file '.*c\.ts' " + message):
        load_ts(p)


def test_ts_string_labels_bom_and_crlf(tmp_path):
    p = tmp_path / "b.ts"
    body = UNI.replace("@classLabel true up down", "@classLabel true 1.5 2").replace(
        ":up", ":1.5").replace(":down", ":2")
    p.write_bytes(b"\xef\xbb\xbf" + body.replace("\n", "\r\n").encode())
    ds = load_ts(p)
    assert ds.classes == ["1.5", "2"]  # a .ts label is a class name: 1.5 is fine
    np.testing.assert_array_equal(ds.y, [0, 1])


def test_tab_separated_ucr_file_with_the_label_first(tmp_path):
    """The UCR archive's own format: NAME_TRAIN.tsv, tab-separated, no header, the label in
    the first column. The separator and the label column are detected; where the first
    column is not whole numbers, the last stays the label column and its error hints at the
    first."""
    path = tmp_path / "Toy_TRAIN.tsv"
    path.write_text("1\t0.5\t-0.25\t1.5\n2\t-1.0\t0.75\t0.0\n1\t0.25\t0.5\t-2.0\n")
    for data in (load_sequence_csv(path), load_sequence_csv(path, label_column=0)):
        assert data.classes == ["1", "2"] and list(data.y) == [0, 1, 0]
        np.testing.assert_array_equal(data.X[1][:, 0], [-1.0, 0.75, 0.0])
    with pytest.raises(DataError, match=r"label '0.0' is not a whole number|label '1.5' is not"):
        load_sequence_csv(path, label_column=-1)
    odd = tmp_path / "odd.tsv"
    odd.write_text("1.5\t0.5\t1.5\n2\t-1.0\t0.0\n")
    with pytest.raises(DataError, match=r"label '1.5' is not a whole number.*UCR archive's "
                                        r"\.tsv files put it first: label_column=0"):
        load_sequence_csv(odd)


def test_the_label_column_stays_the_last_unless_the_layout_is_the_ucr_archives(tmp_path):
    counts = tmp_path / "counts.csv"  # whole numbers everywhere: the last column, as before
    counts.write_text("3,4,5,0\n6,7,8,1\n")
    assert load_sequence_csv(counts).classes == ["0", "1"]
    named = tmp_path / "named.csv"  # text labels last
    named.write_text("1,0.5,up\n2,0.25,down\n")
    assert load_sequence_csv(named).classes == ["down", "up"]
    padded = tmp_path / "Var_TEST.tsv"  # label first, whole-number values, NaN padding
    padded.write_text("1\t3\t4\tNaN\n2\t5\t6\t7\n")
    data = load_sequence_csv(padded)
    assert data.classes == ["1", "2"] and [len(x) for x in data.X] == [2, 3]


def test_trailing_missing_cells_end_the_sequence(tmp_path):
    """The UCR archive pads its variable-length sets with NaN: a row ends at its last value;
    a missing value inside a row stays missing."""
    path = tmp_path / "Var_TRAIN.tsv"
    path.write_text("a\t1.0\t2.0\tNaN\tNaN\nb\t3.0\tNaN\t4.0\t5.0\na\t6.0\tNaN\tNaN\tNaN\n")
    data = load_sequence_csv(path, label_column=0)
    assert [len(x) for x in data.X] == [2, 4, 1]
    np.testing.assert_array_equal(data.X[1][:, 0], [3.0, np.nan, 4.0, 5.0])


def test_the_label_column_by_header_name_or_text_first(tmp_path):
    named = tmp_path / "named.csv"
    named.write_text("t0,t1,class,t2\n0.5,1.5,run,2.5\n0.25,0.75,walk,1.25\n")
    data = load_sequence_csv(named)  # a header naming "class"
    assert data.classes == ["run", "walk"]
    np.testing.assert_array_equal(data.X[0][:, 0], [0.5, 1.5, 2.5])
    assert load_sequence_csv(named, label_column="class").classes == ["run", "walk"]
    with pytest.raises(DataError, match=r"label column 'kind' not found; columns are "
                                        r"\['t0', 't1', 'class', 't2'\]"):
        load_sequence_csv(named, label_column="kind")
    text_first = tmp_path / "first.csv"  # labels as words first, values after
    text_first.write_text("run,0.5,1.5\nwalk,0.25,0.75\n")
    assert load_sequence_csv(text_first).classes == ["run", "walk"]
    ids_first = tmp_path / "ids.csv"  # ids first, whole-number labels last: the ids left out
    ids_first.write_text("s1,0.5,1.5,0\ns2,0.25,0.75,1\n")
    data = load_sequence_csv(ids_first)
    assert data.classes == ["0", "1"]
    np.testing.assert_array_equal(data.X[1][:, 0], [0.25, 0.75])
    with pytest.raises(DataError, match="no header row: give the label column's index"):
        load_sequence_csv(ids_first, label_column="label")


def test_a_header_with_an_unnamed_column_is_named_in_the_error(tmp_path):
    p = tmp_path / "blank.csv"  # column 2 of the header has no name: line 1 is read as data
    p.write_text("t0,,t2,label\n0.5,1.5,2.5,run\n0.2,0.3,0.4,walk\n")
    with pytest.raises(DataError, match=r"label column 'label' not found; line 1 is not read "
                                        r"as a header: its column 2 has no name"):
        load_sequence_csv(p, label_column="label")
    p.write_text(",t0,t1,label\n0,0.5,1.5,x\n1,2.5,3.5,y\n")  # the first may be empty (pandas)
    assert load_sequence_csv(p, label_column="label").classes == ["x", "y"]
