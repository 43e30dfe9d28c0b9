"""save_model / load_model / save_weights / load_weights: JSON config + safetensors."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch
from torch import nn

from rnnkit.errors import ConfigError, DataError, TrainingFailed
from rnnkit.nn import LSTM, Dense, SimpleRNN
from rnnkit.train import (
    Sequential,
    load_model,
    load_weights,
    save_model,
    save_weights,
    seed_everything,
)
from tests.train.helpers import regression_data


def small_rnn() -> Sequential:
    return Sequential([SimpleRNN(1, 4, return_sequences=True), LSTM(4, 3), Dense(3, 1)])


def test_round_trip_gives_identical_predictions(tmp_path):
    X, y = regression_data(n=16)
    seed_everything(0)
    model = small_rnn()
    model.compile(loss="mae", optimizer="adam", lr=0.01, metrics=["mse"])
    model.fit(X, y, epochs=1, batch_size=8, verbose=0)
    extra = {"scaler": {"mean": 0.25, "std": [1.5, 2.0]}, "input_len": 6}
    model.save(tmp_path / "m", extra=extra)
    assert sorted(p.name for p in (tmp_path / "m").iterdir()
                  if not p.name.startswith(".")) == ["config.json", "model.safetensors"]
    cfg = json.loads((tmp_path / "m" / "config.json").read_text())
    assert cfg["model"]["class"] == "Sequential"
    assert [c["class"] for c in cfg["model"]["config"]["layers"]] == ["SimpleRNN", "LSTM", "Dense"]
    loaded, got_extra = load_model(tmp_path / "m", with_extra=True)
    assert got_extra == extra
    assert type(loaded) is Sequential and loaded is not model
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    for (k1, v1), (k2, v2) in zip(model.state_dict().items(), loaded.state_dict().items(),
                                  strict=True):
        assert k1 == k2 and torch.equal(v1, v2)
    # compiled again from the saved names: evaluate works and agrees
    assert loaded.evaluate(X, y) == pytest.approx(model.evaluate(X, y))
    assert loaded.trainer.metrics[0].name == "mse"


def test_dtype_and_plain_save_model_of_a_layer(tmp_path):
    layer = Dense(3, 2, activation="tanh").double()
    save_model(layer, tmp_path / "d")
    back = load_model(tmp_path / "d")
    assert isinstance(back, Dense) and back.weight.dtype == torch.float64
    x = torch.randn(4, 3, dtype=torch.float64)
    assert torch.equal(back(x), layer(x))


def test_tied_weights_and_weights_files(tmp_path):
    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(5, 3)
            self.out = nn.Linear(3, 5, bias=False)
            self.out.weight = self.emb.weight  # shared tensor (tied LM weights)

    a, b = Tied(), Tied()
    save_weights(a, tmp_path / "w.safetensors")
    load_weights(b, tmp_path / "w.safetensors")
    assert torch.equal(a.emb.weight, b.emb.weight) and b.out.weight is b.emb.weight
    with pytest.raises(DataError, match=r"weights file .*w\.safetensors' does not fit the "
                       r"model: missing tensors \['bias', 'weight'\]; unexpected tensors "
                       r"\['emb.weight'\]"):
        load_weights(nn.Linear(2, 2), tmp_path / "w.safetensors")
    with pytest.raises(DataError, match=r"weights file .*nope\.safetensors': file not found"):
        load_weights(b, tmp_path / "nope.safetensors")


def test_save_errors_name_the_problem(tmp_path):
    model = Sequential([Dense(2, 2), nn.ReLU()])
    with pytest.raises(ConfigError, match=r"layer 1 \(ReLU\) cannot be saved as config"):
        model.save(tmp_path / "x")
    assert not (tmp_path / "x").exists()
    with pytest.raises(TypeError, match=r"extra must be a JSON-serialisable dict"):
        save_model(Dense(2, 2), tmp_path / "y", extra={"a": object()})
    assert not (tmp_path / "y").exists()
    with pytest.raises(DataError, match=r"config.json does not exist: .* is not a saved rnnkit "
                       r"model"):
        load_model(tmp_path / "missing")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "config.json").write_text('{"format": "other"}')
    with pytest.raises(DataError, match=r"is not an rnnkit model config"):
        load_model(tmp_path / "bad")


def test_loading_cannot_build_unregistered_classes(tmp_path):
    save_model(Dense(2, 1), tmp_path / "m")
    path = tmp_path / "m" / "config.json"
    cfg = json.loads(path.read_text())
    cfg["model"] = {"class": "os.system", "config": {"command": "echo hi"}}
    path.write_text(json.dumps(cfg))
    with pytest.raises(DataError, match=r"config\.json': the model does not build: config "
                       r"class 'os.system' is not a registered rnnkit.nn module"):
        load_model(tmp_path / "m")


# -- validation of what is read and written ------------------------------------------------------

def saved_dense(tmp_path, name="m"):
    seed_everything(0)
    save_model(Dense(3, 2), tmp_path / name)
    return tmp_path / name


def edit_config(folder, **changes):
    path = folder / "config.json"
    cfg = json.loads(path.read_text())
    for key, value in changes.items():
        if value is KeyError:
            cfg.pop(key)
        else:
            cfg[key] = value
    path.write_text(json.dumps(cfg))


def test_the_same_weights_save_to_the_same_bytes(tmp_path):
    model = small_rnn()
    blobs = []
    for i in range(4):  # safetensors writes its metadata in hash order: it changed per save
        save_weights(model, tmp_path / f"w{i}.safetensors")
        blobs.append((tmp_path / f"w{i}.safetensors").read_bytes())
    assert all(b == blobs[0] for b in blobs)
    n = int.from_bytes(blobs[0][:8], "little")
    header = json.loads(blobs[0][8:8 + n])
    assert list(header["__metadata__"]) == ["format", "rnnkit_version"]
    assert load_weights(small_rnn(), tmp_path / "w0.safetensors") is not None


def test_saving_refuses_nan_weights(tmp_path):
    model = Dense(3, 2)
    with torch.no_grad():
        model.bias[1] = float("nan")
    with pytest.raises(TrainingFailed, match=r"model weights hold NaN or inf in 'bias'; refusing "
                       r"to save a diverged model"):
        save_model(model, tmp_path / "m")
    with pytest.raises(TrainingFailed, match="'bias'"):
        save_weights(model, tmp_path / "w.safetensors")
    assert list(tmp_path.iterdir()) == []


def test_config_accepts_a_byte_order_mark(tmp_path):
    folder = saved_dense(tmp_path)
    path = folder / "config.json"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert isinstance(load_model(folder), Dense)


@pytest.mark.parametrize("changes, message", [
    ({"colour": "blue"}, r"unknown key 'colour'; known keys are"),
    ({"model": KeyError}, r"no 'model' entry"),
    ({"model": [1, 2]}, r"'model' must be an object, got \[1, 2\]"),
    ({"model": {"class": "Dense"}}, r"'model' must be \{\"class\": name"),
    ({"extra": "x"}, r"'extra' must be an object, got 'x'"),
    ({"compile": 3}, r"'compile' must be an object or null, got 3"),
    ({"format_version": True}, r"'format_version' must be an integer, got True"),
    ({"format_version": 99}, r"format_version 99; this rnnkit reads 1 to 1"),
    ({"dtype": "Tensor"}, r"dtype must be one of \['float16', 'bfloat16', 'float32', "
                          r"'float64'\], got 'Tensor'"),
    ({"dtype": "int64"}, r"dtype must be one of .* got 'int64'"),
    ({"model": {"class": "Dense", "config": {"in_features": 3}}},
     r"the model does not build: .*missing 1 required positional argument: 'out_features'"),
    ({"model": {"class": "Dense", "config": {"in_features": 3, "out_features": -2}}},
     r"the model does not build: "),
    ({"model": {"class": "LSTM", "config": {"input_size": 3, "hidden_size": 10 ** 6}}},
     r"the model has \d+ weights, more than the limit of 2147483648"),
])
def test_bad_configs_are_data_errors_naming_the_file(tmp_path, changes, message):
    folder = saved_dense(tmp_path)
    edit_config(folder, **changes)
    with pytest.raises(DataError, match=r"config\.json.*" + message):
        load_model(folder)


@pytest.mark.parametrize("text, message", [
    ("[" * 100_000, r"not valid JSON: nested too deeply"),
    ('{"format": "rnnkit.model", ', r"not valid JSON: Expecting property name"),
    ("[1, 2]", r"is not an rnnkit model config"),
])
def test_unreadable_configs(tmp_path, text, message):
    folder = saved_dense(tmp_path)
    (folder / "config.json").write_text(text)
    with pytest.raises(DataError, match=message):
        load_model(folder)


def test_config_that_is_not_a_regular_file_is_refused_without_opening(tmp_path):
    folder = saved_dense(tmp_path)
    (folder / "config.json").unlink()
    os.mkfifo(folder / "config.json")  # opening it would block forever
    with pytest.raises(DataError, match=r"config\.json' is a named pipe \(FIFO\), expected a "
                       r"regular file"):
        load_model(folder)


def _corrupt_weights(path, how):
    raw = bytearray(path.read_bytes())
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    if how == "truncated":
        return bytes(raw[:-5])
    if how == "short":
        return bytes(raw[:5])
    if how == "huge header length":
        return (2 ** 62).to_bytes(8, "little") + bytes(raw[8:])
    if how == "garbage header":
        return bytes(raw[:8]) + b"\xff" * n + bytes(raw[8 + n:])
    if how == "header is a list":
        return bytes(raw[:8]) + b"[]".ljust(n) + bytes(raw[8 + n:])
    entry = header["weight"]
    if how == "wrong shape":
        entry["shape"] = [3, 2]
        body = bytes(raw[8 + n:])
    elif how == "renamed":
        header["weights"] = header.pop("weight")
        body = bytes(raw[8 + n:])
    else:
        raise AssertionError(how)
    text = json.dumps(header).encode()
    return len(text).to_bytes(8, "little") + text + body


@pytest.mark.parametrize("how, message", [
    ("truncated", r"tensor '\w+' has data offsets .* \(truncated\?\)"),
    ("short", r"is truncated: 5 bytes, too short for a safetensors header"),
    ("huge header length", r"is corrupt or truncated: its header claims 4611686018427387904"),
    ("garbage header", r"has a corrupt header \(not JSON"),
    ("header is a list", r"has a corrupt header: a JSON list"),
    ("wrong shape", r"does not fit the model: tensor 'weight' has shape \[3, 2\], the model "
                    r"expects \[2, 3\]"),
    ("renamed", r"does not fit the model: missing tensors \['weight'\]; unexpected tensors "
                r"\['weights'\]"),
])
def test_corrupt_weights_are_data_errors_naming_the_file(tmp_path, how, message):
    folder = saved_dense(tmp_path)
    path = folder / "model.safetensors"
    path.write_bytes(_corrupt_weights(path, how))
    with pytest.raises(DataError, match=r"model\.safetensors'?:? .*" + message):
        load_model(folder)


def test_weights_of_the_wrong_dtype_or_not_finite(tmp_path):
    from safetensors.torch import save_file

    folder = saved_dense(tmp_path)
    good = Dense(3, 2).state_dict()
    save_file({k: v.double() for k, v in good.items()}, folder / "model.safetensors")
    with pytest.raises(DataError, match=r"model\.safetensors' does not fit the model: tensor "
                       r"'\w+' is F64, the model expects F32"):
        load_model(folder)
    bad = {k: v.clone() for k, v in good.items()}
    bad["weight"][0, 1] = float("inf")
    save_file(bad, folder / "model.safetensors")
    with pytest.raises(DataError, match=r"model\.safetensors': tensor 'weight' holds NaN or "
                       r"inf"):
        load_model(folder)
