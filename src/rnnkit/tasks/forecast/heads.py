"""Probabilistic output heads of the network models: what the last layer's O outputs mean,
the loss they are trained with, and the forecast they give.

For horizon H, a network's output ``out (B, O)`` is read by its head:

    head       O     reading                                   loss (mean over B and H)
    point      H     ŷ_k = out[:, k]                           MSE (the default)
    quantile   Q·H   q_jk = out[:, j·H + k] (the τ_j-quantile)  (1/Q) Σ_j ρ_τj(y_k - q_jk)
    gaussian   2H    μ_k = out[:, k],                          log σ_k + ½ ((y_k - μ_k)/σ_k)²
                     σ_k = softplus(out[:, H + k]) + ε

(ρ_τ(u) = max(τu, (τ - 1)u), ε = 1e-4; the Gaussian NLL drops the constant ½ log 2π.) The
point forecast is the median (the τ = 0.5 quantile, which ``quantiles`` must hold) or μ.
Quantiles are sorted along τ after the forward pass, so crossing outputs still give a
monotone distribution. :func:`quantiles_of` gives any head's τ-quantiles in the units the
network was trained in; a monotone map of those units (a scaler, the level added back) maps
quantiles to quantiles, so the caller may unscale them one by one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from rnnkit.errors import ConfigError

__all__ = ["EPS", "HEADS", "check_quantiles", "head_loss", "n_outputs", "point_of",
           "quantiles_of"]

HEADS = ("point", "quantile", "gaussian")
#: Smallest Gaussian scale.
EPS = 1e-4


def check_quantiles(quantiles: Sequence[float]) -> tuple[float, ...]:
    """``quantiles`` sorted, each in (0, 1), holding 0.5 (the point forecast)."""
    try:
        qs = tuple(sorted(float(q) for q in quantiles))
    except (TypeError, ValueError):
        raise ConfigError(f"quantiles must be numbers in (0, 1), got {quantiles!r}") from None
    if not qs or any(not 0.0 < q < 1.0 for q in qs) or len(set(qs)) != len(qs):
        raise ConfigError(f"quantiles must be distinct numbers in (0, 1), got {quantiles!r}")
    if 0.5 not in qs:
        raise ConfigError(f"quantiles must hold 0.5 (the point forecast is the median), got "
                          f"{list(qs)}")
    return qs


def n_outputs(head: str, horizon: int, quantiles: Sequence[float]) -> int:
    """O, the network outputs per window for ``head`` (see the module table)."""
    if head not in HEADS:
        raise ConfigError(f"head must be one of {list(HEADS)}, got {head!r}")
    return {"point": 1, "quantile": len(quantiles), "gaussian": 2}[head] * horizon


def _gaussian(out: torch.Tensor, H: int) -> tuple[torch.Tensor, torch.Tensor]:
    return out[:, :H], F.softplus(out[:, H:]) + EPS  # (B, H) each


def head_loss(head: str, horizon: int, quantiles: Sequence[float] = (0.1, 0.5, 0.9)
              ) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | str:
    """The training loss of ``head``: ``f(out (B, O), y (B, H)) -> scalar`` ("mse" for
    the point head)."""
    H = horizon
    if head == "point":
        return "mse"
    if head == "quantile":
        tau = torch.tensor(check_quantiles(quantiles)).view(1, -1, 1)  # (1, Q, 1)

        def pinball(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            q = out.view(len(out), -1, H)  # (B, Q, H)
            u = y.view(len(y), 1, H) - q
            t = tau.to(out.dtype)
            return torch.maximum(t * u, (t - 1) * u).mean()

        return pinball
    if head == "gaussian":
        def nll(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            mu, sigma = _gaussian(out, H)
            return (torch.log(sigma) + 0.5 * ((y.view_as(mu) - mu) / sigma) ** 2).mean()

        return nll
    raise ConfigError(f"head must be one of {list(HEADS)}, got {head!r}")


def quantiles_of(head: str, out: np.ndarray, horizon: int, levels: Sequence[float],
                 quantiles: Sequence[float] = (0.1, 0.5, 0.9)) -> np.ndarray:
    """The τ-quantiles ``(Q', N, H)`` at ``levels`` of the forecasts ``out (N, O)``: the
    Gaussian's exact quantiles, or the quantile head's outputs (sorted along τ) linearly
    interpolated between its levels (flat beyond the outermost)."""
    H = horizon
    out = np.asarray(out, dtype=np.float64)
    if head == "gaussian":
        mu, sigma = out[:, :H], np.logaddexp(0.0, out[:, H:]) + EPS  # softplus
        z = torch.special.ndtri(torch.tensor(list(levels), dtype=torch.float64)).numpy()
        return np.stack([mu + sigma * zj for zj in z])  # (Q', N, H)
    if head == "quantile":
        qs = check_quantiles(quantiles)
        q = np.sort(out.reshape(len(out), len(qs), H), axis=1)  # (N, Q, H)
        return _interp(q, qs, levels)
    raise ConfigError(f"head {head!r} has no distribution; use 'quantile' or 'gaussian'")


def _interp(q: np.ndarray, qs: Sequence[float], levels: Sequence[float]) -> np.ndarray:
    """Linear interpolation along axis 1 of ``q (N, Q, H)`` at ``levels`` -> ``(Q', N, H)``
    (flat beyond the outermost levels)."""
    if len(qs) == 1:
        return np.stack([q[:, 0]] * len(levels))
    out = []
    for t in levels:
        j = int(np.clip(np.searchsorted(qs, t) - 1, 0, len(qs) - 2))
        w = float(np.clip((t - qs[j]) / (qs[j + 1] - qs[j]), 0.0, 1.0))
        out.append((1 - w) * q[:, j] + w * q[:, j + 1])
    return np.stack(out)


def point_of(head: str, out: np.ndarray, horizon: int,
             quantiles: Sequence[float] = (0.1, 0.5, 0.9)) -> np.ndarray:
    """The point forecast ``(N, H)`` of ``out (N, O)``: itself, the median or μ."""
    if head == "point":
        return out
    if head == "gaussian":
        return out[:, :horizon]
    return quantiles_of(head, out, horizon, [0.5], quantiles)[0]
