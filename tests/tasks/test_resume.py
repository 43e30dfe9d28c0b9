"""Every task's fit, killed with SIGKILL at a random batch and resumed, ends bit-identical
to an uninterrupted fit: weights, history and predictions (forked child; see
tests/train/helpers.run_killed)."""

from __future__ import annotations

import random
import re

import numpy as np
import pytest

from rnnkit.errors import ConfigError
from rnnkit.tasks.classify import SequenceClassifier, TextClassifier
from rnnkit.tasks.forecast import Forecaster
from rnnkit.tasks.lm import LanguageModelTask
from rnnkit.tasks.seq2seq import Seq2SeqTask
from tests.train.helpers import run_killed, same_weights


def _ragged(rng, n=60):
    """Sequences of 3 to 8 steps (padded, length-bucketed batches): label = sign of the sum."""
    X = [rng.standard_normal((int(rng.integers(3, 9)), 2)).astype(np.float32) for _ in range(n)]
    y = np.asarray(["pos" if x.sum() > 0 else "neg" for x in X])
    return X, y


def _texts(rng, n=48):
    good, bad = ["great", "fine"], ["awful", "bad"]
    y = np.asarray(["pos" if i % 2 else "neg" for i in range(n)])
    return [f"it is {rng.choice(good if i % 2 else bad)} {'very ' * int(rng.integers(0, 3))}"
            for i in range(n)], y


def _series(rng):
    t = np.arange(120)
    return 10 + np.sin(2 * np.pi * t / 12) + 0.1 * rng.standard_normal(120)


def _lm_text(rng):
    return " ".join(rng.choice(["the", "cat", "sat", "on", "a", "mat", "dog"], 400))


def _pairs(rng):
    return [(s, s[::-1]) for s in ("".join(rng.choice(list("abc"), 3)) for _ in range(48))]


Q = {"verbose": 0}
#: task -> (estimator maker, data maker, batches per epoch, epochs)
CASES = {
    "sequence-classifier (padded, bucketed)": (
        lambda: SequenceClassifier(model="lstm", hidden_size=6, epochs=5, batch_size=8,
                                   lr=0.02, patience=2, **Q), _ragged, 6, 5),
    "text-classifier (DataLoader shuffle)": (
        lambda: TextClassifier(model="gru", hidden_size=4, embed_size=4, bucket=False,
                               epochs=4, batch_size=8, dropout=0.2, **Q), _texts, 5, 4),
    "forecaster": (
        lambda: Forecaster(model="gru", input_len=8, horizon=3, epochs=5, batch_size=16,
                           hidden=6, dropout=0.1, patience=2, **Q), _series, 5, 5),
    "language-model (carried state)": (
        lambda: LanguageModelTask(embed_size=6, hidden_size=6, num_layers=1, epochs=3,
                                  batch_size=4, bptt=10, **Q), _lm_text, 9, 3),
    "seq2seq": (
        lambda: Seq2SeqTask(embed_size=4, hidden_size=6, epochs=3, batch_size=8, **Q),
        _pairs, 6, 3),
}


def _fit(est, data, **kw):
    return est.fit(*data, **kw) if isinstance(data, tuple) else est.fit(data, **kw)


@pytest.mark.parametrize("case", sorted(CASES))
def test_killed_fit_resumes_bit_identical(case, tmp_path):
    make, data_of, batches, epochs = CASES[case]
    data = data_of(np.random.default_rng(0))
    ref = _fit(make(), data)
    epoch = random.randrange(min(epochs, len(ref.history_["loss"])))
    batch = random.randrange(batches)
    point = f"{case}: killed after batch {batch} of epoch {epoch}"
    code = run_killed(lambda: _fit(make(), data, checkpoint=tmp_path / "ck"), epoch, batch)
    assert code == -9, point
    est = _fit(make(), data, checkpoint=tmp_path / "ck", resume=True)
    assert same_weights(est.model_, ref.model_), point
    assert est.history_ == ref.history_, point


def test_a_changed_parameter_is_refused_naming_it(tmp_path):
    X, y = _ragged(np.random.default_rng(0))
    make = CASES["sequence-classifier (padded, bucketed)"][0]
    assert run_killed(lambda: make().fit(X, y, checkpoint=tmp_path / "ck"), 1, 0) == -9
    with pytest.raises(ConfigError, match=re.escape(
            "settings.lr=0.02, this run has settings.lr=0.05")):
        make().set_params(lr=0.05).fit(X, y, checkpoint=tmp_path / "ck", resume=True)
    # verbose and device are not settings of the run: a resume may change them
    make().set_params(verbose=2).fit(X, y, checkpoint=tmp_path / "ck", resume=True)


def test_precision_is_checked_at_fit():
    X, y = _ragged(np.random.default_rng(0), 10)
    with pytest.raises(ConfigError, match=re.escape(
            "precision must be one of 'fp32', 'bf16', 'fp16', got 'fp64'")):
        SequenceClassifier(precision="fp64", **Q).fit(X, y)
