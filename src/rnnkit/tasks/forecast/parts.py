"""A saved forecaster made of saved forecasters: one folder per part and an index file.

    model/                 save_parts(path, {"a": fa, "b": fb}, "series", "local.json", meta)
      local.json           {**meta, "folders": {"a": "series-0", "b": "series-1"},
      series-0/  series-1/  "data_info": {...}}

:class:`~rnnkit.tasks.forecast.local.LocalForecaster` (a part per series) and
:class:`~rnnkit.tasks.forecast.ensemble.EnsembleForecaster` (a part per member) are saved and
read this way; the folder is written atomically (:func:`rnnkit.fileio.atomic_directory`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rnnkit.errors import DataError

__all__ = ["load_parts", "save_parts"]


def save_parts(path: str | os.PathLike, parts: dict[str, Any], prefix: str, index: str,
               meta: dict[str, Any], data_info: dict[str, Any], overwrite: bool) -> Path:
    """Write ``<prefix>-<k>/`` (``parts``' k-th value's ``save``) and ``index`` (``meta``,
    each key's folder, ``data_info``) into ``path``, atomically."""
    from rnnkit.fileio import atomic_directory, write_json

    with atomic_directory(path, overwrite=overwrite, what="model") as tmp:
        folders = {}
        for k, (key, part) in enumerate(parts.items()):
            folders[key] = f"{prefix}-{k}"
            part.save(tmp / folders[key], data_info=data_info)
        write_json(tmp / index, {**meta, "folders": folders, "data_info": data_info})
    return Path(path)


def load_parts(path: str | os.PathLike, index: str, keys: str, what: str,
               load: Callable[[Path], Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``({key: load(folder)}, index contents)`` of a folder written by :func:`save_parts`,
    the keys in the order of the index's list ``keys``; a DataError naming the index file
    and ``what`` it should hold otherwise."""
    index_path = Path(path) / index
    try:
        meta = json.loads(index_path.read_text(encoding="utf-8"))
        names, folders = [str(n) for n in meta[keys]], meta["folders"]
        parts = {n: load(Path(path) / folders[n]) for n in names}
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise DataError(f"{index_path}: not a saved {what} ({err})") from None
    return parts, meta
