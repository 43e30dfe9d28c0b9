"""Exact resume: a run killed with SIGKILL and resumed ends bit-identical to one never killed.

The killed run is a forked child that SIGKILLs itself after a random batch of a random epoch
(the point is in every failure message); the uninterrupted and the resumed runs train here.
"""

from __future__ import annotations

import json
import logging
import random
import re

import numpy as np
import pytest
import safetensors.torch
import torch
from torch import nn

from rnnkit.errors import ConfigError, DataError
from rnnkit.train import ArrayBatches, Sequential, Trainer
from rnnkit.train.callbacks import EarlyStopping, ModelCheckpoint
from rnnkit.train.resume import decode, encode, load_loader_state, loader_state
from tests.train.helpers import LastStep, regression_data, run_killed, same_weights

EPOCHS, BATCH = 6, 8
X, Y = regression_data(48, 5)


def _model() -> Sequential:
    torch.manual_seed(1)
    model = Sequential([LastStep(1, 6), nn.Dropout(0.3), nn.Linear(6, 1)])
    model.compile(loss="mse", optimizer="adam", lr=0.02, metrics=["mae"],
                  lr_schedule=lambda opt: torch.optim.lr_scheduler.StepLR(opt, 2, 0.5))
    return model


def _fit(model, ckpt=None, resume=False, epochs=EPOCHS, **kw):
    stop = EarlyStopping("val_loss", patience=EPOCHS)
    history = model.fit(X, Y, epochs=epochs, batch_size=BATCH, validation_split=0.25,
                        callbacks=[stop], verbose=0, seed=7, checkpoint=ckpt, resume=resume,
                        **kw)
    return history, stop


def test_sequential_killed_at_a_random_batch_resumes_bit_identical(tmp_path):
    reference = _model()
    ref_history, ref_stop = _fit(reference)
    epoch, batch = random.randrange(EPOCHS), random.randrange(len(X) * 3 // 4 // BATCH)
    code = run_killed(lambda: _fit(_model(), tmp_path / "ck"), epoch, batch)
    point = f"killed after batch {batch} of epoch {epoch}"
    assert code == -9, point
    model = _model()
    history, stop = _fit(model, tmp_path / "ck", resume=True)
    assert same_weights(model, reference), point
    assert history.history == ref_history.history and history.epoch == ref_history.epoch, point
    assert (stop.best, stop.best_epoch) == (ref_stop.best, ref_stop.best_epoch), point


def test_the_checkpoint_is_json_and_safetensors_only(tmp_path):
    _fit(_model(), tmp_path / "ck", epochs=2)
    names = sorted(p.name for p in (tmp_path / "ck").iterdir())
    assert names == [".rnnkit", "model.safetensors", "state.safetensors", "trainer.json"]
    doc = json.loads((tmp_path / "ck" / "trainer.json").read_text())
    assert (doc["format"], doc["epoch"], doc["step"], doc["finished"]) == (
        "rnnkit.checkpoint", 2, 2 * 5, True)
    tensors = safetensors.torch.load_file(tmp_path / "ck" / "state.safetensors")
    assert "state/rng/torch" in tensors
    assert any(k.startswith("state/optimizer/state/") for k in tensors)
    assert any(k.startswith("state/callbacks/EarlyStopping.0/best_weights/") for k in tensors)


def test_every_n_epochs(tmp_path):
    code = run_killed(lambda: _fit(_model(), tmp_path / "ck", checkpoint_every=2), 3, 0)
    assert code == -9
    assert json.loads((tmp_path / "ck" / "trainer.json").read_text())["epoch"] == 2


def test_a_finished_run_is_not_trained_again(tmp_path, caplog):
    first = _model()
    ref, _ = _fit(first, tmp_path / "ck")
    again = _model()
    with caplog.at_level(logging.WARNING, logger="rnnkit.train.trainer"):
        history, _ = _fit(again, tmp_path / "ck", resume=True)
    assert "already finished" in caplog.text
    assert history.history == ref.history and same_weights(again, first)


def test_resume_without_a_checkpoint_starts_from_the_first_epoch(tmp_path):
    ref = _model()
    ref_history, _ = _fit(ref)
    model = _model()
    history, _ = _fit(model, tmp_path / "new", resume=True)
    assert history.history == ref_history.history and same_weights(model, ref)


@pytest.mark.parametrize(("change", "message"), [
    ({"epochs": EPOCHS + 1}, f"epochs={EPOCHS}, this run has epochs={EPOCHS + 1}"),
    ({"batch_size": 4}, "settings.batch_size=8, this run has settings.batch_size=4"),
    ({"y": Y + 1}, "training data="),
])
def test_other_settings_are_refused_naming_the_difference(tmp_path, change, message):
    code = run_killed(lambda: _fit(_model(), tmp_path / "ck"), 1, 0)
    assert code == -9
    kw = {"epochs": EPOCHS, "batch_size": BATCH, "y": Y, **change}
    model = _model()
    with pytest.raises(ConfigError, match=re.escape(message)):
        model.fit(X, kw["y"], epochs=kw["epochs"], batch_size=kw["batch_size"],
                  validation_split=0.25, callbacks=[EarlyStopping("val_loss", patience=EPOCHS)],
                  verbose=0, seed=7, checkpoint=tmp_path / "ck", resume=True)


def test_resume_needs_a_checkpoint_folder():
    with pytest.raises(ConfigError, match="resume=True needs checkpoint=DIR"):
        _model().fit(X, Y, epochs=1, verbose=0, resume=True)


def test_checkpoint_every_must_be_positive(tmp_path):
    with pytest.raises(ConfigError, match="checkpoint_every must be a positive int, got 0"):
        _fit(_model(), tmp_path / "ck", checkpoint_every=0)


def test_a_folder_of_other_files_is_refused_before_training(tmp_path):
    (tmp_path / "ck").mkdir()
    (tmp_path / "ck" / "notes.txt").write_text("mine")
    model = _model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(ConfigError, match=re.escape(
            "holds 'notes.txt', which rnnkit did not write")):
        _fit(model, tmp_path / "ck")
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_a_damaged_checkpoint_is_a_data_error(tmp_path):
    assert run_killed(lambda: _fit(_model(), tmp_path / "ck"), 2, 0) == -9
    path = tmp_path / "ck" / "state.safetensors"
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(DataError, match=re.escape("state.safetensors")):
        _fit(_model(), tmp_path / "ck", resume=True)


def test_model_checkpoint_callback_keeps_its_best_across_a_resume(tmp_path):
    def fit(ckpt, resume=False):
        saver = ModelCheckpoint(tmp_path / "best", monitor="val_loss")
        model = _model()
        model.fit(X, Y, epochs=EPOCHS, batch_size=BATCH, validation_split=0.25,
                  callbacks=[saver], verbose=0, seed=7, checkpoint=ckpt, resume=resume)
        return saver

    ref = fit(None)
    assert run_killed(lambda: fit(tmp_path / "ck"), 3, 1) == -9
    resumed = fit(tmp_path / "ck", resume=True)
    assert resumed.saved_epochs == ref.saved_epochs
    assert resumed.tracker.best == ref.tracker.best


def test_carried_state_training_resumes_bit_identical(tmp_path):
    """Truncated BPTT (carry_state) with a DataLoader shuffled by its own generator."""
    from torch.utils.data import DataLoader, TensorDataset

    class Carry(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn, self.out = nn.GRU(1, 4, batch_first=True), nn.Linear(4, 1)

        def forward(self, x, state=None):
            h, state = self.rnn(x, state)
            return self.out(h[:, -1]), state

    data = TensorDataset(torch.from_numpy(X), torch.from_numpy(Y))

    def fit(ckpt=None, resume=False):
        torch.manual_seed(0)
        model = Carry()
        loader = DataLoader(data, batch_size=8, shuffle=True,
                            generator=torch.Generator().manual_seed(3), drop_last=True)
        Trainer(model, "mse", "adam", lr=0.01, carry_state=True).fit(
            loader, 4, checkpoint=ckpt, resume=resume)
        return model

    ref = fit()
    assert run_killed(lambda: fit(tmp_path / "ck"), 2, 3) == -9
    assert same_weights(fit(tmp_path / "ck", resume=True), ref)


def test_loader_state_round_trip_repeats_the_order():
    gen = torch.Generator().manual_seed(5)
    batches = ArrayBatches(torch.arange(10.0)[:, None], torch.arange(10.0), 4, shuffle=True,
                           generator=gen)
    state = loader_state(batches)
    first = [y.tolist() for _, y in batches]
    load_loader_state(batches, state)
    assert [y.tolist() for _, y in batches] == first


def test_encode_keeps_tuples_non_finite_floats_int_keys_and_arrays():
    obj = {"t": (1, 2.5), "nan": float("nan"), "inf": -float("inf"), 3: "int key",
           "a": np.arange(3, dtype=np.uint32), "x": torch.ones(2)}
    tensors: dict = {}
    text = json.dumps(encode(obj, tensors, "s"), allow_nan=False)
    back = decode(json.loads(text), tensors)
    assert back["t"] == (1, 2.5) and np.isnan(back["nan"]) and back["inf"] == -float("inf")
    assert back[3] == "int key" and back["a"].dtype == np.uint32 and torch.equal(back["x"],
                                                                                 torch.ones(2))
