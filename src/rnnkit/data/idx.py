"""IDX files (the MNIST format), raw or gzip-compressed.

Layout (big-endian): two zero bytes, one type byte, one byte giving the number of dimensions
``n``, then ``n`` uint32 sizes, then ``prod(sizes)`` items of the type::

    type 0x08 uint8 | 0x09 int8 | 0x0B int16 | 0x0C int32 | 0x0D float32 | 0x0E float64

:func:`load_idx` checks the magic number, the dimension count and that the data are exactly
as long as the header says; :func:`load_mnist` also checks that images and labels agree in
number and that labels are digits. Every failure is a one-line :class:`DataError` naming the
file.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from rnnkit.errors import DataError

#: IDX type byte -> big-endian NumPy dtype.
IDX_TYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dt.newbyteorder("="): code for code, dt in IDX_TYPES.items()}

#: MNIST file names for each split (the ``.gz`` form or the raw form is accepted).
MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def _read_bytes(path: Path) -> bytes:
    if not path.exists():
        raise DataError(f"IDX file {str(path)!r} does not exist")
    if not path.is_file():
        raise DataError(f"IDX file {str(path)!r} is not a regular file")
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":  # gzip magic
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataError(f"IDX file {str(path)!r} is a corrupt gzip stream: {exc}") from exc
    return raw


def parse_idx(raw: bytes, name: str = "<bytes>") -> np.ndarray:
    """Parse the bytes of an IDX file into an array in native byte order."""
    if len(raw) < 4:
        raise DataError(f"IDX file {name!r} is too short for a header: {len(raw)} bytes")
    zero0, zero1, code, ndim = raw[0], raw[1], raw[2], raw[3]
    if zero0 != 0 or zero1 != 0 or code not in IDX_TYPES:
        raise DataError(
            f"IDX file {name!r} has a bad magic number 0x{raw[:4].hex()}: expected "
            f"0x0000TTNN with type TT in {{08, 09, 0b, 0c, 0d, 0e}}"
        )
    if ndim == 0:
        raise DataError(f"IDX file {name!r} declares 0 dimensions")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(
            f"IDX file {name!r} is truncated in its header: {ndim} dimensions need "
            f"{header} bytes, got {len(raw)}"
        )
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = IDX_TYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    got = len(raw) - header
    if got < expected:
        raise DataError(
            f"IDX file {name!r} is truncated: shape {tuple(shape)} needs {expected} data "
            f"bytes, got {got}"
        )
    if got > expected:
        raise DataError(
            f"IDX file {name!r} has {got - expected} bytes beyond the {expected} that shape "
            f"{tuple(shape)} declares"
        )
    arr = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return arr.astype(dtype.newbyteorder("="))


def load_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (raw or gzip) into a NumPy array of the declared shape and type."""
    p = Path(path)
    return parse_idx(_read_bytes(p), str(p))


def write_idx(path: str | os.PathLike, array: np.ndarray, compress: bool | None = None) -> None:
    """Write ``array`` as an IDX file; gzip-compressed when ``compress`` or the name ends .gz."""
    a = np.asarray(array)
    code = _CODES.get(a.dtype)
    if code is None:
        raise TypeError(f"array dtype must be one of uint8, int8, int16, int32, float32, "
                        f"float64, got {a.dtype}")
    if a.ndim == 0 or a.ndim > 255:
        raise ValueError(f"array must have 1 to 255 dimensions, got {a.ndim}")
    raw = bytes([0, 0, code, a.ndim]) + struct.pack(f">{a.ndim}I", *a.shape)
    raw += a.astype(IDX_TYPES[code]).tobytes()
    p = Path(path)
    if compress is None:
        compress = p.suffix == ".gz"
    if compress:
        raw = gzip.compress(raw)
    from rnnkit.fileio import atomic_path

    with atomic_path(p) as tmp:
        tmp.write_bytes(raw)


def _find(directory: Path, stem: str) -> Path:
    for cand in (directory / f"{stem}.gz", directory / stem):
        if cand.exists():
            return cand
    raise DataError(f"MNIST folder {str(directory)!r} has no {stem}.gz or {stem}")


def load_mnist(directory: str | os.PathLike, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Images ``(N, 28, 28)`` uint8 and labels ``(N,)`` int64 of one MNIST split.

    ``split`` is ``"train"`` (60,000) or ``"test"`` (10,000). Files are looked up by their
    usual names, with or without ``.gz``.
    """
    if split not in MNIST_FILES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    d = Path(directory)
    if not d.is_dir():
        raise DataError(f"MNIST folder {str(d)!r} does not exist or is not a folder")
    img_path, lab_path = (_find(d, stem) for stem in MNIST_FILES[split])
    images = load_idx(img_path)
    labels = load_idx(lab_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise DataError(f"IDX file {str(img_path)!r} must hold uint8 images (N, rows, cols), "
                        f"got {images.dtype} with shape {images.shape}")
    if labels.ndim != 1:
        raise DataError(f"IDX file {str(lab_path)!r} must hold labels (N,), got shape "
                        f"{labels.shape}")
    if len(images) != len(labels):
        raise DataError(f"MNIST {split} counts differ: {len(images)} images in "
                        f"{str(img_path)!r} but {len(labels)} labels in {str(lab_path)!r}")
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise DataError(f"IDX file {str(lab_path)!r} has labels outside 0..9 "
                        f"(min {labels.min()}, max {labels.max()})")
    return images, labels.astype(np.int64)


__all__ = ["IDX_TYPES", "MNIST_FILES", "load_idx", "load_mnist", "parse_idx", "write_idx"]
