"""rnnkit.nn: the PyTorch engine -- cells, the Recurrent layer, fused / fast / loop paths, layers.

    from rnnkit.nn import LSTM, Dense
    rnn = LSTM(1, 20, return_sequences=True)       # x (B, T, 1) -> (B, T, 20)
    head = Dense(20, 1)                             # (B, T, 20) -> (B, T, 1)

Cells do one step (``h_t, state = cell(x_t, state)``); ``Recurrent`` runs them over time with
stacking, directions, masking, stateful state and dropout, on torch.nn's fused kernel when it
can (``layer.last_path``). Weights follow torch.nn's layout; see ``rnnkit.nn.convert`` for
torch.nn / Keras / reference-engine weights and ``rnnkit.nn.config`` for JSON configs.
"""

from rnnkit.nn import config
from rnnkit.nn.bidirectional import Bidirectional
from rnnkit.nn.cells import Cell, GRUCell, LSTMCell, LSTMState, SimpleRNNCell
from rnnkit.nn.config import from_config, get_config, register, to_config
from rnnkit.nn.convert import (
    from_ref,
    from_torch,
    keras_to_torch,
    load_book_lstm,
    load_keras,
    load_ref,
    to_ref,
    to_torch,
)
from rnnkit.nn.layers import (
    BatchNorm1D,
    Conv1D,
    Dense,
    Embedding,
    Flatten,
    LayerNorm,
    TimeDistributed,
)
from rnnkit.nn.ln_cells import LNGRUCell, LNLSTMCell, LNSimpleRNNCell
from rnnkit.nn.recurrent import Recurrent
from rnnkit.nn.rnn import GRU, LNGRU, LNLSTM, LSTM, LNSimpleRNN, SimpleRNN

__all__ = [
    "GRU",
    "LNGRU",
    "LNLSTM",
    "LSTM",
    "BatchNorm1D",
    "Bidirectional",
    "Cell",
    "Conv1D",
    "Dense",
    "Embedding",
    "Flatten",
    "GRUCell",
    "LNGRUCell",
    "LNLSTMCell",
    "LNSimpleRNN",
    "LNSimpleRNNCell",
    "LSTMCell",
    "LSTMState",
    "LayerNorm",
    "Recurrent",
    "SimpleRNN",
    "SimpleRNNCell",
    "TimeDistributed",
    "config",
    "from_config",
    "from_ref",
    "from_torch",
    "get_config",
    "keras_to_torch",
    "load_book_lstm",
    "load_keras",
    "load_ref",
    "register",
    "to_config",
    "to_ref",
    "to_torch",
]
