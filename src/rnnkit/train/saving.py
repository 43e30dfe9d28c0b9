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
name and renamed (:func:`rnnkit.fileio.atomic_path`).

    >>> save_model(model, "out/model", extra={"scaler": {"mean": 0.1, "std": 2.0}})
    >>> model = load_model("out/model")
    >>> model, extra = load_model("out/model", with_extra=True)
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import safetensors.torch
import torch
from torch import nn

import rnnkit
from rnnkit.errors import ConfigError, DataError
from rnnkit.fileio import atomic_directory, atomic_path, write_json

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
FORMAT = "rnnkit.model"
FORMAT_VERSION = 1


def _float_dtype(module: nn.Module) -> torch.dtype:
    for p in module.parameters():
        if p.is_floating_point():
            return p.dtype
    return torch.get_default_dtype()


def save_weights(module: nn.Module, path: str | os.PathLike) -> None:
    """Write ``module``'s state dict to ``path`` (safetensors; atomic).

    Tied (shared) tensors are stored once, as ``safetensors.torch.save_model`` does.
    """
    with atomic_path(path) as tmp:
        safetensors.torch.save_model(
            module, str(tmp), metadata={"format": "pt", "rnnkit_version": rnnkit.__version__}
        )


def load_weights(module: nn.Module, path: str | os.PathLike, strict: bool = True) -> nn.Module:
    """Load a safetensors file written by :func:`save_weights` into ``module`` (in place).

    Raises DataError naming the file if it is missing, unreadable, or (``strict``) its
    tensor names or shapes do not match the module's.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"weights file {path} does not exist")
    device = next((p.device for p in module.parameters()), torch.device("cpu"))
    try:
        safetensors.torch.load_model(module, path, strict=strict, device=str(device))
    except (RuntimeError, OSError, ValueError) as err:
        msg = str(err).strip().splitlines()
        raise DataError(
            f"weights file {path} does not fit the model: {msg[0] if msg else err}"
        ) from err
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


def read_config(directory: str | os.PathLike) -> dict[str, Any]:
    """The parsed ``config.json`` of a saved model folder (DataError if missing or invalid)."""
    path = Path(directory) / CONFIG_NAME
    if not path.is_file():
        raise DataError(f"{path} does not exist: {directory} is not a saved rnnkit model")
    try:
        cfg = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DataError(f"{path} is not valid JSON: {err}") from err
    if not isinstance(cfg, dict) or cfg.get("format") != FORMAT:
        raise DataError(f"{path} is not an rnnkit model config (no \"format\": \"{FORMAT}\")")
    if cfg.get("format_version", 0) > FORMAT_VERSION:
        raise DataError(
            f"{path} has format_version {cfg['format_version']}; this rnnkit reads up to "
            f"{FORMAT_VERSION}"
        )
    return cfg


def load_model(
    directory: str | os.PathLike, *, with_extra: bool = False, device: str = "cpu"
) -> nn.Module | tuple[nn.Module, dict[str, Any]]:
    """Rebuild a model saved by :func:`save_model` / ``Sequential.save``.

    Returns the model (moved to ``device``), or ``(model, extra)`` when ``with_extra=True``.
    A Sequential saved after ``compile`` with named loss/optimizer/metrics comes back
    compiled the same way (with a fresh optimiser state).
    """
    from rnnkit.nn.config import from_config
    from rnnkit.train.sequential import Sequential

    cfg = read_config(directory)
    try:
        model = from_config(cfg["model"])
    except KeyError as err:
        raise DataError(f"{Path(directory) / CONFIG_NAME} has no {err} entry") from err
    except ConfigError as err:
        raise ConfigError(f"{Path(directory) / CONFIG_NAME}: {err}") from err
    dtype = getattr(torch, str(cfg.get("dtype", "float32")), None)
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise DataError(f"{Path(directory) / CONFIG_NAME}: unknown dtype {cfg.get('dtype')!r}")
    model = model.to(device=device, dtype=dtype)
    load_weights(model, Path(directory) / WEIGHTS_NAME)
    compile_config = cfg.get("compile")
    if isinstance(model, Sequential) and compile_config:
        model.compile(**compile_config, device=device)
    extra = cfg.get("extra") or {}
    return (model, extra) if with_extra else model


__all__ = ["CONFIG_NAME", "WEIGHTS_NAME", "load_model", "load_weights", "model_config",
           "read_config", "save_model", "save_weights", "write_model_files"]
