"""crop: window slicing of the training sequences (RandomCrop) and its classifier option."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from rnnkit.errors import ConfigError
from rnnkit.nn.config import from_config, to_config
from rnnkit.tasks.base import load_estimator
from rnnkit.tasks.classify import SequenceClassifier
from rnnkit.tasks.classify.augment import RandomCrop
from rnnkit.tasks.classify.model import RNNClassifier


def _start_of(row: torch.Tensor, source: torch.Tensor) -> int:
    """Where the window ``row`` (K, D) lies in ``source`` (T, D); AssertionError if nowhere."""
    K = len(row)
    starts = [s for s in range(len(source) - K + 1) if torch.equal(source[s:s + K], row)]
    assert starts, "the window is no contiguous part of its sequence"
    return starts[0]


def test_equal_lengths_read_one_window_each():
    torch.manual_seed(0)
    x = torch.randn(64, 20, 2)
    out, lengths = RandomCrop(0.9).train()(x)
    assert lengths is None and out.shape == (64, 18, 2)  # ceil(0.9 * 20)
    starts = {_start_of(out[i], x[i]) for i in range(64)}
    assert starts == {0, 1, 2}  # every start 0 .. T - K is drawn, no other


def test_padded_windows_stay_inside_the_valid_steps():
    torch.manual_seed(1)
    lengths = torch.tensor([30, 11, 4, 1] * 8)
    x = torch.randn(32, 30, 3)
    for i, n in enumerate(lengths.tolist()):
        x[i, n:] = 0.0  # padding
    out, new = RandomCrop(0.7).train()(x, lengths)
    keep = [max(1, math.ceil(0.7 * n)) for n in lengths.tolist()]
    assert new.tolist() == keep and new.dtype == lengths.dtype
    assert out.shape == (32, max(keep), 3)
    for i, (n, k) in enumerate(zip(lengths.tolist(), keep, strict=True)):
        s = _start_of(out[i, :k], x[i, :n])  # inside the valid steps
        assert 0 <= s <= n - k
        assert not out[i, k:].any()  # padded steps are 0


def test_evaluation_and_ratio_one_read_whole_sequences():
    x, lengths = torch.randn(4, 9, 1), torch.tensor([9, 5, 3, 9])
    for crop in (RandomCrop(0.5).eval(), RandomCrop(1.0).train()):
        out, new = crop(x, lengths)
        assert out is x and new is lengths


@pytest.mark.parametrize("ratio", [0, -0.1, 1.5, True, "0.9", float("nan")])
def test_bad_ratio(ratio):
    with pytest.raises(ValueError, match="ratio must be a number in"):
        RandomCrop(ratio)


def test_network_config_and_last_step_pooling():
    net = RNNClassifier(1, 3, "gru-fcn", 8, pooling="max", conv_blocks=1, crop=0.8)
    again = from_config(to_config(net))
    assert again.get_config()["crop"] == 0.8 and again.crop.ratio == 0.8
    assert "crop" not in RNNClassifier(1, 3, "gru-fcn", 8, pooling="max",
                                       conv_blocks=1).get_config()  # as saved before
    with pytest.raises(ValueError, match="pools over time"):
        RNNClassifier(1, 3, "lstm", 8, pooling="last", crop=0.8)


def _bumps(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two classes: a bump at a random place, wide or narrow."""
    rng = np.random.default_rng(seed)
    t, y = np.arange(60), np.repeat([0, 1], 12)
    centre = rng.uniform(15, 45, size=24)[:, None]
    width = np.where(y == 0, 2.0, 6.0)[:, None]
    return np.exp(-0.5 * ((t - centre) / width) ** 2) + 0.05 * rng.normal(size=(24, 60)), y


def test_classifier_saves_crop_and_refuses_it_for_the_last_step(tmp_path):
    X, y = _bumps()
    clf = SequenceClassifier(crop=0.9, epochs=3, ensemble=1, verbose=0).fit(X, y)
    assert clf.model_.crop.ratio == 0.9 and clf.resolved_["crop"] == 0.9
    path = clf.save(tmp_path / "m")
    np.testing.assert_allclose(load_estimator(path).predict_proba(X), clf.predict_proba(X),
                               rtol=1e-5, atol=1e-6)
    plain = SequenceClassifier("lstm", epochs=1, verbose=0).fit(X, y)  # crop="auto"
    assert plain.model_.crop is None and plain.resolved_["crop"] == 1.0  # whole sequences
    last = SequenceClassifier("conv-gru", pooling="last", epochs=1, ensemble=1,
                              verbose=0).fit(X, y)
    assert last.resolved_["crop"] == 1.0  # a conv model that reads its last step: whole
    with pytest.raises(ConfigError, match=r"crop=0\.5 is for a model that pools over time"):
        SequenceClassifier("lstm", crop=0.5).fit(X, y)
    with pytest.raises(ConfigError, match=r"crop must be a number in \(0, 1\]"):
        SequenceClassifier(crop=1.2).fit(X, y)


def test_cropped_training_fits_variable_lengths():
    X, y = _bumps(1)
    seqs = [x[: 40 + 2 * i] for i, x in enumerate(X)]  # 24 lengths, 40 .. 86 steps
    clf = SequenceClassifier(crop=0.9, epochs=30, ensemble=1, verbose=0, seed=0).fit(seqs, y)
    assert clf.resolved_["conv_norm"] == "renorm"  # the padded path
    assert clf.model_.crop.ratio == 0.9  # the windows were drawn
    assert clf.score(seqs, y) >= 0.9


def _budget_only(monkeypatch, seconds: float) -> None:
    """Fits resolve their budget and build their networks without training them, under an
    AUTO_SECONDS of ``seconds``."""
    from rnnkit.tasks.classify import budget

    monkeypatch.setattr(budget, "AUTO_SECONDS", seconds)
    monkeypatch.setattr(SequenceClassifier, "_train", lambda self, net, *a, **k: {"loss": []})
    monkeypatch.setattr(SequenceClassifier, "_check_chance", lambda self, *a: None)


def _few_shot(per_class: int, classes: int = 40, steps: int = 200) -> tuple[np.ndarray, ...]:
    """``classes`` of ``per_class`` random series of ``steps`` steps (two a class: 80 series
    in batches of 8, 100 epochs of 18 s predicted, 250 wanted)."""
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(classes), per_class)
    return rng.normal(size=(len(y), steps)).astype(np.float32), y


@pytest.mark.parametrize("seconds", [25.0, 40.0])
def test_auto_windows_where_the_time_binds_the_few_shot_epochs(monkeypatch, seconds):
    from rnnkit.tasks.classify.budget import MIN_WINDOW, wanted_epochs

    _budget_only(monkeypatch, seconds)
    X, y = _few_shot(2)
    whole = SequenceClassifier(crop=1.0, verbose=0).fit(X, y)  # the epochs of whole series
    wanted = wanted_epochs(len(y), 40)  # 250
    assert whole.epochs_ < wanted  # the time binds
    clf = SequenceClassifier(verbose=0).fit(X, y)  # crop="auto"
    assert clf.crop_ == max(MIN_WINDOW, whole.epochs_ / wanted) < 1
    assert clf.resolved_["crop"] == clf.crop_ and clf.model_.crop.ratio == clf.crop_
    assert whole.epochs_ < clf.epochs_ <= wanted  # the windows' cheaper epochs: more of them


def test_auto_reads_whole_series_where_the_time_does_not_bind(monkeypatch):
    _budget_only(monkeypatch, 1e6)
    X, y = _few_shot(2)  # few series a class, time to spare
    clf = SequenceClassifier(ensemble=1, verbose=0).fit(X, y)
    assert clf.crop_ == 1.0 and clf.model_.crop is None
    _budget_only(monkeypatch, 25.0)
    X, y = _few_shot(40, classes=2)  # the step budget already reads each class enough
    clf = SequenceClassifier(ensemble=1, verbose=0).fit(X, y)
    assert clf.crop_ == 1.0 and clf.model_.crop is None
    assert SequenceClassifier(epochs=5, verbose=0).fit(X, y).crop_ == 1.0  # epochs given
