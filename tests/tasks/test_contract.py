"""The one estimator contract, checked on every task estimator alike.

For each task: scikit-learn's ``clone`` and a 2-point ``GridSearchCV`` work; ``predict``
before ``fit`` raises NotFittedError; a model trained, saved and loaded in a FRESH process
gives the same predictions on raw inputs; a folder of another task is refused naming both.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from rnnkit.errors import DataError, NotFittedError
from rnnkit.tasks.base import TASKS, estimator_class, load_estimator, saved_task

sklearn = pytest.importorskip("sklearn")
from sklearn.base import clone  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402

QUIET = {"verbose": 0}


def _series_data(rng):
    t = np.arange(60)
    X = [10 + np.sin(2 * np.pi * (t + k) / 6) + 0.1 * rng.standard_normal(60) for k in range(6)]
    return X, None, X[:2]


def _sequence_data(rng):
    X = rng.integers(0, 256, (48, 5, 3)).astype(np.uint8)  # raw images (N, rows, pixels)
    y = np.where(X[:, :, 0].astype(int).sum(1) > X[:, :, 2].astype(int).sum(1), "hi", "lo")
    return X, y, X[:10]


def _text_data(rng):
    good, bad = ["great", "fine", "superb"], ["awful", "boring", "bad"]
    texts, y = [], []
    for i in range(48):
        lab = i % 2
        texts.append(f"the film is {rng.choice(good if lab else bad)}")
        y.append("pos" if lab else "neg")
    return texts, np.asarray(y), texts[:10]


def _lm_data(rng):
    words = ["the", "cat", "sat", "on", "a", "mat", "and", "dog", "ran"]
    docs = [" ".join(rng.choice(words, 40)) for _ in range(8)]
    return docs, None, ["the cat", "a dog"]


def _seq2seq_data(rng):
    pairs = [(s, s[::-1]) for s in ("".join(rng.choice(list("abcd"), 4)) for _ in range(64))]
    return [p[0] for p in pairs], [p[1] for p in pairs], [p[0] for p in pairs[:8]]


#: task -> (tiny settings, data maker, grid of one parameter)
CASES = {
    "forecaster": (dict(model="linear", input_len=6, horizon=3, epochs=2, patience=None),
                   _series_data, {"hidden": [4, 8]}),
    "sequence-classifier": (dict(model="gru", hidden_size=4, epochs=2), _sequence_data,
                            {"hidden_size": [4, 6]}),
    "text-classifier": (dict(model="gru", hidden_size=4, embed_size=4, epochs=2), _text_data,
                        {"hidden_size": [4, 6]}),
    "language-model": (dict(embed_size=8, hidden_size=8, num_layers=1, epochs=1, batch_size=2,
                            bptt=5), _lm_data, {"hidden_size": [8, 12]}),
    "seq2seq": (dict(embed_size=4, hidden_size=8, epochs=1, batch_size=16), _seq2seq_data,
                {"hidden_size": [8, 12]}),
}


def _make(task):
    settings, data, grid = CASES[task]
    cls = estimator_class(task)
    allowed = set(cls._param_names())
    kw = {k: v for k, v in {**settings, **QUIET}.items() if k in allowed}
    return cls(**kw), data, grid


def _predict(est, X):
    if est.task == "language-model":
        return [est.generate(p, length=5, temperature=0) for p in X]
    out = est.predict(X)
    return np.asarray(out).tolist()


@pytest.mark.parametrize("task", sorted(TASKS))
def test_clone_and_grid_search(task, rng):
    est, data, grid = _make(task)
    twin = clone(est)
    assert twin is not est and twin.get_params() == est.get_params()
    X, y, _ = data(rng)
    search = GridSearchCV(est, grid, cv=2, error_score="raise")
    search.fit(X, y) if y is not None else search.fit(X)
    assert set(search.best_params_) == set(grid)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


@pytest.mark.parametrize("task", sorted(TASKS))
def test_not_fitted(task, rng):
    est, data, _ = _make(task)
    _, _, X_new = data(rng)
    with pytest.raises(NotFittedError, match="not fitted"):
        _predict(est, X_new)


@pytest.mark.parametrize("task", sorted(TASKS))
def test_saved_model_answers_the_same_in_a_fresh_process(task, rng, tmp_path):
    est, data, _ = _make(task)
    X, y, X_new = data(rng)
    est.fit(X, y) if y is not None else est.fit(X)
    est.save(tmp_path / "model")
    assert saved_task(tmp_path / "model") == task
    (tmp_path / "inputs.json").write_text(json.dumps(
        np.asarray(X_new).tolist() if not isinstance(X_new, list) else
        [np.asarray(x).tolist() for x in X_new]))
    code = textwrap.dedent(f"""
        import json, sys
        import numpy as np
        sys.path.insert(0, {str(__import__('pathlib').Path(__file__).parent)!r})
        from test_contract import _predict
        from rnnkit.tasks.base import load_estimator
        est = load_estimator({str(tmp_path / 'model')!r})
        X = json.load(open({str(tmp_path / 'inputs.json')!r}))
        if est.task == "sequence-classifier":
            X = np.asarray(X, dtype=np.uint8)
        elif est.task == "forecaster":
            X = [np.asarray(x) for x in X]
        print(json.dumps(_predict(est, X)))
    """)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    fresh = json.loads(run.stdout.strip().splitlines()[-1])
    here = _predict(est, X_new)
    if est.task == "forecaster":
        np.testing.assert_allclose(np.asarray(fresh), np.asarray(here), rtol=1e-6)
    else:
        assert fresh == here


def test_a_folder_of_another_task_is_refused_naming_both(rng, tmp_path):
    est, data, _ = _make("sequence-classifier")
    X, y, _ = data(rng)
    est.fit(X, y).save(tmp_path / "clf")
    with pytest.raises(DataError, match="holds a sequence classifier, not a forecaster"):
        estimator_class("forecaster").load(tmp_path / "clf")
    assert load_estimator(tmp_path / "clf").task == "sequence-classifier"


def test_params_come_from_the_signature_only():
    for task in TASKS:
        cls = estimator_class(task)
        est = cls()
        params = est.get_params()
        assert list(params) == sorted(params)
        assert est.set_params(**params) is est
        assert repr(est) == f"{cls.__name__}()"
