r"""User-defined LSTM and GRU cells, written the way a user of rnnkit writes a new cell.

They subclass :class:`rnnkit.nn.Cell`, declare the state structure (``state_type``),
implement one step, and hoist the input projection out of the time loop
(``project_input`` for all steps at once, then ``step``). :class:`rnnkit.nn.Recurrent` then
gives them the time loop, masking, stacking and directions. Initialisation as
torch.nn.LSTMCell: every weight uniform in :math:`[-1/\sqrt{H}, 1/\sqrt{H}]`.

MyLSTMCell, gates i, f, g, o (torch order)::

    a = W_ih x + b_ih + W_hh h + b_hh            # (B, 4H)
    c' = sigmoid(a_f) * c + sigmoid(a_i) * tanh(a_g)
    h' = sigmoid(a_o) * tanh(c')

MyGRUCell, gates r, z, n::

    r = sigmoid(W_ir x + b_ir + W_hr h + b_hr);  z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
    n = tanh(W_in x + b_in + r * (W_hn h + b_hn));  h' = (1 - z) * n + z * h
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.nn import Cell, LSTMState


class _UniformInit(Cell):
    gates = 1

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__(input_size, hidden_size)
        G, H = self.gates, hidden_size
        self.weight_ih = nn.Parameter(torch.empty(G * H, input_size))  # (G*H, D)
        self.weight_hh = nn.Parameter(torch.empty(G * H, H))  # (G*H, H)
        self.bias_ih = nn.Parameter(torch.empty(G * H))  # (G*H,)
        self.bias_hh = nn.Parameter(torch.empty(G * H))  # (G*H,)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def project_input(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight_ih, self.bias_ih)  # (..., D) -> (..., G*H)

    def forward(self, x_t: Tensor, state):
        return self.step(self.project_input(x_t), state)


class MyLSTMCell(_UniformInit):
    """A hand-written LSTM cell (state ``LSTMState(h, c)``); see the module doc."""

    gates = 4
    state_type = LSTMState

    def step(self, p_t: Tensor, state: LSTMState) -> tuple[Tensor, LSTMState]:
        h, c = state  # (B, H) each
        a = p_t + F.linear(h, self.weight_hh, self.bias_hh)  # (B, 4H)
        i, f, g, o = a.chunk(4, dim=1)  # (B, H) each
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)  # (B, H)
        h = torch.sigmoid(o) * torch.tanh(c)  # (B, H)
        return h, LSTMState(h, c)


class MyGRUCell(_UniformInit):
    """A hand-written GRU cell (state h); see the module doc."""

    gates = 3

    def step(self, p_t: Tensor, h: Tensor) -> tuple[Tensor, Tensor]:
        xr, xz, xn = p_t.chunk(3, dim=1)  # (B, H) each
        hr, hz, hn = F.linear(h, self.weight_hh, self.bias_hh).chunk(3, dim=1)  # (B, H) each
        r = torch.sigmoid(xr + hr)
        z = torch.sigmoid(xz + hz)
        n = torch.tanh(xn + r * hn)
        h = (1 - z) * n + z * h  # (B, H)
        return h, h


__all__ = ["MyGRUCell", "MyLSTMCell"]
