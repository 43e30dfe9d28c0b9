"""Forecasting models, each built by name from rnnkit.nn layers inside ``rnnkit.train.Sequential``
(so every one saves and loads as JSON config + safetensors weights).

Input ``x (B, L, D)``; the output depends on ``seq2seq``:

    seq2seq=False  ->  (B, O)       O = output_size (1 for the recursive strategy, H for direct)
    seq2seq=True   ->  (B, T', O)   at every output step the next O values (T' = L, except
                                    conv_gru: T' = (L - 4) // 2 + 1, see :func:`output_steps`)

===================  ===========================================================================
name                 layers (h = ``hidden``; Keras initialisation: glorot-uniform input/dense
                     weights, orthogonal recurrent weights, zero biases)
===================  ===========================================================================
naive                the last value repeated: Flatten -> Dense with fixed 0/1 weights (untrained)
drift                the last value plus k times the window's mean step, k = 1..H (the random walk
                     with drift over the input window): fixed Dense (untrained)
seasonal_naive       y_k = x[L - m + (k mod m)] (m = ``season``): fixed Dense (untrained)
linear               Flatten -> Dense(O); seq2seq: causal Conv1D(O, kernel L)
simple_rnn1          SimpleRNN(O) alone (the book's ``SimpleRNN(1)``)
simple_rnn           SimpleRNN(h) -> Dense(O)
deep_rnn             SimpleRNN(h, seq) -> SimpleRNN(h, seq) -> SimpleRNN(O)
deep_rnn_dense       SimpleRNN(h, seq) -> SimpleRNN(h) -> Dense(O)
lstm, gru, ln_rnn    LSTM / GRU / LNSimpleRNN(h) x ``layers`` -> Dense(O)
conv_gru             Conv1D(h, k=4, s=2, valid) -> GRU(h, seq) -> GRU(h) -> Dense(O)
wavenet              causal Conv1D(h, k=2, relu), dilations 1,2,4,8 x2 -> Conv1D(O, k=1);
                     vector output: the head Conv1D(O, k=L) reads the whole last stack output
===================  ===========================================================================

``id_embedding=k`` (with ``n_series``) puts a :class:`SeriesEmbedding` first: the input's
last column holds each window's series index, which the layer replaces with that series'
learned k-vector at every step (an index of -1, a series not seen in training, takes the
mean of the learned vectors), so the layers after it read ``D - 1 + k`` features.

In seq2seq mode the last recurrent layer returns sequences and the Dense head is wrapped in
``TimeDistributed`` (the book's ``TimeDistributed(Dense(10))``). ``dropout > 0`` sets
``input_dropout`` and ``recurrent_dropout`` of every recurrent layer; with
``mc_dropout=True`` it stays on at inference (MC-dropout intervals).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from rnnkit.errors import ConfigError
from rnnkit.nn.config import register

__all__ = ["BASELINES", "MODELS", "SeriesEmbedding", "build_model", "output_steps"]

#: Models with fixed weights: built, never trained.
BASELINES = ("naive", "drift", "seasonal_naive")


def _nn():
    import rnnkit.nn as nn  # imported late: the layers register themselves on import

    return nn


def _rnn_kwargs(dropout: float, mc_dropout: bool) -> dict:
    if dropout:
        return {"input_dropout": dropout, "recurrent_dropout": dropout,
                "mc_dropout": mc_dropout}
    return {}


def _set_weights(dense: torch.nn.Module, terms: list[dict[int, float]]) -> None:
    """Make ``dense`` (weight ``(O, D_in)``) output ``sum_j w * x[j]`` over ``terms[k]``
    (``{j: w}``) at output k: fixed weights, zero bias, frozen."""
    with torch.no_grad():
        dense.weight.zero_()
        for k, term in enumerate(terms):
            for j, w in term.items():
                dense.weight[k, j] = w
        if dense.bias is not None:
            dense.bias.zero_()
    for p in dense.parameters():
        p.requires_grad_(False)


def _baseline(name: str, L: int, D: int, O: int, seq2seq: bool, season: int,
              target_col: int) -> list:
    nn = _nn()
    col = target_col % D
    if name == "naive" and seq2seq:
        dense = nn.Dense(D, O)
        _set_weights(dense, [{col: 1.0}] * O)
        return [nn.TimeDistributed(dense)]
    if seq2seq:
        raise ConfigError(f"model {name!r} has no seq2seq form; use strategy 'direct' or "
                          f"'recursive'")
    first, last = col, (L - 1) * D + col  # Flatten order: (t, d) -> t*D + d
    if name == "naive":
        terms = [{last: 1.0}] * O
    elif name == "drift":  # x_L + k (x_L - x_1) / (L - 1)
        if L < 2:
            raise ConfigError(f"drift needs input_len >= 2, got {L}")
        terms = [{last: 1.0 + k / (L - 1), first: -k / (L - 1)} for k in range(1, O + 1)]
    else:
        if season > L:
            raise ConfigError(f"seasonal_naive needs input_len >= season, got input_len={L} "
                              f"and season={season}")
        terms = [{(L - season + k % season) * D + col: 1.0} for k in range(O)]
    dense = nn.Dense(L * D, O)
    _set_weights(dense, terms)
    return [nn.Flatten(), dense]


def _head(O: int, h: int, seq2seq: bool) -> list:
    nn = _nn()
    return [nn.TimeDistributed(nn.Dense(h, O))] if seq2seq else [nn.Dense(h, O)]


def _stack(cls_name: str, D: int, h: int, layers: int, seq2seq: bool, kw: dict) -> list:
    cls = getattr(_nn(), cls_name)
    out = []
    for i in range(layers):
        last = i == layers - 1
        out.append(cls(D if i == 0 else h, h, return_sequences=seq2seq or not last, **kw))
    return out


def build_model(name: str, input_len: int, output_size: int, *, in_features: int = 1,
                seq2seq: bool = False, hidden: int = 32, layers: int = 1,
                dropout: float = 0.0, mc_dropout: bool = False, season: int = 12,
                target_col: int = 0, n_series: int = 0, id_embedding: int = 0):
    """Build model ``name`` (see the module table) as a ``rnnkit.train.Sequential``.

    Args:
        name: one of :data:`MODELS`.
        input_len: L, input steps. output_size: O, values per forecast step (1 or H).
        in_features: D, input columns (default 1). seq2seq: output at every step.
        hidden: h, units per hidden layer (default 32). layers: recurrent layers for
            lstm/gru/ln_rnn (default 1). dropout: input and recurrent dropout rate of the
            recurrent layers (default 0). mc_dropout: keep dropout on at inference.
        season: m of seasonal_naive (default 12). target_col: the forecast column of x.
        n_series, id_embedding: with ``id_embedding`` k > 0, a :class:`SeriesEmbedding` of
            ``n_series`` learned k-vectors first (the last of the D input columns is the
            series index; trained models only).
    """
    from rnnkit.train import Sequential

    if name not in MODELS:
        raise ConfigError(f"model must be one of {sorted(MODELS)}, got {name!r}")
    for arg, value in (("input_len", input_len), ("output_size", output_size),
                       ("in_features", in_features), ("hidden", hidden), ("layers", layers)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ConfigError(f"{arg} must be a positive int, got {value!r}")
    if not 0.0 <= dropout < 1.0:
        raise ConfigError(f"dropout must be in [0, 1), got {dropout!r}")
    L, D, O, h = int(input_len), int(in_features), int(output_size), int(hidden)
    if name in BASELINES:
        return Sequential(_baseline(name, L, D, O, seq2seq, season, target_col))
    kw = _rnn_kwargs(dropout, mc_dropout)
    if not id_embedding:
        return Sequential(MODELS[name](L, D, O, h, int(layers), seq2seq, kw))
    first = SeriesEmbedding(int(n_series), int(id_embedding), D)
    return Sequential([first, *MODELS[name](L, first.out_features, O, h, int(layers),
                                            seq2seq, kw)])


@register
class SeriesEmbedding(torch.nn.Module):
    """``x (B, T, D)`` whose last column is a series index ``i`` -> ``(B, T, D - 1 + k)``:
    the first D - 1 columns, then ``E[i]``, a learned k-vector per series (Keras'
    uniform(-0.05, 0.05) start). ``i = -1`` (a series not seen in training) takes the mean
    of the rows of E."""

    def __init__(self, num_series: int, dim: int, in_features: int) -> None:
        super().__init__()
        for arg, value in (("num_series", num_series), ("dim", dim),
                           ("in_features", in_features)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{arg} must be a positive int, got {value!r}")
        self.num_series, self.dim, self.in_features = num_series, dim, in_features
        self.out_features = in_features - 1 + dim
        self.weight = torch.nn.Parameter(torch.empty(num_series, dim))  # (S, k)
        torch.nn.init.uniform_(self.weight, -0.05, 0.05)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        idx = x[..., -1].round().long()  # (B, T)
        table = torch.cat([self.weight, self.weight.mean(0, keepdim=True)])  # (S + 1, k)
        rows = torch.where(idx < 0, self.num_series, idx).clamp(max=self.num_series)
        return torch.cat([x[..., :-1], table[rows].to(x.dtype)], dim=-1)  # (B, T, D - 1 + k)

    def get_config(self) -> dict:
        return {"num_series": self.num_series, "dim": self.dim,
                "in_features": self.in_features}


def _linear(L, D, O, h, layers, seq2seq, kw):
    nn = _nn()
    if seq2seq:
        return [nn.Conv1D(D, O, kernel_size=L, padding="causal")]
    return [nn.Flatten(), nn.Dense(L * D, O)]


def _simple_rnn1(L, D, O, h, layers, seq2seq, kw):
    return [_nn().SimpleRNN(D, O, return_sequences=seq2seq, **kw)]


def _simple_rnn(L, D, O, h, layers, seq2seq, kw):
    return _stack("SimpleRNN", D, h, layers, seq2seq, kw) + _head(O, h, seq2seq)


def _deep_rnn(L, D, O, h, layers, seq2seq, kw):
    nn = _nn()
    return [nn.SimpleRNN(D, h, return_sequences=True, **kw),
            nn.SimpleRNN(h, h, return_sequences=True, **kw),
            nn.SimpleRNN(h, O, return_sequences=seq2seq, **kw)]


def _deep_rnn_dense(L, D, O, h, layers, seq2seq, kw):
    return _stack("SimpleRNN", D, h, max(layers, 2), seq2seq, kw) + _head(O, h, seq2seq)


def _named(cls_name: str) -> Callable:
    def build(L, D, O, h, layers, seq2seq, kw):
        return _stack(cls_name, D, h, layers, seq2seq, kw) + _head(O, h, seq2seq)

    return build


def _conv_gru(L, D, O, h, layers, seq2seq, kw):
    nn = _nn()
    if L < 4:
        raise ConfigError(f"conv_gru needs input_len >= 4 (kernel 4), got {L}")
    return [nn.Conv1D(D, h, kernel_size=4, stride=2, padding="valid"),
            *_stack("GRU", h, h, max(layers, 2), seq2seq, kw), *_head(O, h, seq2seq)]


def _wavenet(L, D, O, h, layers, seq2seq, kw):
    nn = _nn()
    convs = []
    for i, rate in enumerate((1, 2, 4, 8) * 2):
        convs.append(nn.Conv1D(D if i == 0 else h, h, kernel_size=2, dilation=rate,
                               padding="causal", activation="relu"))
    if seq2seq:
        return [*convs, nn.Conv1D(h, O, kernel_size=1)]
    return [*convs, nn.Conv1D(h, O, kernel_size=L), nn.Flatten()]  # (B, 1, O) -> (B, O)


MODELS: dict[str, Callable | None] = {
    "naive": None, "drift": None, "seasonal_naive": None, "linear": _linear,
    "simple_rnn1": _simple_rnn1, "simple_rnn": _simple_rnn, "deep_rnn": _deep_rnn,
    "deep_rnn_dense": _deep_rnn_dense, "lstm": _named("LSTM"), "gru": _named("GRU"),
    "ln_rnn": _named("LNSimpleRNN"), "conv_gru": _conv_gru, "wavenet": _wavenet,
}


def output_steps(name: str, input_len: int) -> np.ndarray:
    """Input steps ``t`` whose next-H targets the seq2seq output of ``name`` predicts.

    ``arange(L)`` for every model but conv_gru, whose k=4, s=2 valid convolution sees
    steps ``3, 5, 7, ...`` (the book trains it on ``Y[:, 3::2]``).
    """
    if name == "conv_gru":
        return np.arange(3, input_len, 2)
    return np.arange(input_len)
