"""save_model / load_model / save_weights / load_weights: JSON config + safetensors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from rnnkit.errors import ConfigError, DataError
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
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["config.json",
                                                                "model.safetensors"]
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
    with pytest.raises(DataError, match=r"weights file .*w.safetensors does not fit the model"):
        load_weights(nn.Linear(2, 2), tmp_path / "w.safetensors")
    with pytest.raises(DataError, match=r"weights file .*nope.safetensors does not exist"):
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
    with pytest.raises(ConfigError, match=r"config class 'os.system' is not a registered "
                       r"rnnkit.nn module"):
        load_model(tmp_path / "m")
