"""Static covariates and the learned id embedding of a global Forecaster."""

import logging

import numpy as np
import pytest

from rnnkit.data.panel import load_panel
from rnnkit.errors import ConfigError, DataError
from rnnkit.tasks.forecast import Forecaster
from tests.train.helpers import run_killed, same_weights

T, L, H, N_TEST = 160, 1, 2, 40


def shifted_panel(seed=0, n=8):
    """n series of white noise (sd 2) around a level of +2 or -2 that a window of L = 1
    value only guesses at: the level is the static covariate "kind" ("up"/"down") and
    "level" (+2/-2). Pooled scaling and level "none", so the network sees the level."""
    rng = np.random.default_rng(seed)
    data, static = {}, {}
    for i in range(n):
        up = i % 2 == 0
        data[f"s{i}"] = (2.0 if up else -2.0) + rng.normal(0, 2.0, T)
        static[f"s{i}"] = {"kind": "up" if up else "down", "level": 2.0 if up else -2.0}
    return data, static


def fit(data, static=None, **kw):
    kw = {"epochs": 40, "patience": None, "validation": 0, "scaling": "pooled",
          "level": "none", "verbose": 0, "batch_size": 64, "lr": 1e-2, **kw}
    return Forecaster("linear", input_len=L, horizon=H, **kw).fit(
        {k: v[:-N_TEST] for k, v in data.items()}, static_covariates=static)


def held_out_mae(fc, data, **kw):
    res = fc.backtest_windows(data, T - N_TEST, **kw)
    return float(np.mean(np.abs(res["y_true"] - res["y_pred"])))


def test_static_covariates_carry_the_level_the_window_only_guesses():
    data, static = shifted_panel()
    without = held_out_mae(fit(data), data)
    with_static = fit(data, static)
    assert with_static.static_encoder_.width == 3  # kind one-hot (2) + level standardised
    mae = held_out_mae(with_static, data)
    # the Bayes error of a known level is E|N(0, 2)| = 1.60; the best linear guess from
    # one value, 0.5 x, has error variance 6 instead of 4: MAE x sqrt(6 / 4)
    assert mae < 0.9 * without and mae < 1.7, (mae, without)
    # the same window, told the other kind, is forecast at the other level
    window = {"s0": data["s0"][:-N_TEST]}
    up = with_static.predict(window)
    down = with_static.predict(window, static_covariates={"s0": {"kind": "down",
                                                                 "level": -2.0}})
    assert np.all(up - down > 2.0), (up, down)


def test_an_uninformative_static_value_changes_nothing_it_should_not():
    data, static = shifted_panel()
    noise = {k: {"kind": "x", "level": 7.0} for k in static}  # constant over series
    fc = fit(data, noise)
    assert fc.static_encoder_.columns[1] == {"kind": "numeric", "mean": 7.0, "std": 1.0}
    enc = fc.static_encoder_.encode("s0", ["x", 7.0])
    np.testing.assert_array_equal(enc, [1.0, 0.0])


def test_no_future_value_is_read_with_static_covariates_and_an_id_embedding():
    data, static = shifted_panel()
    fc = fit(data, static, id_embedding=2, epochs=3)
    origin = T - N_TEST
    before = fc.backtest_windows(data, origin, origin + H)["y_pred"]
    rng = np.random.default_rng(1)
    shuffled = {k: np.concatenate([v[:origin], rng.permutation(v[origin:])])
                for k, v in data.items()}
    after = fc.backtest_windows(shuffled, origin, origin + H)["y_pred"]
    np.testing.assert_array_equal(before, after)


def test_static_and_embedding_survive_save_and_load(tmp_path):
    data, static = shifted_panel()
    fc = fit(data, static, id_embedding=3, epochs=5)
    fc.save(tmp_path / "m")
    back = Forecaster.load(tmp_path / "m")
    assert back.static_ == fc.static_ and back.id_embedding == 3
    np.testing.assert_array_equal(back.predict(), fc.predict())
    new = {"new": data["s0"][:-N_TEST]}
    given = {"new": {"kind": "up", "level": 2.0}}
    np.testing.assert_array_equal(back.predict(new, static_covariates=given),
                                  fc.predict(new, static_covariates=given))


def test_the_id_embedding_learns_what_tells_the_series_apart():
    data, _ = shifted_panel()
    without = held_out_mae(fit(data), data)
    mae = held_out_mae(fit(data, id_embedding=2, epochs=80), data)
    assert mae < 0.9 * without, (mae, without)


def test_an_unseen_id_takes_the_mean_embedding(caplog):
    data, _ = shifted_panel(n=4)
    fc = fit(data, id_embedding=2, epochs=5)
    window = data["s1"][:-N_TEST]
    with caplog.at_level(logging.WARNING, logger="rnnkit.tasks.forecast.forecaster"):
        new = fc.predict({"new": window})
    assert "each takes the mean of the learned id embeddings" in caplog.text
    emb = fc.model_[0]
    emb.weight.data[:] = emb.weight.data.mean(0)  # every known id at the mean
    np.testing.assert_allclose(new, fc.predict({"s1": window}), rtol=1e-6)


def test_a_new_id_must_bring_its_static_values():
    data, static = shifted_panel(n=4)
    fc = fit(data, static, epochs=2)
    with pytest.raises(DataError, match="series 'new' is not one of the training series and "
                                        "brings no static covariates \\(kind, level\\)"):
        fc.predict({"new": data["s0"]})
    with pytest.raises(DataError, match="must name the columns \\['kind', 'level'\\]"):
        fc.predict({"new": data["s0"]}, static_covariates={"new": {"size": 1.0}})
    with pytest.raises(DataError, match="static covariate 'level' of series 'new' must be a "
                                        "number like in training, got 'high'"):
        fc.predict({"new": data["s0"]}, static_covariates={"new": ["up", "high"]})


def test_bad_static_input_at_fit():
    data, static = shifted_panel(n=4)
    del static["s3"]
    with pytest.raises(DataError, match="no values for series 's3'"):
        fit(data, static)
    with pytest.raises(ConfigError, match="fitted without them"):
        fit(data, epochs=1).predict(static_covariates={"s0": [1.0]})
    with pytest.raises(ConfigError, match="need strategy 'direct' or 'seq2seq'"):
        fit(data, id_embedding=2, strategy="recursive")
    with pytest.raises(ConfigError, match="id_embedding must be an int >= 0"):
        fit(data, id_embedding=-1)


def long_csv(tmp_path, region_of_b="south"):
    rows = ["store,month,sales,region,size"]
    for sid, region, size in (("a", "north", 10), ("b", "south", 20)):
        for m in range(30):
            r = region_of_b if sid == "b" and m == 17 else region
            rows.append(f"{sid},{2000 + m // 12}-{m % 12 + 1:02d},{m % 5},{r},{size}")
    path = tmp_path / "long.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def test_a_long_file_gives_one_value_per_id_and_refuses_a_changing_one(tmp_path):
    panel = load_panel(long_csv(tmp_path), id_column="store",
                       static_covariates=["region", "size"])
    assert panel.static == {"a": ["north", 10.0], "b": ["south", 20.0]}
    assert panel.value_column == "sales" and panel.values[0].shape == (30, 1)
    assert "static covariates region, size" in panel.describe()
    assert panel.select(["b"]).static == {"b": ["south", 20.0]}
    with pytest.raises(DataError, match="static covariate column 'region' is not constant "
                                        "within series 'b': 'south' \\(line 32\\) but 'east' "
                                        "\\(line 49\\)"):
        load_panel(long_csv(tmp_path, "east"), id_column="store",
                   static_covariates=["region"])
    with pytest.raises(DataError, match="static covariate column 'zone' not found"):
        load_panel(long_csv(tmp_path), id_column="store", static_covariates=["zone"])
    with pytest.raises(DataError, match="need a long file with its id column named"):
        load_panel(long_csv(tmp_path), id_column=None, static_covariates=["size"])
    assert load_panel(long_csv(tmp_path), static_covariates=["size"]).id_column == "store"


def test_a_long_frame_and_a_frame_of_static_values():
    pd = pytest.importorskip("pandas")
    data, static = shifted_panel(n=4)
    frame = pd.DataFrame({"id": np.repeat(list(data), T), "y": np.concatenate(list(data.values())),
                          "kind": np.repeat([static[k]["kind"] for k in data], T),
                          "level": np.repeat([static[k]["level"] for k in data], T)})
    from rnnkit.data.panel import panel_from_frame

    panel = panel_from_frame(frame, id_column="id", column="y",
                             static_covariates=["kind", "level"])
    assert panel.static["s1"] == ["down", -2.0]
    by_id = pd.DataFrame({"kind": [static[k]["kind"] for k in data],
                          "level": [static[k]["level"] for k in data]}, index=list(data))
    a = fit(data, by_id, epochs=2)
    b = fit(data, static, epochs=2)
    np.testing.assert_array_equal(a.predict(), b.predict())
    frame.loc[5, "level"] = 3.0
    with pytest.raises(DataError, match="'level' is not constant within series 's0'"):
        panel_from_frame(frame, id_column="id", column="y", static_covariates=["level"])


@pytest.mark.parametrize("epoch, batch", [(1, 1), (2, 0)])
def test_a_killed_fit_with_static_and_embedding_resumes_identical(tmp_path, epoch, batch):
    data, static = shifted_panel(n=4)

    def make():
        return Forecaster("gru", input_len=L, horizon=H, hidden=4, epochs=4, batch_size=64,
                          id_embedding=2, verbose=0)

    train = {k: v[:60] for k, v in data.items()}
    ref = make().fit(train, static_covariates=static)
    code = run_killed(lambda: make().fit(train, static_covariates=static,
                                         checkpoint=tmp_path / "ck"), epoch, batch)
    assert code == -9
    got = make().fit(train, static_covariates=static, checkpoint=tmp_path / "ck", resume=True)
    assert same_weights(got.model_, ref.model_)
    np.testing.assert_array_equal(got.predict(), ref.predict())
