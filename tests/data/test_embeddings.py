"""Pretrained word vectors from tiny generated .vec / GloVe files."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit.data.embeddings import read_vectors
from rnnkit.errors import DataError


def test_vec_with_header_keeps_only_the_vocabulary(tmp_path):
    p = tmp_path / "tiny.vec"
    p.write_text("4 3\nthe 0.1 0.2 0.3\nFilm 1 2 3\nfilm 9 9 9\nunused 5 5 5\n")
    table = read_vectors(p, ["<pad>", "<unk>", "the", "film", "rare"])
    assert table.dim == 3
    assert table.found.tolist() == [False, False, True, True, False]
    np.testing.assert_allclose(table.vectors[2], [0.1, 0.2, 0.3], rtol=1e-6)
    np.testing.assert_allclose(table.vectors[3], [9, 9, 9])
    np.testing.assert_array_equal(table.vectors[4], 0)
    lowered = read_vectors(p, ["film"], lower=True)  # "Film" is seen first, lower-cased
    np.testing.assert_allclose(lowered.vectors[0], [1, 2, 3])


def test_glove_without_header(tmp_path):
    p = tmp_path / "glove.txt"
    p.write_text("good 0.5 -0.5\nbad -0.5 0.5\n")
    table = read_vectors(p, ["bad", "good"])
    assert table.dim == 2 and table.found.all()
    np.testing.assert_allclose(table.vectors, [[-0.5, 0.5], [0.5, -0.5]])


@pytest.mark.parametrize(("text", "match"), [
    ("a 1 2\nb 1\n", r"line 2: 1 numbers, expected 2 like the first vector"),
    ("a 1 x\n", r"line 1: the values of 'a' are not all numbers"),
    ("a 1 nan\n", r"line 1: the vector of 'a' is not finite"),
    ("", r"holds no vector"),
    ("zzz 1 2\n", r"none of the 1 vocabulary tokens has a vector"),
])
def test_bad_files(tmp_path, text, match):
    p = tmp_path / "bad.vec"
    p.write_text(text)
    with pytest.raises(DataError, match=match):
        read_vectors(p, ["a"])
    with pytest.raises(DataError, match="file not found"):
        read_vectors(tmp_path / "missing.vec", ["a"])
