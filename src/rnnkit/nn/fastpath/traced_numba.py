r"""The traced path's time loops compiled by Numba from a user cell's step graphs.

:mod:`rnnkit.nn.fastpath.traced` cuts a cell's step into a forward graph and a backward graph
of aten ops. TorchScript (:mod:`~rnnkit.nn.fastpath.traced_loops`) still runs them one torch op
at a time: at (64, 50, 1, 20) the user LSTM cell's training step is about 40 element-wise ops a
step, each a few microseconds of dispatch around well under a microsecond of arithmetic. Here
each graph becomes the body of a Numba time loop (``forward_loop``, ``backward_loop``), with no
Python or dispatch between the steps:

- **element-wise ops** (add, mul, sigmoid, tanh, their backward ops, ...) of one output shape
  with no product between them run in one loop over the entries, each op one scalar expression
  (sigmoid and tanh by :func:`rnnkit.nn.fastpath.jit.sigmoid`, which LLVM vectorises). Only
  the values read after the loop are stored; a value read once through the pieces of a split
  is not stored at all (:class:`_Inline`), and the pieces of a concatenation are written into
  it in place. The LSTM's forward step is one product and one loop;
- **products** (``mm``; ``addmm`` is a product and an add) call BLAS through Numba's
  ``np.dot``, on one thread (:func:`~rnnkit.nn.fastpath.jit.blas_on_one_thread`); **layout
  ops** (view, permute, split, cat, ...) are NumPy calls, and a split along the last axis is
  read in place (an offset into the columns);
- anything else (layer norm, erf, random numbers, integer values, ...) has no translation: the
  step keeps the TorchScript loops (:class:`Untranslatable`; the reason is in
  ``TracedStep.loops_on``).

Arrays: p (B, T, P), hs (B, T, H), dh (B, T, H), dp (B, T, P) and the frontier values (the
per-step inputs of the parameter gradients, see :mod:`~rnnkit.nn.fastpath.traced`, (B, T, ...))
are batch-major, as the layer holds them, and the loops index their step t in place
(``p[b, t, j]``); each step's input state and saved values are kept time-major, (T, B, ...).
``valid`` (B, T) keeps the state and zeroes the output of padded steps, as the TorchScript loops
do. :class:`SplitLoops` runs two half batches on two threads.

The generated source is written to ``$RNNKIT_CACHE/traced/<hash>.py`` (see
:func:`rnnkit.data.download.cache_dir`) and compiled with ``cache=True``: the compile (about 4 s
for the LSTM cell) is paid once per installation, cell, step shape and dtype; an unwritable
cache folder leaves a compile per process.
"""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import itertools
import operator
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, fx

from rnnkit.nn.fastpath.jit import blas_on_one_thread, on_two_threads

aten = torch.ops.aten

__all__ = ["NumbaLoops", "SplitLoops", "Untranslatable", "compile_loops"]


class Untranslatable(Exception):
    """A graph has an op or shape the generator does not handle; the message says which."""


# -- element-wise ops: each one scalar expression over its arguments' expressions (a number
# argument arrives as its literal, DT(x); keyword arguments as they are) ----------------------
def _add(a, b, alpha=1):
    return f"({a} + {b})" if alpha == 1 else f"({a} + {_lit(alpha)} * {b})"


def _sub(a, b, alpha=1):
    return f"({a} - {b})" if alpha == 1 else f"({a} - {_lit(alpha)} * {b})"


def _pow(a, e):
    return f"({a} * {a})" if e == _lit(2) else f"({a} ** {e})"


ELEMENTWISE: dict[object, Callable[..., str]] = {
    aten.add: _add,
    aten.sub: _sub,
    aten.rsub: lambda a, b, alpha=1: _sub(b, a, alpha),
    aten.mul: lambda a, b: f"({a} * {b})",
    aten.div: lambda a, b: f"({a} / {b})",
    aten.neg: lambda a: f"(-{a})",
    aten.pow: _pow,
    aten.sigmoid: lambda a: f"sigmoid({a})",
    aten.tanh: lambda a: f"(TWO * sigmoid(TWO * {a}) - ONE)",
    aten.relu: lambda a: f"max({a}, ZERO)",
    aten.exp: lambda a: f"np.exp({a})",
    aten.log: lambda a: f"np.log({a})",
    aten.sqrt: lambda a: f"np.sqrt({a})",
    aten.rsqrt: lambda a: f"(ONE / np.sqrt({a}))",
    aten.abs: lambda a: f"abs({a})",
    aten.maximum: lambda a, b: f"max({a}, {b})",
    aten.minimum: lambda a, b: f"min({a}, {b})",
    aten.sigmoid_backward: lambda g, y: f"({g} * {y} * (ONE - {y}))",
    aten.tanh_backward: lambda g, y: f"({g} * (ONE - {y} * {y}))",
    aten.threshold_backward: lambda g, y, thr: f"({g} if {y} > {thr} else ZERO)",
}
#: ops that return their input's values (no mutation happens in a traced step)
ALIASES = {aten.alias, aten.detach, aten.clone, aten.lift_fresh_copy}


def _lit(v) -> str:
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise Untranslatable(f"a scalar argument {v!r}")
    return f"DT({float(v)!r})"


@dataclass
class _Array:
    """A matrix or vector of the generated code: ``name``; or its columns ``off:off+shape[-1]``
    when ``off`` is set (a split along the last axis, read in place); or, with ``time``, step t
    of the (B, T, ...) array ``name``, ``name[:, t]``, which the loops index as
    ``name[b, t, j]`` (a view of it would have Numba's strided layout, whose loops LLVM does
    not vectorise)."""

    name: str
    shape: tuple[int, ...]
    contiguous: bool
    off: int | None = None
    time: bool = False

    def whole(self) -> str:
        cols = "" if self.off is None else f", {self.off}:{self.off + self.shape[-1]}"
        if self.time:
            return f"{self.name}[:, t{cols}]"
        return self.name if self.off is None else f"{self.name}[:{cols}]"

    def dense(self) -> str:
        """A C-contiguous expression of the values (a copy when needed)."""
        plain = self.contiguous and self.off is None and not self.time
        return self.whole() if plain else f"np.ascontiguousarray({self.whole()})"

    def at(self, out_shape: tuple[int, ...], rows: str = "b", cols: str = "j") -> str:
        """The entry that the loop over ``out_shape`` reads at row ``rows`` and column
        ``cols`` (a vector: column ``cols``), broadcast as NumPy does."""
        if len(self.shape) > len(out_shape) or not self.shape:
            raise Untranslatable(f"a {len(self.shape)}-d operand of a {len(out_shape)}-d op")
        loop_vars = (rows, cols)[-len(out_shape):]
        pad = len(out_shape) - len(self.shape)
        idx = ["0" if n == 1 and m != 1 else v
               for n, m, v in zip(self.shape, out_shape[pad:], loop_vars[pad:], strict=True)]
        if self.off is not None:
            idx[-1] = f"{self.off}" if idx[-1] == "0" else f"{self.off} + {idx[-1]}"
        if self.time:
            idx.insert(1, "t")
        return f"{self.name}[{', '.join(idx)}]"


@dataclass
class _Inline:
    """An element-wise matrix that is never stored: each loop that reads an entry computes it,
    ``expr(row, column)`` (its columns ``off:`` for a piece of a split). For a value read once
    through the pieces of a split, such as the pre-activation ``W h + b + p`` that an LSTM
    cuts into its four gates: one pass over memory less each step."""

    expr: Callable[[str, str], str]
    shape: tuple[int, ...]
    off: int = 0

    def at(self, out_shape: tuple[int, ...], rows: str = "b", cols: str = "j") -> str:
        if tuple(out_shape) != self.shape:
            raise Untranslatable("an inlined value read with broadcasting")
        return self.expr(rows, f"{self.off} + {cols}" if self.off else cols)

    def whole(self) -> str:
        raise Untranslatable("an inlined value read as an array")

    dense = whole


def _shape(node: fx.Node) -> tuple[int, ...]:
    val = node.meta.get("val")
    if not isinstance(val, Tensor):
        raise Untranslatable(f"{node.name} has no tensor value")
    return tuple(int(n) for n in val.shape)


def _packet(node: fx.Node):
    target = node.target
    return target.overloadpacket if isinstance(target, torch._ops.OpOverload) else target


def _is_elementwise(node: fx.Node) -> bool:
    return node.op == "call_function" and _packet(node) in ELEMENTWISE


def _without_addmm(gm: fx.GraphModule) -> fx.GraphModule:
    """A copy of gm with each ``addmm(c, a, b)`` written ``add(mm(a, b), c)``, so that the add
    joins the element-wise loop that reads the product."""
    gm = copy.deepcopy(gm)
    for nd in list(gm.graph.nodes):
        if nd.op != "call_function" or _packet(nd) is not aten.addmm:
            continue
        if nd.kwargs.get("beta", 1) != 1 or nd.kwargs.get("alpha", 1) != 1:
            raise Untranslatable("addmm with a scale")
        bias, a, b = nd.args[:3]
        with gm.graph.inserting_before(nd):
            prod = gm.graph.call_function(aten.mm.default, (a, b))
            total = gm.graph.call_function(aten.add.Tensor, (prod, bias))
        prod.meta = dict(nd.meta)
        total.meta = dict(nd.meta)
        nd.replace_all_uses_with(total)
        gm.graph.erase_node(nd)
    gm.recompile()
    return gm


class _Body:
    """The statements computing one graph's outputs from its inputs (named variables)."""

    def __init__(self, gm: fx.GraphModule) -> None:
        self.gm = _without_addmm(gm)
        self.lines: list[str] = []
        self.env: dict[fx.Node, object] = {}  # node -> _Array, or a list of them (split)
        self.scalar: dict[fx.Node, str] = {}  # element-wise node -> its local in its loop
        self.dest: dict[fx.Node, _Array] = {}  # node -> the array its loop writes it to
        self.cats: dict[fx.Node, _Array] = {}  # cat node -> the buffer its inputs fill

    # element-wise ops are grouped into stages: an op reading a product, a layout op or an
    # element-wise value of another shape runs in a later loop than that value
    def _stages(self, nodes: list[fx.Node]) -> dict[fx.Node, int]:
        stage: dict[fx.Node, int] = {}
        for nd in nodes:
            s = 0
            for a in nd.all_input_nodes:
                if a.op != "call_function":
                    continue
                fused = _is_elementwise(nd) and _is_elementwise(a) and _shape(a) == _shape(nd)
                s = max(s, stage[a] if fused or not _is_elementwise(nd) else stage[a] + 1)
            stage[nd] = s
        return stage

    @staticmethod
    def _inlined(nodes: list[fx.Node], outputs: set) -> set[fx.Node]:
        """The element-wise matrices computed where they are read (:class:`_Inline`): not
        outputs, read once (by an element-wise op of their shape, or through a split whose
        pieces are each read once by an element-wise op), from arrays or inlined values."""

        def read_once(nd: fx.Node) -> bool:
            if len(nd.users) != 1:
                return False
            (u,) = nd.users
            if _is_elementwise(u):
                return _shape(u) == _shape(nd)
            if _packet(u) not in (aten.split, aten.split_with_sizes):
                return False
            pieces = list(u.users)
            return all(_packet(g) is operator.getitem and len(g.users) == 1
                       and _is_elementwise(next(iter(g.users))) for g in pieces)

        inline = {nd for nd in nodes if _is_elementwise(nd) and nd not in outputs
                  and len(_shape(nd)) == 2 and read_once(nd)}
        while stored := {nd for nd in inline  # drop those reading a stored element-wise value
                         if any(_is_elementwise(a) and a not in inline
                                for a in nd.all_input_nodes)}:
            inline -= stored
        return inline

    def _fill_in_place(self, nd: fx.Node, inline: set, outputs: set) -> None:
        """A concatenation along the columns of element-wise matrices read by it alone: their
        loops write their columns of one buffer (no separate arrays, no copy)."""
        if _packet(nd) is not aten.cat or len(_shape(nd)) != 2:
            return
        parts, dim = nd.args[0], nd.args[1] if len(nd.args) > 1 else nd.kwargs.get("dim", 0)
        if dim % 2 != 1 or not all(
            isinstance(a, fx.Node) and _is_elementwise(a) and a not in inline
            and a not in outputs and len(a.users) == 1 and a not in self.dest for a in parts
        ):
            return
        buf = self.cats[nd] = _Array(f"a_{nd.name}", _shape(nd), True)
        self.lines.append(f"{buf.name} = np.empty({buf.shape}, DT)")
        off = 0
        for a in parts:
            self.dest[a] = _Array(buf.name, _shape(a), True, off=off)
            off += _shape(a)[1]

    def _inline(self, nd: fx.Node) -> _Inline:
        shape = _shape(nd)

        def expr(rows: str, cols: str) -> str:
            args = [self.env[a].at(shape, rows, cols) if isinstance(a, fx.Node) else _lit(a)
                    for a in nd.args]
            return ELEMENTWISE[_packet(nd)](*args, **nd.kwargs)

        return _Inline(expr, shape)

    def source(self, inputs: Sequence[str | _Array], dest: Sequence[_Array | None]
               ) -> tuple[list[str], list[_Array]]:
        """The statements and each output's array, the graph's inputs being ``inputs`` (a
        name: a C-contiguous array of the input's shape). An output with a ``dest`` is
        written there: by its element-wise loop when it has one, else copied at the end."""
        graph = self.gm.graph
        placeholders = [nd for nd in graph.nodes if nd.op == "placeholder"]
        for nd, x in zip(placeholders, inputs, strict=True):
            self.env[nd] = x if isinstance(x, _Array) else _Array(x, _shape(nd), True)
        nodes = [nd for nd in graph.nodes if nd.op == "call_function"]
        outputs = next(nd for nd in graph.nodes if nd.op == "output").args[0]
        out_set = set(outputs)
        for o, d in zip(outputs, dest, strict=True):
            if d is not None and _is_elementwise(o):
                self.dest.setdefault(o, d)
        stage = self._stages(nodes)
        inline = self._inlined(nodes, out_set)
        for nd in nodes:
            self._fill_in_place(nd, inline, out_set)
        for s in range(max(stage.values(), default=-1) + 1):
            for nd in nodes:
                if stage[nd] == s and nd in inline:
                    self.env[nd] = self._inline(nd)
            elementwise = [nd for nd in nodes if stage[nd] == s and _is_elementwise(nd)
                           and nd not in inline]
            for shape in dict.fromkeys(_shape(nd) for nd in elementwise):
                self._loop([nd for nd in elementwise if _shape(nd) == shape], shape, out_set)
            for nd in nodes:
                if stage[nd] == s and not _is_elementwise(nd):
                    self.env[nd] = self._layout(nd)
        arrays = [self._array(o) for o in outputs]
        for o, d, a in zip(outputs, dest, arrays, strict=True):
            if d is not None and a is not self.dest.get(o):
                self.lines += copy_lines(d, a)
        return self.lines, arrays

    def _array(self, node) -> _Array | _Inline:
        got = self.env.get(node) if isinstance(node, fx.Node) else None
        if not isinstance(got, _Array | _Inline):
            raise Untranslatable(f"{node} is not an array")
        return got

    def _loop(self, group: list[fx.Node], shape: tuple[int, ...], outputs: set) -> None:
        """One loop over ``shape`` computing the element-wise nodes of ``group``."""
        if len(shape) not in (1, 2):
            raise Untranslatable(f"a {len(shape)}-d element-wise op")
        members = set(group)
        body: list[str] = []
        for nd in group:
            self.scalar[nd] = f"v_{nd.name}"
        for nd in group:
            args = [self._scalar_arg(a, members, shape) for a in nd.args]
            kwargs = {k: v for k, v in nd.kwargs.items()}
            body.append(f"{self.scalar[nd]} = {ELEMENTWISE[_packet(nd)](*args, **kwargs)}")
            if nd in outputs or any(u not in members for u in nd.users):
                if nd in self.dest:  # written in place (and read from there afterwards)
                    out = self.env[nd] = self.dest[nd]
                else:
                    out = self.env[nd] = _Array(f"a_{nd.name}", shape, True)
                    self.lines.append(f"{out.name} = np.empty({shape}, DT)")
                body.append(f"{out.at(shape)} = {self.scalar[nd]}")
        indent = "    "
        if len(shape) == 2:
            self.lines.append(f"for b in range({shape[0]}):")
            indent += "    "
        self.lines.append(f"{indent[4:]}for j in range({shape[-1]}):")
        self.lines.extend(f"{indent}{line}" for line in body)

    def _scalar_arg(self, a, members: set, shape: tuple[int, ...]) -> str:
        if isinstance(a, fx.Node):
            return self.scalar[a] if a in members else self._array(a).at(shape)
        return _lit(a)

    def _emit(self, node: fx.Node, expr: str, contiguous: bool = True) -> _Array:
        name = f"a_{node.name}"
        self.lines.append(f"{name} = {expr}")
        return _Array(name, _shape(node), contiguous)

    def _layout(self, nd: fx.Node):
        """A product or layout op: a NumPy statement, or a view of its input."""
        op, args = _packet(nd), nd.args
        if op is operator.getitem:
            return self.env[args[0]][args[1]]
        x = self._array(args[0]) if args and isinstance(args[0], fx.Node) else None
        if op in ALIASES:
            return x
        if op is aten.mm:
            return self._emit(nd, f"np.dot({x.dense()}, {self._array(args[1]).dense()})")
        if op is aten.t or (op is aten.transpose and len(x.shape) == 2):
            return self._emit(nd, f"{x.whole()}.T", contiguous=False)
        if op in (aten.view, aten._unsafe_view, aten.reshape, aten.unsqueeze, aten.squeeze):
            return self._emit(nd, f"{x.dense()}.reshape({_shape(nd)})")
        if op is aten.permute:
            return self._emit(nd, f"np.transpose({x.whole()}, {tuple(args[1])})", False)
        if nd in self.cats:
            return self.cats[nd]
        if op is aten.cat:
            dim = args[1] if len(args) > 1 else nd.kwargs.get("dim", 0)
            parts = ", ".join(self._array(a).whole() for a in args[0])
            return self._emit(nd, f"np.concatenate(({parts},), axis={dim % len(_shape(nd))})")
        if op is aten.sum and len(args[1]) == 1:
            keep = len(args) > 2 and args[2]
            expr = f"np.sum({x.whole()}, axis={args[1][0] % len(x.shape)})"
            return self._emit(nd, f"{expr}.reshape({_shape(nd)})" if keep else expr)
        if op is aten.unbind:
            if (args[1] if len(args) > 1 else 0) != 0:
                raise Untranslatable("unbind along an axis other than the first")
            base = x.dense()
            return [_Array(f"{base}[{i}]", x.shape[1:], x.contiguous and x.off is None)
                    for i in range(x.shape[0])]
        if op in (aten.split, aten.split_with_sizes):
            sizes = args[1]
            dim = args[2] if len(args) > 2 else nd.kwargs.get("dim", 0)
            if isinstance(sizes, int):
                sizes = [sizes] * -(-x.shape[dim] // sizes)
            return self._columns(x, dim, np.cumsum([0, *sizes]).tolist())
        if op is aten.slice:
            dim, start, end = args[1], args[2], min(args[3], x.shape[args[1]])
            if len(args) > 4 and args[4] != 1:
                raise Untranslatable("a strided slice")
            return self._columns(x, dim, [start, end])[0]
        raise Untranslatable(f"aten.{op.__name__} has no Numba translation")

    def _columns(self, x: _Array | _Inline, dim: int, bounds: list[int]
                 ) -> list[_Array | _Inline]:
        """The pieces [bounds[i], bounds[i+1]) of x along ``dim``: columns read in place."""
        if len(x.shape) != 2 or dim % 2 != 1:
            raise Untranslatable("a split or slice not along the last axis of a matrix")
        off = x.off or 0
        if isinstance(x, _Inline):
            return [_Inline(x.expr, (x.shape[0], hi - lo), off + lo)
                    for lo, hi in itertools.pairwise(bounds)]
        return [_Array(x.name, (x.shape[0], hi - lo), x.contiguous, off + lo, x.time)
                for lo, hi in itertools.pairwise(bounds)]


def copy_lines(dst: _Array, src: _Array) -> list[str]:
    """Statements writing ``src`` into ``dst`` (of its shape): explicit loops for vectors and
    matrices (Numba's array assignment compiles broadcasting code for each pair of layouts,
    seconds per graph)."""
    if len(src.shape) not in (1, 2):
        return [f"{dst.whole()}[...] = {src.whole()}"]
    lines = [f"for b in range({src.shape[0]}):"] if len(src.shape) == 2 else []
    pad = "    " * len(src.shape)
    return [*lines, f"{pad[4:]}for j in range({src.shape[-1]}):",
            f"{pad}{dst.at(src.shape)} = {src.at(src.shape)}"]


# -- the time loops around the two graphs' statements ------------------------------------------
_HEADER = '''"""Generated by rnnkit.nn.fastpath.traced_numba from a traced cell step."""
import numba
import numpy as np

from rnnkit.nn.fastpath.jit import JIT, sigmoid

DT = np.{dtype}
ZERO, ONE, TWO = DT(0.0), DT(1.0), DT(2.0)

'''


def _loops_source(forward: fx.GraphModule, backward: fx.GraphModule, n: int, n_k: int,
                  saved_shapes: Sequence[tuple[int, ...]],
                  frontier_shapes: Sequence[tuple[int, ...]],
                  frontier_is_dp: Sequence[bool]) -> str:
    """``forward_loop`` and ``backward_loop`` over the T steps, each graph's statements inside
    its loop (one compiled function per loop: a step function called from the loop compiled
    twice as long, LLVM inlining and optimising it again), for n state fields, n_k
    step-invariant values, the saved values and the frontier values not dp."""
    n_saved = len(saved_shapes)
    s, S, ds, cot = ([f"{x}{i}" for i in range(n)] for x in ("s", "S", "ds", "c"))
    K = [f"K{i}" for i in range(n_k)]
    V = [f"V{i}" for i in range(n_saved)]
    front = [i for i, is_dp in enumerate(frontier_is_dp) if not is_dp]
    F = [f"F{i}" for i in range(len(front))]
    f_in = [nd for nd in forward.graph.nodes if nd.op == "placeholder"]
    p_shape, state_shape = _shape(f_in[0]), _shape(f_in[1])

    def indent(lines: list[str]) -> list[str]:
        return [f"        {line}" for line in lines]

    def keep_rows(new: list[str], old: list[str] | None, also: str | None = None) -> list[str]:
        """At padded steps, the rows of ``new`` are ``old``'s (None: zero), as is ``also``'s
        row (zero)."""
        return ["        if masked:",
                *(f"            {a} = {a}.copy()" for a in new),
                f"            for b in range({state_shape[0]}):",
                "                if not valid[b, t]:",
                f"                    for j in range({state_shape[1]}):",
                *([f"                        {also}[b, t, j] = ZERO"] if also else []),
                *(f"                        {a}[b, j] = {'ZERO' if o is None else o + '[b, j]'}"
                  for a, o in zip(new, old or [None] * len(new), strict=True))]

    p_t = _Array("p", p_shape, False, time=True)
    copies = [line for i in range(n)
              for line in copy_lines(_Array(f"so{i}", state_shape, True),
                                     _Array(s[i], state_shape, True))]
    body, outs = _Body(forward).source(
        [p_t, *s, *K],
        [_Array("hs", state_shape, False, time=True), *([None] * n),
         *(_Array(f"vo{i}", shape, True) for i, shape in enumerate(saved_shapes))])
    fwd = [
        "@numba.njit(**JIT)",
        f"def forward_loop({', '.join(['p', *s, *K, 'valid', 'masked', 'hs', *S, *V])}):",
        "    for t in range(p.shape[1]):",
        *(f"        so{i} = {S[i]}[t]" for i in range(n)),
        *(f"        vo{i} = {V[i]}[t]" for i in range(n_saved)),
        *indent(copies),
        *indent(body),
        *(f"        n{i} = {outs[1 + i].dense()}" for i in range(n)),
        *keep_rows([f"n{i}" for i in range(n)], s, "hs"),
        *(f"        {s[i]} = n{i}" for i in range(n)),
        f"    return ({', '.join(s)},)",
    ]
    b_args = ["p", *S, *K, *V, "dh", *ds]
    frontier_dest = [_Array(f"F{front.index(i)}", frontier_shapes[i], False, time=True)
                     if i in front else None for i in range(len(frontier_is_dp))]
    body, outs = _Body(backward).source(
        [p_t, *(f"st{i}" for i in range(n)), *K, *(f"sv{i}" for i in range(n_saved)),
         _Array("dh", state_shape, False, time=True), *cot],
        [_Array("dp", p_shape, False, time=True), *([None] * n), *frontier_dest])
    bwd = [
        "@numba.njit(**JIT)",
        f"def backward_loop({', '.join([*b_args, 'valid', 'masked', 'dp', *F])}):",
        "    T = p.shape[1]",
        "    for i in range(T):",
        "        t = T - 1 - i",
        *(f"        st{i} = {S[i]}[t]" for i in range(n)),
        *(f"        sv{i} = {V[i]}[t]" for i in range(n_saved)),
        *(f"        {cot[i]} = {ds[i]}" for i in range(n)),
        "        if masked:",
        *(f"            {c} = {c}.copy()" for c in cot),
        f"            for b in range({state_shape[0]}):",
        "                if not valid[b, t]:",
        f"                    for j in range({state_shape[1]}):",
        "                        dh[b, t, j] = ZERO",
        *(f"                        {c}[b, j] = ZERO" for c in cot),
        *indent(body),
        *(f"        n{i} = {outs[1 + i].dense()}" for i in range(n)),
        *keep_rows([f"n{i}" for i in range(n)], ds),
        *(f"        {ds[i]} = n{i}" for i in range(n)),
        f"    return ({', '.join(ds)},)",
    ]
    return "\n".join(fwd) + "\n\n\n" + "\n".join(bwd) + "\n"


def _import(source: str) -> object:
    """The module of ``source``, written under the cache folder (so that Numba can cache its
    compiled functions) or, when that folder cannot be written, a temporary one."""
    from rnnkit.data.download import cache_dir

    digest = hashlib.sha1(source.encode()).hexdigest()[:16]
    name = f"rnnkit_traced_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    try:
        folder = cache_dir() / "traced"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.py"
        if not path.exists() or path.read_text() != source:
            tmp = path.with_suffix(f".{os.getpid()}.tmp")  # then renamed: never half-written
            tmp.write_text(source)
            tmp.replace(path)
    except OSError:
        import tempfile

        path = Path(tempfile.mkdtemp(prefix="rnnkit-traced-")) / f"{name}.py"
        path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


class NumbaLoops:
    """The compiled forward and backward loops of one traced step (see the module doc), called
    with torch tensors: the arrays they fill are allocated here and shared with NumPy.

    ``forward``/``backward`` run the loops over all rows; ``run_forward``/``run_backward`` over
    rows lo:hi of arrays the caller allocated (:class:`SplitLoops`), without setting the BLAS
    threads (the caller does, once: the setting is per process)."""

    def __init__(self, module, n_state: int, saved_shapes, frontier_shapes,
                 frontier_is_dp: Sequence[bool]) -> None:
        self.module = module
        self.n = n_state
        self.saved_shapes = [tuple(s) for s in saved_shapes]
        self.frontier_shapes = [tuple(s) for s in frontier_shapes]
        self.frontier_is_dp = tuple(frontier_is_dp)

    def forward(self, p: Tensor, state: list[Tensor], K: list[Tensor], valid: Tensor | None):
        """p (B, T, P), state fields (B, H) -> hs (B, T, H), final fields, and the tape the
        backward reads."""
        p, hs, mask, K_np = _forward_arrays(p, state, K, valid)
        with blas_on_one_thread():
            final, tape = self.run_forward(p, hs, mask, state, K_np)
        return hs, final, (p, mask, [tape])

    def backward(self, tape, d_hs: Tensor, ds: list[Tensor]):
        """d_hs (B, T, H) and the final state's gradients (B, H) -> dp (B, T, P), the initial
        state's gradients, and each frontier value over the steps, (B*T, ...) in (b, t)
        order."""
        p, mask, (half,) = tape
        dh, dp, F = _backward_arrays(p, mask, d_hs, self.frontier_shapes, self.frontier_is_dp)
        with blas_on_one_thread():
            d0 = self.run_backward(half, p, mask, dh, dp, F, ds)
        return dp, d0, _frontier(dp, F, self.frontier_is_dp)

    def run_forward(self, p: Tensor, hs: Tensor, mask: np.ndarray, state: list[Tensor],
                    K_np: list[np.ndarray], lo: int = 0, hi: int | None = None):
        """The forward loop over rows lo:hi: fills hs[lo:hi]; returns their final state and
        the tape of these rows (each step's input state and saved values, (T, rows, ...))."""
        rows = slice(lo, hi)
        T = p.shape[1]
        n_rows = p[rows].shape[0]
        S = [p.new_empty((T, n_rows, *f.shape[1:])) for f in state]
        V = [p.new_empty((T, *shape)) for shape in self.saved_shapes]
        final = self.module.forward_loop(
            p[rows].numpy(), *(f[rows].detach().contiguous().numpy() for f in state), *K_np,
            mask[rows], not mask.all(), hs[rows].numpy(), *(x.numpy() for x in S),
            *(x.numpy() for x in V))
        return [torch.from_numpy(f) for f in final], (S, V, K_np, rows)

    def run_backward(self, half, p: Tensor, mask: np.ndarray, dh: Tensor, dp: Tensor,
                     F: list[Tensor], ds: list[Tensor]) -> list[Tensor]:
        """The backward loop over the rows of ``half`` (a tape of :meth:`run_forward`): fills
        their rows of dp and F; returns their initial state's gradients."""
        S, V, K_np, rows = half
        d0 = self.module.backward_loop(
            p[rows].numpy(), *(x.numpy() for x in S), *K_np, *(x.numpy() for x in V),
            dh[rows].numpy(), *(d[rows].detach().contiguous().numpy() for d in ds),
            mask[rows], not mask.all(), dp[rows].numpy(), *(f[rows].numpy() for f in F))
        return [torch.from_numpy(d) for d in d0]


def _forward_arrays(p: Tensor, state: list[Tensor], K: list[Tensor], valid: Tensor | None):
    """p as a contiguous tensor, hs (B, T, H) to fill, the (B, T) mask of valid steps and the
    step-invariant values K as contiguous arrays."""
    B, T = p.shape[:2]
    hs = p.new_empty((B, T, state[0].shape[1]))
    mask = np.ones((B, T), dtype=np.bool_) if valid is None else valid.contiguous().numpy()
    K_np = [k.detach().contiguous().numpy() for k in K]
    return p.detach().contiguous(), hs, mask, K_np


def _backward_arrays(p: Tensor, mask: np.ndarray, d_hs: Tensor, frontier_shapes,
                     frontier_is_dp) -> tuple[Tensor, Tensor, list[Tensor]]:
    """dh (B, T, H) contiguous (a copy when steps are padded: the loop zeroes theirs), dp
    (B, T, P) and the frontier values not dp, (B, T, ...), to fill."""
    B, T = p.shape[:2]
    padded = not mask.all()
    dh = (d_hs.detach().clone(memory_format=torch.contiguous_format) if padded
          else d_hs.detach().contiguous())
    F = [p.new_empty((B, T, *shape[1:])) for shape, is_dp
         in zip(frontier_shapes, frontier_is_dp, strict=True) if not is_dp]
    return dh, torch.empty_like(p), F


def _frontier(dp: Tensor, F: list[Tensor], frontier_is_dp) -> list[Tensor]:
    """Each frontier value over the steps, (B*T, ...) in (b, t) order."""
    B, T = dp.shape[:2]
    rows = iter(F)
    return [dp.view(B * T, -1) if is_dp else next(rows).flatten(0, 1) for is_dp in frontier_is_dp]


class SplitLoops:
    """The loops of two NumbaLoops, one for rows 0:h and one for rows h:B, run at once on two
    threads (the compiled loops release the GIL): a recurrent step treats its rows
    independently, so each half runs its whole sequence alone, products included, with no
    synchronisation per step. Same interface as NumbaLoops."""

    def __init__(self, first: NumbaLoops, second: NumbaLoops, h: int) -> None:
        self.halves = ((first, 0, h), (second, h, None))
        self.frontier_shapes, self.frontier_is_dp = first.frontier_shapes, first.frontier_is_dp

    def forward(self, p: Tensor, state: list[Tensor], K: list[Tensor], valid: Tensor | None):
        p, hs, mask, K_np = _forward_arrays(p, state, K, valid)

        def half(loops: NumbaLoops, lo: int, hi: int | None):
            return loops.run_forward(p, hs, mask, state, K_np, lo, hi)

        with blas_on_one_thread():
            done = on_two_threads(half, list(self.halves))
        final = [torch.cat(f) for f in zip(*(d[0] for d in done), strict=True)]
        return hs, final, (p, mask, [d[1] for d in done])

    def backward(self, tape, d_hs: Tensor, ds: list[Tensor]):
        p, mask, tapes = tape
        dh, dp, F = _backward_arrays(p, mask, d_hs, self.frontier_shapes, self.frontier_is_dp)

        def half(loops: NumbaLoops, lo: int, hi: int | None, rows_tape):
            return loops.run_backward(rows_tape, p, mask, dh, dp, F, ds)

        with blas_on_one_thread():
            done = on_two_threads(half, [(*h, t) for h, t in zip(self.halves, tapes,
                                                                  strict=True)])
        d0 = [torch.cat(d) for d in zip(*done, strict=True)]
        return dp, d0, _frontier(dp, F, self.frontier_is_dp)


def compile_loops(forward: fx.GraphModule, backward_state: fx.GraphModule, n_state: int,
                  frontier_is_dp: Sequence[bool], dtype: torch.dtype, eager: bool = True
                  ) -> NumbaLoops:
    """The NumbaLoops of a traced step: ``forward (p_t, *s, *K) -> (h, *s', *saved)`` and
    ``backward_state (p_t, *s, *K, *saved, dh, *ds) -> (dp, *ds_prev, *frontier)``, compiled
    for ``dtype`` (float32 or float64), now with ``eager`` (else on their first call). Raises
    Untranslatable when a graph cannot be."""
    if dtype not in (torch.float32, torch.float64):
        raise Untranslatable(f"dtype {dtype}")
    n = n_state
    f_in = [nd for nd in forward.graph.nodes if nd.op == "placeholder"]
    n_k = len(f_in) - 1 - n
    b_in = [nd for nd in backward_state.graph.nodes if nd.op == "placeholder"]
    n_saved = len(b_in) - 2 - 2 * n - n_k
    f_out = next(nd for nd in forward.graph.nodes if nd.op == "output").args[0]
    b_out = next(nd for nd in backward_state.graph.nodes if nd.op == "output").args[0]
    if len(f_out) != 1 + n + n_saved:
        raise Untranslatable("the forward's outputs are not h, the state and the saved values")
    for gm in (forward, backward_state):
        for nd in gm.graph.nodes:
            val = nd.meta.get("val")
            if isinstance(val, Tensor) and val.dtype != dtype:
                raise Untranslatable(f"a {val.dtype} value ({nd.name})")
    saved_shapes = [_shape(o) for o in f_out[1 + n:]]
    frontier_shapes = [_shape(o) if isinstance(o, fx.Node) else () for o in b_out[1 + n:]]
    source = (_HEADER.format(dtype=str(dtype).removeprefix("torch."))
              + _loops_source(forward, backward_state, n, n_k, saved_shapes, frontier_shapes,
                              frontier_is_dp))
    module = _import(source)
    loops = NumbaLoops(module, n, saved_shapes, frontier_shapes, frontier_is_dp)
    if eager:
        _compile(loops, [_shape(nd) for nd in f_in], dtype)
    return loops


def _compile(loops: NumbaLoops, shapes: list[tuple[int, ...]], dtype: torch.dtype) -> None:
    """Compile both loops now (Numba compiles on the first call), on a step of zeros shaped
    as the forward's inputs (p_t, the state fields, K): a graph that Numba cannot type then
    raises Untranslatable here, and the step keeps TorchScript, instead of failing in the
    layer's first forward."""
    import numba

    p_shape, *rest = shapes
    state = [torch.zeros(s, dtype=dtype) for s in rest[:loops.n]]
    K = [torch.zeros(s, dtype=dtype) for s in rest[loops.n:]]
    p = torch.zeros((p_shape[0], 1, *p_shape[1:]), dtype=dtype)  # (B, T=1, P)
    valid = torch.ones(p.shape[:2], dtype=torch.bool)
    try:
        hs, _, tape = loops.forward(p, state, K, valid)
        loops.backward(tape, torch.zeros_like(hs), [torch.zeros_like(f) for f in state])
    except numba.core.errors.NumbaError as e:
        text = str(e).strip().splitlines()
        raise Untranslatable(f"Numba could not compile it ({text[0][:200] if text else ''})"
                             ) from e
