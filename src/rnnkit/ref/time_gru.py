"""TimeGRU and TimeLNGRU: a GRU over T steps with hand-written BPTT.

Step equations (torch.nn.GRU's, gate order of the stored weights r, z, n):

    gi = W_ih x_t + b_ih,   gh = W_hh h_{t-1} + b_hh        (B, 3H), blocks _r, _z, _n
    r = sigmoid(gi_r + gh_r)        z = sigmoid(gi_z + gh_z)
    n = tanh(gi_n + r * gh_n)       (b_hn stays inside the product with r, as in PyTorch)
    h_t = (1 - z) * n + z * h_{t-1}
    layer-normalised: r = sigmoid(LN_r(gi_r + gh_r)), z = sigmoid(LN_z(gi_z + gh_z)),
                      n = tanh(LN_n(gi_n + r * gh_n)), LN per block over H (rnnkit.ref.layernorm)

Backward, step t, with dh = dhs_t + dh_{t+1 -> t} (da_k: gradient w.r.t. the pre-activation k):

    da_n = dh * (1 - z) * (1 - n^2)          (then LN backward when layer-normalised)
    da_z = dh * (h_{t-1} - n) * z (1 - z)    da_r = da_n * gh_n * r (1 - r)   (then LN backward)
    dgi = [da_r, da_z, da_n],   dgh = [da_r, da_z, da_n * r]
    dh_{t-1} = dh * z + dgh @ W_hh

and after the loop for all steps at once: dW_ih = dgi^T x, dW_hh = dgh^T h_prev, db_ih = sum dgi,
db_hh = sum dgh, dx = dgi @ W_ih.
"""

from __future__ import annotations

import numpy as np

from rnnkit.ref.functional import sigmoid_
from rnnkit.ref.layernorm import ln_backward, ln_forward
from rnnkit.ref.time_base import TimeRecurrent


class TimeGRU(TimeRecurrent):
    """GRU layer over a whole sequence: ``xs`` (B, T, D) -> ``hs`` (B, T, H).

    ``TimeGRU(input_size, hidden_size, *, stateful=False, dtype="float32", seed=None)``.
    ``params = [W_ih (3H, D), W_hh (3H, H), b_ih (3H,), b_hh (3H,)]`` in torch.nn.GRU's layout,
    gate order r, z, n; state ``h`` (B, H). See :mod:`rnnkit.ref.time_base`.
    """

    gates = 3

    def _forward_tm(self, X: np.ndarray, s0: tuple[np.ndarray, ...]):
        T, B, D = X.shape
        H = self.hidden_size
        W_ih, W_hh, b_ih, b_hh = self.params[:4]
        GI = self._buf("GI", (T, B, 3 * H))  # W_ih x + b_ih for all steps
        np.matmul(X.reshape(T * B, D), W_ih.T, out=GI.reshape(T * B, 3 * H))
        GI += b_ih
        GH = self._buf("GH", (T, B, 3 * H))  # W_hh h_prev + b_hh per step
        Gt = self._buf("Gt", (T, B, 3 * H))  # gate values r, z, n
        Hs = self._buf("Hs", (T + 1, B, H))  # Hs[t] = h_t, Hs[0] = h0
        tmp = self._buf("tmpH", (B, H))
        Hs[0] = s0[0]
        ln = self.layer_norm
        if ln:
            gamma, beta = self.params[4], self.params[5]
            XH = self._buf("XH", (T, B, 3 * H))  # normalised pre-activations
            RS = self._buf("RS", (T, B, 3))  # 1 / sqrt(var + eps) per gate block
        W_hhT = W_hh.T  # (H, 3H)
        for t in range(T):
            gh, g = GH[t], Gt[t]  # (B, 3H)
            np.matmul(Hs[t], W_hhT, out=gh)
            gh += b_hh
            rz, n = g[:, : 2 * H], g[:, 2 * H :]
            np.add(GI[t][:, : 2 * H], gh[:, : 2 * H], out=rz)
            if ln:
                rz[...], XH[t][:, : 2 * H], RS[t][:, :2] = ln_forward(
                    rz, gamma[: 2 * H], beta[: 2 * H], 2)
            sigmoid_(rz)
            r, z = g[:, :H], g[:, H : 2 * H]
            np.multiply(r, gh[:, 2 * H :], out=n)
            n += GI[t][:, 2 * H :]
            if ln:
                n[...], XH[t][:, 2 * H :], RS[t][:, 2:] = ln_forward(
                    n, gamma[2 * H :], beta[2 * H :], 1)
            np.tanh(n, out=n)
            np.subtract(Hs[t], n, out=tmp)  # h_t = n + z * (h_{t-1} - n)
            tmp *= z
            np.add(n, tmp, out=Hs[t + 1])
        self._cache["X"] = X
        return Hs[1:], (Hs[T],)

    def _backward_tm(self, dH: np.ndarray, dfinal):
        X = self._cache["X"]
        T, B, H = dH.shape
        Gt, GH, Hs = (self._buffers[k] for k in ("Gt", "GH", "Hs"))
        W_ih, W_hh = self.params[0], self.params[1]
        r, z, n = Gt[:, :, :H], Gt[:, :, H : 2 * H], Gt[:, :, 2 * H :]
        # per-step factors for all steps at once: Dv = [gh_n r(1-r), (h_prev - n) z(1-z),
        # (1-z)(1-n^2)]
        Dv = self._buf("Dv", (T, B, 3 * H))
        Dr, Dz, Dn = Dv[:, :, :H], Dv[:, :, H : 2 * H], Dv[:, :, 2 * H :]
        np.subtract(1, r, out=Dr)
        Dr *= r
        Dr *= GH[:, :, 2 * H :]
        np.subtract(1, z, out=Dz)
        Dz *= z
        Dz *= Hs[:-1] - n
        np.multiply(n, n, out=Dn)
        np.subtract(1, Dn, out=Dn)
        Dn *= 1 - z
        ln = self.layer_norm
        dA = self._buf("dA", (T, B, 3 * H))  # gradient w.r.t. the (normalised) pre-activations
        dZi = self._buf("dZi", (T, B, 3 * H)) if ln else dA  # ... w.r.t. gi
        dZh = self._buf("dZh", (T, B, 3 * H))  # ... w.r.t. gh
        dh = self._buf("dh", (B, H))
        tmp = self._buf("tmpH", (B, H))
        dh_next = np.zeros((B, H), self.dtype) if dfinal is None else dfinal[0].copy()
        if ln:
            gamma, XH, RS = self.params[4], self._buffers["XH"], self._buffers["RS"]
        for t in range(T - 1, -1, -1):
            d, di, dgh = dA[t], dZi[t], dZh[t]  # (B, 3H)
            np.add(dH[t], dh_next, out=dh)
            np.multiply(dh, Dn[t], out=d[:, 2 * H :])
            if ln:
                di[:, 2 * H :] = ln_backward(d[:, 2 * H :], XH[t][:, 2 * H :], RS[t][:, 2:],
                                             gamma[2 * H :])
            np.multiply(di[:, 2 * H :], Dr[t], out=d[:, :H])
            np.multiply(dh, Dz[t], out=d[:, H : 2 * H])
            if ln:
                di[:, : 2 * H] = ln_backward(d[:, : 2 * H], XH[t][:, : 2 * H], RS[t][:, :2],
                                             gamma[: 2 * H])
            dgh[:, : 2 * H] = di[:, : 2 * H]
            np.multiply(di[:, 2 * H :], r[t], out=dgh[:, 2 * H :])
            np.matmul(dgh, W_hh, out=dh_next)
            np.multiply(dh, z[t], out=tmp)
            dh_next += tmp
        self._param_grads(dZi, dZh, X, Hs[:-1])
        if ln:
            self._ln_grads(dA, XH)
        dX = np.matmul(dZi.reshape(T * B, 3 * H), W_ih).reshape(T, B, -1)  # (T, B, D)
        return dX, (dh_next,)


class TimeLNGRU(TimeGRU):
    """Layer-normalised GRU: LayerNorm per gate block (r, z, n) on the pre-activations.

    ``params = [W_ih (3H, D), W_hh (3H, H), b_ih (3H,), b_hh (3H,), gamma (3H,), beta (3H,)]``;
    gamma starts at ones, beta at zeros. Equations in the module docstring.
    """

    layer_norm = True
