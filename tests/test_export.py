"""rnnkit.export.export_onnx: saved task models as one ONNX file, parity with onnxruntime.

Each estimator is trained for one epoch on tiny data, saved, loaded with ``load_estimator``
and exported; onnxruntime then reads raw inputs (the forecaster's values, the classifier's
unnormalised sequences, token ids the test makes from the metadata's tokenizer settings) and
must give what ``predict`` / ``predict_proba`` give, to 1e-5.
"""

from __future__ import annotations

import json
import re
import sys

import numpy as np
import pytest
import torch

from rnnkit.errors import ConfigError
from rnnkit.export import export_onnx
from rnnkit.tasks.base import load_estimator

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

TOL = 1e-5


def _session(path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _metadata(session) -> dict:
    return {k: json.loads(v) for k, v in session.get_modelmeta().custom_metadata_map.items()}


def _saved(est, tmp_path):
    est.save(tmp_path / "model")
    return load_estimator(tmp_path / "model")


# ------------------------------------------------------------------------ forecaster
@pytest.mark.parametrize(("model", "strategy", "scaler", "level"), [
    ("simple_rnn", "direct", "standard", "last"),
    ("gru", "recursive", "log", "last"),
    ("lstm", "seq2seq", "minmax", "none"),
])
def test_forecaster_takes_raw_values_and_returns_raw_forecasts(model, strategy, scaler,
                                                                level, tmp_path):
    from rnnkit.tasks.forecast import Forecaster

    rng = np.random.default_rng(0)
    t = np.arange(80)
    series = [20 + 0.1 * t + np.sin(t / 3 + k) + 0.1 * rng.standard_normal(80)
              for k in range(3)]
    est = Forecaster(model=model, input_len=10, horizon=4, strategy=strategy, scaler=scaler,
                     scaling="pooled", level=level, epochs=1, hidden=4,
                     verbose=0).fit(series)  # the graph holds one scaler
    est = _saved(est, tmp_path)
    result = export_onnx(est, tmp_path / "forecast.onnx")
    assert result.inputs == {"x": {"shape": ["batch", 10, 1], "dtype": "float64"}}
    assert result.outputs == {"forecast": {"shape": ["batch", 4], "dtype": "float64"}}
    session = _session(result.path)
    x = np.stack([s[-10:] for s in series])[:, :, None]  # (S, L, 1), raw values
    got = session.run(None, {"x": x})[0]
    want = est.predict(series)  # (S, H)
    np.testing.assert_allclose(got, want, rtol=TOL, atol=TOL)
    one = session.run(None, {"x": x[:1]})[0]  # a batch of one, too
    np.testing.assert_allclose(one[0], est.predict(series[0]), rtol=TOL, atol=TOL)
    meta = _metadata(session)
    assert meta["rnnkit.task"] == "forecaster"
    assert meta["rnnkit.forecast"] == {"input_len": 10, "horizon": 4, "n_features": 1,
                                       "target_col": 0, "strategy": strategy,
                                       "scaler": scaler, "level": level}
    assert meta["rnnkit.params"]["model"] == model


# ------------------------------------------------------------------------ classifiers
@pytest.mark.parametrize(("model", "normalize", "differences"), [
    ("lstm", "feature", True), ("bigru", "series", False), ("gru", "series+stats", True),
    ("gru", "auto", True), ("my-lstm", "none", False)])
def test_sequence_classifier_normalises_in_the_graph(model, normalize, differences, tmp_path):
    from rnnkit.tasks.classify import SequenceClassifier

    rng = np.random.default_rng(1)
    X = [5 + 3 * rng.standard_normal((int(rng.integers(3, 9)), 2)) for _ in range(40)]
    y = ["up" if x[:, 0].mean() > 5 else "down" for x in X]
    X[0][1, 0] = np.nan  # a missing value: 0 after scaling
    members = 2 if normalize == "auto" else 1  # "auto": a "series" and a "series+stats" one
    est = SequenceClassifier(model=model, hidden_size=4, epochs=1, normalize=normalize,
                             differences=differences, ensemble=members, verbose=0).fit(X, y)
    est = _saved(est, tmp_path)
    result = export_onnx(est, tmp_path / "clf.onnx", seq_len=8)
    time_free = model != "my-lstm"  # a user cell's loop is unrolled over seq_len steps
    assert result.inputs["x"]["shape"] == ["batch", "time" if time_free else 8, 2]
    assert result.inputs["lengths"] == {"shape": ["batch"], "dtype": "int64"}
    session = _session(result.path)
    batch = X[:6] if time_free else [x for x in X if len(x) <= 8][:6]
    lengths = np.asarray([len(x) for x in batch])
    T = lengths.max() if time_free else 8
    padded = np.zeros((len(batch), T, 2), np.float32)
    for i, x in enumerate(batch):
        padded[i, : len(x)] = x
    got = session.run(None, {"x": padded, "lengths": lengths})[0]
    np.testing.assert_allclose(got, est.predict_proba(batch), rtol=TOL, atol=TOL)
    assert _metadata(session)["rnnkit.classes"] == ["down", "up"]


def _tokenizer(meta: dict):
    """A client's tokenizer, written from the metadata alone (as the docs describe it)."""
    tok = meta["rnnkit.tokenizer"]
    index = {t: i for i, t in enumerate(meta["rnnkit.vocabulary"])}

    def encode(text: str) -> list[int]:
        text = text.lower() if tok["lower"] else text
        tokens = re.findall(tok["pattern"], text) if tok["level"] == "word" else list(text)
        ids = [index.get(t, tok["unk_id"]) for t in tokens][: tok["maxlen"]]
        return ids or [tok["unk_id"]]

    def batch(texts: list[str]) -> dict[str, np.ndarray]:
        rows = [encode(t) for t in texts]
        T = max(map(len, rows))
        ids = np.full((len(rows), T), tok["pad_id"], np.int64)
        for i, r in enumerate(rows):
            ids[i, : len(r)] = r
        return {"ids": ids, "lengths": np.asarray([len(r) for r in rows], np.int64)}

    return batch


@pytest.mark.parametrize(("model", "level", "maxlen"), [("lstm", "word", None),
                                                        ("bigru", "char", 12)])
def test_text_classifier_takes_ids_tokenised_from_the_metadata(model, level, maxlen,
                                                                 tmp_path):
    from rnnkit.tasks.classify import TextClassifier

    texts = ["A good film.", "Bad, bad film!", "great", "Awful and boring", "The film is fine",
             "not good at all", "superb acting", "dull"] * 4
    y = [1, 0, 1, 0, 1, 0, 1, 0] * 4
    est = TextClassifier(model=model, level=level, maxlen=maxlen, embed_size=4,
                         hidden_size=4, epochs=1, verbose=0).fit(texts, y)
    est = _saved(est, tmp_path)
    result = export_onnx(est, tmp_path / "text.onnx")
    assert result.inputs["ids"]["shape"] == ["batch", "time"]
    session = _session(result.path)
    meta = _metadata(session)
    assert meta["rnnkit.classes"] == [0, 1]
    assert meta["rnnkit.vocabulary"] == est.vocab_.id_to_token
    new = ["good film", "an unseen word", "", "bad and boring and dull, really dull"]
    got = session.run(None, _tokenizer(meta)(new))[0]
    np.testing.assert_allclose(got, est.predict_proba(new), rtol=TOL, atol=TOL)


def test_language_model_gives_next_token_logits_and_state(tmp_path):
    from rnnkit.tasks.lm import LanguageModelTask

    est = LanguageModelTask(embed_size=8, hidden_size=8, num_layers=2, epochs=1, batch_size=4,
                            bptt=8, verbose=0).fit("the cat sat on the mat . " * 20)
    est = _saved(est, tmp_path)
    result = export_onnx(est, tmp_path / "lm.onnx")
    assert list(result.inputs) == ["ids", "h0", "c0"]
    assert result.outputs["logits"]["shape"] == ["batch", "time", len(est.vocab_)]
    session = _session(result.path)
    ids = torch.from_numpy(np.stack([est.vocab_.encode("the cat sat".split()),
                                     est.vocab_.encode("on the mat".split())]))
    h0 = torch.zeros(2, 2, 8)
    logits, h, c = session.run(None, {"ids": ids.numpy(), "h0": h0.numpy(),
                                      "c0": h0.numpy()})
    with torch.no_grad():
        want, (wh, wc) = est.model_(ids)
    np.testing.assert_allclose(logits, want.numpy(), rtol=TOL, atol=TOL)
    np.testing.assert_allclose(h, wh.numpy(), rtol=TOL, atol=TOL)
    np.testing.assert_allclose(c, wc.numpy(), rtol=TOL, atol=TOL)
    # the state carries on: the next chunk from (h, c) equals the whole sequence at once
    nxt = torch.from_numpy(np.stack([est.vocab_.encode(["on"]), est.vocab_.encode(["."])]))
    more = session.run(None, {"ids": nxt.numpy(), "h0": h, "c0": c})[0]
    with torch.no_grad():
        whole = est.model_(torch.cat([ids, nxt], dim=1))[0][:, -1:]
    np.testing.assert_allclose(more, whole.numpy(), rtol=TOL, atol=TOL)
    assert _metadata(session)["rnnkit.tokenizer"]["level"] == "word"


# ------------------------------------------------------------------------ bare networks
def test_bare_network_reads_any_batch_and_length(tmp_path):
    from rnnkit.nn import GRU, LSTM, Dense
    from rnnkit.train import Sequential

    torch.manual_seed(0)
    net = Sequential([LSTM(3, 5, return_sequences=True), GRU(5, 4, bidirectional=True),
                      Dense(8, 2)])
    net.train()
    result = export_onnx(net, tmp_path / "net.onnx")
    assert net.training  # the caller's mode is put back
    assert result.task == "network"
    assert result.inputs == {"x": {"shape": ["batch", "time", 3], "dtype": "float32"}}
    session = _session(result.path)
    net.eval()
    for b, t in ((1, 1), (5, 2), (2, 30)):
        x = torch.randn(b, t, 3)
        with torch.no_grad():
            want = net(x).numpy()
        np.testing.assert_allclose(session.run(None, {"x": x.numpy()})[0], want, rtol=TOL,
                                   atol=TOL)


@pytest.mark.parametrize("kind", ["LNLSTM", "SimpleRNN"])
def test_network_with_fixed_steps_takes_seq_len_steps(kind, tmp_path):
    """An LN layer's loop is unrolled; torch's exporter fixes a SimpleRNN's steps itself."""
    import rnnkit.nn

    layer = getattr(rnnkit.nn, kind)(3, 4, return_state=True)
    result = export_onnx(layer, tmp_path / "ln.onnx", seq_len=6)
    assert result.inputs["x"]["shape"] == ["batch", 6, 3]
    want = ["output", "h", "c"] if kind == "LNLSTM" else ["output", "h"]
    assert list(result.outputs) == want
    assert result.max_difference is not None and result.max_difference < TOL


def test_what_cannot_be_exported(tmp_path, monkeypatch):
    from rnnkit.tasks.classify import SequenceClassifier
    from rnnkit.tasks.seq2seq import Seq2SeqTask

    with pytest.raises(ConfigError, match=r"a seq2seq model cannot be exported to ONNX "
                                          r"\(exportable: forecaster, sequence-classifier"):
        export_onnx(Seq2SeqTask(), tmp_path / "s.onnx")
    with pytest.raises(ConfigError, match=r"the SequenceClassifier is not fitted"):
        export_onnx(SequenceClassifier(), tmp_path / "c.onnx")
    with pytest.raises(ConfigError, match=r"model_or_estimator must be an rnnkit task "
                                          r"estimator or a torch nn\.Module, got str"):
        export_onnx("model", tmp_path / "m.onnx")
    with pytest.raises(ConfigError, match="seq_len must be a positive int or None, got 0"):
        export_onnx(torch.nn.Linear(2, 2), tmp_path / "m.onnx", seq_len=0)
    monkeypatch.setitem(sys.modules, "onnxscript", None)
    from rnnkit.nn import LSTM

    with pytest.raises(ConfigError, match=r"ONNX export needs the packages onnx and "
                                          r"onnxscript \(pip install onnx onnxscript\)"):
        export_onnx(LSTM(2, 3), tmp_path / "m.onnx")
    assert not list(tmp_path.iterdir())  # nothing written
