r"""Export a trained model to ONNX: one file with the network and the arithmetic around it.

    from rnnkit.export import export_onnx
    from rnnkit.tasks import load_estimator
    export_onnx(load_estimator("out/forecast/model"), "forecast.onnx")
    export_onnx(model, "net.onnx")          # a bare rnnkit.nn model or Sequential

The command line: ``rnnkit export --model DIR --format onnx --out FILE``.

What the graph takes and returns (B: any batch size; T: steps, any number where the network
allows it, else the example's ``seq_len``, see below):

===================  ==========================================  ==========================
model                inputs                                      outputs
===================  ==========================================  ==========================
forecaster           ``x`` (B, input_len, D) float64: the raw     ``forecast`` (B, horizon)
                     last input_len values of each series         float64, original units
sequence-classifier  ``x`` (B, T, D) float32 raw values,          ``probabilities`` (B, C)
                     ``lengths`` (B,) int64 (rows right-padded)
text-classifier      ``ids`` (B, T) int64 token ids, ``lengths``  ``probabilities`` (B, C)
                     (B,) int64 (rows right-padded with pad_id)
language-model       ``ids`` (B, T) int64, ``h0`` (L, B, H)       ``logits`` (B, T, V),
                     float32 (LSTM: and ``c0``)                   ``h`` (and ``c``)
bare network         ``x`` (B, T, D) (``ids`` (B, T) int64 if     ``output`` (and the state,
                     it starts with an Embedding)                 ``h``, ``c``)
===================  ==========================================  ==========================

In the graph, as :meth:`predict` does it: the forecaster's scaler (standard, log, minmax),
its level ("last": the window's last scaled value subtracted from the inputs and added to the
forecast), its strategy (recursive: the one-step model unrolled over the horizon, each
forecast fed back) and the inverse scaling; the sequence classifier's normalisation
("feature": the training mean and std; "series": each row over its own valid steps),
missing values (NaN) as 0, and the softmax. Not in the graph: tokenisation (not arithmetic).
A text classifier's or language model's graph takes token ids; its vocabulary and tokenizer
settings are in the metadata, so a client can reproduce :func:`rnnkit.data.text.tokenize`:

    lower-case the text if ``lower``; ``level`` "word": ``re.findall(pattern, text)``,
    "char": every character; map each token to its index in ``vocabulary`` (``unk_id`` if
    absent); text classifier: keep the first ``maxlen`` ids if set, an empty text is
    ``[unk_id]``; pad the rows of a batch with ``pad_id`` to the longest.

Metadata (``metadata_props``; every value a JSON text): ``rnnkit.format``
("rnnkit.onnx/1"), ``rnnkit.version``, ``rnnkit.task`` (a task name or "network"),
``rnnkit.inputs`` / ``rnnkit.outputs`` (name -> shape, "batch" / "time" for free axes, and
dtype), ``rnnkit.params`` (the estimator's parameters) and per task ``rnnkit.classes`` (class
labels in output order), ``rnnkit.vocabulary`` (tokens in id order), ``rnnkit.tokenizer``
(``level``, ``lower``, ``pattern``, ``maxlen``, ``pad_id``, ``unk_id``) and
``rnnkit.forecast`` (``input_len``, ``horizon``, ``n_features``, ``target_col``, ``strategy``,
``scaler``, ``level``).

Steps: LSTM and GRU layers export as ONNX LSTM / GRU nodes and read any T; with lengths each
layer and direction runs on its own over the padded batch (:mod:`rnnkit.nn.fused`).
Layer-normalised and user-defined cells export through the autograd loop, unrolled over T
steps, and SimpleRNN layers through torch.nn.RNN, whose steps torch's exporter fixes too: the
graph then takes exactly ``seq_len`` steps (its input shape and ``rnnkit.inputs`` say so).
Stateful layers export stateless (each call starts from zeros, or from the state inputs).
After writing, the file is run with onnxruntime (when installed) on a fresh batch of another
size (and length, where free) and compared with the model (the estimator's own predict for the
forecaster and the sequence classifier). Seq2seq models are not exported (beam search and
attention decoding are not one graph), nor forecasters with static covariates, an id
embedding or a scaler per series (a global model: their side inputs and scalers are not in
the graph's one input), nor a local forecaster (one model per series: export a series' own
folder).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

import rnnkit
from rnnkit.errors import ConfigError

__all__ = ["EXPORTABLE", "OnnxExport", "export_onnx"]

log = logging.getLogger(__name__)

#: What :func:`export_onnx` takes: these task estimators, or a bare network.
EXPORTABLE = ("forecaster", "sequence-classifier", "text-classifier", "language-model")
#: ONNX output vs model: largest |difference| allowed, relative to 1 + max |output|
CHECK_TOL = 1e-4


@dataclass
class _Plan:
    """What to export: the module, its named example inputs and a maker of fresh ones."""

    module: nn.Module
    make: Callable[[int, int], dict[str, Tensor]]  # (B, T) -> inputs, in order
    free: dict[str, dict[int, str]]  # input name -> {axis: "batch" | "time"}
    outputs: list[str]
    seq_len: int
    time_free: bool
    metadata: dict[str, Any] = field(default_factory=dict)
    #: the estimator's own answer for some inputs (its predict), when it takes arrays
    reference: Callable[[dict[str, Tensor]], list[np.ndarray]] | None = None


@dataclass
class OnnxExport:
    """What :func:`export_onnx` wrote."""

    path: Path
    task: str  # a task name, or "network"
    inputs: dict[str, dict[str, Any]]  # name -> {"shape": [...], "dtype": "float32"}
    outputs: dict[str, dict[str, Any]]
    #: max |ONNX - model| on a fresh batch, by onnxruntime; None when it is not installed
    max_difference: float | None


# ------------------------------------------------------------------------------ graphs
class _Outputs(nn.Module):
    """A network whose output is a tensor or ``(out, state)``, as a flat tuple of tensors."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: Tensor) -> tuple[Tensor, ...]:
        return tuple(_flatten(self.net(x)))


def _flatten(out: Any) -> list[Tensor]:
    if isinstance(out, Tensor):
        return [out]
    return [t for part in out for t in _flatten(part)]


class ForecasterGraph(nn.Module):
    """Raw values x (B, L, D) float64 -> forecasts (B, horizon) float64, as
    :meth:`rnnkit.tasks.forecast.Forecaster.predict` computes them."""

    def __init__(self, est: Any) -> None:
        super().__init__()
        scaler = est.scaler_
        if scaler.name not in ("standard", "log", "minmax", "none"):
            raise ConfigError(f"the forecaster's scaler {scaler.name!r} has no ONNX form here "
                              f"(standard, log, minmax and none have)")
        self.net = est.model_
        self.log = scaler.name == "log"
        self.register_buffer("shift", torch.as_tensor(scaler.shift_, dtype=torch.float64))
        self.register_buffer("scale", torch.as_tensor(scaler.scale_, dtype=torch.float64))
        self.col = est.target_col % est.n_features_
        self.level_last = est.level == "last"
        self.strategy = est.strategy
        self.horizon = est.horizon
        self.dtype = next(est.model_.parameters()).dtype

    def _predict(self, z: Tensor) -> Tensor:
        """Scaled window z (B, L, D) -> the network's output plus the level (scaled units)."""
        level = z[:, -1, self.col]  # (B,)
        inputs = z - z[:, -1:, :] if self.level_last else z  # (B, L, D)
        out = self.net(inputs)  # (B, O) or (B, T', O)
        if not self.level_last:
            return out
        return out + level.reshape((-1,) + (1,) * (out.dim() - 1))

    def forward(self, x: Tensor) -> Tensor:
        v = torch.log(x) if self.log else x
        z = ((v - self.shift) / self.scale).to(self.dtype)  # (B, L, D), scaled
        if self.strategy == "direct":
            out = self._predict(z).reshape(z.shape[0], -1)[:, : self.horizon]  # (B, H)
        elif self.strategy == "seq2seq":
            out = self._predict(z)[:, -1, : self.horizon]  # (B, H)
        else:  # recursive: one step at a time, fed back, the window sliding
            steps = []
            cur = z
            for _ in range(self.horizon):
                nxt = self._predict(cur).reshape(z.shape[0], -1)[:, :1]  # (B, 1)
                steps.append(nxt)
                cur = torch.cat([cur, nxt.unsqueeze(1)], dim=1)[:, 1:]  # (B, L, 1)
            out = torch.cat(steps, dim=1)  # (B, H)
        y = out.to(torch.float64) * self.scale[self.col] + self.shift[self.col]  # (B, H)
        return torch.exp(y) if self.log else y


class ClassifierGraph(nn.Module):
    """x (B, T, D) raw float32 (or ids (B, T)) and lengths (B,) -> class probabilities
    (B, C), as the classifiers' ``predict_proba`` computes them."""

    def __init__(self, est: Any, text: bool) -> None:
        super().__init__()
        self.net = est.model_
        self.text = text
        self.normalize = "none" if text else est.normalize_
        self.differences = not text and est.differences_
        if self.normalize == "feature":
            self.register_buffer("mean", torch.as_tensor(est.mean_, dtype=torch.float32))
            self.register_buffer("std", torch.as_tensor(est.std_, dtype=torch.float32))
        if self.normalize == "series+stats":
            self.register_buffer("stats_mu", torch.as_tensor(est.stats_mu_, dtype=torch.float32))
            self.register_buffer("stats_sigma",
                                 torch.as_tensor(est.stats_sigma_, dtype=torch.float32))

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        if not self.text:
            valid = (torch.arange(x.shape[1], device=x.device) < lengths.unsqueeze(1))
            valid = valid.unsqueeze(-1)  # (B, T, 1)
            if self.differences:  # x_t - x_{t-1}, missing at the first step: (B, T, 2D)
                first = torch.full_like(x[:, :1], float("nan"))
                x = torch.cat([x, torch.cat([first, x[:, 1:] - x[:, :-1]], dim=1)], dim=-1)
            if self.normalize == "feature":
                x = (x - self.mean) / self.std  # (B, T, D)
            elif self.normalize == "series":
                x = _series_norm(x, valid)
            elif self.normalize == "series+stats":
                x = self._with_stats(x, valid)
            x = torch.where(valid & ~torch.isnan(x), x, torch.zeros_like(x))  # NaN -> 0
        return torch.softmax(self.net(x, lengths=lengths), dim=-1)  # (B, C)

    def _with_stats(self, x: Tensor, valid: Tensor) -> Tensor:
        """"series+stats": x (B, T, D) z-normalised, then each row's standardised level and
        log scale (:mod:`rnnkit.tasks.classify.series_stats`) at every step: (B, T, 3D)."""
        from rnnkit.tasks.classify.series_stats import CLIP, EPS

        mean, std, n = _series_moments(x, valid)  # (B, 1, D) each
        stats = torch.cat([mean, torch.log(std + EPS)], dim=-1)  # (B, 1, 2D)
        z = torch.clamp((stats - self.stats_mu) / self.stats_sigma, -CLIP, CLIP)
        return torch.cat([_standardise(x, mean, std, n), z.expand(-1, x.shape[1], -1)], dim=-1)


def _series_moments(x: Tensor, valid: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Mean, standard deviation and count of each row and feature over its valid, non-NaN
    steps (0, 0, 0 where there is none); x (B, T, D), valid (B, T, 1) -> (B, 1, D) each."""
    m = valid & ~torch.isnan(x)  # (B, T, D)
    n = m.sum(dim=1, keepdim=True)  # (B, 1, D)
    count = torch.clamp(n, min=1).to(x.dtype)
    zero = torch.zeros_like(x)
    mean = torch.where(m, x, zero).sum(dim=1, keepdim=True) / count  # (B, 1, D)
    var = (torch.where(m, x - mean, zero) ** 2).sum(dim=1, keepdim=True) / count
    return mean, torch.sqrt(var), n


def _series_norm(x: Tensor, valid: Tensor) -> Tensor:
    """Each row and feature standardised over its valid, non-NaN steps (the classifiers'
    "series" normalisation); x (B, T, D), valid (B, T, 1)."""
    return _standardise(x, *_series_moments(x, valid))


def _standardise(x: Tensor, mean: Tensor, std: Tensor, n: Tensor) -> Tensor:
    """(x - mean) / std with the :func:`_series_moments` of x; a std of 0 (or no valid
    step) divides by 1."""
    std = torch.where((n > 0) & (std > 1e-8), std, torch.ones_like(std))
    return (x - mean) / std


class LanguageModelGraph(nn.Module):
    """ids (B, T), h0 (L, B, H) [, c0] -> logits (B, T, V), h [, c]."""

    def __init__(self, est: Any) -> None:
        super().__init__()
        self.net = est.model_
        self.lstm = est.model_.rnn.state_type is not None

    def forward(self, ids: Tensor, h0: Tensor, c0: Tensor | None = None) -> tuple[Tensor, ...]:
        from rnnkit.nn import LSTMState

        state = LSTMState(h0, c0) if self.lstm else h0
        logits, final = self.net(ids, state)
        return (logits, *_flatten(final))


# ------------------------------------------------------------------------------ plans
def _recurrents(model: nn.Module) -> list[Any]:
    from rnnkit.nn import Recurrent

    return [m for m in model.modules() if isinstance(m, Recurrent)]


def _time_free(model: nn.Module, lengths: bool) -> bool:
    return not any(r.unrolls_steps(lengths) for r in _recurrents(model))


def _generator(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _forecaster_plan(est: Any) -> _Plan:
    if est._uses_side() or est._shared_scaler() is None:
        raise ConfigError("ONNX export of a forecaster with static covariates, an id "
                          "embedding or a scaler per series is not supported (the graph "
                          "takes raw windows and one scaler only); use rnnkit predict or "
                          "Forecaster.predict")
    L, D = est.input_len, est.n_features_
    scaler = est.scaler_
    shift = torch.as_tensor(scaler.shift_, dtype=torch.float64)
    scale = torch.as_tensor(scaler.scale_, dtype=torch.float64)

    def make(B: int, T: int) -> dict[str, Tensor]:
        z = torch.randn(B, L, D, generator=_generator(B), dtype=torch.float64)
        v = z * scale + shift  # (B, L, D) in the scaler's range
        return {"x": torch.exp(v) if scaler.name == "log" else v}

    meta = {"rnnkit.forecast": {
        "input_len": L, "horizon": est.horizon, "n_features": D,
        "target_col": est.target_col, "strategy": est.strategy, "scaler": scaler.name,
        "level": est.level}}
    def reference(inputs: dict[str, Tensor]) -> list[np.ndarray]:
        x = inputs["x"].numpy()  # (B, L, D)
        return [np.asarray(est.predict(list(x))).reshape(len(x), -1)]  # (B, H)

    return _Plan(ForecasterGraph(est), make, {"x": {0: "batch"}}, ["forecast"], L, False,
                 meta, reference)


def _classes(est: Any) -> list[Any]:
    return [c.item() if isinstance(c, np.generic) else c for c in est.classes_.tolist()]


def _lengths(B: int, T: int) -> Tensor:
    n = torch.randint(1, T + 1, (B,), generator=_generator(T))
    n[0] = T  # one full row
    return n


def _sequence_plan(est: Any, seq_len: int) -> _Plan:
    D = est.n_features_
    time_free = _time_free(est.model_, lengths=True)

    def make(B: int, T: int) -> dict[str, Tensor]:
        x = torch.randn(B, T, D, generator=_generator(B))
        if est.normalize_ == "feature":
            x = x * torch.as_tensor(est.std_[:D]) + torch.as_tensor(est.mean_[:D])
        return {"x": x.float(), "lengths": _lengths(B, T)}

    free = {"x": {0: "batch"}, "lengths": {0: "batch"}}
    if time_free:
        free["x"][1] = "time"
    def reference(inputs: dict[str, Tensor]) -> list[np.ndarray]:
        rows = zip(inputs["x"].numpy(), inputs["lengths"].tolist(), strict=True)
        return [est.predict_proba([x[:n] for x, n in rows])]  # (B, C)

    meta = {"rnnkit.classes": _classes(est)}
    return _Plan(ClassifierGraph(est, text=False), make, free, ["probabilities"], seq_len,
                 time_free, meta, reference)


def _tokenizer(est: Any, maxlen: int | None) -> dict[str, Any]:
    from rnnkit.data.text import WORD_PATTERN

    vocab = est.vocab_
    return {"rnnkit.vocabulary": list(vocab.id_to_token),
            "rnnkit.tokenizer": {"level": est.level, "lower": bool(est.lower),
                                 "pattern": WORD_PATTERN.pattern, "maxlen": maxlen,
                                 "pad_id": vocab.pad_id, "unk_id": vocab.unk_id}}


def _text_plan(est: Any, seq_len: int) -> _Plan:
    V = len(est.vocab_)
    pad = est.vocab_.pad_id
    time_free = _time_free(est.model_, lengths=True)

    def make(B: int, T: int) -> dict[str, Tensor]:
        n = _lengths(B, T)
        ids = torch.randint(0, V, (B, T), generator=_generator(B))
        ids = torch.where(torch.arange(T) < n.unsqueeze(1), ids, torch.full_like(ids, pad))
        return {"ids": ids, "lengths": n}

    free = {"ids": {0: "batch"}, "lengths": {0: "batch"}}
    if time_free:
        free["ids"][1] = "time"
    meta = {"rnnkit.classes": _classes(est), **_tokenizer(est, est.maxlen)}
    return _Plan(ClassifierGraph(est, text=True), make, free, ["probabilities"], seq_len,
                 time_free, meta)


def _lm_plan(est: Any, seq_len: int) -> _Plan:
    graph = LanguageModelGraph(est)
    rnn = est.model_.rnn
    V, LD, H = len(est.vocab_), len(rnn.cells), rnn.hidden_size
    time_free = _time_free(est.model_, lengths=False)
    names = ["ids", "h0", "c0"] if graph.lstm else ["ids", "h0"]
    dtype = next(est.model_.parameters()).dtype

    def make(B: int, T: int) -> dict[str, Tensor]:
        g = _generator(B)
        inputs = {"ids": torch.randint(0, V, (B, T), generator=g)}
        for name in names[1:]:
            inputs[name] = (0.1 * torch.randn(LD, B, H, generator=g)).to(dtype)
        return inputs

    free: dict[str, dict[int, str]] = {"ids": {0: "batch"}}
    if time_free:
        free["ids"][1] = "time"
    for name in names[1:]:
        free[name] = {1: "batch"}
    outputs = ["logits", "h", "c"] if graph.lstm else ["logits", "h"]
    return _Plan(graph, make, free, outputs, seq_len, time_free, _tokenizer(est, None))


def _network_plan(model: nn.Module, seq_len: int) -> _Plan:
    from rnnkit.nn import Embedding

    first = next((m for m in model.modules() if not list(m.children())), model)
    dtype = next((p.dtype for p in model.parameters() if p.is_floating_point()), torch.float32)
    if isinstance(first, Embedding):
        name, V = "ids", first.num_embeddings

        def make(B: int, T: int) -> dict[str, Tensor]:
            return {"ids": torch.randint(0, V, (B, T), generator=_generator(B))}
    else:
        D = _input_features(model, first)
        name = "x"

        def make(B: int, T: int) -> dict[str, Tensor]:
            return {"x": torch.randn(B, T, D, generator=_generator(B)).to(dtype)}

    time_free = _time_free(model, lengths=False) and not _fixes_time(model)
    free = {name: {0: "batch", 1: "time"} if time_free else {0: "batch"}}
    with torch.no_grad():
        n_out = len(_flatten(model.eval()(*make(2, seq_len).values())))
    outputs = ["output", "h", "c"][:n_out] if n_out <= 3 else [f"output_{i}"
                                                               for i in range(n_out)]
    return _Plan(_Outputs(model), make, free, outputs, seq_len, time_free)


def _input_features(model: nn.Module, first: nn.Module) -> int:
    for m in (model, first):
        for attr in ("input_size", "in_features", "in_channels", "num_features",
                     "normalized_shape"):
            value = getattr(m, attr, None)
            if isinstance(value, int):
                return value
    raise ConfigError(f"model: cannot tell how many input features {type(model).__name__} "
                      f"reads; its first layer is {type(first).__name__}")


def _fixes_time(model: nn.Module) -> bool:
    """Layers whose graph depends on T beyond the recurrent ones (Flatten: T*D features)."""
    from rnnkit.nn import Flatten

    return any(isinstance(m, Flatten) for m in model.modules())


def _plan(obj: Any, seq_len: int | None) -> _Plan:
    from rnnkit.tasks.forecast.ensemble import EnsembleForecaster
    from rnnkit.tasks.forecast.local import LocalForecaster

    if isinstance(obj, EnsembleForecaster):
        raise ConfigError("an ensemble forecaster is the median of several models, not one "
                          "graph; export each member (its folder member-<k>/) on its own")
    if isinstance(obj, LocalForecaster):
        raise ConfigError("a local forecaster is one model per series, not one graph; export "
                          "each series' model (its folder series-<k>/) on its own")
    task = getattr(obj, "task", None)
    if isinstance(obj, nn.Module):
        return _network_plan(obj, seq_len or 16)
    if not isinstance(task, str) or not hasattr(obj, "get_params"):
        raise ConfigError(f"model_or_estimator must be an rnnkit task estimator or a torch "
                          f"nn.Module, got {type(obj).__name__}")
    if task not in EXPORTABLE:
        raise ConfigError(f"a {task} model cannot be exported to ONNX (exportable: "
                          f"{', '.join(EXPORTABLE)}, or a bare network)")
    if not hasattr(obj, "model_"):
        raise ConfigError(f"the {type(obj).__name__} is not fitted; fit or load it first")
    if task == "forecaster":
        plan = _forecaster_plan(obj)
    elif task == "sequence-classifier":
        plan = _sequence_plan(obj, seq_len or 16)
    elif task == "text-classifier":
        plan = _text_plan(obj, seq_len or obj.maxlen or 32)
    else:
        plan = _lm_plan(obj, seq_len or 16)
    plan.metadata["rnnkit.params"] = _json_params(obj)
    plan.metadata["rnnkit.task"] = task
    return plan


def _json_params(est: Any) -> dict[str, Any]:
    from rnnkit.fileio import json_safe

    return json_safe(est.get_params())


# ------------------------------------------------------------------------------ export
@contextlib.contextmanager
def _quiet_exporter() -> Iterator[None]:
    """The exporter's own notices off (e.g. "torchvision is not installed"), its warnings
    about torch internals too; errors still raise."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            yield
    finally:
        logger.setLevel(level)


@contextlib.contextmanager
def _stateless(model: nn.Module) -> Iterator[None]:
    """Stateful layers off during the export (a graph keeps no state between calls)."""
    layers = [r for r in _recurrents(model) if r.stateful]
    for r in layers:
        r.stateful = False
    try:
        yield
    finally:
        for r in layers:
            r.stateful = True


def _fixed_time(program: Any, plan: _Plan) -> bool:
    """Whether an input axis meant to be free in time came back with a fixed size."""
    for value in program.model.graph.inputs:
        for axis, name in plan.free.get(value.name, {}).items():
            if name == "time" and isinstance(value.shape[axis], int):
                return True
    return False


def _shapes(program: Any, plan: _Plan, outputs: list[Tensor]) -> dict[str, Any]:
    """``rnnkit.inputs`` / ``rnnkit.outputs``: the graph's input shapes as exported (a free
    axis by name, a fixed one by size), and the output shapes, written into the graph too
    (the exporter can leave a free time axis of an output at the example's size)."""
    import onnx_ir as ir

    def dims(shape: Any) -> list[Any]:
        return [d if isinstance(d, int) else str(d) for d in shape]

    def dtype(value: Any) -> str:
        return str(value.dtype.numpy())

    graph = program.model.graph
    if plan.time_free:  # intermediate shapes may hold the example's T: let runtimes infer them
        for node in graph:
            for value in node.outputs:
                if not value.is_graph_output():
                    value.shape = None
    ins = {v.name: {"shape": dims(v.shape), "dtype": dtype(v)} for v in graph.inputs}
    outs = {}
    for value, name, t in zip(graph.outputs, plan.outputs, outputs, strict=True):
        state = name in ("h", "c")
        free = {1: "batch"} if state else {0: "batch"}
        if plan.time_free and not state and t.dim() == 3:
            free[1] = "time"
        shape = [free.get(i, int(n)) for i, n in enumerate(t.shape)]
        value.shape = ir.Shape(shape)
        outs[name] = {"shape": shape, "dtype": dtype(value)}
    return {"rnnkit.inputs": ins, "rnnkit.outputs": outs}


def export_onnx(model_or_estimator: Any, path: str | os.PathLike, *,
                seq_len: int | None = None, check: bool = True) -> OnnxExport:
    """Write ``model_or_estimator`` to the ONNX file ``path`` (atomically); see the module doc.

    Args:
        model_or_estimator: a fitted forecaster, sequence classifier, text classifier or
            language model (e.g. from :func:`rnnkit.tasks.load_estimator`), or a bare
            rnnkit network (an ``nn.Module``; a Sequential).
        path: the file to write (replaced if it exists).
        seq_len: T of the example batch (default: the forecaster's input_len, the text
            classifier's maxlen, else 16 (text: 32)). The graph takes exactly this many steps
            when the network unrolls its loop (layer-normalised or user-defined cells), any
            number otherwise.
        check: run the file with onnxruntime, when installed, on a fresh batch of another
            size (and length, where free) and raise RuntimeError if it differs from the model
            by more than ``CHECK_TOL`` (1 + max |output|).

    Returns an :class:`OnnxExport` (path, inputs, outputs, the check's difference). Raises
    ConfigError for what cannot be exported (a seq2seq model, an
    unfitted estimator) or when the exporter's packages (onnx, onnxscript) are missing.
    """
    if seq_len is not None and (isinstance(seq_len, bool) or not isinstance(seq_len, int)
                                or seq_len < 1):
        raise ConfigError(f"seq_len must be a positive int or None, got {seq_len!r}")
    was_training = [(m, m.training) for m in _modules(model_or_estimator)]
    try:
        return _export(model_or_estimator, Path(path), seq_len, check)
    finally:
        for m, mode in was_training:
            m.train(mode)


def _modules(obj: Any) -> list[nn.Module]:
    net = obj if isinstance(obj, nn.Module) else getattr(obj, "model_", None)
    return list(net.modules()) if isinstance(net, nn.Module) else []


def _export(obj: Any, path: Path, seq_len: int | None, check: bool) -> OnnxExport:
    plan = _plan(obj, seq_len)
    module = plan.module.eval()
    inputs = plan.make(2, plan.seq_len)  # B = 2: an exporter specialises sizes 0 and 1
    # min=2: the exporter specialises sizes 0 and 1 (the graph still runs on them)
    dims = {"batch": torch.export.Dim("batch", min=2), "time": torch.export.Dim("time", min=2)}
    dynamic = tuple({axis: dims[n] for axis, n in plan.free[name].items()} for name in inputs)
    try:
        import onnxscript  # noqa: F401  (the exporter needs it; say so before tracing)
    except ImportError as err:
        raise ConfigError(f"ONNX export needs the packages onnx and onnxscript (pip install "
                          f"onnx onnxscript): {err}") from None
    _forget_rnn_kernels()
    with _stateless(module), torch.no_grad(), _quiet_exporter():
        outputs = _flatten(module(*inputs.values()))
        program = torch.onnx.export(
            module, tuple(inputs.values()), dynamo=True, input_names=list(inputs),
            output_names=plan.outputs, dynamic_shapes=dynamic, verbose=False)
    if plan.time_free and _fixed_time(program, plan):
        # the exporter may fix T where the network would not (torch 2.13: for SimpleRNN)
        log.info("the ONNX exporter fixed the number of steps at %d", plan.seq_len)
        plan.time_free = False
    meta = {"rnnkit.format": "rnnkit.onnx/1", "rnnkit.version": rnnkit.__version__,
            "rnnkit.task": "network", **plan.metadata, **_shapes(program, plan, outputs)}
    for key, value in meta.items():
        program.model.metadata_props[key] = json.dumps(value)
    from rnnkit.fileio import atomic_path

    diff = None
    with atomic_path(path) as tmp:
        program.save(tmp, external_data=False)
        if check:
            diff = _check(tmp, module, plan)
    log.info("wrote %s (%s)", path, meta["rnnkit.task"])
    return OnnxExport(path, meta["rnnkit.task"], meta["rnnkit.inputs"], meta["rnnkit.outputs"],
                      diff)


def _forget_rnn_kernels() -> None:
    """Work around torch 2.13: with dynamic shapes the ONNX exporter swaps in a while-loop
    kernel for aten.lstm / aten.gru (T stays free), but the operators' dispatch caches keep
    the kernel resolved in an earlier export of the same process, and every export after the
    first then fixes T. Clearing the caches (a private attribute, hence getattr) restores
    the exporter's choice; without it the check below would catch the fixed T."""
    for op in (torch.ops.aten.lstm.input, torch.ops.aten.gru.input):
        cache = getattr(op, "_dispatch_cache", None)
        if isinstance(cache, dict):
            cache.clear()


def _check(path: Path, module: nn.Module, plan: _Plan) -> float | None:
    """Max |ONNX - model| on a fresh batch (None without onnxruntime), the model being the
    estimator's predict where it takes arrays (forecaster, sequence classifier), else the
    exported module; RuntimeError if it exceeds CHECK_TOL * (1 + max |output|)."""
    try:
        import onnxruntime as ort
    except ImportError:
        log.info("onnxruntime is not installed: %s not checked", path)
        return None
    T = plan.seq_len + 3 if plan.time_free else plan.seq_len
    inputs = plan.make(3, T)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    shape = tuple(next(iter(inputs.values())).shape)
    try:
        got = session.run(None, {k: v.numpy() for k, v in inputs.items()})
    except Exception as err:  # onnxruntime's own error types
        raise RuntimeError(f"the ONNX graph does not run on a batch of shape {shape}: "
                           f"{err}") from err
    if plan.reference is not None:  # the estimator's predict, preprocessing and all
        want = plan.reference(inputs)
    else:
        with torch.no_grad(), _stateless(module):
            want = [t.numpy() for t in _flatten(module(*inputs.values()))]
    diff = max(float(np.abs(a - b).max()) for a, b in zip(got, want, strict=True))
    scale = 1.0 + max(float(np.abs(b).max()) for b in want)
    if not diff <= CHECK_TOL * scale:
        raise RuntimeError(f"the ONNX graph does not reproduce the model: max |difference| "
                           f"{diff:.3g} on a batch of shape {shape}")
    log.info("onnxruntime reproduces the model: max |difference| %.3g", diff)
    return diff
