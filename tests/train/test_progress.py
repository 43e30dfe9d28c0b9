"""Progress display: progress_callbacks(verbose, desc, file) and the ProgressBar behind it.

Time is faked: the progress module's ``time`` is replaced by a clock that callbacks advance,
so the per-epoch estimate and the in-epoch lines are tested without sleeping.
"""

from __future__ import annotations

import io
import itertools
import re
import types

import pytest
from torch import nn

from rnnkit.train import Sequential
from rnnkit.train.callbacks import Callback, ProgressBar, progress_callbacks
from rnnkit.train.callbacks import progress as progress_module
from rnnkit.train.callbacks.progress import format_duration
from tests.train.helpers import LastStep, regression_data


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self):
        return True


class FakeClock:
    """Stands in for the progress module's ``time``; ``Tick`` callbacks advance it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


class Tick(Callback):
    """Advance the fake clock by ``per_batch`` after each batch, ``per_epoch`` after each
    epoch (``first_epoch`` after the first, when given: its warm-up); it runs before the
    progress callback, which fit adds last."""

    def __init__(self, clock: FakeClock, per_batch: float = 0.0, per_epoch: float = 0.0,
                 first_epoch: float | None = None):
        self.clock, self.per_batch, self.per_epoch = clock, per_batch, per_epoch
        self.first_epoch = per_epoch if first_epoch is None else first_epoch

    def on_batch_end(self, batch, logs=None):
        self.clock.now += self.per_batch

    def on_epoch_end(self, epoch, logs=None):
        self.clock.now += self.first_epoch if epoch == 0 else self.per_epoch


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(progress_module, "time", types.SimpleNamespace(monotonic=fake.monotonic))
    return fake


def small_model():
    model = Sequential([LastStep(1, 2), nn.Linear(2, 1)])
    model.compile()
    return model


def test_verbose_2_writes_one_line_per_epoch_with_desc_and_loss():
    X, y = regression_data(n=8)
    buf = io.StringIO()
    h = small_model().fit(X, y, epochs=3, batch_size=4, validation_data=(X, y),
                          callbacks=progress_callbacks(2, desc="lstm", file=buf))
    lines = buf.getvalue().splitlines()
    assert len(lines) == 3
    for k, line in enumerate(lines):
        assert line.startswith(f"lstm epoch {k + 1}/3 - loss: ")
        assert f"loss: {h.history['loss'][k]:.4g}" in line
        assert f"val_loss: {h.history['val_loss'][k]:.4g}" in line
        assert re.search(r" - \d+\.\d s$", line)
    assert "\r" not in buf.getvalue()


def test_auto_on_a_log_file_writes_first_last_and_one_line_per_interval(clock):
    """Many short epochs in a log: the first and last epoch, and one line per 10 s."""
    X, y = regression_data(n=8)
    buf = io.StringIO()  # not a terminal: plain lines, no bar
    small_model().fit(X, y, epochs=50, batch_size=8,
                      callbacks=[Tick(clock, per_epoch=1.0),
                                 *progress_callbacks("auto", desc="gru", file=buf)])
    epochs = [int(line.split()[2].split("/")[0]) for line in buf.getvalue().splitlines()
              if line.startswith("gru epoch") and " - loss: " in line]
    assert epochs[0] == 1 and epochs[-1] == 50
    assert all(9 <= b - a <= 11 for a, b in itertools.pairwise(epochs[1:-1]))
    assert 5 <= len(epochs) <= 8


def test_a_run_that_stops_early_writes_its_last_epoch(clock):
    X, y = regression_data(n=8)
    buf = io.StringIO()

    class StopAt(Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.trainer.stop_training = epoch == 6

    small_model().fit(X, y, epochs=50, batch_size=8,
                      callbacks=[StopAt(), *progress_callbacks("auto", file=buf)])
    lines = buf.getvalue().splitlines()
    assert lines[0].startswith("epoch 1/50") and lines[-1].startswith("epoch 7/50")


def test_fit_auto_writes_lines_to_stderr_and_keeps_stdout_clean(capsys):
    X, y = regression_data(n=8)
    model = small_model()
    model.fit(X, y, epochs=2, batch_size=4)  # "auto"; under pytest stderr is not a terminal
    out, err = capsys.readouterr()
    assert out == ""
    assert [line.split(" - ")[0] for line in err.splitlines()] == ["epoch 1/2", "epoch 2/2"]
    model.fit(X, y, epochs=2, batch_size=4, verbose=2)
    assert capsys.readouterr().err.splitlines()[-1].startswith("epoch 2/2 - loss: ")


def test_verbose_0_prints_nothing(capsys):
    assert progress_callbacks(0) == []
    X, y = regression_data(n=8)
    small_model().fit(X, y, epochs=2, batch_size=4, verbose=0)
    assert capsys.readouterr() == ("", "")


def test_bars_on_a_terminal(clock):
    X, y = regression_data(n=8)
    tty = Terminal()
    small_model().fit(X, y, epochs=2, batch_size=4,
                      callbacks=progress_callbacks("auto", desc="gru", file=tty))
    text = tty.getvalue()
    assert "gru: 100%" in text and "2/2 [" in text and "epoch/s" in text  # the epochs' bar
    assert "epoch 1:" in text and "batch/s" in text  # the batches' bar of an epoch
    assert "\r" in text  # redrawn in place
    assert "loss: " in text
    forced = io.StringIO()  # verbose=1: the bars even when the stream is not a terminal
    small_model().fit(X, y, epochs=1, batch_size=4, callbacks=progress_callbacks(1, file=forced))
    assert "training: 100%" in forced.getvalue() and "1/1 [" in forced.getvalue()


def test_estimate_after_the_second_epoch_of_a_long_run(clock):
    X, y = regression_data(n=8)
    buf = io.StringIO()  # the first epoch's 30 s of warm-up do not set the pace
    small_model().fit(X, y, epochs=6, batch_size=4,
                      callbacks=[Tick(clock, per_epoch=10.0, first_epoch=30.0),
                                 *progress_callbacks(2, desc="lstm", file=buf)])
    lines = buf.getvalue().splitlines()
    assert lines[0].startswith("lstm epoch 1/6 - loss: ") and lines[0].endswith(" - 30.0 s")
    assert lines[1].startswith("lstm epoch 2/6 - loss: ") and lines[1].endswith(" - 10.0 s")
    assert lines[2] == ("lstm epoch 2 took 10.0 s; the remaining 4 epochs take up to ~40 s "
                        "(sooner if training stops early)")
    assert len(lines) == 7  # six epoch lines and the estimate, once
    assert sum("took" in line for line in lines) == 1

    short = io.StringIO()  # 10 s x 2 remaining epochs = 20 s: not worth a line
    small_model().fit(X, y, epochs=4, batch_size=4,
                      callbacks=[Tick(clock, per_epoch=10.0), *progress_callbacks(2, file=short)])
    assert "took" not in short.getvalue() and len(short.getvalue().splitlines()) == 4

    two = io.StringIO()  # two epochs: estimated after the first
    small_model().fit(X, y, epochs=2, batch_size=4,
                      callbacks=[Tick(clock, per_epoch=40.0), *progress_callbacks(2, file=two)])
    assert "epoch 1 took 40.0 s; the remaining 1 epoch take up to ~40 s" in two.getvalue()


def test_estimate_in_bar_mode_goes_through_tqdm_write(clock):
    X, y = regression_data(n=8)
    tty = Terminal()
    small_model().fit(X, y, epochs=301, batch_size=8,
                      callbacks=[Tick(clock, per_epoch=2.0), *progress_callbacks(1, file=tty)])
    text = tty.getvalue()
    assert text.count("took") == 1
    assert "epoch 2 took 2.0 s; the remaining 299 epochs take up to ~10 min" in text


def test_lines_inside_a_long_epoch_at_most_every_interval(clock):
    X, y = regression_data(n=32)
    buf = io.StringIO()
    small_model().fit(X, y, epochs=1, batch_size=4,  # 8 batches of 12 s each
                      callbacks=[Tick(clock, per_batch=12.0),
                                 *progress_callbacks(2, desc="rnn", file=buf, interval=30)])
    lines = buf.getvalue().splitlines()
    # 36 s after the start (batch 3), then 36 s after that line (batch 6); the epoch line.
    assert [line.split(" - last")[0] for line in lines[:2]] == ["rnn epoch 1/1 - batch 3/8",
                                                               "rnn epoch 1/1 - batch 6/8"]
    assert lines[0].endswith(" - 36 s") and lines[1].endswith(" - 72 s")
    assert re.search(r"last batch loss: \S+", lines[0])
    assert lines[2].startswith("rnn epoch 1/1 - loss: ") and lines[2].endswith(" - 96.0 s")
    assert len(lines) == 3

    quiet = io.StringIO()  # interval=None: epoch lines only
    small_model().fit(X, y, epochs=1, batch_size=4,
                      callbacks=[Tick(clock, per_batch=12.0),
                                 *progress_callbacks(2, file=quiet, interval=None)])
    assert len(quiet.getvalue().splitlines()) == 1


def test_mode_choice_and_no_batch_work_when_off(monkeypatch):
    def mode(**kwargs):
        bar = ProgressBar(**kwargs)
        bar.on_train_begin()
        return bar.mode, bar.wants_batches

    assert mode(verbose="auto", file=Terminal()) == ("bar", True)
    assert mode(verbose="auto", file=io.StringIO()) == ("lines", True)
    assert mode(verbose=2, file=io.StringIO(), interval=None) == ("lines", False)
    assert mode(verbose=0, file=Terminal()) == (None, False)
    assert mode(verbose=1, file=io.StringIO()) == ("bar", True)
    monkeypatch.setattr(progress_module, "in_jupyter", lambda: True)
    assert mode(verbose="auto")[0] == "bar"  # our stderr in a notebook: the widget
    assert mode(verbose="auto", file=io.StringIO())[0] == "lines"  # a file the user chose

    calls = []

    class Counting(ProgressBar):
        def on_batch_end(self, batch, logs=None):
            calls.append(batch)

    X, y = regression_data(n=8)
    small_model().fit(X, y, epochs=1, batch_size=4, verbose=0,
                      callbacks=[Counting(file=Terminal())])
    assert calls == []  # silenced: the Trainer does not call it per batch


def test_arguments_are_checked():
    with pytest.raises(ValueError, match=r"verbose must be 'auto', 0, 1 or 2, got 3"):
        progress_callbacks(3)
    with pytest.raises(ValueError, match=r"verbose must be 'auto', 0, 1 or 2, got True"):
        ProgressBar(True)
    with pytest.raises(ValueError, match=r"interval must be a positive number or None, got 0"):
        ProgressBar(interval=0)
    with pytest.raises(TypeError, match=r"desc must be a str or None, got int"):
        progress_callbacks(2, desc=3)
    with pytest.raises(ValueError, match=r"verbose must be 'auto', 0, 1 or 2, got 'yes'"):
        small_model().fit(*regression_data(n=4), verbose="yes")


def test_format_duration():
    assert [format_duration(s) for s in (45, 628, 5400, 9000)] == [
        "~45 s", "~10 min", "~1.5 h", "~2.5 h"]
