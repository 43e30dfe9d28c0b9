"""Writes that never destroy anything and never leave a half-written file or folder behind.

Files: :func:`atomic_path` yields a temporary name beside the target and renames it over the
target on success (``os.replace`` is atomic on POSIX), so a reader sees the old content or
the new, never a mix. :func:`write_text` and :func:`write_json` use it. :func:`write_json`
writes standard JSON only: :func:`json_safe` turns NaN and ±inf into ``null``.

Folders: an output folder (a command's ``--out``, a saved model) is built under a hidden
temporary name and swapped in whole at the end::

    out = check_output_dir(args.out, overwrite=args.overwrite)  # before any work
    ...train...
    with atomic_directory(out, overwrite=args.overwrite, what="forecast") as tmp:
        write_json(tmp / "metrics.json", metrics)       # build the folder in tmp
        save_model(model, tmp / "model")                 # nesting works
    # out now holds exactly what was written to tmp, plus the marker file .rnnkit

The rules, checked by both functions (``atomic_directory`` checks on entry and again just
before the swap):

- Ownership. A folder rnnkit writes holds a marker ``.rnnkit`` (JSON: ``written_by``,
  ``version``, ``what``, and ``files``, every entry it wrote). A folder whose
  ``config.json`` says ``"format": "rnnkit.model"`` (a model saved by an earlier version)
  is rnnkit's too. A missing target or an empty folder is fine. An existing folder holding
  any entry rnnkit did not write (an unmarked folder, or a marked one a user added a file
  to) raises :class:`~rnnkit.errors.ConfigError` naming the folder and one such entry,
  unless ``overwrite=True``. A target that exists and is not a folder (a file, a link to
  one, a broken link) raises ConfigError whatever ``overwrite`` says. A link to a folder is
  followed. A parent that cannot be created or written raises its ``OSError``.
- Whole replacement. The new folder is built as the hidden sibling ``.NAME.rnnkit-new-XXXX``
  and exchanged with the target in one step (Linux ``renameat2(RENAME_EXCHANGE)``); the old
  content, now at the temporary name, is removed. Nothing is ever merged. Where the
  exchange is not available, the old folder is first renamed to ``.NAME.rnnkit-old-XXXX``.
- Crash safety. A kill at any point leaves the old complete folder or the new complete one
  at the target (in the fallback, possibly only at its ``-old-`` name for an instant), plus
  at most hidden temporaries. The next check of the same target first puts a lone
  ``-old-`` folder back, then removes stale temporaries: only names of the pattern above,
  and never one a running writer holds (writers hold an ``flock`` on their folder).
- Modes. Before the swap every folder in the tree gets ``0o777 & ~umask`` and every file
  ``0o666 & ~umask``, whatever mkdtemp or a plotting library made.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import json
import logging
import math
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from rnnkit import __version__
from rnnkit.errors import ConfigError

try:
    import fcntl
except ImportError:  # Windows: no liveness check; every stale-looking temporary is removed
    fcntl = None

log = logging.getLogger(__name__)

MARKER_NAME = ".rnnkit"
#: Entries of a model folder saved by rnnkit before folders carried a marker.
LEGACY_MODEL_FILES = frozenset({"config.json", "model.safetensors", "checkpoint.json"})
_NEW, _OLD = ".rnnkit-new-", ".rnnkit-old-"
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
#: Tests and scripts/kill_outputs.py set this to False to exercise the rename fallback.
_USE_RENAMEAT2 = True


def _umask() -> int:
    try:  # Linux >= 4.7: read it without the set-and-restore race of os.umask
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0)
    os.umask(mask)
    return mask


# ----------------------------------------------------------------------------------- files
@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it to ``path``.

    >>> with atomic_path("model.safetensors") as tmp:
    ...     save_file(tensors, tmp)
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.chmod(0o666 & ~_umask())  # mkstemp makes 0600; give the file the usual permissions
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text(path: str | os.PathLike, text: str) -> None:
    """Atomically write ``text`` (UTF-8) to ``path``."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def json_safe(obj: Any) -> Any:
    """``obj`` with every non-finite float replaced by ``None``, ready for standard JSON.

    Walks dicts (key order kept), lists and tuples (both become lists); NumPy scalars and
    arrays (and torch tensors) become Python numbers and lists first. Other objects pass
    through unchanged, so ``json.dumps`` still rejects what JSON cannot hold.

    >>> json_safe({"loss": float("nan"), "x": np.array([1.0, np.inf])})
    {'loss': None, 'x': [1.0, None]}
    """
    if isinstance(obj, float):  # also np.float64, a float subclass
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, (str, int, type(None))):  # bool is an int
        return obj
    if isinstance(obj, Mapping):
        return {_json_key(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    tolist = getattr(obj, "tolist", None)
    if callable(tolist) and hasattr(obj, "dtype"):  # NumPy scalar or array, torch tensor
        return json_safe(tolist())
    return obj


def _json_key(key: Any) -> Any:
    item = getattr(key, "item", None)
    return item() if callable(item) and hasattr(key, "dtype") else key


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Atomically write ``obj`` as indented standard JSON to ``path``.

    NaN and ±inf (also inside NumPy scalars and arrays) are written as ``null``
    (:func:`json_safe`), never as the bare ``NaN``/``Infinity`` that JSON does not allow. A
    ``null`` says only "no number": a caller that writes one must write the reason beside
    it (e.g. ``"status": "failed: loss became NaN"``).
    """
    write_text(path, json.dumps(json_safe(obj), indent=2, allow_nan=False) + "\n")


# --------------------------------------------------------------------------------- folders
def check_output_dir(path: str | os.PathLike, overwrite: bool = False) -> Path:
    """Make sure rnnkit may write the output folder ``path``; return the path to write.

    Run it before any work, so a command fails before training rather than after. It
    recovers from an earlier run killed mid-swap and removes that run's stale temporaries,
    creates the parent folder, and raises ConfigError for a target that is not a folder or
    (unless ``overwrite``) holds anything rnnkit did not write (see the module docstring).
    The path returned is ``path``, or the folder it links to.
    """
    target = _check_target(path, overwrite)
    probe = tempfile.mkdtemp(prefix=f".{target.name}{_NEW}", dir=target.parent)  # writable?
    with suppress(FileNotFoundError):
        os.rmdir(probe)
    return target


@contextmanager
def atomic_directory(
    path: str | os.PathLike, *, overwrite: bool = False, what: str = "output"
) -> Iterator[Path]:
    """Yield an empty temporary folder; on success it replaces ``path`` whole.

    Checks ``path`` as :func:`check_output_dir` does, on entry and again before the swap.
    On success the folder gets the marker ``.rnnkit`` (``what`` says what it holds, e.g.
    ``"forecast"`` or ``"model"``), its modes are normalised and it is swapped in; whatever
    ``path`` held before is removed, never merged. On failure (an exception in the body or
    in the checks) the temporary folder is removed and ``path`` is untouched.
    """
    target = _check_target(path, overwrite)
    tmp, lock = _new_temp(target)
    try:
        yield tmp
        _write_marker(tmp, what)
        _normalise_modes(tmp)
        _check_target(target, overwrite)  # nothing foreign arrived while we worked
        _swap_into_place(tmp, target)
    finally:
        try:
            if tmp.exists():
                _rmtree(tmp)
        except OSError as err:  # never hide the result or the original error behind this
            log.warning("could not remove the temporary folder %s (the next write to %s "
                        "will): %s", tmp, target, err)
        finally:
            _unlock(lock)


def _check_target(path: str | os.PathLike, overwrite: bool) -> Path:
    target = Path(path)
    if target.name in ("", ".", ".."):
        target = Path(os.path.abspath(target))
    if target.is_symlink():
        if not target.is_dir():
            raise ConfigError(f"output folder {target} is a link to {os.readlink(target)}, "
                              f"which is not a folder; choose another path")
        target = Path(os.path.realpath(target))
    if not target.name:
        raise ConfigError(f"output folder {path} is the root folder; choose a folder in it")
    target.parent.mkdir(parents=True, exist_ok=True)
    _recover(target)
    if os.path.lexists(target):
        if not target.is_dir():
            raise ConfigError(f"output folder {target} exists and is not a folder; choose "
                              f"another path")
        entry = None if overwrite else _foreign_entry(target)
        if entry is not None:
            raise ConfigError(f"output folder {target} holds {entry!r}, which rnnkit did not "
                              f"write; pass --overwrite (overwrite=True) to replace it")
    return target


def _temporaries(target: Path) -> list[tuple[str, str, Path]]:
    """``(kind, token, path)`` of this target's temporary folders, kind "new" or "old"."""
    pattern = re.compile(rf"\.{re.escape(target.name)}\.rnnkit-(new|old)-([a-z0-9_]+)")
    found = []
    for entry in os.scandir(target.parent):
        m = pattern.fullmatch(entry.name)
        if m and entry.is_dir(follow_symlinks=False):
            found.append((m.group(1), m.group(2), Path(entry.path)))
    return sorted(found, key=lambda t: t[2].name)


def _recover(target: Path) -> None:
    """Put back an old folder a killed fallback swap left aside; remove stale temporaries."""
    temps = _temporaries(target)
    new = {token: p for kind, token, p in temps if kind == "new"}
    if not os.path.lexists(target):
        olds = [(p.stat().st_ctime, token, p) for kind, token, p in temps if kind == "old"]
        for _, token, old in sorted(olds, reverse=True):
            if token in new and _in_use(new[token]):
                return  # a writer is between its two renames right now
            _rename(old, target)
            log.warning("put back %s, left aside by an interrupted write", target)
            break
    keep_old = not os.path.lexists(target)  # then an -old- folder may be the only copy
    for kind, _, p in temps:  # with the target in place, every -old- folder is garbage too
        if not (kind == "old" and keep_old):
            _remove_if_stale(p)


def _foreign_entry(folder: Path) -> str | None:
    """The first entry (relative path) of ``folder`` that rnnkit did not write, or None."""
    marker = _read_json(folder / MARKER_NAME)
    if isinstance(marker, dict) and marker.get("written_by") == "rnnkit":
        files = marker.get("files")
        if not isinstance(files, list):
            return None  # a marker without a file list vouches for the whole folder
        known = {*files, MARKER_NAME}
    else:
        config = _read_json(folder / "config.json")
        legacy = isinstance(config, dict) and config.get("format") == "rnnkit.model"
        known = LEGACY_MODEL_FILES if legacy else set()
    return next((rel for rel in _walk(folder) if rel not in known), None)


def _read_json(path: Path) -> Any:
    if path.is_symlink() or not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _walk(folder: Path, prefix: str = "") -> Iterator[str]:
    """Every entry below ``folder`` as a relative POSIX path, sorted, parents first."""
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        rel = prefix + entry.name
        yield rel
        if entry.is_dir(follow_symlinks=False):
            yield from _walk(Path(entry.path), rel + "/")


def _write_marker(folder: Path, what: str) -> None:
    files = [rel for rel in _walk(folder) if rel != MARKER_NAME]
    write_json(folder / MARKER_NAME, {"written_by": "rnnkit", "version": __version__,
                                      "what": what, "files": files})


def _normalise_modes(folder: Path) -> None:
    umask = _umask()
    folder.chmod(0o777 & ~umask)
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            p = os.path.join(root, name)
            if not os.path.islink(p):
                os.chmod(p, (0o777 if name in dirs else 0o666) & ~umask)


# ------------------------------------------------------------------------------ the swap
def _swap_into_place(new: Path, target: Path) -> None:
    """Put the finished folder ``new`` at ``target`` and remove what was there.

    Steps, each of which may be cut by a kill: exchange (one step), or in the fallback
    rename target -> old, rename new -> target, rename old -> new; then remove ``new``
    (the old content). Until new -> target, the old folder is complete at target or at old.
    """
    if not os.path.lexists(target):
        _rename(new, target)
        return
    if not _exchange(new, target):
        old = new.with_name(new.name.replace(_NEW, _OLD, 1))
        _rename(target, old)
        try:
            _rename(new, target)
        except BaseException:
            _rename(old, target)  # if this fails too, the next check puts it back
            raise
        try:
            _rename(old, new)  # the old content where an exchange would have left it
        except OSError as err:
            log.warning("could not move aside the previous content of %s: %s", target, err)
            new = old
    try:
        _rmtree(new)
    except OSError as err:
        log.warning("wrote %s, but could not remove its previous content at %s (the next "
                    "write to it will): %s", target, new, err)


def _rename(src: Path, dst: Path) -> None:
    os.rename(src, dst)


def _rmtree(path: Path) -> None:
    """Remove a folder tree; entries that vanish meanwhile (another remover) are fine."""
    def missing_is_fine(func, p, exc_info):
        if not isinstance(exc_info[1], FileNotFoundError):
            raise exc_info[1]

    shutil.rmtree(path, onerror=missing_is_fine)


@functools.cache
def _libc_renameat2() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2  # glibc >= 2.28
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


def _exchange(a: Path, b: Path) -> bool:
    """Swap two existing paths in one atomic step; False where the system cannot."""
    fn = _libc_renameat2() if _USE_RENAMEAT2 else None
    if fn is None:
        return False
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False  # kernel or filesystem without RENAME_EXCHANGE
    raise OSError(err, os.strerror(err), str(a), None, str(b))


# --------------------------------------------------- liveness: writers flock their folder
def _new_temp(target: Path) -> tuple[Path, int | None]:
    """A new empty ``.NAME.rnnkit-new-XXXX`` folder beside ``target``, locked by us."""
    for _ in range(100):
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}{_NEW}", dir=target.parent))
        if fcntl is None:
            return tmp, None
        try:
            fd = os.open(tmp, os.O_RDONLY)
        except FileNotFoundError:
            continue  # a cleaner took it before we could open it
        fcntl.flock(fd, fcntl.LOCK_EX)  # waits only while a cleaner is removing it
        with suppress(FileNotFoundError):
            if os.path.samestat(os.fstat(fd), os.stat(tmp)):
                return tmp, fd
        os.close(fd)  # a cleaner removed it before we held it: make another
    raise OSError(errno.EAGAIN, "could not create a temporary folder", str(target.parent))


def _unlock(fd: int | None) -> None:
    if fd is not None:
        os.close(fd)  # closing the descriptor releases the flock


def _in_use(path: Path) -> bool:
    """Whether a running writer holds ``path`` (always False without fcntl)."""
    if fcntl is None:
        return False
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def _remove_if_stale(path: Path) -> None:
    """Remove a temporary folder unless a running writer holds it (held while removing)."""
    if fcntl is None:
        _rmtree(path)
        return
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return
    try:
        log.info("removing %s, left by an interrupted write", path)
        _rmtree(path)
    finally:
        os.close(fd)


__all__ = ["MARKER_NAME", "atomic_directory", "atomic_path", "check_output_dir", "json_safe",
           "write_json", "write_text"]
