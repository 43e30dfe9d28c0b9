r"""The fast path off the CPU kernels: a time-major autograd loop with the input projection hoisted.

Used for layer-normalised cells on devices other than the CPU (CUDA: PyTorch kernels, no
NumPy), through the :class:`~rnnkit.nn.cells.Cell` hooks ``project_input`` and ``step``::

    p = cell.project_input(x)                 # (B, T, D) -> (B, T, P): one product for all T
    p = p.transpose(0, 1).contiguous()        # (T, B, P): every step reads contiguous rows
    for t in range(T):
        h_t, state = cell.step(p[t], state)   # (B, H)
    hs = stack(h_1 .. h_T, dim=1)             # (B, T, H)

It computes exactly what the loop path computes; gradients come from autograd. Untested on a
GPU so far (tests run it on the CPU).
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnnkit.nn.cells import Cell, State


def run_torch(cell: Cell, x: Tensor, state: State) -> tuple[Tensor, State]:
    """One layer, one direction: x (B, T, D) -> hs (B, T, H), final state."""
    p = cell.project_input(x)  # (B, T, P)
    p = p.transpose(0, 1).contiguous()  # (T, B, P)
    step = cell.step
    outs = []
    for p_t in p.unbind(0):  # (B, P) each
        h, state = step(p_t, state)  # h (B, H)
        outs.append(h)
    return torch.stack(outs, dim=1), state  # (B, T, H)
