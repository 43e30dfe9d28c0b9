"""Classification: metrics by hand, user cells vs torch, masking, tiny fits, save/load."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from rnnkit.errors import ConfigError, DataError, NotFittedError
from rnnkit.tasks.classify import (
    MyGRUCell,
    MyLSTMCell,
    RNNClassifier,
    SequenceClassifier,
    TextClassifier,
    confusion_matrix,
    macro_f1,
)
from rnnkit.tasks.classify.metrics import classification_report
from rnnkit.tasks.classify.model import EnsembleNet
from rnnkit.tasks.classify.series_stats import STATS_DROPOUT


def test_confusion_and_macro_f1_by_hand():
    y = [0, 0, 1, 1, 2, 2]
    p = [0, 1, 1, 1, 2, 0]
    cm = confusion_matrix(y, p)
    np.testing.assert_array_equal(cm, [[1, 1, 0], [0, 2, 0], [1, 0, 1]])
    # F1: class0 P=1/2 R=1/2 -> 1/2; class1 P=2/3 R=1 -> 4/5; class2 P=1 R=1/2 -> 2/3
    assert macro_f1(y, p) == pytest.approx((0.5 + 0.8 + 2 / 3) / 3)
    rep = classification_report(y, p, 4)
    assert rep["accuracy"] == pytest.approx(4 / 6)
    assert len(rep["confusion_matrix"]) == 4 and rep["f1_per_class"][3] == 0.0
    with pytest.raises(ValueError, match="same length, got 2 and 1"):
        confusion_matrix([0, 1], [0])


def test_my_lstm_cell_equals_torch_lstm_cell():
    torch.manual_seed(0)
    mine = MyLSTMCell(3, 4).double()
    ref = torch.nn.LSTMCell(3, 4).double()
    ref.load_state_dict(mine.state_dict())
    x = torch.randn(2, 3, dtype=torch.float64)
    st = mine.initial_state(2)
    st = type(st)(torch.randn(2, 4, dtype=torch.float64), torch.randn(2, 4, dtype=torch.float64))
    h, new = mine(x, st)
    h_ref, c_ref = ref(x, (st.h, st.c))
    torch.testing.assert_close(h, h_ref)
    torch.testing.assert_close(new.c, c_ref)


def test_my_gru_cell_equals_torch_gru_cell():
    torch.manual_seed(0)
    mine = MyGRUCell(3, 4).double()
    ref = torch.nn.GRUCell(3, 4).double()
    ref.load_state_dict(mine.state_dict())
    x = torch.randn(2, 3, dtype=torch.float64)
    h0 = torch.randn(2, 4, dtype=torch.float64)
    h, new = mine(x, h0)
    torch.testing.assert_close(h, ref(x, h0))
    assert new is h


@pytest.mark.parametrize(("model", "pooling"), [
    ("rnn", "last"), ("lstm", "last"), ("bilstm", "last"), ("gru", "last"), ("my-lstm", "last"),
    ("my-gru", "last"), ("bigru", "mean"), ("lstm", "max"), ("my-gru", "attention"),
    ("conv-gru", "last"), ("conv-bigru", "attention"), ("conv-lstm", "max"),
    ("conv-gru-bn", "max"), ("gru-fcn", "max"), ("gru-fcn-bn", "max"),
    ("lstm-fcn-bn", "last"), ("gru-fcn-rn", "max")])
def test_masked_batch_equals_per_sequence(model, pooling):
    torch.manual_seed(0)
    norm = {"-bn": "batch", "-rn": "renorm"}.get(model[-3:], "layer")
    fcn = {"fcn_channels": 3, "fcn_pool": 3} if "-fcn" in model else {}
    net = RNNClassifier(2, 3, model=model.removesuffix("-bn").removesuffix("-rn"),
                        hidden_size=5, pooling=pooling,
                        conv_blocks=2, conv_channels=4, conv_norm=norm, **fcn).double().eval()
    seqs = [torch.randn(n, 2, dtype=torch.float64) for n in (9, 1, 5)]
    x = torch.zeros(3, 9, 2, dtype=torch.float64)
    for i, s in enumerate(seqs):
        x[i, :len(s)] = s
    x[1, 1:] = 7.0  # garbage in the padding must not matter
    x[2, 5:] = -3.0
    batch = net(x, lengths=torch.tensor([9, 1, 5]))
    for i, s in enumerate(seqs):
        torch.testing.assert_close(batch[i], net(s[None])[0])


def test_fcn_branch_shapes_masking_and_auto_pool():
    from rnnkit.tasks.classify.frontend import FCNBranch, auto_fcn_pool

    torch.manual_seed(0)
    for norm in ("batch", "layer", "none"):
        for pool, sizes in ((0, (1, 1, 1)), (1, (2, 1, 1)), (2, (2, 2, 1)), (3, (4, 2, 1)),
                            (5, (8, 4, 1))):
            fcn = FCNBranch(2, channels=3, pool=pool, norm=norm).double().eval()
            assert fcn.pools == sizes
            assert [c.kernel_size for c in fcn.convs] == [8, 5, 3]
            assert [c.out_channels for c in fcn.convs] == [3, 6, 3] and fcn.output_size == 3
            x = torch.randn(2, 11, 2, dtype=torch.float64)
            x[1, 4:] = 9.0  # padding
            z = fcn(x, torch.tensor([11, 4]))
            assert z.shape == (2, 3) and (z >= 0).all()  # the mean of ReLU outputs
            torch.testing.assert_close(z[1], fcn(x[1:, :4])[0])
            torch.testing.assert_close(z[0], fcn(x[:1])[0])
    for pool in (0, 3):  # pool_first: every halving after the first block
        fcn = FCNBranch(2, channels=3, pool=pool, pool_first=True).double().eval()
        assert fcn.pools == (2 ** pool, 1, 1)
        assert fcn.get_config()["pool_first"] is True
        x = torch.randn(2, 11, 2, dtype=torch.float64)
        torch.testing.assert_close(fcn(x, torch.tensor([11, 4]))[1], fcn(x[1:, :4])[0])
    assert "pool_first" not in FCNBranch(2, pool=3).get_config()
    assert [auto_fcn_pool(n) for n in (100, 256, 257, 512, 513, 1460, 10**5)] == [
        0, 0, 1, 1, 2, 3, 9]
    with pytest.raises(ValueError, match="pool must be an int >= 0, got -1"):
        FCNBranch(1, pool=-1)
    with pytest.raises(ValueError, match="norm must be one of"):
        FCNBranch(1, norm="group")


def test_default_builds_pool_first_and_models_saved_before_keep_the_split(tmp_path):
    """A new fit pools its FCN branch after the first block; a network whose saved config
    has no fcn_pool_first (saved before the option) rebuilds the split pools."""
    from rnnkit.nn.config import from_config, to_config

    rng = np.random.default_rng(0)
    X = rng.standard_normal((8, 600, 1)).astype(np.float32)
    clf = SequenceClassifier(epochs=1, ensemble=1, verbose=0).fit(X, np.arange(8) % 2)
    assert clf.resolved_["fcn_pool"] == 2 and clf.model_.fcn.pools == (4, 1, 1)
    config = to_config(clf.model_)
    assert config["config"]["fcn_pool_first"] is True
    assert from_config(config).fcn.pools == (4, 1, 1)
    del config["config"]["fcn_pool_first"]
    assert from_config(config).fcn.pools == (2, 2, 1)


def test_model_errors():
    with pytest.raises(ValueError, match=r"model must be one of \('rnn', 'lstm'"):
        RNNClassifier(2, 3, model="transformer")
    with pytest.raises(ValueError, match="num_classes must be a positive int, got 0"):
        RNNClassifier(2, 0)
    with pytest.raises(ValueError, match="pooling must be one of"):
        RNNClassifier(2, 3, pooling="sum")
    with pytest.raises(ValueError, match="conv_blocks must be a positive int for model "
                                         "'conv-gru', got 0"):
        RNNClassifier(2, 3, model="conv-gru")


def test_attention_weights_ignore_padding():
    torch.manual_seed(0)
    net = RNNClassifier(1, 2, model="gru", hidden_size=4, pooling="attention").eval()
    net(torch.randn(2, 5, 1), lengths=torch.tensor([5, 2]))
    a = net.pool.last_attention  # (B, T)
    torch.testing.assert_close(a.sum(1), torch.ones(2))
    assert (a[1, 2:] == 0).all() and (a[1, :2] > 0).all()


def _toy(n, rng, variable=False):
    """Class 1 if the sequence rises, 0 if it falls (with noise)."""
    X, y = [], []
    for _ in range(n):
        T = int(rng.integers(3, 9)) if variable else 6
        up = int(rng.integers(0, 2))
        slope = 1.0 if up else -1.0
        X.append((slope * np.linspace(0, 1, T) + 0.1 * rng.standard_normal(T))[:, None])
        y.append("up" if up else "down")
    return (X if variable else np.stack(X)), np.asarray(y)


@pytest.mark.parametrize(("model", "variable"), [("gru", False), ("my-lstm", True)])
def test_sequence_classifier_learns_and_roundtrips(tmp_path, rng, model, variable):
    X, y = _toy(160, rng, variable)
    clf = SequenceClassifier(model=model, hidden_size=8, epochs=6, batch_size=16, lr=0.03)
    clf.fit(X[:120], y[:120], validation_data=(X[120:], y[120:]))
    assert clf.classes_.tolist() == ["down", "up"]
    rep = clf.evaluate(X[120:], y[120:])
    assert rep["accuracy"] >= 0.9
    assert clf.score(X[120:], y[120:]) == rep["accuracy"]
    assert set(clf.predict(X[120:])) <= {"down", "up"}
    assert len(clf.history_["val_loss"]) == len(clf.history_["loss"]) >= 1
    clf.save(tmp_path / "m")
    again = SequenceClassifier.load(tmp_path / "m")
    np.testing.assert_allclose(again.predict_proba(X[120:]), clf.predict_proba(X[120:]),
                               rtol=1e-5, atol=1e-6)


def test_text_classifier_learns_tiny_words(tmp_path):
    rng = np.random.default_rng(0)
    good, bad, filler = ["great", "fine", "superb"], ["awful", "boring", "bad"], ["the", "a",
                                                                                   "film", "is"]
    texts, y = [], []
    for _ in range(200):
        lab = int(rng.integers(0, 2))
        words = list(rng.choice(filler, int(rng.integers(1, 6))))
        words.insert(int(rng.integers(0, len(words) + 1)), rng.choice(good if lab else bad))
        texts.append(" ".join(words).capitalize() + ".")
        y.append(lab)
    clf = TextClassifier(model="bigru", embed_size=8, hidden_size=8, epochs=6, lr=0.03,
                         batch_size=16, maxlen=5)
    clf.fit(texts[:160], y[:160])
    assert clf.vocab_.id_to_token[:2] == ["<pad>", "<unk>"]
    assert clf.evaluate(texts[160:], y[160:])["accuracy"] >= 0.85
    clf.save(tmp_path / "t")
    again = TextClassifier.load(tmp_path / "t")
    np.testing.assert_array_equal(again.predict(texts[160:]), clf.predict(texts[160:]))


def test_not_fitted():
    with pytest.raises(NotFittedError, match="SequenceClassifier is not fitted"):
        SequenceClassifier().predict(np.zeros((1, 2, 1)))
    with pytest.raises(NotFittedError, match="TextClassifier is not fitted"):
        TextClassifier().save("never-written")


def test_raw_uint8_images_answer_like_the_trained_model(tmp_path, rng):
    """The saved model carries its normalisation: raw uint8 in, the same classes out."""
    X = rng.integers(0, 256, (80, 6, 5)).astype(np.uint8)  # (N, rows, pixels)
    y = (X[:, :, 0].astype(int).sum(1) > X[:, :, 4].astype(int).sum(1)).astype(int)
    clf = SequenceClassifier(model="gru", hidden_size=8, epochs=4, verbose=0,
                             normalize="feature").fit(X, y)
    assert np.all(np.abs(clf.mean_) > 50)  # it learned the raw pixel scale
    clf.save(tmp_path / "m")
    again = SequenceClassifier.load(tmp_path / "m")
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))
    assert again.predict(X).dtype.kind == "i"  # labels come back as given (ints)


def test_bad_labels_and_options(rng):
    X = rng.normal(size=(6, 4, 1))
    with pytest.raises(DataError, match=r"y\[2\] is a missing or empty label"):
        SequenceClassifier(epochs=1).fit(X, ["a", "b", "", "a", "b", "a"])
    with pytest.raises(DataError, match="at least 2 classes"):
        SequenceClassifier(epochs=1).fit(X, ["a"] * 6)
    with pytest.raises(ConfigError, match="epochs must be a positive int, got 0"):
        SequenceClassifier(epochs=0).fit(X, ["a", "b"] * 3)
    with pytest.raises(ConfigError, match="normalize must be one of"):
        SequenceClassifier(normalize="pixel").fit(X, ["a", "b"] * 3)
    with pytest.raises(DataError, match=r"must hold numbers.*TextClassifier"):
        SequenceClassifier(epochs=1).fit(np.asarray([["x", "y"]] * 6), ["a", "b"] * 3)
    # aeon's / sktime's (n_cases, n_channels, n_timepoints) with one channel: a hint
    with pytest.raises(DataError, match=r"\(6, 1, 4\) is read as \(N, T, D\): sequences of "
                                        r"one step.*X\.transpose\(0, 2, 1\)"):
        SequenceClassifier(epochs=1).fit(X.transpose(0, 2, 1), ["a", "b"] * 3)


def test_channels_first_arrays_are_a_warning(rng, caplog):
    """(N, 3, 20) reads as 3 steps of 20 features: fit trains but warns, in the log and in
    ``warnings_``, and so does a list of (3, 20) arrays; (N, 20, 3) does not, nor a list in
    which one sequence has at least as many steps as features."""
    y = ["a", "b"] * 4
    X = rng.normal(size=(8, 20, 3))
    small = {"model": "gru", "hidden_size": 4, "epochs": 1}
    with caplog.at_level("WARNING", logger="rnnkit"):
        clf = SequenceClassifier(**small).fit(X.transpose(0, 2, 1), y)
    hint = r"\(8, 3, 20\) is read as \(N, T, D\): 3 steps of 20 features.*transpose\(0, 2, 1\)"
    assert any(re.search(hint, w) for w in clf.warnings_), clf.warnings_
    assert re.search(hint, caplog.text)
    assert clf.n_features_ == 20
    listed = SequenceClassifier(**small).fit(list(X.transpose(0, 2, 1)), y).warnings_
    assert any(re.search(r"fewer steps than its 20 features.*\[x\.T for x in X\]", w)
               for w in listed), listed
    mixed = [x[:2] for x in X[:7]] + [X[7]]  # (2, 3) x 7 and one (20, 3): short sequences
    for ok in (X, mixed):
        assert not any("steps" in w for w in SequenceClassifier(**small).fit(ok, y).warnings_)


def test_auto_budget_numbers():
    from rnnkit.tasks.classify.budget import (
        WarmupCosine,
        auto_batch_size,
        auto_ensemble,
        auto_epochs,
        auto_mixup,
        auto_patience,
        auto_validation,
        few_shot_epochs,
        few_shot_window,
        forward_flops,
        predicted_seconds,
        wanted_epochs,
    )

    assert auto_validation(999, None) == 0.0 and auto_validation(1000, None) == 0.1
    assert auto_validation(40, 5) == 0.1  # early stopping needs its validation part
    assert [auto_batch_size(n) for n in (5, 45, 90, 180, 54_000)] == [5, 8, 9, 18, 64]
    assert auto_epochs(45, 8) == 167  # 6 steps an epoch -> 1,002 steps
    assert auto_epochs(54_000, 64) == 20  # big sets: MIN_EPOCHS
    assert auto_epochs(2, 2) == 500  # capped
    assert auto_patience(999) is None and auto_patience(1000) == 5
    assert auto_patience(10**6, stop_early=False) is None
    assert auto_mixup(999) == 0.2 and auto_mixup(1000) == 0.0
    # t_1 = 6 ms a step + 50 s a TFLOP of forward work; members = floor(40 s / t_1) in [1, 3]
    assert predicted_seconds(1000, 0.2e12) == pytest.approx(16.0)
    assert auto_ensemble(1000, 0.02e12) == 3  # 7 s: 5 would fit, at most 3
    assert auto_ensemble(1000, 0.2e12) == 2  # 16 s
    assert auto_ensemble(1000, 0.7e12) == 1  # 41 s: one, never none
    # epochs raised towards 500 reads of each class's series (epochs x N / C), t_1 <= 40 s
    assert few_shot_epochs(100, 80, 40, 10.0) == 250  # 2 a class: 250 epochs, 25 s
    assert few_shot_epochs(100, 80, 40, 25.0) == 160  # the time binds: 160 epochs, 40 s
    assert few_shot_epochs(100, 80, 40, 50.0) == 100  # already over the time: never fewer
    assert few_shot_epochs(100, 100, 10, 1.0) == 100  # 10 a class: 1,000 reads already
    assert few_shot_epochs(100, 40, 40, 1.0) == 500  # 1 a class: at most MAX_EPOCHS
    assert wanted_epochs(80, 40) == 250 and wanted_epochs(40, 40) == 500  # MAX_EPOCHS
    # where the time binds, windows of epochs / wanted of each series, at least half
    assert few_shot_window(160, 250) == 0.64 and few_shot_window(100, 250) == 0.5
    assert few_shot_window(250, 250) == 1.0 and few_shot_window(300, 250) == 1.0
    net = torch.nn.Sequential(torch.nn.Flatten(0), torch.nn.Linear(12, 5))  # (1, 4, 3) -> (5,)
    seqs = [np.ones((4, 3), np.float32)] * 20
    assert forward_flops(net, seqs) == 2 * 12 * 5  # one (1, 12) @ (12, 5) product a sequence
    clf = RNNClassifier(3, 2, model="gru-fcn", hidden_size=4, conv_blocks=1, conv_channels=4,
                        fcn_channels=4)
    counts = []
    for path in ("fused", "fast", "loop"):  # the count never depends on the layer's path
        clf.rnn.path = path
        counts.append(forward_flops(clf, seqs))
        assert clf.rnn.path == path and clf.training  # restored
    assert counts[0] == counts[1] == counts[2] > 0
    f = WarmupCosine(100)
    assert f.warmup == 5 and f(0) == pytest.approx(0.1) and f(4) == pytest.approx(0.82)
    assert f(5) == pytest.approx(1.0)
    assert f(99) < 0.02 and f(52) == pytest.approx(0.505, abs=0.01)


def test_the_softmax_layers_learn_at_head_lr_times_the_rate():
    from torch.optim.lr_scheduler import LambdaLR

    from rnnkit.tasks.classify.budget import HEAD_LR, WarmupCosine, adam_with_fast_heads

    net = RNNClassifier(3, 4, model="gru-fcn", hidden_size=4, conv_blocks=1, conv_channels=4,
                        fcn_channels=4, branch_heads=True)
    opt = adam_with_fast_heads(net.head_parameters())(net.parameters(), lr=1e-3)
    body, heads = opt.param_groups
    assert body["lr"] == 1e-3 and heads["lr"] == pytest.approx(HEAD_LR * 1e-3)
    softmax = [net.head, *net.branch_heads]
    assert {id(p) for p in heads["params"]} == {id(p) for m in softmax for p in m.parameters()}
    assert len(heads["params"]) == 6  # three Dense layers, weight and bias each
    everything = body["params"] + heads["params"]  # each parameter in one group, once
    assert sorted(map(id, everything)) == sorted(id(p) for p in net.parameters())
    schedule = LambdaLR(opt, WarmupCosine(10))
    for _ in range(4):
        opt.step()
        schedule.step()
        assert heads["lr"] == pytest.approx(HEAD_LR * body["lr"])  # the schedule scales both


def test_a_conv_network_trains_with_fast_heads_a_plain_one_without(rng, monkeypatch):
    from rnnkit.tasks.classify import task

    built, real = [], task.adam_with_fast_heads

    def spy(heads):
        built.append(list(heads))
        return real(built[-1])

    monkeypatch.setattr(task, "adam_with_fast_heads", spy)
    X, y = _toy(20, rng, variable=False)
    conv = SequenceClassifier(model="gru-fcn", hidden_size=4, conv_channels=4, fcn_channels=4,
                              epochs=1, ensemble=2, verbose=0).fit(X, y)
    assert len(built) == 2  # one optimiser a member, each on its own softmax layers
    for member, heads in zip(conv.model_.members, built, strict=True):
        assert [id(p) for p in heads] == [id(p) for p in member.head_parameters()]
    SequenceClassifier(model="gru", hidden_size=4, epochs=1, verbose=0).fit(X, y)
    assert len(built) == 2  # the plain recurrent network: one rate


def test_a_conv_model_reads_few_series_a_class_more_times(rng, monkeypatch):
    from rnnkit.tasks.classify import task

    trained = []  # the epochs of each member's training

    def record(self, net, *args, epochs, **kwargs):
        trained.append(epochs)
        return {"loss": [0.0] * epochs}

    monkeypatch.setattr(task.SequenceClassifier, "_train", record)
    X = rng.normal(size=(40, 16, 1))
    y = np.repeat(np.arange(20), 2)  # 20 classes of 2: auto_epochs(40, 8) = 200, 400 reads
    tiny = {"hidden_size": 4, "conv_channels": 4, "fcn_channels": 4, "verbose": 0}
    conv = SequenceClassifier(model="gru-fcn", ensemble=1, **tiny).fit(X, y)
    assert conv.resolved_["epochs"] == trained[-1] == 250  # 500 reads of each class's two
    plain = SequenceClassifier(model="gru", hidden_size=4, verbose=0).fit(X, y)
    assert plain.resolved_["epochs"] == trained[-1] == 200  # no time prediction: as it was
    given = SequenceClassifier(model="gru-fcn", ensemble=1, epochs=7, **tiny).fit(X, y)
    assert given.resolved_["epochs"] == trained[-1] == 7
    many = SequenceClassifier(model="gru-fcn", ensemble=1, **tiny).fit(X, y % 2)
    assert many.resolved_["epochs"] == trained[-1] == 200  # 20 a class: 4,000 reads


@pytest.mark.parametrize("variable", [False, True])
def test_gru_fcn_learns_a_toy_set_and_roundtrips(tmp_path, rng, variable):
    X, y = _toy(120, rng, variable)
    clf = SequenceClassifier(model="gru-fcn", hidden_size=4, conv_channels=4, fcn_channels=4,
                             epochs=8, lr=0.02, ensemble=1, verbose=0).fit(X[:80], y[:80])
    assert clf.score(X[80:], y[80:]) >= 0.9
    assert clf.resolved_["fcn_pool"] == 0 and clf.resolved_["pooling"] == "max"
    assert clf.resolved_["conv_norm"] == ("renorm" if variable else "batch")
    assert clf._bucket() == variable  # batch norm: batches drawn at random; renorm: bucketed
    assert clf.model_.head.in_features == 4 + 4  # [GRU ; FCN]
    clf.save(tmp_path / "m")
    again = SequenceClassifier.load(tmp_path / "m")
    assert again.model_.get_config()["fcn_channels"] == 4
    np.testing.assert_allclose(again.predict_proba(X[80:]), clf.predict_proba(X[80:]),
                               rtol=1e-5, atol=1e-6)
    with pytest.raises(ConfigError, match="fcn_channels must be a positive int"):
        SequenceClassifier(model="gru-fcn", fcn_channels=0).fit(X, y)


def test_auto_values_are_resolved_and_recorded(tmp_path, rng):
    X, y = _toy(60, rng)
    clf = SequenceClassifier(model="conv-gru", hidden_size=4, conv_channels=4, epochs=3,
                             validation=0.2, verbose=0).fit(X, y)
    assert clf.epochs == 3 and clf.batch_size == "auto"
    assert clf.resolved_ == {"epochs": 3, "batch_size": 8, "patience": None,
                             "validation": 0.2, "mixup": 0.0, "ensemble": 3, "hidden_size": 4,
                             "pooling": "max", "conv_blocks": 1, "conv_norm": "batch",
                             "epochs_run": [3, 3, 3],
                             "normalize": ["series", "series+stats", "series"],
                             "differences": False, "crop": 1.0}
    assert isinstance(clf.model_, EnsembleNet)  # ensemble="auto": a quick fit, 3 members
    plain = SequenceClassifier(model="gru", hidden_size=4, epochs=1, verbose=0).fit(X, y)
    assert plain.resolved_["ensemble"] == 1  # plain recurrent models keep one network
    lrs = clf.history_["lr"]
    assert lrs[0] < lrs[1] and lrs[-1] < lrs[1]  # warm-up then decay
    clf.save(tmp_path / "m")
    assert SequenceClassifier.load(tmp_path / "m").resolved_ == clf.resolved_
    with pytest.raises(ConfigError, match="batch_size must be a positive int, got 'big'"):
        SequenceClassifier(batch_size="big").fit(X, y)
    with pytest.raises(ConfigError, match="lr_schedule must be one of"):
        SequenceClassifier(lr_schedule="step").fit(X, y)


def test_validation_auto_holds_out_only_for_early_stopping(rng):
    X, y = _toy(40, rng)
    quick = {"model": "gru", "hidden_size": 2, "epochs": 1, "verbose": 0}
    clf = SequenceClassifier(**quick).fit(X, y)  # patience "auto": no early stopping
    assert clf.validation == "auto" and clf.resolved_["validation"] == 0.0
    assert clf.n_train_ == 40 and clf.n_validation_ == 0 and "val_loss" not in clf.history_
    clf = SequenceClassifier(patience=3, **quick).fit(X, y)
    assert clf.resolved_["validation"] == 0.1 and (clf.n_train_, clf.n_validation_) == (36, 4)
    assert "val_loss" in clf.history_
    with pytest.raises(ConfigError, match="validation must be a fraction in"):
        SequenceClassifier(validation="most", **quick).fit(X, y)


def test_chance_warning(rng, caplog):
    X = rng.normal(size=(40, 5, 1))
    y = np.asarray(["a", "b"] * 20)
    clf = SequenceClassifier(model="gru", hidden_size=2, epochs=1, lr=1e-6, verbose=0)
    clf.fit(X, y)
    assert clf.warnings_ and "stayed near chance (1/2 = 0.500)" in clf.warnings_[0]
    assert "stayed near chance" in caplog.text


def test_ensemble_takes_the_geometric_mean_of_its_members_and_roundtrips(tmp_path, rng):
    X, y = _toy(80, rng, variable=True)
    clf = SequenceClassifier(model="conv-gru", hidden_size=4, conv_channels=4, epochs=2,
                             ensemble=2, normalize="series", verbose=0).fit(X, y)
    members = clf.model_.members
    assert len(members) == 2 and len(clf.member_histories_) == 2
    assert not torch.equal(members[0].head.weight, members[1].head.weight)  # two seeds
    proba = clf.predict_proba(X[:5])
    from rnnkit.data.batching import pad_sequences

    x, n = pad_sequences(clf._prepare(X[:5]))
    with torch.no_grad():
        p0, p1 = (torch.softmax(m(torch.from_numpy(x), lengths=torch.from_numpy(n)), -1)
                  for m in members)
    geometric = torch.sqrt(p0 * p1)  # (5, C): prod_i p_i^(1/k), k = 2
    expected = (geometric / geometric.sum(dim=1, keepdim=True)).numpy()
    np.testing.assert_allclose(proba, expected, rtol=1e-5, atol=1e-6)
    assert not np.allclose(proba, ((p0 + p1) / 2).numpy(), rtol=1e-5, atol=1e-6)
    clf.save(tmp_path / "e")
    again = SequenceClassifier.load(tmp_path / "e")
    np.testing.assert_allclose(again.predict_proba(X[:5]), proba, rtol=1e-6)


def test_normalize_auto_alternates_the_members_inputs(tmp_path, rng):
    X, y = _toy(80, rng, variable=True)
    X = [x * s for x, s in zip(X, rng.uniform(0.5, 5.0, len(X)), strict=True)]  # levels differ
    quick = {"model": "conv-gru", "hidden_size": 4, "conv_channels": 4, "epochs": 2,
             "verbose": 0}
    clf = SequenceClassifier(ensemble=3, **quick).fit(X, y)
    assert clf.normalize == "auto" and clf.normalize_ == "series+stats"
    assert clf.resolved_["normalize"] == ["series", "series+stats", "series"]
    even, odd, _ = clf.model_.members
    assert (even.config["input_size"], even.first_features) == (1, 1)
    assert (odd.config["input_size"], odd.first_features) == (3, None)
    from rnnkit.data.batching import pad_sequences

    x, n = pad_sequences(clf._prepare(X[:5]))  # (5, T, 3): the series, its level and scale
    assert x.shape[2] == 3
    x, n = torch.from_numpy(x), torch.from_numpy(n)
    moved = x.clone()
    moved[..., 1:] += 1.0  # other statistics: only the odd member sees them
    with torch.no_grad():
        assert torch.equal(even(x, lengths=n), even(moved, lengths=n))
        assert not torch.allclose(odd(x, lengths=n), odd(moved, lengths=n))
    clf.save(tmp_path / "a")
    again = SequenceClassifier.load(tmp_path / "a")
    assert again.normalize_ == "series+stats"
    np.testing.assert_allclose(again.predict_proba(X[:5]), clf.predict_proba(X[:5]), rtol=1e-6)


def test_normalize_auto_gives_one_network_the_statistics_hidden_most_of_the_time(tmp_path,
                                                                                  rng):
    X, y = _toy(40, rng, variable=True)
    X = [x * s for x, s in zip(X, rng.uniform(0.5, 5.0, len(X)), strict=True)]
    quick = {"model": "conv-gru", "hidden_size": 4, "conv_channels": 4, "epochs": 2,
             "ensemble": 1, "verbose": 0}
    one = SequenceClassifier(**quick).fit(X, y)
    assert one.normalize_ == "series+stats" and one.resolved_["normalize"] == ["series+stats"]
    assert one.model_.config["input_size"] == 3  # the series, its level and scale
    assert one.model_.config["statistics"] == [2, STATS_DROPOUT]
    assert one.model_.stats_dropout.channels == 2
    one.save(tmp_path / "one")
    again = SequenceClassifier.load(tmp_path / "one")
    assert again.model_.config["statistics"] == [2, STATS_DROPOUT]
    np.testing.assert_allclose(again.predict_proba(X[:5]), one.predict_proba(X[:5]), rtol=1e-6)
    stats = SequenceClassifier(normalize="series+stats", **quick).fit(X, y)
    assert "statistics" not in stats.model_.config  # asked for: read in every batch
    plain = SequenceClassifier(model="gru", hidden_size=4, epochs=1, verbose=0).fit(X, y)
    assert plain.resolved_["normalize"] == ["series"]  # as the seeds' experiments read it
    assert not hasattr(plain, "stats_mu_")


def test_normalize_auto_drops_statistics_that_do_not_tell_the_classes_apart(rng):
    t = np.linspace(0, 4 * np.pi, 24)
    y = np.asarray(["sin", "cos"] * 20)
    shapes = np.where(y[:, None] == "sin", np.sin(t), np.cos(t))  # (40, 24): the class
    level, scale = rng.normal(0, 3, (40, 1)), rng.uniform(0.5, 5.0, (40, 1))  # not the class
    X = (shapes * scale + level)[..., None]
    quick = {"model": "conv-gru", "hidden_size": 4, "conv_channels": 4, "epochs": 1,
             "verbose": 0}
    for members in (1, 2):
        clf = SequenceClassifier(ensemble=members, **quick).fit(X, y)
        assert clf.resolved_["normalize"] == ["series"] * members
        nets = clf.model_.members if members > 1 else [clf.model_]
        assert [net.config["input_size"] for net in nets] == [1] * members  # the series
        assert not hasattr(clf, "stats_mu_")
    X_told = (shapes * np.where(y == "sin", 4.0, 1.0)[:, None])[..., None]  # scale = class
    told = SequenceClassifier(ensemble=1, **quick).fit(X_told, y)
    assert told.resolved_["normalize"] == ["series+stats"]


def test_differences_are_read_beside_the_series(tmp_path, rng):
    X, y = _toy(40, rng, variable=True)
    X[0] = X[0].copy()
    X[0][2, 0] = np.nan  # a missing step: its difference and the next one's are missing
    quick = {"model": "conv-gru", "hidden_size": 4, "conv_channels": 4, "epochs": 1,
             "ensemble": 1, "verbose": 0}
    clf = SequenceClassifier(normalize="series", differences=True, **quick).fit(X, y)
    assert clf.resolved_["differences"] is True and clf.model_.config["input_size"] == 2
    for x, got in zip(X[:6], clf._prepare(X[:6]), strict=True):
        d = np.concatenate([[np.nan], np.diff(x[:, 0])])  # by hand: NaN first
        z = (d - np.nanmean(d)) / np.nanstd(d)
        np.testing.assert_allclose(got[:, 1], np.nan_to_num(z), rtol=1e-5, atol=1e-6)
        v = x[:, 0]
        np.testing.assert_allclose(got[:, 0], np.nan_to_num((v - np.nanmean(v)) / np.nanstd(v)),
                                   rtol=1e-5, atol=1e-6)
    assert (clf._prepare(X[:1])[0][[0, 2, 3], 1] == 0).all()  # the missing differences
    clf.save(tmp_path / "m")
    again = SequenceClassifier.load(tmp_path / "m")
    assert again.differences_ is True
    np.testing.assert_allclose(again.predict_proba(X[:5]), clf.predict_proba(X[:5]), rtol=1e-6)
    state = clf._state()
    del state["differences"]  # a model saved before the option: no differences
    clf._set_state(state)
    assert clf.differences_ is False and clf._prepare(X[:1])[0].shape[1] == 1
    default = SequenceClassifier(normalize="series", **quick).fit(X, y)
    assert default.differences_ is False and default.model_.config["input_size"] == 1
    stats = SequenceClassifier(differences=True, **{**quick, "ensemble": 2}).fit(X, y)
    even, odd = stats.model_.members  # series and differences; and their levels and scales
    assert (even.config["input_size"], odd.config["input_size"]) == (2, 6)
    with pytest.raises(ConfigError, match="differences"):
        SequenceClassifier(differences="yes").fit(X, y)


def _words(n, rng):
    good, bad = ["great", "superb"], ["awful", "boring"]
    texts, y = [], []
    for _ in range(n):
        lab = int(rng.integers(0, 2))
        texts.append(f"the film was {rng.choice(good if lab else bad)}")
        y.append(lab)
    return texts, y


def test_text_subword_roundtrip(tmp_path, rng):
    pytest.importorskip("tokenizers")
    texts, y = _words(60, rng)
    clf = TextClassifier(level="subword", max_size=40, embed_size=4, hidden_size=4, epochs=2,
                         verbose=0).fit(texts, y)
    assert clf.resolved_["pooling"] == "attention"  # the pooled bigru text default
    clf.save(tmp_path / "t")
    again = TextClassifier.load(tmp_path / "t")
    assert again.tokenizer_.tokenize("unseen words!") == clf.tokenizer_.tokenize("unseen words!")
    np.testing.assert_allclose(again.predict_proba(texts), clf.predict_proba(texts), rtol=1e-6)


def test_text_subword_without_tokenizers(monkeypatch, rng):
    import sys

    monkeypatch.setitem(sys.modules, "tokenizers", None)
    texts, y = _words(10, rng)
    with pytest.raises(ConfigError, match=r"level='subword' needs the tokenizers library: "
                                          r"pip install tokenizers"):
        TextClassifier(level="subword", epochs=1, verbose=0).fit(texts, y)


def test_text_pretrained_vectors(tmp_path, rng):
    texts, y = _words(40, rng)
    vec = tmp_path / "tiny.vec"
    vec.write_text("3 4\ngreat 1 1 1 1\nawful -1 -1 -1 -1\nunrelated 0 0 0 9\n")
    clf = TextClassifier(vectors=str(vec), hidden_size=4, epochs=1, lr=1e-9, verbose=0)
    clf.fit(texts, y)
    assert clf.model_.embedding.weight.shape[1] == 4 and clf.vectors_found_ == 2
    row = clf.model_.embedding.weight[clf.vocab_.token_to_id["great"]]
    torch.testing.assert_close(row, torch.ones(4), atol=1e-4, rtol=0)
    with pytest.raises(ConfigError, match=r"embed_size must be 'auto' or 4, the dimension of "
                                          r"the vectors in .*tiny.vec, got 8"):
        TextClassifier(vectors=str(vec), embed_size=8, epochs=1, verbose=0).fit(texts, y)
    with pytest.raises(ConfigError, match="model 'conv-gru' is for numeric series"):
        TextClassifier(model="conv-gru").fit(texts, y)
    with pytest.raises(ConfigError, match="model 'gru-fcn' is for numeric series"):
        TextClassifier(model="gru-fcn").fit(texts, y)


def test_masked_batch_norm_uses_valid_steps_only():
    from rnnkit.tasks.classify.frontend import MaskedBatchNorm, valid_steps

    torch.manual_seed(0)
    x = torch.randn(3, 6, 4)
    lengths = torch.tensor([6, 2, 4])
    padded = x.clone()
    padded[1, 2:] = 50.0  # garbage in the padding must not enter the statistics
    padded[2, 4:] = -9.0
    mine = MaskedBatchNorm(4).train()  # channels first: (B, C, T), mask (B, 1, T)
    ref = torch.nn.BatchNorm1d(4).train()  # on the valid steps alone, as one long batch
    valid = torch.cat([x[b, :n] for b, n in enumerate(lengths.tolist())])  # (12, 4)
    mask = valid_steps(lengths, 6, x.device).transpose(1, 2)  # (3, 1, 6)
    out = mine(padded.transpose(1, 2), mask).transpose(1, 2)  # (3, 6, 4)
    want = ref(valid)
    got = torch.cat([out[b, :n] for b, n in enumerate(lengths.tolist())])
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(mine.running_mean, ref.running_mean)
    mine.eval()  # eval: the running statistics, the same answer alone or in a batch
    torch.testing.assert_close(mine(x[1:2, :2].transpose(1, 2)),
                               mine(padded.transpose(1, 2))[1:2, :, :2])


def test_batch_norm_without_a_mask_is_the_masked_one_with_every_step_valid():
    """The unmasked path (torch's batch norm) against the masked formulas with an all-ones
    mask: outputs, input and weight gradients, running statistics, in training and eval."""
    from rnnkit.tasks.classify.frontend import MaskedBatchNorm

    torch.manual_seed(0)
    x = torch.randn(5, 4, 40) * 3 + 1  # (B, C, T)
    fast, masked = MaskedBatchNorm(4), MaskedBatchNorm(4)
    with torch.no_grad():
        fast.weight.uniform_()
        fast.bias.uniform_()
    masked.load_state_dict(fast.state_dict())
    xf, xm = x.clone().requires_grad_(), x.clone().requires_grad_()
    yf, ym = fast(xf), masked(xm, torch.ones(5, 1, 40))
    g = torch.randn_like(yf)
    (yf * g).sum().backward()
    (ym * g).sum().backward()
    for a, b in ((yf, ym), (xf.grad, xm.grad), (fast.weight.grad, masked.weight.grad),
                 (fast.bias.grad, masked.bias.grad), (fast.running_mean, masked.running_mean),
                 (fast.running_var, masked.running_var)):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
    fast.eval()
    masked.eval()
    torch.testing.assert_close(fast(x), masked(x, torch.ones(5, 1, 40)))


def test_batch_renorm_is_the_running_statistics_forward_and_batch_norm_backward():
    """Batch renormalisation (Ioffe 2017) against its formulas written out: in training the
    output is the running statistics' normalisation (from before the batch) where the clips
    do not bind, the clipped correction where they do, and the gradient is batch norm's with
    r and d held constant; the running statistics move as batch norm's; eval is batch norm's."""
    from rnnkit.tasks.classify.frontend import MaskedBatchNorm, valid_steps

    torch.manual_seed(0)
    x = (torch.randn(3, 4, 7) * 2 + 1).requires_grad_()  # (B, C, T)
    mask = valid_steps(torch.tensor([7, 3, 5]), 7, x.device).transpose(1, 2)
    renorm, plain = MaskedBatchNorm(4, renorm=True), MaskedBatchNorm(4)
    with torch.no_grad():
        for m in (renorm, plain):
            m.weight.copy_(torch.tensor([1.0, 2.0, 0.5, -1.0]))
            m.bias.copy_(torch.tensor([0.0, 0.1, -0.2, 0.3]))
            m.running_mean.copy_(torch.tensor([1.2, 0.8, 1.0, 30.0]))  # channel 3: d clips
            m.running_var.copy_(torch.tensor([3.0, 5.0, 100.0, 4.0]))  # channel 2: r clips
    mu, var = renorm.running_mean.clone(), renorm.running_var.clone()
    out = renorm(x, mask)
    n = mask.sum()
    mean = (x * mask).sum((0, 2)) / n
    bvar = (((x - mean[:, None]) * mask) ** 2).sum((0, 2)) / n
    s, sigma = torch.sqrt(bvar + 1e-5), torch.sqrt(var + 1e-5)
    r = (s / sigma).detach().clamp(1 / 3, 3)
    d = ((mean - mu) / sigma).detach().clamp(-5, 5)
    assert r[2] == pytest.approx(1 / 3) and d[3] == pytest.approx(-5)  # the clips bind there
    want = ((x - mean[:, None]) / s[:, None] * r[:, None] + d[:, None]) \
        * renorm.weight[:, None] + renorm.bias[:, None]
    valid = mask.expand_as(x).bool()
    torch.testing.assert_close(out[valid], want[valid])
    running = (x - mu[:, None]) / sigma[:, None] * renorm.weight[:, None] + renorm.bias[:, None]
    torch.testing.assert_close(out[:, :2][valid[:, :2]], running[:, :2][valid[:, :2]])
    g = torch.randn_like(out)
    grad, = torch.autograd.grad((out * g * mask).sum(), x)
    grad_want, = torch.autograd.grad((want * g * mask).sum(), x)
    torch.testing.assert_close(grad, grad_want)
    plain(x, mask)  # the running statistics move as batch norm's
    torch.testing.assert_close(renorm.running_mean, plain.running_mean)
    torch.testing.assert_close(renorm.running_var, plain.running_var)
    renorm.eval()
    plain.eval()
    torch.testing.assert_close(renorm(x, mask), plain(x, mask))
    torch.testing.assert_close(renorm(x), plain(x))  # no mask: torch's kernel for both
    a, b = MaskedBatchNorm(4, renorm=True), MaskedBatchNorm(4, renorm=True)
    a.load_state_dict(renorm.state_dict())
    b.load_state_dict(renorm.state_dict())
    y = x.detach()[:, :, :3]  # without a mask every step is valid: the same formulas
    torch.testing.assert_close(a(y), b(y, torch.ones(3, 1, 3)))


def test_batch_norm_front_end_trains_repeatably_with_gradients(rng):
    from rnnkit.data.batching import pad_sequences
    from rnnkit.nn import LayerNorm
    from rnnkit.tasks.classify.frontend import MaskedBatchNorm

    X, y = _toy(40, rng, variable=True)
    kw = {"model": "conv-gru", "hidden_size": 4, "conv_channels": 4, "conv_norm": "batch",
          "epochs": 2, "ensemble": 1, "verbose": 0, "seed": 3}
    a, b = SequenceClassifier(**kw).fit(X, y), SequenceClassifier(**kw).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    norm = a.model_.frontend.norms[0]
    assert norm.running_mean.abs().sum() > 0  # statistics were gathered while training
    net = a.model_.train()
    x, n = pad_sequences(a._prepare(X[:6]))
    loss = net(torch.from_numpy(x), lengths=torch.from_numpy(n)).logsumexp(-1).mean()
    loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.parameters())
    assert norm.weight.grad.abs().sum() > 0
    assert not a._bucket()  # batch norm: batches drawn at random, not bucketed by length
    tiny = {"hidden_size": 2, "conv_channels": 2, "epochs": 1, "ensemble": 1, "verbose": 0}
    auto = SequenceClassifier(**tiny).fit(X, y)  # conv_norm "auto": lengths differ -> renorm
    assert auto.resolved_["conv_norm"] == "renorm" and auto._bucket()
    assert auto.model_.frontend.norms[0].renorm
    layer = SequenceClassifier(conv_norm="layer", **tiny).fit(X, y)
    assert layer._bucket() and isinstance(layer.model_.frontend.norms[0], LayerNorm)
    X_eq, y_eq = _toy(20, rng)
    auto = SequenceClassifier(**tiny).fit(X_eq, y_eq)  # one length -> the batch norm
    assert auto.resolved_["conv_norm"] == "batch"
    assert isinstance(auto.model_.frontend.norms[0], MaskedBatchNorm)
    assert SequenceClassifier(model="gru", **tiny).fit(X, y)._bucket()
    with pytest.raises(ConfigError, match="conv_norm must be one of"):
        SequenceClassifier(conv_norm="group").fit(X, y)


def test_gru_fcn_exports_to_onnx(tmp_path, rng):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    from rnnkit.export import export_onnx

    X, y = _toy(30, rng, variable=True)
    est = SequenceClassifier(model="gru-fcn", hidden_size=4, conv_channels=4, fcn_channels=4,
                             epochs=1, ensemble=1, verbose=0).fit(X, y)
    result = export_onnx(est, tmp_path / "clf.onnx", seq_len=8)
    session = ort.InferenceSession(str(result.path))
    lengths = np.asarray([len(x) for x in X[:6]])
    padded = np.zeros((6, 8, 1), np.float32)
    for i, x in enumerate(X[:6]):
        padded[i, :len(x)] = x
    got = session.run(None, {"x": padded, "lengths": lengths})[0]
    np.testing.assert_allclose(got, est.predict_proba(X[:6]), rtol=1e-4, atol=1e-5)
