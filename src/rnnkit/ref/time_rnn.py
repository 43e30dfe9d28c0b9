"""TimeRNN and TimeLNRNN: an Elman (simple) RNN over T steps with hand-written BPTT.

Step equations (torch.nn.RNN's):

    a   = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh       (B, H)
    (layer-normalised: a <- LN(a) = gamma * (a - mean) / sqrt(var + 1e-5) + beta, over H)
    h_t = tanh(a)   or   relu(a)

Backward, step t, with dh = dhs_t + dh_{t+1 -> t}:

    da = dh * (1 - h_t^2)   (tanh)   or   dh * [h_t > 0]   (relu)
    (layer-normalised: da <- LN backward of da)
    dW_ih += da^T x_t,  dW_hh += da^T h_{t-1},  db += sum da
    dx_t = da @ W_ih,   dh_{t-1} = da @ W_hh
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
        W_ihT, W_hhT = W_ih.T.copy(), W_hh.T.copy()  # (D, H), (H, H): products read rows
        b = b_ih + b_hh
        act = relu if self.nonlinearity == "relu" else np.tanh
        (h,) = s0  # (B, H)
        hs, lns = [h], []
        for x in X:
            ln: list = []
            a = x @ W_ihT + h @ W_hhT + b  # (B, H)
            if self.layer_norm:
                a = self._ln(a, slice(None), 1, ln)
            h = act(a)
            hs.append(h)
            lns.append(ln)
        self._cache.update(X=X, hs=hs, lns=lns)
        return np.stack(hs[1:]), (h,)

    def _backward_tm(self, dH: np.ndarray, dfinal):
        W_hh = self.params[1]
        X, hs = self._cache["X"], self._cache["hs"]
        dh_next = np.zeros(dH.shape[1:], self.dtype) if dfinal is None else dfinal[0]
        dX = np.empty_like(X)  # (T, B, D)
        for t in reversed(range(len(dH))):
            dh = dH[t] + dh_next
            h = hs[t + 1]
            da = dh * (h > 0) if self.nonlinearity == "relu" else dh * (1 - h**2)  # (B, H)
            if self.layer_norm:
                da = self._ln_backward(da, slice(None), *self._cache["lns"][t][0])
            dX[t] = self._add_step_grads(da, da, X[t], hs[t])
            dh_next = da @ W_hh  # (B, H)
        return dX, (dh_next,)

    def __repr__(self) -> str:
        return super().__repr__()[:-1] + f", nonlinearity='{self.nonlinearity}')"


class TimeLNRNN(TimeRNN):
    """Layer-normalised Elman RNN: h_t = act(LN(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)).

    ``params = [W_ih (H, D), W_hh (H, H), b_ih (H,), b_hh (H,), gamma (H,), beta (H,)]``;
    gamma starts at ones, beta at zeros.
    """

    layer_norm = True
