r"""Recurrent language model: Embedding -> LSTM (or GRU) x L -> [Linear H->E] -> Linear -> V.

``logits, state = model(x (B, T), state=None)``: logits (B, T, V) score the next token at
every step (synchronised many-to-many); ``state`` is the final (h, c) of every layer,
(L, B, H) each, to pass back in with the next chunk of the same streams (truncated BPTT:
the :class:`~rnnkit.train.Trainer` with ``carry_state=True`` detaches it between chunks).

Options: ``dropout`` on the embeddings, between layers and before the output layer
(Zaremba et al. 2014); ``tie_weights`` shares the output matrix with the embedding
(Press & Wolf 2017, Inan et al. 2017) -- with H != E an extra Linear H -> E comes first.
The tied matrix is one tensor: saved once (``safetensors.torch.save_model``), shared again
after loading. The class is registered (:func:`rnnkit.nn.config.register`), so
:func:`rnnkit.train.saving.save_model` saves it and ``load_model`` rebuilds it.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from rnnkit.nn import GRU, LSTM, Dense, Embedding
from rnnkit.nn.config import register

CELLS = {"lstm": LSTM, "gru": GRU}


@register
class RNNLanguageModel(nn.Module):
    """See the module doc."""

    def __init__(self, vocab_size: int, embed_size: int = 128, hidden_size: int = 256,
                 num_layers: int = 2, dropout: float = 0.0, tie_weights: bool = False,
                 cell: str = "lstm", init: str = "torch"):
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {tuple(CELLS)}, got {cell!r}")
        for name, v in (("vocab_size", vocab_size), ("embed_size", embed_size),
                        ("hidden_size", hidden_size), ("num_layers", num_layers)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive int, got {v!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        self.config = {"vocab_size": vocab_size, "embed_size": embed_size,
                       "hidden_size": hidden_size, "num_layers": num_layers,
                       "dropout": dropout, "tie_weights": tie_weights, "cell": cell,
                       "init": init}
        self.embed = Embedding(vocab_size, embed_size)
        self.rnn = CELLS[cell](embed_size, hidden_size, num_layers, return_sequences=True,
                               return_state=True, dropout=dropout if num_layers > 1 else 0.0,
                               init=init)
        self.drop = nn.Dropout(dropout)
        self.bottleneck = None
        out_in = hidden_size
        if tie_weights and hidden_size != embed_size:
            self.bottleneck = Dense(hidden_size, embed_size)
            out_in = embed_size
        self.out = Dense(out_in, vocab_size)
        if tie_weights:
            self.out.weight = self.embed.weight  # (V, E) shared

    def get_config(self) -> dict[str, Any]:
        return dict(self.config)

    def forward(self, x: Tensor, state: Any = None) -> tuple[Tensor, Any]:
        e = self.drop(self.embed(x))  # (B, T) -> (B, T, E)
        h, state = self.rnn(e, state=state)  # (B, T, H)
        h = self.drop(h)
        if self.bottleneck is not None:
            h = self.bottleneck(h)  # (B, T, E)
        return self.out(h), state  # (B, T, V)


__all__ = ["CELLS", "RNNLanguageModel"]
