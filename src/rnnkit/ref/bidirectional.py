"""TimeBidirectional: run one time layer forward and another backward in time, concatenate.

    hs_f = fwd(xs),   hs_b = reverse_T(bwd(reverse_T(xs))),   hs = [hs_f, hs_b]  (B, T, 2H)

``TimeBidirectional(fwd, bwd)`` takes two non-stateful time layers of the same input size
(typically the same class and hidden size). ``params = fwd.params + bwd.params``, which is
torch.nn's order for ``bidirectional=True`` (``*_l0`` then ``*_l0_reverse``). State is the
pair ``(state_fwd, state_bwd)``; ``dstate0`` likewise.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class TimeBidirectional:
    """Bidirectional wrapper of two time layers; outputs concatenated on the last axis."""

    def __init__(self, fwd: Any, bwd: Any) -> None:
        for name, layer in (("fwd", fwd), ("bwd", bwd)):
            if not hasattr(layer, "hidden_size") or not hasattr(layer, "backward"):
                raise TypeError(f"{name} must be a time layer, got {type(layer).__name__}")
            if getattr(layer, "stateful", False):
                raise ValueError(f"{name} must not be stateful in a bidirectional layer")
        if fwd.input_size != bwd.input_size:
            raise ValueError(f"bwd.input_size must equal fwd.input_size {fwd.input_size}, "
                             f"got {bwd.input_size}")
        self.fwd, self.bwd = fwd, bwd
        self.state: Any = None
        self.dstate0: Any = None

    @property
    def params(self) -> list[np.ndarray]:
        return self.fwd.params + self.bwd.params

    @property
    def grads(self) -> list[np.ndarray]:
        return self.fwd.grads + self.bwd.grads

    def forward(self, xs: Any, state: Any = None) -> np.ndarray:
        """xs (B, T, D) -> hs (B, T, H_f + H_b); ``state`` None or (state_fwd, state_bwd)."""
        if state is not None and (not isinstance(state, (tuple, list)) or len(state) != 2):
            raise TypeError(f"state must be a pair (state_fwd, state_bwd), got "
                            f"{type(state).__name__}")
        sf, sb = (None, None) if state is None else state
        xs = np.asarray(xs)
        hf = self.fwd.forward(xs, sf)  # (B, T, Hf); checks xs
        hb = self.bwd.forward(xs[:, ::-1], sb)[:, ::-1]  # (B, T, Hb)
        self.state = (self.fwd.state, self.bwd.state)
        self._split = hf.shape[2]
        return np.concatenate([hf, hb], axis=2)

    __call__ = forward

    def backward(self, dhs: np.ndarray, dstate: Any = None) -> np.ndarray:
        """dhs (B, T, H_f + H_b) -> dxs (B, T, D); ``dstate`` None or a pair."""
        df, db = (None, None) if dstate is None else dstate
        dhs = np.asarray(dhs)
        dx = self.fwd.backward(dhs[:, :, : self._split], df)
        dx = dx + self.bwd.backward(dhs[:, ::-1, self._split :], db)[:, ::-1]
        self.dstate0 = (self.fwd.dstate0, self.bwd.dstate0)
        return dx

    def reset_state(self) -> None:
        self.fwd.reset_state()
        self.bwd.reset_state()
