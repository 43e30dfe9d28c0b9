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
dx = da @ W_ih.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnkit.ref._checks import NONLINEARITIES, check_nonlinearity
from rnnkit.ref.layernorm import ln_backward, ln_forward
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
        T, B, D = X.shape
        H = self.hidden_size
        W_ih, W_hh, b_ih, b_hh = self.params[:4]
        A = self._buf("A", (T, B, H))  # pre-activations (normalised when layer_norm)
        np.matmul(X.reshape(T * B, D), W_ih.T, out=A.reshape(T * B, H))
        A += b_ih + b_hh
        Hs = self._buf("Hs", (T + 1, B, H))  # Hs[t] = h_t, Hs[0] = h0
        hW = self._buf("hW", (B, H))
        Hs[0] = s0[0]
        if self.layer_norm:
            gamma, beta = self.params[4], self.params[5]
            XH = self._buf("XH", (T, B, H))
            RS = self._buf("RS", (T, B, 1))
        W_hhT = W_hh.T  # (H, H)
        relu = self.nonlinearity == "relu"
        for t in range(T):
            a = A[t]  # (B, H)
            np.matmul(Hs[t], W_hhT, out=hW)
            a += hW
            if self.layer_norm:
                a[...], XH[t], RS[t] = ln_forward(a, gamma, beta, 1)
            if relu:
                np.maximum(a, 0, out=Hs[t + 1])
            else:
                np.tanh(a, out=Hs[t + 1])
        self._cache["X"] = X
        return Hs[1:], (Hs[T],)

    def _backward_tm(self, dH: np.ndarray, dfinal):
        X = self._cache["X"]
        T, B, H = dH.shape
        Hs = self._buffers["Hs"]
        W_ih, W_hh = self.params[0], self.params[1]
        Dv = self._buf("Dv", (T, B, H))  # activation derivative for all steps at once
        if self.nonlinearity == "relu":
            np.greater(Hs[1:], 0, out=Dv, casting="unsafe")
        else:
            np.multiply(Hs[1:], Hs[1:], out=Dv)
            np.subtract(1, Dv, out=Dv)
        dA = self._buf("dA", (T, B, H))
        dZ = self._buf("dZ", (T, B, H)) if self.layer_norm else dA
        dh_next = np.zeros((B, H), self.dtype) if dfinal is None else dfinal[0].copy()
        for t in range(T - 1, -1, -1):
            np.add(dH[t], dh_next, out=dA[t])
            dA[t] *= Dv[t]
            if self.layer_norm:
                dZ[t] = ln_backward(dA[t], self._buffers["XH"][t], self._buffers["RS"][t],
                                    self.params[4])
            np.matmul(dZ[t], W_hh, out=dh_next)
        self._param_grads(dZ, dZ, X, Hs[:-1])
        if self.layer_norm:
            self._ln_grads(dA, self._buffers["XH"])
        dX = np.matmul(dZ.reshape(T * B, H), W_ih).reshape(T, B, -1)  # (T, B, D)
        return dX, (dh_next,)

    def __repr__(self) -> str:
        return super().__repr__()[:-1] + f", nonlinearity='{self.nonlinearity}')"


class TimeLNRNN(TimeRNN):
    """Layer-normalised Elman RNN: h_t = act(LN(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)).

    ``params = [W_ih (H, D), W_hh (H, H), b_ih (H,), b_hh (H,), gamma (H,), beta (H,)]``;
    gamma starts at ones, beta at zeros.
    """

    layer_norm = True
