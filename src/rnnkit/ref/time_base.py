"""What every recurrent time layer of the reference engine shares: parameters, state, checks.

A time layer runs a cell over T steps of a batch-first input ``xs`` (B, T, D) and returns all
hidden states ``hs`` (B, T, H). Subclasses (:class:`~rnnkit.ref.time_rnn.TimeRNN`,
:class:`~rnnkit.ref.time_lstm.TimeLSTM`, :class:`~rnnkit.ref.time_gru.TimeGRU` and their
layer-normalised versions) write one step's forward and one step's backward as the equations,
the per-step design of Deep Learning from Scratch 2's ``TimeLSTM``:

    _forward_tm(X (T, B, D), state0)  -> hs (T, B, H), final state    caches each step's values
    _backward_tm(dH (T, B, H), dfinal) -> dX (T, B, D), dstate0        adds to the zeroed ``grads``

Each step makes its own matrix products, as the book does: forward W_ih x_t and W_hh h_{t-1}
(one product of [x_t, h_{t-1}] in ``TimeLSTM``), backward dx_t, dh_{t-1} and the step's share
of the weight gradients (:meth:`TimeRecurrent._add_step_grads`). The design before made one
product over all T steps for the input projection (before the loop) and for each weight
gradient (after it); against the book's per-step code it measured 1.04-1.21 / 0.97-1.33 /
1.78-1.94 / 0.93-1.02 in four runs of ``benchmarks/ref_engine.py`` (2026-12-04), below 1 at
two shapes: its (T, B, G*H) arrays are fresh memory at each call (a forward at
(B, T, D, H) = (256, 28, 28, 128) on one thread: 52-79 ms against 34-36 ms a step at a time).
This base class converts batch-first arrays to time-major ones at the edges and checks
arguments.

Parameters (the contract shared with the PyTorch engine; G gate blocks: 1 RNN, 4 LSTM, 3 GRU):

    params = [W_ih (G*H, D), W_hh (G*H, H), b_ih (G*H,), b_hh (G*H,)]   torch.nn layout and order
           + [gamma (G*H,), beta (G*H,)]                                 layer-normalised layers

initialised like torch.nn: every weight and bias ~ U(-1/sqrt(H), 1/sqrt(H)); gamma = 1, beta = 0.

State: ``h`` (B, H) for RNN and GRU, ``(h, c)`` for LSTM. ``forward(xs, state=None)`` starts
from ``state``, else (stateful layers) from the state carried from the previous call, else
zeros; afterwards ``layer.state`` holds the final state. ``backward(dhs, dstate=None)`` takes the
gradient w.r.t. every output and (optionally) w.r.t. the final state, overwrites ``grads`` and
sets ``layer.dstate0``, the gradient w.r.t. the initial state. A stateful layer carries the state
by value: gradients never flow back across calls (truncated BPTT).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnkit.ref._checks import (
    as_float_array,
    check_bool,
    check_shape,
    check_size,
    resolve_dtype,
)
from rnnkit.ref.layernorm import ln_backward, ln_forward

State = Any  # np.ndarray (B, H) or tuple[np.ndarray, np.ndarray] for LSTM


def init_recurrent_params(input_size: int, hidden_size: int, gates: int, layer_norm: bool,
                          dtype: np.dtype, seed: int | None) -> list[np.ndarray]:
    """``[W_ih (G*H, D), W_hh (G*H, H), b_ih, b_hh]`` ~ U(-1/sqrt(H), 1/sqrt(H)) drawn in this
    order from ``default_rng(seed)``, plus ``[gamma = 1, beta = 0]`` (G*H,) when layer_norm."""
    D, H, GH = input_size, hidden_size, gates * hidden_size
    rng = np.random.default_rng(seed)
    k = 1.0 / np.sqrt(H)
    params = [rng.uniform(-k, k, s).astype(dtype) for s in [(GH, D), (GH, H), (GH,), (GH,)]]
    if layer_norm:
        params += [np.ones(GH, dtype), np.zeros(GH, dtype)]
    return params


class TimeRecurrent:
    """Base class of the recurrent time layers (not used directly)."""

    #: gate blocks G in the weights (1 RNN, 3 GRU, 4 LSTM)
    gates: int = 1
    #: number of state arrays (2 for LSTM's (h, c), else 1)
    state_parts: int = 1
    #: whether LayerNorm is applied per gate block to the pre-activations
    layer_norm: bool = False

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        *,
        stateful: bool = False,
        dtype: Any = "float32",
        seed: int | None = None,
    ) -> None:
        self.input_size = check_size(input_size, "input_size")
        self.hidden_size = check_size(hidden_size, "hidden_size")
        self.stateful = check_bool(stateful, "stateful")
        self.dtype = resolve_dtype(dtype)
        self.params: list[np.ndarray] = init_recurrent_params(
            self.input_size, self.hidden_size, self.gates, self.layer_norm, self.dtype, seed)
        self.grads: list[np.ndarray] = [np.zeros_like(p) for p in self.params]
        self.state: State | None = None
        self.dstate0: State | None = None
        self._cache: dict[str, Any] = {}

    # ------------------------------------------------------------------ parameters
    @property
    def param_shapes(self) -> list[tuple[int, ...]]:
        """The shapes ``params`` must have, in order."""
        D, H, GH = self.input_size, self.hidden_size, self.gates * self.hidden_size
        shapes = [(GH, D), (GH, H), (GH,), (GH,)]
        return [*shapes, (GH,), (GH,)] if self.layer_norm else shapes

    W_ih = property(lambda self: self.params[0], doc="input-to-hidden weights (G*H, D)")
    W_hh = property(lambda self: self.params[1], doc="hidden-to-hidden weights (G*H, H)")
    b_ih = property(lambda self: self.params[2], doc="input bias (G*H,)")
    b_hh = property(lambda self: self.params[3], doc="hidden bias (G*H,)")

    def set_params(self, arrays: Any) -> None:
        """Replace the parameter arrays, in ``params`` order, by ``arrays``.

        An array that already has the layer's dtype is used as is (no copy: later in-place
        changes to it are seen by the layer, as with an optimiser's updates); others are
        converted. ``grads`` are reallocated as zeros of the same shapes.
        """
        arrays = list(arrays)
        shapes = self.param_shapes
        if len(arrays) != len(shapes):
            raise ValueError(f"arrays must hold {len(shapes)} arrays, got {len(arrays)}")
        new = []
        for i, (a, shape) in enumerate(zip(arrays, shapes, strict=True)):
            if not isinstance(a, np.ndarray):
                a = np.asarray(a)
            if a.dtype.kind not in "fiu":
                raise TypeError(f"arrays[{i}] must be a real numeric array, got dtype {a.dtype}")
            if a.shape != shape:
                raise ValueError(f"arrays[{i}] must have shape {shape}, got {a.shape}")
            if a.dtype != self.dtype:
                a = a.astype(self.dtype)
            new.append(a)
        self.params = new
        self.grads = [np.zeros_like(p) for p in new]

    # ------------------------------------------------------------------ state
    def reset_state(self) -> None:
        """Forget the carried state (the next forward starts from zeros)."""
        self.state = None

    def set_state(self, state: State) -> None:
        """Set the state the next forward starts from (validated, copied to the layer dtype)."""
        self.state = self._check_state(state, "state", None)

    def _check_state(self, state: State, name: str, batch: int | None) -> State:
        H = self.hidden_size
        if self.state_parts == 2:
            if not isinstance(state, (tuple, list)) or len(state) != 2:
                raise TypeError(f"{name} must be a tuple (h, c) of (B, {H}) arrays, got "
                                f"{type(state).__name__}")
            h = as_float_array(state[0], f"{name}[0] (h)", 2, self.dtype)
            c = as_float_array(state[1], f"{name}[1] (c)", 2, self.dtype)
            check_shape(h, f"{name}[0] (h)", (batch, H), "B,H")
            check_shape(c, f"{name}[1] (c)", (h.shape[0], H), "B,H")
            return (h.copy(), c.copy())
        h = as_float_array(state, name, 2, self.dtype)
        check_shape(h, name, (batch, H), "B,H")
        return h.copy()

    def _state_tuple(self, state: State) -> tuple[np.ndarray, ...]:
        return tuple(state) if self.state_parts == 2 else (state,)

    def _state_public(self, parts: tuple[np.ndarray, ...]) -> State:
        return (parts[0], parts[1]) if self.state_parts == 2 else parts[0]

    # ------------------------------------------------------------------ forward / backward
    def forward(self, xs: Any, state: State | None = None) -> np.ndarray:
        """Run the layer over ``xs`` (B, T, D); return all hidden states ``hs`` (B, T, H)."""
        xs = as_float_array(xs, "xs", 3, self.dtype)
        check_shape(xs, "xs", (None, None, self.input_size), "B,T,D")
        B, T, _ = xs.shape
        if B == 0 or T == 0:
            raise ValueError(f"xs must have B >= 1 and T >= 1, got shape {xs.shape}")
        if state is not None:
            s0 = self._check_state(state, "state", B)
        elif self.stateful and self.state is not None:
            s0 = self.state
            first = self._state_tuple(s0)[0]
            if first.shape[0] != B:
                raise ValueError(
                    f"xs batch size {B} differs from the carried state's {first.shape[0]}; "
                    "call reset_state() or pass state"
                )
        else:
            zeros = np.zeros((B, self.hidden_size), self.dtype)
            s0 = (zeros, zeros.copy()) if self.state_parts == 2 else zeros
        self._cache.clear()  # the previous call's arrays go first: this call reuses their memory
        X = np.ascontiguousarray(xs.transpose(1, 0, 2))  # (T, B, D)
        hs_tm, final = self._forward_tm(X, self._state_tuple(s0))  # (T, B, H)
        self._cache["shape"] = (B, T)
        self.state = self._state_public(tuple(s.copy() for s in final))
        return np.ascontiguousarray(hs_tm.transpose(1, 0, 2))  # (B, T, H)

    def backward(self, dhs: Any, dstate: State | None = None) -> np.ndarray:
        """Backpropagate ``dhs`` (B, T, H) (and ``dstate`` at the final state); return dxs."""
        if "shape" not in self._cache:
            raise RuntimeError("backward called before forward")
        B, T = self._cache["shape"]
        dhs = as_float_array(dhs, "dhs", 3, self.dtype)
        check_shape(dhs, "dhs", (B, T, self.hidden_size), "B,T,H")
        dfinal = None if dstate is None else self._state_tuple(self._check_state(dstate,
                                                                                 "dstate", B))
        dH = dhs.transpose(1, 0, 2)  # (T, B, H), a view: each step reads its rows once
        for g in self.grads:  # summed step by step
            g[...] = 0
        dX, d0 = self._backward_tm(dH, dfinal)  # (T, B, D)
        self.dstate0 = self._state_public(d0)
        return np.ascontiguousarray(dX.transpose(1, 0, 2))  # (B, T, D)

    __call__ = forward

    # ------------------------------------------------------------------ helpers for subclasses
    def _add_step_grads(self, dgi: np.ndarray, dgh: np.ndarray, x: np.ndarray,
                        h_prev: np.ndarray) -> np.ndarray:
        """Add one step's share of the weight and bias gradients to ``grads``; return dx_t.

        With the step's gradients w.r.t. the input projection gi = W_ih x_t + b_ih and the
        recurrent one gh = W_hh h_{t-1} + b_hh, dgi and dgh (B, G*H) (the same array for RNN and
        LSTM), x_t (B, D) and h_{t-1} (B, H), summed over the batch:

            dW_ih += dgi^T x_t,   dW_hh += dgh^T h_{t-1},   db_ih += sum dgi,   db_hh += sum dgh,
            dx_t = dgi W_ih                                                          (B, D)
        """
        self.grads[0] += dgi.T @ x
        self.grads[1] += dgh.T @ h_prev
        db_ih = dgi.sum(axis=0)
        self.grads[2] += db_ih
        self.grads[3] += db_ih if dgh is dgi else dgh.sum(axis=0)
        return dgi @ self.params[0]

    def _ln(self, a: np.ndarray, blocks: slice, G: int, cache: list) -> np.ndarray:
        """LayerNorm of the G gate blocks ``blocks`` of a pre-activation a (B, G*H); appends
        (xhat, rstd) to ``cache`` for :meth:`_ln_backward`."""
        y, xhat, rstd = ln_forward(a, self.params[4][blocks], self.params[5][blocks], G)
        cache.append((xhat, rstd))
        return y

    def _ln_backward(self, dy: np.ndarray, blocks: slice, xhat: np.ndarray,
                     rstd: np.ndarray) -> np.ndarray:
        """Gradient w.r.t. the LayerNorm input of blocks ``blocks`` from dy (B, G*H); adds
        dgamma = sum dy * xhat and dbeta = sum dy to ``grads[4:6]``."""
        self.grads[4][blocks] += (dy * xhat).sum(axis=0)
        self.grads[5][blocks] += dy.sum(axis=0)
        return ln_backward(dy, xhat, rstd, self.params[4][blocks])

    def _forward_tm(self, X: np.ndarray, s0: tuple[np.ndarray, ...]):  # pragma: no cover
        raise NotImplementedError

    def _backward_tm(self, dH: np.ndarray, dfinal):  # pragma: no cover
        raise NotImplementedError

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.input_size}, {self.hidden_size}, "
                f"stateful={self.stateful}, dtype='{self.dtype.name}')")
