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
    """``num_layers`` cells of ``cell_class`` under a Recurrent; see the module doc.

    ``options`` are :class:`~rnnkit.nn.recurrent.Recurrent`'s keywords (checked there, with
    its defaults) plus the cell keywords named in ``cell_defaults`` (SimpleRNN's
    ``nonlinearity``), which go to every cell.
    """

    cell_class: ClassVar[type[GatedCell]]
    #: cell-only constructor keywords of this layer and their defaults
    cell_defaults: ClassVar[dict[str, Any]] = {}

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        *,
        init: str = "keras",
        bias: bool = True,
        **options: Any,
    ) -> None:
        check_positive_int("num_layers", num_layers)
        check_positive_int("hidden_size", hidden_size)
        cell_kwargs = {k: options.pop(k, v) for k, v in self.cell_defaults.items()}
        dirs = 2 if options.get("bidirectional") is True else 1
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


@register
class SimpleRNN(_NamedRecurrent):
    """Elman RNN layer (SimpleRNNCell); ``nonlinearity="tanh"`` or ``"relu"``. Like torch.nn.RNN."""

    cell_class = SimpleRNNCell
    cell_defaults: ClassVar[dict[str, Any]] = {"nonlinearity": "tanh"}


@register
class LSTM(_NamedRecurrent):
    """LSTM layer (LSTMCell, gate order i, f, g, o). Like torch.nn.LSTM, batch first."""

    cell_class = LSTMCell


@register
class GRU(_NamedRecurrent):
    """GRU layer (GRUCell, gate order r, z, n; reset_after form). Like torch.nn.GRU."""

    cell_class = GRUCell


@register
class LNSimpleRNN(_NamedRecurrent):
    """Layer-normalised Elman layer (LNSimpleRNNCell); runs on the fast path or the loop."""

    cell_class = LNSimpleRNNCell
    cell_defaults: ClassVar[dict[str, Any]] = {"nonlinearity": "tanh"}


@register
class LNLSTM(_NamedRecurrent):
    """Layer-normalised LSTM layer (LNLSTMCell); runs on the fast path or the loop."""

    cell_class = LNLSTMCell


@register
class LNGRU(_NamedRecurrent):
    """Layer-normalised GRU layer (LNGRUCell); runs on the fast path or the loop."""

    cell_class = LNGRUCell
