"""The checks every loader shares: regular files only, sizes, decoding, finite float32 values."""

from __future__ import annotations

import csv
import os

import numpy as np
import pytest

from rnnkit.data.checks import (
    FLOAT32_MAX,
    check_values,
    csv_rows,
    decode,
    parse_number,
    parse_values,
    quote,
    read_bytes,
    read_text,
    regular_file,
    shorten,
)
from rnnkit.errors import DataError


def test_quote_keeps_messages_short():
    assert quote("abc") == "'abc'"
    long = quote("x" * 200_000)
    assert len(long) == 80 and long.startswith("'xxx") and long.endswith("...'")
    assert len(quote(list(range(10_000)), limit=20)) == 20
    assert shorten("a\n  b\tc") == "a b c" and len(shorten("y" * 500, 50)) == 50


def test_a_fifo_is_refused_without_being_opened(tmp_path):
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)  # opening it for reading would block until a writer comes: never
    with pytest.raises(DataError, match=r"CSV file '.*pipe\.csv' is a named pipe \(FIFO\), "
                       r"expected a regular file"):
        read_bytes(fifo, "CSV file")


@pytest.mark.parametrize("make, message", [
    (lambda p: p.mkdir(), r"is a directory, expected a regular file"),
    (lambda p: None, r"': file not found"),
])
def test_other_non_files(tmp_path, make, message):
    p = tmp_path / "data.csv"
    make(p)
    with pytest.raises(DataError, match=message):
        read_text(p, "CSV file")


def test_devices_and_size_limit(tmp_path):
    if os.path.exists("/dev/null"):
        with pytest.raises(DataError, match="is a character device"):
            regular_file("/dev/null")
    p = tmp_path / "big.txt"
    p.write_bytes(b"12345")
    with pytest.raises(DataError, match=r"has 5 bytes, more than the limit of 4"):
        read_bytes(p, max_bytes=4)


def test_decode_drops_a_utf8_bom_and_names_undecodable_bytes(tmp_path):
    assert decode(b"\xef\xbb\xbfy\r\n1\r\n", "f.csv") == "y\r\n1\r\n"
    assert decode(b"\xef\xbb\xbfy", "f.csv", "UTF8") == "y"
    assert decode("é".encode("latin-1"), "f.csv", "latin-1") == "é"
    with pytest.raises(DataError, match=r"'f.csv' is not valid utf-8: undecodable byte 0xff "
                       r"at byte offset 2"):
        decode(b"ab\xffc", "f.csv")
    with pytest.raises(DataError, match=r"encoding must be a known codec name, got 'klingon'"):
        decode(b"x", "f.csv", "klingon")


def test_csv_rows_long_fields_crlf_and_line_numbers(monkeypatch):
    text = 'a,b\r\n1,"' + "x" * 300_000 + '"\r\n2,"two\nlines"\r\n3,z\r\n'
    rows = list(csv_rows(text, "f.csv"))
    assert [n for n, _ in rows] == [1, 2, 4, 5]
    assert len(rows[1][1][1]) == 300_000 and rows[2][1][1] == "two\nlines"
    assert csv.field_size_limit() >= 300_000
    old = csv.field_size_limit(10)
    monkeypatch.setattr("rnnkit.data.checks.CSV_FIELD_LIMIT", 10)
    try:
        with pytest.raises(DataError, match=r"CSV file 'f.csv' line 3: malformed CSV \(field "
                           r"larger than field limit \(10\)\)"):
            list(csv_rows("a\n1\n" + "x" * 11 + "\n", "f.csv"))
    finally:
        csv.field_size_limit(old)


@pytest.mark.parametrize("cell, message", [
    ("inf", r"'inf' is not a finite number"),
    ("-Infinity", r"'-Infinity' is not a finite number"),
    ("nan", r"'nan' is not a finite number"),
    ("1e39", r"'1e39' overflows float32 \(\|x\| > 3.4e\+38\)"),
    ("-3.5e38", r"'-3.5e38' overflows float32"),
    ("1e309", r"'1e309' is not a finite number"),
    ("twelve", r"'twelve' is not a number"),
])
def test_parse_number_refuses_what_float32_cannot_hold(cell, message):
    with pytest.raises(DataError, match=r"^f\.csv line 3: " + message):
        parse_number(cell, "f.csv line 3")


def test_parse_number_accepts_the_float32_range():
    assert parse_number(" 3.4e38 ", "p") == 3.4e38 and parse_number("-1e-50", "p") == -1e-50
    assert FLOAT32_MAX == pytest.approx(3.4028235e38)


def test_parse_values_missing_cells_and_positions():
    out = parse_values(["1", "", "?", "NaN", " 2.5 "], "p")
    np.testing.assert_array_equal(np.isnan(out), [False, True, True, True, False])
    with pytest.raises(DataError, match=r"^p, value 3: '1e39' overflows float32"):
        parse_values(["1", "2", "1e39"], "p")
    with pytest.raises(DataError, match=r"^p, value 2: 'inf' is not a finite number"):
        parse_values(["1", "inf"], "p")
    with pytest.raises(DataError, match=r"^p, value 1: 'abc' is not a number"):
        parse_values(["abc"], "p")


def test_check_values():
    check_values(np.array([1.0, np.nan]), "p", allow_nan=True)
    with pytest.raises(DataError, match=r"p at index 1: nan is not a finite number"):
        check_values(np.array([1.0, np.nan]), "p")
    with pytest.raises(DataError, match=r"p at index \(1, 0\): 1e\+39 overflows float32"):
        check_values(np.array([[1.0], [1e39]]), "p")
    check_values(np.arange(3), "p")  # integers: nothing to check


@pytest.mark.parametrize("cell", ["1,234", "1,5", "$5", "5.0%", "12 345", "1'234.5"])
def test_numbers_written_with_separators_or_signs_get_a_hint(cell):
    with pytest.raises(DataError, match=r"is not a number; it looks like a number written "
                                        r"with separators or signs: write numbers plainly"):
        parse_number(cell, "x.csv line 2")
    with pytest.raises(DataError, match=r"value 2: .* looks like a number written"):
        parse_values(["1", cell], "x.csv line 2")


@pytest.mark.parametrize("cell", ["abc", "1.2.3", "-", "%"])
def test_text_gets_no_number_hint(cell):
    with pytest.raises(DataError) as err:
        parse_number(cell, "x.csv line 2")
    assert str(err.value).endswith("is not a number")
