"""Saving and loading models without pickle: safetensors weights + a JSON config.

A saved model is a folder::

    config.json        {"format": "rnnkit.model", "format_version": 1, "rnnkit_version": ...,
                        "model": {"class": ..., "config": {...}},   # rnnkit.nn.config.to_config
                        "dtype": "float32", "compile": {...} | null, "extra": {...}}
    model.safetensors  the state dict (parameters and persistent buffers)

``model`` rebuilds through the rnnkit.nn registry (:func:`rnnkit.nn.config.from_config`), so
only registered classes can be constructed: loading a folder cannot run arbitrary code.
``extra`` is any JSON-able dict the caller wants back (the forecaster stores its scalers
and settings there). ``compile`` holds ``Sequential.compile``'s arguments when they were all
given by name, and :func:`load_model` compiles the model again with them (fresh optimiser).

The folder is built under a temporary name and moved into place only on success
(:func:`rnnkit.fileio.atomic_directory`); single weight files are written to a temporary
name and renamed (:func:`rnnkit.fileio.atomic_path`). Weights holding NaN or inf are not
saved (TrainingFailed), and the same weights always give the same bytes.

Nothing read is trusted: a folder's files must be regular files (a named pipe is refused
without being opened), config.json valid UTF-8 JSON with known keys of the right types and a
whitelisted ``dtype``; the architecture is built on the "meta" device first and refused
above :data:`MAX_ELEMENTS` weights; every tensor of model.safetensors must match the rebuilt
model's name, shape and dtype and be finite. Each failure is a DataError naming the file.

    >>> save_model(model, "out/model", extra={"scaler": {"mean": 0.1, "std": 2.0}})
    >>> model = load_model("out/model")
    >>> model, extra = load_model("out/model", with_extra=True)
"""

from __future__ import annotations

import json
import math
import os
import struct
from pathlib import Path
from typing import Any

import safetensors
import safetensors.torch
import torch
from torch import nn

import rnnkit
from rnnkit.data.checks import open_regular, quote, read_bytes, regular_file, shorten
from rnnkit.errors import DataError, RnnkitError, TrainingFailed
from rnnkit.fileio import atomic_directory, atomic_path, write_json

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
FORMAT = "rnnkit.model"
FORMAT_VERSION = 1

#: Largest config.json read (bytes).
MAX_CONFIG_BYTES = 64 * 2**20
#: Largest safetensors header (bytes; safetensors itself allows 100 MB).
MAX_HEADER_BYTES = 100 * 2**20
#: Most tensor elements (parameters and buffers) a config may ask for: checked on the
#: "meta" device, before any memory is allocated.
MAX_ELEMENTS = 2**31
#: The dtypes a config may name (checked before ``getattr(torch, ...)``).
DTYPES = ("float16", "bfloat16", "float32", "float64")
#: Top-level keys of config.json and the JSON types each may have.
CONFIG_KEYS: dict[str, tuple[type, ...]] = {
    "format": (str,), "format_version": (int,), "rnnkit_version": (str,), "model": (dict,),
    "dtype": (str,), "compile": (dict, type(None)), "extra": (dict,),
}
#: safetensors dtype names of the torch dtypes a state dict may hold.
ST_DTYPES = {torch.float16: "F16", torch.bfloat16: "BF16", torch.float32: "F32",
             torch.float64: "F64", torch.int64: "I64", torch.int32: "I32",
             torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8", torch.bool: "BOOL"}
_ITEMSIZE = {"F16": 2, "BF16": 2, "F32": 4, "F64": 8, "I64": 8, "I32": 4, "I16": 2, "I8": 1,
             "U8": 1, "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1, "U16": 2, "U32": 4, "U64": 8}


def _float_dtype(module: nn.Module) -> torch.dtype:
    for p in module.parameters():
        if p.is_floating_point():
            return p.dtype
    return torch.get_default_dtype()


def check_finite_weights(module: nn.Module) -> None:
    """Raise TrainingFailed naming the first floating tensor of ``module``'s state dict that
    holds NaN or inf (a diverged model is not saved)."""
    for name, t in module.state_dict().items():
        if t.is_floating_point() and t.device.type != "meta" and not bool(
                torch.isfinite(t).all()):
            raise TrainingFailed(f"model weights hold NaN or inf in {name!r}; refusing to "
                                 f"save a diverged model")


def _sort_metadata(path: Path) -> None:
    """Rewrite the header of the safetensors file ``path`` in place with its metadata in
    sorted key order (safetensors writes it in hash order, which changes from run to run),
    so that saving the same weights twice gives the same bytes."""
    with open(path, "r+b") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        meta = header.pop("__metadata__", None)
        if meta is None:
            return
        header = {"__metadata__": dict(sorted(meta.items())), **header}
        raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
        if len(raw) > n:  # cannot happen: the same entries in another order
            raise RuntimeError(f"re-ordered safetensors header grew from {n} to {len(raw)}")
        f.seek(8)
        f.write(raw.ljust(n, b" "))


def save_weights(module: nn.Module, path: str | os.PathLike) -> None:
    """Write ``module``'s state dict to ``path`` (safetensors; atomic; the same weights give
    the same bytes).

    Tied (shared) tensors are stored once, as ``safetensors.torch.save_model`` does. Raises
    TrainingFailed naming the tensor if a weight is NaN or inf.
    """
    check_finite_weights(module)
    with atomic_path(path) as tmp:
        safetensors.torch.save_model(
            module, str(tmp), metadata={"format": "pt", "rnnkit_version": rnnkit.__version__}
        )
        _sort_metadata(Path(tmp))


def read_header(path: str | os.PathLike) -> dict[str, dict[str, Any]]:
    """The tensor entries ``{name: {"dtype", "shape", "data_offsets"}}`` of a safetensors
    file, checked against the file's size (DataError naming the file and the tensor when
    the file is not a regular file, truncated, or its header is not valid)."""
    path = Path(path)
    where = f"weights file {str(path)!r}"
    size = regular_file(path, "weights file", max_bytes=None).st_size
    if size < 8:
        raise DataError(f"{where} is truncated: {size} bytes, too short for a safetensors "
                        f"header")
    with open_regular(path, "weights file", max_bytes=None) as f:
        n = struct.unpack("<Q", f.read(8))[0]
        if n > min(size - 8, MAX_HEADER_BYTES):
            raise DataError(f"{where} is corrupt or truncated: its header claims {n} bytes, "
                            f"the file has {size - 8} after the length")
        raw = f.read(n)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        raise DataError(f"{where} has a corrupt header (not JSON: {shorten(err, 60)})"
                        ) from None
    if not isinstance(header, dict):
        raise DataError(f"{where} has a corrupt header: a JSON {type(header).__name__}, "
                        f"expected an object")
    data_size = size - 8 - n
    entries = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        shape = entry.get("shape") if isinstance(entry, dict) else None
        offsets = entry.get("data_offsets") if isinstance(entry, dict) else None
        dtype = entry.get("dtype") if isinstance(entry, dict) else None
        if (not isinstance(shape, list) or not isinstance(offsets, list) or len(offsets) != 2
                or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0
                           for d in [*shape, *offsets])
                or dtype not in _ITEMSIZE):
            raise DataError(f"{where}: tensor {quote(name)} has a corrupt header entry "
                            f"{quote(entry)}")
        begin, end = offsets
        if end - begin != math.prod(shape) * _ITEMSIZE[dtype] or end > data_size:
            raise DataError(f"{where}: tensor {quote(name)} has data offsets "
                            f"{quote(offsets)} that do not fit its shape {quote(shape)} "
                            f"({dtype}) or the file's {data_size} data bytes (truncated?)")
        entries[name] = {"dtype": dtype, "shape": shape, "data_offsets": offsets}
    return entries


def _check_against(module: nn.Module, entries: dict[str, dict[str, Any]], where: str,
                   strict: bool) -> None:
    """Every tensor of the file has the name, shape and dtype of one in ``module``'s state
    dict, and (``strict``) every tensor of the module is in the file (tied tensors: once)."""
    expected = module.state_dict(keep_vars=True)
    tied: dict[int, list[str]] = {}
    for name, t in expected.items():
        tied.setdefault(id(t), []).append(name)
    for name, entry in entries.items():
        if name not in expected:
            continue
        t = expected[name]
        if list(t.shape) != entry["shape"]:
            raise DataError(f"{where} does not fit the model: tensor {quote(name)} has shape "
                            f"{entry['shape']}, the model expects {list(t.shape)}")
        want = ST_DTYPES.get(t.dtype)
        if entry["dtype"] != want:
            raise DataError(f"{where} does not fit the model: tensor {quote(name)} is "
                            f"{entry['dtype']}, the model expects {want}")
    if not strict:
        return
    unexpected = sorted(set(entries) - set(expected))
    missing = sorted(names[0] for names in tied.values()
                     if not any(n in entries for n in names))
    if unexpected or missing:
        parts = ([f"missing tensors {quote(missing[:5])}"] if missing else []) + (
            [f"unexpected tensors {quote(unexpected[:5])}"] if unexpected else [])
        raise DataError(f"{where} does not fit the model: {'; '.join(parts)}")


def load_weights(module: nn.Module, path: str | os.PathLike, strict: bool = True) -> nn.Module:
    """Load a safetensors file written by :func:`save_weights` into ``module`` (in place).

    Raises DataError naming the file if it is missing, not a regular file, truncated or
    corrupt, if a tensor's name, shape or dtype does not match the module's (``strict``:
    also a missing or unexpected tensor), or if a tensor holds NaN or inf (named).
    """
    path = Path(path)
    where = f"weights file {str(path)!r}"
    entries = read_header(path)
    _check_against(module, entries, where, strict)
    device = next((p.device for p in module.parameters()), torch.device("cpu"))
    try:
        tensors = safetensors.torch.load_file(path, device=str(device))
    except (safetensors.SafetensorError, OSError, RuntimeError, ValueError) as err:
        raise DataError(f"{where} is corrupt: {shorten(err, 120)}") from None
    for name, t in tensors.items():
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            raise DataError(f"{where}: tensor {quote(name)} holds NaN or inf")
    expected = module.state_dict(keep_vars=True)
    tensors = {k: v for k, v in tensors.items() if k in expected}
    try:
        result = module.load_state_dict(tensors, strict=False)
    except RuntimeError as err:
        raise DataError(f"{where} does not fit the model: {shorten(err, 120)}") from None
    del result  # missing names are tied copies (checked above) or allowed (not strict)
    return module


def model_config(model: nn.Module, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``config.json`` content for ``model`` (raises ConfigError if not registered)."""
    from rnnkit.nn.config import to_config
    from rnnkit.train.sequential import Sequential

    arch = to_config(model)
    compile_config = model.compile_config() if isinstance(model, Sequential) else None
    cfg = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "rnnkit_version": rnnkit.__version__,
        "model": arch,
        "dtype": str(_float_dtype(model)).removeprefix("torch."),
        "compile": compile_config,
        "extra": {} if extra is None else extra,
    }
    try:
        json.dumps(cfg, allow_nan=True)
    except (TypeError, ValueError) as err:
        raise TypeError(f"extra must be a JSON-serialisable dict: {err}") from err
    return cfg


def write_model_files(
    model: nn.Module, folder: str | os.PathLike, extra: dict[str, Any] | None = None
) -> None:
    """Write ``config.json`` and ``model.safetensors`` into an existing ``folder``."""
    if extra is not None and not isinstance(extra, dict):
        raise TypeError(f"extra must be a dict or None, got {type(extra).__name__}")
    cfg = model_config(model, extra)
    folder = Path(folder)
    write_json(folder / CONFIG_NAME, cfg)
    save_weights(model, folder / WEIGHTS_NAME)


def save_model(
    model: nn.Module, directory: str | os.PathLike, extra: dict[str, Any] | None = None,
    *, overwrite: bool = False,
) -> Path:
    """Save ``model`` (a registered rnnkit.nn module or a :class:`Sequential` of them) and
    the JSON-able ``extra`` dict into ``directory``: created, or replaced whole if rnnkit
    wrote it; a folder holding other files is refused unless ``overwrite``.

    Returns the folder's path. Raises ConfigError for a model that has no config (save its
    weights with :func:`save_weights` instead) and TypeError for a non-JSON ``extra``.
    """
    model_config(model, extra)  # fail before touching the disk
    directory = Path(directory)
    with atomic_directory(directory, overwrite=overwrite, what="model") as tmp:
        write_model_files(model, tmp, extra)
    return directory


def _config_error(path: Path, message: str) -> DataError:
    return DataError(f"{str(path)!r}: {message}")


def check_config(cfg: Any, path: Path) -> dict[str, Any]:
    """Check the content of a config.json: a JSON object with ``"format": "rnnkit.model"``,
    only known keys, each of the right type, a supported ``format_version`` and a ``dtype``
    in :data:`DTYPES`. Returns ``cfg``; DataError naming ``path`` and the key otherwise."""
    if not isinstance(cfg, dict) or cfg.get("format") != FORMAT:
        raise DataError(f"{path} is not an rnnkit model config (no \"format\": \"{FORMAT}\")")
    unknown = sorted(k for k in cfg if k not in CONFIG_KEYS)
    if unknown:
        raise _config_error(path, f"unknown key {quote(unknown[0])}; known keys are "
                                  f"{sorted(CONFIG_KEYS)}")
    if "model" not in cfg:
        raise _config_error(path, "no 'model' entry (the architecture)")
    for key, types in CONFIG_KEYS.items():
        value = cfg.get(key)
        if key in cfg and (not isinstance(value, types) or isinstance(value, bool)):
            names = " or ".join("null" if t is type(None) else
                                {"str": "a string", "int": "an integer",
                                 "dict": "an object"}[t.__name__] for t in types)
            raise _config_error(path, f"{key!r} must be {names}, got {quote(value)}")
    version = cfg.get("format_version", FORMAT_VERSION)
    if not 1 <= version <= FORMAT_VERSION:
        raise _config_error(path, f"format_version {version}; this rnnkit reads 1 to "
                                  f"{FORMAT_VERSION}")
    if cfg.get("dtype", "float32") not in DTYPES:
        raise _config_error(path, f"dtype must be one of {list(DTYPES)}, got "
                                  f"{quote(cfg['dtype'])}")
    arch = cfg["model"]
    if not isinstance(arch.get("class"), str) or not isinstance(arch.get("config"), dict):
        raise _config_error(path, "'model' must be {\"class\": name, \"config\": {...}}, got "
                                  f"{quote(arch)}")
    return cfg


def read_config(directory: str | os.PathLike) -> dict[str, Any]:
    """The parsed ``config.json`` of a saved model folder.

    DataError naming the file if it is missing, not a regular file, larger than
    :data:`MAX_CONFIG_BYTES`, not UTF-8 JSON (a byte-order mark is fine), nested too deeply,
    or not a valid config (:func:`check_config`).
    """
    path = Path(directory) / CONFIG_NAME
    if not os.path.exists(path):
        raise DataError(f"{path} does not exist: {directory} is not a saved rnnkit model")
    raw = read_bytes(path, "model config", MAX_CONFIG_BYTES)
    try:
        cfg = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as err:
        raise _config_error(path, f"not UTF-8 (byte offset {err.start})") from None
    except json.JSONDecodeError as err:
        raise _config_error(path, f"not valid JSON: {err.msg} at line {err.lineno} column "
                                  f"{err.colno}") from None
    except RecursionError:
        raise _config_error(path, "not valid JSON: nested too deeply") from None
    return check_config(cfg, path)


def rebuild_model(arch: dict[str, Any], path: str | os.PathLike = CONFIG_NAME) -> nn.Module:
    """Rebuild the module described by ``arch`` (``{"class", "config"}``), first on the
    "meta" device to count its elements (refused above :data:`MAX_ELEMENTS` before any
    memory is allocated), then for real. Any failure is a DataError naming ``path``."""
    from rnnkit.nn.config import from_config

    def build(device: str | None) -> nn.Module:
        try:
            if device is None:
                return from_config(arch)
            with torch.device(device):
                return from_config(arch)
        except (TypeError, ValueError, RuntimeError, KeyError, IndexError, AttributeError,
                OverflowError, RecursionError, MemoryError) as err:
            msg = shorten(err) if isinstance(err, RnnkitError) else \
                shorten(f"{type(err).__name__}: {err}")
            raise _config_error(Path(path), f"the model does not build: {msg}") from None

    meta = build("meta")
    elements = sum(t.numel() for t in meta.state_dict().values())
    if elements > MAX_ELEMENTS:
        raise _config_error(Path(path), f"the model has {elements} weights, more than the "
                                        f"limit of {MAX_ELEMENTS}")
    return build(None)


def load_model(
    directory: str | os.PathLike, *, with_extra: bool = False, device: str = "cpu"
) -> nn.Module | tuple[nn.Module, dict[str, Any]]:
    """Rebuild a model saved by :func:`save_model` / ``Sequential.save``.

    Returns the model (moved to ``device``), or ``(model, extra)`` when ``with_extra=True``.
    A Sequential saved after ``compile`` with named loss/optimizer/metrics comes back
    compiled the same way (with a fresh optimiser state). Every problem with the folder is
    a DataError naming the file (see :func:`read_config`, :func:`rebuild_model`,
    :func:`load_weights`).
    """
    from rnnkit.train.sequential import Sequential

    path = Path(directory) / CONFIG_NAME
    cfg = read_config(directory)
    model = rebuild_model(cfg["model"], path)
    dtype = getattr(torch, cfg.get("dtype", "float32"))  # one of DTYPES: checked
    model = model.to(device=device, dtype=dtype)
    load_weights(model, Path(directory) / WEIGHTS_NAME)
    compile_config = cfg.get("compile")
    if isinstance(model, Sequential) and compile_config:
        try:
            model.compile(**compile_config, device=device)
        except (TypeError, ValueError, KeyError) as err:
            raise _config_error(path, f"'compile' does not compile the model: "
                                      f"{shorten(err)}") from None
    extra = cfg.get("extra") or {}
    return (model, extra) if with_extra else model


__all__ = [
    "CONFIG_NAME",
    "DTYPES",
    "WEIGHTS_NAME",
    "check_config",
    "check_finite_weights",
    "load_model",
    "load_weights",
    "model_config",
    "read_config",
    "read_header",
    "rebuild_model",
    "save_model",
    "save_weights",
    "write_model_files",
]
