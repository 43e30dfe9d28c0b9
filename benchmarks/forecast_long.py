"""Wall time of ``rnnkit forecast`` on a long weekly series, fits in one process against fits
in worker processes, side by side in one run.

The series (generated here, seeded): 2,300 weekly values from 1980-01-06, a slow trend, a
yearly season (52.18 weeks), a random-walk level and noise::

    y_t = 10 + 0.002 t + 2 sin(2 pi t / 52.18) + sum_{s <= t} e_s + u_t,
    e ~ N(0, 0.1^2), u ~ N(0, 0.3^2)

It is written to a CSV with a date column and run through the command as a user would:
``rnnkit forecast --data FILE --horizon 52 --input-len 104`` (the six default models; the
date column, the weekly frequency and the season 52 are detected), once per ``--jobs`` value
(default ``1 auto``: one process, then one worker per core), each in its own process, one
after the other. Printed per run: wall seconds, CPU seconds of the command and its workers,
the number of workers it used, the selected model and its test MAE beside seasonal naive's
(the issue's goal: under 90 s on two cores, with the selected model as accurate as before).
``--peers`` keeps the statsforecast rows (default: none, the models alone).

    python benchmarks/forecast_long.py                     # --jobs 1 and auto
    python benchmarks/forecast_long.py --jobs auto --peers

Measured on the 2-core VM (wall seconds of ``--jobs auto``, two workers, unless said; the test
MAE 0.5245 in every run of 2026-12-04 until 15:58 UTC):

- 2026-12-03, after the folds became out of sample and the ensemble the default: 188.8 s
  with ``--jobs 1``, 94.6 and 104.3 s with ``--jobs auto``;
- after the GRU kernel's BPTT step became one loop per row for small hidden sizes (it had
  cost 1.2-1.6x torch's fused LSTM at this shape: batch 128, 104 steps, 32 units; then
  1.1-1.4x): 88.0 and 85.4 s;
- 2026-12-04, after the one-thread workers' GRU took the compiled time loop (46.5 s for its
  folds and refit against 51.3 s): 84.8 and 84.4 s (94.2 s before the change, one run);
- after SimpleRNN got a kernel of its own (its folds and refit 20.7 s against 30.2 s, in a
  run of the command that also fitted the statsforecast peers): 73.1 and 81.7 s;
- the same code on a slower VM of the same kind (a later session, where torch.nn.LSTM's
  training step at (64, 50, 1, 20) took 3.0 ms against 1.5 ms): 90.0 and 90.2 s;
- that VM the next session (2026-12-04 11:57 UTC): 100.3 s; after the LSTM took its own
  kernel in one-thread workers (its folds and refit 84.4 s against 96.4 s in runs of the
  command itself, which took 88.9 and 88.2 s wall): 101.4 s. The test MAE stays 0.5245 (the
  LSTM is not among the selected three); the session after (14:22 and 14:56 UTC, the same
  code but the horizon and baseline changes, which this command's explicit --horizon and
  the baselines' fixed forecasts leave as they were): 86.6 and 90.0 s. Its timeline (one
  run, 92.2 s): the opening line at 2.1 s, the workers' first fits at 4 s, the last refit
  done at 88.2 s, the table at 91.3 s; the two workers were busy for 168 s of fits (LSTM
  88, GRU 47, SimpleRNN 28, linear 4), so the wall is bounded by the fits, not the
  schedule. Then the networks of one series read changes scaled by the mean absolute change
  over 1..H steps instead of the std (16:00-16:04 UTC): test MAE 0.5138 (the median of the
  same three), 104.0 and 117.7 s wall, 201.5 and 227.6 CPU s against the std's 165.8 and
  172.9 (more epochs before the folds stop early, and a noisier VM: the same run's two CPU
  times differ by 13 %); the mean one-step change as the scale (15:58, one run) had given
  0.6413, worse than seasonal naive, in 100.2 s.
- 2026-12-04 17:17 UTC (a slower VM state: the command at its default horizon 13 with the
  peers took 130.4 s at 16:52 against 90.8 s the evening before, the same forecasts), after
  compare's step budget went from 1,500 to 1,000 a fit: 99.8 s wall, 189.8 CPU s, test MAE
  0.5504 (the median of linear, GRU and LSTM); the command itself, with the same flags, 83.8 s
  at 17:21; at 18:02, 101.0 s wall, 192.5 CPU s, the same forecasts. At the default horizon 13
  with the peers: 130.4 s with 1,500 steps, 91.7 s with 1,000, 85.1 s once AutoARIMA's search
  used the approximate likelihood for this season, 79.9 s at 18:01.
- 2026-12-05 01:11 and 01:13 UTC, after ``level="auto"`` (simple_rnn and gru read the scaled
  values, linear and lstm changes): 53.1 and 52.3 s wall, 101.4 and 99.7 CPU s, test MAE
  0.5616 (0.5504 with every network reading changes; seasonal naive 0.5922). The command at
  its default horizon 13 with the peers: 65.0 and 62.7 s, the median of simple_rnn, gru and
  lstm 0.353 (0.307 before; MSTL 0.530, AutoARIMA 0.816): this series' level is a random
  walk, which changes suit.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np


def weekly_series(n: int = 2300, seed: int = 0) -> np.ndarray:
    """The series of the module doc, ``(n,)``."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return (10 + 0.002 * t + 2 * np.sin(2 * np.pi * t / 52.18)
            + np.cumsum(rng.normal(0, 0.1, n)) + rng.normal(0, 0.3, n))


def write_csv(path: Path, y: np.ndarray) -> None:
    start = date(1980, 1, 6)
    lines = ["date,value"] + [f"{(start + timedelta(weeks=i)).isoformat()},{v:.4f}"
                              for i, v in enumerate(y)]
    path.write_text("\n".join(lines) + "\n")


def run(data: Path, out: Path, jobs: str, peers: bool) -> dict:
    """One command run: wall and CPU seconds and what metrics.json says."""
    cmd = [sys.executable, "-m", "rnnkit", "forecast", "--data", str(data), "--horizon", "52",
           "--input-len", "104", "--jobs", jobs, "--out", str(out), "--overwrite",
           *([] if peers else ["--peers", "none"])]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")
    metrics = json.loads((out / "metrics.json").read_text())
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": wall, "cpu": cpu, "metrics": metrics}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--jobs", nargs="+", default=["1", "auto"], help="--jobs values to run")
    ap.add_argument("--peers", action="store_true", help="keep the statsforecast rows")
    args = ap.parse_args(argv)
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"python {platform.python_version()}, {date.today()}")
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "weekly.csv"
        write_csv(data, weekly_series())
        print(f"{'--jobs':>7} {'workers':>8} {'wall s':>8} {'CPU s':>8}  selected"
              f"{'':<9} {'test MAE':>9} {'seasonal naive':>15}")
        for jobs in args.jobs:
            r = run(data, Path(tmp) / f"out-{jobs}", jobs, args.peers)
            m = r["metrics"]
            rows = {row["model"]: row for row in m["models"]}
            best = m["best_model"]
            print(f"{jobs:>7} {m['jobs']:>8} {r['wall']:>8.1f} "
                  f"{r['cpu']:>8.1f}  {best:<17} {rows[best]['test']['mae']:>9.4f} "
                  f"{rows['seasonal_naive']['test']['mae']:>15.4f}", flush=True)


if __name__ == "__main__":
    main()
