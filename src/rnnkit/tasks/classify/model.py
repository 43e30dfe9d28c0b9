"""Many-to-one classifier network: [Embedding | ConvFrontEnd ->] recurrent layer(s) -> pooling
-> dropout -> Linear; and ``EnsembleNet``, k such networks whose probabilities are averaged.

``logits = model(x, lengths=None)``: x (B, T, D) float, or (B, T) int64 token ids when the
model has an embedding; lengths (B,) for padded batches.

``model`` names: ``"rnn"`` (SimpleRNN, tanh), ``"lstm"``, ``"gru"``, ``"bilstm"``,
``"bigru"``, the hand-written cells ``"my-lstm"`` / ``"my-gru"``
(:mod:`rnnkit.tasks.classify.cells`) run by :class:`rnnkit.nn.recurrent.Recurrent`, and
``"conv-gru"`` / ``"conv-bigru"`` / ``"conv-lstm"``: a :class:`ConvFrontEnd` of
``conv_blocks`` Conv1D + max-pool blocks (``conv_channels`` channels, kernel
``conv_kernel``, ``conv_norm`` "layer" / "batch" / "renorm" / "none"; "layer" here so that
models saved before the option load as they were) halving the length each, before the (bi)GRU
/ LSTM.

``"gru-fcn"`` / ``"lstm-fcn"`` (GRU-FCN / LSTM-FCN, Karim et al. 2017): the conv-gru /
conv-lstm network above as the recurrent branch, and IN PARALLEL on the input an
:class:`~rnnkit.tasks.classify.frontend.FCNBranch` (the FCN of Wang et al. 2017: three
Conv1D -> norm -> ReLU blocks of ``fcn_channels``, 2 ``fcn_channels``, ``fcn_channels``
filters, kernels 8, 5, 3, ``fcn_pool`` max-pool halvings, after the first block with
``fcn_pool_first`` or else split between the first two blocks, averaged over the valid
steps); the two vectors are concatenated before the dropout and the softmax layer
(``gru-fcn`` is :class:`~rnnkit.tasks.classify.SequenceClassifier`'s default)::

    r = pool_t(GRU(ConvFrontEnd(x)))        # (B, H)
    f = mean_t(FCN(x))                      # (B, fcn_channels)
    logits = W [r ; f] + b                  # (B, num_classes)

(the original LSTM-FCN feeds the whole series to its LSTM as one step of T features, its
"dimension shuffle"; here the recurrent branch reads the series in time order, shortened by
the front end). ``branch_heads=True`` (what :class:`~rnnkit.tasks.classify.SequenceClassifier`
builds since 2026-12-05) adds a softmax layer on each branch's vector alone, W_r r + b_r and
W_f f + b_f, beside the joint one; in training the network returns the three heads' logits
(B, 3, C), each head trained on its own cross-entropy, and in evaluation the mixture of the two
branch heads' probabilities as log-probabilities (B, C); the joint head is trained but does not
vote (:mod:`rnnkit.tasks.classify.heads`, with the measurements). Through the joint layer alone
the network did worse than one of its branches: on OSULeaf cut to two training series a class
the FCN branch alone (the GRU's vector zeroed) scored 0.824 where the concatenation scored
0.504, while on PickupGestureWiimoteZ's cut the FCN branch alone scored 0.350 against 0.620.
Tried and dropped (2026-12-05 20:26-20:45 UTC, one thread, a scratch patch, two runs side by
side): dropout on the recurrent branch's vector r before its heads, as LSTM-FCN puts it after
its LSTM (rate 0.8 there). At 0.8 the development sets held (seeds 0-3: 0.911 against 0.910;
ACSF1 0.893 against 0.920, OSULeaf 0.965 against 0.951, PickupGestureWiimoteZ 0.875 against
0.860) and so did their cuts to two series a class (0.664 against 0.662), but the generated
few-shot sets lost (seeds 0 and 1: Bumps12 0.813 against 0.871, Bumps40 0.733 against 0.889,
Bumps60 0.829 against 0.926, Pulses40 0.796 against 0.837); at 0.5 the development sets lost
(0.901).

``pooling`` turns the recurrent outputs into one vector per sequence: ``"last"`` (the last
VALID step; a bidirectional layer's backward half has read the whole valid sequence),
``"mean"``, ``"max"`` or ``"attention"`` over the valid steps
(:class:`~rnnkit.tasks.classify.pooling.TimePooling`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch import Tensor, nn

from rnnkit.nn import GRU, LSTM, Dense, Embedding, Recurrent, SimpleRNN
from rnnkit.nn.config import from_config, register, to_config
from rnnkit.tasks.classify.augment import RandomCrop
from rnnkit.tasks.classify.cells import MyGRUCell, MyLSTMCell
from rnnkit.tasks.classify.frontend import ConvFrontEnd, FCNBranch
from rnnkit.tasks.classify.heads import combine, heads_log_proba
from rnnkit.tasks.classify.pooling import POOLINGS, TimePooling
from rnnkit.tasks.classify.series_stats import StatisticsDropout

MODELS = ("rnn", "lstm", "gru", "bilstm", "bigru", "my-lstm", "my-gru", "conv-gru",
          "conv-bigru", "conv-lstm", "gru-fcn", "lstm-fcn")


def has_fcn_branch(model: str) -> bool:
    """Whether a ``model`` name has a :class:`FCNBranch` beside its recurrent one (*-fcn)."""
    return model.endswith("-fcn")


def has_frontend(model: str) -> bool:
    """Whether a ``model`` name reads the series through a :class:`ConvFrontEnd` (conv-*
    and the *-fcn models, which are numeric-only)."""
    return model.startswith("conv-") or has_fcn_branch(model)


def recurrent_layer(model: str, input_size: int, hidden_size: int, num_layers: int = 1,
                    dropout: float = 0.0, return_sequences: bool = False) -> Recurrent:
    """The recurrent part for a ``model`` name: the last valid step (B, Dir*H), or every
    step (B, T, Dir*H) with ``return_sequences``."""
    drop = dropout if num_layers > 1 else 0.0
    name = model.removeprefix("conv-").removesuffix("-fcn")
    named = {"rnn": SimpleRNN, "lstm": LSTM, "gru": GRU, "bilstm": LSTM, "bigru": GRU}
    if model in MODELS and name in named:
        return named[name](input_size, hidden_size, num_layers,
                           bidirectional=name.startswith("bi"), dropout=drop,
                           return_sequences=return_sequences)
    if model in ("my-lstm", "my-gru"):
        Cell = MyLSTMCell if model == "my-lstm" else MyGRUCell
        cells = [Cell(input_size if l == 0 else hidden_size, hidden_size)
                 for l in range(num_layers)]
        return Recurrent(cells, dropout=drop, return_sequences=return_sequences)
    raise ValueError(f"model must be one of {MODELS}, got {model!r}")


@register
class RNNClassifier(nn.Module):
    """See the module doc. ``num_classes`` logits; ``vocab_size`` adds an Embedding;
    ``conv_blocks`` (conv-* and *-fcn models) sets the front end's depth; ``fcn_channels``,
    ``fcn_pool`` and ``fcn_pool_first`` (*-fcn models only) the FCN branch's width and
    max-pools (:class:`~rnnkit.tasks.classify.frontend.FCNBranch`).
    ``first_features=True``: x (B, T, D') may carry more than ``input_size`` features, and
    the network reads ``x[..., :input_size]`` (an ensemble member that leaves the series
    statistics of ``normalize="auto"`` to the other members). ``statistics=(k, p)``: the
    last k input channels are a series' statistics, hidden from training batches' series
    with probability p (:class:`~rnnkit.tasks.classify.series_stats.StatisticsDropout`).
    ``crop=r`` < 1: each training sequence is read through a random window of ceil(r L)
    steps (:class:`~rnnkit.tasks.classify.augment.RandomCrop`; a model that pools over
    time)."""

    def __init__(self, input_size: int | None, num_classes: int, model: str = "lstm",
                 hidden_size: int = 128, num_layers: int = 1, dropout: float = 0.0,
                 vocab_size: int | None = None, embed_size: int = 100, pad_id: int = 0,
                 pooling: str = "last", conv_blocks: int = 0, conv_channels: int = 64,
                 conv_kernel: int = 7, conv_norm: str = "layer", fcn_channels: int = 64,
                 fcn_pool: int = 0, fcn_pool_first: bool = False,
                 first_features: bool = False, branch_heads: bool = False,
                 statistics: tuple[int, float] | list | None = None, crop: float = 1.0):
        super().__init__()
        for name, v in (("num_classes", num_classes), ("hidden_size", hidden_size),
                        ("num_layers", num_layers)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive int, got {v!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        conv, fcn = has_frontend(model), has_fcn_branch(model)
        if conv and (isinstance(conv_blocks, bool) or not isinstance(conv_blocks, int)
                     or conv_blocks < 1):
            raise ValueError(f"conv_blocks must be a positive int for model {model!r}, "
                             f"got {conv_blocks!r}")
        self.config = {"input_size": input_size, "num_classes": num_classes, "model": model,
                       "hidden_size": hidden_size, "num_layers": num_layers,
                       "dropout": dropout, "vocab_size": vocab_size, "embed_size": embed_size,
                       "pad_id": pad_id, "pooling": pooling,
                       "conv_blocks": conv_blocks if conv else 0,
                       "conv_channels": conv_channels, "conv_kernel": conv_kernel,
                       "conv_norm": conv_norm}
        if fcn:  # only then, so the configs of the other models stay as they were
            self.config.update(fcn_channels=fcn_channels, fcn_pool=fcn_pool)
            if fcn_pool_first:  # only then, as first_features below
                self.config.update(fcn_pool_first=True)
        if branch_heads:  # the same
            if not fcn:
                raise ValueError(f"branch_heads is for the *-fcn models, got {model!r}")
            self.config.update(branch_heads=True)
        if first_features:  # the same
            if vocab_size is not None:
                raise ValueError("first_features is for numeric inputs, not token ids")
            self.config.update(first_features=True)
        self.stats_dropout = None
        if statistics is not None:  # the same
            if first_features:
                raise ValueError("statistics is for a network that reads them, not with "
                                 "first_features")
            self.stats_dropout = StatisticsDropout(*statistics)
            self.config.update(statistics=list(statistics))
        self.crop = None
        if crop != 1.0:  # the same
            if pooling == "last":
                raise ValueError("crop is for a model that pools over time, not with "
                                 "pooling='last'")
            self.crop = RandomCrop(crop)
            self.config.update(crop=crop)
        self.first_features = input_size if first_features else None
        self.embedding = None
        if vocab_size is not None:
            self.embedding = Embedding(vocab_size, embed_size, padding_idx=pad_id)
            input_size = embed_size
        if input_size is None:
            raise ValueError("input_size must be given when vocab_size is None")
        self.fcn = (FCNBranch(input_size, fcn_channels, fcn_pool, conv_norm, fcn_pool_first)
                    if fcn else None)
        self.frontend = None
        if conv:
            self.frontend = ConvFrontEnd(input_size, conv_channels, conv_blocks, conv_kernel,
                                         conv_norm)
            input_size = self.frontend.output_size
        self.rnn = recurrent_layer(model, input_size, hidden_size, num_layers, dropout,
                                   return_sequences=pooling != "last")
        self.pool = None if pooling == "last" else TimePooling(self.rnn.output_size, pooling)
        self.drop = nn.Dropout(dropout)
        features = self.rnn.output_size + (0 if self.fcn is None else self.fcn.output_size)
        self.head = Dense(features, num_classes)
        self.branch_heads = None
        if branch_heads:  # on the recurrent vector r and on the FCN vector f
            self.branch_heads = nn.ModuleList([Dense(self.rnn.output_size, num_classes),
                                               Dense(self.fcn.output_size, num_classes)])

    def get_config(self) -> dict[str, Any]:
        return dict(self.config)

    def head_parameters(self) -> Iterator[nn.Parameter]:
        """The softmax layers' parameters: the joint head's, then the branch heads'."""
        yield from self.head.parameters()
        if self.branch_heads is not None:
            yield from self.branch_heads.parameters()

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        if self.crop is not None:
            x, lengths = self.crop(x, lengths)  # training: (B, T', D), a window of each
        if self.first_features is not None:
            x = x[..., :self.first_features]  # (B, T, input_size)
        if self.stats_dropout is not None:
            x = self.stats_dropout(x)
        if self.embedding is not None:
            x = self.drop(self.embedding(x))  # (B, T) -> (B, T, E)
        f = None if self.fcn is None else self.fcn(x, lengths)  # (B, F) on the input
        if self.frontend is not None:
            x, lengths = self.frontend(x, lengths)  # (B, T', C)
        out = self.rnn(x, lengths=lengths)  # (B, Dir*H) last valid step, or (B, T', Dir*H)
        if self.pool is not None:
            out = self.pool(out, lengths)  # (B, Dir*H)
        if f is None:
            return self.head(self.drop(out))  # (B, C)
        joint = self.head(self.drop(torch.cat([out, f], dim=-1)))  # (B, C) from (B, Dir*H + F)
        if self.branch_heads is None:
            return joint
        logits = torch.stack([joint, self.branch_heads[0](self.drop(out)),
                              self.branch_heads[1](self.drop(f))], dim=1)  # (B, 3, C)
        return logits if self.training else heads_log_proba(logits)  # (B, 3, C) or (B, C)


@register
class EnsembleNet(nn.Module):
    """k member networks trained apart (seeds ``seed``, ``seed + 1``, ...), combined by the
    normalised geometric mean of their probabilities::

        output = log_softmax(mean_i log_softmax(member_i(x)))     so
        softmax(output)_c = prod_i p_ic^(1/k) / sum_c' prod_i p_ic'^(1/k)

    and ``argmax`` is the ensemble's vote. A member sure of a class outweighs unsure ones
    (the arithmetic mean lets them outvote it), which is what members that read different
    inputs need (``normalize="auto"``: on PickupGestureWiimoteZ, seeds 0-3, three members
    scored 0.810 with this mean against 0.770 with the arithmetic one; see
    :mod:`rnnkit.tasks.classify.task`).

    Shapes: x as the members read it -> (B, C) log-probabilities.
    """

    def __init__(self, members: list[nn.Module]) -> None:
        super().__init__()
        if not members:
            raise ValueError("members must hold at least one network, got none")
        self.members = nn.ModuleList(members)

    def get_config(self) -> dict[str, Any]:
        return {"members": [to_config(m) for m in self.members]}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> EnsembleNet:
        return cls([from_config(m) for m in config["members"]])

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        return combine(torch.stack([m(x, lengths=lengths) for m in self.members]), dim=0)


__all__ = ["MODELS", "EnsembleNet", "RNNClassifier", "has_fcn_branch", "has_frontend",
           "recurrent_layer"]
