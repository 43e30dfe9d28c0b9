r"""The traced path: a user cell's step traced once, the sequence run without per-step autograd.

The autograd loop records every op of every step and walks that graph back. Here the step is
traced once per cell, batch shape, dtype and device (``torch.func.vjp`` inside ``make_fx``, on
fake tensors) into one aten graph of forward and backward, which is cut in three (the partition
AOTAutograd makes: the forward values the backward reads are saved; values that depend on the
weights alone are computed once a sequence)::

    prelude         W                                   -> K          (W^T and the like)
    forward step    (p_t, s_{t-1}, K)                   -> (h_t, s_t, saved_t)
    backward step   (p_t, s_{t-1}, K, saved_t, dh_t, ds_t) -> (dp_t, ds_{t-1}, dW_t)

One ``torch.autograd.Function`` runs them over the sequence: its forward the T forward steps
(recording no graph, keeping the saved values), its backward the T backward steps in one
reverse loop. On the CPU in float32 / float64 with Numba installed, both loops are compiled
from the graphs (:mod:`rnnkit.nn.fastpath.traced_numba`: a step's element-wise ops fused into
loops over the entries, no torch op per step); elsewhere, or when a graph has an op the
generator does not translate, they are TorchScript (:mod:`rnnkit.nn.fastpath.traced_loops`),
so no Python runs between the ops. The parameter gradients are batched over the steps where that is
checked to give the same sums (dW = sum_t dA_t^T h_{t-1} as one (T*B)-row product instead of T
small ones), else added step by step; small gate blocks cut from the step's pre-activation
(``chunk``) are copied out of their strided views in one op (:func:`_contiguous_pieces`: torch's
element-wise ops run slower on such views). The input projection ``p = cell.project_input(x)``
(B, T, P) stays outside, on autograd, one product for all steps. With lengths, padded steps
keep the state and output zeros, as on the loop: ``s_t = where(valid_t, s_t, s_{t-1})``.

Tracing and compiling take a fraction of a second to a few seconds (``TracedStep.trace_s``,
logged at INFO; 4.3-5.3 s for the user LSTM cell with an empty cache), once per cell and
input shape; the programs are cached in memory with the cell, and Numba's machine code on disk
(``$RNNKIT_CACHE/traced``), so a new process pays the tracing only (2.1-2.2 s for the first
shape, 0.2-1.6 s for a later one).

What cannot be traced runs on the loop (:func:`unavailable` says why; the layer records it in
``last_path_reason``): a step whose control flow depends on tensor values (``if h.sum() >
0``, ``.item()``), that modifies a tensor in place, that draws random numbers (dropout in
training mode), or that fails to trace for another reason; under a graph capture
(``torch.compile``, ``torch.export``, ``torch.jit.trace``: the loop is what they can see
through) and under autocast. The step must treat batch rows independently (no statistics over
the batch), as every recurrent cell does; double backward is not supported.
"""

from __future__ import annotations

import logging
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor, fx, nn
from torch.autograd.function import once_differentiable
from torch.fx.experimental.proxy_tensor import make_fx

from rnnkit.nn.cells import Cell, State
from rnnkit.nn.fastpath.traced_loops import script_loops
from rnnkit.nn.masking import valid_mask
from rnnkit.nn.tracing import autocast_dtype, capture

__all__ = ["TracedStep", "program", "run", "unavailable"]

logger = logging.getLogger(__name__)


class Untraceable(Exception):
    """The step cannot run on the traced path; the message says why."""


@dataclass
class TracedStep:
    """The generated graphs of one cell's step for one (B, P, state shapes, dtype, device).

    With W the weights the step reads (``params``) and buffers, K the step-invariant values
    (``prelude(*W, *buffers)``: transposed weights and the like, computed once a sequence)::

        forward(p_t, *s, *K)                         -> (h_t, *s_t, *saved_t)
        backward(p_t, *s, *K, *saved_t, dh_t, *ds_t) -> (dp_t, *ds_{t-1}, *dW_t)

    When ``param_grads`` is set (it is checked at trace time), the parameter gradients are
    instead computed once after the loop: ``backward_state`` returns (dp_t, *ds_{t-1},
    *f_t) and ``param_grads(*F, *W, *buffers) -> dW`` takes each f stacked over the steps,
    (T*B, ...), for a single product over all steps in place of one per step
    (``frontier_is_dp[i]``: f_i is dp_t itself, whose stack (B, T, P) the layer has already:
    its rows are read from there instead of stacking them twice).
    ``loops``: the time loops over them, compiled by Numba
    (:class:`~rnnkit.nn.fastpath.traced_numba.NumbaLoops`) or TorchScript
    (:class:`~rnnkit.nn.fastpath.traced_loops.ScriptLoops`); ``loops_on`` says which and why
    not the other ("Numba", "TorchScript (Numba: ...)", or "Python (...)" when TorchScript
    could not take the graphs either); ``split``: the loops over two half batches on two
    threads, set on first use where they run (see :func:`_loops_for`). ``trace_s``: seconds
    spent tracing and compiling; ``ops``: aten ops per graph; ``row_width``: the entries per
    batch row of the widest value of the forward step.
    """

    prelude: Callable[..., tuple[Tensor, ...]]
    forward: Callable[..., tuple[Tensor, ...]]
    backward: Callable[..., tuple[Tensor, ...]]
    backward_state: Callable[..., tuple[Tensor, ...]] | None
    param_grads: Callable[..., tuple[Tensor, ...]] | None
    params: list[str]
    buffers: list[str]
    n_state: int
    loops: object = None
    loops_on: str = ""
    split: object = None
    row_width: int = 0
    frontier_is_dp: tuple[bool, ...] = ()
    trace_s: float = 0.0
    ops: dict[str, int] = field(default_factory=dict)


class _Step(nn.Module):
    """``forward(p_t, *state_fields) = cell.step(p_t, state)``, flattened (for functional_call)."""

    def __init__(self, cell: Cell) -> None:
        super().__init__()
        self.cell = cell

    def forward(self, p_t: Tensor, *fields: Tensor) -> tuple[Tensor, ...]:
        cell = self.cell
        state = fields[0] if cell.state_type is None else cell.state_type(*fields)
        h, new = cell.step(p_t, state)
        new_fields = (new,) if isinstance(new, Tensor) else tuple(new)
        return (h, *new_fields)


def _check_ops(graph: fx.Graph) -> None:
    """Raise Untraceable for ops the split graphs cannot replay faithfully."""
    for node in graph.nodes:
        op = node.target
        if node.op != "call_function" or not isinstance(op, torch._ops.OpOverload):
            continue
        if torch.Tag.nondeterministic_seeded in op.tags:
            raise Untraceable(
                f"its step draws random numbers ({op.name()}; dropout in training mode?)"
            )
        if op._schema.is_mutable:
            raise Untraceable(f"its step modifies a tensor in place ({op.name()})")


def _make_fx(what: str, fn: Callable, *args) -> fx.GraphModule:
    try:
        gm = make_fx(fn, tracing_mode="fake")(*args)
    except Exception as e:  # any failure to trace: the loop runs the cell instead
        text = str(e).strip().splitlines()
        raise Untraceable(
            f"its step{what} does not trace ({type(e).__name__}: {text[0][:200] if text else ''})"
        ) from e
    _check_ops(gm.graph)
    return gm


def _trace(cell: Cell, p: Tensor, state: Sequence[Tensor]) -> TracedStep:
    """Trace ``cell.step`` for p_t (B, P) and state fields (B, H); see the module doc."""
    start = time.perf_counter()
    # fresh tensors of the same shapes: fields that are one tensor (LSTMState(z, z)) would be
    # traced as one input, and a strided view of p as a strided input
    p = torch.zeros_like(p, memory_format=torch.contiguous_format)
    state = [torch.zeros_like(f, memory_format=torch.contiguous_format) for f in state]
    step = _Step(cell)
    named = dict(step.named_parameters())
    buffers = dict(step.named_buffers())
    n = len(state)

    def primal(p_t: Tensor, s: tuple, w: dict, b: dict) -> tuple[Tensor, ...]:
        return torch.func.functional_call(step, {**w, **b}, (p_t, *s))

    # which parameters does the step read? (not those of the input projection)
    fwd_gm = _make_fx("", primal, p, tuple(state), named, buffers)
    placeholders = [nd for nd in fwd_gm.graph.nodes if nd.op == "placeholder"]
    w_nodes = placeholders[1 + n : 1 + n + len(named)]
    weights = {k: named[k] for k, nd in zip(named, w_nodes, strict=True) if nd.users}

    def joint(p_t, s, w, b, cot):
        outs, pullback = torch.func.vjp(lambda p_, s_, w_: primal(p_, s_, w_, b), p_t, s, w)
        dp, ds, dw = pullback(cot)
        return (*outs, dp, *ds, *(dw[k] for k in w))

    with torch.no_grad():
        outs = step(p, *state)
    cot = tuple(torch.empty_like(o) for o in outs)
    joint_gm = _make_fx("'s backward", joint, p, tuple(state), weights, buffers, cot)
    *graphs, frontier_is_dp, step_forward = _split(joint_gm, n_state=n, n_w=len(weights),
                                                   n_b=len(buffers), batch=p.shape[0])
    prog = TracedStep(*graphs, params=list(weights), buffers=list(buffers), n_state=n,
                      frontier_is_dp=frontier_is_dp)
    if prog.param_grads is not None and not _batched_grads_agree(prog, cell, p, state, outs):
        prog.backward_state = prog.param_grads = None
    prog.row_width = max((v.numel() // p.shape[0] for nd in step_forward.graph.nodes
                          if isinstance(v := nd.meta.get("val"), Tensor)), default=0)
    prog.loops, prog.loops_on = _loops(prog, step_forward, p)
    prog.ops = {
        k: sum(nd.op == "call_function" for nd in g.graph.nodes)
        for k, g in zip(("prelude", "forward", "backward"), graphs[:3], strict=True)
    }
    prog.trace_s = time.perf_counter() - start
    logger.info(
        "traced %s.step for p %s in %.2f s (%s aten ops; parameter gradients %s; loops in %s)",
        type(cell).__name__, tuple(p.shape), prog.trace_s, prog.ops,
        "batched over steps" if prog.param_grads is not None else "per step", prog.loops_on,
    )
    return prog


def _loops(prog: TracedStep, step_forward: fx.GraphModule, p: Tensor) -> tuple[object, str]:
    """The time loops of ``prog`` and which they are (see TracedStep): Numba's where it can
    take the graphs, else TorchScript's."""
    from rnnkit.nn.fastpath import numba_available

    if p.device.type != "cpu":
        why = f"tensors on {p.device.type}"
    elif prog.param_grads is None:
        why = "parameter gradients per step"
    elif not numba_available():
        why = "not installed"
    else:
        from rnnkit.nn.fastpath.jit import split_rows
        from rnnkit.nn.fastpath.traced_numba import Untranslatable, compile_loops

        try:  # compiled now unless run as two halves (which are compiled when traced)
            return compile_loops(step_forward, prog.backward_state, prog.n_state,
                                 prog.frontier_is_dp, p.dtype,
                                 eager=split_rows(p.shape[0], prog.row_width) is None), "Numba"
        except Untranslatable as e:
            why = str(e)
    n = prog.n_state
    n_consts = sum(nd.op == "placeholder" for nd in prog.forward.graph.nodes) - 1 - n
    n_saved = sum(nd.op == "placeholder" for nd in prog.backward.graph.nodes) - 2 * (1 + n)
    loops, python = script_loops(
        prog.forward, prog.backward_state or prog.backward, n, n_consts, n_saved - n_consts,
        accumulate=prog.param_grads is None, frontier_is_dp=prog.frontier_is_dp,
    )
    return loops, f"TorchScript (Numba: {why})" if python is None else f"Python ({python})"


def _batched_grads_agree(
    prog: TracedStep, cell: Cell, p: Tensor, state: Sequence[Tensor], outs: Sequence[Tensor]
) -> bool:
    """Whether param_grads over two stacked steps equals the sum of two per-step backward
    gradients, on random inputs (a view with the batch size in its shape, or a reduction over
    other axes than the rows, would make them differ or raise)."""
    wb = _weights(cell, prog)
    gen = torch.Generator(device=p.device).manual_seed(0)

    def rand(t: Tensor) -> Tensor:
        return torch.randn(t.shape, generator=gen, dtype=t.dtype, device=t.device)

    n = prog.n_state
    with torch.no_grad():
        K = prog.prelude(*wb)
        sums, frontiers = None, []
        for _ in range(2):
            args = [rand(p), *map(rand, state), *K]
            saved = prog.forward(*args)[1 + n :]
            cot = [rand(o) for o in outs]
            dw = prog.backward(*args, *saved, *cot)[1 + n :]
            sums = dw if sums is None else [a + b for a, b in zip(sums, dw, strict=True)]
            frontiers.append(prog.backward_state(*args, *saved, *cot)[1 + n :])
        try:
            stacked = [torch.cat(f, dim=0) for f in zip(*frontiers, strict=True)]
            batched = prog.param_grads(*stacked, *wb)
        except RuntimeError:
            return False
    tol = 1e-9 if p.dtype == torch.float64 else 1e-4
    return all(
        a.shape == b.shape and torch.allclose(a, b, rtol=tol, atol=tol)
        for a, b in zip(batched, sums, strict=True)
    )


def _weights(cell: Cell, prog: TracedStep) -> list[Tensor]:
    """The cell's parameters the step reads, then its buffers, in the program's order."""
    named = {**dict(cell.named_parameters()), **dict(cell.named_buffers())}
    return [named[k.removeprefix("cell.")] for k in (*prog.params, *prog.buffers)]


def _ancestors(outputs: Sequence[fx.Node], stop: set[fx.Node]) -> set[fx.Node]:
    """Nodes the outputs depend on, not looking past (and not including) ``stop``."""
    seen: set[fx.Node] = set()
    todo = [o for o in outputs if o not in stop]
    while todo:
        nd = todo.pop()
        if nd in seen:
            continue
        seen.add(nd)
        todo.extend(a for a in nd.all_input_nodes if a not in stop and a not in seen)
    return seen


def _cut(root: fx.GraphModule, inputs: Sequence[fx.Node], outputs: Sequence[fx.Node]):
    """The sub-graph of root computing ``outputs`` from ``inputs``, as a GraphModule."""
    graph = fx.Graph()
    env: dict[fx.Node, fx.Node] = {}
    for i, nd in enumerate(inputs):
        env[nd] = graph.placeholder(f"in_{i}")
        env[nd].meta = dict(nd.meta)
    needed = _ancestors(outputs, set(inputs))
    for nd in root.graph.nodes:
        if nd in needed and nd not in env:
            if nd.op == "placeholder":
                raise Untraceable(f"internal: {nd.name} is not an input of the cut")
            env[nd] = graph.node_copy(nd, env.__getitem__)
    graph.output(tuple(env[o] for o in outputs))
    return fx.GraphModule(root, graph)


#: pieces of at most this many entries are copied out of their views (see _contiguous_pieces)
SMALL_PIECE = 4096


def _contiguous_pieces(gm: fx.GraphModule) -> fx.GraphModule:
    """gm with each split of a tensor x (..., G*H) into G equal small pieces (at most
    :data:`SMALL_PIECE` entries) along its last dimension (``chunk``, ``split``) done as one
    copy to (G, ..., H) and its G contiguous slices: the same values, as contiguous tensors
    instead of views with row stride G*H.

    torch's element-wise CPU ops take a slower path for such views, a cost per op that small
    pieces feel most: sigmoid and tanh of the four (64, 20) gate blocks of a (64, 80)
    pre-activation measured 75 us as views, 49 us after the one copy, and the user LSTM
    cell's forward loop at (64, 50, 1, 20) 2.30-2.44 ms against 1.97-2.00 ms (one thread, a
    loaded machine, best of 100-200). With (64, 128) pieces the copy lost (forward loop
    48.5-62.2 ms against 58.3-69.3 ms at (64, 100, 64, 128)). The results agree to rounding
    (1 ulp: torch's vectorised kernels against its strided ones).
    """
    aten = torch.ops.aten
    graph = gm.graph
    changed = False
    for node in list(graph.nodes):
        if node.op != "call_function" or node.target != aten.split.Tensor:
            continue
        x, size = node.args[0], node.args[1]
        dim = node.args[2] if len(node.args) > 2 else node.kwargs.get("dim", 0)
        val = x.meta.get("val")
        if not isinstance(val, Tensor) or not isinstance(size, int) or val.dim() < 2:
            continue
        d, shape = val.dim(), list(val.shape)
        piece = val.numel() // shape[-1] * size
        if dim % d != d - 1 or shape[-1] % size or shape[-1] == size or piece > SMALL_PIECE:
            continue
        with graph.inserting_before(node):
            blocks = graph.call_function(aten.view.default, (x, [*shape[:-1], shape[-1] // size,
                                                                 size]))  # (..., G, H)
            first = graph.call_function(aten.permute.default,
                                        (blocks, [d - 1, *range(d - 1), d]))  # (G, ..., H)
            copy = graph.call_function(aten.clone.default, (first,),
                                       {"memory_format": torch.contiguous_format})
            pieces = graph.call_function(aten.unbind.int, (copy, 0))
        node.replace_all_uses_with(pieces)  # its users take the pieces by index, as before
        graph.erase_node(node)
        changed = True
    if changed:
        graph.lint()
        gm.recompile()
    return gm


def _split(gm: fx.GraphModule, n_state: int, n_w: int, n_b: int, batch: int) -> tuple:
    """The joint graph (inputs p, s, W, buffers, cotangents; outputs h, s', dp, ds, dW) cut into
    prelude, forward, backward, backward_state, param_grads (the last two None when the
    parameter gradients cannot be batched over steps), which frontier values are dp, and the
    forward as cut (before :func:`_contiguous_pieces`, for the Numba loops). A
    node is step-invariant if it depends on no per-step input, backward if it depends on a
    cotangent; the forward nodes that backward nodes read are saved."""
    nodes = list(gm.graph.nodes)
    ph = [nd for nd in nodes if nd.op == "placeholder"]
    n = n_state
    p_s, wb, cots = ph[: 1 + n], ph[1 + n : 1 + n + n_w + n_b], ph[1 + n + n_w + n_b :]
    flat = list(next(nd for nd in nodes if nd.op == "output").args[0])
    outs, dps, dws = flat[: 1 + n], flat[1 + n : 2 + 2 * n], flat[2 + 2 * n :]
    per_step, backward = set(p_s) | set(cots), set(cots)
    for nd in nodes:
        if nd.op == "call_function":
            if any(a in per_step for a in nd.all_input_nodes):
                per_step.add(nd)
            if any(a in backward for a in nd.all_input_nodes):
                backward.add(nd)
    if not all(g in backward for g in flat[1 + n :]):
        raise Untraceable("a gradient of its step does not depend on the step's outputs")
    consts = [nd for nd in nodes if nd not in per_step and nd.op != "output"
              and any(u in per_step for u in nd.users)]  # computed once a sequence
    saved = [nd for nd in nodes if nd in per_step and nd not in backward and nd not in p_s
             and any(u in backward for u in nd.users)]
    prelude = _cut(gm, wb, consts)
    step_forward = _cut(gm, [*p_s, *consts], [*outs, *saved])
    forward = _contiguous_pieces(_cut(gm, [*p_s, *consts], [*outs, *saved]))
    bwd_in = [*p_s, *consts, *saved, *cots]
    backward_ = _cut(gm, bwd_in, [*dps, *dws])
    # the parameter gradients' own nodes, and the per-step values they read ("frontier")
    state_part = _ancestors(dps, set(bwd_in))
    param_part = _ancestors(dws, set(bwd_in) | state_part) - set(wb)
    frontier = [nd for nd in nodes if nd in per_step and nd not in param_part
                and any(u in param_part for u in nd.users)]
    rows_first = all(
        isinstance(v := nd.meta.get("val"), Tensor) and v.dim() > 0 and v.shape[0] == batch
        for nd in frontier
    )
    if not frontier or not rows_first:
        return prelude, forward, backward_, None, None, (), step_forward
    backward_state = _cut(gm, bwd_in, [*dps, *frontier])
    param_grads = _cut(gm, [*frontier, *wb], dws)
    return (prelude, forward, backward_, backward_state, param_grads,
            tuple(nd is dps[0] for nd in frontier), step_forward)


# -- the programs, cached per cell ------------------------------------------------------------
_CACHE: weakref.WeakKeyDictionary[Cell, dict[tuple, TracedStep | str]] = (
    weakref.WeakKeyDictionary()
)


def _key(cell: Cell, p: Tensor, state: Sequence[Tensor]) -> tuple:
    tensors = [*cell.parameters(), *cell.buffers()]
    return (
        tuple(p.shape), p.dtype, p.device, tuple(tuple(f.shape) for f in state), cell.training,
        tuple((tuple(t.shape), t.dtype, t.device) for t in tensors),
    )


def program(cell: Cell, p: Tensor, state: Sequence[Tensor]) -> TracedStep:
    """The traced step pair for p_t (B, P) and state fields (B, H), traced on first use.

    Raises Untraceable (cached too: a cell is not traced twice) when the step cannot be traced.
    """
    per_cell = _CACHE.setdefault(cell, {})
    key = _key(cell, p, state)
    if key not in per_cell:
        try:
            per_cell[key] = _trace(cell, p, state)
        except Untraceable as e:
            per_cell[key] = str(e)
    got = per_cell[key]
    if isinstance(got, str):
        raise Untraceable(got)
    return got


def _probe(cell: Cell, x: Tensor, state: State) -> tuple[Tensor, list[Tensor]]:
    """p_t (B, P) and state fields (B, H) shaped and typed as the run's first step."""
    with torch.no_grad():
        p = cell.project_input(x[:, :1])[:, 0]  # (B, P)
    fields = [state] if isinstance(state, Tensor) else list(state)
    return p, fields


def unavailable(cell: Cell, x: Tensor, state: State | None = None) -> str | None:
    """Why ``cell`` cannot run on the traced path for x (B, T, D) and state (h (B, H) or a
    NamedTuple of them; None: the zero state), or None when it can. The reasons finish the
    sentence "the traced path is unavailable: ..."."""
    tool = capture()
    if tool is not None:
        return f"{tool} is capturing the graph"
    cast = autocast_dtype(x.device.type)
    if cast is not None:
        return f"it does not run under autocast ({cast})"
    if state is None:
        state = cell.initial_state(x.shape[0], x.device, x.dtype)
    try:
        program(cell, *_probe(cell, x, state))
    except Untraceable as e:
        return str(e)
    return None


class _Sequence(torch.autograd.Function):
    """hs, *final = T forward steps over p (B, T, P); backward: T backward steps, reversed."""

    @staticmethod
    def forward(ctx, prog: TracedStep, loops, valid: Tensor | None, p: Tensor, *args: Tensor):
        n = prog.n_state
        state, wb = list(args[:n]), args[n:]
        K = [k.detach() for k in prog.prelude(*wb)]  # step-invariant values, plain tensors
        hs, final, ctx.tape = loops.forward(p, state, K, valid)
        ctx.prog, ctx.loops, ctx.wb, ctx.steps, ctx.state0 = prog, loops, wb, p.shape[1], state[0]
        return (hs, *final)  # (B, T, H), final fields (B, H)

    @staticmethod
    @once_differentiable
    def backward(ctx, d_hs: Tensor | None, *d_final: Tensor | None):
        prog, wb = ctx.prog, ctx.wb
        zero = torch.zeros_like(ctx.state0)  # (B, H)
        ds = [zero if d is None else d for d in d_final]  # (B, H) each
        if d_hs is None:
            d_hs = zero.unsqueeze(1).expand(-1, ctx.steps, -1)  # (B, T, H)
        dp, ds, values = ctx.loops.backward(ctx.tape, d_hs, ds)
        if prog.param_grads is not None:  # one call over all steps: (B*T, ...) per value
            dw = prog.param_grads(*values, *wb)
        else:
            dw = values  # summed over the steps by the loop
        n_w = len(prog.params)
        return (None, None, None, dp, *ds, *dw[:n_w], *([None] * (len(wb) - n_w)))


def _loops_for(cell: Cell, prog: TracedStep, p: Tensor, fields: list[Tensor]):
    """The loops to run prog's sequence with: two half-batch programs side by side
    (:class:`~rnnkit.nn.fastpath.traced_numba.SplitLoops`; the halves are traced and compiled
    on first use, and cached like any program) when Numba runs the loops and a step's widest
    value (B, ``prog.row_width``) is large enough for two threads
    (:func:`rnnkit.nn.fastpath.jit.split_rows`, the kernels' rule), else ``prog.loops``.

    Measured (user LSTM cell, training step / torch.nn.LSTM's best, two runs of a scratch A/B,
    2026-12-04 06:51 UTC, a noisy 2-core machine): halves 1.32-1.57 against the whole batch's
    1.54-1.87 at (32, 200, 128, 256), 0.96-1.05 against 1.12-1.14 at (256, 28, 28, 128),
    1.13-1.20 against 1.14-1.21 at (64, 100, 64, 128). The worker keeps one torch thread and
    this thread takes one for the call (:func:`~rnnkit.nn.fastpath.jit.on_two_threads`)."""
    if prog.loops_on != "Numba":
        return prog.loops
    from rnnkit.nn.fastpath.jit import split_rows

    B = p.shape[0]
    h = split_rows(B, prog.row_width)
    if h is None:
        return prog.loops
    if prog.split is None:
        from rnnkit.nn.fastpath.traced_numba import SplitLoops

        halves = [program(cell, p[rows, 0], [f[rows] for f in fields])
                  for rows in (slice(0, h), slice(h, B))]
        prog.split = (SplitLoops(halves[0].loops, halves[1].loops, h)
                      if all(half.loops_on == "Numba" for half in halves) else prog.loops)
    return prog.split


def run(
    cell: Cell, x: Tensor, state: State, lengths: Tensor | None = None
) -> tuple[Tensor, State]:
    """One layer, one direction: x (B, T, D) -> (hs (B, T, H), final state); lengths (B,) of
    right-padded rows or None. Raises ValueError naming the reason when the traced path is
    unavailable (see :func:`unavailable`)."""
    fields = [state] if isinstance(state, Tensor) else list(state)
    p = cell.project_input(x)  # (B, T, P)
    try:
        prog = program(cell, p[:, 0], fields)
    except Untraceable as e:
        raise ValueError(f"the traced path is unavailable for {type(cell).__name__}: {e}") from e
    wb = _weights(cell, prog)
    valid = None if lengths is None else valid_mask(lengths, x.shape[1], x.device)  # (B, T)
    hs, *final = _Sequence.apply(prog, _loops_for(cell, prog, p, fields), valid, p, *fields, *wb)
    return hs, final[0] if cell.state_type is None else cell.state_type(*final)
