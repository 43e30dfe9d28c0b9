"""IDX loader on tiny generated files and on corrupt ones; real MNIST when present."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from rnnkit.data.idx import load_idx, load_mnist, write_idx
from rnnkit.errors import DataError
from tests.conftest import SHARED_DATA


def _header(code, shape):
    return bytes([0, 0, code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape)


def test_load_raw_handwritten_bytes(tmp_path):
    p = tmp_path / "x-idx3-ubyte"
    p.write_bytes(_header(0x08, (2, 2, 3)) + bytes(range(12)))
    a = load_idx(p)
    assert a.dtype == np.uint8 and a.shape == (2, 2, 3)
    np.testing.assert_array_equal(a.ravel(), np.arange(12))


def test_load_gzip_int32_big_endian(tmp_path):
    p = tmp_path / "y.gz"
    p.write_bytes(gzip.compress(_header(0x0C, (3,)) + struct.pack(">3i", 1, -2, 70000)))
    np.testing.assert_array_equal(load_idx(p), [1, -2, 70000])


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.float32, np.float64])
def test_write_read_roundtrip(tmp_path, rng, dtype):
    a = (rng.random((4, 3)) * 100).astype(dtype)
    write_idx(tmp_path / "a.gz", a)
    b = load_idx(tmp_path / "a.gz")
    assert b.dtype == a.dtype
    np.testing.assert_array_equal(a, b)


def test_bad_magic(tmp_path):
    p = tmp_path / "bad"
    p.write_bytes(b"\x01\x00\x08\x01" + struct.pack(">I", 1) + b"\x00")
    with pytest.raises(DataError, match=r"bad.*bad magic number 0x01000801"):
        load_idx(p)


def test_bad_type_code(tmp_path):
    p = tmp_path / "bad"
    p.write_bytes(b"\x00\x00\x07\x01" + struct.pack(">I", 1) + b"\x00")
    with pytest.raises(DataError, match="bad magic number 0x00000701"):
        load_idx(p)


def test_truncated_data(tmp_path):
    p = tmp_path / "t"
    p.write_bytes(_header(0x08, (2, 5)) + bytes(7))
    with pytest.raises(DataError, match=r"truncated: shape \(2, 5\) needs 10 data bytes, got 7"):
        load_idx(p)


def test_truncated_header(tmp_path):
    p = tmp_path / "t"
    p.write_bytes(b"\x00\x00\x08\x03" + bytes(5))
    with pytest.raises(DataError, match="truncated in its header: 3 dimensions need 16 bytes"):
        load_idx(p)


def test_extra_bytes(tmp_path):
    p = tmp_path / "t"
    p.write_bytes(_header(0x08, (2,)) + bytes(3))
    with pytest.raises(DataError, match="1 bytes beyond the 2"):
        load_idx(p)


def test_corrupt_gzip(tmp_path):
    p = tmp_path / "c.gz"
    p.write_bytes(gzip.compress(_header(0x08, (4,)) + bytes(4))[:-6])
    with pytest.raises(DataError, match="corrupt gzip stream"):
        load_idx(p)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="none': file not found"):
        load_idx(tmp_path / "none")


def _mnist_dir(tmp_path, n_img=5, n_lab=5, labels=None):
    rng = np.random.default_rng(1)
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz",
              rng.integers(0, 256, (n_img, 28, 28)).astype(np.uint8))
    lab = np.arange(n_lab, dtype=np.uint8) % 10 if labels is None else labels
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", lab)
    return tmp_path


def test_load_mnist_tiny(tmp_path):
    x, y = load_mnist(_mnist_dir(tmp_path), "test")
    assert x.shape == (5, 28, 28) and x.dtype == np.uint8
    np.testing.assert_array_equal(y, [0, 1, 2, 3, 4])
    assert y.dtype == np.int64


def test_load_mnist_wrong_counts(tmp_path):
    with pytest.raises(DataError, match=r"MNIST test counts differ: 5 images .* but 4 labels"):
        load_mnist(_mnist_dir(tmp_path, n_lab=4), "test")


def test_load_mnist_bad_labels(tmp_path):
    d = _mnist_dir(tmp_path, labels=np.array([0, 1, 2, 3, 12], dtype=np.uint8))
    with pytest.raises(DataError, match=r"labels outside 0\.\.9"):
        load_mnist(d, "test")


def test_load_mnist_missing_files(tmp_path):
    with pytest.raises(DataError, match=r"has no train-images-idx3-ubyte\.gz or"):
        load_mnist(tmp_path, "train")
    with pytest.raises(ValueError, match="split must be 'train' or 'test', got 'dev'"):
        load_mnist(tmp_path, "dev")


@pytest.mark.skipif(not (SHARED_DATA / "mnist").is_dir(), reason="real MNIST not present")
def test_real_mnist_test_split():
    x, y = load_mnist(SHARED_DATA / "mnist", "test")
    assert x.shape == (10000, 28, 28)
    assert np.bincount(y).tolist()[:2] == [980, 1135]


def test_huge_declared_size_is_refused_before_reading(tmp_path):
    p = tmp_path / "huge-idx3-ubyte"
    p.write_bytes(_header(0x08, (10**6, 10**3, 10**3)) + bytes(16))  # 10**12 bytes declared
    with pytest.raises(DataError, match=r"declares shape \(1000000, 1000, 1000\): "
                       r"1000000000000 data bytes, more than the limit"):
        load_idx(p)
    g = tmp_path / "huge.gz"  # a gzip stream is never inflated past its header
    g.write_bytes(gzip.compress(_header(0x0E, (2**31, 2**31)) + bytes(64)))
    with pytest.raises(DataError, match=r"huge\.gz' declares shape"):
        load_idx(g)


def test_gzip_with_extra_or_missing_data(tmp_path):
    g = tmp_path / "x.gz"
    g.write_bytes(gzip.compress(_header(0x08, (4,)) + bytes(5)))
    with pytest.raises(DataError, match=r"x\.gz' has bytes beyond the 4 that shape \(4,\)"):
        load_idx(g)
    g.write_bytes(gzip.compress(_header(0x08, (4,)) + bytes(3)))
    with pytest.raises(DataError, match=r"x\.gz' is truncated: shape \(4,\) needs 4 data "
                       r"bytes, got 3"):
        load_idx(g)


def test_fifo_is_refused(tmp_path):
    import os

    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(DataError, match=r"pipe' is a named pipe \(FIFO\)"):
        load_idx(tmp_path / "pipe")


def test_mnist_with_no_images(tmp_path):
    d = _mnist_dir(tmp_path, n_img=0, n_lab=0, labels=np.zeros(0, dtype=np.uint8))
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte\.gz' holds no images: shape "
                       r"\(0, 28, 28\)"):
        load_mnist(d, "test")


def test_mnist_float_labels_are_never_truncated(tmp_path):
    d = _mnist_dir(tmp_path, labels=np.array([0, 1, 2, 3, 4], dtype=np.float32))
    np.testing.assert_array_equal(load_mnist(d, "test")[1], [0, 1, 2, 3, 4])
    write_idx(d / "t10k-labels-idx1-ubyte", np.array([0, 1, 1.5, 3, 4], dtype=np.float64))
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte' label 2: 1\.5 is not a whole "
                       r"number"):
        load_mnist(d, "test")
