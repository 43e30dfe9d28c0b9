"""Data by name: cache folder, checksums, zips, one-line errors offline (never the network)."""

from __future__ import annotations

import hashlib
import shutil
import urllib.error
import zipfile

import numpy as np
import pytest

from rnnkit.data import download, load_mnist, load_sentiment, load_ucr
from rnnkit.data.idx import write_idx
from rnnkit.errors import ConfigError, DataError

TS = """@problemName {name}
@univariate true
@equalLength true
@seriesLength 4
@classLabel true a b
@data
1,2,3,4:a
4,3,2,1:b
"""


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty cache folder and a downloader that fails like an offline machine."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("RNNKIT_CACHE", str(folder))
    calls = []

    def offline(url, dest, timeout=None):
        calls.append(url)
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(download, "download_file", offline)
    return folder, calls


def _serve(monkeypatch, files: dict[str, bytes], calls: list):
    """A downloader that answers URLs ending in a known name with its bytes."""
    def fake(url, dest, timeout=None):
        calls.append(url)
        for name, data in files.items():
            if url.endswith(name):
                dest.write_bytes(data)
                return
        raise urllib.error.HTTPError(url, 404, "Not Found", None, None)

    monkeypatch.setattr(download, "download_file", fake)


def _tiny_mnist(tmp_path, monkeypatch) -> dict[str, bytes]:
    """Four tiny MNIST-format files; their digests replace MNIST's for the test."""
    rng = np.random.default_rng(0)
    src = tmp_path / "src"
    for split, n in (("train", 6), ("t10k", 3)):
        write_idx(src / f"{split}-images-idx3-ubyte.gz",
                  rng.integers(0, 256, (n, 28, 28)).astype(np.uint8))
        write_idx(src / f"{split}-labels-idx1-ubyte.gz", (np.arange(n) % 10).astype(np.uint8))
    files = {p.name: p.read_bytes() for p in src.iterdir()}
    digests = {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
    monkeypatch.setattr(download, "MNIST_SHA256", digests)
    return files


def test_cache_dir_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("RNNKIT_CACHE", str(tmp_path / "c"))
    assert download.cache_dir() == tmp_path / "c"
    monkeypatch.delenv("RNNKIT_CACHE")
    assert download.cache_dir().parts[-2:] == (".cache", "rnnkit")


def test_real_mnist_checksums_are_the_published_ones():
    assert download.MNIST_SHA256["t10k-labels-idx1-ubyte.gz"].startswith("4baf84ddd60a")
    assert len(download.MNIST_SHA256) == 4


def test_mnist_offline_is_one_line_naming_the_folder(cache):
    folder, calls = cache
    with pytest.raises(DataError) as info:
        load_mnist()
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith("could not download MNIST (URLError")
    assert f"into {folder / 'mnist'}" in msg and "t10k-labels-idx1-ubyte.gz" in msg
    assert len(calls) == len(download.MNIST_MIRRORS)  # every mirror tried once
    assert not list((folder / "mnist").glob("*"))  # nothing half-written


def test_mnist_downloads_once_then_reads_the_cache(cache, tmp_path, monkeypatch):
    folder, calls = cache
    files = _tiny_mnist(tmp_path, monkeypatch)
    _serve(monkeypatch, files, calls)
    x, y = load_mnist()
    assert x.shape == (6, 28, 28) and y.tolist() == [0, 1, 2, 3, 4, 5]
    assert len(calls) == 4
    xt, _ = load_mnist(split="test")
    assert xt.shape == (3, 28, 28) and len(calls) == 4  # read from the cache
    assert sorted(p.name for p in (folder / "mnist").iterdir()) == sorted(files)


def test_mnist_bad_checksum_is_refused(cache, tmp_path, monkeypatch):
    folder, calls = cache
    files = _tiny_mnist(tmp_path, monkeypatch)
    bad = dict(files)
    bad["train-labels-idx1-ubyte.gz"] = b"not the file"
    _serve(monkeypatch, bad, calls)
    with pytest.raises(DataError, match="wrong sha256"):
        load_mnist()
    assert not (folder / "mnist" / "train-labels-idx1-ubyte.gz").exists()
    # a corrupted file in the cache is named, not read
    _serve(monkeypatch, files, calls)
    download.mnist_dir()
    (folder / "mnist" / "train-images-idx3-ubyte.gz").write_bytes(b"junk")
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte.gz: sha256 .* is not "
                                        r"MNIST's .* delete the file"):
        download.mnist_dir()


def _zip(path, members: dict[str, str]):
    with zipfile.ZipFile(path, "w") as z:
        for name, text in members.items():
            z.writestr(name, text)
    return path.read_bytes()


def test_ucr_by_name_from_the_archive_zip(cache, tmp_path, monkeypatch):
    folder, calls = cache
    data = _zip(tmp_path / "Toy.zip", {"Toy/Toy_TRAIN.ts": TS.format(name="Toy"),
                                       "Toy/Toy_TEST.ts": TS.format(name="Toy"),
                                       "../../evil.txt": "x"})
    _serve(monkeypatch, {"Toy.zip": data}, calls)
    train, test = load_ucr("Toy")
    assert len(train) == 2 and test.classes == ["a", "b"]
    assert calls == [download.UCR_URL.format(name="Toy")]
    assert sorted(p.name for p in (folder / "ucr" / "Toy").iterdir()) == ["Toy_TEST.ts",
                                                                         "Toy_TRAIN.ts"]
    assert not (tmp_path / "evil.txt").exists() and not (folder / "evil.txt").exists()
    load_ucr("Toy")
    assert len(calls) == 1  # cached


def test_ucr_zip_without_the_files_and_offline(cache, tmp_path, monkeypatch):
    folder, calls = cache
    with pytest.raises(DataError, match=r"^could not download UCR set Toy \(URLError.*put "
                                        r"Toy_TRAIN.ts and Toy_TEST.ts into "):
        load_ucr("Toy")
    data = _zip(tmp_path / "Toy.zip", {"Toy/Toy_TRAIN.ts": TS.format(name="Toy")})
    _serve(monkeypatch, {"Toy.zip": data}, calls)
    with pytest.raises(DataError, match=r"Toy\.zip holds no Toy_TEST\.ts"):
        load_ucr("Toy")
    _serve(monkeypatch, {"Toy.zip": b"this is not a zip"}, calls)
    with pytest.raises(DataError, match="BadZipFile"):
        load_ucr("Toy")
    assert not list((folder / "ucr" / "Toy").iterdir())
    with pytest.raises(ConfigError, match="a UCR set name is letters"):
        load_ucr("../etc")


def test_sentiment_set(cache, tmp_path, monkeypatch):
    folder, calls = cache
    with pytest.raises(DataError, match="could not download the sentiment set"):
        load_sentiment()
    members = {f"sentiment labelled sentences/{name}": "Great phone!\t1\nAwful.\t0\n"
               for name in download.SENTIMENT_FILES}
    _serve(monkeypatch, {"sentences.zip": _zip(tmp_path / "s.zip", members)}, calls)
    data = load_sentiment()
    assert len(data) == 6 and data.classes == ["neg", "pos"] and data.y.tolist()[:2] == [1, 0]
    shutil.copy(folder / "sentiment" / "imdb_labelled.txt", tmp_path / "x.txt")
    (folder / "sentiment" / "imdb_labelled.txt").write_text("no tab here\n")
    with pytest.raises(DataError, match=r"imdb_labelled.txt' line 1: expected "
                                        r"'sentence<TAB>0\|1'"):
        load_sentiment()
