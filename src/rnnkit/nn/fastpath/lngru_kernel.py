r"""A faster NumPy LN-GRU time layer: the reference equations with fewer, cheaper array calls.

:class:`FastTimeLNGRU` is a drop-in :class:`rnnkit.ref.TimeLNGRU` (same constructor, ``params``
``[W_ih (3H, D), W_hh (3H, H), b_ih, b_hh, gamma, beta]`` in torch order r, z, n, same
``forward`` / ``backward`` / ``grads`` / ``dstate0``). Equations (see :mod:`rnnkit.ref.time_gru`,
LN per gate block over H, eps = 1e-5)::

    gi = W_ih x_t + b_ih,  gh = W_hh h_{t-1} + b_hh                    (B, 3H)
    r, z = sigmoid(LN_rz(gi_rz + gh_rz))                                 blocks r, z
    n = tanh(LN_n(gi_n + r * gh_n))
    h_t = n + z * (h_{t-1} - n)

The speed-ups are those of :mod:`rnnkit.nn.fastpath.lnlstm_kernel` (not yet its centred
weights): block means by products with a ones/H vector, sigmoid(y) = 0.5 tanh(y/2) + 0.5 with
the 1/2 folded into gamma and beta (one call for r and z), small per-step products in NumPy
and the others through torch, reused buffers, ``out=`` everywhere.

Backward per step (dh = dhs_t + dh_{t+1 -> t}; n_k, rstd_k the LN's normalised values and
inverse deviations; D the activation derivatives)::

    dy_n = dh (1 - z) (1 - n^2);       da_n = LN_n backward of dy_n
    dy_r = da_n gh_n r (1 - r);  dy_z = dh (h_{t-1} - n) z (1 - z);  da_rz = LN_rz backward
    dgi = [da_r, da_z, da_n],  dgh = [da_r, da_z, da_n r]
    dh_{t-1} = dh z + dgh W_hh

with LN backward ``da = rstd (dy gamma - mean(dy gamma) - n mean(dy gamma n))``; then for all
steps at once dW_ih = dgi^T x, dW_hh = dgh^T h_prev, db_ih = sum dgi, db_hh = sum dgh,
dx = dgi W_ih, dgamma = sum dy n, dbeta = sum dy.
"""

from __future__ import annotations

import numpy as np
import torch

from rnnkit.nn.fastpath.lnlstm_kernel import LN_EPS, _row_mean, small_product
from rnnkit.ref import TimeLNGRU


class FastTimeLNGRU(TimeLNGRU):
    """Layer-normalised GRU over T steps, the reference's maths with faster loops.

    ``FastTimeLNGRU(input_size, hidden_size, *, stateful=False, dtype="float32", seed=None)``;
    see the module docstring and :class:`rnnkit.ref.TimeLNGRU` for the interface.
    """

    def _forward_tm(self, X: np.ndarray, s0: tuple[np.ndarray, ...]):
        T, B, D = X.shape
        H = self.hidden_size
        dt = self.dtype
        W_ih, W_hh, b_ih, b_hh, gamma, beta = self.params
        g = gamma.reshape(3, H)  # (3, H)
        gs = g.copy()
        gs[:2] *= 0.5  # sigmoid(y) = 0.5 tanh(y / 2) + 0.5 for r, z
        bs = beta.reshape(3, H).copy()
        bs[:2] *= 0.5

        GI = self._buf("GI", (T, B, 3 * H))  # W_ih x + b_ih for all steps
        torch.addmm(
            torch.from_numpy(b_ih),
            torch.from_numpy(X.reshape(T * B, D)),
            torch.from_numpy(W_ih).t(),
            out=torch.from_numpy(GI).view(T * B, 3 * H),
        )
        GH = self._buf("GH", (T, B, 3 * H))  # W_hh h_{t-1} + b_hh per step
        Hs = self._buf("Hs", (T + 1, B, H))  # Hs[t] = h_t, Hs[0] = h0
        N = self._buf("N", (T, B, 3, H))  # normalised pre-activations
        R = self._buf("R", (T, B, 3, 1))  # rstd per gate block
        Y = self._buf("Y", (T, B, 3, H))  # gate values r, z, n
        tmp = self._buf("tmpH", (B, H))
        Hs[0] = s0[0]

        mean2 = _row_mean(B * 2, H, dt)  # blocks r, z together
        mean1 = _row_mean(B, H, dt)  # block n
        # the r, z blocks of a (B, 3, H) are not one (B*2, H) block of rows: keep them apart
        arz = self._buf("arz", (B, 2, H))
        sqrz = self._buf("sqrz", (B, 2, H))
        arz2, sqrz2 = arz.reshape(B * 2, H), sqrz.reshape(B * 2, H)
        mu_rz2 = self._buf("mu_rz", (B * 2, 1))  # block means, then rstd, of r and z
        mu_n2 = self._buf("mu_n", (B, 1))  # the same for n
        an = self._buf("an", (B, H))
        sqn = self._buf("sqn", (B, H))

        tGH, tHs = torch.from_numpy(GH), torch.from_numpy(Hs)
        tWhhT = torch.from_numpy(W_hh).t()  # (H, 3H)
        tbhh = torch.from_numpy(b_hh)
        WhhT = W_hh.T  # (H, 3H)
        small = small_product(B, H, 3 * H)
        addmm = torch.addmm
        mul, add, sub, tanh, sqrt, recip = (
            np.multiply,
            np.add,
            np.subtract,
            np.tanh,
            np.sqrt,
            np.reciprocal,
        )
        mu_rz3 = mu_rz2.reshape(B, 2, 1)
        for t in range(T):
            gh = GH[t]  # (B, 3H)
            if small:
                np.matmul(Hs[t], WhhT, gh)
                add(gh, b_hh, gh)  # gh = W_hh h + b_hh
            else:
                addmm(tbhh, tHs[t], tWhhT, out=tGH[t])
            gi = GI[t]
            add(gi[:, : 2 * H].reshape(B, 2, H), gh[:, : 2 * H].reshape(B, 2, H), arz)
            # LN over the r and z blocks
            mean2(arz2, mu_rz2)
            sub(arz, mu_rz3, arz)
            mul(arz, arz, sqrz)
            mean2(sqrz2, mu_rz2)  # variance
            add(mu_rz2, LN_EPS, mu_rz2)
            sqrt(mu_rz2, mu_rz2)
            recip(mu_rz2, mu_rz2)  # rstd
            R[t][:, :2] = mu_rz3
            n_rz, y_rz = N[t][:, :2], Y[t][:, :2]  # (B, 2, H)
            mul(arz, mu_rz3, n_rz)
            mul(n_rz, gs[:2], y_rz)
            add(y_rz, bs[:2], y_rz)
            tanh(y_rz, y_rz)
            mul(y_rz, 0.5, y_rz)
            add(y_rz, 0.5, y_rz)
            r, z = Y[t][:, 0], Y[t][:, 1]  # (B, H)
            # candidate: LN over gi_n + r * gh_n
            mul(r, gh[:, 2 * H :], an)
            add(an, gi[:, 2 * H :], an)
            mean1(an, mu_n2)
            sub(an, mu_n2, an)
            mul(an, an, sqn)
            mean1(sqn, mu_n2)  # variance
            add(mu_n2, LN_EPS, mu_n2)
            sqrt(mu_n2, mu_n2)
            recip(mu_n2, mu_n2)  # rstd
            R[t][:, 2] = mu_n2
            n_n, n = N[t][:, 2], Y[t][:, 2]  # (B, H)
            mul(an, mu_n2, n_n)
            mul(n_n, gs[2], n)
            add(n, bs[2], n)
            tanh(n, n)
            sub(Hs[t], n, tmp)  # h_t = n + z (h_{t-1} - n)
            mul(tmp, z, tmp)
            add(n, tmp, Hs[t + 1])
        self._cache["X"] = X
        return Hs[1:], (Hs[T],)

    def _backward_tm(self, dH: np.ndarray, dfinal):
        X = self._cache["X"]
        T, B, H = dH.shape
        D = X.shape[2]
        dt = self.dtype
        W_ih, W_hh, gamma = self.params[0], self.params[1], self.params[4]
        g = gamma.reshape(3, H)
        Hs, GH, N, R, Y = (self._buffers[k] for k in ("Hs", "GH", "N", "R", "Y"))
        r, z, n = Y[:, :, 0], Y[:, :, 1], Y[:, :, 2]  # (T, B, H) each
        # per-step factors for all steps at once
        Fr = self._buf("Fr", (T, B, H))  # gh_n r (1 - r): da_n -> dy_r
        np.subtract(1, r, out=Fr)
        Fr *= r
        Fr *= GH[:, :, 2 * H :]
        Fz = self._buf("Fz", (T, B, H))  # (h_{t-1} - n) z (1 - z): dh -> dy_z
        np.subtract(1, z, out=Fz)
        Fz *= z
        tmpT = self._buf("tmpT", (T, B, H))
        np.subtract(Hs[:-1], n, out=tmpT)
        Fz *= tmpT
        Fn = self._buf("Fn", (T, B, H))  # (1 - z)(1 - n^2): dh -> dy_n
        np.multiply(n, n, out=Fn)
        np.subtract(1, Fn, out=Fn)
        np.subtract(1, z, out=tmpT)
        Fn *= tmpT

        dY = self._buf("dY", (T, B, 3, H))  # gradient w.r.t. the LN outputs
        dGI = self._buf("dGI", (T, B, 3 * H))  # ... w.r.t. gi
        dGH = self._buf("dGH", (T, B, 3 * H))  # ... w.r.t. gh
        dh = np.zeros((B, H), dt) if dfinal is None else dfinal[0].copy()
        dh_next = np.empty((B, H), dt)
        tmp = self._buf("tmpH", (B, H))
        dn1 = self._buf("dn1", (B, H))
        t1 = self._buf("t1", (B, H))
        m1 = self._buf("m1", (B, 1))
        m2 = self._buf("m2", (B, 1))
        dn2 = self._buf("dn2", (B, 2, H))
        t2 = self._buf("t2", (B, 2, H))
        p1 = self._buf("p1", (B * 2, 1))
        p2 = self._buf("p2", (B * 2, 1))
        dn22, t22 = dn2.reshape(B * 2, H), t2.reshape(B * 2, H)
        p13, p23 = p1.reshape(B, 2, 1), p2.reshape(B, 2, 1)
        mean2 = _row_mean(B * 2, H, dt)
        mean1 = _row_mean(B, H, dt)
        small = small_product(B, 3 * H, H)
        tdGH, tWhh, tdh_next = (
            torch.from_numpy(dGH),
            torch.from_numpy(W_hh),
            (torch.from_numpy(dh_next)),
        )
        mm = torch.mm
        mul, add, sub = np.multiply, np.add, np.subtract
        for t in range(T - 1, -1, -1):
            add(dh, dH[t], dh)
            dy = dY[t]  # (B, 3, H)
            di, dg = dGI[t], dGH[t]  # (B, 3H)
            # candidate block: LN_n backward
            mul(dh, Fn[t], dy[:, 2])
            mul(dy[:, 2], g[2], dn1)
            nn_ = N[t][:, 2]  # (B, H)
            mean1(dn1, m1)
            mul(dn1, nn_, t1)
            mean1(t1, m2)
            sub(dn1, m1, dn1)
            mul(nn_, m2, t1)
            sub(dn1, t1, dn1)
            da_n = di[:, 2 * H :]
            mul(dn1, R[t][:, 2], da_n)
            mul(da_n, r[t], dg[:, 2 * H :])
            # r, z blocks: LN_rz backward
            mul(da_n, Fr[t], dy[:, 0])
            mul(dh, Fz[t], dy[:, 1])
            mul(dy[:, :2], g[:2], dn2)
            nrz = N[t][:, :2]  # (B, 2, H)
            mean2(dn22, p1)
            mul(dn2, nrz, t2)
            mean2(t22, p2)
            sub(dn2, p13, dn2)
            mul(nrz, p23, t2)
            sub(dn2, t2, dn2)
            da_rz = di[:, : 2 * H].reshape(B, 2, H)
            mul(dn2, R[t][:, :2], da_rz)
            dg[:, : 2 * H] = di[:, : 2 * H]
            if small:
                np.matmul(dg, W_hh, dh_next)  # dgh W_hh
            else:
                mm(tdGH[t], tWhh, out=tdh_next)
            mul(dh, z[t], tmp)
            add(dh_next, tmp, dh)  # dh_{t-1}

        GH3 = 3 * H
        tdi = torch.from_numpy(dGI).view(T * B, GH3)  # (T*B, 3H)
        tdg = tdGH.view(T * B, GH3)
        self.grads[0][...] = torch.mm(tdi.t(), torch.from_numpy(X.reshape(T * B, D))).numpy()
        self.grads[1][...] = torch.mm(tdg.t(), torch.from_numpy(Hs[:-1].reshape(T * B, H))).numpy()
        self.grads[2][...] = tdi.sum(0).numpy()
        self.grads[3][...] = tdg.sum(0).numpy()
        tdy = torch.from_numpy(dY.reshape(T * B, GH3))
        self.grads[4][...] = (tdy * torch.from_numpy(N.reshape(T * B, GH3))).sum(0).numpy()
        self.grads[5][...] = tdy.sum(0).numpy()
        dX = torch.mm(tdi, torch.from_numpy(W_ih)).numpy().reshape(T, B, D)  # (T, B, D)
        return dX, (dh,)
