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
    dh_{t-1} = dh * z + dgh @ W_hh

and after the loop for all steps at once: dW_ih = dgi^T x, dW_hh = dgh^T h_prev, db_ih = sum dgi,
db_hh = sum dgh, dx = dgi @ W_ih (:meth:`~rnnkit.ref.time_base.TimeRecurrent._weight_grads`).
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
        W_hhT = np.ascontiguousarray(W_hh.T)  # (H, G*H): the per-step product reads rows
        H = self.hidden_size
        RZ, N = slice(0, 2 * H), slice(2 * H, 3 * H)  # the gate blocks r, z and n
        XW = self._project(X, W_ih)  # (T, B, 3H): W_ih x_t of all steps
        (h,) = s0  # (B, H)
        hs, steps = [s0[0]], []
        for xw in XW:
            ln: list = []
            gi = xw + b_ih  # (B, 3H)
            gh = h @ W_hhT + b_hh  # (B, 3H)
            a_rz = gi[:, RZ] + gh[:, RZ]  # (B, 2H)
            if self.layer_norm:
                a_rz = self._ln(a_rz, RZ, 2, ln)
            r, z = sigmoid(a_rz[:, :H]), sigmoid(a_rz[:, H:])
            a_n = gi[:, N] + r * gh[:, N]  # (B, H)
            if self.layer_norm:
                a_n = self._ln(a_n, N, 1, ln)
            n = np.tanh(a_n)
            h_next = (1 - z) * n + z * h
            steps.append((h, r, z, n, gh[:, N], ln))
            hs.append(h_next)
            h = h_next
        Hs = np.stack(hs)  # (T+1, B, H): h_0 .. h_T
        self._cache.update(X=X, Hs=Hs, steps=steps)
        return Hs[1:], (h,)

    def _backward_tm(self, dH: np.ndarray, dfinal):
        W_hh = self.params[1]
        B, H = dH.shape[1:]
        RZ, N = slice(0, 2 * H), slice(2 * H, 3 * H)
        dh_next = np.zeros((B, H), self.dtype) if dfinal is None else dfinal[0]
        dGI = np.empty((*dH.shape[:2], 3 * H), self.dtype)  # (T, B, 3H)
        dGH = np.empty_like(dGI)
        for t in reversed(range(len(dH))):
            h_prev, r, z, n, gh_n, ln = self._cache["steps"][t]
            dh = dH[t] + dh_next
            da_n = dh * (1 - z) * (1 - n**2)  # (B, H)
            if self.layer_norm:
                da_n = self._ln_backward(da_n, N, *ln[1])
            da_rz = np.hstack([da_n * gh_n * r * (1 - r), dh * (h_prev - n) * z * (1 - z)])
            if self.layer_norm:
                da_rz = self._ln_backward(da_rz, RZ, *ln[0])
            np.concatenate([da_rz, da_n], axis=1, out=dGI[t])
            np.concatenate([da_rz, da_n * r], axis=1, out=dGH[t])
            dh_next = dh * z + dGH[t] @ W_hh  # (B, H)
        dX = self._weight_grads(dGI, dGH, self._cache["X"], self._cache["Hs"][:-1])
        return dX, (dh_next,)


class TimeLNGRU(TimeGRU):
    """Layer-normalised GRU: LayerNorm per gate block (r, z, n) on the pre-activations.

    ``params = [W_ih (3H, D), W_hh (3H, H), b_ih (3H,), b_hh (3H,), gamma (3H,), beta (3H,)]``;
    gamma starts at ones, beta at zeros. Equations in the module docstring.
    """

    layer_norm = True
