"""The fused path: standard cells run on the kernels torch.nn.LSTM / GRU / RNN call.

The cells keep torch.nn's parameter layout, so the whole stack (all layers, both directions)
is handed to the same functional kernel torch.nn.LSTM calls (``torch._VF.lstm``, and
``_VF.gru``, ``_VF.rnn_tanh``, ``_VF.rnn_relu``): cuDNN on GPU, oneDNN / ATen on CPU.
Variable lengths are packed with ``pack_padded_sequence(..., enforce_sorted=False)``, the
state is permuted into the sorted order and the results are put back in the caller's order,
exactly as torch.nn.LSTM does for a PackedSequence. Padded output steps come back as zeros.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import torch
from torch import _VF, Tensor
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnnkit.nn.cells import Cell, GRUCell, LSTMCell, LSTMState, SimpleRNNCell

logger = logging.getLogger(__name__)

_KERNELS = {
    "LSTM": _VF.lstm,
    "GRU": _VF.gru,
    "RNN_TANH": _VF.rnn_tanh,
    "RNN_RELU": _VF.rnn_relu,
}


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


def flat_weights(cells: Sequence[Cell]) -> list[Tensor]:
    """Weights in the order torch.nn.RNNBase._flat_weights lists them."""
    out: list[Tensor] = []
    for c in cells:
        out += [c.weight_ih, c.weight_hh]
        if c.bias:
            out += [c.bias_ih, c.bias_hh]
    return out


def flatten_cuda_weights(
    cells: Sequence[Cell], mode: str, num_layers: int, bidirectional: bool
) -> None:
    """Make the cells' CUDA weights views of one cuDNN buffer (torch.nn's flatten_parameters).

    Without it cuDNN copies the weights into one buffer on every call (and warns). A no-op
    off CUDA or where cuDNN does not accept the weights.
    """
    weights = flat_weights(cells)
    first = weights[0]
    if not all(
        w.is_cuda and w.dtype == first.dtype and torch.backends.cudnn.is_acceptable(w)
        for w in weights
    ):
        return
    if len({w.data_ptr() for w in weights}) != len(weights):
        return
    import torch.backends.cudnn.rnn as cudnn_rnn

    try:
        with torch.cuda.device_of(first), torch.no_grad():
            if torch._use_cudnn_rnn_flatten_weight():
                torch._cudnn_rnn_flatten_weight(
                    weights,
                    4 if cells[0].bias else 2,
                    cells[0].input_size,
                    cudnn_rnn.get_cudnn_mode(mode),
                    cells[0].hidden_size,
                    0,
                    num_layers,
                    True,
                    bidirectional,
                )
    except RuntimeError as err:  # pragma: no cover - depends on the GPU stack
        logger.warning("could not flatten RNN weights for cuDNN: %s", err)


def run_fused(
    cells: Sequence[Cell],
    mode: str,
    x: Tensor,
    state: Tensor | LSTMState,
    lengths: Tensor | None,
    *,
    num_layers: int,
    bidirectional: bool,
    dropout: float,
    train: bool,
) -> tuple[Tensor, Tensor | LSTMState]:
    """Run the stack on the fused kernel.

    x (B, T, D) in processing order; state h (L*Dir, B, H) or LSTMState of two;
    lengths (B,) int64 on the CPU or None (all T). ``dropout`` between layers is active when
    ``train``. Returns out (B, T, Dir*H) (zeros after each sequence's length) and the final
    state in the layout of ``state``.
    """
    kernel = _KERNELS[mode]
    weights = flat_weights(cells)
    bias = bool(cells[0].bias)
    hx: tuple[Tensor, ...] | Tensor = tuple(state) if mode == "LSTM" else state
    T = x.shape[1]
    if lengths is None:
        result = kernel(x, hx, weights, bias, num_layers, dropout, train, bidirectional, True)
        out, hidden = result[0], result[1:]  # out (B, T, Dir*H)
    else:
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        order, unorder = packed.sorted_indices, packed.unsorted_indices
        if mode == "LSTM":
            hx = (hx[0].index_select(1, order), hx[1].index_select(1, order))
        else:
            hx = hx.index_select(1, order)
        result = kernel(
            packed.data,
            packed.batch_sizes,
            hx,
            weights,
            bias,
            num_layers,
            dropout,
            train,
            bidirectional,
        )
        out_packed = torch.nn.utils.rnn.PackedSequence(
            result[0], packed.batch_sizes, order, unorder
        )
        out, _ = pad_packed_sequence(out_packed, batch_first=True, total_length=T)  # (B, T, .)
        hidden = tuple(h.index_select(1, unorder) for h in result[1:])
    if mode == "LSTM":
        return out, LSTMState(hidden[0], hidden[1])
    return out, hidden[0]
