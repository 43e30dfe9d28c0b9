"""Kill a real ``rnnkit forecast`` run writing into an existing folder; check what is left.

    python scripts/kill_command.py [--kills 20] [--seed 0]

A first run writes ``--out``. Then, ``--kills`` times, a new run into the same folder (with
another ``--seed``, so its metrics differ) is killed with SIGKILL at a random moment between
its start and the time a full run takes. After each kill the folder must hold exactly one
complete run: its marker lists every entry, each is there, metrics.json parses, and the
saved model loads and forecasts the values metrics.json recorded (so model and metrics come
from the same run). Then a fresh run into the folder must succeed (it cleans up what the
killed one left) and leave no hidden temporaries.

Prints ``N/N kills left one complete run's folder`` and exits 1 if any did not.
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from rnnkit.data.series import load_bundled
from rnnkit.fileio import MARKER_NAME
from rnnkit.tasks.base import load_estimator


def command(out: Path, seed: int) -> list[str]:
    return [sys.executable, "-m", "rnnkit", "-q", "forecast", "--models", "naive", "linear",
            "gru", "--epochs", "4", "--hidden", "4", "--seed", str(seed), "--out", str(out)]


def complete(out: Path) -> str | None:
    """None if ``out`` holds one complete run, else what is wrong."""
    marker = out / MARKER_NAME
    if not marker.is_file():
        return "no marker"
    listed = json.loads(marker.read_text())["files"]
    missing = [f for f in listed if not (out / f).exists()]
    if missing:
        return f"missing {missing[:3]}"
    metrics = json.loads((out / "metrics.json").read_text())
    forecast = load_estimator(out / "model").predict(load_bundled().values)  # after the data
    if not np.allclose(forecast, metrics["forecast"]["values"], rtol=1e-5):
        return "model and metrics.json come from different runs"
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        start = time.perf_counter()
        subprocess.run(command(out, 0), check=True, capture_output=True)
        full = time.perf_counter() - start
        good = newer = 0
        for k in range(1, args.kills + 1):
            child = subprocess.Popen(command(out, k), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(0.0, full))
            child.send_signal(signal.SIGKILL)
            child.wait()
            problem = complete(out)
            good += problem is None
            seed = json.loads((out / "metrics.json").read_text())["seed"] if not problem else None
            newer += seed == k
            print(f"kill {k:2d}: {'ok' if problem is None else problem} (the folder holds the "
                  f"run of seed {seed})", flush=True)
        subprocess.run(command(out, 99), check=True, capture_output=True)
        leftovers = [p.name for p in Path(tmp).iterdir() if p.name.startswith(".")]
        fresh = complete(out)
    print(f"{good}/{args.kills} kills left one complete run's folder ({newer} the killed run's "
          f"own, finished before the kill; the others the run before); the next run "
          f"{'left ' + str(leftovers) if leftovers else 'cleaned every temporary'}"
          f"{'' if fresh is None else f' but is incomplete: {fresh}'}")
    return 0 if good == args.kills and not leftovers and fresh is None else 1


if __name__ == "__main__":
    sys.exit(main())
