"""Variable-length batches: lengths / masks, per-sequence reversal, last valid step.

A padded batch x (B, T, D) holds sequence b in steps 0 .. lengths[b]-1 (right padding).
``lengths`` (B,) ints in [1, T], or an equivalent ``mask`` (B, T) bool that is True on a
prefix of each row. Reversing a padded batch reverses each sequence inside its own length
and leaves the padding where it is, so the backward direction starts at each sequence's own
last step.

Under ``torch.export`` / ``torch.jit.trace`` the lengths are a graph input whose values the
capture does not know: :func:`resolve_lengths` then checks only their shape and dtype, and
keeps them even when every sequence is full (a captured graph must not freeze that case).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from rnnkit.nn.tracing import exporting


def resolve_lengths(
    lengths: Tensor | Sequence[int] | None, mask: Tensor | None, B: int, T: int
) -> Tensor | None:
    """Check ``lengths`` or ``mask`` against x's (B, T); return CPU int64 lengths (B,).

    Returns None when neither is given or every sequence is full (length T), so callers can
    take the unmasked (faster) route. Raises ValueError / TypeError naming the argument.
    While torch.export or torch.jit.trace captures the graph, the values are not checked and
    full lengths are kept (see the module doc).
    """
    frozen = exporting() is not None
    if lengths is not None and mask is not None:
        raise ValueError("give lengths or mask, not both")
    if mask is not None:
        if not isinstance(mask, Tensor) or mask.dtype != torch.bool:
            kind = mask.dtype if isinstance(mask, Tensor) else type(mask).__name__
            raise TypeError(f"mask must be a bool tensor of shape (B, T), got {kind}")
        if tuple(mask.shape) != (B, T):
            raise ValueError(f"mask must have shape (B={B}, T={T}), got {tuple(mask.shape)}")
        if frozen:
            return mask.sum(dim=1).to(torch.int64)  # (B,), a prefix assumed
        m = mask.detach().cpu()
        lengths_t = m.sum(dim=1).to(torch.int64)  # (B,)
        prefix = torch.arange(T).unsqueeze(0) < lengths_t.unsqueeze(1)  # (B, T)
        bad = (prefix != m).any(dim=1).nonzero()
        if bad.numel():
            raise ValueError(
                "mask must be True on a prefix of each row (right padding), "
                f"got a gap in row {int(bad[0])}"
            )
        lengths = lengths_t
    if lengths is None:
        return None
    if isinstance(lengths, Tensor):
        if lengths.dtype.is_floating_point or lengths.dtype == torch.bool:
            raise TypeError(f"lengths must hold integers, got dtype {lengths.dtype}")
        lengths_t = lengths.detach().to("cpu", torch.int64)
    else:
        try:
            lengths_t = torch.as_tensor(list(lengths), dtype=torch.int64)
        except (TypeError, ValueError) as err:
            raise TypeError(f"lengths must be a 1-D int tensor or list, got {lengths!r}") from err
    if tuple(lengths_t.shape) != (B,):
        raise ValueError(f"lengths must have shape (B={B},), got {tuple(lengths_t.shape)}")
    if frozen:
        return lengths_t
    bad = ((lengths_t < 1) | (lengths_t > T)).nonzero()
    if bad.numel():
        i = int(bad[0])
        raise ValueError(f"lengths must be in [1, T={T}], got {int(lengths_t[i])} at index {i}")
    if bool((lengths_t == T).all()):
        return None
    return lengths_t


def valid_mask(lengths: Tensor, T: int, device: torch.device) -> Tensor:
    """(B, T) bool, True at the valid steps t < lengths[b]."""
    return torch.arange(T, device=device).unsqueeze(0) < lengths.to(device).unsqueeze(1)


def reverse_padded(x: Tensor, lengths: Tensor | None) -> Tensor:
    """Reverse each sequence of x (B, T, ...) inside its length; padding stays in place.

    An involution: ``reverse_padded(reverse_padded(x, n), n) == x``.
    """
    if lengths is None:
        return x.flip(1)
    B, T = x.shape[:2]
    t = torch.arange(T, device=x.device).unsqueeze(0)  # (1, T)
    n = lengths.to(x.device).unsqueeze(1)  # (B, 1)
    idx = torch.where(t < n, n - 1 - t, t)  # (B, T)
    idx = idx.view(B, T, *([1] * (x.dim() - 2))).expand_as(x)
    return x.gather(1, idx)


def last_valid(out: Tensor, lengths: Tensor | None) -> Tensor:
    """out (B, T, H) -> (B, H): the step lengths[b]-1 of each sequence (T-1 if None)."""
    if lengths is None:
        return out[:, -1]
    B = out.shape[0]
    idx = (lengths.to(out.device) - 1).view(B, 1, 1).expand(B, 1, out.shape[2])
    return out.gather(1, idx).squeeze(1)  # (B, H)
