"""Layer normalisation per gate block, as used by the layer-normalised cells.

A pre-activation row ``a`` of length ``G*H`` holds G gate blocks of H entries (gate-block-major,
like the weights). Each block k is normalised on its own, with a biased variance and eps = 1e-5:

    mu_k = mean(a_k),  var_k = mean((a_k - mu_k)^2),  rstd_k = 1 / sqrt(var_k + eps)
    xhat_k = (a_k - mu_k) * rstd_k
    LN(a)_k = gamma_k * xhat_k + beta_k          gamma, beta: (G*H,), gamma_k = gamma[kH:(k+1)H]

Backward, for an upstream gradient dy of the same shape (means over the H entries of a block):

    dxhat = dy * gamma
    da    = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))
    dgamma = sum over rows of dy * xhat,  dbeta = sum over rows of dy   (left to the caller)
"""

from __future__ import annotations

import numpy as np

#: The epsilon added to the variance (the same as torch.nn.LayerNorm's default).
LN_EPS = 1e-5


def ln_forward(
    a: np.ndarray, gamma: np.ndarray, beta: np.ndarray, G: int, eps: float = LN_EPS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Normalise each of the G blocks of ``a`` (B, G*H); gamma/beta (G*H,).

    Returns ``(y, xhat, rstd)``: ``y`` and ``xhat`` are (B, G*H), ``rstd`` is (B, G).
    """
    B, GH = a.shape
    v = a.reshape(B, G, GH // G)  # (B, G, H)
    xc = v - v.mean(axis=2, keepdims=True)  # (B, G, H)
    rstd = 1.0 / np.sqrt(np.mean(xc * xc, axis=2) + eps)  # (B, G)
    xhat = (xc * rstd[:, :, None]).reshape(B, GH)  # (B, G*H)
    return xhat * gamma + beta, xhat, rstd


def ln_backward(
    dy: np.ndarray, xhat: np.ndarray, rstd: np.ndarray, gamma: np.ndarray
) -> np.ndarray:
    """Gradient w.r.t. the block input ``a`` (B, G*H) given dy (B, G*H), xhat, rstd (B, G)."""
    B, GH = dy.shape
    G = rstd.shape[1]
    dxh = (dy * gamma).reshape(B, G, GH // G)  # (B, G, H)
    xh = xhat.reshape(B, G, GH // G)  # (B, G, H)
    da = dxh - dxh.mean(axis=2, keepdims=True) - xh * (dxh * xh).mean(axis=2, keepdims=True)
    da *= rstd[:, :, None]
    return da.reshape(B, GH)
