"""Pretrained word vectors from a local file in the common text format (GloVe, fastText .vec).

One word per line followed by its d numbers, separated by spaces; fastText's ``.vec`` files
start with a header line ``<count> <d>``, GloVe's do not (both are accepted)::

    2 3
    the 0.418 0.24968 -0.41242
    film 0.013441 0.23682 -0.16899

:func:`read_vectors` keeps only the words of a given vocabulary (a 2 GB file then needs
memory for the vocabulary alone) and returns a :class:`WordVectors` table aligned with it.
A word is looked up as written, then lower-cased when ``lower`` (the first spelling found in
the file wins). Files are never downloaded: the path is one the user gives.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rnnkit.data.checks import open_regular, quote
from rnnkit.errors import DataError


@dataclass
class WordVectors:
    """``vectors`` (V, d) float32 aligned with the vocabulary; ``found`` (V,) bool marks the
    rows read from the file (the others are zeros)."""

    vectors: np.ndarray
    found: np.ndarray

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])


def read_vectors(path: str | os.PathLike, vocabulary: Sequence[str], lower: bool = False,
                 encoding: str = "utf-8") -> WordVectors:
    """Vectors of ``vocabulary``'s words from the text-format file ``path``.

    A line whose number of values differs from the first vector's, or holds a value that is
    not a finite number, is a DataError naming the file and the line; so is a file with no
    vector, or none for any vocabulary word (the wrong file, or a tokeniser that does not
    match it).
    """
    where = f"vectors file {str(path)!r}"
    index: dict[str, int] = {}
    for i, tok in enumerate(vocabulary):
        index.setdefault(tok, i)
    V = len(vocabulary)
    vectors: np.ndarray | None = None
    found = np.zeros(V, dtype=bool)
    dim = None
    with open_regular(path, "vectors file") as f:
        for n, raw in enumerate(f, start=1):
            try:
                line = raw.decode(encoding).rstrip("\r\n")
            except UnicodeDecodeError:
                raise DataError(f"{where} line {n} is not valid {encoding}") from None
            if n == 1 and line.lstrip("\ufeff").count(" ") == 1 and all(
                    p.isdigit() for p in line.lstrip("\ufeff").split()):
                continue  # fastText header "<count> <d>"
            parts = line.rstrip(" ").split(" ")
            if len(parts) < 2:
                if not line.strip():
                    continue
                raise DataError(f"{where} line {n}: expected a word and its numbers, got "
                                f"{quote(line[:60])}")
            word, values = parts[0], parts[1:]
            if dim is None:
                dim = len(values)
                vectors = np.zeros((V, dim), dtype=np.float32)
            elif len(values) != dim:
                raise DataError(f"{where} line {n}: {len(values)} numbers, expected {dim} like "
                                f"the first vector")
            i = index.get(word)
            if i is None and lower:
                i = index.get(word.lower())
            if i is None or found[i]:
                continue
            try:
                vec = np.asarray(values, dtype=np.float32)
            except ValueError:
                raise DataError(f"{where} line {n}: the values of {quote(word)} are not all "
                                f"numbers") from None
            if not np.isfinite(vec).all():
                raise DataError(f"{where} line {n}: the vector of {quote(word)} is not finite")
            vectors[i] = vec
            found[i] = True
    if vectors is None:
        raise DataError(f"{where} holds no vector")
    if not found.any():
        raise DataError(f"{where}: none of the {V} vocabulary tokens has a vector (is it the "
                        f"right file for this text and tokeniser?)")
    return WordVectors(vectors, found)


__all__ = ["WordVectors", "read_vectors"]
