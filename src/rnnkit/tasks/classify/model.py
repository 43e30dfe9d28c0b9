"""Many-to-one classifier network: [Embedding ->] recurrent layer(s) -> dropout -> Linear.

``logits = model(x, lengths=None)``: x (B, T, D) float, or (B, T) int64 token ids when the
model has an embedding; lengths (B,) for padded batches (the last VALID step of each sequence
is classified; a bidirectional layer's backward half has read the whole valid sequence).

``model`` names: ``"rnn"`` (SimpleRNN, tanh), ``"lstm"``, ``"gru"``, ``"bilstm"``,
``"bigru"``, and the hand-written cells ``"my-lstm"`` / ``"my-gru"``
(:mod:`rnnkit.tasks.classify.cells`) run by :class:`rnnkit.nn.recurrent.Recurrent`.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from rnnkit.nn import GRU, LSTM, Dense, Embedding, Recurrent, SimpleRNN
from rnnkit.nn.config import register
from rnnkit.tasks.classify.cells import MyGRUCell, MyLSTMCell

MODELS = ("rnn", "lstm", "gru", "bilstm", "bigru", "my-lstm", "my-gru")


def recurrent_layer(model: str, input_size: int, hidden_size: int, num_layers: int = 1,
                    dropout: float = 0.0) -> Recurrent:
    """The recurrent part for a ``model`` name; returns the last valid step (B, Dir*H)."""
    drop = dropout if num_layers > 1 else 0.0
    named = {"rnn": SimpleRNN, "lstm": LSTM, "gru": GRU, "bilstm": LSTM, "bigru": GRU}
    if model in named:
        return named[model](input_size, hidden_size, num_layers,
                            bidirectional=model.startswith("bi"), dropout=drop)
    if model in ("my-lstm", "my-gru"):
        Cell = MyLSTMCell if model == "my-lstm" else MyGRUCell
        cells = [Cell(input_size if l == 0 else hidden_size, hidden_size)
                 for l in range(num_layers)]
        return Recurrent(cells, dropout=drop)
    raise ValueError(f"model must be one of {MODELS}, got {model!r}")


@register
class RNNClassifier(nn.Module):
    """See the module doc. ``num_classes`` logits; ``vocab_size`` adds an Embedding."""

    def __init__(self, input_size: int | None, num_classes: int, model: str = "lstm",
                 hidden_size: int = 128, num_layers: int = 1, dropout: float = 0.0,
                 vocab_size: int | None = None, embed_size: int = 100, pad_id: int = 0):
        super().__init__()
        for name, v in (("num_classes", num_classes), ("hidden_size", hidden_size),
                        ("num_layers", num_layers)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive int, got {v!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        self.config = {"input_size": input_size, "num_classes": num_classes, "model": model,
                       "hidden_size": hidden_size, "num_layers": num_layers,
                       "dropout": dropout, "vocab_size": vocab_size, "embed_size": embed_size,
                       "pad_id": pad_id}
        self.embedding = None
        if vocab_size is not None:
            self.embedding = Embedding(vocab_size, embed_size, padding_idx=pad_id)
            input_size = embed_size
        if input_size is None:
            raise ValueError("input_size must be given when vocab_size is None")
        self.rnn = recurrent_layer(model, input_size, hidden_size, num_layers, dropout)
        self.drop = nn.Dropout(dropout)
        self.head = Dense(self.rnn.output_size, num_classes)

    def get_config(self) -> dict[str, Any]:
        return dict(self.config)

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        if self.embedding is not None:
            x = self.drop(self.embedding(x))  # (B, T) -> (B, T, E)
        last = self.rnn(x, lengths=lengths)  # (B, Dir*H), the last valid step
        return self.head(self.drop(last))  # (B, C)


__all__ = ["MODELS", "RNNClassifier", "recurrent_layer"]
