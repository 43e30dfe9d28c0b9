"""TimeGRU and TimeLNGRU: a GRU over T steps with hand-written BPTT.

Step equations (torch.nn.GRU's, gate order of the stored weights r, z, n):

    gi = W_ih x_t + b_ih,   gh = W_hh h_{t-1} + b_hh        (B, 3H), blocks _r, _z, _n
    r = sigmoid(gi_r + gh_r)        z = sigmoid(gi_z + gh_z)
    n = tanh(gi_n + r * gh_n)       (b_hn stays inside the product with r, as in PyTorch)
    h_t = (1 - z) * n + z * h_{t-1}
    layer-normalised: r, z = sigmoid(LN_rz(gi_rz + gh_rz)), n = tanh(LN_n(gi_n + r * gh_n)),
                      LN per block over H (rnnkit.ref.layernorm)

Backward, step t, with dh = dhs_t + dh_{t+1 -> t} (da_k: gradient w.r.t. the pre-activation k):

    da_n = dh * (1 - z) * (1 - n^2)          (then LN backward when layer-normalised)
    da_z = dh * (h_{t-1} - n) * z (1 - z)    da_r = da_n * gh_n * r (1 - r)   (then LN backward)
    dgi = [da_r, da_z, da_n],   dgh = [da_r, da_z, da_n * r]
    dW_ih += dgi^T x_t,  dW_hh += dgh^T h_{t-1},  db_ih += sum dgi,  db_hh += sum dgh
    dx_t = dgi @ W_ih,   dh_{t-1} = dh * z + dgh @ W_hh
"""

from __future__ import annotations

import numpy as np

from rnnkit.ref.functional import sigmoid
from rnnkit.ref.time_base import TimeRecurrent


class TimeGRU(TimeRecurrent):
    """GRU layer over a whole sequence: ``xs`` (B, T, D) -> ``hs`` (B, T, H).

    ``TimeGRU(input_size, hidden_size, *, stateful=False, dtype="float32", seed=None)``.
    ``params = [W_ih (3H, D), W_hh (3H, H), b_ih (3H,), b_hh (3H,)]`` in torch.nn.GRU's layout,
    gate order r, z, n; state ``h`` (B, H). See :mod:`rnnkit.ref.time_base`.
    """

    gates = 3

    def _forward_tm(self, X: np.ndarray, s0: tuple[np.ndarray, ...]):
        W_ih, W_hh, b_ih, b_hh = self.params[:4]
        W_ihT, W_hhT = W_ih.T.copy(), W_hh.T.copy()  # (D, 3H), (H, 3H): products read rows
        H = self.hidden_size
        RZ, N = slice(0, 2 * H), slice(2 * H, 3 * H)  # the gate blocks r, z and n
        (h,) = s0  # (B, H)
        hs, steps = [h], []
        for x in X:
            ln: list = []
            gi = x @ W_ihT + b_ih  # (B, 3H)
            gh = h @ W_hhT + b_hh  # (B, 3H)
            a_rz = gi[:, RZ] + gh[:, RZ]  # (B, 2H)
            if self.layer_norm:
                a_rz = self._ln(a_rz, RZ, 2, ln)
            rz = sigmoid(a_rz)  # (B, 2H): r and z in one call
            r, z = rz[:, :H], rz[:, H:]
            a_n = gi[:, N] + r * gh[:, N]  # (B, H)
            if self.layer_norm:
                a_n = self._ln(a_n, N, 1, ln)
            n = np.tanh(a_n)
            h_next = (1 - z) * n + z * h
            steps.append((r, z, n, gh[:, N], ln))
            hs.append(h_next)
            h = h_next
        self._cache.update(X=X, hs=hs, steps=steps)
        return np.stack(hs[1:]), (h,)

    def _backward_tm(self, dH: np.ndarray, dfinal):
        W_hh = self.params[1]
        B, H = dH.shape[1:]
        RZ, N = slice(0, 2 * H), slice(2 * H, 3 * H)
        X, hs = self._cache["X"], self._cache["hs"]
        dh_next = np.zeros((B, H), self.dtype) if dfinal is None else dfinal[0]
        dX = np.empty_like(X)  # (T, B, D)
        for t in reversed(range(len(dH))):
            r, z, n, gh_n, ln = self._cache["steps"][t]
            h_prev = hs[t]
            dh = dH[t] + dh_next
            da_n = dh * (1 - z) * (1 - n**2)  # (B, H)
            if self.layer_norm:
                da_n = self._ln_backward(da_n, N, *ln[1])
            da_rz = np.concatenate([da_n * gh_n * r * (1 - r), dh * (h_prev - n) * z * (1 - z)],
                                   axis=1)
            if self.layer_norm:
                da_rz = self._ln_backward(da_rz, RZ, *ln[0])
            dgi = np.concatenate([da_rz, da_n], axis=1)  # (B, 3H)
            dgh = np.concatenate([da_rz, da_n * r], axis=1)  # (B, 3H)
            dX[t] = self._add_step_grads(dgi, dgh, X[t], h_prev)
            dh_next = dh * z + dgh @ W_hh  # (B, H)
        return dX, (dh_next,)


class TimeLNGRU(TimeGRU):
    """Layer-normalised GRU: LayerNorm per gate block (r, z, n) on the pre-activations.

    ``params = [W_ih (3H, D), W_hh (3H, H), b_ih (3H,), b_hh (3H,), gamma (3H,), beta (3H,)]``;
    gamma starts at ones, beta at zeros. Equations in the module docstring.
    """

    layer_norm = True
