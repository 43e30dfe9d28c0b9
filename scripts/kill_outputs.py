"""Kill a writer of an rnnkit output folder with SIGKILL at random points; check what is left.

    python scripts/kill_outputs.py [--kills 20] [--seed 0] [--fallback]

A child process rewrites one output folder again and again through
:func:`rnnkit.fileio.atomic_directory`, as a command does: several small files with fsyncs
and short sleeps between them and a nested ``model/`` folder, every file holding the run's
id. The parent kills it at ``--kills`` random moments (seeded) and after each kill checks
that the target holds exactly one complete run (the one before the kill, or one the child
finished), every file present and all with the same id. It then calls
:func:`rnnkit.fileio.check_output_dir` once, as the next command would, and checks that the
folder is still complete and every temporary is gone. ``--fallback`` makes the child swap
folders with plain renames instead of ``renameat2(RENAME_EXCHANGE)``; a kill between those
renames may leave the old folder only at its ``-old-`` name, which the next call puts back.

Prints ``N/N kills left one complete folder`` and exits 1 if any kill did not.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rnnkit import fileio

TOP_FILES = [f"part{i}.txt" for i in range(6)]
MODEL_FILES = ["config.json", "weights.bin"]
EXPECTED = {*TOP_FILES, "model", *(f"model/{f}" for f in MODEL_FILES),
            fileio.MARKER_NAME, f"model/{fileio.MARKER_NAME}"}


def _write(path: Path, text: str, pause: float) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    time.sleep(pause)


def write_run(target: Path, run_id: str, pause: float = 0.0) -> None:
    """One complete output folder at ``target``; every file holds ``run_id``."""
    with fileio.atomic_directory(target, what="kill-test") as tmp:
        for name in TOP_FILES[:3]:
            _write(tmp / name, run_id, pause)
        with fileio.atomic_directory(tmp / "model", what="model") as model:
            for name in MODEL_FILES:
                _write(model / name, run_id, pause)
        for name in TOP_FILES[3:]:
            _write(tmp / name, run_id, pause)


def run_of(folder: Path) -> str | None:
    """The run id if ``folder`` holds one complete run, else None."""
    found = set()
    for root, dirs, files in os.walk(folder):
        rel = Path(root).relative_to(folder)
        found |= {(rel / name).as_posix() for name in dirs + files}
    if found != EXPECTED:
        return None
    ids = {(folder / rel).read_text(encoding="utf-8") for rel in EXPECTED
           if rel not in ("model", fileio.MARKER_NAME, f"model/{fileio.MARKER_NAME}")}
    return ids.pop() if len(ids) == 1 else None


def child(target: Path, fallback: bool) -> None:
    if fallback:
        fileio._USE_RENAMEAT2 = False
    print("ready", flush=True)
    for run in range(1, 1_000_000):
        write_run(target, f"{os.getpid()}-{run}", pause=0.001)


def check_after_kill(target: Path, before: str, pid: int, fallback: bool) -> tuple[str, str]:
    """``(problem or "", outcome)`` for the folder right after a kill, before any cleanup."""
    siblings = [p for p in target.parent.iterdir() if p != target]
    temporary = re.compile(rf"\.{re.escape(target.name)}\.rnnkit-(new|old)-[a-z0-9_]+")
    strays = [p.name for p in siblings if not temporary.fullmatch(p.name)]
    if strays:
        return f"unexpected entries beside the target: {strays}", ""
    folder = target
    if not target.exists() and fallback:  # killed between the fallback's two renames
        olds = [p for p in siblings if ".rnnkit-old-" in p.name]
        if len(olds) != 1:
            return f"target missing and {len(olds)} -old- folders beside it", ""
        folder = olds[0]
    run = run_of(folder) if folder.is_dir() else None
    if run is None:
        return f"{folder} does not hold one complete run", ""
    if run == before:
        outcome = "old"
    elif run.startswith(f"{pid}-"):
        outcome = "new"
    else:
        return f"{folder} holds run {run}, neither the old {before} nor one of pid {pid}", ""
    return "", outcome + (" (aside)" if folder != target else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-delay", type=float, default=0.1,
                        help="kill at a random moment in [0, this] s after the child is ready")
    parser.add_argument("--fallback", action="store_true",
                        help="swap with plain renames instead of renameat2")
    parser.add_argument("--child", metavar="TARGET", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(Path(args.child), args.fallback)
        return 0

    rng = random.Random(args.seed)
    good, outcomes, with_temps = 0, {}, 0
    with tempfile.TemporaryDirectory() as d:
        target = Path(d) / "out"
        write_run(target, "initial")
        for k in range(1, args.kills + 1):
            before = run_of(target)
            cmd = [sys.executable, __file__, "--child", str(target)]
            proc = subprocess.Popen(cmd + (["--fallback"] if args.fallback else []),
                                    stdout=subprocess.PIPE, text=True)
            if proc.stdout.readline().strip() != "ready":
                proc.kill()
                raise SystemExit(f"kill {k}: the child did not start")
            time.sleep(rng.uniform(0, args.max_delay))
            proc.kill()  # SIGKILL: no finally, no atexit
            proc.wait()
            proc.stdout.close()
            problem, outcome = check_after_kill(target, before, proc.pid, args.fallback)
            with_temps += any(p != target for p in target.parent.iterdir())
            if not problem:
                fileio.check_output_dir(target)  # the next run: recover, clean up
                left = sorted(p.name for p in target.parent.iterdir() if p != target)
                if run_of(target) is None:
                    problem = "the next call did not leave one complete run at the target"
                elif left:
                    problem = f"the next call left temporaries: {left}"
            if problem:
                print(f"kill {k}: {problem}")
            else:
                good += 1
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
    detail = ", ".join(f"{n} {o}" for o, n in sorted(outcomes.items()))
    print(f"{good}/{args.kills} kills left one complete folder ({detail}; {with_temps} left "
          f"temporaries, removed by the next call)")
    return 0 if good == args.kills else 1


if __name__ == "__main__":
    sys.exit(main())
