"""Kill training with SIGKILL at random moments, resume it, compare with a run never killed.

    python scripts/kill_resume.py [--points 20] [--seed 0] [--keep DIR]

Three trainings, each seeded and on one CPU thread: ``Sequential.fit`` (LSTM regression with
dropout, a validation split, early stopping and a step learning-rate schedule), a
``SequenceClassifier`` on sequences of different lengths (padded, length-bucketed batches)
and a ``Forecaster`` (GRU with dropout). Each runs once uninterrupted in a child process for
the reference. Then, for each of ``--points`` points (the three trainings in turn), a child
trains with ``checkpoint=DIR`` and is killed with SIGKILL a random time after training
starts, drawn uniformly within the reference's training time (any moment: mid-epoch, while a
checkpoint is written, before the first one; seeded by ``--seed``); a second child runs the
same training with ``resume=True``, and its final weights and history must equal the
reference's bit for bit.

Prints one line per point (where the kill fell: epochs checkpointed, or after the end) and
``N/N resumed runs bit-identical``; exits 1 if any differs.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCENARIOS = ("sequential", "classify", "forecast")
STARTED, ENDED = "TRAINING STARTED", "TRAINING ENDED"


# ----------------------------------------------------------------------------- the child
def _train(scenario: str, checkpoint: str | None, resume: bool):
    """Train one scenario; returns ``(module, history dict)``."""
    import numpy as np
    import torch

    kw = {"checkpoint": checkpoint, "resume": resume} if checkpoint else {}
    rng = np.random.default_rng(0)
    print(STARTED, flush=True)
    if scenario == "sequential":
        from rnnkit.nn import LSTM, Dense
        from rnnkit.train import Sequential
        from rnnkit.train.callbacks import EarlyStopping

        t = np.arange(2400) * 0.1
        wave = np.sin(t) + 0.1 * rng.standard_normal(len(t))
        X = np.stack([wave[i:i + 20] for i in range(0, 2000)])[:, :, None].astype(np.float32)
        y = wave[20:2020, None].astype(np.float32)
        torch.manual_seed(0)
        model = Sequential([LSTM(1, 16), torch.nn.Dropout(0.2), Dense(16, 1)])
        model.compile(loss="mse", optimizer="adam", lr=3e-3, metrics=["mae"],
                      lr_schedule=lambda opt: torch.optim.lr_scheduler.StepLR(opt, 3, 0.5))
        h = model.fit(X, y, epochs=12, batch_size=32, validation_split=0.2, verbose=0,
                      seed=0, callbacks=[EarlyStopping("val_loss", patience=3)], **kw)
        return model, h.history
    if scenario == "classify":
        from rnnkit.tasks.classify import SequenceClassifier

        X = [rng.standard_normal((int(rng.integers(5, 30)), 3)).astype(np.float32)
             for _ in range(1200)]
        y = np.asarray([int(x[:, 0].sum() > 0) for x in X])
        clf = SequenceClassifier(model="lstm", hidden_size=16, dropout=0.2, epochs=10,
                                 batch_size=32, patience=3, verbose=0)
        clf.fit(X, y, **kw)
        return clf.model_, clf.history_
    from rnnkit.tasks.forecast import Forecaster

    t = np.arange(1500)
    series = 10 + np.sin(2 * np.pi * t / 24) + 0.01 * t + 0.2 * rng.standard_normal(len(t))
    fc = Forecaster(model="gru", input_len=24, horizon=6, hidden=16, dropout=0.1, epochs=12,
                    batch_size=32, patience=4, verbose=0)
    fc.fit(series, **kw)
    return fc.model_, fc.history_


def child(scenario: str, out: str, checkpoint: str | None, resume: bool) -> None:
    import safetensors.torch
    import torch

    torch.set_num_threads(1)
    model, history = _train(scenario, checkpoint, resume)
    print(ENDED, flush=True)
    Path(out).mkdir(parents=True, exist_ok=True)
    safetensors.torch.save_file({k: v.detach().clone().contiguous()
                                 for k, v in model.state_dict().items()},
                                str(Path(out) / "weights.safetensors"))
    (Path(out) / "history.json").write_text(json.dumps(history))


# ----------------------------------------------------------------------------- the parent
def _command(scenario: str, out: Path, checkpoint: Path | None = None, resume: bool = False):
    cmd = [sys.executable, __file__, "--child", scenario, "--out", str(out)]
    if checkpoint is not None:
        cmd += ["--checkpoint", str(checkpoint)] + (["--resume"] if resume else [])
    return cmd


def _run(cmd: list[str]) -> float:
    """Run a child to the end; the seconds its training took."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    start = time.monotonic()
    end = proc.stdout.readline()
    took = time.monotonic() - start
    rest = proc.stdout.read()
    if proc.wait() != 0 or STARTED not in line or ENDED not in end:
        raise SystemExit(f"child failed: {' '.join(cmd)}\n{line}{end}{rest}")
    return took


def _kill_after(cmd: list[str], delay: float) -> bool:
    """Start a child, SIGKILL it ``delay`` seconds after training starts; False if it had
    already finished by then."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if STARTED not in line:
        raise SystemExit(f"child failed before training: {line}{proc.stdout.read()}")
    time.sleep(delay)
    killed = proc.poll() is None
    if killed:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    return killed


def _result(folder: Path):
    import safetensors.torch

    return (safetensors.torch.load_file(str(folder / "weights.safetensors")),
            json.loads((folder / "history.json").read_text()))


def _identical(a: Path, b: Path) -> bool:
    import torch

    (wa, ha), (wb, hb) = _result(a), _result(b)
    return ha == hb and wa.keys() == wb.keys() and all(
        wa[k].dtype == wb[k].dtype and torch.equal(wa[k], wb[k]) for k in wa)


def _where(checkpoint: Path) -> str:
    state = checkpoint / "trainer.json"
    if not state.is_file():
        return "before the first checkpoint"
    doc = json.loads(state.read_text())
    if doc["finished"]:
        return "after training ended"
    return f"after {doc['epoch']} checkpointed epoch(s)"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--points", type=int, default=20, help="kill points (default 20)")
    p.add_argument("--seed", type=int, default=0, help="seed of the kill times (default 0)")
    p.add_argument("--keep", default=None, help="work in this folder and keep it")
    p.add_argument("--child", choices=SCENARIOS, help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    p.add_argument("--checkpoint", help=argparse.SUPPRESS)
    p.add_argument("--resume", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        child(args.child, args.out, args.checkpoint, args.resume)
        return 0

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="kill_resume_"))
    work.mkdir(parents=True, exist_ok=True)
    rnd = random.Random(args.seed)
    try:
        seconds = {}
        for s in SCENARIOS:
            seconds[s] = _run(_command(s, work / f"ref-{s}"))
            print(f"reference {s}: trained in {seconds[s]:.1f} s", flush=True)
        same = 0
        for i in range(args.points):
            s = SCENARIOS[i % len(SCENARIOS)]
            ckpt = work / f"ck-{i}"
            delay = rnd.uniform(0.0, seconds[s])
            killed = _kill_after(_command(s, work / f"killed-{i}", ckpt), delay)
            where = _where(ckpt) if killed else "after the child exited (not killed)"
            _run(_command(s, work / f"resumed-{i}", ckpt, resume=True))
            ok = _identical(work / f"ref-{s}", work / f"resumed-{i}")
            same += ok
            print(f"point {i + 1:2d} {s:<10} killed {delay:5.2f} s into training, "
                  f"{where}: {'bit-identical' if ok else 'DIFFERENT'}", flush=True)
        print(f"{same}/{args.points} resumed runs bit-identical")
        return 0 if same == args.points else 1
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
