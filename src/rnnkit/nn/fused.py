"""The fused path: standard cells run through a torch.nn.LSTM / GRU / RNN that shares their weights.

The cells keep torch.nn's parameter layout, so a whole stack (all layers, both directions) is
one ``torch.nn.LSTM`` (or ``GRU``, ``RNN`` with tanh / relu) whose parameters ARE the cells'
Parameter objects: :class:`FusedStack` builds that module once, on the meta device, and sets
``weight_ih_l{l}{_reverse}`` etc. to the cells' parameters, so no weight is copied, every
gradient lands on the cells, and torch.nn picks the kernel (cuDNN on GPU, oneDNN / ATen on
CPU). The module is not a sub-module of the layer (``state_dict`` keys stay the cells'); it is
re-pointed at the cells' parameters whenever one of them was replaced (``load_state_dict(...,
assign=True)``, a new ``nn.Parameter``), and on CUDA :meth:`FusedStack.flatten` makes the
weights views of one cuDNN buffer (torch.nn's ``flatten_parameters``).

Only public torch APIs run here, so the ecosystem treats the fused path exactly as it treats
torch.nn.LSTM: ``torch.compile`` graph-breaks around it (Dynamo runs torch.nn's RNN modules
eagerly), ``torch.export`` / ``torch.onnx.export`` / ``torch.jit.trace`` see ``aten.lstm``
(an ONNX ``LSTM`` node), autocast casts as it does for torch.nn.LSTM, except that a
bfloat16 LSTM on a CPU whose oneDNN has none (no AVX-512), where torch.nn.LSTM raises, runs
on ATen's kernel (:func:`_call`).

Variable lengths are packed with ``pack_padded_sequence(..., enforce_sorted=False)`` and the
module is called on the PackedSequence (torch.nn permutes the state into the sorted order and
back). Padded output steps come back as zeros. Packing sorts by the lengths' values, which a
graph exported for any lengths cannot do: under ``torch.export`` / ``torch.jit.trace`` the
layer uses :meth:`FusedStack.run_masked` instead (layer by layer, direction by direction, on
the padded batch; exact, and the graph keeps T dynamic), or, where it needs the final LSTM
cell state c, the autograd loop. Equivalent to::

    out, hidden = torch.nn.LSTM(D, H, L, batch_first=True, bidirectional=...)(x, (h0, c0))
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from rnnkit.nn.cells import Cell, GRUCell, LSTMCell, LSTMState, SimpleRNNCell
from rnnkit.nn.masking import last_valid, reverse_padded, valid_mask

logger = logging.getLogger(__name__)

#: kernel mode -> (torch.nn class, extra constructor arguments)
_MODULES: dict[str, tuple[type[nn.RNNBase], dict[str, str]]] = {
    "LSTM": (nn.LSTM, {}),
    "GRU": (nn.GRU, {}),
    "RNN_TANH": (nn.RNN, {"nonlinearity": "tanh"}),
    "RNN_RELU": (nn.RNN, {"nonlinearity": "relu"}),
}
_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def cell_mode(cell: Cell) -> str | None:
    """torch.nn mode name of a standard cell ("LSTM", "GRU", "RNN_TANH", "RNN_RELU") or None.

    Only the exact classes qualify: a subclass may change the step.
    """
    kind = type(cell)
    if kind is LSTMCell:
        return "LSTM"
    if kind is GRUCell:
        return "GRU"
    if kind is SimpleRNNCell:
        return "RNN_TANH" if cell.nonlinearity == "tanh" else "RNN_RELU"
    return None


def stack_mode(cells: Sequence[Cell], num_layers: int, num_directions: int) -> str | None:
    """The kernel mode if the stack ``cells`` (torch order l*Dir + d) can run fused, else None.

    Requires: every cell the same standard kind, one hidden size, one bias setting, and layer
    l's input size equal to Dir*H for l > 0 (the concatenated outputs of the layer below).
    """
    modes = {cell_mode(c) for c in cells}
    if len(modes) != 1 or None in modes:
        return None
    H = cells[0].hidden_size
    bias = cells[0].bias
    for idx, c in enumerate(cells):
        if c.hidden_size != H or c.bias != bias:
            return None
        layer = idx // num_directions
        want_in = cells[0].input_size if layer == 0 else num_directions * H
        if c.input_size != want_in:
            return None
    return modes.pop()


def torch_names(num_layers: int, num_directions: int, bias: bool) -> list[str]:
    """torch.nn's parameter names in cell order l*Dir + d, four (two without bias) per cell:
    ``weight_ih_l0``, ``weight_hh_l0``, ``bias_ih_l0``, ``bias_hh_l0``,
    ``weight_ih_l0_reverse``, ..."""
    names = []
    for l in range(num_layers):
        for d in range(num_directions):
            suffix = f"_l{l}" + ("_reverse" if d else "")
            names += [n + suffix for n in (_NAMES if bias else _NAMES[:2])]
    return names


class _Shared:
    """A torch.nn module and its parameter names; ``get(cells)`` points its parameters at
    the cells' (a no-op when they already are: a few attribute reads) and returns it."""

    def __init__(self, mode: str, cells: Sequence[Cell], num_layers: int,
                 bidirectional: bool) -> None:
        first = cells[0]
        cls, kwargs = _MODULES[mode]
        with torch.device("meta"):  # no memory, no initialisation: the weights are the cells'
            self.module = cls(first.input_size, first.hidden_size, num_layers,
                              bias=bool(first.bias), batch_first=True,
                              bidirectional=bidirectional, **kwargs)
        self.names = torch_names(num_layers, 2 if bidirectional else 1, bool(first.bias))
        self.per_cell = 4 if first.bias else 2
        self.get(cells)

    def get(self, cells: Sequence[Cell]) -> nn.RNNBase:
        module = self.module
        ours = [getattr(c, name) for c in cells for name in _NAMES[: self.per_cell]]
        for name, p in zip(self.names, ours, strict=True):
            if getattr(module, name) is not p:
                if not isinstance(p, nn.Parameter):  # e.g. under torch.func.functional_call
                    delattr(module, name)  # a plain tensor may not take a parameter's place
                setattr(module, name, p)
        return module


#: Whether oneDNN runs a bfloat16 LSTM on this CPU: None until a call under bf16 tells.
_ONEDNN_BF16_LSTM: bool | None = None


def _bf16_on_cpu(x: Tensor | PackedSequence) -> bool:
    data = x.data if isinstance(x, PackedSequence) else x
    return data.device.type == "cpu" and (data.dtype == torch.bfloat16 or (
        torch.is_autocast_enabled("cpu")
        and torch.get_autocast_dtype("cpu") == torch.bfloat16))


def _call(module: nn.RNNBase, x: Tensor | PackedSequence, hx):
    """``module(x, hx)``; a bfloat16 LSTM on a CPU where oneDNN has none (a CPU without
    AVX-512: "could not create a primitive descriptor for the LSTM forward propagation
    primitive", torch.nn.LSTM itself fails so) runs with oneDNN off for the call, on ATen's
    kernel, which autocast runs in float32. Learned at the first such call, then kept."""
    global _ONEDNN_BF16_LSTM
    if not (isinstance(module, nn.LSTM) and _bf16_on_cpu(x)) or _ONEDNN_BF16_LSTM:
        return module(x, hx)
    if _ONEDNN_BF16_LSTM is None:
        try:
            out = module(x, hx)
            _ONEDNN_BF16_LSTM = True
            return out
        except RuntimeError as err:
            if "primitive descriptor" not in str(err):
                raise
            _ONEDNN_BF16_LSTM = False
            logger.info("oneDNN has no bfloat16 LSTM on this CPU; the fused LSTM runs on "
                        "ATen's kernel under bfloat16 (%s)", err)
    with warnings.catch_warnings():  # the flags' setter warns about TF32 on Intel GPUs
        warnings.simplefilter("ignore", UserWarning)
        with torch.backends.mkldnn.flags(enabled=False):
            return module(x, hx)


class FusedStack:
    """A torch.nn.LSTM / GRU / RNN (batch first) over the Parameter objects of ``cells``.

    ``FusedStack(cells, mode, num_layers, bidirectional)``; ``stack(cells, x, state, lengths,
    dropout=..., train=...)`` runs it (see :meth:`__call__`). A plain object, not an
    ``nn.Module``, so the layer that holds it registers neither it nor its parameters twice.
    """

    def __init__(self, cells: Sequence[Cell], mode: str, num_layers: int,
                 bidirectional: bool) -> None:
        self.mode = mode
        self.num_layers = num_layers
        self.num_directions = 2 if bidirectional else 1
        self.stack = _Shared(mode, cells, num_layers, bidirectional)
        #: one-layer, one-direction modules, one per cell, for :meth:`run_masked`
        self.singles = [_Shared(mode, [c], 1, False) for c in cells]

    @property
    def module(self) -> nn.RNNBase:
        """The torch.nn module of the whole stack."""
        return self.stack.module

    def flatten(self, cells: Sequence[Cell]) -> None:
        """On CUDA, make the weights views of one cuDNN buffer (without it cuDNN copies them
        into one on every call, and warns); a no-op elsewhere."""
        try:
            self.stack.get(cells).flatten_parameters()
        except RuntimeError as err:  # pragma: no cover - depends on the GPU stack
            logger.warning("could not flatten RNN weights for cuDNN: %s", err)

    def __call__(
        self,
        cells: Sequence[Cell],
        x: Tensor,
        state: Tensor | LSTMState,
        lengths: Tensor | None,
        *,
        dropout: float,
        train: bool,
    ) -> tuple[Tensor, Tensor | LSTMState]:
        """Run the stack.

        x (B, T, D) in processing order; state h (L*Dir, B, H) or LSTMState of two; lengths
        (B,) int64 on the CPU or None (all T). ``dropout`` between layers is active when
        ``train``. Returns out (B, T, Dir*H) (zeros after each sequence's length) and the
        final state in the layout of ``state``.
        """
        module = self.stack.get(cells)
        module.dropout = float(dropout)
        module.training = bool(train)
        hx = (state.h, state.c) if self.mode == "LSTM" else state
        if lengths is None:
            out, hidden = _call(module, x, hx)  # out (B, T, Dir*H)
        else:
            packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
            out_packed, hidden = _call(module, packed, hx)  # a PackedSequence, hidden unsorted
            out, _ = pad_packed_sequence(out_packed, batch_first=True,
                                         total_length=x.shape[1])  # (B, T, Dir*H)
        if self.mode == "LSTM":
            return out, LSTMState(hidden[0], hidden[1])
        return out, hidden

    def run_masked(
        self,
        cells: Sequence[Cell],
        x: Tensor,
        state: Tensor | LSTMState,
        lengths: Tensor,
        *,
        dropout: float,
        train: bool,
    ) -> tuple[Tensor, Tensor]:
        """Variable lengths without packing, for graph captures (:func:`~rnnkit.nn.tracing.
        exporting`), whose graph must not depend on the lengths' values: each layer and
        direction runs on its own over all T steps of the right-padded batch, which is exact at
        the valid steps (a padded step comes after them); the backward direction reads each
        sequence reversed inside its length. Returns out (B, T, Dir*H) (zeros at padded
        steps) and the final h (L*Dir, B, H); the final LSTM c is not computed (each row's c
        at its own last step is not an output of the kernel)::

            for l, d:  o = kernel(seq_d(x_l)); o = where(t < lengths, o, 0)
                       h_final[l*Dir + d] = o at each row's last valid step
        """
        h0 = state.h if self.mode == "LSTM" else state  # (L*Dir, B, H)
        valid = valid_mask(lengths, x.shape[1], x.device).unsqueeze(-1)  # (B, T, 1)
        finals = []
        inp = x  # (B, T, D)
        for l in range(self.num_layers):
            if l > 0 and dropout > 0:
                inp = F.dropout(inp, dropout, training=train)
            outs = []
            for d in range(self.num_directions):
                i = l * self.num_directions + d
                module = self.singles[i].get([cells[i]])
                hx_i = h0[i : i + 1]  # (1, B, H)
                hx = (hx_i, state.c[i : i + 1]) if self.mode == "LSTM" else hx_i
                seq = inp if d == 0 else reverse_padded(inp, lengths)
                o, _ = _call(module, seq, hx)  # (B, T, H), exact at the valid steps
                o = torch.where(valid, o, torch.zeros_like(o))
                finals.append(last_valid(o, lengths))  # (B, H)
                outs.append(o if d == 0 else reverse_padded(o, lengths))
            inp = torch.cat(outs, dim=-1) if len(outs) > 1 else outs[0]  # (B, T, Dir*H)
        return inp, torch.stack(finals)  # (B, T, Dir*H), (L*Dir, B, H)
