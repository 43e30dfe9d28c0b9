"""Callbacks: early stopping, checkpoints, logs, TensorBoard, progress bar, LR schedules."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
import torch
from torch import nn

from rnnkit.errors import ConfigError
from rnnkit.nn import Dense
from rnnkit.train import Sequential, load_model, load_weights
from rnnkit.train.callbacks import (
    Callback,
    CSVLogger,
    EarlyStopping,
    JSONLogger,
    LearningRateScheduler,
    ModelCheckpoint,
    ProgressBar,
    TensorBoard,
)
from tests.train.helpers import LastStep, regression_data

# One weight w, trained by full-batch SGD (lr 0.125) on x = 1, y = 2 from w = 0:
#   w <- w - 0.125 * 2 (w - 2) = w + 0.25 (2 - w):  0.5, 0.875, 1.15625, 1.3671875, ...
# Validation asks for w = 1, so val_loss = (w - 1)^2 = 0.25, 0.015625, 0.0244, 0.1350, ...
# is best after epoch 1 (w = 0.875) and worse afterwards. All values are exact in binary.
W_AFTER = [0.5, 0.875, 1.15625, 1.3671875, 1.525390625]
ONE = np.ones((1, 1), dtype=np.float32)


def scalar_model() -> Sequential:
    model = Sequential([Dense(1, 1, bias=False)])
    with torch.no_grad():
        model[0].weight.zero_()
    model.compile(loss="mse", optimizer="sgd", lr=0.125)
    return model


def fit_scalar(model, epochs, callbacks):
    return model.fit(ONE, 2 * ONE, epochs=epochs, batch_size=1, validation_data=(ONE, ONE),
                     callbacks=callbacks, verbose=0)


def test_early_stopping_restores_the_known_best_epoch():
    model = scalar_model()
    stop = EarlyStopping(monitor="val_loss", patience=2)
    h = fit_scalar(model, 10, [stop])
    assert h.epoch == [0, 1, 2, 3]  # epochs 2 and 3 do not improve: stop after epoch 3
    assert h.history["val_loss"] == pytest.approx([(w - 1) ** 2 for w in W_AFTER[:4]])
    assert stop.best_epoch == 1 and stop.stopped_epoch == 3
    assert model[0].weight.item() == 0.875


def test_early_stopping_without_restore_keeps_the_last_weights():
    model = scalar_model()
    fit_scalar(model, 10, [EarlyStopping(patience=1, restore_best_weights=False)])
    assert model[0].weight.item() == W_AFTER[2]


def test_early_stopping_needs_its_monitor():
    model = scalar_model()
    with pytest.raises(ConfigError, match=r"EarlyStopping monitor 'val_loss' is not in the epoch "
                       r"logs \(pass validation data to fit\); available: loss, lr"):
        model.fit(ONE, ONE, epochs=1, callbacks=[EarlyStopping()], verbose=0)


def test_checkpoint_keeps_the_best_model_and_loads_back(tmp_path):
    model = scalar_model()
    ckpt = ModelCheckpoint(tmp_path / "best", monitor="val_loss")
    fit_scalar(model, 4, [ckpt])
    assert ckpt.saved_epochs == [0, 1]
    files = sorted(p.name for p in (tmp_path / "best").iterdir() if p.name != ".rnnkit")
    assert files == ["checkpoint.json", "config.json", "model.safetensors"]
    info = json.loads((tmp_path / "best" / "checkpoint.json").read_text())
    assert info["epoch"] == 1 and info["value"] == pytest.approx(0.015625)
    best = load_model(tmp_path / "best")
    assert isinstance(best, Sequential) and best[0].weight.item() == 0.875
    assert model[0].weight.item() == W_AFTER[3]  # the training model itself went on
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp folders


def test_checkpoint_every_epoch_and_weights_only_for_plain_torch(tmp_path):
    model = Sequential([nn.Linear(1, 1, bias=False)])
    with torch.no_grad():
        model[0].weight.zero_()
    model.compile(loss="mse", optimizer="sgd", lr=0.125)
    ckpt = ModelCheckpoint(tmp_path / "last", save_best_only=False)
    fit_scalar(model, 3, [ckpt])
    assert ckpt.saved_epochs == [0, 1, 2]
    assert sorted(p.name for p in (tmp_path / "last").iterdir() if p.name != ".rnnkit") == [
        "checkpoint.json", "model.safetensors"]
    fresh = nn.Sequential(nn.Linear(1, 1, bias=False))
    load_weights(fresh, tmp_path / "last" / "model.safetensors")
    assert fresh[0].weight.item() == W_AFTER[2]


def test_csv_and_json_logs_hold_the_history(tmp_path):
    X, y = regression_data(n=12)
    model = Sequential([LastStep(1, 3), nn.Linear(3, 1)])
    model.compile(metrics=["mae"])
    h = model.fit(X, y, epochs=3, batch_size=4, validation_split=0.25, verbose=0,
                  callbacks=[CSVLogger(tmp_path / "log.csv"), JSONLogger(tmp_path / "log.json")])
    with (tmp_path / "log.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["epoch", "loss", "mae", "val_loss", "val_mae", "lr"]
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]
    for key, values in h.history.items():
        assert [float(r[key]) for r in rows] == values  # repr() keeps every digit
    records = json.loads((tmp_path / "log.json").read_text())
    assert [r["epoch"] for r in records] == [0, 1, 2]
    assert {k: [r[k] for r in records] for k in h.history} == h.history
    model.fit(X, y, epochs=1, verbose=0, callbacks=[CSVLogger(tmp_path / "log.csv", append=True)])
    with (tmp_path / "log.csv").open(newline="") as fh:
        assert [r["epoch"] for r in csv.DictReader(fh)] == ["0", "1", "2", "0"]


def test_tensorboard_writes_scalars_histograms_and_summaries(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    X, y = regression_data(n=8)
    model = Sequential([LastStep(1, 3), nn.Linear(3, 1)])
    model.compile()
    h = model.fit(X, y, epochs=2, batch_size=4, validation_split=0.25, verbose=0,
                  callbacks=[TensorBoard(tmp_path / "tb")])
    acc = EventAccumulator(str(tmp_path / "tb"), size_guidance={"scalars": 0, "histograms": 0})
    acc.Reload()
    tags = acc.Tags()
    for key in ("loss", "val_loss", "lr"):
        assert key in tags["scalars"]
        events = acc.Scalars(key)
        assert [e.step for e in events] == [0, 1]
        assert [e.value for e in events] == pytest.approx(h.history[key], rel=1e-6)
    names = [n for n, _ in model.named_parameters()]
    for name in names:
        assert f"{name}/histogram" in tags["histograms"]
        for stat in ("mean", "stddev", "max", "min"):
            assert f"{name}/{stat}" in tags["scalars"]
    w = model[1].weight.detach()
    assert acc.Scalars("1.weight/max")[-1].value == pytest.approx(w.max().item(), rel=1e-6)
    assert acc.Scalars("1.weight/mean")[-1].value == pytest.approx(w.mean().item(), rel=1e-5)


def test_progress_bar_given_to_fit_replaces_the_automatic_one(capsys):
    X, y = regression_data(n=8)
    model = Sequential([LastStep(1, 2), nn.Linear(2, 1)])
    model.compile()
    buf = io.StringIO()
    model.fit(X, y, epochs=2, batch_size=4, callbacks=[ProgressBar(2, file=buf)])
    lines = buf.getvalue().splitlines()
    assert [line.split(" - ")[0] for line in lines] == ["epoch 1/2", "epoch 2/2"]
    assert capsys.readouterr().err == ""  # no second, automatic display on stderr

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    tty = Terminal()
    model.fit(X, y, epochs=1, verbose=0, callbacks=[ProgressBar(file=tty)])
    assert tty.getvalue() == ""  # verbose=0 silences an automatic bar
    model.fit(X, y, epochs=1, callbacks=[ProgressBar(file=tty)])
    assert "training: 100%" in tty.getvalue()  # on a terminal it shows


def test_batch_hooks_only_for_callbacks_that_want_them():
    calls = []

    class Epochs(Callback):
        def on_epoch_end(self, epoch, logs=None):
            calls.append(("epoch", epoch))

    class Batches(Callback):
        def on_batch_end(self, batch, logs=None):
            calls.append(("batch", batch, logs["size"], float(logs["loss"]) >= 0))
            if batch == 1:
                self.trainer.stop_training = True

    X, y = regression_data(n=10)
    model = Sequential([LastStep(1, 2), nn.Linear(2, 1)])
    model.compile()
    h = model.fit(X, y, epochs=3, batch_size=4, callbacks=[Epochs(), Batches()], verbose=0)
    assert calls == [("batch", 0, 4, True), ("batch", 1, 4, True), ("epoch", 0)]
    assert h.epoch == [0]


def test_learning_rate_scheduler_and_torch_schedules():
    X, y = regression_data(n=8)
    model = Sequential([nn.Linear(6, 1)])
    model.compile(optimizer="sgd", lr=0.1)
    h = model.fit(X[..., 0], y, epochs=3, verbose=0,
                  callbacks=[LearningRateScheduler(lambda epoch, lr: 0.1 / (epoch + 1))])
    assert h.history["lr"] == pytest.approx([0.1, 0.05, 0.1 / 3])
    model.compile(optimizer="sgd", lr=0.1,
                  lr_schedule=lambda opt: torch.optim.lr_scheduler.StepLR(opt, 1, gamma=0.5))
    h = model.fit(X[..., 0], y, epochs=3, verbose=0)
    assert h.history["lr"] == pytest.approx([0.1, 0.05, 0.025])
    assert model.trainer.optimizer.param_groups[0]["lr"] == pytest.approx(0.0125)
    with pytest.raises(ValueError, match=r"schedule must return a positive number, got 0"):
        model.fit(X[..., 0], y, epochs=1, verbose=0,
                  callbacks=[LearningRateScheduler(lambda e, lr: 0)])


def test_learning_rate_scheduler_keeps_the_ratio_of_parameter_groups():
    X, y = regression_data(n=8)
    model = Sequential([nn.Linear(6, 4), nn.Linear(4, 1)])

    def fast_last(params, lr):  # the last layer at 5 lr, as a classifier's softmax layers
        params = list(params)
        return torch.optim.SGD([{"params": params[:2]}, {"params": params[2:], "lr": 5 * lr}],
                               lr=lr)

    model.compile(optimizer=fast_last, lr=0.1)
    model.fit(X[..., 0], y, epochs=3, verbose=0,
              callbacks=[LearningRateScheduler(lambda epoch, lr: 0.1 / (epoch + 1))])
    body, last = model.trainer.optimizer.param_groups
    assert body["lr"] == pytest.approx(0.1 / 3) and last["lr"] == pytest.approx(0.5 / 3)


def test_callback_argument_errors(tmp_path):
    with pytest.raises(ValueError, match=r"patience must be a non-negative int, got -1"):
        EarlyStopping(patience=-1)
    with pytest.raises(ValueError, match=r"mode must be 'auto', 'min' or 'max', got 'up'"):
        ModelCheckpoint(tmp_path, mode="up")
    with pytest.raises(ValueError, match=r"histogram_freq must be a positive int, got 0"):
        TensorBoard(tmp_path, histogram_freq=0)
    model = Sequential([nn.Linear(1, 1)])
    model.compile()
    with pytest.raises(TypeError, match=r"callbacks must be rnnkit.train.callbacks.Callback "
                       r"objects, got function"):
        model.fit(ONE, ONE, callbacks=[lambda: None])


def test_a_failing_fit_closes_bars_and_event_files(tmp_path):
    class Boom(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(1, 1)
            self.calls = 0

        def forward(self, x):
            self.calls += 1
            if self.calls == 3:
                raise RuntimeError("boom")
            return self.lin(x)

    model = Sequential([Boom()])
    model.compile()
    bar = ProgressBar(1, file=io.StringIO())
    tb = TensorBoard(tmp_path / "tb", histograms=False)
    with pytest.raises(RuntimeError, match="boom"):
        model.fit(np.ones((4, 1)), np.ones((4, 1)), epochs=3, batch_size=2, callbacks=[bar, tb])
    assert bar._bar is None and tb.writer is None
