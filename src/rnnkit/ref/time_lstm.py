"""TimeLSTM and TimeLNLSTM: an LSTM over T steps with hand-written BPTT.

Step equations (torch.nn.LSTM's; gate order of the stored weights i, f, g, o), with the input
and the previous hidden state side by side, [x_t, h_{t-1}] (B, D + H), and W = [W_ih, W_hh]
(4H, D + H), so that a step makes one matrix product:

    a  = [x_t, h_{t-1}] W^T + b_ih + b_hh                 (B, 4H), blocks a_i, a_f, a_g, a_o
    (layer-normalised: a_k <- LN_k(a_k) = gamma_k * (a_k - mean) / sqrt(var + 1e-5) + beta_k)
    i = sigmoid(a_i)   f = sigmoid(a_f)   g = tanh(a_g)   o = sigmoid(a_o)
    c_t = f * c_{t-1} + i * g
    h_t = o * tanh(c_t)

Backward, step t (from T down to 1), with dh = dhs_t + dh_{t+1 -> t} and dc carried:

    dc  += dh * o * (1 - tanh(c_t)^2)
    da   = [dc * g, dc * c_{t-1}, dc * i, dh * tanh(c_t)]        the gradient w.r.t. [i, f, g, o]
         * [i (1 - i), f (1 - f), 1 - g^2, o (1 - o)]            times the activations' derivative
    (layer-normalised: da <- LN backward of da, see rnnkit.ref.layernorm)
    dW += da^T [x_t, h_{t-1}],   db += sum da,   [dx_t, dh_{t-1}] = da W
    dc_{t-1} = dc * f

dW's first D columns are dW_ih, the last H dW_hh; db is both db_ih and db_hh.
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
        W = np.concatenate([W_ih, W_hh], axis=1)  # (4H, D + H)
        WT, b = W.T.copy(), b_ih + b_hh  # (D + H, 4H): the product reads rows
        H = self.hidden_size
        h, c = s0  # (B, H) each
        hs, steps = [], []
        for x in X:
            ln: list = []
            xh = np.concatenate([x, h], axis=1)  # (B, D + H)
            a = xh @ WT + b  # (B, 4H)
            if self.layer_norm:
                a = self._ln(a, slice(None), 4, ln)
            s = sigmoid(a)  # (B, 4H): i, f and o in one call (g's block is not used)
            i, f, o = s[:, :H], s[:, H : 2 * H], s[:, 3 * H :]
            g = np.tanh(a[:, 2 * H : 3 * H])
            c_next = f * c + i * g
            tc = np.tanh(c_next)
            h_next = o * tc
            steps.append((xh, c, s, g, tc, ln))
            hs.append(h_next)
            h, c = h_next, c_next
        self._cache.update(W=W, steps=steps)
        return np.stack(hs), (h, c)

    def _backward_tm(self, dH: np.ndarray, dfinal):
        W = self._cache["W"]  # (4H, D + H)
        B, H = dH.shape[1:]
        D = self.input_size
        dW, db = np.zeros_like(W), np.zeros(4 * H, self.dtype)
        dh_next, dc = (np.zeros((B, H), self.dtype),) * 2 if dfinal is None else dfinal
        dX = np.empty((len(dH), B, D), self.dtype)  # (T, B, D)
        for t in reversed(range(len(dH))):
            xh, c_prev, s, g, tc, ln = self._cache["steps"][t]
            i, f, o = s[:, :H], s[:, H : 2 * H], s[:, 3 * H :]
            dh = dH[t] + dh_next
            dc = dc + dh * o * (1 - tc**2)
            deriv = s * (1 - s)  # (B, 4H): the sigmoid gates' derivatives ...
            deriv[:, 2 * H : 3 * H] = 1 - g**2  # ... and tanh's for g
            da = np.concatenate([dc * g, dc * c_prev, dc * i, dh * tc], axis=1) * deriv
            if self.layer_norm:
                da = self._ln_backward(da, slice(None), *ln[0])
            dW += da.T @ xh
            db += da.sum(axis=0)
            dxh = da @ W  # (B, D + H)
            dX[t], dh_next = dxh[:, :D], dxh[:, D:]
            dc = dc * f
        self.grads[0][...], self.grads[1][...] = dW[:, :D], dW[:, D:]
        self.grads[2][...] = self.grads[3][...] = db
        return dX, (dh_next, dc)


class TimeLNLSTM(TimeLSTM):
    """Layer-normalised LSTM: LayerNorm per gate block (i, f, g, o) on the pre-activations.

    ``params = [W_ih (4H, D), W_hh (4H, H), b_ih (4H,), b_hh (4H,), gamma (4H,), beta (4H,)]``;
    gamma starts at ones, beta at zeros. Equations in the module docstring.
    """

    layer_norm = True
