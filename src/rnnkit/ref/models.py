"""RnnLM: an LSTM language model on the reference engine (DLFS2's ``Rnnlm``, torch layout).

    ids (B, T) -> TimeEmbedding (V, E) -> TimeLSTM (E -> H, stateful) -> TimeLinear (H -> V)
               -> softmax cross-entropy against the next ids (B, T)

``RnnLM(vocab_size, embed_size=100, hidden_size=100, *, dtype="float32", seed=None)``.
``forward(xs, ts) -> loss`` (mean over B*T tokens; perplexity = exp(loss)), ``backward()``
writes ``grads``; ``params``/``grads`` are in the order embedding, LSTM (W_ih, W_hh, b_ih,
b_hh), output (W, b). The LSTM is stateful: call ``reset_state()`` at the start of each pass over
the corpus (truncated BPTT, see :mod:`rnnkit.ref.batching`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnkit.ref.container import Sequential
from rnnkit.ref.layers import TimeEmbedding, TimeLinear
from rnnkit.ref.losses import SoftmaxCrossEntropy
from rnnkit.ref.time_lstm import TimeLSTM


class RnnLM(Sequential):
    """Embedding -> LSTM -> Linear language model with a softmax cross-entropy loss.

    A :class:`~rnnkit.ref.container.Sequential` of its three layers (``params``, ``grads``,
    ``backward`` and ``reset_state`` come from there); ``loss_layer`` is its ``loss``.
    """

    def __init__(self, vocab_size: int, embed_size: int = 100, hidden_size: int = 100, *,
                 dtype: Any = "float32", seed: int | None = None) -> None:
        rng = np.random.default_rng(seed)
        s1, s2, s3 = (int(x) for x in rng.integers(0, 2**31, 3))
        self.embed = TimeEmbedding(vocab_size, embed_size, dtype=dtype, seed=s1)
        self.lstm = TimeLSTM(embed_size, hidden_size, stateful=True, dtype=dtype, seed=s2)
        self.out = TimeLinear(hidden_size, vocab_size, dtype=dtype, seed=s3)
        self.loss_layer = SoftmaxCrossEntropy()
        super().__init__(self.embed, self.lstm, self.out, loss=self.loss_layer)

    def predict(self, xs: Any) -> np.ndarray:
        """Scores (B, T, V) for ids xs (B, T) (advances the carried LSTM state)."""
        return super().forward(xs)

    def forward(self, xs: Any, ts: Any) -> float:
        """Mean cross-entropy of predicting ts (B, T) from xs (B, T)."""
        return self.loss_layer.forward(self.predict(xs), ts)

    __call__ = forward

    def backward(self, dout: float = 1.0) -> None:
        """Backpropagate the loss (d loss = ``dout``) into ``grads``."""
        super().backward(dout)
