"""Corpus loading, tokenisation and the vocabulary: exact values, errors pinned."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rnnkit.data.text import Vocabulary, detokenize, load_corpus, tokenize
from rnnkit.errors import DataError


def test_default_corpus_is_pydoc_topics():
    from pydoc_data import topics

    text = load_corpus()
    assert text == "\n\n".join(topics.topics.values())
    assert len(text) > 100_000


def test_load_corpus_reads_file_with_encoding(tmp_path):
    p = tmp_path / "a.txt"
    p.write_bytes("café au lait".encode("latin-1"))
    assert load_corpus(p, encoding="latin-1") == "café au lait"
    q = tmp_path / "b.txt"
    q.write_text("naïve\nline", encoding="utf-8")
    assert load_corpus(str(q)) == "naïve\nline"


def test_load_corpus_missing_file(tmp_path):
    with pytest.raises(DataError, match=r"text file .*nope\.txt': file not found"):
        load_corpus(tmp_path / "nope.txt")


def test_load_corpus_directory(tmp_path):
    with pytest.raises(DataError, match="is a directory, expected a regular file"):
        load_corpus(tmp_path)


def test_load_corpus_undecodable_names_offset(tmp_path):
    p = tmp_path / "bad.txt"
    p.write_bytes(b"hello \xff world")
    msg = r"bad\.txt.*not valid utf-8.*0xff at byte offset 6.*--encoding"
    with pytest.raises(DataError, match=msg):
        load_corpus(p)


def test_load_corpus_unknown_encoding(tmp_path):
    p = tmp_path / "a.txt"
    p.write_text("x")
    with pytest.raises(DataError, match="encoding must be a known codec name, got 'nope'"):
        load_corpus(p, encoding="nope")


def test_tokenize_word_and_char():
    assert tokenize("Don't STOP, now.") == ["don", "'", "t", "stop", ",", "now", "."]
    assert tokenize("Ab c", lower=False) == ["Ab", "c"]
    assert tokenize("Ab c", level="char") == ["a", "b", " ", "c"]
    assert tokenize("Ab", level="char", lower=False) == ["A", "b"]
    assert tokenize("") == []


def test_tokenize_bad_arguments():
    with pytest.raises(ValueError, match=r"level must be one of \('word', 'char'\), got 'byte'"):
        tokenize("x", level="byte")
    with pytest.raises(TypeError, match="text must be a str, got list"):
        tokenize(["x"])


def test_detokenize():
    assert detokenize(["hello", ",", "world", "."]) == "hello, world."
    assert detokenize(list("ab c"), level="char") == "ab c"


def test_vocabulary_build_order_and_specials():
    toks = "b a c a b d a".split()
    v = Vocabulary.build(toks)
    # a:3, b:2 (first seen before c and d), c:1, d:1 (ties by first appearance)
    assert v.id_to_token == ["<pad>", "<unk>", "a", "b", "c", "d"]
    assert v.token_to_id["<pad>"] == 0 and v.token_to_id["<unk>"] == 1
    assert len(v) == 6
    assert v.pad_id == 0 and v.unk_id == 1


def test_vocabulary_build_from_token_lists_max_size_min_freq():
    docs = [["x", "y"], ["y", "z", "y"], ["x", "w"]]
    v = Vocabulary.build(docs)
    assert v.id_to_token == ["<pad>", "<unk>", "y", "x", "z", "w"]
    assert Vocabulary.build(docs, min_freq=2).id_to_token == ["<pad>", "<unk>", "y", "x"]
    assert Vocabulary.build(docs, max_size=3).id_to_token == ["<pad>", "<unk>", "y"]
    assert Vocabulary.build(docs, specials=()).id_to_token == ["y", "x", "z", "w"]


def test_vocabulary_specials_in_text_are_not_duplicated():
    v = Vocabulary.build(["<unk>", "a", "<unk>"])
    assert v.id_to_token == ["<pad>", "<unk>", "a"]


def test_vocabulary_build_bad_arguments():
    msg = r"max_size must be None or an int >= the number of specials \(2\), got 1"
    with pytest.raises(ValueError, match=msg):
        Vocabulary.build(["a"], max_size=1)
    with pytest.raises(ValueError, match="min_freq must be a positive int, got 0"):
        Vocabulary.build(["a"], min_freq=0)


def test_encode_decode():
    v = Vocabulary.build(["a", "b", "a"])
    ids = v.encode(["a", "b", "zzz", "<pad>"])
    assert ids.dtype == np.int64
    np.testing.assert_array_equal(ids, [2, 3, 1, 0])
    assert v.decode(ids) == ["a", "b", "<unk>", "<pad>"]
    assert v.decode([3, 2]) == ["b", "a"]
    assert v.encode([]).shape == (0,)
    with pytest.raises(ValueError, match=r"ids must be in \[0, 4\), got 4"):
        v.decode([4])


def test_encode_without_unk_raises():
    v = Vocabulary.build(["a"], specials=("<pad>",))
    with pytest.raises(ValueError, match="token 'b' is not in the vocabulary"):
        v.encode(["b"])


def test_to_dict_from_dict_json_roundtrip():
    v = Vocabulary.build(tokenize("the cat sat on the mat."))
    d = json.loads(json.dumps(v.to_dict()))
    w = Vocabulary.from_dict(d)
    assert w == v
    assert w.token_to_id == v.token_to_id
    with pytest.raises(DataError, match="vocabulary dict must have a 'tokens' list"):
        Vocabulary.from_dict({"words": []})
    with pytest.raises(DataError, match=r"vocabulary tokens must be strings, got 7"):
        Vocabulary.from_dict({"tokens": ["<pad>", 7]})
    with pytest.raises(DataError, match=r"vocabulary tokens must be unique, got 'a' twice"):
        Vocabulary.from_dict({"tokens": ["a", "a"]})


def test_vocabulary_rejects_duplicates():
    with pytest.raises(ValueError, match="vocabulary tokens must be unique, got 'a' twice"):
        Vocabulary(["a", "a"])


def test_load_corpus_empty_fifo_and_bom(tmp_path):
    import os

    p = tmp_path / "e.txt"
    p.write_text("  \n\n")
    with pytest.raises(DataError, match=r"e\.txt' is empty \(only whitespace\)"):
        load_corpus(p)
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(DataError, match=r"pipe' is a named pipe \(FIFO\)"):
        load_corpus(tmp_path / "pipe")
    p.write_bytes(b"\xef\xbb\xbfhello\r\nworld")
    assert load_corpus(p) == "hello\r\nworld"
