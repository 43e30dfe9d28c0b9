"""Data a user can get by name: MNIST, UCR/UEA sets and a small sentiment set, cached locally.

The cache folder is ``$RNNKIT_CACHE`` if set, else ``~/.cache/rnnkit``::

    <cache>/mnist/train-images-idx3-ubyte.gz ...     the four MNIST files (sha256-checked)
    <cache>/ucr/ACSF1/ACSF1_TRAIN.ts, _TEST.ts     a UCR/UEA set (from the archive's zip)
    <cache>/sentiment/{amazon_cells,imdb,yelp}_labelled.txt   UCI sentiment sentences

The first use downloads what is missing (each file to a temporary name beside its final
one, checked, then renamed: an interrupted download never leaves a file that looks whole);
later uses read the cache without touching the network. MNIST files are checked against
their sha256 (:data:`MNIST_SHA256`) after every download and when read from the cache. The
archives of the UCR and sentiment sets have no published checksums: the zip must open and
hold the expected files, which are the only members extracted (by their own names, never by
paths taken from the zip).

Offline, or when a server refuses, the error is one line (:class:`~rnnkit.errors.DataError`)
naming the files and the folder to put them in. Tests replace :func:`download_file`
(``monkeypatch.setattr(download, "download_file", fake)``) and never reach the network.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import zipfile
from collections.abc import Sequence
from pathlib import Path

from rnnkit.errors import ConfigError, DataError

log = logging.getLogger(__name__)

#: sha256 of the four MNIST files (gzip-compressed IDX).
MNIST_SHA256 = {
    "train-images-idx3-ubyte.gz":
        "b09d8b89df4ad239afc76a323dbe9559169cd8cca365467dfe8aa1f7ca54109b",
    "train-labels-idx1-ubyte.gz":
        "c51906e7929bbf7c824fbd16019b56297269ca82cba449c5b5d59c0a02147fed",
    "t10k-images-idx3-ubyte.gz":
        "f72c2dff3457595ec2fe452d25d97b7f974a74ad5b006687704212bedd1486d8",
    "t10k-labels-idx1-ubyte.gz":
        "4baf84ddd60ae342cfdd282ec3fba3249a201a4459782165496a7cbebbe49a2e",
}
#: Mirrors of the MNIST files, tried in order.
MNIST_MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/",
                 "https://storage.googleapis.com/cvdf-datasets/mnist/")
#: The UCR/UEA archive's zip of one set (as the aeon toolkit fetches it).
UCR_URL = "https://www.timeseriesclassification.com/aeon-toolkit/{name}.zip"
#: UCI "Sentiment Labelled Sentences" (Kotzias et al. 2015): 3 x 1,000 labelled sentences.
SENTIMENT_URL = ("https://archive.ics.uci.edu/static/public/331/"
                 "sentiment+labelled+sentences.zip")
SENTIMENT_FILES = ("amazon_cells_labelled.txt", "imdb_labelled.txt", "yelp_labelled.txt")
#: Largest archive or file a download may write (bytes).
MAX_DOWNLOAD_BYTES = 512 * 2**20
TIMEOUT_S = 30


def cache_dir() -> Path:
    """``$RNNKIT_CACHE`` or ``~/.cache/rnnkit`` (not created here)."""
    env = os.environ.get("RNNKIT_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "rnnkit"


def download_file(url: str, dest: Path, timeout: float = TIMEOUT_S) -> None:
    """Write the body of ``url`` to ``dest`` (OSError / URLError when it cannot)."""
    import shutil
    import urllib.request

    req = urllib.request.Request(url, headers={"User-Agent": "rnnkit"})
    with urllib.request.urlopen(req, timeout=timeout) as r, open(dest, "wb") as f:
        shutil.copyfileobj(r, f, 2**20)
        if f.tell() > MAX_DOWNLOAD_BYTES:
            raise OSError(f"more than {MAX_DOWNLOAD_BYTES} bytes")


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(2**20), b""):
            h.update(chunk)
    return h.hexdigest()


def _fetch(urls: Sequence[str], dest: Path, check) -> None:
    """Download the first of ``urls`` that works to ``dest`` via a temporary file that
    ``check(tmp)`` accepts (it raises DataError otherwise); the last failure is raised."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.part")
    last: Exception | None = None
    for url in urls:
        try:
            log.warning("downloading %s to %s", url, dest)
            download_file(url, tmp)
            check(tmp)
            os.replace(tmp, dest)
            return
        except (OSError, DataError, zipfile.BadZipFile) as err:  # URLError is an OSError
            last = err
        finally:
            tmp.unlink(missing_ok=True)
    raise last if last is not None else OSError("no URL to try")


def _reason(err: Exception) -> str:
    text = str(getattr(err, "reason", None) or err).splitlines()[0] if str(err) else ""
    return f"{type(err).__name__}: {text}"[:160]


# -- MNIST ------------------------------------------------------------------------------------
def mnist_dir(download: bool = True) -> Path:
    """The cache folder holding the four MNIST files, downloaded there when missing."""
    d = cache_dir() / "mnist"
    for name, digest in MNIST_SHA256.items():
        path = d / name
        if path.is_file():
            if sha256(path) != digest:
                raise DataError(f"{path}: sha256 {sha256(path)[:16]}... is not MNIST's "
                                f"{digest[:16]}...; delete the file to download it again")
            continue
        if not download:
            raise DataError(f"{path} is missing; {_mnist_hint(d)}")

        def check(tmp: Path, digest: str = digest, name: str = name) -> None:
            if sha256(tmp) != digest:
                raise DataError(f"downloaded {name} has the wrong sha256")

        try:
            _fetch([m + name for m in MNIST_MIRRORS], path, check)
        except (OSError, DataError, zipfile.BadZipFile) as err:
            raise DataError(f"could not download MNIST ({_reason(err)}); "
                            f"{_mnist_hint(d)}") from None
    return d


def _mnist_hint(d: Path) -> str:
    return (f"put the four files {', '.join(MNIST_SHA256)} into {d} (or set RNNKIT_CACHE, "
            f"or pass --data mnist:DIR)")


# -- UCR / UEA --------------------------------------------------------------------------------
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")


def ucr_files(name: str, download: bool = True) -> tuple[Path, Path]:
    """``(train .ts, test .ts)`` of the UCR/UEA set ``name`` in the cache, downloaded from
    the archive's zip when missing."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(f"a UCR set name is letters, digits, '_' or '-' (like ACSF1), "
                          f"got {name!r}")
    d = cache_dir() / "ucr" / name
    files = (d / f"{name}_TRAIN.ts", d / f"{name}_TEST.ts")
    if all(f.is_file() for f in files):
        return files
    hint = (f"put {files[0].name} and {files[1].name} into {d} (or set RNNKIT_CACHE, or "
            f"pass the .ts files with --data/--test)")
    if not download:
        raise DataError(f"UCR set {name} is not in the cache; {hint}")
    _download_zip(UCR_URL.format(name=name), d / f"{name}.zip", {f.name: f for f in files},
                  f"UCR set {name}", hint)
    return files


def _download_zip(url: str, archive: Path, targets: dict[str, Path], what: str,
                  hint: str) -> None:
    """Fetch the zip at ``url`` into ``archive`` (checked to hold every base name of
    ``targets`` before it is kept), write those members to their paths, remove the archive;
    any failure is one DataError "could not download <what> (<reason>); <hint>"."""
    try:
        _fetch([url], archive, lambda tmp: _members(tmp, list(targets), archive.name))
        _extract(archive, targets, archive.name)
    except (OSError, DataError, zipfile.BadZipFile) as err:
        raise DataError(f"could not download {what} ({_reason(err)}); {hint}") from None
    finally:
        archive.unlink(missing_ok=True)


def _members(archive: Path, wanted: Sequence[str], what: str) -> dict[str, zipfile.ZipInfo]:
    """The zip members whose base names are ``wanted`` (DataError if one is missing)."""
    with zipfile.ZipFile(archive) as z:
        found = {Path(i.filename).name: i for i in z.infolist() if not i.is_dir()}
    missing = [w for w in wanted if w not in found]
    if missing:
        raise DataError(f"{what} holds no {', '.join(missing)}")
    return {w: found[w] for w in wanted}


def _extract(archive: Path, targets: dict[str, Path], what: str) -> None:
    """Write the members named in ``targets`` (base name -> path) atomically."""
    infos = _members(archive, list(targets), what)
    with zipfile.ZipFile(archive) as z:
        for base, dest in targets.items():
            info = infos[base]
            if info.file_size > MAX_DOWNLOAD_BYTES:
                raise DataError(f"{what}: {base} declares {info.file_size} bytes")
            tmp = dest.with_name(f".{dest.name}.part")
            with z.open(info) as src, open(tmp, "wb") as out:
                out.write(src.read(MAX_DOWNLOAD_BYTES + 1))
            os.replace(tmp, dest)


# -- sentiment ---------------------------------------------------------------------------------
def sentiment_dir(download: bool = True) -> Path:
    """The cache folder of the UCI sentiment sentences (three tab-separated files)."""
    d = cache_dir() / "sentiment"
    targets = {f: d / f for f in SENTIMENT_FILES}
    if all(p.is_file() for p in targets.values()):
        return d
    hint = (f"put {', '.join(SENTIMENT_FILES)} (from the UCI 'Sentiment Labelled Sentences' "
            f"zip) into {d} (or set RNNKIT_CACHE)")
    if not download:
        raise DataError(f"the sentiment set is not in the cache; {hint}")
    _download_zip(SENTIMENT_URL, d / "sentiment.zip", targets, "the sentiment set", hint)
    return d


__all__ = ["MNIST_MIRRORS", "MNIST_SHA256", "SENTIMENT_FILES", "SENTIMENT_URL", "UCR_URL",
           "cache_dir", "download_file", "mnist_dir", "sentiment_dir", "sha256", "ucr_files"]
