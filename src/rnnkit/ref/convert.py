"""Converters between rnnkit's (= torch.nn's) LSTM weights and the book's packing.

Deep Learning from Scratch 2 (``common/time_layers.py``) packs an LSTM as

    Wx (D, 4H), Wh (H, 4H), b (4H,),   A = x Wx + h Wh + b,   gate blocks in order f, g, i, o

rnnkit and torch.nn store ``W_ih (4H, D), W_hh (4H, H), b_ih (4H,), b_hh (4H,)`` with
``a = W_ih x + b_ih + W_hh h + b_hh`` and gate blocks i, f, g, o. So

    W_ih = Wx[:, cols].T,  W_hh = Wh[:, cols].T,  b_ih = b[cols],  b_hh = 0,
    cols = the book's blocks in torch order: [i, f, g, o] = book blocks [2, 0, 1, 3];

and back: ``Wx = W_ih[rows].T``, ``Wh = W_hh[rows].T``, ``b = (b_ih + b_hh)[rows]`` with
rows = torch blocks in the book's order [f, g, i, o] = torch blocks [1, 2, 0, 3].
The two biases of torch add up in every step, so only their sum is carried to the book.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: book block index for each torch gate (i, f, g, o)
_BOOK_OF_TORCH = (2, 0, 1, 3)
#: torch block index for each book gate (f, g, i, o)
_TORCH_OF_BOOK = (1, 2, 0, 3)


def _blocks(H: int, order: Sequence[int]) -> np.ndarray:
    return np.concatenate([np.arange(k * H, (k + 1) * H) for k in order])


def _check_2d(a: np.ndarray, name: str, shape: tuple[int, int]) -> np.ndarray:
    a = np.asarray(a)
    if a.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {a.shape}")
    return a


def lstm_from_dlfs2(Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray) -> list[np.ndarray]:
    """Book packing (Wx (D, 4H), Wh (H, 4H), b (4H,), gates f, g, i, o) -> rnnkit params
    ``[W_ih (4H, D), W_hh (4H, H), b_ih (4H,), b_hh (4H,) = 0]`` (gates i, f, g, o)."""
    Wx = np.asarray(Wx)
    if Wx.ndim != 2 or Wx.shape[1] % 4:
        raise ValueError(f"Wx must have shape (D, 4H), got {Wx.shape}")
    H = Wx.shape[1] // 4
    Wh = _check_2d(Wh, "Wh", (H, 4 * H))
    b = np.asarray(b)
    if b.shape != (4 * H,):
        raise ValueError(f"b must have shape ({4 * H},), got {b.shape}")
    cols = _blocks(H, _BOOK_OF_TORCH)
    return [np.ascontiguousarray(Wx[:, cols].T), np.ascontiguousarray(Wh[:, cols].T),
            b[cols].copy(), np.zeros_like(b)]


def lstm_to_dlfs2(params: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """rnnkit params ``[W_ih, W_hh, b_ih, b_hh]`` (gates i, f, g, o) -> the book's
    ``(Wx (D, 4H), Wh (H, 4H), b (4H,))`` (gates f, g, i, o), with b = b_ih + b_hh."""
    if len(params) < 4:
        raise ValueError(f"params must hold [W_ih, W_hh, b_ih, b_hh], got {len(params)} arrays")
    W_ih = np.asarray(params[0])
    if W_ih.ndim != 2 or W_ih.shape[0] % 4:
        raise ValueError(f"params[0] (W_ih) must have shape (4H, D), got {W_ih.shape}")
    H = W_ih.shape[0] // 4
    W_hh = _check_2d(params[1], "params[1] (W_hh)", (4 * H, H))
    b = np.asarray(params[2]) + np.asarray(params[3])
    if b.shape != (4 * H,):
        raise ValueError(f"params[2] and params[3] (biases) must have shape ({4 * H},), "
                         f"got {np.shape(params[2])} and {np.shape(params[3])}")
    rows = _blocks(H, _TORCH_OF_BOOK)
    return (np.ascontiguousarray(W_ih[rows].T), np.ascontiguousarray(W_hh[rows].T), b[rows])
