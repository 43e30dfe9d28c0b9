"""rnnkit.ref: the NumPy reference engine (explicit forward, hand-derived backward, BPTT).

NumPy only: importing it never imports torch. Every layer has ``params``/``grads`` lists,
``forward`` and ``backward`` (returns the input gradient, overwrites ``grads`` in place, Deep
Learning from Scratch 2 style). Shapes are batch-first: xs (B, T, D) -> hs (B, T, H).

Recurrent weights use torch.nn's layout and gate order (LSTM i, f, g, o; GRU r, z, n with
PyTorch's n = tanh(W_in x + b_in + r * (W_hn h + b_hn))), so they copy across unchanged;
:mod:`rnnkit.ref.convert` maps the book's LSTM packing (Wx, Wh, b; gates f, g, i, o).
float32 by default, float64 on request (``dtype="float64"``) for gradient checks.

Modules: ``functional`` (stable sigmoid, softmax, log-softmax), ``layers`` (Linear, Embedding,
Dropout, activations, TimeLinear, TimeEmbedding), ``cells`` (one step), ``time_rnn`` /
``time_lstm`` / ``time_gru`` (BPTT over T steps, plain and layer-normalised), ``bidirectional``,
``losses``, ``optim``, ``container`` (Sequential), ``gradcheck``, ``convert``, ``batching``
(truncated-BPTT windows), ``models`` (RnnLM).
"""

from rnnkit.ref.batching import TBPTTBatches, tbptt_batches
from rnnkit.ref.bidirectional import TimeBidirectional
from rnnkit.ref.cells import GRUCell, LNGRUCell, LNLSTMCell, LNRNNCell, LSTMCell, RNNCell
from rnnkit.ref.container import Sequential
from rnnkit.ref.convert import lstm_from_dlfs2, lstm_to_dlfs2
from rnnkit.ref.functional import log_softmax, relu, sigmoid, softmax, tanh
from rnnkit.ref.gradcheck import gradcheck, numeric_grad
from rnnkit.ref.layernorm import LN_EPS
from rnnkit.ref.layers import (
    Dropout,
    Embedding,
    LastTimeStep,
    Linear,
    ReLU,
    Sigmoid,
    Tanh,
    TimeEmbedding,
    TimeLinear,
)
from rnnkit.ref.losses import MSELoss, SoftmaxCrossEntropy, TimeSoftmaxWithLoss
from rnnkit.ref.models import RnnLM
from rnnkit.ref.optim import SGD, Adam, Momentum, clip_grads
from rnnkit.ref.time_base import TimeRecurrent
from rnnkit.ref.time_gru import TimeGRU, TimeLNGRU
from rnnkit.ref.time_lstm import TimeLNLSTM, TimeLSTM
from rnnkit.ref.time_rnn import TimeLNRNN, TimeRNN

__all__ = [
    "LN_EPS",
    "SGD",
    "Adam",
    "Dropout",
    "Embedding",
    "GRUCell",
    "LNGRUCell",
    "LNLSTMCell",
    "LNRNNCell",
    "LSTMCell",
    "LastTimeStep",
    "Linear",
    "MSELoss",
    "Momentum",
    "RNNCell",
    "ReLU",
    "RnnLM",
    "Sequential",
    "Sigmoid",
    "SoftmaxCrossEntropy",
    "TBPTTBatches",
    "Tanh",
    "TimeBidirectional",
    "TimeEmbedding",
    "TimeGRU",
    "TimeLNGRU",
    "TimeLNLSTM",
    "TimeLNRNN",
    "TimeLSTM",
    "TimeLinear",
    "TimeRNN",
    "TimeRecurrent",
    "TimeSoftmaxWithLoss",
    "clip_grads",
    "gradcheck",
    "log_softmax",
    "lstm_from_dlfs2",
    "lstm_to_dlfs2",
    "numeric_grad",
    "relu",
    "sigmoid",
    "softmax",
    "tanh",
    "tbptt_batches",
]
