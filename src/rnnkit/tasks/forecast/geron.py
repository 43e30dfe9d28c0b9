"""Reproduction of *Hands-On Machine Learning* (2nd ed.), chapter 15: forecasting the
two-sine series (notebook of ageron/handson-ml2), with its protocol:

- data: ``np.random.seed(42)``; ``generate_time_series(10000, 50 + k)`` (k = 1 one-step,
  k = 10 ten-step / seq2seq); train ``[:7000]``, valid ``[7000:9000]``, test ``[9000:]``;
- one-step: X = first 50 steps, y = the 51st ``(N, 1)``; ten-step: Y = last 10 ``(N, 10)``;
  seq2seq: ``Y[..., k-1] = series[..., k:k+50, 0]`` ``(N, 50, 10)``;
- Keras defaults: Adam (lr 0.001 unless the row says otherwise, eps 1e-7), MSE loss,
  batch 32, 20 epochs, shuffled every epoch; glorot-uniform kernels, orthogonal recurrent
  kernels, zero biases (``init="keras"`` of rnnkit.nn); Keras' SimpleRNN and LSTM have ONE
  bias vector where torch's layout has two that add up (``b_ih + b_hh``), so
  :func:`keras_biases` freezes ``bias_hh`` at its initial value: the trainable parameters
  are then Keras' (two trainable copies of one bias double its Adam step; measured here,
  deep_rnn_dense over seeds 42-44: 0.0026-0.0027 with one bias, 0.0026-0.0030 with two).
  GRU keeps both: Keras' ``reset_after`` GRU has an input and a recurrent bias too;
- the reported figure is the validation MSE after the last epoch; seq2seq rows train on the
  MSE over all 50 steps and report the MSE of the last step (``last_time_step_mse``).

Published values (:data:`ROWS`, ``published``/``low``/``high``) are the validation MSEs of
the chapter 15 notebook's outputs (ageron/handson-ml2; three runs across library versions
give the ranges), copied from the project's REFERENCES.md so that a fresh clone needs no
other file.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from rnnkit.data.synthetic import generate_time_series
from rnnkit.errors import ConfigError
from rnnkit.tasks.forecast.models import build_model
from rnnkit.tasks.forecast.strategies import forecast

__all__ = ["ROWS", "GeronRow", "geron_data", "keras_biases", "reproduce", "run_row"]

log = logging.getLogger(__name__)

N_STEPS = 50


@dataclass(frozen=True)
class GeronRow:
    """One row of the book's table: how to build, train and score a model."""

    key: str  # short name for --models
    label: str  # the row as REFERENCES.md writes it
    task: str  # "one_step" | "ten_step" | "seq2seq"
    published: str  # the notebook's validation MSE, as text
    low: float  # the published range (one value: low == high)
    high: float
    kind: str = "train"  # "train" | "naive" | "iterate"
    model: str | None = None  # build_model name, or "bn_seq2seq"
    lr: float = 1e-3
    layers: int = 1


ROWS: dict[str, GeronRow] = {r.key: r for r in (
    GeronRow("naive", "one-step naive (last value)", "one_step", "0.0202", 0.0202, 0.0202,
             kind="naive"),
    GeronRow("linear", "Flatten -> Dense(1)", "one_step", "0.0042", 0.0042, 0.0042,
             model="linear"),
    GeronRow("simple_rnn1", "SimpleRNN(1), Adam lr 0.005", "one_step", "0.0109", 0.0109,
             0.0109, model="simple_rnn1", lr=0.005),
    GeronRow("deep_rnn", "SimpleRNN(20, seq) -> SimpleRNN(20, seq) -> SimpleRNN(1)",
             "one_step", "0.0029", 0.0029, 0.0029, model="deep_rnn"),
    GeronRow("deep_rnn_dense", "SimpleRNN(20, seq) -> SimpleRNN(20) -> Dense(1)", "one_step",
             "0.0026", 0.0026, 0.0026, model="deep_rnn_dense"),
    GeronRow("iterated", "ten-step by iterating the one-step model", "ten_step", "0.0275",
             0.0275, 0.0275, kind="iterate", model="deep_rnn_dense"),
    GeronRow("naive10", "ten-step naive (last value repeated)", "ten_step",
             "0.257 (0.223 older)", 0.223, 0.257, kind="naive"),
    GeronRow("linear10", "Flatten -> Dense(10)", "ten_step", "0.0187", 0.0187, 0.0187,
             model="linear"),
    GeronRow("rnn_vector", "SimpleRNN(20) x2 -> Dense(10) (vector output)", "ten_step",
             "0.0081-0.0085", 0.0081, 0.0085, model="deep_rnn_dense"),
    GeronRow("seq2seq_rnn", "seq2seq: SimpleRNN(20, seq) x2 -> TimeDistributed(Dense(10)), "
             "lr 0.01", "seq2seq", "0.0058-0.0096", 0.0058, 0.0096, model="simple_rnn",
             lr=0.01, layers=2),
    GeronRow("seq2seq_bn", "same with BatchNorm between layers", "seq2seq", "0.016-0.021",
             0.016, 0.021, model="bn_seq2seq"),
    GeronRow("seq2seq_ln", "LayerNorm SimpleRNN cell (20) x2, seq2seq", "seq2seq",
             "0.012-0.015", 0.012, 0.015, model="ln_rnn", layers=2),
    GeronRow("seq2seq_lstm", "LSTM(20) x2 seq2seq", "seq2seq", "0.0086", 0.0086, 0.0086,
             model="lstm", layers=2),
    GeronRow("seq2seq_gru", "GRU(20) x2 seq2seq", "seq2seq", "0.0103-0.0111", 0.0103, 0.0111,
             model="gru", layers=2),
    GeronRow("conv_gru", "Conv1D(20, k=4, s=2, valid) -> GRU(20) x2, targets Y[:, 3::2]",
             "seq2seq", "0.0067-0.0081", 0.0067, 0.0081, model="conv_gru", layers=2),
    GeronRow("wavenet", "WaveNet-style: causal Conv1D(20, k=2, relu), dilations 1,2,4,8 x2, "
             "Conv1D(10, k=1)", "seq2seq", "0.0072-0.0095", 0.0072, 0.0095, model="wavenet"),
)}


def geron_data(task: str, n_series: int = 10000, seed: int = 42) -> dict[str, np.ndarray]:
    """The book's arrays for ``task``: ``{"X_train", "y_train", "X_valid", ...}``.

    one_step: X ``(N, 50, 1)``, y ``(N, 1)``; ten_step: y ``(N, 10)``;
    seq2seq: y ``(N, 50, 10)``. Splits 70 % / 20 % / 10 % (7000/2000/1000 of 10,000).
    """
    if task not in ("one_step", "ten_step", "seq2seq"):
        raise ConfigError(f"task must be 'one_step', 'ten_step' or 'seq2seq', got {task!r}")
    ahead = 1 if task == "one_step" else 10
    series = generate_time_series(n_series, N_STEPS + ahead, seed=seed)  # (N, 50+k, 1)
    X = series[:, :N_STEPS]  # (N, 50, 1)
    if task == "one_step":
        y = series[:, -1]  # (N, 1)
    elif task == "ten_step":
        y = series[:, -10:, 0]  # (N, 10)
    else:
        y = np.empty((n_series, N_STEPS, 10), dtype=np.float32)  # (N, 50, 10)
        for step_ahead in range(1, 11):
            y[..., step_ahead - 1] = series[..., step_ahead:step_ahead + N_STEPS, 0]
    a, b = int(0.7 * n_series), int(0.9 * n_series)
    return {"X_train": X[:a], "y_train": y[:a], "X_valid": X[a:b], "y_valid": y[a:b],
            "X_test": X[b:], "y_test": y[b:]}


#: Layers whose Keras counterpart has a single bias vector.
ONE_BIAS_LAYERS = ("SimpleRNN", "LSTM", "LNSimpleRNN", "LNLSTM")


def keras_biases(model) -> list[str]:
    """Freeze ``bias_hh`` of every SimpleRNN/LSTM(-LN) layer so that, as in Keras, one bias
    vector is trained (the frozen part stays at its initial value, so ``b_ih + b_hh`` keeps
    Keras' initial bias). Returns the names of the frozen parameters."""
    frozen = []
    for name, module in model.named_modules():
        if type(module).__name__ not in ONE_BIAS_LAYERS:
            continue
        for pname, p in module.named_parameters():
            if "bias_hh" in pname:
                p.requires_grad_(False)
                frozen.append(f"{name}.{pname}")
    return frozen


def _build(row: GeronRow):
    model = _build_layers(row)
    keras_biases(model)
    return model


def _build_layers(row: GeronRow):
    out = 1 if row.task == "one_step" or row.kind == "iterate" else 10
    seq2seq = row.task == "seq2seq"
    if row.model == "bn_seq2seq":
        import rnnkit.nn as nn
        from rnnkit.train import Sequential

        return Sequential([nn.SimpleRNN(1, 20, return_sequences=True), nn.BatchNorm1D(20),
                           nn.SimpleRNN(20, 20, return_sequences=True), nn.BatchNorm1D(20),
                           nn.TimeDistributed(nn.Dense(20, 10))])
    return build_model(row.model, N_STEPS, out, seq2seq=seq2seq, hidden=20, layers=row.layers)


def _keras_adam(lr: float) -> Callable:
    import torch

    return lambda params: torch.optim.Adam(params, lr=lr, eps=1e-7)  # Keras' defaults


def _targets(row: GeronRow, y: np.ndarray) -> np.ndarray:
    return y[:, 3::2] if row.model == "conv_gru" else y  # conv k=4, s=2 sees steps 3, 5, ...


def _train(row: GeronRow, data: dict[str, np.ndarray], epochs: int, seed: int, device: str,
           verbose: int | str):
    from rnnkit.train import seed_everything
    from rnnkit.train.callbacks import progress_callbacks

    seed_everything(seed)
    model = _build(row)
    model.compile(loss="mse", optimizer=_keras_adam(row.lr), device=device)
    history = model.fit(data["X_train"], _targets(row, data["y_train"]), epochs=epochs,
                        batch_size=32, shuffle=True, verbose=verbose, seed=seed,
                        callbacks=progress_callbacks(verbose, desc=row.key),
                        validation_data=(data["X_valid"], _targets(row, data["y_valid"])))
    return model, {k: [float(v) for v in vs] for k, vs in history.history.items()}


def run_row(key: str, epochs: int = 20, seed: int = 42, device: str = "cpu",
            verbose: int | str = 0, n_series: int = 10000,
            cache: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train and score one row; returns ``{"key", "label", "val_mse", "published", "low",
    "high", "seconds", "history"}``. ``cache`` (a dict) shares data and the one-step model
    between rows of one run (the ``iterated`` row reuses ``deep_rnn_dense``)."""
    if key not in ROWS:
        raise ConfigError(f"model must be one of {list(ROWS)}, got {key!r}")
    cache = {} if cache is None else cache
    row = ROWS[key]

    def data(task: str) -> dict[str, np.ndarray]:
        if (task, n_series) not in cache:
            cache[(task, n_series)] = geron_data(task, n_series, seed=42)
        return cache[(task, n_series)]

    d = data(row.task)
    start = time.perf_counter()
    history: dict[str, list[float]] = {}
    if row.kind == "naive":
        pred = np.broadcast_to(d["X_valid"][:, -1], d["y_valid"].shape)  # (N, 1) or (N, 10)
        val_mse = float(np.mean((d["y_valid"] - pred) ** 2))
    elif row.kind == "iterate":
        ck = ("model", "deep_rnn_dense", epochs, seed, n_series)
        if ck not in cache:
            cache[ck] = _train(ROWS["deep_rnn_dense"], data("one_step"), epochs, seed, device,
                               verbose)
        model, history = cache[ck]
        pred = forecast(lambda x: model.predict(x, batch_size=2000), "recursive",
                        d["X_valid"], 10, feedback="grow")  # (N, 10)
        val_mse = float(np.mean((d["y_valid"] - pred) ** 2))
    else:
        model, history = _train(row, d, epochs, seed, device, verbose)
        if row.key == "deep_rnn_dense":
            cache[("model", row.key, epochs, seed, n_series)] = (model, history)
        pred = model.predict(d["X_valid"], batch_size=2000)
        truth = _targets(row, d["y_valid"])
        if row.task == "seq2seq":
            pred, truth = pred[:, -1], truth[:, -1]  # last_time_step_mse
        val_mse = float(np.mean((truth - pred.reshape(truth.shape)) ** 2))
    seconds = time.perf_counter() - start
    log.info("geron %s: val MSE %.4f (published %s) in %.1f s", key, val_mse, row.published,
             seconds)
    return {"key": key, "label": row.label, "task": row.task, "val_mse": val_mse,
            "published": row.published, "low": row.low, "high": row.high,
            "seconds": seconds, "epochs": epochs if row.kind != "naive" else 0,
            "history": history}


def reproduce(keys: list[str] | None = None, epochs: int = 20, seed: int = 42,
              device: str = "cpu", verbose: int | str = 0, n_series: int = 10000,
              repeats: int = 1,
              on_row: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
    """Run the rows ``keys`` (default: all, in the book's order); ``on_row`` is called with
    each result as soon as it is ready (the CLI prints the table with it). ``verbose``
    (0 by default, "auto", 1, 2) shows each row's training progress on stderr, prefixed
    with the row's key.

    ``repeats > 1`` trains every learned row with the seeds ``seed, seed+1, ...`` (the data
    stay the book's): ``val_mse`` is then the mean, ``runs`` the single values.
    """
    keys = list(ROWS) if keys is None else list(keys)
    for k in keys:
        if k not in ROWS:
            raise ConfigError(f"model must be one of {list(ROWS)}, got {k!r}")
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ConfigError(f"repeats must be a positive int, got {repeats!r}")
    cache: dict[str, Any] = {}
    results = []
    for k in keys:
        n = 1 if ROWS[k].kind == "naive" else repeats
        runs = [run_row(k, epochs=epochs, seed=seed + i, device=device, verbose=verbose,
                        n_series=n_series, cache=cache) for i in range(n)]
        res = dict(runs[0])
        res["runs"] = [r["val_mse"] for r in runs]
        res["seeds"] = [seed + i for i in range(n)]
        res["val_mse"] = float(np.mean(res["runs"]))
        res["seconds"] = float(sum(r["seconds"] for r in runs))
        results.append(res)
        if on_row is not None:
            on_row(res)
    return results
