"""Named recurrent layers: SimpleRNN, LSTM, GRU and their layer-normalised versions.

Each is a :class:`~rnnkit.nn.recurrent.Recurrent` over ``num_layers`` cells of one kind
(layer 0 reads D = input_size features, layer l > 0 reads Dir*H), with torch.nn's shapes
and state layout::

    layer = LSTM(input_size, hidden_size, num_layers=1, *, bidirectional=False,
                 merge_mode="concat", return_sequences=False, return_state=False,
                 stateful=False, go_backwards=False, dropout=0.0, input_dropout=0.0,
                 recurrent_dropout=0.0, mc_dropout=False, init="keras", bias=True,
                 path="auto")
    out = layer(x)                  # x (B, T, D) -> (B, Dir*H), or (B, T, Dir*H) with sequences
    out, (h, c) = LSTM(3, 8, return_state=True)(x)   # h, c (L*Dir, B, H)

See :mod:`rnnkit.nn.recurrent` for every option and :mod:`rnnkit.nn.init` for ``init``.
Standard layers run on torch.nn's fused kernel when they can (``layer.last_path == "fused"``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from torch import nn

from rnnkit.nn._checks import check_positive_int
from rnnkit.nn.cells import GatedCell, GRUCell, LSTMCell, SimpleRNNCell
from rnnkit.nn.config import register
from rnnkit.nn.ln_cells import LNGRUCell, LNLSTMCell, LNSimpleRNNCell
from rnnkit.nn.recurrent import Recurrent


class _NamedRecurrent(Recurrent):
    """``num_layers`` cells of ``cell_class`` under a Recurrent; see the module doc."""

    cell_class: ClassVar[type[GatedCell]]

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        *,
        bidirectional: bool = False,
        merge_mode: str = "concat",
        return_sequences: bool = False,
        return_state: bool = False,
        stateful: bool = False,
        go_backwards: bool = False,
        dropout: float = 0.0,
        input_dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        mc_dropout: bool = False,
        init: str = "keras",
        bias: bool = True,
        path: str = "auto",
    ) -> None:
        """A stack of ``num_layers`` recurrent layers; shapes in the module docstring.

        Args:
            input_size: D, features of the input x (B, T, D).
            hidden_size: H, units of every layer (> 0).
            num_layers: L, stacked layers; layer l > 0 reads Dir*H features. Default 1.
            bidirectional: also run each layer backward in time (Dir = 2). Default False.
            merge_mode: how the last layer's two directions combine: "concat" (Dir*H features),
                "sum", "mul" or "ave" (H). Default "concat".
            return_sequences: return every step (B, T, Dir*H) rather than the last valid step
                (B, Dir*H). Default False.
            return_state: also return the final state, h (L*Dir, B, H) or LSTMState(h, c).
                Default False.
            stateful: carry the final state (detached: truncated BPTT) into the next call;
                ``reset_state()`` clears it. Default False.
            go_backwards: read each sequence from its last valid step to its first. Default False.
            dropout: between stacked layers, per element and step (torch.nn's). Default 0.0.
            input_dropout: on the features of x, one mask per sequence. Default 0.0.
            recurrent_dropout: on the h fed back into the cell, one mask per sequence
                (variational). Default 0.0.
            mc_dropout: keep dropout active in eval mode (MC dropout). Default False.
            init: "keras" (glorot-uniform input weights, orthogonal recurrent weights, zero
                biases, LSTM forget bias 1) or "torch" (torch.nn's uniform). Default "keras".
            bias: learn bias vectors (torch.nn's two: b_ih and b_hh). Default True.
            path: "auto", "fused", "fast" or "loop" (see :mod:`rnnkit.nn.recurrent`).
                Default "auto".
        """
        self._build(input_size, hidden_size, num_layers, {}, init, bias, dict(
            bidirectional=bidirectional, merge_mode=merge_mode,
            return_sequences=return_sequences, return_state=return_state, stateful=stateful,
            go_backwards=go_backwards, dropout=dropout, input_dropout=input_dropout,
            recurrent_dropout=recurrent_dropout, mc_dropout=mc_dropout, path=path))

    def _build(self, input_size: int, hidden_size: int, num_layers: int,
               cell_kwargs: dict[str, Any], init: str, bias: bool,
               options: dict[str, Any]) -> None:
        """Make the cells (``cell_kwargs`` go to each) and the Recurrent around them."""
        check_positive_int("num_layers", num_layers)
        check_positive_int("hidden_size", hidden_size)
        dirs = 2 if options["bidirectional"] is True else 1
        cells = [
            self.cell_class(
                input_size if l == 0 else dirs * hidden_size,
                hidden_size,
                bias=bias,
                init=init,
                **cell_kwargs,
            )
            for l in range(num_layers)
        ]
        super().__init__(cells, **options)
        self.init = init
        self.bias = bias
        self._cell_kwargs = cell_kwargs

    def get_config(self) -> dict[str, Any]:
        return {
            "input_size": self.input_size,
            "hidden_size": self.hidden_size,
            "num_layers": self.num_layers,
            **self._cell_kwargs,
            **self._options(),
            "init": self.init,
            "bias": self.bias,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Recurrent:
        return cls(**config)

    def to_torch(self) -> nn.Module:
        """torch.nn.LSTM / GRU / RNN (batch_first=True) with this layer's weights."""
        from rnnkit.nn.convert import to_torch

        return to_torch(self)

    @classmethod
    def from_torch(cls, module: nn.Module, **layer_kwargs: Any) -> Recurrent:
        """This layer type with the weights of a torch.nn LSTM / GRU / RNN."""
        from rnnkit.nn.convert import from_torch

        layer = from_torch(module, **layer_kwargs)
        if type(layer) is not cls:
            raise TypeError(
                f"module must be the torch.nn twin of {cls.__name__}, got {type(module).__name__}"
            )
        return layer


class _ElmanRecurrent(_NamedRecurrent):
    """A named layer of Elman cells: the options of the other layers plus ``nonlinearity``."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        *,
        nonlinearity: str = "tanh",
        bidirectional: bool = False,
        merge_mode: str = "concat",
        return_sequences: bool = False,
        return_state: bool = False,
        stateful: bool = False,
        go_backwards: bool = False,
        dropout: float = 0.0,
        input_dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        mc_dropout: bool = False,
        init: str = "keras",
        bias: bool = True,
        path: str = "auto",
    ) -> None:
        """A stack of ``num_layers`` Elman layers; shapes in the module docstring.

        Args:
            nonlinearity: the cell's activation, "tanh" or "relu". Default "tanh".
            The others: as :class:`LSTM` (``help(rnnkit.nn.LSTM.__init__)``): input_size D,
            hidden_size H, num_layers L (1), bidirectional (False), merge_mode ("concat"),
            return_sequences (False), return_state (False), stateful (False), go_backwards
            (False), dropout (0.0), input_dropout (0.0), recurrent_dropout (0.0), mc_dropout
            (False), init ("keras"), bias (True), path ("auto").
        """
        self._build(input_size, hidden_size, num_layers, {"nonlinearity": nonlinearity}, init,
                    bias, dict(
                        bidirectional=bidirectional, merge_mode=merge_mode,
                        return_sequences=return_sequences, return_state=return_state,
                        stateful=stateful, go_backwards=go_backwards, dropout=dropout,
                        input_dropout=input_dropout, recurrent_dropout=recurrent_dropout,
                        mc_dropout=mc_dropout, path=path))


@register
class SimpleRNN(_ElmanRecurrent):
    """Elman RNN layer (SimpleRNNCell); ``nonlinearity="tanh"`` or ``"relu"``. Like torch.nn.RNN.

    ``h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)``; arguments: ``help(SimpleRNN.__init__)``.
    """

    cell_class = SimpleRNNCell


@register
class LSTM(_NamedRecurrent):
    """LSTM layer (LSTMCell, gate order i, f, g, o). Like torch.nn.LSTM, batch first."""

    cell_class = LSTMCell


@register
class GRU(_NamedRecurrent):
    """GRU layer (GRUCell, gate order r, z, n; reset_after form). Like torch.nn.GRU."""

    cell_class = GRUCell


@register
class LNSimpleRNN(_ElmanRecurrent):
    """Layer-normalised Elman layer (LNSimpleRNNCell); runs on the fast path or the loop."""

    cell_class = LNSimpleRNNCell


@register
class LNLSTM(_NamedRecurrent):
    """Layer-normalised LSTM layer (LNLSTMCell); runs on the fast path or the loop."""

    cell_class = LNLSTMCell


@register
class LNGRU(_NamedRecurrent):
    """Layer-normalised GRU layer (LNGRUCell); runs on the fast path or the loop."""

    cell_class = LNGRUCell
