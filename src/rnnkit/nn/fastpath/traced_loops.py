"""The traced path's two time loops as TorchScript, so no Python runs between the steps' ops.

:mod:`rnnkit.nn.fastpath.traced` traces a cell's step into a forward and a backward graph;
:func:`script_loops` turns each into a TorchScript function (``torch.jit.trace`` of the graph,
its ops fixed) called from a scripted loop over the steps. Shapes: p (B, T, P), state fields
and their gradients (B, H), valid (B, T) bool or None (padded steps keep the state and output
zeros; their gradients pass through unchanged)::

    forward:   hs (B, T, H), final state, [s_{t-1}] * T, [saved_t] * T
    backward:  dp (B, T, P), d initial state, [f_t] * T (frontier values or dW_t of each step,
               in processing order reversed)

(Kept apart from ``traced.py``: TorchScript reads these annotations at run time, so this
module does not postpone them.)
"""

import warnings

import torch
from torch import Tensor, fx, nn


class _ForwardStep(nn.Module):
    """``(p_t, s, K) -> [h_t, *s_t, *saved_t]`` from the forward graph."""

    def __init__(self, graph: fx.GraphModule) -> None:
        super().__init__()
        self.graph = graph

    def forward(self, p_t: Tensor, s: list[Tensor], K: list[Tensor]) -> list[Tensor]:
        return list(self.graph(p_t, *s, *K))


class _BackwardStep(nn.Module):
    """``(p_t, s, K, saved_t, dh_t, ds_t) -> [dp_t, *ds_{t-1}, *f_t]`` from a backward graph."""

    def __init__(self, graph: fx.GraphModule) -> None:
        super().__init__()
        self.graph = graph

    def forward(
        self, p_t: Tensor, s: list[Tensor], K: list[Tensor], saved: list[Tensor], dh: Tensor,
        ds: list[Tensor],
    ) -> list[Tensor]:
        return list(self.graph(p_t, *s, *K, *saved, dh, *ds))


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
    """The T backward steps in reverse order, carrying the state's gradient."""

    def __init__(self, step: nn.Module, n_state: int) -> None:
        super().__init__()
        self.step = step
        self.n = n_state

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
            per_step.append(out[1 + self.n :])
        dps.reverse()
        return torch.stack(dps, 1), ds, per_step


def script_loops(
    forward: fx.GraphModule,
    backward: fx.GraphModule,
    n_state: int,
    p_t: Tensor,
    state: list[Tensor],
    K: list[Tensor],
    cot: list[Tensor],
) -> tuple[nn.Module, nn.Module, str | None]:
    """The ForwardLoop and BackwardLoop of the two graphs, scripted (the steps traced on the
    example inputs p_t (B, P), state fields (B, H), step invariants K and cotangents of
    (h, *state)), and None; or, when TorchScript cannot take a graph (the JIT tracer has no
    bool[3] argument, which layer norm's backward takes), the same loops run by Python, and
    the reason."""
    fwd_step, bwd_step = _ForwardStep(forward), _BackwardStep(backward)
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the tracer's notes on constants and shapes
            fwd = torch.jit.trace(fwd_step, (p_t, state, K), strict=False)
            saved = fwd(p_t, state, K)[1 + n_state :]
            bwd = torch.jit.trace(bwd_step, (p_t, state, K, saved, cot[0], cot[1:]), strict=False)
            return (
                torch.jit.script(ForwardLoop(fwd, n_state)),
                torch.jit.script(BackwardLoop(bwd, n_state)),
                None,
            )
    except RuntimeError as e:
        text = str(e).strip().splitlines()
        why = f"TorchScript: {text[0][:200] if text else type(e).__name__}"
        return ForwardLoop(fwd_step, n_state), BackwardLoop(bwd_step, n_state), why
