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
dx = da @ W_ih. The input projection of all T steps is one matrix product before the loop.

Implementation notes (speed, same numbers): the loop runs time-major on preallocated (T, B, 4H)
buffers with in-place ufuncs (``out=``). All four gates come from ONE tanh call, using
sigmoid(a) = 0.5 tanh(a / 2) + 0.5: gates = s * tanh(s * a) + k with s = k = 0.5 for i, f, o and
s = 1, k = 0 for g; without LayerNorm the inner factor s is folded into (copies of) the weights
and bias once per forward. In backward the gate derivative is (1 - v)(v + k2) from the gate
value v (k2 = 0: v (1 - v); k2 = 1 for g: 1 - g^2), computed per step while the rows are in cache.
"""

from __future__ import annotations

import numpy as np

from rnnkit.ref.layernorm import ln_backward, ln_forward
from rnnkit.ref.time_base import TimeRecurrent


class TimeLSTM(TimeRecurrent):
    """LSTM layer over a whole sequence: ``xs`` (B, T, D) -> ``hs`` (B, T, H).

    ``TimeLSTM(input_size, hidden_size, *, stateful=False, dtype="float32", seed=None)``.
    ``params = [W_ih (4H, D), W_hh (4H, H), b_ih (4H,), b_hh (4H,)]`` in torch.nn.LSTM's layout,
    gate order i, f, g, o; state ``(h, c)``, each (B, H). See :mod:`rnnkit.ref.time_base`.
    """

    gates = 4
    state_parts = 2

    def _gate_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """(s, k) of length 4H such that every gate value is s * tanh(s * a) + k.

        sigmoid(a) = 0.5 tanh(0.5 a) + 0.5 for i, f, o (s = 0.5, k = 0.5), tanh(a) for g
        (s = 1, k = 0): one tanh call covers all four gates.
        """
        H = self.hidden_size
        key = ("sk", H, self.dtype)
        if self._cache.get("sk_key") != key:
            s = np.full(4 * H, 0.5, self.dtype)
            s[2 * H : 3 * H] = 1.0
            k = np.full(4 * H, 0.5, self.dtype)
            k[2 * H : 3 * H] = 0.0
            self._cache["sk"], self._cache["sk_key"] = (s, k), key
        return self._cache["sk"]

    def _forward_tm(self, X: np.ndarray, s0: tuple[np.ndarray, ...]):
        T, B, D = X.shape
        H = self.hidden_size
        W_ih, W_hh, b_ih, b_hh = self.params[:4]
        ln = self.layer_norm
        s, k = self._gate_vectors()
        # Without LayerNorm the gate scale s folds into the weights: A = s * (W_ih x + b), and
        # each step adds h (s * W_hh)^T. With LayerNorm it is applied after the normalisation.
        Wx = W_ih if ln else W_ih * s[:, None]  # (4H, D)
        Wh = np.ascontiguousarray((W_hh if ln else W_hh * s[:, None]).T)  # (H, 4H)
        A = self._buf("A", (T, B, 4 * H))  # pre-activations, then gate values i, f, g, o
        np.matmul(X.reshape(T * B, D), Wx.T, out=A.reshape(T * B, 4 * H))
        A += (b_ih + b_hh) if ln else (b_ih + b_hh) * s
        Hs = self._buf("Hs", (T + 1, B, H))  # Hs[t] = h_t, Hs[0] = h0
        Cs = self._buf("Cs", (T + 1, B, H))  # Cs[t] = c_t
        TC = self._buf("TC", (T, B, H))  # tanh(c_t)
        hW = self._buf("hW", (B, 4 * H))
        ig = self._buf("ig", (B, H))
        Hs[0] = s0[0]
        Cs[0] = s0[1]
        if ln:
            gamma, beta = self.params[4], self.params[5]
            XH = self._buf("XH", (T, B, 4 * H))  # normalised pre-activations
            RS = self._buf("RS", (T, B, 4))  # 1 / sqrt(var + eps) per gate block
        for t in range(T):
            a = A[t]  # (B, 4H)
            np.matmul(Hs[t], Wh, out=hW)
            a += hW
            if ln:
                a[...], XH[t], RS[t] = ln_forward(a, gamma, beta, 4)
                a *= s
            np.tanh(a, out=a)  # gates = s * tanh(s * a) + k: sigmoid for i, f, o; tanh for g
            a *= s
            a += k
            i, f, g, o = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
            c = Cs[t + 1]
            np.multiply(f, Cs[t], out=c)  # c_t = f * c_{t-1} + i * g
            np.multiply(i, g, out=ig)
            c += ig
            np.tanh(c, out=TC[t])
            np.multiply(o, TC[t], out=Hs[t + 1])  # h_t = o * tanh(c_t)
        self._cache["X"] = X
        return Hs[1:], (Hs[T], Cs[T])

    def _backward_tm(self, dH: np.ndarray, dfinal):
        X = self._cache["X"]
        T, B, H = dH.shape
        A, Hs, Cs, TC = (self._buffers[k] for k in ("A", "Hs", "Cs", "TC"))
        W_ih, W_hh = self.params[0], self.params[1]
        ln = self.layer_norm
        # gate derivative from the gate value v: (1 - v)(v + k2), k2 = 0 for the sigmoid gates
        # (v (1 - v)) and 1 for g (1 - g^2)
        k2 = 1 - 2 * self._gate_vectors()[1]
        dA = self._buf("dA", (T, B, 4 * H))  # gradient w.r.t. the (normalised) pre-activations
        dZ = self._buf("dZ", (T, B, 4 * H)) if ln else dA  # ... w.r.t. the pre-activations
        dh = self._buf("dh", (B, H))
        tmp = self._buf("tmpH", (B, H))
        tmp4 = self._buf("tmp4H", (B, 4 * H))
        dh_next = np.zeros((B, H), self.dtype) if dfinal is None else dfinal[0].copy()
        dc = np.zeros((B, H), self.dtype) if dfinal is None else dfinal[1].copy()
        for t in range(T - 1, -1, -1):
            a, d, tc = A[t], dA[t], TC[t]  # (B, 4H), (B, 4H), (B, H)
            i, f, g, o = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
            np.add(dH[t], dh_next, out=dh)
            np.multiply(tc, tc, out=tmp)  # dc += dh * o * (1 - tanh(c)^2)
            np.subtract(1, tmp, out=tmp)
            tmp *= o
            tmp *= dh
            dc += tmp
            np.multiply(dc, g, out=d[:, :H])  # d i
            np.multiply(dc, Cs[t], out=d[:, H : 2 * H])  # d f
            np.multiply(dc, i, out=d[:, 2 * H : 3 * H])  # d g
            np.multiply(dh, tc, out=d[:, 3 * H :])  # d o
            np.subtract(1, a, out=tmp4)  # times the gate derivatives (1 - v)(v + k2)
            d *= tmp4
            np.add(a, k2, out=tmp4)
            d *= tmp4
            dc *= f  # dc_{t-1}
            if ln:
                dZ[t] = ln_backward(d, self._buffers["XH"][t], self._buffers["RS"][t],
                                    self.params[4])
            np.matmul(dZ[t], W_hh, out=dh_next)  # dh_{t-1}
        self._param_grads(dZ, dZ, X, Hs[:-1])
        if ln:
            self._ln_grads(dA, self._buffers["XH"])
        dX = np.matmul(dZ.reshape(T * B, 4 * H), W_ih).reshape(T, B, -1)  # (T, B, D)
        return dX, (dh_next, dc)


class TimeLNLSTM(TimeLSTM):
    """Layer-normalised LSTM: LayerNorm per gate block (i, f, g, o) on the pre-activations.

    ``params = [W_ih (4H, D), W_hh (4H, H), b_ih (4H,), b_hh (4H,), gamma (4H,), beta (4H,)]``;
    gamma starts at ones, beta at zeros. Equations in the module docstring.
    """

    layer_norm = True
