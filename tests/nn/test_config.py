"""Configs: every registered rnnkit.nn module rebuilds from JSON with identical behaviour."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

import rnnkit.nn as rnn
from rnnkit.errors import ConfigError
from rnnkit.nn import config

MODULES = [
    rnn.SimpleRNNCell(3, 4, "relu"),
    rnn.LSTMCell(3, 4, bias=False),
    rnn.GRUCell(3, 4, init="torch"),
    rnn.LNSimpleRNNCell(3, 4),
    rnn.LNLSTMCell(3, 4),
    rnn.LNGRUCell(3, 4),
    rnn.SimpleRNN(3, 4, 2, nonlinearity="relu", return_sequences=True),
    rnn.LSTM(3, 4, 2, bidirectional=True, merge_mode="sum", dropout=0.1, stateful=True),
    rnn.GRU(3, 4, go_backwards=True, recurrent_dropout=0.2, mc_dropout=True, init="torch"),
    rnn.LNSimpleRNN(3, 4, input_dropout=0.1),
    rnn.LNLSTM(3, 4, return_state=True, path="loop"),
    rnn.LNGRU(3, 4, bias=False),
    rnn.Recurrent([rnn.LSTMCell(3, 4), rnn.LSTMCell(8, 4)], bidirectional=True),
    rnn.Bidirectional(rnn.GRU(3, 4, return_sequences=True), merge_mode="ave"),
    rnn.Dense(3, 2, activation="sigmoid"),
    rnn.Conv1D(3, 2, 4, stride=2, padding="causal", activation="relu"),
    rnn.TimeDistributed(rnn.Dense(3, 2)),
    rnn.Embedding(10, 3, padding_idx=0),
    rnn.Flatten(),
    rnn.LayerNorm(3),
    rnn.BatchNorm1D(3),
]


@pytest.mark.parametrize("module", MODULES, ids=lambda m: type(m).__name__)
def test_config_round_trip_through_json(module):
    cfg = json.loads(json.dumps(config.to_config(module)))
    assert cfg["class"] == type(module).__name__
    again = config.from_config(cfg)
    assert type(again) is type(module)
    assert again.get_config() == module.get_config()
    assert rnn.get_config(again) == module.get_config()
    again.load_state_dict(module.state_dict())
    module.eval()
    again.eval()
    if isinstance(module, rnn.Embedding):
        x = torch.tensor([[1, 2, 3]])
    elif isinstance(module, rnn.Cell):
        x = torch.randn(2, 3)
    else:
        x = torch.randn(2, 6, 3)
    if isinstance(module, rnn.Cell):
        s = module.initial_state(2)
        assert torch.equal(module(x, s)[0], again(x, s)[0])
    elif getattr(module, "mc_dropout", False):
        assert again(x).shape == module(x).shape
    else:
        a, b = module(x), again(x)
        for p, q in zip(
            a if isinstance(a, tuple) else (a,), b if isinstance(b, tuple) else (b,), strict=True
        ):
            if isinstance(p, torch.Tensor):
                assert torch.equal(p, q)


def test_named_layer_config_is_the_constructor_arguments():
    cfg = rnn.LSTM(3, 4).get_config()
    assert cfg == {
        "input_size": 3,
        "hidden_size": 4,
        "num_layers": 1,
        "bidirectional": False,
        "merge_mode": "concat",
        "return_sequences": False,
        "return_state": False,
        "stateful": False,
        "go_backwards": False,
        "dropout": 0.0,
        "input_dropout": 0.0,
        "recurrent_dropout": 0.0,
        "mc_dropout": False,
        "init": "keras",
        "bias": True,
        "path": "auto",
    }
    assert rnn.SimpleRNN(3, 4).get_config()["nonlinearity"] == "tanh"


def test_config_errors():
    with pytest.raises(
        ConfigError, match=r"config class 'Nope' is not a registered rnnkit.nn module"
    ):
        config.from_config({"class": "Nope", "config": {}})
    with pytest.raises(ConfigError, match=r"config must be a dict with keys 'class' and 'config'"):
        config.from_config({"cls": "LSTM"})
    with pytest.raises(ConfigError, match=r"module class 'Linear' is not registered"):
        config.to_config(nn.Linear(2, 2))
    with pytest.raises(ConfigError, match=r"config for 'Dense' does not match its constructor"):
        config.from_config({"class": "Dense", "config": {"in_features": 2}})


def test_user_cells_register():
    @config.register
    class TinyCell(rnn.Cell):
        def __init__(self, input_size: int, hidden_size: int) -> None:
            super().__init__(input_size, hidden_size)
            self.lin = nn.Linear(input_size + hidden_size, hidden_size)

        def forward(self, x_t, state):
            h = torch.tanh(self.lin(torch.cat([x_t, state], -1)))
            return h, h

    layer = rnn.Recurrent(TinyCell(3, 4), return_sequences=True)
    again = config.from_config(json.loads(json.dumps(config.to_config(layer))))
    again.load_state_dict(layer.state_dict())
    x = torch.randn(2, 5, 3)
    assert torch.equal(layer(x), again(x))


@pytest.mark.parametrize("module", MODULES, ids=lambda m: type(m).__name__)
def test_config_keys_are_the_constructor_arguments(module):
    # help(rnnkit.nn.LSTM) shows every option: no **options hides return_sequences & co.
    import inspect

    if type(module).__init__ is nn.Module.__init__:  # Flatten: no arguments at all
        assert module.get_config() == {}
        return
    params = inspect.signature(type(module)).parameters
    assert not any(p.kind is p.VAR_KEYWORD for p in params.values())
    assert set(module.get_config()) <= set(params)
