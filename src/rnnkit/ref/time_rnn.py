"""TimeRNN and TimeLNRNN: an Elman (simple) RNN over T steps with hand-written BPTT.

Step equations (torch.nn.RNN's):

    a   = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh       (B, H)
    (layer-normalised: a <- LN(a) = gamma * (a - mean) / sqrt(var + 1e-5) + beta, over H)
    h_t = tanh(a)   or   relu(a)

Backward, step t, with dh = dhs_t + dh_{t+1 -> t}:

    da = dh * (1 - h_t^2)   (tanh)   or   dh * [h_t > 0]   (relu)
    (layer-normalised: da <- LN backward of da)
    dh_{t-1} = da @ W_hh

and after the loop for all steps at once: dW_ih = da^T x, dW_hh = da^T h_prev, db = sum da,
dx = da @ W_ih (:meth:`~rnnkit.ref.time_base.TimeRecurrent._weight_grads`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnkit.ref._checks import NONLINEARITIES, check_nonlinearity
from rnnkit.ref.functional import relu
from rnnkit.ref.time_base import TimeRecurrent

__all__ = ["NONLINEARITIES", "TimeLNRNN", "TimeRNN"]


class TimeRNN(TimeRecurrent):
    """Elman RNN layer over a whole sequence: ``xs`` (B, T, D) -> ``hs`` (B, T, H).

    ``TimeRNN(input_size, hidden_size, *, nonlinearity="tanh", stateful=False,
    dtype="float32", seed=None)``; ``nonlinearity`` is "tanh" or "relu".
    ``params = [W_ih (H, D), W_hh (H, H), b_ih (H,), b_hh (H,)]`` in torch.nn.RNN's layout;
    state ``h`` (B, H). See :mod:`rnnkit.ref.time_base`.
    """

    gates = 1

    def __init__(self, input_size: int, hidden_size: int, *, nonlinearity: str = "tanh",
                 stateful: bool = False, dtype: Any = "float32", seed: int | None = None) -> None:
        self.nonlinearity = check_nonlinearity(nonlinearity)
        super().__init__(input_size, hidden_size, stateful=stateful, dtype=dtype, seed=seed)

    def _forward_tm(self, X: np.ndarray, s0: tuple[np.ndarray, ...]):
        W_ih, W_hh, b_ih, b_hh = self.params[:4]
        W_hhT = np.ascontiguousarray(W_hh.T)  # (H, G*H): the per-step product reads rows
        act = relu if self.nonlinearity == "relu" else np.tanh
        XW, b = self._project(X, W_ih), b_ih + b_hh  # (T, B, H): W_ih x_t of all steps
        (h,) = s0  # (B, H)
        hs, lns = [s0[0]], []
        for xw in XW:
            ln: list = []
            a = xw + h @ W_hhT + b  # (B, H)
            if self.layer_norm:
                a = self._ln(a, slice(None), 1, ln)
            h = act(a)
            hs.append(h)
            lns.append(ln)
        Hs = np.stack(hs)  # (T+1, B, H): h_0 .. h_T
        self._cache.update(X=X, Hs=Hs, lns=lns)
        return Hs[1:], (h,)

    def _backward_tm(self, dH: np.ndarray, dfinal):
        W_hh = self.params[1]
        Hs = self._cache["Hs"]
        dh_next = np.zeros(dH.shape[1:], self.dtype) if dfinal is None else dfinal[0]
        dA = np.empty_like(dH)  # (T, B, H)
        for t in reversed(range(len(dH))):
            dh = dH[t] + dh_next
            h = Hs[t + 1]
            da = dh * (h > 0) if self.nonlinearity == "relu" else dh * (1 - h**2)  # (B, H)
            if self.layer_norm:
                da = self._ln_backward(da, slice(None), *self._cache["lns"][t][0])
            dA[t] = da
            dh_next = da @ W_hh  # (B, H)
        dX = self._weight_grads(dA, dA, self._cache["X"], self._cache["Hs"][:-1])
        return dX, (dh_next,)

    def __repr__(self) -> str:
        return super().__repr__()[:-1] + f", nonlinearity='{self.nonlinearity}')"


class TimeLNRNN(TimeRNN):
    """Layer-normalised Elman RNN: h_t = act(LN(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)).

    ``params = [W_ih (H, D), W_hh (H, H), b_ih (H,), b_hh (H,), gamma (H,), beta (H,)]``;
    gamma starts at ones, beta at zeros.
    """

    layer_norm = True
