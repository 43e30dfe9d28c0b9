"""Labelled-text loaders on small generated folders and CSV files, and on corrupt ones."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit.data.text_datasets import load_text_csv, load_text_folder, load_texts
from rnnkit.errors import DataError


def _folder(tmp_path):
    for label, docs in {"pos": ["great film", "loved it"], "neg": ["dull"],
                        "unsup": ["whatever"]}.items():
        (tmp_path / label).mkdir()
        for i, d in enumerate(docs):
            (tmp_path / label / f"{i}_1.txt").write_text(d, encoding="utf-8")
    (tmp_path / "pos" / "README.md").write_text("not a review")
    return tmp_path


def test_folder_layout(tmp_path):
    ds = load_text_folder(_folder(tmp_path), classes=["neg", "pos"])
    assert ds.classes == ["neg", "pos"]
    assert ds.texts == ["dull", "great film", "loved it"]
    np.testing.assert_array_equal(ds.y, [0, 1, 1])
    assert load_texts(tmp_path).classes == ["neg", "pos", "unsup"]


def test_folder_undecodable(tmp_path):
    _folder(tmp_path)
    (tmp_path / "neg" / "9_2.txt").write_bytes(b"bad \x92 quote")
    with pytest.raises(DataError, match=r"9_2\.txt' is not valid utf-8.*offset 4.*--encoding"):
        load_text_folder(tmp_path, classes=["neg", "pos"])
    ds = load_text_folder(tmp_path, classes=["neg", "pos"], encoding="cp1252")
    assert "bad \u2019 quote" in ds.texts


def test_folder_errors(tmp_path):
    with pytest.raises(DataError, match="does not exist or is not a folder"):
        load_text_folder(tmp_path / "none")
    _folder(tmp_path)
    with pytest.raises(DataError, match=r"no sub-folder for classes \['meh'\]"):
        load_text_folder(tmp_path, classes=["neg", "meh"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"empty' has no \.txt files"):
        load_text_folder(tmp_path, classes=["neg", "empty"])


def test_csv_with_quotes(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text('label,text\npos,"good, really"\nneg,"bad\nand long"\n', encoding="utf-8")
    ds = load_text_csv(p)
    assert ds.texts == ["good, really", "bad\nand long"]
    assert ds.classes == ["neg", "pos"]
    np.testing.assert_array_equal(ds.y, [1, 0])
    assert load_texts(p).texts == ds.texts


def test_csv_no_header_and_columns(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("hello there,b\nbye,a\n")
    ds = load_text_csv(p, header=False, label_column=1, text_column=0)
    assert ds.texts == ["hello there", "bye"]
    np.testing.assert_array_equal(ds.y, [1, 0])


def test_csv_errors(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("lab,txt\na,b\n")
    with pytest.raises(DataError, match=r"no label column 'label'; columns are \['lab', 'txt'\]: "
                       r"name it with label_column= \(rnnkit classify --label-column\)"):
        load_text_csv(p, label_column="label")
    p.write_text("text\nfine words\n")
    with pytest.raises(DataError, match="needs a label and a text column, got the one column"):
        load_text_csv(p)
    p.write_text("label,text\na,ok\nb\n")
    with pytest.raises(DataError, match="line 3: 1 fields, needs a label"):
        load_text_csv(p)
    p.write_bytes(b"label,text\na,caf\xe9\n")
    with pytest.raises(DataError, match=r"t\.csv' is not valid utf-8: undecodable byte 0xe9"):
        load_text_csv(p)
    assert load_text_csv(p, encoding="latin-1").texts == ["café"]


def test_csv_columns_auto(tmp_path, caplog):
    """Columns not named label and text: the text is the column of the most words, the label
    the other one with the fewest distinct values (an id column neither), each guess logged;
    named columns win."""
    p = tmp_path / "t.csv"
    p.write_text("id,review,sentiment\n1,a fine film,pos\n2,dull and long,neg\n"
                 "3,fine fine,pos\n")
    data = load_text_csv(p)
    assert data.texts == ["a fine film", "dull and long", "fine fine"]
    assert data.classes == ["neg", "pos"] and list(data.y) == [1, 0, 1]
    assert "text column 'review'" in caplog.text and "label column 'sentiment'" in caplog.text
    p.write_text("Class,words,text\na,x y z w,b\nb,x y z w,c\n")
    data = load_text_csv(p)
    assert data.texts == ["b", "c"] and data.classes == ["a", "b"]


@pytest.mark.parametrize("text, message", [
    ("label,text\npos,good\n,bad\n", r"line 3: empty label"),
    ("label,text\npos,good\nneg,  \n", r"line 3: empty text"),
    ("label,text\n1,good\n1.5,bad\n", r"line 3: label '1.5' is not a whole number"),
])
def test_csv_empty_labels_and_texts(tmp_path, text, message):
    p = tmp_path / "t.csv"
    p.write_text(text)
    with pytest.raises(DataError, match=r"CSV file '.*t\.csv' " + message):
        load_text_csv(p)


def test_csv_bom_crlf_and_a_200000_character_text(tmp_path):
    p = tmp_path / "t.csv"
    long = "word " * 40_000
    p.write_bytes(("\ufefflabel,text\r\npos,\"" + long + "\"\r\nneg,short\r\n").encode())
    ds = load_text_csv(p)
    assert ds.classes == ["neg", "pos"] and len(ds.texts[0]) == 200_000


def test_folder_with_an_empty_text(tmp_path):
    _folder(tmp_path)
    (tmp_path / "neg" / "9_1.txt").write_text(" \n")
    with pytest.raises(DataError, match=r"9_1\.txt' is empty"):
        load_text_folder(tmp_path, classes=["neg", "pos"])
