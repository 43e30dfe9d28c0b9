r"""Weights in and out: torch.nn modules, Keras arrays, the book's layout, the reference engine.

rnnkit stores torch.nn's layout (see :mod:`rnnkit.nn.cells`): per cell ``weight_ih (G*H, D)``,
``weight_hh (G*H, H)``, ``bias_ih``, ``bias_hh`` (G*H,), gate blocks LSTM i, f, g, o and GRU
r, z, n. A layer's cells are numbered l*Dir + d like torch.nn's ``weight_ih_l{l}[_reverse]``.

torch.nn (both ways, all layers and directions)::

    layer = from_torch(torch.nn.LSTM(3, 8, num_layers=2, bidirectional=True))
    module = to_torch(layer)            # torch.nn.LSTM(..., batch_first=True), same weights

Keras (import), for one cell (a layer's ``layer``-th, ``direction``-th cell) -- the mapping:

=========  ======================  =================================================
Keras      shapes                  rnnkit / torch.nn
=========  ======================  =================================================
SimpleRNN  kernel (D, H)           weight_ih = kernel^T; weight_hh = recurrent^T;
           recurrent (H, H)        bias_ih = bias; bias_hh = 0
           bias (H,)
LSTM       kernel (D, 4H) i,f,c,o  same gate order (Keras c = torch g): weight_ih =
           recurrent (H, 4H)       kernel^T, weight_hh = recurrent^T, bias_ih = bias,
           bias (4H,)              bias_hh = 0
GRU        kernel (D, 3H) z,r,h    blocks reordered z,r,h -> r,z,n; reset_after=True:
(reset_    recurrent (H, 3H)       bias (2, 3H), row 0 -> bias_ih, row 1 -> bias_hh
after)     bias (2, 3H)            (Keras h' = z h + (1-z) h~ is torch's h' = (1-z) n + z h)
=========  ======================  =================================================

The book (Deep Learning from Scratch 2) packs an LSTM as ``Wx (D, 4H)``, ``Wh (H, 4H)``,
``b (4H,)`` in gate order f, g, i, o: :func:`load_book_lstm` maps it (blocks f,g,i,o -> i,f,g,o).

Reference engine (``rnnkit.ref`` Time layers, ``params = [W_ih, W_hh, b_ih, b_hh]`` (+ ``[gamma,
beta]`` = ``ln_weight, ln_bias``) in torch layout): :func:`to_ref` / :func:`from_ref` /
:func:`load_ref`.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from rnnkit.nn.cells import Cell, GatedCell, GRUCell, LSTMCell, SimpleRNNCell
from rnnkit.nn.ln_cells import LNGatedCell, LNGRUCell, LNLSTMCell, LNSimpleRNNCell
from rnnkit.nn.recurrent import Recurrent
from rnnkit.nn.rnn import GRU, LSTM, SimpleRNN

_TORCH_LAYERS = {nn.LSTM: LSTM, nn.GRU: GRU, nn.RNN: SimpleRNN}
_TORCH_CELLS = {nn.LSTMCell: LSTMCell, nn.GRUCell: GRUCell, nn.RNNCell: SimpleRNNCell}
#: a cell's torch-layout weights, in the order torch.nn lists them
_WEIGHTS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def _copy_(dst: torch.Tensor, src: Any, name: str) -> None:
    src_t = torch.as_tensor(np.asarray(src) if not isinstance(src, torch.Tensor) else src)
    if tuple(src_t.shape) != tuple(dst.shape):
        raise ValueError(f"{name} must have shape {tuple(dst.shape)}, got {tuple(src_t.shape)}")
    with torch.no_grad():
        dst.copy_(src_t.to(dst.dtype))


def _cells(target: Cell | Recurrent) -> list[Cell]:
    if isinstance(target, Cell):
        return [target]
    if isinstance(target, Recurrent):
        return list(target.cells)
    raise TypeError(
        f"target must be an rnnkit.nn Cell or Recurrent layer, got {type(target).__name__}"
    )


def _pick(target: Cell | Recurrent, layer: int, direction: int) -> GatedCell:
    cells = _cells(target)
    dirs = target.num_directions if isinstance(target, Recurrent) else 1
    idx = layer * dirs + direction
    if not (0 <= direction < dirs) or not (0 <= idx < len(cells)):
        raise ValueError(
            f"layer/direction must address one of {len(cells)} cells, got layer={layer}, "
            f"direction={direction}"
        )
    cell = cells[idx]
    if not isinstance(cell, GatedCell):
        raise TypeError(f"cell must be a standard or LN rnnkit cell, got {type(cell).__name__}")
    return cell


# -- torch.nn -------------------------------------------------------------------------------
def _copy_torch_weights_(cell: GatedCell, module: nn.Module, sfx: str, *, into_cell: bool) -> None:
    """Copy the weights ``cell`` has to (or, ``into_cell``, from) ``module``'s ``<name><sfx>``."""
    for name in _WEIGHTS:
        mine = getattr(cell, name)
        if mine is None:  # bias=False
            continue
        theirs = getattr(module, name + sfx)
        if into_cell:
            _copy_(mine, theirs, name + sfx)
        else:
            _copy_(theirs, mine, name + sfx)


def _torch_layer_cells(
    cells: Sequence[Cell], num_layers: int, dirs: int
) -> Iterator[tuple[Any, str]]:
    """(cell, torch.nn suffix ``_l{l}[_reverse]``) for the cells of a stack, torch order."""
    for l in range(num_layers):
        for d in range(dirs):
            yield cells[l * dirs + d], f"_l{l}" + ("_reverse" if d else "")


def from_torch(module: nn.Module, **layer_kwargs: Any) -> Recurrent | GatedCell:
    """An rnnkit layer (or cell) with the weights of a torch.nn LSTM/GRU/RNN (or *Cell).

    ``layer_kwargs`` (e.g. ``return_sequences=True``) go to the rnnkit layer; num_layers,
    bidirectional, bias, dropout and nonlinearity are taken from ``module``. The rnnkit layer
    is batch first whatever ``module.batch_first`` is.
    """
    for tcls, rcls in _TORCH_CELLS.items():
        if type(module) is tcls:
            kw = {"nonlinearity": module.nonlinearity} if tcls is nn.RNNCell else {}
            cell = rcls(module.input_size, module.hidden_size, bias=module.bias, **kw)
            cell.to(dtype=module.weight_ih.dtype, device=module.weight_ih.device)
            _copy_torch_weights_(cell, module, "", into_cell=True)
            return cell
    rcls = _TORCH_LAYERS.get(type(module))
    if rcls is None:
        raise TypeError(
            "module must be a torch.nn LSTM, GRU, RNN, LSTMCell, GRUCell or RNNCell, "
            f"got {type(module).__name__}"
        )
    if getattr(module, "proj_size", 0):
        raise ValueError(f"proj_size must be 0 (no projections), got {module.proj_size}")
    kw: dict[str, Any] = {
        "bidirectional": module.bidirectional,
        "bias": module.bias,
        "dropout": module.dropout if module.num_layers > 1 else 0.0,
        **layer_kwargs,
    }
    if rcls is SimpleRNN:
        kw["nonlinearity"] = "tanh" if module.mode == "RNN_TANH" else "relu"
    layer = rcls(module.input_size, module.hidden_size, module.num_layers, **kw)
    layer.to(dtype=module.weight_ih_l0.dtype, device=module.weight_ih_l0.device)
    dirs = 2 if module.bidirectional else 1
    for cell, sfx in _torch_layer_cells(layer.cells, module.num_layers, dirs):
        _copy_torch_weights_(cell, module, sfx, into_cell=True)
    return layer


def to_torch(target: Recurrent | GatedCell) -> nn.Module:
    """A torch.nn LSTM/GRU/RNN (batch_first=True) or *Cell with the weights of ``target``."""
    if isinstance(target, Cell):
        cls = type(target)
        tcls = {LSTMCell: nn.LSTMCell, GRUCell: nn.GRUCell, SimpleRNNCell: nn.RNNCell}.get(cls)
        if tcls is None:
            raise TypeError(f"target must be a standard cell, got {cls.__name__}")
        kw = {"nonlinearity": target.nonlinearity} if cls is SimpleRNNCell else {}
        w = target.weight_ih
        module = tcls(target.input_size, target.hidden_size, bias=target.bias, **kw)
        module.to(dtype=w.dtype, device=w.device)
        _copy_torch_weights_(target, module, "", into_cell=False)
        return module
    if not isinstance(target, Recurrent):
        raise TypeError(f"target must be an rnnkit Recurrent layer, got {type(target).__name__}")
    kinds = {type(c) for c in target.cells}
    if len(kinds) != 1 or next(iter(kinds)) not in (LSTMCell, GRUCell, SimpleRNNCell):
        raise TypeError(
            "to_torch needs standard LSTM/GRU/SimpleRNN cells, "
            f"got {sorted(k.__name__ for k in kinds)}"
        )
    kind = kinds.pop()
    c0 = target.cells[0]
    kw = {}
    if kind is SimpleRNNCell:
        kw["nonlinearity"] = c0.nonlinearity
    tcls = {LSTMCell: nn.LSTM, GRUCell: nn.GRU, SimpleRNNCell: nn.RNN}[kind]
    module = tcls(
        target.input_size,
        target.hidden_size,
        target.num_layers,
        bias=c0.bias,
        batch_first=True,
        dropout=target.dropout if target.num_layers > 1 else 0.0,
        bidirectional=target.bidirectional,
        **kw,
    )
    module.to(dtype=c0.weight_ih.dtype, device=c0.weight_ih.device)
    for cell, sfx in _torch_layer_cells(target.cells, target.num_layers, target.num_directions):
        _copy_torch_weights_(cell, module, sfx, into_cell=False)
    return module


# -- Keras ----------------------------------------------------------------------------------
def _blocks(a: np.ndarray, order: Sequence[int], G: int, axis: int) -> np.ndarray:
    parts = np.split(a, G, axis=axis)
    return np.concatenate([parts[i] for i in order], axis=axis)


def keras_to_torch(
    kind: str, kernel: Any, recurrent_kernel: Any, bias: Any = None
) -> dict[str, np.ndarray]:
    """Map Keras arrays of a "SimpleRNN" | "LSTM" | "GRU" layer to torch-layout arrays.

    Returns ``{"weight_ih", "weight_hh", "bias_ih", "bias_hh"}`` (see the table in the module
    doc). GRU weights must come from ``reset_after=True`` (bias of shape (2, 3H)).
    """
    G = {"SimpleRNN": 1, "LSTM": 4, "GRU": 3}.get(kind)
    if G is None:
        raise ValueError(f"kind must be 'SimpleRNN', 'LSTM' or 'GRU', got {kind!r}")
    k = np.asarray(kernel, dtype=np.float64)
    rk = np.asarray(recurrent_kernel, dtype=np.float64)
    if k.ndim != 2 or k.shape[1] % G:
        raise ValueError(f"kernel must have shape (D, {G}*H), got {k.shape}")
    H = k.shape[1] // G
    if rk.shape != (H, G * H):
        raise ValueError(f"recurrent_kernel must have shape (H={H}, {G * H}), got {rk.shape}")
    order = [1, 0, 2] if kind == "GRU" else list(range(G))  # Keras z,r,h -> torch r,z,n
    w_ih = _blocks(k.T, order, G, axis=0)  # (G*H, D)
    w_hh = _blocks(rk.T, order, G, axis=0)  # (G*H, H)
    if bias is None:
        b_ih, b_hh = np.zeros(G * H), np.zeros(G * H)
    else:
        b = np.asarray(bias, dtype=np.float64)
        if kind == "GRU":
            if b.shape != (2, G * H):
                raise ValueError(
                    f"GRU bias must have shape (2, {G * H}) (reset_after=True), got {b.shape}"
                )
            b_ih, b_hh = _blocks(b[0], order, G, 0), _blocks(b[1], order, G, 0)
        else:
            if b.shape != (G * H,):
                raise ValueError(f"bias must have shape ({G * H},), got {b.shape}")
            b_ih, b_hh = b, np.zeros(G * H)
    return {"weight_ih": w_ih, "weight_hh": w_hh, "bias_ih": b_ih, "bias_hh": b_hh}


def _load_arrays(cell: GatedCell, arrays: dict[str, np.ndarray]) -> None:
    for name, value in arrays.items():
        dst = getattr(cell, name)
        if dst is None:
            if np.any(value):
                raise ValueError(f"{name} is non-zero but the cell has bias=False")
            continue
        _copy_(dst, value, name)


def _kind(cell: GatedCell) -> str:
    return {1: "SimpleRNN", 4: "LSTM", 3: "GRU"}[cell.gates]


def load_keras(
    target: Cell | Recurrent,
    kernel: Any,
    recurrent_kernel: Any,
    bias: Any = None,
    *,
    layer: int = 0,
    direction: int = 0,
) -> None:
    """Copy one Keras layer's weights into ``target``'s cell (layer, direction), in place."""
    cell = _pick(target, layer, direction)
    _load_arrays(cell, keras_to_torch(_kind(cell), kernel, recurrent_kernel, bias))


def load_book_lstm(
    target: Cell | Recurrent, Wx: Any, Wh: Any, b: Any, *, layer: int = 0, direction: int = 0
) -> None:
    """Copy a Deep-Learning-from-Scratch-2 LSTM (Wx (D, 4H), Wh (H, 4H), b (4H,), gates
    f, g, i, o) into an LSTM cell of ``target``, in place."""
    cell = _pick(target, layer, direction)
    if cell.gates != 4:
        raise TypeError(f"target cell must be an LSTM cell, got {type(cell).__name__}")
    order = [2, 0, 1, 3]  # book f,g,i,o -> torch i,f,g,o
    Wx, Wh, b = (np.asarray(a, dtype=np.float64) for a in (Wx, Wh, b))
    _load_arrays(
        cell,
        {
            "weight_ih": _blocks(Wx.T, order, 4, 0),
            "weight_hh": _blocks(Wh.T, order, 4, 0),
            "bias_ih": _blocks(b, order, 4, 0),
            "bias_hh": np.zeros_like(b),
        },
    )


# -- reference engine -----------------------------------------------------------------------
_REF_NAMES = {
    SimpleRNNCell: "TimeRNN",
    LSTMCell: "TimeLSTM",
    GRUCell: "TimeGRU",
    LNSimpleRNNCell: "TimeLNRNN",
    LNLSTMCell: "TimeLNLSTM",
    LNGRUCell: "TimeLNGRU",
}


def _ref_class(name: str) -> type:
    ref = importlib.import_module("rnnkit.ref")
    cls = getattr(ref, name, None)
    if cls is None:
        raise ImportError(f"rnnkit.ref has no {name}")
    return cls


def _cell_params(cell: GatedCell) -> list[np.ndarray]:
    GH = cell.gates * cell.hidden_size

    def arr(p: torch.Tensor | None) -> np.ndarray:
        return np.zeros(GH) if p is None else p.detach().cpu().double().numpy().copy()

    params = [arr(cell.weight_ih), arr(cell.weight_hh), arr(cell.bias_ih), arr(cell.bias_hh)]
    if isinstance(cell, LNGatedCell):
        params += [arr(cell.ln_weight), arr(cell.ln_bias)]
    return params


def to_ref(target: Cell | Recurrent, *, dtype: str = "float64", stateful: bool = False) -> Any:
    """Reference-engine Time layer(s) with ``target``'s weights: one for a cell, a list in
    torch order (l*Dir + d) for a Recurrent layer."""
    out = []
    for cell in _cells(target):
        name = _REF_NAMES.get(type(cell))
        if name is None:
            raise TypeError(f"no reference-engine layer for {type(cell).__name__}")
        kw = {}
        if getattr(cell, "nonlinearity", "tanh") != "tanh":
            kw["nonlinearity"] = cell.nonlinearity
        layer = _ref_class(name)(
            cell.input_size, cell.hidden_size, stateful=stateful, dtype=dtype, **kw
        )
        layer.set_params([p.astype(dtype) for p in _cell_params(cell)])
        out.append(layer)
    return out[0] if isinstance(target, Cell) else out


def _load_ref_params(cell: GatedCell, params: Sequence[Any]) -> None:
    names = list(_WEIGHTS)
    if isinstance(cell, LNGatedCell):
        names += ["ln_weight", "ln_bias"]
    if len(params) != len(names):
        raise ValueError(f"params must hold {len(names)} arrays {names}, got {len(params)}")
    _load_arrays(cell, dict(zip(names, params, strict=True)))


def from_ref(ref_layer: Any) -> GatedCell:
    """A cell with the weights of a reference-engine Time layer (TimeLSTM -> LSTMCell, ...)."""
    name = type(ref_layer).__name__
    by_name = {v: k for k, v in _REF_NAMES.items()}
    cls = by_name.get(name)
    if cls is None:
        raise TypeError(f"ref_layer must be one of {sorted(by_name)}, got {name}")
    kw = {}
    nonlin = getattr(ref_layer, "nonlinearity", "tanh")
    if cls in (SimpleRNNCell, LNSimpleRNNCell):
        kw["nonlinearity"] = nonlin
    cell = cls(ref_layer.input_size, ref_layer.hidden_size, **kw)
    if np.dtype(ref_layer.params[0].dtype) == np.float64:
        cell.double()
    _load_ref_params(cell, ref_layer.params)
    return cell


def load_ref(target: Cell | Recurrent, ref_layers: Any) -> None:
    """Copy reference-engine weights into ``target`` in place (a list in torch order for a
    Recurrent layer, one Time layer for a cell)."""
    cells = _cells(target)
    layers = [ref_layers] if not isinstance(ref_layers, (list, tuple)) else list(ref_layers)
    if len(layers) != len(cells):
        raise ValueError(f"ref_layers must hold {len(cells)} Time layers, got {len(layers)}")
    for cell, rl in zip(cells, layers, strict=True):
        if _REF_NAMES.get(type(cell)) != type(rl).__name__:
            raise TypeError(
                f"ref layer {type(rl).__name__} does not match cell {type(cell).__name__}"
            )
        _load_ref_params(cell, rl.params)
