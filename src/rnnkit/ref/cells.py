"""Step cells: one time step of an Elman RNN, LSTM or GRU (and their layer-normalised forms).

A cell maps ``(x_t, state_{t-1}) -> state_t`` for a batch: x (B, D), h (B, H), LSTM state
``(h, c)``. It is the plain, allocation-happy statement of the step equations, written to be
read; the Time* layers run the same equations over T steps with preallocated buffers. Weights,
layout, gate order and initialisation are those of the Time* layers (and torch.nn), so a cell
and a time layer built with the same ``seed`` hold the same weights.

``forward(x, state) -> new_state``; ``backward(dstate_new) -> (dx, dstate_prev)`` overwrites
``grads``. Equations (LN = per-gate-block LayerNorm, only in the LN* cells; see
:mod:`rnnkit.ref.layernorm`):

    RNN:  h' = tanh(LN(W_ih x + b_ih + W_hh h + b_hh))             (or relu)
    LSTM: a = LN(W_ih x + b_ih + W_hh h + b_hh) = [a_i, a_f, a_g, a_o]
          c' = sigmoid(a_f) c + sigmoid(a_i) tanh(a_g),   h' = sigmoid(a_o) tanh(c')
    GRU:  r = sigmoid(LN_r(gi_r + gh_r)), z = sigmoid(LN_z(gi_z + gh_z)),
          n = tanh(LN_n(gi_n + r gh_n)), h' = (1 - z) n + z h,
          with gi = W_ih x + b_ih, gh = W_hh h + b_hh
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnkit.ref._checks import (
    as_float_array,
    check_nonlinearity,
    check_shape,
    check_size,
    resolve_dtype,
)
from rnnkit.ref.functional import sigmoid
from rnnkit.ref.layernorm import ln_backward, ln_forward
from rnnkit.ref.time_base import init_recurrent_params


class _Cell:
    gates = 1
    state_parts = 1
    layer_norm = False

    def __init__(self, input_size: int, hidden_size: int, *, dtype: Any = "float32",
                 seed: int | None = None) -> None:
        self.input_size = check_size(input_size, "input_size")
        self.hidden_size = check_size(hidden_size, "hidden_size")
        self.dtype = resolve_dtype(dtype)
        self.params = init_recurrent_params(self.input_size, self.hidden_size, self.gates,
                                            self.layer_norm, self.dtype, seed)
        self.grads = [np.zeros_like(p) for p in self.params]
        self._cache: dict[str, Any] = {}

    def _check(self, x: Any, state: Any) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
        x = as_float_array(x, "x", 2, self.dtype)
        check_shape(x, "x", (None, self.input_size), "B,D")
        B, H = x.shape[0], self.hidden_size
        if state is None:
            return x, tuple(np.zeros((B, H), self.dtype) for _ in range(self.state_parts))
        if self.state_parts == 2:
            if not isinstance(state, (tuple, list)) or len(state) != 2:
                raise TypeError(f"state must be a tuple (h, c), got {type(state).__name__}")
            parts = state
        else:
            parts = (state,)
        out = []
        for k, s in enumerate(parts):
            name = "state" if self.state_parts == 1 else f"state[{k}]"
            s = as_float_array(s, name, 2, self.dtype)
            check_shape(s, name, (B, H), "B,H")
            out.append(s)
        return x, tuple(out)

    def _pre(self, a: np.ndarray, sl: slice, G: int) -> np.ndarray:
        """LayerNorm of the blocks ``sl`` of the pre-activation ``a`` (identity without LN)."""
        if not self.layer_norm:
            return a
        y, xhat, rstd = ln_forward(a, self.params[4][sl], self.params[5][sl], G)
        self._cache.setdefault("ln", {})[sl.start or 0] = (xhat, rstd, sl)
        return y

    def _pre_back(self, d: np.ndarray, sl: slice) -> np.ndarray:
        """LN backward of block group ``sl``; accumulates dgamma and dbeta."""
        if not self.layer_norm:
            return d
        xhat, rstd, _ = self._cache["ln"][sl.start or 0]
        self.grads[4][sl] += (d * xhat).sum(axis=0)
        self.grads[5][sl] += d.sum(axis=0)
        return ln_backward(d, xhat, rstd, self.params[4][sl])

    def _weight_grads(self, dgi: np.ndarray, dgh: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Write dW_ih, dW_hh, db_ih, db_hh; return (dx, dh) through the two matrices."""
        x, h = self._cache["x"], self._cache["h"]
        W_ih, W_hh = self.params[0], self.params[1]
        self.grads[0][...] = dgi.T @ x
        self.grads[1][...] = dgh.T @ h
        self.grads[2][...] = dgi.sum(axis=0)
        self.grads[3][...] = dgh.sum(axis=0)
        return dgi @ W_ih, dgh @ W_hh

    def _zero_ln_grads(self) -> None:
        for g in self.grads[4:]:
            g[...] = 0

    def __call__(self, x: Any, state: Any = None) -> Any:
        return self.forward(x, state)  # type: ignore[attr-defined]


class RNNCell(_Cell):
    """Elman cell: h' = act(W_ih x + b_ih + W_hh h + b_hh), act "tanh" (default) or "relu"."""

    def __init__(self, input_size: int, hidden_size: int, *, nonlinearity: str = "tanh",
                 dtype: Any = "float32", seed: int | None = None) -> None:
        self.nonlinearity = check_nonlinearity(nonlinearity)
        super().__init__(input_size, hidden_size, dtype=dtype, seed=seed)

    def forward(self, x: Any, state: Any = None) -> np.ndarray:
        x, (h,) = self._check(x, state)
        W_ih, W_hh, b_ih, b_hh = self.params[:4]
        a = self._pre(x @ W_ih.T + b_ih + h @ W_hh.T + b_hh, slice(0, None), 1)  # (B, H)
        h_new = np.maximum(a, 0) if self.nonlinearity == "relu" else np.tanh(a)
        self._cache.update(x=x, h=h, h_new=h_new)
        return h_new

    def backward(self, dh_new: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h_new = self._cache["h_new"]
        self._zero_ln_grads()
        deriv = (h_new > 0) if self.nonlinearity == "relu" else 1 - h_new**2
        da = self._pre_back(dh_new * deriv, slice(0, None))
        dx, dh = self._weight_grads(da, da)
        return dx, dh


class LSTMCell(_Cell):
    """LSTM cell, gate order i, f, g, o; state (h, c)."""

    gates = 4
    state_parts = 2

    def forward(self, x: Any, state: Any = None) -> tuple[np.ndarray, np.ndarray]:
        x, (h, c) = self._check(x, state)
        W_ih, W_hh, b_ih, b_hh = self.params[:4]
        H = self.hidden_size
        a = self._pre(x @ W_ih.T + b_ih + h @ W_hh.T + b_hh, slice(0, None), 4)  # (B, 4H)
        i, f = sigmoid(a[:, :H]), sigmoid(a[:, H : 2 * H])
        g, o = np.tanh(a[:, 2 * H : 3 * H]), sigmoid(a[:, 3 * H :])
        c_new = f * c + i * g
        tc = np.tanh(c_new)
        h_new = o * tc
        self._cache.update(x=x, h=h, c=c, i=i, f=f, g=g, o=o, tc=tc)
        return h_new, c_new

    def backward(self, dstate: Any) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
        dh_new, dc_new = dstate
        k = self._cache
        i, f, g, o, tc = k["i"], k["f"], k["g"], k["o"], k["tc"]
        self._zero_ln_grads()
        dc = dc_new + dh_new * o * (1 - tc**2)
        da = np.concatenate(
            [dc * g * i * (1 - i), dc * k["c"] * f * (1 - f), dc * i * (1 - g**2),
             dh_new * tc * o * (1 - o)], axis=1)  # (B, 4H)
        da = self._pre_back(da, slice(0, None))
        dx, dh = self._weight_grads(da, da)
        return dx, (dh, dc * f)


class GRUCell(_Cell):
    """GRU cell with PyTorch's equations (b_hn inside r * (.)), gate order r, z, n."""

    gates = 3

    def forward(self, x: Any, state: Any = None) -> np.ndarray:
        x, (h,) = self._check(x, state)
        W_ih, W_hh, b_ih, b_hh = self.params[:4]
        H = self.hidden_size
        gi = x @ W_ih.T + b_ih  # (B, 3H)
        gh = h @ W_hh.T + b_hh  # (B, 3H)
        rz = sigmoid(self._pre(gi[:, : 2 * H] + gh[:, : 2 * H], slice(0, 2 * H), 2))
        r, z = rz[:, :H], rz[:, H:]
        n = np.tanh(self._pre(gi[:, 2 * H :] + r * gh[:, 2 * H :], slice(2 * H, None), 1))
        self._cache.update(x=x, h=h, r=r, z=z, n=n, ghn=gh[:, 2 * H :])
        return (1 - z) * n + z * h

    def backward(self, dh_new: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        k = self._cache
        r, z, n, h = k["r"], k["z"], k["n"], k["h"]
        H = self.hidden_size
        self._zero_ln_grads()
        dan = self._pre_back(dh_new * (1 - z) * (1 - n**2), slice(2 * H, None))
        dr = dan * k["ghn"]
        dz = dh_new * (h - n)
        darz = self._pre_back(np.concatenate([dr * r * (1 - r), dz * z * (1 - z)], axis=1),
                              slice(0, 2 * H))
        dgi = np.concatenate([darz, dan], axis=1)  # (B, 3H)
        dgh = np.concatenate([darz, dan * r], axis=1)  # (B, 3H)
        dx, dh = self._weight_grads(dgi, dgh)
        return dx, dh + dh_new * z


class LNRNNCell(RNNCell):
    """Layer-normalised Elman cell; params + [gamma (H,), beta (H,)]."""

    layer_norm = True


class LNLSTMCell(LSTMCell):
    """Layer-normalised LSTM cell (LN per gate block); params + [gamma (4H,), beta (4H,)]."""

    layer_norm = True


class LNGRUCell(GRUCell):
    """Layer-normalised GRU cell (LN per gate block); params + [gamma (3H,), beta (3H,)]."""

    layer_norm = True
