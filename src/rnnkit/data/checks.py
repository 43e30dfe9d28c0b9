"""Checks every loader shares: regular files only, sane sizes, text decoding, finite numbers.

A loader reads a user's file through :func:`read_bytes` / :func:`read_text`, which refuse
what is not a regular file *before opening it* (a named pipe would block the reader forever,
a device may never end) and files past a size limit *before reading them*. Numbers go
through :func:`parse_number` / :func:`check_values`, which refuse NaN, infinity and values
that would overflow float32 (the models' dtype), so ``1e39`` is an error instead of a silent
``inf``. Every error is a :class:`~rnnkit.errors.DataError` naming the file; values are
quoted with :func:`quote`, so a 200,000-character cell gives a short message.

    >>> raw = read_bytes("train.csv", what="CSV file")
    >>> value = parse_number("1e39", "CSV file 'train.csv' line 3, column 'y'")
    Traceback (most recent call last):
    DataError: CSV file 'train.csv' line 3, column 'y': '1e39' overflows float32 (|x| > 3.4e+38)
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import os
import re
import stat
from collections.abc import Collection, Iterator, Sequence

import numpy as np

from rnnkit.errors import DataError

#: Largest finite float32; a value beyond it becomes inf when a model reads it.
FLOAT32_MAX = float(np.finfo(np.float32).max)

#: Cells read as a missing value (NaN) by :func:`parse_values`, compared lower-cased.
MISSING = frozenset({"", "?", "nan"})

#: Largest data file a loader reads into memory (a text, CSV or IDX file; bytes).
MAX_FILE_BYTES = 8 * 2**30

#: Largest CSV field: the csv module's default of 131,072 characters refuses long texts.
CSV_FIELD_LIMIT = 2**31 - 1

_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a named pipe (FIFO)"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))


def quote(value: object, limit: int = 80) -> str:
    """``repr(value)`` cut to at most ``limit`` characters (``...`` marks the cut).

    >>> quote("x" * 1000, limit=12)
    "'xxxxxxx...'"
    """
    text = repr(value)
    if len(text) <= limit:
        return text
    end = text[-1] if text[-1] in "'\"" else ""  # keep a string's closing quote
    return text[:max(limit - 3 - len(end), 1)] + "..." + end


def shorten(text: object, limit: int = 160) -> str:
    """``str(text)`` on one line (whitespace runs become one space), cut to ``limit``
    characters: for quoting another error's message inside ours."""
    one_line = " ".join(str(text).split())
    return one_line if len(one_line) <= limit else one_line[:max(limit - 3, 1)] + "..."


def file_kind(mode: int) -> str:
    """'a directory', 'a named pipe (FIFO)', ... for an ``st_mode`` that is not a file."""
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def regular_file(path: str | os.PathLike, what: str = "file",
                 max_bytes: int | None = MAX_FILE_BYTES) -> os.stat_result:
    """``os.stat(path)`` if ``path`` is a regular file of at most ``max_bytes``.

    Raises DataError naming ``what`` and ``path`` when it does not exist, is a directory,
    a FIFO, a device or a socket (checked with ``stat``, without opening it), or is larger
    than ``max_bytes``.
    """
    p = str(path)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise DataError(f"{what} {p!r}: file not found") from None
    except NotADirectoryError:
        raise DataError(f"{what} {p!r}: file not found (a parent is not a folder)") from None
    except OSError as exc:
        raise DataError(f"{what} {p!r} cannot be read: {exc.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        raise DataError(f"{what} {p!r} is {file_kind(st.st_mode)}, expected a regular file")
    if max_bytes is not None and st.st_size > max_bytes:
        raise DataError(f"{what} {p!r} has {st.st_size} bytes, more than the limit of "
                        f"{max_bytes}")
    return st


def open_regular(path: str | os.PathLike, what: str = "file",
                 max_bytes: int | None = MAX_FILE_BYTES) -> io.BufferedReader:
    """Open a regular file for binary reading, after :func:`regular_file`.

    The file is opened non-blocking and checked again with ``fstat``, so a path swapped
    for a FIFO between the two steps still cannot block.
    """
    regular_file(path, what, max_bytes)
    p = str(path)
    try:
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise DataError(f"{what} {p!r} cannot be read: {exc.strerror}") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise DataError(f"{what} {p!r} is {file_kind(mode)}, expected a regular file")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return open(fd, "rb", closefd=True)
    except BaseException:
        os.close(fd)
        raise


def read_bytes(path: str | os.PathLike, what: str = "file",
               max_bytes: int | None = MAX_FILE_BYTES) -> bytes:
    """The bytes of a regular file (see :func:`regular_file` for what is refused)."""
    with open_regular(path, what, max_bytes) as f:
        try:
            return f.read()
        except OSError as exc:
            raise DataError(f"{what} {str(path)!r} cannot be read: {exc.strerror}") from None


def is_utf8(encoding: str) -> bool:
    """True if ``encoding`` names UTF-8 (``utf-8``, ``UTF8``, ``utf_8``, ``utf-8-sig``)."""
    try:
        return codecs.lookup(encoding).name in ("utf-8", "utf-8-sig")
    except LookupError:
        return False


def decode(raw: bytes, path: str | os.PathLike, encoding: str = "utf-8",
           what: str = "text file") -> str:
    """Decode ``raw`` (the bytes of ``path``); a UTF-8 byte-order mark is dropped.

    Raises DataError naming the file, the byte offset and the byte when it cannot be
    decoded, and for an unknown ``encoding``.
    """
    codec = "utf-8-sig" if is_utf8(encoding) else encoding
    try:
        return raw.decode(codec)
    except LookupError:
        raise DataError(f"encoding must be a known codec name, got {quote(encoding)}") from None
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{what} {str(path)!r} is not valid {encoding}: undecodable byte "
            f"0x{raw[exc.start]:02x} at byte offset {exc.start}; pass --encoding "
            f"(for example --encoding latin-1)"
        ) from None


def read_text(path: str | os.PathLike, what: str = "text file", encoding: str = "utf-8",
              max_bytes: int | None = MAX_FILE_BYTES) -> str:
    """:func:`read_bytes` then :func:`decode`."""
    return decode(read_bytes(path, what, max_bytes), path, encoding, what)


def content_lines(text: str, comment: str) -> Iterator[tuple[int, str]]:
    """``(1-based line number, stripped line)`` for each line of ``text`` that is neither
    blank nor a ``comment`` line (one starting with that mark): the header and data lines of
    the archives' ARFF and .tsf files."""
    for n, line in enumerate(text.splitlines(), start=1):
        s = line.strip()
        if s and not s.startswith(comment):
            yield n, s


def sniff_delimiter(first_line: str) -> str:
    """The field separator of a CSV file from its first line: whichever of comma, semicolon
    and tab it holds most (a comma when none: one column). The UCR archive's ``.tsv`` files
    are tab-separated; spreadsheets in many locales write semicolons."""
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def csv_rows(text: str, path: str | os.PathLike, what: str = "CSV file",
             delimiter: str = ",") -> Iterator[tuple[int, list[str]]]:
    """``(line number, fields)`` of each CSV record in ``text`` (CRLF, quoted newlines and
    fields of any length accepted); a malformed record raises DataError with its line."""
    if csv.field_size_limit() < CSV_FIELD_LIMIT:
        csv.field_size_limit(CSV_FIELD_LIMIT)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise DataError(f"{what} {str(path)!r} line {reader.line_num}: malformed CSV "
                            f"({exc})") from None
        yield reader.line_num, row


def parse_number(cell: str, place: str) -> float:
    """``float(cell)``, refusing text, NaN, infinity and values beyond float32's range.

    ``place`` names the file and the cell (``"CSV file 'a.csv' line 3, column 'y'"``); the
    message is ``"<place>: <quoted cell> is not a number"`` and the like.
    """
    try:
        value = float(cell)
    except ValueError:
        raise DataError(f"{place}: {quote(cell)} is not a number"
                        f"{decorated_number_hint(cell)}") from None
    check_number(value, place, cell)
    return value


_DECORATIONS = re.compile(r"[,\s%$€£¥_']")


def decorated_number_hint(cell: str) -> str:
    """``"; ..."``, a hint for a number written with thousands separators, a decimal comma, a
    currency or a percent sign (``"1,234"``, ``"1,5"``, ``"$5"``, ``"5.0%"``), which ``float``
    does not read; else ``""``."""
    bare = _DECORATIONS.sub("", cell)
    if not bare or bare == cell.strip():
        return ""
    try:
        float(bare)
    except ValueError:
        return ""
    return ("; it looks like a number written with separators or signs: write numbers "
            "plainly, as 1234.5 (no thousands separators, decimal commas, currency or percent "
            "signs)")


def check_number(value: float, place: str, written: object = None) -> None:
    """Refuse a NaN, an infinity or a value with ``|x| > 3.4e38`` (float32 overflow)."""
    shown = quote(written if written is not None else value)
    if math.isnan(value) or math.isinf(value):
        raise DataError(f"{place}: {shown} is not a finite number")
    if abs(value) > FLOAT32_MAX:
        raise DataError(f"{place}: {shown} overflows float32 (|x| > {FLOAT32_MAX:.2g})")


def parse_values(cells: Sequence[str], place: str,
                 missing: Collection[str] = MISSING) -> np.ndarray:
    """Float64 ``(n,)`` array of ``cells``; a cell in ``missing`` (stripped, lower-cased)
    becomes NaN. Refuses text, infinity and float32 overflow, naming ``place`` and the
    1-based position of the first bad cell."""
    out = np.empty(len(cells), dtype=np.float64)
    for i, cell in enumerate(cells):
        c = cell.strip()
        if c.lower() in missing:
            out[i] = np.nan
            continue
        try:
            out[i] = float(c)
        except ValueError:
            raise DataError(f"{place}, value {i + 1}: {quote(c)} is not a number"
                            f"{decorated_number_hint(c)}") from None
    bad = ~(np.abs(out) <= FLOAT32_MAX) & ~np.isnan(out)  # inf and overflow, not NaN
    if bad.any():
        i = int(np.argmax(bad))
        check_number(float(out[i]), f"{place}, value {i + 1}", cells[i].strip())
    return out


def check_values(values: np.ndarray, place: str, allow_nan: bool = False) -> None:
    """Refuse infinities (and NaN unless ``allow_nan``) and values beyond float32's range in
    an array read from a file; the message gives ``place``, the first bad value and its
    index."""
    a = np.asarray(values)
    if a.size == 0 or not np.issubdtype(a.dtype, np.floating):
        return
    bad = ~(np.abs(a.astype(np.float64)) <= FLOAT32_MAX)  # NaN, inf and overflow
    if allow_nan:
        bad &= ~np.isnan(a)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        at = index[0] if len(index) == 1 else index
        check_number(float(a[index]), f"{place} at index {at}")


__all__ = [
    "CSV_FIELD_LIMIT",
    "FLOAT32_MAX",
    "MAX_FILE_BYTES",
    "MISSING",
    "check_number",
    "check_values",
    "csv_rows",
    "decode",
    "decorated_number_hint",
    "file_kind",
    "is_utf8",
    "open_regular",
    "parse_number",
    "parse_values",
    "quote",
    "read_bytes",
    "read_text",
    "regular_file",
    "shorten",
    "sniff_delimiter",
]
