"""The traced path's two time loops as TorchScript, so no Python runs between the steps' ops.

:mod:`rnnkit.nn.fastpath.traced` traces a cell's step into a forward and a backward graph;
:func:`script_loops` scripts each (TorchScript, its inputs regrouped into lists) and calls it
from a scripted loop over the steps. Shapes: p (B, T, P), state fields and their gradients
(B, H), valid (B, T) bool or None (padded steps keep the state and output zeros; their
gradients pass through unchanged)::

    forward:   hs (B, T, H), final state, [s_{t-1}] * T, [saved_t] * T
    backward:  dp (B, T, P), d initial state, [f_t] * T (each step's frontier values, in
               processing order reversed), or [sum_t dW_t]

(Kept apart from ``traced.py``: TorchScript reads these annotations at run time, so this
module does not postpone them.)
"""

import operator
import warnings

import torch
from torch import Tensor, fx, nn


def _regroup(gm: fx.GraphModule, groups: list[int | None]) -> fx.GraphModule:
    """gm with its positional tensor inputs regrouped (None: one tensor, k: a list of k) and a
    list returned, its aten ops called by their overload packets (``aten.add``, not
    ``aten.add.Tensor``: TorchScript picks the overload again from the argument types)."""
    graph = fx.Graph()
    old = [nd for nd in gm.graph.nodes if nd.op == "placeholder"]
    env: dict[fx.Node, fx.Node] = {}
    i = 0
    for g, size in enumerate(groups):
        if size is None:
            env[old[i]] = graph.placeholder(f"x{g}", type_expr=Tensor)
            i += 1
            continue
        group = graph.placeholder(f"xs{g}", type_expr=list[Tensor])
        for j in range(size):
            env[old[i + j]] = graph.call_function(operator.getitem, (group, j))
        i += size
    for nd in gm.graph.nodes:
        if nd.op == "placeholder":
            continue
        if nd.op == "output":
            graph.output([env[o] for o in nd.args[0]])
            continue
        new = graph.node_copy(nd, env.__getitem__)
        if isinstance(nd.target, torch._ops.OpOverload):
            new.target = nd.target.overloadpacket
        env[nd] = new
    return fx.GraphModule(gm, graph)


class ForwardLoop(nn.Module):
    """The T forward steps; keeps each step's input state and saved values."""

    def __init__(self, step: nn.Module, n_state: int) -> None:
        super().__init__()
        self.step = step
        self.n = n_state

    def forward(
        self, p: Tensor, state: list[Tensor], K: list[Tensor], valid: Tensor | None
    ) -> tuple[Tensor, list[Tensor], list[list[Tensor]], list[list[Tensor]]]:
        hs: list[Tensor] = []
        states: list[list[Tensor]] = []
        saved: list[list[Tensor]] = []
        for t in range(p.size(1)):
            out = self.step(p.select(1, t), state, K)
            h = out[0]
            new = out[1 : 1 + self.n]
            if valid is not None:
                m = valid.select(1, t).unsqueeze(1)  # (B, 1)
                new = [torch.where(m, a, b) for a, b in zip(new, state)]  # noqa: B905 (TorchScript has no strict=)
                h = torch.where(m, h, torch.zeros_like(h))
            states.append(state)
            saved.append(out[1 + self.n :])
            hs.append(h)
            state = new
        return torch.stack(hs, 1), state, states, saved


class BackwardLoop(nn.Module):
    """The T backward steps in reverse order, carrying the state's gradient. The steps' extra
    outputs are kept per step, or summed over the steps (one list) with ``accumulate``."""

    def __init__(self, step: nn.Module, n_state: int, accumulate: bool) -> None:
        super().__init__()
        self.step = step
        self.n = n_state
        self.accumulate = accumulate

    def forward(
        self,
        p: Tensor,
        states: list[list[Tensor]],
        saved: list[list[Tensor]],
        K: list[Tensor],
        d_hs: Tensor,
        ds: list[Tensor],
        valid: Tensor | None,
    ) -> tuple[Tensor, list[Tensor], list[list[Tensor]]]:
        T = p.size(1)
        dps: list[Tensor] = []
        per_step: list[list[Tensor]] = []
        for i in range(T):
            t = T - 1 - i
            dh = d_hs.select(1, t)
            cot = ds
            if valid is not None:
                m = valid.select(1, t).unsqueeze(1)  # (B, 1)
                dh = torch.where(m, dh, torch.zeros_like(dh))
                cot = [torch.where(m, d, torch.zeros_like(d)) for d in ds]
                out = self.step(p.select(1, t), states[t], K, saved[t], dh, cot)
                ds = [torch.where(m, a, b) for a, b in zip(out[1 : 1 + self.n], ds)]  # noqa: B905 (TorchScript has no strict=)
            else:
                out = self.step(p.select(1, t), states[t], K, saved[t], dh, cot)
                ds = out[1 : 1 + self.n]
            dps.append(out[0])
            extra = out[1 + self.n :]
            if self.accumulate and len(per_step) > 0:
                per_step[0] = [a + b for a, b in zip(per_step[0], extra)]  # noqa: B905
            else:
                per_step.append(extra)
        dps.reverse()
        return torch.stack(dps, 1), ds, per_step


class ScriptLoops:
    """The two loops behind the interface the traced path's autograd Function calls (the
    Numba loops of :mod:`~rnnkit.nn.fastpath.traced_numba` have the same one)::

        forward(p, state, K, valid) -> hs (B, T, H), final state, tape
        backward(tape, d_hs, ds)    -> dp (B, T, P), d initial state, values

    ``values``: each frontier value over the steps, (B*T, ...) with rows in (b, t) order (dp
    itself, as a view, where ``frontier_is_dp``), or, with ``accumulate``, dW summed over the
    steps."""

    def __init__(self, forward: nn.Module, backward: nn.Module, accumulate: bool,
                 frontier_is_dp: tuple) -> None:
        self.forward_loop, self.backward_loop = forward, backward
        self.accumulate, self.frontier_is_dp = accumulate, frontier_is_dp

    def forward(self, p: Tensor, state: list, K: list, valid):
        hs, final, states, saved = self.forward_loop(p, state, K, valid)
        return hs, final, (p, states, saved, K, valid)

    def backward(self, tape, d_hs: Tensor, ds: list):
        p, states, saved, K, valid = tape
        dp, ds, per_step = self.backward_loop(p, states, saved, K, d_hs, ds, valid)
        if self.accumulate:
            return dp, ds, per_step[0]
        B, T = dp.shape[:2]
        values = zip(*per_step, strict=True)  # per frontier value: its T steps, last first
        return dp, ds, [dp.reshape(B * T, -1) if is_dp else torch.stack(f[::-1], 1).flatten(0, 1)
                        for f, is_dp in zip(values, self.frontier_is_dp, strict=True)]


def script_loops(
    forward: fx.GraphModule,
    backward: fx.GraphModule,
    n_state: int,
    n_consts: int,
    n_saved: int,
    accumulate: bool,
    frontier_is_dp: tuple = (),
) -> tuple[ScriptLoops, str | None]:
    """The ScriptLoops of the two graphs (forward ``(p_t, *s, *K)``, backward
    ``(p_t, *s, *K, *saved, dh, *ds)``, each returning a tuple), scripted, and None; or, when
    TorchScript cannot take a graph, the same loops run by Python, and the reason.
    ``accumulate``: sum the backward's extra outputs (dW_t) over the steps."""
    fwd = _regroup(forward, [None, n_state, n_consts])
    bwd = _regroup(backward, [None, n_state, n_consts, n_saved, None, n_state])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # TorchScript's deprecation notice
            loops = (torch.jit.script(ForwardLoop(fwd, n_state)),
                     torch.jit.script(BackwardLoop(bwd, n_state, accumulate)))
            return ScriptLoops(*loops, accumulate, frontier_is_dp), None
    except (RuntimeError, OSError) as e:  # OSError: no source to read (TorchScript needs it)
        text = str(e).strip().splitlines()
        why = f"TorchScript: {text[0][:200] if text else type(e).__name__}"
        loops = ForwardLoop(fwd, n_state), BackwardLoop(bwd, n_state, accumulate)
        return ScriptLoops(*loops, accumulate, frontier_is_dp), why
