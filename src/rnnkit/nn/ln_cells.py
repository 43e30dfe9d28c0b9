r"""Layer-normalised cells (Ba, Kiros & Hinton 2016): layer norm on the pre-activations.

Same weights as the standard cells (torch layout, see :mod:`rnnkit.nn.cells`) plus a gain
``ln_weight (G*H,)`` (init 1) and a shift ``ln_bias (G*H,)`` (init 0). Each gate block k of
H units is normalised on its own over H, eps = 1e-5:

.. math::
    \mathrm{LN}_k(a) = \frac{a - \mathrm{mean}(a)}{\sqrt{\mathrm{var}(a) + \epsilon}}
    \odot \gamma_k + \beta_k \quad (\text{biased variance, over the } H \text{ units})

- SimpleRNN: :math:`h' = \mathrm{act}(\mathrm{LN}(W_{ih} x + b_{ih} + W_{hh} h + b_{hh}))`
- LSTM: :math:`a = W_{ih} x + b_{ih} + W_{hh} h + b_{hh}`, :math:`\hat a_k = \mathrm{LN}_k(a_k)`
  for k in i, f, g, o; :math:`c' = \sigma(\hat a_f) c + \sigma(\hat a_i)\tanh(\hat a_g)`,
  :math:`h' = \sigma(\hat a_o)\tanh(c')`
- GRU: :math:`r = \sigma(\mathrm{LN}_r(W_{ir} x + b_{ir} + W_{hr} h + b_{hr}))`, z likewise,
  :math:`n = \tanh(\mathrm{LN}_n(W_{in} x + b_{in} + r \odot (W_{hn} h + b_{hn})))`,
  :math:`h' = (1 - z) n + z h`

These equations are identical to the reference engine's (``rnnkit.ref`` TimeLN* layers).
PyTorch has no fused kernel for them; they run on the fast path or the autograd loop.
"""

from __future__ import annotations

from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.nn.cells import GatedCell, _ElmanCell, _LSTMCell
from rnnkit.nn.config import register

LN_EPS = 1e-5


class LNGatedCell(GatedCell):
    """A gated cell with a per-gate-block layer norm: adds ``ln_weight``, ``ln_bias`` (G*H,)."""

    gates: ClassVar[int] = 1

    def __init__(
        self, input_size: int, hidden_size: int, *, bias: bool = True, init: str = "keras"
    ) -> None:
        super().__init__(input_size, hidden_size, bias=bias, init=init)
        GH = self.gates * self.hidden_size
        self.ln_weight = nn.Parameter(torch.ones(GH))  # (G*H,)
        self.ln_bias = nn.Parameter(torch.zeros(GH))  # (G*H,)

    def reset_parameters(self) -> None:
        super().reset_parameters()
        if hasattr(self, "ln_weight"):
            with torch.no_grad():
                self.ln_weight.fill_(1.0)
                self.ln_bias.zero_()

    def layer_norm(self, a: Tensor, first: int, count: int) -> Tensor:
        """Normalise gate blocks ``first .. first+count-1`` of a (B, count*H) separately."""
        H = self.hidden_size
        B = a.shape[0]
        a = a.reshape(B, count, H)  # (B, k, H)
        a = F.layer_norm(a, (H,), eps=LN_EPS)  # (B, k, H), no affine
        w = self.ln_weight[first * H : (first + count) * H].view(count, H)  # (k, H)
        b = self.ln_bias[first * H : (first + count) * H].view(count, H)  # (k, H)
        return (a * w + b).reshape(B, count * H)  # (B, k*H)

    def normalise(self, a: Tensor, first: int, count: int) -> Tensor:
        """The step's pre-activation hook: :meth:`layer_norm` (identity in the standard cells)."""
        return self.layer_norm(a, first, count)


# LNSimpleRNNCell and LNLSTMCell take their step from the standard kind (rnnkit.nn.cells) and
# the layer norm, through the ``normalise`` hook, from LNGatedCell; neither is a subclass of the
# standard cell. LNGRUCell keeps its own step: it works on the (r, z) block pair, (B, 2H), where
# GRUCell works gate by gate, and one shared step moved GRUCell's loop results by an ulp.
@register
class LNSimpleRNNCell(_ElmanCell, LNGatedCell):
    """Layer-normalised Elman cell: h' = act(LN(W_ih x + b_ih + W_hh h + b_hh)). State h (B, H)."""


@register
class LNLSTMCell(_LSTMCell, LNGatedCell):
    """Layer-normalised LSTM cell, gate order i, f, g, o. State ``LSTMState(h, c)``."""


@register
class LNGRUCell(LNGatedCell):
    """Layer-normalised GRU cell (reset_after form), gate order r, z, n. State h (B, H)."""

    gates = 3

    def step(self, p_t: Tensor, state: Tensor) -> tuple[Tensor, Tensor]:
        H = self.hidden_size
        gh = self.recurrent(state)  # (B, 3H)
        rz = self.layer_norm(p_t[:, : 2 * H] + gh[:, : 2 * H], 0, 2)  # (B, 2H)
        r, z = torch.sigmoid(rz).chunk(2, dim=-1)  # (B, H) each
        n = torch.tanh(self.layer_norm(p_t[:, 2 * H :] + r * gh[:, 2 * H :], 2, 1))  # (B, H)
        h = (1.0 - z) * n + z * state  # (B, H)
        return h, h


LN_CELLS: tuple[type[LNGatedCell], ...] = (LNSimpleRNNCell, LNLSTMCell, LNGRUCell)
