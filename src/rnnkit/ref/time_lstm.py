"""TimeLSTM and TimeLNLSTM: an LSTM over T steps with hand-written BPTT.

Step equations (torch.nn.LSTM's; gate order of the stored weights i, f, g, o):

    a  = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh            (B, 4H), blocks a_i, a_f, a_g, a_o
    (layer-normalised: a_k <- LN_k(a_k) = gamma_k * (a_k - mean) / sqrt(var + 1e-5) + beta_k)
    i = sigmoid(a_i)   f = sigmoid(a_f)   g = tanh(a_g)   o = sigmoid(a_o)
    c_t = f * c_{t-1} + i * g
    h_t = o * tanh(c_t)

Backward, step t (from T down to 1), with dh = dhs_t + dh_{t+1 -> t} and dc carried:

    dc  += dh * o * (1 - tanh(c_t)^2)
    da_i = dc * g * i (1 - i)        da_f = dc * c_{t-1} * f (1 - f)
    da_g = dc * i * (1 - g^2)        da_o = dh * tanh(c_t) * o (1 - o)
    (layer-normalised: da <- LN backward of da, see rnnkit.ref.layernorm)
    dc_{t-1} = dc * f,   dh_{t-1} = da @ W_hh

and after the loop, for all steps at once: dW_ih = da^T x, dW_hh = da^T h_prev, db = sum da,
dx = da @ W_ih (:meth:`~rnnkit.ref.time_base.TimeRecurrent._weight_grads`). The input
projection of all T steps is one matrix product before the loop.
"""

from __future__ import annotations

import numpy as np

from rnnkit.ref.functional import sigmoid
from rnnkit.ref.time_base import TimeRecurrent


class TimeLSTM(TimeRecurrent):
    """LSTM layer over a whole sequence: ``xs`` (B, T, D) -> ``hs`` (B, T, H).

    ``TimeLSTM(input_size, hidden_size, *, stateful=False, dtype="float32", seed=None)``.
    ``params = [W_ih (4H, D), W_hh (4H, H), b_ih (4H,), b_hh (4H,)]`` in torch.nn.LSTM's layout,
    gate order i, f, g, o; state ``(h, c)``, each (B, H). See :mod:`rnnkit.ref.time_base`.
    """

    gates = 4
    state_parts = 2

    def _forward_tm(self, X: np.ndarray, s0: tuple[np.ndarray, ...]):
        W_ih, W_hh, b_ih, b_hh = self.params[:4]
        W_hhT = np.ascontiguousarray(W_hh.T)  # (H, G*H): the per-step product reads rows
        H = self.hidden_size
        XW, b = self._project(X, W_ih), b_ih + b_hh  # (T, B, 4H): W_ih x_t of all steps
        h, c = s0  # (B, H) each
        hs, steps = [s0[0]], []
        for xw in XW:
            ln: list = []
            a = xw + h @ W_hhT + b  # (B, 4H)
            if self.layer_norm:
                a = self._ln(a, slice(None), 4, ln)
            s = sigmoid(a)  # (B, 4H): one call for the three sigmoid gates (g's block unused)
            i, f, o = (np.ascontiguousarray(s[:, k * H : (k + 1) * H]) for k in (0, 1, 3))
            g = np.tanh(a[:, 2 * H : 3 * H])
            c_next = f * c + i * g
            tc = np.tanh(c_next)
            h_next = o * tc
            steps.append((c, i, f, g, o, tc, ln))
            hs.append(h_next)
            h, c = h_next, c_next
        Hs = np.stack(hs)  # (T+1, B, H): h_0 .. h_T
        self._cache.update(X=X, Hs=Hs, steps=steps)
        return Hs[1:], (h, c)

    def _backward_tm(self, dH: np.ndarray, dfinal):
        W_hh = self.params[1]
        B, H = dH.shape[1:]
        dh_next, dc = (np.zeros((B, H), self.dtype),) * 2 if dfinal is None else dfinal
        dA = np.empty((*dH.shape[:2], 4 * H), self.dtype)  # (T, B, 4H)
        for t in reversed(range(len(dH))):
            c_prev, i, f, g, o, tc, ln = self._cache["steps"][t]
            dh = dH[t] + dh_next
            dc = dc + dh * o * (1 - tc**2)
            np.concatenate([dc * g * i * (1 - i), dc * c_prev * f * (1 - f),
                            dc * i * (1 - g**2), dh * tc * o * (1 - o)], axis=1, out=dA[t])
            if self.layer_norm:
                dA[t] = self._ln_backward(dA[t], slice(None), *ln[0])
            dh_next = dA[t] @ W_hh  # (B, H)
            dc = dc * f
        dX = self._weight_grads(dA, dA, self._cache["X"], self._cache["Hs"][:-1])
        return dX, (dh_next, dc)


class TimeLNLSTM(TimeLSTM):
    """Layer-normalised LSTM: LayerNorm per gate block (i, f, g, o) on the pre-activations.

    ``params = [W_ih (4H, D), W_hh (4H, H), b_ih (4H,), b_hh (4H,), gamma (4H,), beta (4H,)]``;
    gamma starts at ones, beta at zeros. Equations in the module docstring.
    """

    layer_norm = True
