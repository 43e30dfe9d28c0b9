"""Weight initialisers for rnnkit.nn: the Keras rule and the torch.nn rule.

``init="keras"`` (the default of every rnnkit layer), for a recurrent cell with G gate blocks:

- ``weight_ih (G*H, D)``: Glorot (Xavier) uniform, limit ``sqrt(6 / (D + G*H))`` -- Keras draws
  its kernel ``(D, G*H)`` with the same fan-in and fan-out;
- ``weight_hh (G*H, H)``: orthogonal (orthonormal columns; the transpose of Keras'
  orthogonal ``recurrent_kernel (H, G*H)``);
- biases zero, except the LSTM forget gate, whose ``bias_ih`` block is 1 (``bias_hh`` stays 0,
  so ``b_ih + b_hh`` is 1 on f, like Keras' ``unit_forget_bias=True``).

``init="torch"``: every parameter uniform(-1/sqrt(H), 1/sqrt(H)), as torch.nn.LSTM/GRU/RNN.
Layer-norm gains start at 1 and shifts at 0 under both rules.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from rnnkit.nn._checks import check_choice

INITS = ("keras", "torch")


def check_init(init: str) -> str:
    """Return ``init`` if it names a known rule, else raise ``ValueError``."""
    return check_choice("init", init, INITS)


def glorot_uniform_(w: torch.Tensor, fan_in: int, fan_out: int) -> torch.Tensor:
    """Fill ``w`` from U(-a, a), a = sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio, 2010)."""
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    with torch.no_grad():
        return w.uniform_(-limit, limit)


def init_recurrent_(
    weight_ih: torch.Tensor,
    weight_hh: torch.Tensor,
    bias_ih: torch.Tensor | None,
    bias_hh: torch.Tensor | None,
    *,
    hidden_size: int,
    init: str,
    forget_block: int | None = None,
) -> None:
    """Initialise one cell's torch-layout weights in place.

    weight_ih (G*H, D), weight_hh (G*H, H), biases (G*H,). ``forget_block`` is the index of
    the LSTM forget-gate block (1 in torch order i, f, g, o) or None.
    """
    check_init(init)
    H = hidden_size
    with torch.no_grad():
        if init == "torch":
            bound = 1.0 / math.sqrt(H)
            for p in (weight_ih, weight_hh, bias_ih, bias_hh):
                if p is not None:
                    p.uniform_(-bound, bound)
            return
        gh, d = weight_ih.shape  # (G*H, D)
        glorot_uniform_(weight_ih, fan_in=d, fan_out=gh)
        nn.init.orthogonal_(weight_hh)  # (G*H, H): orthonormal columns
        for p in (bias_ih, bias_hh):
            if p is not None:
                p.zero_()
        if forget_block is not None and bias_ih is not None:
            bias_ih[forget_block * H : (forget_block + 1) * H] = 1.0


def init_dense_(weight: torch.Tensor, bias: torch.Tensor | None, init: str) -> None:
    """Initialise a dense/conv weight ``(O, D, *k)`` and bias ``(O,)`` in place.

    keras: Glorot uniform with fan_in = D*k, fan_out = O*k, zero bias.
    torch: torch.nn.Linear's rule, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias.
    """
    check_init(init)
    receptive = 1
    for s in weight.shape[2:]:
        receptive *= s
    fan_in = weight.shape[1] * receptive
    fan_out = weight.shape[0] * receptive
    with torch.no_grad():
        if init == "keras":
            glorot_uniform_(weight, fan_in, fan_out)
            if bias is not None:
                bias.zero_()
        else:
            bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
            weight.uniform_(-bound, bound)
            if bias is not None:
                bias.uniform_(-bound, bound)
