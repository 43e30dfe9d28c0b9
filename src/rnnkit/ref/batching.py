"""Truncated-BPTT batches of one long sequence (Deep Learning from Scratch 2, ch. 5).

The inputs are ``xs = ids[:-1]`` and the next-token targets ``ts = ids[1:]`` (length N - 1).
They are cut into B parallel streams starting at the evenly spaced offsets ``i * L`` with
``L = (N - 1) // B`` (stream i covers positions i*L ... i*L + L - 1), and each stream into
consecutive windows of T steps. Window w is the pair

    xs_w[i, :] = xs[i*L + w*T : i*L + (w+1)*T],   ts_w likewise    each (B, T), int64

for w = 0 .. L // T - 1, so a stateful layer that carries its state from window to window sees
every stream as one continuous sequence. Positions past the last full window are dropped.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from rnnkit.ref._checks import as_index_array, check_size


def stream_matrix(ids: np.ndarray, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    """The B parallel streams side by side: inputs ``xs[i] = ids[i*L : i*L + L]`` and targets
    ``ts[i] = ids[i*L + 1 : i*L + L + 1]``, each (B, L) with ``L = (N - 1) // B``."""
    L = (ids.shape[0] - 1) // batch_size
    pos = np.arange(batch_size)[:, None] * L + np.arange(L)  # (B, L)
    return ids[pos], ids[pos + 1]


class TBPTTBatches:
    """Iterable of (xs, ts) windows, each (B, T) int64; ``len()`` is the number of windows.

    ``TBPTTBatches(ids, batch_size, time_size)``; ids is a 1-d integer array (a token stream).
    """

    def __init__(self, ids: Any, batch_size: int, time_size: int) -> None:
        ids = as_index_array(ids, "ids", 1)
        self.batch_size = check_size(batch_size, "batch_size")
        self.time_size = check_size(time_size, "time_size")
        need = self.batch_size * self.time_size + 1
        if ids.shape[0] < need:
            raise ValueError(f"ids must hold at least batch_size * time_size + 1 = {need} "
                             f"tokens, got {ids.shape[0]}")
        self.xs, self.ts = stream_matrix(ids.astype(np.int64, copy=False), self.batch_size)
        self.stream_len = self.xs.shape[1]  # L

    def __len__(self) -> int:
        return self.stream_len // self.time_size

    def window(self, w: int) -> tuple[np.ndarray, np.ndarray]:
        """Window ``w``: (xs, ts), each (B, T)."""
        if not 0 <= w < len(self):
            raise IndexError(f"w must lie in [0, {len(self)}), got {w}")
        cols = slice(w * self.time_size, (w + 1) * self.time_size)
        return self.xs[:, cols].copy(), self.ts[:, cols].copy()  # (B, T) each

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for w in range(len(self)):
            yield self.window(w)


def tbptt_batches(ids: Any, batch_size: int, time_size: int) -> TBPTTBatches:
    """The windows of :class:`TBPTTBatches` (see the module docstring)."""
    return TBPTTBatches(ids, batch_size, time_size)
