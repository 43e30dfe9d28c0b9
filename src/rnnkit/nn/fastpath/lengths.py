r"""Variable-length batches on the CPU kernels: each row's final state at its own last step.

Rows are right-padded (row b holds steps 0 .. L_b - 1; :mod:`rnnkit.nn.masking`). The kernels
(:class:`~rnnkit.nn.fastpath.kernel.Kernel`) run all T steps of every row, and what a padded
step computes is never used: the outputs there are zero (the bridge in
:mod:`~rnnkit.nn.fastpath.numpy_function` sets them), the final state
of row b is its state after step L_b - 1 (:meth:`StepEnds.final`), and in backward the
gradients of padded outputs are dropped and the final state's gradient enters at step L_b - 1
(:meth:`StepEnds.inject`). BPTT is linear in the gradients it carries, and they are zero past
each row's end, so nothing flows through a padded step: dx and every weight-gradient term are
zero there, as if each row ran alone (tests/nn/test_fastpath.py holds this against the loop).
"""

from __future__ import annotations

import numpy as np


class StepEnds:
    """Where each of B rows of T steps ends: ``StepEnds(lengths, B, T)``, lengths (B,) ints in
    [1, T], or None when every row is full."""

    def __init__(self, lengths: np.ndarray | None, B: int, T: int) -> None:
        self.T = T
        self.ends = np.full(B, T) if lengths is None else np.asarray(lengths, dtype=np.int64)
        self.full = lengths is None or bool((self.ends == T).all())
        #: (B,) each row's last step, for the compiled loops (their ``add_final_grads``)
        self.last = self.ends - 1
        #: (B, T) True at the padded steps, or None when every row is full
        self.padded = None if self.full else np.arange(T)[None, :] >= self.ends[:, None]
        #: backward step t -> the rows whose last step is t (all rows at T - 1 when full: the
        #: common case skips np.unique, about 10 us a call)
        if self.full:
            self.rows = {T - 1: np.arange(B)}
        else:
            self.rows = {int(t): np.flatnonzero(self.ends == t + 1)
                         for t in np.unique(self.ends - 1)}

    def final(self, states: np.ndarray) -> np.ndarray:
        """states (T+1, B, H), states[t] after t steps -> (B, H), each row's after its last."""
        if self.full:
            return states[self.T]
        return states[self.ends, np.arange(len(self.ends))]  # (B, H)

    def inject(self, t: int, dfinal: tuple[np.ndarray, ...] | None,
               carried: tuple[np.ndarray, ...]) -> None:
        """At the start of backward step t, add the final state's gradient (parts (B, H)) to the
        carried gradients (parts (B, H), in place) of the rows whose last step is t."""
        rows = self.rows.get(t)
        if dfinal is None or rows is None:
            return
        for d, c in zip(dfinal, carried, strict=True):
            if self.full:
                c += d
            else:
                c[rows] += d[rows]
