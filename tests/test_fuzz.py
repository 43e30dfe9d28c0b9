"""Fuzz: hundreds of generated bad inputs through the ``rnnkit`` commands, in-process.

A seeded generator (:data:`SEED`, no hypothesis) makes every case: corrupt, truncated,
empty, binary and huge-header files; non-finite and float32-overflowing values; empty
fields, labels and texts; wrong JSON types, unknown keys, deep nesting; corrupt safetensors;
named pipes, folders and missing paths where a file is expected. Each bad case must end
with exit status 2 and exactly one line on stderr that names the file, no traceback, and
nothing written to ``--out``. Valid oddities (a UTF-8 byte-order mark, CRLF line ends, a
200,000-character field) must be accepted (status 0).

Commands: ``forecast --models naive`` (no training), ``classify`` on CSV / .ts / text / MNIST
IDX files with one tiny epoch, ``lm train``, ``seq2seq --data`` and ``predict`` on copies of
one forecaster folder trained once per worker (module fixture) and then corrupted.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import re
import shutil
import signal
import struct
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from rnnkit.cli.main import main
from rnnkit.data.idx import write_idx

SEED = 20261203
BAD_NUMBERS = ("inf", "-inf", "Infinity", "-Infinity", "1e39", "-1e39", "3.5e38", "1e309",
               "-1e400", "abc", "0x10", "--1", "1e", "∞", "1.2.3", "1e39e1")
TINY = ["--epochs", "1", "--hidden", "4", "--batch-size", "4"]


@dataclass
class Case:
    """One input: ``make(tmp, trained) -> (argv, name)``; ``name`` (a file's basename) must
    appear in the error message. ``valid`` cases must succeed instead."""

    id: str
    kind: str
    make: Callable[[Path, Path | None], tuple[list[str], str]]
    valid: bool = False
    xfail: str | None = None
    marks: list = field(default_factory=list)


CASES: list[Case] = []
rng = random.Random(SEED)


def case(kind: str, id: str, valid: bool = False, xfail: str | None = None):
    def register(make):
        name = re.sub(r"[^A-Za-z0-9.=+-]+", "_", f"{kind}-{id}")
        CASES.append(Case(name, kind, make, valid, xfail))
        return make
    return register


def garbage(n: int) -> bytes:
    """Seeded random bytes that are not UTF-8 (they hold 0xff)."""
    return bytes(rng.randrange(256) for _ in range(n)) + b"\xff\xfe\x00"


def special(p: Path, how: str) -> None:
    """Make ``p`` something that is not a regular file (or nothing at all)."""
    if how == "fifo":
        os.mkfifo(p)  # opening it to read would block forever
    elif how == "dir":
        p.mkdir()
    elif how == "symlink-to-fifo":
        os.mkfifo(p.with_name("real-pipe"))
        p.symlink_to(p.with_name("real-pipe"))
    elif how == "dangling-symlink":
        p.symlink_to(p.with_name("gone"))
    elif how != "missing":
        raise AssertionError(how)


SPECIALS = ("fifo", "dir", "symlink-to-fifo", "dangling-symlink", "missing")


# -- forecast: series CSV ---------------------------------------------------------------------

def series_rows(n: int = 40) -> list[str]:
    return [f"2000-{i:03d},{10 + (i * 7) % 11 + rng.random():.3f}" for i in range(n)]


def forecast_argv(data: Path, out: Path, *extra: str) -> list[str]:
    return ["forecast", "--data", str(data), "--models", "naive", "--horizon", "2",
            "--input-len", "4", "--test", "2", "--out", str(out), *extra]


def series_case(id: str, body: str | bytes | None = None, extra: tuple[str, ...] = (),
                how: str | None = None, valid: bool = False, xfail: str | None = None):
    @case("forecast-csv", id, valid, xfail)
    def make(tmp, trained):
        p = tmp / "series.csv"
        if how:
            special(p, how)
        else:
            p.write_bytes(body if isinstance(body, bytes) else body.encode("utf-8"))
        return forecast_argv(p, tmp / "out", "--column", "y", *extra), "series.csv"


for token in BAD_NUMBERS:
    for variant in range(3):
        rows = series_rows()
        rows[rng.randrange(len(rows))] = f"2000-999,{token}"
        sep = (",", ";", "\t")[variant]
        series_case(f"{token}-{variant}",
                    "\n".join(["when,y", *rows]).replace(",", sep) + "\n")
for id, body, extra in [
    ("empty", "", ()), ("header-only", "when,y\n", ()), ("blank-lines", "when,y\n\n\n \n", ()),
    ("whitespace", "   \n\t\n", ()), ("nul", "when,y\n2000,1\x002\n" * 30, ()),
    ("all-missing", "when,y\n" + "2000,NA\n" * 40, ()),
    ("all-missing-interpolate", "when,y\n" + "2000,\n" * 40, ("--interpolate",)),
    ("missing-values", "\n".join(["when,y", *series_rows()[:20], "2001,?",
                                  *series_rows()[:20]]), ()),
    ("unknown-column", "when,z\n" + "2000,1\n" * 40, ()),
    ("unknown-date-column", "when,y\n" + "2000,1\n" * 40, ("--date-column", "nope")),
    ("long-bad-cell", "when,y\n" + "2000,1\n" * 39 + "2000," + "9" * 200_000 + "x\n", ()),
    ("utf16", "when,y\n2000,1\n".encode("utf-16"), ()),
    ("gzip", gzip.compress(b"when,y\n" + b"2000,1\n" * 40), ()),
]:
    series_case(id, body, extra)
for i in range(6):
    series_case(f"binary-{i}", garbage(rng.randrange(1, 400)))
for how in SPECIALS:
    series_case(how, how=how)
series_case("bom-crlf", "\ufeffwhen,y\r\n" + "\r\n".join(series_rows()) + "\r\n", valid=True)
series_case("long-field", "when,y,note\n" + "\n".join(
    f"{r},\"{'n' * (200_000 if i == 3 else 3)}\"" for i, r in enumerate(series_rows())) + "\n",
    valid=True)
series_case("semicolon-quoted", "when;y\n" + "\n".join(
    f'{r.split(",")[0]};"{r.split(",")[1]}"' for r in series_rows()) + "\n", valid=True)
series_case("too-short", "when,y\n" + "2000,1\n" * 5)


# -- classify: sequence CSV and .ts -----------------------------------------------------------

def seq_rows(n: int, header: bool = False) -> list[str]:
    rows = [",".join(f"{rng.random() + k % 2:.3f}" for _ in range(5)) + f",{k % 2}"
            for k in range(n)]
    return (["t0,t1,t2,t3,t4,label"] if header else []) + rows


def classify_argv(data: Path, test: Path, out: Path, *extra: str) -> list[str]:
    return ["classify", "--data", str(data), "--test", str(test), *TINY, "--out", str(out),
            *extra]


def seq_case(id: str, mutate: Callable[[list[str]], list[str] | bytes] | None = None,
             how: str | None = None, extra: tuple[str, ...] = (), valid: bool = False,
             suffix: str = ".csv", base: Callable[[int], list[str]] = seq_rows,
             target: str | None = None, xfail: str | None = None):
    """``mutate`` edits the lines of the ``target`` file (train or test, drawn at random);
    ``target="both"`` edits both."""
    target = target or rng.choice(("train", "test"))

    @case("classify-" + suffix[1:], f"{id}-{target}", valid, xfail)
    def make(tmp, trained):
        files = {}
        for part, n in (("train", 12), ("test", 4)):
            p = tmp / f"{part}{suffix}"
            lines = base(n)
            hit = target in (part, "both")
            if hit and how:
                special(p, how)
            else:
                content = mutate(lines) if hit and mutate else lines
                if isinstance(content, list):
                    content = ("\n".join(content) + "\n").encode("utf-8")
                p.write_bytes(content)
            files[part] = p
        argv = classify_argv(files["train"], files["test"], tmp / "out", *extra)
        return argv, f"{target}{suffix}"


def at_random_row(fn):
    def mutate(lines):
        i = rng.randrange(len(lines))
        lines[i] = fn(lines[i])
        return lines
    return mutate


for token in BAD_NUMBERS:
    seq_case(f"value-{token}", at_random_row(lambda r, t=token: f"{t}," + r.split(",", 1)[1]))
for id, fn in [
    ("empty-label", lambda r: r.rsplit(",", 1)[0] + ","),
    ("blank-label", lambda r: r.rsplit(",", 1)[0] + ",  "),
    ("label-1.5", lambda r: r.rsplit(",", 1)[0] + ",1.5"),
    ("label-1.0-and-1", lambda r: r.rsplit(",", 1)[0] + ",1.0"),
    ("all-missing", lambda r: "?,?,?,?,?," + r.rsplit(",", 1)[1]),
    ("no-values", lambda r: ",,,,," + r.rsplit(",", 1)[1]),
    ("ragged", lambda r: r + ",9"),
    ("long-cell", lambda r: "7" * 200_000 + "q," + r.split(",", 1)[1]),
]:
    seq_case(id, at_random_row(fn))
seq_case("unknown-test-label", lambda lines: [*lines[:-1], lines[-1].rsplit(",", 1)[0] + ",7"],
         target="test")
seq_case("label-column", extra=("--label-column", "9"), target="train")
for id, content in [("empty", b""), ("blank", b"\n\n\n"), ("header-only", b"a,b,c,d,e,label\n"),
                    ("utf16", "1,2,3,4,5,0\n".encode("utf-16"))]:
    seq_case(id, lambda lines, c=content: c)
for i in range(4):
    seq_case(f"binary-{i}", lambda lines: garbage(rng.randrange(1, 300)))
for how in SPECIALS:
    seq_case(how, how=how)
seq_case("bom-crlf-header", lambda lines: ("\ufeff" + "\r\n".join(
    ["a,b,c,d,e,label", *lines]) + "\r\n").encode(), valid=True)
seq_case("partly-missing", at_random_row(lambda r: "?," + r.split(",", 1)[1]), valid=True)


def ts_lines(n: int) -> list[str]:
    head = ["@problemName Tiny", "@univariate true", "@equalLength true", "@seriesLength 5",
            "@classLabel true a b", "@data"]
    return head + [",".join(f"{rng.random():.3f}" for _ in range(5)) + f":{'ab'[k % 2]}"
                   for k in range(n)]


def ts_case(id, mutate=None, how=None, valid=False, target=None, xfail=None):
    seq_case(id, mutate, how, valid=valid, suffix=".ts", base=ts_lines, target=target,
             xfail=xfail)


def at_random_case(fn):
    def mutate(lines):
        i = rng.randrange(6, len(lines))
        lines[i] = fn(lines[i])
        return lines
    return mutate


for token in BAD_NUMBERS[:10]:
    ts_case(f"value-{token}", at_random_case(lambda r, t=token: f"{t}," + r.split(",", 1)[1]))
for id, fn in [("empty-label", lambda r: r.rsplit(":", 1)[0] + ":"),
               ("all-missing", lambda r: "?,?,?,?,?:" + r.rsplit(":", 1)[1]),
               ("no-values", lambda r: ":" + r.rsplit(":", 1)[1]),
               ("unknown-label", lambda r: r.rsplit(":", 1)[0] + ":c"),
               ("two-dims", lambda r: r.replace(":", ":1,2,3,4,5:")),
               ("short", lambda r: r.split(",", 1)[1]),
               ("timestamps", lambda r: "(1,2)," + r)]:
    ts_case(id, at_random_case(fn))
ts_case("no-data-line", lambda lines: [ln for ln in lines if ln != "@data"])
ts_case("no-labels", lambda lines: [ln.replace("@classLabel true a b", "@classLabel false")
                                    for ln in lines])
ts_case("empty", lambda lines: b"")
ts_case("binary", lambda lines: garbage(120))
for how in ("fifo", "dir", "missing"):
    ts_case(how, how=how)
ts_case("bom-crlf", lambda lines: ("\ufeff" + "\r\n".join(lines) + "\r\n").encode(), valid=True)
ts_case("string-labels-1.5", lambda lines: [
    ln.replace("true a b", "true 1.5 2.5").replace(":a", ":1.5").replace(":b", ":2.5")
    for ln in lines], valid=True, target="both")


# -- classify --text: CSV and folder ----------------------------------------------------------

def text_rows(n: int) -> list[str]:
    words = ("good", "bad", "film", "plot", "dull", "great", "loved", "hated")
    return ["label,text"] + [f"{('neg', 'pos')[k % 2]},{' '.join(rng.choices(words, k=6))}"
                             for k in range(n)]


def text_case(id, mutate=None, how=None, valid=False, extra=()):
    @case("classify-text", id, valid)
    def make(tmp, trained):
        p = tmp / "texts.csv"
        if how:
            special(p, how)
        else:
            lines = text_rows(16)
            content = mutate(lines) if mutate else lines
            if isinstance(content, list):
                content = ("\n".join(content) + "\n").encode("utf-8")
            p.write_bytes(content)
        return ["classify", "--text", "--data", str(p), *TINY, "--embed", "4",
                "--out", str(tmp / "out"), *extra], "texts.csv"


def at_random_text(fn):
    def mutate(lines):
        i = rng.randrange(1, len(lines))
        lines[i] = fn(lines[i])
        return lines
    return mutate


for id, fn in [("empty-label", lambda r: "," + r.split(",", 1)[1]),
               ("empty-text", lambda r: r.split(",", 1)[0] + ","),
               ("blank-text", lambda r: r.split(",", 1)[0] + ",\"  \t \""),
               ("one-field", lambda r: r.split(",", 1)[0])]:
    for variant in range(2):
        text_case(f"{id}-{variant}", at_random_text(fn))
text_case("label-1.5", lambda lines: ["label,text", "1,a b", "2,c d", "1.5,e f", "2,g h"])
text_case("text-column-body", lambda lines: ["label,body", *lines[1:]], valid=True)
text_case("empty", lambda lines: b"")
text_case("header-only", lambda lines: b"label,text\n")
text_case("binary", lambda lines: garbage(200))
for how in ("fifo", "missing"):
    text_case(how, how=how)
text_case("bom-crlf", lambda lines: ("\ufeff" + "\r\n".join(lines) + "\r\n").encode(),
          valid=True)
text_case("200000-characters", lambda lines: [
    *lines, 'pos,"' + ("great " * 40_000)[:200_000] + '"'], valid=True,
    extra=("--maxlen", "20"))
text_case("quoted-newlines", lambda lines: [*lines, 'neg,"dull\nplot, and ""bad"""'],
          valid=True)


def folder_case(id, name, content: bytes | None, valid=False, drop_class=False):
    @case("classify-text-folder", id, valid)
    def make(tmp, trained):
        root = tmp / "reviews"
        for label in ("neg", "pos")[: 1 if drop_class else 2]:
            (root / label).mkdir(parents=True)
            for k in range(6):
                (root / label / f"{k}_1.txt").write_text(f"{label} words {k} film")
        if content is not None:
            (root / "pos" / name).write_bytes(content)
        return ["classify", "--text", "--data", str(root), *TINY, "--embed", "4",
                "--out", str(tmp / "out")], name if content is not None else "reviews"


folder_case("empty-file", "9_1.txt", b"")
folder_case("blank-file", "9_2.txt", b" \n\t")
folder_case("undecodable", "9_3.txt", b"good \xff film")
folder_case("one-class", "x", None, drop_class=True)
folder_case("bom", "9_4.txt", b"\xef\xbb\xbfgreat film", valid=True)


# -- classify: MNIST IDX ----------------------------------------------------------------------

MNIST = {"train-images-idx3-ubyte.gz": (8, "images"), "train-labels-idx1-ubyte.gz": (8, "labels"),
         "t10k-images-idx3-ubyte.gz": (4, "images"), "t10k-labels-idx1-ubyte.gz": (4, "labels")}


def idx_header(code: int, shape: tuple[int, ...]) -> bytes:
    return bytes([0, 0, code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape)


def mnist_case(id: str, corrupt: Callable[[Path, int, str], None], valid: bool = False,
               target: str | None = None):
    target = target or rng.choice(sorted(MNIST))

    @case("classify-mnist", f"{id}-{target.split('-')[0]}-{target.split('-')[1]}", valid)
    def make(tmp, trained):
        d = tmp / "mnist"
        d.mkdir()
        gen = np.random.default_rng(0)
        for name, (n, what) in MNIST.items():
            arr = (gen.integers(0, 256, (n, 4, 4)) if what == "images"
                   else np.arange(n) % 2).astype(np.uint8)
            if name == target:
                corrupt(d / name, n, what)
            else:
                write_idx(d / name, arr)
        return ["classify", "--data", f"mnist:{d}", *TINY, "--limit", "8",
                "--out", str(tmp / "out")], target


def array_of(fn):
    def corrupt(p, n, what):
        write_idx(p, fn(n, what))
    return corrupt


def raw_bytes(fn):
    def corrupt(p, n, what):
        p.write_bytes(fn(n, what))
    return corrupt


def good_bytes(n, what):
    shape = (n, 4, 4) if what == "images" else (n,)
    return idx_header(0x08, shape) + bytes(int(np.prod(shape)))


for target in sorted(MNIST):
    mnist_case("empty-file", raw_bytes(lambda n, w: gzip.compress(b"")), target=target)
    mnist_case("huge-header", raw_bytes(lambda n, w: gzip.compress(
        idx_header(0x08, (10**6, 10**3, 10**3) if w == "images" else (2**32 - 1, 2**32 - 1))
        + bytes(64))), target=target)
    mnist_case("truncated", raw_bytes(lambda n, w: gzip.compress(good_bytes(n, w)[:-3])),
               target=target)
    mnist_case("extra-bytes", raw_bytes(lambda n, w: gzip.compress(good_bytes(n, w) + b"!")),
               target=target)
    mnist_case("corrupt-gzip", raw_bytes(lambda n, w: gzip.compress(good_bytes(n, w))[:-7]),
               target=target)
    mnist_case("bad-magic", raw_bytes(lambda n, w: gzip.compress(b"\x01" + good_bytes(n, w)[1:])),
               target=target)
    mnist_case("zero-items", array_of(lambda n, w: np.zeros((0, 4, 4) if w == "images" else 0,
                                                            np.uint8)), target=target)
    mnist_case("binary", raw_bytes(lambda n, w: garbage(rng.randrange(1, 200))), target=target)
    for how in ("fifo", "dir"):
        mnist_case(how, lambda p, n, w, h=how: special(p, h), target=target)
for target in ("train-labels-idx1-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
    mnist_case("labels-1.5", array_of(lambda n, w: np.r_[np.zeros(n - 1), 1.5]), target=target)
    mnist_case("labels-12", array_of(lambda n, w: np.full(n, 12, np.uint8)), target=target)
    mnist_case("labels-2d", array_of(lambda n, w: np.zeros((n, 2), np.uint8)), target=target)
    mnist_case("count-mismatch", array_of(lambda n, w: np.zeros(n + 1, np.uint8)),
               target=target)
for target in ("train-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte.gz"):
    mnist_case("float-images", array_of(lambda n, w: np.zeros((n, 4, 4), np.float32)),
               target=target)
    mnist_case("zero-width", array_of(lambda n, w: np.zeros((n, 4, 0), np.uint8)),
               target=target)
    mnist_case("missing", lambda p, n, w: None, target=target)
mnist_case("whole-float-labels", array_of(lambda n, w: (np.arange(n) % 2).astype(np.float64)),
           valid=True, target="train-labels-idx1-ubyte.gz")
mnist_case("raw-not-gzip", raw_bytes(lambda n, w: gzip.decompress(gzip.compress(
    good_bytes(n, w)))), valid=True, target="t10k-images-idx3-ubyte.gz")


@case("classify-mnist", "folder-is-a-fifo")
def _(tmp, trained):
    os.mkfifo(tmp / "mnist")
    return ["classify", "--data", f"mnist:{tmp / 'mnist'}", *TINY, "--out",
            str(tmp / "out")], "mnist"


# -- lm train and seq2seq ---------------------------------------------------------------------

def lm_case(id, content: bytes | None = None, how=None, valid=False, xfail=None):
    @case("lm", id, valid, xfail)
    def make(tmp, trained):
        p = tmp / "corpus.txt"
        if how:
            special(p, how)
        else:
            p.write_bytes(content)
        return ["lm", "train", "--text", str(p), "--epochs", "1", "--hidden", "8",
                "--embed", "8", "--layers", "1", "--batch-size", "2",
                "--out", str(tmp / "out")], "corpus.txt"


SENTENCES = "the cat sat on the mat . the dog ate the cat food . " * 20
for id, content in [("empty", b""), ("whitespace", b" \n\r\n\t "),
                    ("utf16", SENTENCES.encode("utf-16")), ("latin1", "café " .encode("latin-1")
                                                            * 50)]:
    lm_case(id, content)
for i in range(4):
    lm_case(f"binary-{i}", garbage(rng.randrange(1, 500)))
for how in SPECIALS:
    lm_case(how, how=how)
lm_case("bom-crlf", ("\ufeff" + SENTENCES.replace(". ", ".\r\n")).encode(), valid=True)
lm_case("too-short", b"the")


def s2s_case(id, lines: list[str] | bytes | None = None, how=None, valid=False):
    @case("seq2seq", id, valid)
    def make(tmp, trained):
        p = tmp / "pairs.tsv"
        if how:
            special(p, how)
        else:
            p.write_bytes(lines if isinstance(lines, bytes) else
                          ("\n".join(lines) + "\n").encode("utf-8"))
        return ["seq2seq", "--data", str(p), "--test", "1", "--epochs", "1", "--hidden", "8",
                "--embed", "4", "--batch-size", "4", "--out", str(tmp / "out")], "pairs.tsv"


def pairs(n: int = 12) -> list[str]:
    return [f"ab{k}\t{k}ba" for k in range(n)]


for id, fn in [("empty-source", lambda r: "\t" + r.split("\t")[1]),
               ("empty-target", lambda r: r.split("\t")[0] + "\t "),
               ("no-tab", lambda r: r.replace("\t", " "))]:
    for variant in range(3):
        lines = pairs()
        i = rng.randrange(len(lines))
        lines[i] = fn(lines[i])
        s2s_case(f"{id}-{variant}", lines)
for id, content in [("empty", b""), ("blank-lines", b"\n \n\r\n"),
                    ("utf16", "a\tb\n".encode("utf-16")), ("binary", garbage(150))]:
    s2s_case(id, content)
for how in SPECIALS:
    s2s_case(how, how=how)
s2s_case("bom-crlf", ("\ufeff" + "\r\n".join(pairs()) + "\r\n").encode(), valid=True)
s2s_case("extra-columns", [r + "\tcc-by" for r in pairs()], valid=True)


# -- predict: a trained forecaster folder, corrupted ------------------------------------------

def model_case(id, corrupt: Callable[[Path], str], valid=False, xfail=None):
    """``corrupt(model_dir)`` edits a copy of the trained folder; it returns the name of the
    file the message must name."""
    @case("predict-model", id, valid, xfail)
    def make(tmp, trained):
        model = tmp / "model"
        shutil.copytree(trained / "model", model)
        name = corrupt(model)
        return ["predict", "--model", str(model), "--data", str(trained / "series.csv"),
                "--out", str(tmp / "out.csv")], name


def config_edit(fn, names: str | tuple[str, ...] = "config.json"):
    def corrupt(model):
        path = model / "config.json"
        cfg = json.loads(path.read_text())
        fn(cfg)
        path.write_text(json.dumps(cfg))
        return names
    return corrupt


def config_bytes(content):
    def corrupt(model):
        (model / "config.json").write_bytes(content() if callable(content) else content)
        return "config.json"
    return corrupt


def weights_bytes(fn):
    def corrupt(model):
        p = model / "model.safetensors"
        p.write_bytes(fn(p.read_bytes()))
        return "model.safetensors"
    return corrupt


def weights_tensors(fn):
    def corrupt(model):
        from safetensors.torch import load_file, save_file

        p = model / "model.safetensors"
        tensors = load_file(p)
        save_file(fn(tensors), p)
        return "model.safetensors"
    return corrupt


def special_file(name, how):
    def corrupt(model):
        (model / name).unlink()
        special(model / name, how)
        return name
    return corrupt


def header_of(raw: bytes) -> tuple[int, dict]:
    n = int.from_bytes(raw[:8], "little")
    return n, json.loads(raw[8:8 + n])


def with_header(raw: bytes, fn) -> bytes:
    n, header = header_of(raw)
    fn(header)
    text = json.dumps(header).encode()
    return len(text).to_bytes(8, "little") + text + raw[8 + n:]


def first_tensor(header: dict) -> str:
    return sorted(k for k in header if k != "__metadata__")[0]


for name in ("config.json", "model.safetensors"):
    for how in SPECIALS:
        model_case(f"{name}-{how}", special_file(name, how))
for id, content in [
    ("empty", b""), ("whitespace", b"  \n"), ("deep-lists", b"[" * 100_000),
    ("deep-objects", b'{"a":' * 50_000), ("list", b"[1, 2]"), ("string", b'"rnnkit"'),
    ("null", b"null"), ("not-utf8", b'{"format": "\xff"}'), ("utf16", '{"a": 1}'.encode("utf-16")),
    ("nan-only", b"NaN"),
]:
    model_case(f"config-{id}", config_bytes(content))
for i in range(6):
    model_case(f"config-binary-{i}", config_bytes(garbage(rng.randrange(1, 300))))
for i in range(8):
    cut = rng.random()
    model_case(f"config-truncated-{i}", lambda model, c=cut: config_bytes(
        (model / "config.json").read_bytes()[:int(c * 1500)])(model))
model_case("config-65MiB", lambda model: (os.truncate(model / "config.json", 65 * 2**20),
                                          "config.json")[1])
BAD_VALUES = {"format": [1, None, "other"], "format_version": ["1", 1.5, True, 0, 99, None],
              "rnnkit_version": [1, []], "model": [[], "x", None, {}, {"class": 1, "config": {}},
                                                  {"class": "Dense"},
                                                  {"class": "NoSuchLayer", "config": {}},
                                                  {"class": "os.system", "config": {"a": 1}}],
              "dtype": ["Tensor", "__class__", "int64", "float8", "complex64", 3, None, "nn"],
              "compile": [3, "adam", []], "extra": [[], "x", 5]}
for key, values in BAD_VALUES.items():
    for i, v in enumerate(values):
        model_case(f"config-{key}-{i}={json.dumps(v)}", config_edit(
            lambda cfg, k=key, v=v: cfg.__setitem__(k, v)))
    model_case(f"config-no-{key}", config_edit(lambda cfg, k=key: cfg.pop(k)),
               valid=key in ("rnnkit_version", "dtype", "compile", "format_version"))
for key in ("colour", "Model", "extras", "__proto__", ""):
    model_case(f"config-unknown-key-{key}", config_edit(lambda cfg, k=key: cfg.__setitem__(k, 1)))


def set_layer(cfg: dict, **changes) -> None:
    """Change the first Dense layer of the saved Sequential."""
    layers = cfg["model"]["config"]["layers"]
    dense = next(layer for layer in layers if layer["class"] == "Dense")
    dense["config"].update(changes)


for id, changes in [("huge-hidden", {"in_features": 10**6, "out_features": 10**6}),
                    ("negative", {"out_features": -3}), ("zero", {"in_features": 0}),
                    ("string", {"in_features": "four"}), ("float", {"out_features": 2.5}),
                    ("unknown-arg", {"colour": "red"}), ("activation", {"activation": "nope"}),
                    ("huge-int", {"in_features": 10**30})]:
    # a size that builds but does not fit the weights is named by model.safetensors
    model_case(f"config-layer-{id}", config_edit(lambda cfg, c=changes: set_layer(cfg, **c),
                                                 names=("config.json", "model.safetensors")))
model_case("config-layer-bias-yes", config_edit(lambda cfg: set_layer(cfg, bias="yes")))
model_case("config-bom", lambda model: config_bytes(
    b"\xef\xbb\xbf" + (model / "config.json").read_bytes())(model), valid=True)
model_case("config-crlf", lambda model: config_bytes(
    (model / "config.json").read_bytes().replace(b"\n", b"\r\n"))(model), valid=True)
model_case("extra-input-len-0", config_edit(
    lambda cfg: cfg["extra"]["params"].__setitem__("input_len", 0)))
model_case("extra-horizon-mismatch", config_edit(
    lambda cfg: cfg["extra"]["params"].__setitem__("horizon", 7)))
model_case("extra-scaler-garbage", config_edit(
    lambda cfg: cfg["extra"]["state"]["scalers"].update(
        {key: {"name": "log", "shift": "x"} for key in cfg["extra"]["state"]["scalers"]})))

for id, content in [("empty", lambda raw: b""), ("short", lambda raw: raw[:5]),
                    ("length-only", lambda raw: raw[:8]),
                    ("huge-length", lambda raw: (2**62).to_bytes(8, "little") + raw[8:]),
                    ("length-past-end", lambda raw: (len(raw)).to_bytes(8, "little") + raw[8:]),
                    ("garbage-header", lambda raw: raw[:8] + b"\xff" * header_of(raw)[0]
                     + raw[8 + header_of(raw)[0]:]),
                    ("list-header", lambda raw: raw[:8] + b"[]".ljust(header_of(raw)[0])
                     + raw[8 + header_of(raw)[0]:]),
                    ("no-data", lambda raw: raw[:8 + header_of(raw)[0]])]:
    model_case(f"weights-{id}", weights_bytes(content))
for i in range(8):
    frac = rng.random()
    model_case(f"weights-truncated-{i}", weights_bytes(
        lambda raw, f=frac: raw[:8 + header_of(raw)[0] + int(f * (len(raw) - 8
                                                                   - header_of(raw)[0]))]))
for i in range(4):
    model_case(f"weights-binary-{i}", weights_bytes(lambda raw: garbage(rng.randrange(9, 300))))
for id, fn in [
    ("entry-dtype", lambda h: h[first_tensor(h)].__setitem__("dtype", "X9")),
    ("entry-shape-text", lambda h: h[first_tensor(h)].__setitem__("shape", "big")),
    ("entry-offsets", lambda h: h[first_tensor(h)].__setitem__("data_offsets", [0, 10**12])),
    ("entry-not-object", lambda h: h.__setitem__(first_tensor(h), [1, 2])),
    ("entry-negative", lambda h: h[first_tensor(h)].__setitem__("shape", [-1])),
    ("metadata-not-strings", lambda h: h.__setitem__("__metadata__", {"a": 1})),
]:
    model_case(f"weights-header-{id}", weights_bytes(lambda raw, fn=fn: with_header(raw, fn)))
for id, fn in [
    ("float64", lambda t: {k: v.double() for k, v in t.items()}),
    ("float16", lambda t: {k: v.half() for k, v in t.items()}),
    ("int", lambda t: {k: v.long() for k, v in t.items()}),
    ("shorter", lambda t: {k: v[..., :-1].contiguous() for k, v in t.items()}),
    ("renamed", lambda t: {k + "x": v for k, v in t.items()}),
    ("missing", lambda t: dict(list(t.items())[1:])),
    ("unexpected", lambda t: {**t, "extra.weight": next(iter(t.values())).clone()}),
    ("nan", lambda t: {k: v.clone().fill_(float("nan")) for k, v in t.items()}),
    ("inf", lambda t: {k: v.clone().fill_(float("inf")) if i == 0 else v
                       for i, (k, v) in enumerate(t.items())}),
    ("-inf-one", lambda t: {k: v.clone().index_put_((v.new_zeros(1, dtype=int),) * v.ndim,
                                                    v.new_tensor(-float("inf")))
                            for k, v in t.items()}),
]:
    model_case(f"weights-{id}", weights_tensors(fn))


@case("predict-data", "bad-series")
def _(tmp, trained):
    p = tmp / "new.csv"
    p.write_text("when,passengers\n" + "2000,1e39\n" * 30)
    return ["predict", "--model", str(trained / "model"), "--data", str(p), "--column",
            "passengers", "--out", str(tmp / "out.csv")], "new.csv"


for how in SPECIALS:
    @case("predict-data", how)
    def _(tmp, trained, how=how):
        special(tmp / "new.csv", how)
        return ["predict", "--model", str(trained / "model"), "--data", str(tmp / "new.csv"),
                "--out", str(tmp / "out.csv")], "new.csv"


# -- running the cases ------------------------------------------------------------------------

class Hang(BaseException):
    """Raised by the alarm: the command blocked (an opened FIFO). Not an OSError, so the
    command's error net cannot turn it into a clean exit."""


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """A forecaster folder trained once (per worker) by the command itself."""
    root = tmp_path_factory.mktemp("trained")
    (root / "series.csv").write_text("when,passengers\n" + "\n".join(
        f"2000-{i:03d},{100 + (i * 13) % 17 + i}" for i in range(40)) + "\n")
    rc = main(["forecast", "--data", str(root / "series.csv"), "--column", "passengers",
               "--date-column", "when", "--models", "naive", "linear", "--ensemble", "0",
               "--epochs", "1", "--horizon", "2", "--input-len", "4", "--test", "2",
               "--out", str(root / "fc")])  # one model: the cases edit its files
    assert rc == 0
    shutil.move(root / "fc" / "model", root / "model")
    return root


def _param(c: Case):
    marks = [pytest.mark.xfail(strict=False, reason=c.xfail)] if c.xfail else []
    return pytest.param(c, id=c.id, marks=marks)


def test_the_generator_makes_hundreds_of_cases():
    bad = Counter(c.kind for c in CASES if not c.valid)
    assert sum(bad.values()) >= 300, bad
    assert len({c.id for c in CASES}) == len(CASES)  # ids are unique
    assert sum(c.valid for c in CASES) >= 15


@pytest.mark.parametrize("c", [_param(c) for c in CASES])
def test_case(c: Case, tmp_path, capsys, request):
    needs_model = c.kind.startswith("predict")
    folder = request.getfixturevalue("trained") if needs_model else None
    rng.seed(f"{SEED}-{c.id}")  # what make draws does not depend on the cases run before
    argv, name = c.make(tmp_path, folder)
    out = Path(argv[argv.index("--out") + 1])
    capsys.readouterr()

    def alarm(signum, frame):
        raise Hang(f"rnnkit {' '.join(argv[:2])} blocked for 60 s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(60)
    try:
        try:
            rc = main(argv)
        except SystemExit as exc:
            rc = exc.code
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    err = capsys.readouterr().err
    if c.valid:
        assert rc == 0, err
        assert out.exists()
        return
    assert rc == 2, err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1 and err.endswith("\n"), err
    assert lines[0].startswith("rnnkit ") and ": error: " in lines[0], err
    names = (name,) if isinstance(name, str) else name
    assert any(n in lines[0] for n in names), f"{names} not named in: {lines[0]}"
    assert len(lines[0]) < 300 + len(str(tmp_path)) * 3, len(lines[0])
    assert not out.exists()
