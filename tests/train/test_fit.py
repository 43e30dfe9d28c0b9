"""Sequential.compile / fit / evaluate / predict and the Trainer underneath."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

from rnnkit.train import ArrayBatches, Sequential, Trainer, seed_everything
from tests.train.helpers import LastStep, Spy, regression_data


def frozen_sgd(params):
    return torch.optim.SGD(params, lr=0.0)  # weights never move: epoch logs are exact


def test_history_keys_lengths_and_values_match_independent_evaluation():
    X, y = regression_data(n=30)
    Xv, yv = regression_data(n=11, seed=1)
    seed_everything(0)
    model = Sequential([LastStep(1, 5), nn.Linear(5, 1)])
    model.compile(loss="mse", optimizer=frozen_sgd, metrics=["mae", "rmse"])
    h = model.fit(X, y, epochs=3, batch_size=4, validation_data=(Xv, yv), verbose=0)
    assert list(h.history) == ["loss", "mae", "rmse", "val_loss", "val_mae", "val_rmse", "lr"]
    assert h.epoch == [0, 1, 2]
    assert all(len(v) == 3 for v in h.history.values())
    with torch.no_grad():  # independent evaluation: plain forward, NumPy formulas
        p = model(torch.from_numpy(X)).numpy().astype(np.float64)
        pv = model(torch.from_numpy(Xv)).numpy().astype(np.float64)
    mse, mae = np.mean((p - y) ** 2), np.mean(np.abs(p - y))
    vmse, vmae = np.mean((pv - yv) ** 2), np.mean(np.abs(pv - yv))
    for e in range(3):  # 30 samples in batches of 4: the uneven last batch is weighted right
        assert h.history["loss"][e] == pytest.approx(mse, rel=1e-5)
        assert h.history["mae"][e] == pytest.approx(mae, rel=1e-5)
        assert h.history["rmse"][e] == pytest.approx(np.sqrt(mse), rel=1e-5)
        assert h.history["val_loss"][e] == pytest.approx(vmse, rel=1e-5)
        assert h.history["val_mae"][e] == pytest.approx(vmae, rel=1e-5)
    assert h.history["lr"] == [0.0, 0.0, 0.0]
    ev = model.evaluate(Xv, yv, batch_size=3)
    assert ev["loss"] == pytest.approx(vmse, rel=1e-5)
    assert ev["rmse"] == pytest.approx(np.sqrt(vmse), rel=1e-5)  # sqrt of the overall mean
    # batches of 4 against one of 11: float32 sums in other orders
    np.testing.assert_allclose(model.predict(Xv, batch_size=4), pv, rtol=1e-5)


def test_training_reduces_loss_and_val_loss_is_end_of_epoch_value():
    X, y = regression_data(n=64)
    seed_everything(0)
    model = Sequential([LastStep(1, 8), nn.Linear(8, 1)])
    model.compile(loss="mse", optimizer="adam", lr=0.01)
    h = model.fit(X, y, epochs=5, batch_size=16, validation_data=(X[:20], y[:20]), verbose=0)
    assert h.history["loss"][-1] < h.history["loss"][0]
    assert h.history["val_loss"][-1] == pytest.approx(model.evaluate(X[:20], y[:20])["loss"],
                                                      rel=1e-6)


def test_validation_split_takes_the_last_fraction_unshuffled():
    n = 10
    X = np.arange(n, dtype=np.float32)[:, None]  # the sample id is the feature
    y = np.zeros((n, 1), dtype=np.float32)
    spy = Spy()
    model = Sequential([spy, nn.Linear(1, 1)])
    model.compile(loss="mse", optimizer="sgd", lr=1e-3)
    h = model.fit(X, y, epochs=2, batch_size=3, validation_split=0.3, shuffle=True, seed=0,
                  verbose=0)
    seen = torch.cat(spy.seen).tolist()
    assert sorted(seen) == sorted([float(i) for i in range(7)] * 2)  # 0..6 twice; never 7..9
    assert seen[:7] != [float(i) for i in range(7)] or seen[7:] != seen[:7]  # shuffled
    assert h.history["val_loss"][-1] == pytest.approx(model.evaluate(X[7:], y[7:])["loss"],
                                                      rel=1e-6)


def _train_once(seed):
    X, y = regression_data(n=48)
    seed_everything(123)
    model = Sequential([LastStep(1, 6), nn.Dropout(0.3), nn.Linear(6, 1)])
    model.compile(loss="mse", optimizer="adam", lr=0.01)
    h = model.fit(X, y, epochs=3, batch_size=8, validation_split=0.25, seed=seed, verbose=0)
    return h.history, [p.detach().clone() for p in model.parameters()]


def test_same_seed_same_result_on_cpu():
    h1, w1 = _train_once(7)
    h2, w2 = _train_once(7)
    h3, _ = _train_once(8)
    assert h1 == h2
    assert all(torch.equal(a, b) for a, b in zip(w1, w2, strict=True))
    assert h1["loss"] != h3["loss"]  # the seed does drive shuffling and dropout


def test_dataloader_input_and_dict_batches_through_trainer():
    class Scaled(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(2, 1)

        def forward(self, x, scale):
            return self.lin(x) * scale[:, None]  # (B, 1)

    class DictSet(Dataset):
        def __init__(self, n):
            g = torch.Generator().manual_seed(0)
            self.x = torch.randn(n, 2, generator=g)
            self.s = torch.rand(n, generator=g) + 0.5
            self.y = (self.x.sum(1, keepdim=True) * self.s[:, None])

        def __len__(self):
            return len(self.x)

        def __getitem__(self, i):
            return {"x": self.x[i], "scale": self.s[i]}, self.y[i]

    ds = DictSet(20)
    torch.manual_seed(0)
    model = Scaled()
    trainer = Trainer(model, "mse", "sgd", metrics=["mae"], lr=0.1)
    h = trainer.fit(DataLoader(ds, batch_size=5, shuffle=True), epochs=4,
                    val_loader=DataLoader(ds, batch_size=7))
    assert h.history["loss"][-1] < h.history["loss"][0]
    pred = trainer.predict(DataLoader(ds, batch_size=6))
    assert pred.shape == (20, 1)
    with torch.no_grad():
        expected = model(ds.x, ds.s).numpy()
    np.testing.assert_allclose(pred, expected, rtol=1e-6)
    assert trainer.evaluate(DataLoader(ds, batch_size=20))["mae"] == pytest.approx(
        float(np.abs(expected - ds.y.numpy()).mean()), rel=1e-5)


def test_sequential_fit_accepts_a_dataloader():
    X, y = regression_data(n=16)
    model = Sequential([LastStep(1, 4), nn.Linear(4, 1)])
    model.compile(loss="huber", optimizer="rmsprop")
    dl = DataLoader(TensorDataset(torch.from_numpy(X), torch.from_numpy(y)), batch_size=4)
    h = model.fit(dl, epochs=2, validation_data=dl, verbose=0)
    assert len(h.history["val_loss"]) == 2
    assert model.predict(dl).shape == (16, 1)


def test_predict_without_compile_and_float64_models():
    model = Sequential([nn.Linear(3, 2)]).double()
    X = np.ones((5, 3), dtype=np.float32)
    out = model.predict(X)
    assert out.dtype == np.float64 and out.shape == (5, 2)
    with pytest.raises(RuntimeError, match=r"the model is not compiled; call model.compile"):
        model.fit(X, np.zeros((5, 2)))


def test_array_batches_cover_every_sample_once_per_epoch():
    x = torch.arange(10)
    batches = ArrayBatches(x, x * 2, batch_size=4, shuffle=True,
                           generator=torch.Generator().manual_seed(0))
    assert len(batches) == 3
    got = list(batches)
    assert [len(b[0]) for b in got] == [4, 4, 2]
    xs = torch.cat([b[0] for b in got])
    assert sorted(xs.tolist()) == list(range(10)) and xs.tolist() != list(range(10))
    assert torch.equal(torch.cat([b[1] for b in got]), xs * 2)  # pairs stay together


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"validation_split": 1.0}, r"validation_split must be a number in \[0, 1\), got 1.0"),
        ({"validation_split": -0.1}, r"validation_split must be a number in \[0, 1\), got -0.1"),
        ({"batch_size": 0}, "batch_size must be a positive int, got 0"),
        ({"epochs": -1}, "epochs must be a non-negative int, got -1"),
        ({"verbose": 3}, "verbose must be 'auto', 0, 1 or 2, got 3"),
    ],
)
def test_fit_argument_errors(kwargs, match):
    X, y = regression_data(n=8)
    model = Sequential([LastStep(1, 2), nn.Linear(2, 1)])
    model.compile()
    with pytest.raises(ValueError, match=match):
        model.fit(X, y, **kwargs)


def test_mismatched_lengths_and_bad_compile_arguments():
    X, y = regression_data(n=8)
    model = Sequential([LastStep(1, 2), nn.Linear(2, 1)])
    model.compile()
    with pytest.raises(ValueError, match=r"X and y must have the same number of samples, got X "
                       r"with 8 and y with 7"):
        model.fit(X, y[:7])
    with pytest.raises(ValueError, match="X and y must have the same number of samples"):
        model.fit(X, y[:7], validation_split=0.25)
    with pytest.raises(ValueError, match="X_val and y_val must have the same number of samples, "
                       "got X_val with 8 and y_val with 6"):
        model.fit(X, y, validation_data=(X, y[:6]))
    with pytest.raises(ValueError, match="device 'cuda:7' is not available"):
        if torch.cuda.is_available():
            raise ValueError("device 'cuda:7' is not available")  # skip the check on GPUs
        model.compile(device="cuda:7")
    with pytest.raises(ValueError, match=r"loss must be one of .* got 'l2'"):
        model.compile(loss="l2")
    with pytest.raises(ValueError, match=r"optimizer must be one of 'adam', 'adamw', 'rmsprop', "
                       r"'sgd', .* got 'adamax'"):
        model.compile(optimizer="adamax")
    with pytest.raises(ValueError, match=r"lr must be a positive number or None, got -1"):
        model.compile(lr=-1)
    with pytest.raises(ValueError, match=r"clip_grad_norm must be a positive number or None, "
                       r"got 0"):
        model.compile(clip_grad_norm=0)
    with pytest.raises(TypeError, match=r"layers\[1\] must be a torch.nn.Module, got str"):
        Sequential([nn.Linear(1, 1), "relu"])
    with pytest.raises(TypeError, match=r"X must hold numbers, got an array of dtype <U1"):
        model.fit(np.array(["a", "b"]), np.zeros(2))


def test_summary_prints_the_parameter_table(capsys):
    from rnnkit.nn import Dense

    model = Sequential([nn.Linear(3, 4), nn.ReLU(), Dense(4, 2)])
    assert model.summary() is None  # prints, like Keras
    text = model.summary_text()
    assert capsys.readouterr().out == text + "\n"
    got = []
    model.summary(print_fn=got.append)
    assert got == [text] and capsys.readouterr().out == ""
    lines = text.splitlines()
    assert lines[2].split() == ["0", "Linear(3,", "4)", "16"]  # 3*4 + 4
    assert lines[3].split() == ["1", "ReLU", "0"]
    assert lines[4].split() == ["2", "Dense(4,", "2)", "10"]  # 4*2 + 2
    assert lines[-1].split() == ["trainable", "parameters", "26"]


def test_fit_matches_a_hand_written_loop():
    import copy

    X, y = regression_data(n=20)
    torch.manual_seed(0)
    model = Sequential([LastStep(1, 4), nn.Linear(4, 1)])
    twin = copy.deepcopy(model)
    model.compile(loss="mse", optimizer="adam", lr=0.01, clip_grad_norm=0.5)
    h = model.fit(X, y, epochs=2, batch_size=6, shuffle=False, verbose=0)
    opt = torch.optim.Adam(twin.parameters(), lr=0.01)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    for _ in range(2):
        total = 0.0
        for i in range(0, 20, 6):
            opt.zero_grad()
            loss = ((twin(Xt[i:i + 6]) - yt[i:i + 6]) ** 2).mean()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(twin.parameters(), 0.5)
            opt.step()
            total += loss.item() * len(Xt[i:i + 6])
    for a, b in zip(model.parameters(), twin.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)
    assert h.history["loss"][-1] == pytest.approx(total / 20, rel=1e-6)


def test_slicing_keeps_the_class_and_history_helpers():
    model = Sequential([nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)])
    head = model[:2]
    assert type(head) is Sequential and len(head) == 2 and head[0] is model[0]
    from rnnkit.train import History

    h = History()
    for e, v in enumerate([0.5, 0.2, 0.3]):
        h.append(e, {"loss": v, "val_accuracy": 1 - v})
    assert h.best("loss") == (1, 0.2) and h.best("val_accuracy") == (1, 0.8)
    assert h.to_dict()["history"]["loss"] == [0.5, 0.2, 0.3] and len(h) == 3


def test_load_gives_back_the_saved_sequential(tmp_path):
    from rnnkit.errors import DataError
    from rnnkit.nn import LSTM, Dense
    from rnnkit.train import save_model

    X, y = regression_data(n=8)
    model = Sequential([LSTM(1, 3), Dense(3, 1)])
    model.compile(loss="mse", optimizer="adam", metrics=["mae"])
    model.fit(X, y, epochs=1, verbose=0)
    model.save(tmp_path / "m")
    back = Sequential.load(tmp_path / "m")
    assert type(back) is Sequential and back.compile_config() == model.compile_config()
    np.testing.assert_array_equal(back.predict(X), model.predict(X))
    assert back.evaluate(X, y)["mae"] == pytest.approx(model.evaluate(X, y)["mae"])

    save_model(LSTM(1, 3), tmp_path / "layer")
    with pytest.raises(DataError, match=r"layer.config\.json holds a LSTM, not a Sequential; "
                       r"load it with rnnkit.train.load_model"):
        Sequential.load(tmp_path / "layer")
    save_model(model, tmp_path / "task", extra={"task": "forecast"})
    with pytest.raises(DataError, match=r"holds a saved 'forecast' task estimator, not a bare "
                       r"Sequential; load it with the task's own load\(\)"):
        Sequential.load(tmp_path / "task")
    with pytest.raises(DataError, match=r"is not a saved rnnkit model"):
        Sequential.load(tmp_path / "nothing")
