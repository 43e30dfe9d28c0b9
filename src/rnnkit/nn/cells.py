r"""Recurrent cells: one time step each, ``h_t, new_state = cell(x_t, state)``.

A cell does one step; :class:`~rnnkit.nn.recurrent.Recurrent` owns the time loop, masking,
stacking, directions, dropout and the choice of engine path. Shapes: x_t (B, D), h (B, H).

Stored weights follow torch.nn.LSTMCell / GRUCell / RNNCell exactly (so state dicts move both
ways): ``weight_ih (G*H, D)``, ``weight_hh (G*H, H)``, ``bias_ih (G*H,)``, ``bias_hh (G*H,)``,
gate blocks in torch order (LSTM i, f, g, o; GRU r, z, n; G = 4, 3, 1).

Writing a new cell
------------------
Subclass :class:`Cell`, set ``state_type`` (``None``: the state is one tensor h (B, H);
otherwise a NamedTuple class whose fields are all (B, H), h first, like :class:`LSTMState`),
implement ``forward(x_t, state) -> (h_t, new_state)`` and ``get_config()``, and decorate with
``@rnnkit.nn.config.register`` if it should save/load as a config. Optionally hoist the input
projection out of the time loop: override ``project_input(x)`` ((B, T, D) -> (B, T, P), applied
to all steps at once) together with ``step(p_t, state)`` (one step from the projected input),
and define ``forward`` as ``step(project_input(x_t), state)``. Every layer feature (stacking,
bidirectional, masking, stateful, dropout) then works for the new cell. The layer runs it on
the traced path (:mod:`rnnkit.nn.fastpath.traced`: the step traced once into a forward and a
backward graph, the sequence run without per-step autograd; ``benchmarks/layers.py`` rows
"user LSTM cell"), or on the autograd loop when the step cannot be traced (the layer's
``last_path_reason`` says why): keep the step free of control flow on tensor values, in-place
ops and random draws (dropout in training mode), and treat the batch rows independently.
"""

from __future__ import annotations

from typing import Any, ClassVar, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.nn._checks import check_bool, check_positive_int
from rnnkit.nn.config import register
from rnnkit.nn.init import check_init, init_recurrent_

State = Any  # a Tensor h (B, H) or a NamedTuple of (B, H) tensors such as LSTMState


class LSTMState(NamedTuple):
    """State of an LSTM: hidden h and cell c, each (B, H) for a cell, (L*Dir, B, H) for a layer."""

    h: Tensor
    c: Tensor


class Cell(nn.Module):
    """Base class of recurrent cells: one step ``(x_t (B, D), state) -> (h_t (B, H), state)``.

    Class attribute ``state_type``: ``None`` if the state is a tensor h (B, H), else the
    NamedTuple class of the state (all fields (B, H), the first is h).
    """

    state_type: ClassVar[type | None] = None

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.input_size = check_positive_int("input_size", input_size)
        self.hidden_size = check_positive_int("hidden_size", hidden_size)

    # -- state ------------------------------------------------------------------------------
    def initial_state(
        self,
        batch_size: int,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> State:
        """Zero state for a batch of ``batch_size``: h (B, H), or ``state_type`` of (B, H)."""
        check_positive_int("batch_size", batch_size)
        ref = next(self.parameters(), None)
        if device is None:
            device = ref.device if ref is not None else None
        if dtype is None:
            dtype = ref.dtype if ref is not None else torch.get_default_dtype()

        def zeros() -> Tensor:
            return torch.zeros(batch_size, self.hidden_size, device=device, dtype=dtype)

        if self.state_type is None:
            return zeros()
        return self.state_type(*(zeros() for _ in self.state_type._fields))

    # -- the step ---------------------------------------------------------------------------
    def project_input(self, x: Tensor) -> Tensor:
        """Input part of the step for all steps at once, (B, T, D) -> (B, T, P). Default: x."""
        return x

    def step(self, p_t: Tensor, state: State) -> tuple[Tensor, State]:
        """One step from the projected input p_t (B, P). Default: ``forward(p_t, state)``."""
        return self.forward(p_t, state)

    def forward(self, x_t: Tensor, state: State) -> tuple[Tensor, State]:  # pragma: no cover
        raise NotImplementedError(f"{type(self).__name__} must implement forward(x_t, state)")

    def reset_parameters(self) -> None:
        """Re-draw the parameters (used for the backward direction's copy).

        Default: call ``reset_parameters()`` of every sub-module that has one (e.g. nn.Linear);
        a cell holding parameters of its own overrides this to re-draw them.
        """
        for m in self.children():
            reset = getattr(m, "reset_parameters", None)
            if callable(reset):
                reset()

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments; subclasses with more arguments override this."""
        return {"input_size": self.input_size, "hidden_size": self.hidden_size}


class GatedCell(Cell):
    """A cell with torch-layout gate weights and a hoisted input projection.

    ``project_input(x) = x W_ih^T + b_ih`` ((..., D) -> (..., G*H)); ``step`` adds the
    recurrent part. Subclasses set ``gates`` (G) and ``forget_block`` (LSTM: 1).
    """

    gates: ClassVar[int] = 1
    forget_block: ClassVar[int | None] = None

    def __init__(
        self, input_size: int, hidden_size: int, *, bias: bool = True, init: str = "keras"
    ) -> None:
        super().__init__(input_size, hidden_size)
        self.bias = check_bool("bias", bias)
        self.init = check_init(init)
        GH = self.gates * hidden_size
        self.weight_ih = nn.Parameter(torch.empty(GH, input_size))  # (G*H, D)
        self.weight_hh = nn.Parameter(torch.empty(GH, hidden_size))  # (G*H, H)
        if bias:
            self.bias_ih = nn.Parameter(torch.empty(GH))  # (G*H,)
            self.bias_hh = nn.Parameter(torch.empty(GH))  # (G*H,)
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init_recurrent_(
            self.weight_ih,
            self.weight_hh,
            self.bias_ih,
            self.bias_hh,
            hidden_size=self.hidden_size,
            init=self.init,
            forget_block=self.forget_block,
        )

    def project_input(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight_ih, self.bias_ih)  # (..., D) -> (..., G*H)

    def recurrent(self, h: Tensor) -> Tensor:
        """W_hh h + b_hh: (B, H) -> (B, G*H)."""
        return F.linear(h, self.weight_hh, self.bias_hh)

    def normalise(self, a: Tensor, first: int, count: int) -> Tensor:
        """Hook on the pre-activations a (B, count*H) of gate blocks ``first .. first+count-1``.

        The identity here; the layer-normalised cells (:mod:`rnnkit.nn.ln_cells`) apply their
        per-block layer norm, so one Elman and one LSTM ``step`` serve both forms.
        """
        return a

    def forward(self, x_t: Tensor, state: State) -> tuple[Tensor, State]:
        return self.step(self.project_input(x_t), state)

    def get_config(self) -> dict[str, Any]:
        return {
            "input_size": self.input_size,
            "hidden_size": self.hidden_size,
            "bias": self.bias,
            "init": self.init,
        }

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, bias={self.bias}, init={self.init!r}"


ACTIVATIONS = {"tanh": torch.tanh, "relu": torch.relu}


def check_nonlinearity(nonlinearity: str) -> str:
    if not isinstance(nonlinearity, str) or nonlinearity not in ACTIVATIONS:
        raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
    return nonlinearity


class _ElmanCell(GatedCell):
    """The Elman step h' = act(normalise(W_ih x + b_ih + W_hh h + b_hh)), act tanh or relu."""

    gates = 1

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        nonlinearity: str = "tanh",
        *,
        bias: bool = True,
        init: str = "keras",
    ) -> None:
        check_nonlinearity(nonlinearity)
        super().__init__(input_size, hidden_size, bias=bias, init=init)
        self.nonlinearity = nonlinearity

    def step(self, p_t: Tensor, state: Tensor) -> tuple[Tensor, Tensor]:
        a = self.normalise(p_t + self.recurrent(state), 0, 1)  # (B, H)
        h = ACTIVATIONS[self.nonlinearity](a)  # (B, H)
        return h, h

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "nonlinearity": self.nonlinearity}


class _LSTMCell(GatedCell):
    """The LSTM step, gate order i, f, g, o, on normalise(W_ih x + b_ih + W_hh h + b_hh)."""

    gates = 4
    forget_block = 1
    state_type = LSTMState

    def step(self, p_t: Tensor, state: LSTMState) -> tuple[Tensor, LSTMState]:
        h, c = state
        a = self.normalise(p_t + self.recurrent(h), 0, 4)  # (B, 4H)
        i, f, g, o = a.chunk(4, dim=-1)  # (B, H) each
        c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)  # (B, H)
        h_new = torch.sigmoid(o) * torch.tanh(c_new)  # (B, H)
        return h_new, LSTMState(h_new, c_new)


@register
class SimpleRNNCell(_ElmanCell):
    r"""Elman cell: :math:`h' = \mathrm{act}(W_{ih} x + b_{ih} + W_{hh} h + b_{hh})`.

    act is tanh (default) or relu. weight_ih (H, D), weight_hh (H, H). State: h (B, H).
    """


@register
class LSTMCell(_LSTMCell):
    r"""LSTM cell (Hochreiter & Schmidhuber 1997, with forget gate), torch gate order i, f, g, o.

    .. math::
        a = W_{ih} x + b_{ih} + W_{hh} h + b_{hh} = [a_i, a_f, a_g, a_o] \\
        c' = \sigma(a_f) c + \sigma(a_i) \tanh(a_g), \quad h' = \sigma(a_o) \tanh(c')

    weight_ih (4H, D), weight_hh (4H, H). State: ``LSTMState(h, c)``, each (B, H).
    """


@register
class GRUCell(GatedCell):
    r"""GRU cell (Cho et al. 2014; torch's / Keras' reset_after form), gate order r, z, n.

    .. math::
        r = \sigma(W_{ir} x + b_{ir} + W_{hr} h + b_{hr}), \quad
        z = \sigma(W_{iz} x + b_{iz} + W_{hz} h + b_{hz}) \\
        n = \tanh(W_{in} x + b_{in} + r \odot (W_{hn} h + b_{hn})), \quad h' = (1 - z) n + z h

    weight_ih (3H, D), weight_hh (3H, H). State: h (B, H).
    """

    gates = 3

    def step(self, p_t: Tensor, state: Tensor) -> tuple[Tensor, Tensor]:
        gi_r, gi_z, gi_n = p_t.chunk(3, dim=-1)  # (B, H) each
        gh_r, gh_z, gh_n = self.recurrent(state).chunk(3, dim=-1)  # (B, H) each
        r = torch.sigmoid(gi_r + gh_r)
        z = torch.sigmoid(gi_z + gh_z)
        n = torch.tanh(gi_n + r * gh_n)
        h = (1.0 - z) * n + z * state  # (B, H)
        return h, h


#: Standard cells and the torch.nn mode their fused kernel uses (see rnnkit.nn.fused).
STANDARD_CELLS: tuple[type[GatedCell], ...] = (SimpleRNNCell, LSTMCell, GRUCell)
