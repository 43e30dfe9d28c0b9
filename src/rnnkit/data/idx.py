"""IDX files (the MNIST format), raw or gzip-compressed.

Layout (big-endian): two zero bytes, one type byte, one byte giving the number of dimensions
``n``, then ``n`` uint32 sizes, then ``prod(sizes)`` items of the type::

    type 0x08 uint8 | 0x09 int8 | 0x0B int16 | 0x0C int32 | 0x0D float32 | 0x0E float64

:func:`load_idx` checks the magic number, the dimension count, that the declared size is under
:data:`MAX_IDX_BYTES` (before anything is allocated) and that the data are exactly as long as
the header says; :func:`load_mnist` also checks that images and labels agree in
number and that labels are digits. Every failure is a one-line :class:`DataError` naming the
file.
"""

from __future__ import annotations

import gzip
import io
import math
import os
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from rnnkit.data.checks import open_regular, quote
from rnnkit.errors import ConfigError, DataError

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


#: Largest IDX data section a file may declare (bytes): refused before anything is allocated.
MAX_IDX_BYTES = 4 * 2**30

_GZIP_ERRORS = (OSError, EOFError, zlib.error)


def _header(read: Callable[[int], bytes], name: str) -> tuple[np.dtype, tuple[int, ...], int]:
    """Read and check the magic number and the sizes -> ``(dtype, shape, header bytes)``."""
    magic = read(4)
    if len(magic) < 4:
        raise DataError(f"IDX file {name!r} is too short for a header: {len(magic)} bytes")
    zero0, zero1, code, ndim = magic
    if zero0 != 0 or zero1 != 0 or code not in IDX_TYPES:
        raise DataError(
            f"IDX file {name!r} has a bad magic number 0x{magic.hex()}: expected "
            f"0x0000TTNN with type TT in {{08, 09, 0b, 0c, 0d, 0e}}"
        )
    if ndim == 0:
        raise DataError(f"IDX file {name!r} declares 0 dimensions")
    size = 4 + 4 * ndim
    sizes = read(4 * ndim)
    if len(sizes) < 4 * ndim:
        raise DataError(
            f"IDX file {name!r} is truncated in its header: {ndim} dimensions need "
            f"{size} bytes, got {4 + len(sizes)}"
        )
    shape = struct.unpack(f">{ndim}I", sizes)
    dtype = IDX_TYPES[code]
    nbytes = math.prod(shape) * dtype.itemsize  # Python ints: no overflow
    if nbytes > MAX_IDX_BYTES:
        raise DataError(f"IDX file {name!r} declares shape {quote(shape)}: {nbytes} data "
                        f"bytes, more than the limit of {MAX_IDX_BYTES}")
    return dtype, shape, size


def _check_length(name: str, shape: tuple[int, ...], expected: int, got: int,
                  exact: bool = True) -> None:
    if got < expected:
        raise DataError(f"IDX file {name!r} is truncated: shape {quote(shape)} needs "
                        f"{expected} data bytes, got {got}")
    if got > expected:
        extra = f"{got - expected} bytes" if exact else "bytes"
        raise DataError(f"IDX file {name!r} has {extra} beyond the {expected} that shape "
                        f"{quote(shape)} declares")


def _array(data: bytes, dtype: np.dtype, shape: tuple[int, ...]) -> np.ndarray:
    return np.frombuffer(data, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))


def parse_idx(raw: bytes, name: str = "<bytes>") -> np.ndarray:
    """Parse the bytes of an IDX file into an array in native byte order."""
    dtype, shape, header = _header(io.BytesIO(raw).read, name)
    expected = math.prod(shape) * dtype.itemsize
    _check_length(name, shape, expected, len(raw) - header)
    return _array(raw[header:], dtype, shape)


def load_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (raw or gzip) into a NumPy array of the declared shape and type.

    The header is checked before the data are read: a shape larger than
    :data:`MAX_IDX_BYTES`, or one the file is too short or too long for, is a DataError
    naming the file; so is a corrupt gzip stream or a path that is not a regular file.
    """
    name = str(path)
    with open_regular(path, "IDX file") as f:
        size = os.fstat(f.fileno()).st_size
        try:
            if f.peek(2)[:2] != b"\x1f\x8b":  # not gzip: sizes known from the file's length
                dtype, shape, header = _header(f.read, name)
                expected = math.prod(shape) * dtype.itemsize
                _check_length(name, shape, expected, size - header)
                return _array(f.read(expected), dtype, shape)
            with gzip.GzipFile(fileobj=f, mode="rb") as z:
                try:
                    dtype, shape, _ = _header(z.read, name)
                    expected = math.prod(shape) * dtype.itemsize
                    data = z.read(expected)
                    _check_length(name, shape, expected, len(data))
                    _check_length(name, shape, expected, expected + len(z.read(1)),
                                  exact=False)
                except _GZIP_ERRORS as exc:
                    raise DataError(f"IDX file {name!r} is a corrupt gzip stream: "
                                    f"{quote(str(exc))}") from None
                return _array(data, dtype, shape)
        except OSError as exc:
            raise DataError(f"IDX file {name!r} cannot be read: {exc.strerror or exc}"
                            ) from None


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


def load_mnist(directory: str | os.PathLike | None = None,
               split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Images ``(N, 28, 28)`` uint8 and labels ``(N,)`` int64 of one MNIST split.

    ``directory=None`` reads the cache folder, downloading the four files there with
    checksums on first use (:func:`rnnkit.data.download.mnist_dir`; offline, a DataError
    says where to put them). ``split`` is ``"train"`` (60,000) or ``"test"`` (10,000).
    Files are looked up by their usual names, with or without ``.gz``. No images, images of
    size 0, labels that are not whole numbers in 0..9 (never truncated) or counts that
    differ are DataErrors.
    """
    if split not in MNIST_FILES:
        raise ConfigError(f"split must be 'train' or 'test', got {split!r}")
    if directory is None:
        from rnnkit.data.download import mnist_dir

        directory = mnist_dir()
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
    if len(images) == 0 or images.shape[1] == 0 or images.shape[2] == 0:
        raise DataError(f"IDX file {str(img_path)!r} holds no images: shape "
                        f"{images.shape}")
    if labels.dtype.kind == "f":
        whole = np.isfinite(labels) & (labels == np.round(labels))
        if not whole.all():
            i = int(np.argmin(whole))
            raise DataError(f"IDX file {str(lab_path)!r} label {i}: {quote(float(labels[i]))} "
                            f"is not a whole number (MNIST labels are digits 0..9)")
    if labels.min() < 0 or labels.max() > 9:
        raise DataError(f"IDX file {str(lab_path)!r} has labels outside 0..9 "
                        f"(min {labels.min()}, max {labels.max()})")
    return images, labels.astype(np.int64)


__all__ = ["IDX_TYPES", "MNIST_FILES", "load_idx", "load_mnist", "parse_idx", "write_idx"]
