"""``rnnkit export --model DIR --format onnx --out FILE``."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit.cli.main import main

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")


@pytest.fixture
def forecaster(tmp_path):
    from rnnkit.tasks.forecast import Forecaster

    y = 5 + np.sin(np.arange(40) / 3)
    fc = Forecaster("gru", input_len=6, horizon=3, epochs=1, hidden=4, verbose=0).fit(y)
    fc.save(tmp_path / "model")
    return fc, y


def test_export_writes_an_onnx_file_that_forecasts_like_the_model(tmp_path, forecaster,
                                                                   capsys):
    fc, y = forecaster
    out = tmp_path / "forecast.onnx"
    assert main(["export", "--model", str(tmp_path / "model"), "--out", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (f"wrote {out} (forecaster): inputs x (batch, 6, 1) float64; outputs "
                        f"forecast (batch, 3) float64")
    assert lines[1].startswith("onnxruntime reproduces the model on a fresh batch: max "
                               "|difference| ")
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    got = session.run(None, {"x": y[-6:].reshape(1, 6, 1)})[0][0]
    np.testing.assert_allclose(got, fc.predict(y), rtol=1e-5, atol=1e-5)
    # an existing file is kept unless --overwrite
    assert main(["export", "--model", str(tmp_path / "model"), "--out", str(out)]) == 2
    assert capsys.readouterr().err == (f"rnnkit export: error: --out {out} exists; pass "
                                       f"--overwrite to replace it\n")
    assert main(["export", "--model", str(tmp_path / "model"), "--out", str(out),
                 "--overwrite", "--format", "onnx"]) == 0


def test_export_of_a_bare_network(tmp_path, capsys):
    from rnnkit.nn import LSTM, Dense
    from rnnkit.train import Sequential

    Sequential([LSTM(2, 3), Dense(3, 1)]).save(str(tmp_path / "net"))
    out = tmp_path / "net.onnx"
    assert main(["export", "--model", str(tmp_path / "net"), "--out", str(out)]) == 0
    assert capsys.readouterr().out.startswith(f"wrote {out} (network): inputs x (batch, "
                                              f"time, 2) float32; outputs output (batch, 1)")


def test_export_refuses_what_it_cannot_export_in_one_line(tmp_path, capsys):
    from rnnkit.nn import LSTM
    from rnnkit.train.saving import save_model

    save_model(LSTM(2, 3), tmp_path / "s2s", extra={"task": "seq2seq"})
    rc = main(["export", "--model", str(tmp_path / "s2s"), "--out", str(tmp_path / "s.onnx")])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1
    assert err == (f"rnnkit export: error: --model {tmp_path / 's2s'} holds a seq2seq model, "
                   f"which cannot be exported to ONNX (exportable: forecaster, "
                   f"sequence-classifier, text-classifier, language-model, or a bare "
                   f"network)\n")
    rc = main(["export", "--model", str(tmp_path / "nope"), "--out", str(tmp_path / "n.onnx")])
    assert rc == 2 and "nope is not a saved rnnkit model" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["export", "--model", str(tmp_path / "s2s"), "--out", "x.onnx", "--format",
              "tflite"])
    assert "invalid choice: 'tflite'" in capsys.readouterr().err
    assert not (tmp_path / "s.onnx").exists()
