"""Static covariates of a global forecaster: one fixed vector per series id.

What a user gives (:func:`as_static`), each id mapped to one value per named column:

    a Panel's ``static`` (``load_panel(..., static_covariates=[...])``, ``--static-covariates``)
    a dict  ``{id: {"region": "north", "size": 120.0}}``  (names from the inner dicts)
            ``{id: [120.0, "north"]}`` or ``{id: 120.0}``   (names ``static_0``, ...)
    a pandas DataFrame with one row per id, the ids in its index (Darts'
            ``static_covariates`` frame; NeuralForecast's ``static_df`` after
            ``set_index("unique_id")``)

How they reach the network (:class:`StaticEncoder`, fitted on the training ids): a column
whose values are all numbers is standardised over the training series,
``(v - mean) / std`` (std 0 counts as 1); a column holding any text is categorical, one-hot
over the categories seen in training (in order of first appearance), and a category not seen
in training encodes as all zeros (a logged notice). The encoded vector ``s`` of a series is
appended to every input step of each of its windows, as Darts does for its RNN models.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from rnnkit.data.panel import Panel, is_frame, number_or_none
from rnnkit.errors import DataError

__all__ = ["StaticEncoder", "as_static"]

log = logging.getLogger(__name__)


def as_static(data: Any, names: Sequence[str] | None = None
              ) -> tuple[list[str], dict[str, list[float | str]]]:
    """``(names, {id: values})`` of any accepted form (module doc). ``names``: the columns
    expected (a fitted model's), checked when the data names its own."""
    if isinstance(data, Panel):
        if data.static is None:
            raise DataError("static_covariates: the Panel carries none (load it with "
                            "static_covariates=[columns])")
        own, table = list(data.static_names), {k: list(v) for k, v in data.static.items()}
    elif is_frame(data):
        own = [str(c) for c in data.columns]
        table = {str(k): [_value(v) for v in row]
                 for k, row in zip(data.index, data.to_numpy(dtype=object), strict=True)}
    elif isinstance(data, Mapping):
        own, table = _from_mapping(data, names)
    else:
        raise DataError(f"static_covariates must be a dict {{id: values}}, a DataFrame indexed "
                        f"by id, or a Panel loaded with static covariates; got "
                        f"{type(data).__name__}")
    if names is not None and own != list(names):
        raise DataError(f"static_covariates must name the columns {list(names)} the model was "
                        f"fitted with, got {own}")
    for key, row in table.items():
        for name, v in zip(own, row, strict=True):
            if isinstance(v, float) and not np.isfinite(v):
                raise DataError(f"static covariate {name!r} of series {key!r} is {v}; give a "
                                f"finite number or a category")
    return own, table


def _value(v: Any) -> float | str:
    if isinstance(v, (bool, int, float, np.number)):
        return float(v)
    if isinstance(v, str):
        return v
    raise DataError(f"a static covariate must be a number or a text category, got "
                    f"{type(v).__name__} {v!r}")


def _from_mapping(data: Mapping, names: Sequence[str] | None
                  ) -> tuple[list[str], dict[str, list[float | str]]]:
    table: dict[str, list[float | str]] = {}
    own: list[str] | None = None
    for key, row in data.items():
        if isinstance(row, Mapping):
            these = [str(n) for n in row]
            values = list(row.values())
        else:
            values = [row] if isinstance(row, (str, int, float, np.number)) else list(row)
            these = list(names) if names is not None and len(names) == len(values) else [
                f"static_{j}" for j in range(len(values))]
        if own is None:
            own = these
        elif these != own:
            raise DataError(f"static_covariates: series {str(key)!r} has {these}, but the "
                            f"first series has {own}; give every id the same columns")
        table[str(key)] = [_value(v) for v in values]
    if own is None:
        raise DataError("static_covariates is empty; give each series id its values")
    return own, table


class StaticEncoder:
    """Encodes static covariate rows into vectors of ``width`` numbers (module doc)."""

    def __init__(self, names: list[str], columns: list[dict[str, Any]]) -> None:
        self.names = names
        self.columns = columns  # each {"kind": "numeric", "mean", "std"} or
        #                         {"kind": "categorical", "categories": [...]}

    @classmethod
    def fit(cls, names: list[str], rows: list[list[float | str]]) -> StaticEncoder:
        columns = []
        for j in range(len(names)):
            values = [r[j] for r in rows]
            if any(isinstance(v, str) for v in values):
                columns.append({"kind": "categorical",
                                "categories": list(dict.fromkeys(str(v) for v in values))})
            else:
                a = np.asarray(values, dtype=np.float64)
                std = float(a.std())
                columns.append({"kind": "numeric", "mean": float(a.mean()),
                                "std": std if std > 0 else 1.0})
        return cls(list(names), columns)

    @property
    def width(self) -> int:
        return sum(len(c["categories"]) if c["kind"] == "categorical" else 1
                   for c in self.columns)

    def encode(self, key: str, row: list[float | str]) -> np.ndarray:
        """The vector ``(width,)`` of series ``key``'s values ``row``."""
        out = []
        for name, c, v in zip(self.names, self.columns, row, strict=True):
            if c["kind"] == "numeric":
                number = v if isinstance(v, float) else number_or_none(v)
                if number is None:
                    raise DataError(f"static covariate {name!r} of series {key!r} must be a "
                                    f"number like in training, got {v!r}")
                out.append([(number - c["mean"]) / c["std"]])
            else:
                onehot = [float(str(v) == cat) for cat in c["categories"]]
                if not any(onehot):
                    log.warning("static covariate %r of series %r: category %r was not seen "
                                "in training (known: %s); it encodes as all zeros", name, key,
                                v, ", ".join(map(repr, c["categories"])))
                out.append(onehot)
        return np.concatenate(out) if out else np.zeros(0)

    def to_dict(self) -> dict[str, Any]:
        return {"names": self.names, "columns": self.columns}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StaticEncoder:
        names, columns = [str(n) for n in d["names"]], list(d["columns"])
        if len(names) != len(columns) or any(c.get("kind") not in ("numeric", "categorical")
                                             for c in columns):
            raise ValueError("static encoder: one numeric or categorical column per name")
        return cls(names, columns)

