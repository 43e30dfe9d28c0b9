"""Generated seq2seq tasks, TSV parallel text and pair encoding."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from rnnkit.data.seq2seq_tasks import (
    build_vocabs,
    encode_pairs,
    load_parallel_tsv,
    make_addition,
    make_dates,
    make_reversal,
    make_task,
)
from rnnkit.errors import DataError


def test_addition_is_correct_unique_and_seeded():
    pairs = make_addition(2000, seed=1)
    assert len({s for s, _ in pairs}) == 2000
    for s, t in pairs:
        a, b = s.split("+")
        assert int(a) + int(b) == int(t) and int(a) < 1000 and int(b) < 1000
    assert pairs == make_addition(2000, seed=1)
    assert pairs != make_addition(2000, seed=2)
    assert max(len(s) for s, _ in pairs) == 7


def test_dates_parse_back():
    pairs = make_dates(500, seed=0)
    month = {m: i + 1 for i, m in enumerate(["jan", "feb", "mar", "apr", "may", "jun", "jul",
                                             "aug", "sep", "oct", "nov", "dec"])}
    for s, iso in pairs:
        d = dt.date.fromisoformat(iso)
        low = s.lower()
        if "/" in low:
            m, day, y = (int(v) for v in low.split("/"))
            assert (m, day, y % 100) == (d.month, d.day, d.year % 100)
        elif "." in low:
            day, m, y = (int(v) for v in low.split("."))
            assert (day, m, y) == (d.day, d.month, d.year)
        else:
            assert str(d.year) in low and str(d.day) in low
            assert any(w[:3] in month and month[w[:3]] == d.month
                       for w in low.replace(",", "").split())
    assert len({s[:2] for s, _ in pairs}) > 20  # many formats and cases


def test_reversal_and_make_task():
    pairs = make_reversal(50, 2, 4, "ab", seed=0)
    assert all(t == s[::-1] and 2 <= len(s) <= 4 and set(s) <= {"a", "b"} for s, t in pairs)
    assert make_task("reversal", 3, seed=5) == make_reversal(3, seed=5)
    with pytest.raises(ValueError, match=r"task must be one of \('addition', 'dates', "):
        make_task("sort", 3)
    with pytest.raises(ValueError, match="n must be a positive int, got 0"):
        make_addition(0)


def test_encode_pairs():
    pairs = [("12+3", "15"), ("1+1", "2")]
    sv, tv = build_vocabs(pairs)
    assert tv.id_to_token[:4] == ["<pad>", "<unk>", "<s>", "</s>"]
    enc = encode_pairs(pairs, sv, tv)
    assert sv.decode(enc.src[0]) == list("12+3")
    assert tv.decode(enc.tgt_in[0]) == ["<s>", "1", "5"]
    assert tv.decode(enc.tgt_out[0]) == ["1", "5", "</s>"]
    assert enc.tgt_in[1].dtype == np.int64


def test_tsv(tmp_path):
    p = tmp_path / "p.tsv"
    p.write_text("Go.\tVa !\tcc-by\n\nHi.\tSalut !\n", encoding="utf-8")
    assert load_parallel_tsv(p) == [("Go.", "Va !"), ("Hi.", "Salut !")]
    p.write_text("Go.\tVa !\nno tab here\n")
    with pytest.raises(DataError, match=r"p\.tsv' line 2: 1 tab-separated field\(s\)"):
        load_parallel_tsv(p)
    p.write_bytes(b"a\t\xff\n")
    with pytest.raises(DataError, match="not valid utf-8"):
        load_parallel_tsv(p)


def test_tsv_bom_crlf_and_empty_fields(tmp_path):
    p = tmp_path / "p.tsv"
    p.write_bytes(b"\xef\xbb\xbfGo.\tVa !\r\nHi.\tSalut !\r\n")
    assert load_parallel_tsv(p) == [("Go.", "Va !"), ("Hi.", "Salut !")]
    p.write_text("Go.\tVa !\nHi.\t \n")
    with pytest.raises(DataError, match=r"p\.tsv' line 2: empty target"):
        load_parallel_tsv(p)
    p.write_text("\n\n")
    with pytest.raises(DataError, match=r"p\.tsv' has no pairs"):
        load_parallel_tsv(p)
