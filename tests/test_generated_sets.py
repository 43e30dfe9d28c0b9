"""``benchmarks/generated_sets.py`` writes each generated set as rnnkit's reader reads it: the
classes, series a class and length of its table, the same numbers for the same seed."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from rnnkit.data.labelled import load_ts

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "generated_sets.py"


@pytest.fixture(scope="module")
def generated():
    spec = importlib.util.spec_from_file_location("generated_sets", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(SCRIPT.parent))  # for its held_out_sets import
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(SCRIPT.parent))
    return module


@pytest.mark.parametrize("name", ["Bumps12", "Shapelets20", "Spectra30", "Pulses40"])
def test_a_generated_set_reads_back_as_its_table_says(generated, tmp_path, name):
    _, classes, train, test, length, _ = generated.SETS[name]
    generated.main([str(tmp_path / "a"), "--sets", name])
    for part, n in (("TRAIN", train), ("TEST", test)):
        data = load_ts(tmp_path / "a" / name / f"{name}_{part}.ts")
        assert len(data.classes) == classes
        assert np.bincount(data.y).tolist() == [n] * classes
        assert {len(x) for x in data.X} == {length} and data.n_features == 1
        assert np.isfinite(np.concatenate(data.X)).all()
    generated.main([str(tmp_path / "b"), "--sets", name])  # the seed fixes the set
    for part in ("TRAIN", "TEST"):
        a, b = (load_ts(tmp_path / d / name / f"{name}_{part}.ts") for d in "ab")
        np.testing.assert_array_equal(np.stack(a.X), np.stack(b.X))
