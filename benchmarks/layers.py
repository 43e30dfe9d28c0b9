"""Training-step time of every rnnkit layer / path, as a ratio to torch.nn.LSTM, side by side.

A training step is forward + backward of an MSE loss on all outputs (return_sequences), with
every parameter's gradient, on CPU with ``torch.set_num_threads(2)`` (``--threads`` sets
another count: 1 is a forecast worker's). Shapes (B, T, D, H):
(64, 50, 1, 20), (64, 100, 64, 128), (32, 200, 128, 256), (256, 28, 28, 128).

Repetitions are interleaved (A B C ... A B C ...), as many rounds as fit in about a minute per
shape. In a round each row runs two steps back to back and the second is timed, as in a
training loop, where one layer runs step after step: a single step right after other rows
finds torch's thread pool asleep and its caches cold, which measured torch.nn.LSTM at
(64, 50, 1, 20) at 2.9 ms against 1.5-1.9 ms back to back (2026-12-03), flattering every
ratio to it. Printed first: the machine (CPU model, cores, threads used, torch / NumPy / Numba
versions and builds, date), then two ratios: best time of the row / best time of torch.nn.LSTM
(the least disturbed runs; the goals are checked on it) and the median over rounds of the ratio
within a round (slow drifts of a shared machine cancel), then each row's spread over rounds
(best, median and worst time), and the first call of each row (the traced path's tracing).
``--markdown`` prints the machine and the ratios as a Markdown table for the README. Goals:

- fused path within 1.05x of the bare torch.nn layer (LSTM / GRU / RNN);
- to torch.nn.LSTM at every shape: GRU on the fast path 1.1x, LNLSTM and LNGRU on the fast
  path 1.3x, LNSimpleRNN 1.0x; SimpleRNN on the fast path faster than torch.nn.RNN (1.0x,
  so that ``path="auto"`` may take it);
- a user LSTM cell (a ``Cell`` in torch ops) on the traced path within 1.5x of torch.nn.LSTM
  at the three larger shapes, 2.5x at (64, 50, 1, 20).

    python benchmarks/layers.py            # about 6 minutes on 2 cores
    python benchmarks/layers.py --quick    # about 2 minutes
    python benchmarks/layers.py --rows "LNLSTM fast" --shapes 0,3   # a subset
    python benchmarks/layers.py --quick --markdown   # the README's table
    python benchmarks/layers.py --quick --threads 1 --rows "LSTM fused,LSTM fast"
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import os
import platform
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.nn import GRU, LNGRU, LNLSTM, LSTM, LNSimpleRNN, Recurrent, SimpleRNN
from rnnkit.tasks.classify.cells import MyLSTMCell  # a user cell (rnnkit.nn.Cell subclass)

SHAPES = [(64, 50, 1, 20), (64, 100, 64, 128), (32, 200, 128, 256), (256, 28, 28, 128)]
#: rows slower than this many seconds a step run in 3 rounds only (the loops at large shapes)
SLOW_S = 0.25
#: rows always measured (the ratios' denominators)
BASELINES = ("torch.nn.LSTM", "torch.nn.GRU", "torch.nn.RNN")


def make_rows(D: int, H: int) -> dict[str, tuple[nn.Module, str | None]]:
    """name -> (module returning (B, T, H) or torch.nn's (out, state), expected last_path)."""
    seq = {"return_sequences": True}
    return {
        "torch.nn.LSTM": (nn.LSTM(D, H, batch_first=True), None),
        "torch.nn.GRU": (nn.GRU(D, H, batch_first=True), None),
        "torch.nn.RNN": (nn.RNN(D, H, batch_first=True), None),
        "LSTM fused": (LSTM(D, H, path="fused", **seq), "fused"),
        "LSTM fast": (LSTM(D, H, path="fast", **seq), "fast"),
        "GRU fused": (GRU(D, H, path="fused", **seq), "fused"),
        "GRU fast": (GRU(D, H, path="fast", **seq), "fast"),
        "SimpleRNN fused": (SimpleRNN(D, H, path="fused", **seq), "fused"),
        "SimpleRNN fast": (SimpleRNN(D, H, path="fast", **seq), "fast"),
        "LNLSTM fast": (LNLSTM(D, H, **seq), "fast"),
        "LNGRU fast": (LNGRU(D, H, **seq), "fast"),
        "LNSimpleRNN fast": (LNSimpleRNN(D, H, **seq), "fast"),
        "LNLSTM loop": (LNLSTM(D, H, path="loop", **seq), "loop"),
        "LNGRU loop": (LNGRU(D, H, path="loop", **seq), "loop"),
        "user LSTM cell traced": (Recurrent(MyLSTMCell(D, H), **seq), "traced"),
        "user LSTM cell loop": (Recurrent(MyLSTMCell(D, H), path="loop", **seq), "loop"),
    }


def train_step(module: nn.Module, x: Tensor, y: Tensor) -> Callable[[], None]:
    def step() -> None:
        module.zero_grad(set_to_none=True)
        out = module(x)
        if isinstance(out, tuple):  # torch.nn layers return (out, state)
            out = out[0]
        F.mse_loss(out, y).backward()

    return step


def measure(
    shape: tuple[int, int, int, int], budget_s: float, rounds: int | None, only: list[str] | None
) -> dict[str, float]:
    """Time every row in interleaved rounds; ratios to torch.nn.LSTM (see the module doc).

    ``rounds`` None: rounds until about ``budget_s`` seconds have passed (5 to 60); rows slower
    than SLOW_S a step run in the first 3 rounds only.
    """
    B, T, D, H = shape
    torch.manual_seed(0)
    x = torch.randn(B, T, D)
    y = torch.randn(B, T, H)
    rows = make_rows(D, H)
    if only:
        rows = {k: v for k, v in rows.items() if k in (*only, *BASELINES)}
    steps = {name: train_step(m, x, y) for name, (m, _) in rows.items()}
    warm: dict[str, float] = {}
    first: dict[str, float] = {}
    for name, step in steps.items():  # warm up (kernel buffers, oneDNN primitives, tracing)
        spent = []
        for _ in range(2):
            t0 = time.perf_counter()
            step()
            spent.append(time.perf_counter() - t0)
        warm[name] = min(spent)
        first[name] = spent[0]
        want = rows[name][1]
        got = getattr(rows[name][0], "last_path", None)
        if want is not None and got != want:
            raise RuntimeError(f"{name} ran on path {got!r}, expected {want!r}")
    slow = {name for name, w in warm.items() if w > SLOW_S and name not in BASELINES}
    times: dict[str, list[float]] = {name: [] for name in steps}
    base: list[float] = []
    start = time.perf_counter()
    r = 0
    while (
        (r < rounds) if rounds else (r < 5 or (r < 60 and time.perf_counter() - start < budget_s))
    ):
        for name, step in steps.items():
            if name in slow and r >= 3:
                continue
            step()  # untimed: the row's own step before it, as in training
            t0 = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - t0)
        base.append(times["torch.nn.LSTM"][-1])
        r += 1
    # median over rounds of the ratio within a round, and the ratio of the best times (the
    # least disturbed run of each row: on a busy machine the more trustworthy figure)
    ratios = {
        name: statistics.median(t / b for t, b in zip(ts, base, strict=False))
        for name, ts in times.items()
    }
    for name, ts in times.items():
        ratios["best " + name] = min(ts) / min(base)
        ratios["ms " + name] = (min(ts) * 1e3, statistics.median(ts) * 1e3, max(ts) * 1e3)
        ratios["first " + name] = first[name]
    ratios["lstm_ms"] = min(base) * 1e3
    ratios["rounds"] = r
    for row, bare, key in (
        ("GRU fused", "torch.nn.GRU", "gru_vs_torch"),
        ("SimpleRNN fused", "torch.nn.RNN", "rnn_vs_torch"),
        ("SimpleRNN fast", "torch.nn.RNN", "rnn_fast_vs_torch"),
    ):
        if row in times:
            pairs = zip(times[row], times[bare], strict=False)
            ratios[key] = statistics.median(a / b for a, b in pairs)
            ratios["best " + key] = min(times[row]) / min(times[bare])
    return ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (a short run)")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds per shape")
    parser.add_argument("--rows", default=None, help="comma-separated row names (default: all)")
    parser.add_argument("--shapes", default=None, help="comma-separated shape indices 0-3")
    parser.add_argument("--threads", type=int, default=2,
                        help="torch threads (default 2; the goals are for 2)")
    parser.add_argument("--markdown", action="store_true",
                        help="also print the machine and the ratios as a Markdown table")
    args = parser.parse_args()
    budget = 12.0 if args.quick else 60.0
    only = None if args.rows is None else [r.strip() for r in args.rows.split(",")]
    shapes = SHAPES if args.shapes is None else [SHAPES[int(i)] for i in args.shapes.split(",")]
    torch.set_num_threads(args.threads)
    machine = describe_machine()
    for line_ in machine:
        print(line_)
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)

    results = {}
    for shape in shapes:
        t0 = time.perf_counter()
        results[shape] = measure(shape, budget, args.rounds, only)
        took = time.perf_counter() - t0
        print(f"measured {shape}: {results[shape]['rounds']} rounds, {took:.0f} s", flush=True)
    print(f"load average after: {os.getloadavg()[0]:.1f} (ratios are noisy above the core count)")
    report(results, shapes)
    if args.markdown:
        print()
        print(markdown(results, shapes, machine))


def describe_machine() -> list[str]:
    """CPU model, cores and threads, library versions and builds, the date: one line each."""
    model = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            model = next(
                (ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), model
            )
    except OSError:
        pass
    parallel = torch.__config__.parallel_info().splitlines()
    backend = next((ln.split(":", 1)[1].strip() for ln in parallel
                    if ln.startswith("ATen parallel backend")), "?")
    blas = np.show_config(mode="dicts").get("Build Dependencies", {}).get("blas", {})
    try:
        numba = importlib.metadata.version("numba")
    except importlib.metadata.PackageNotFoundError:
        numba = "absent"
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return [
        f"machine: {model}, {os.cpu_count()} logical cores, {torch.get_num_threads()} torch "
        f"threads, OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')}",
        f"torch {torch.__version__} ({backend} parallel backend, MKL "
        f"{'yes' if torch.backends.mkl.is_available() else 'no'}, oneDNN "
        f"{'yes' if torch.backends.mkldnn.is_available() else 'no'}); numpy {np.__version__} "
        f"({blas.get('name', '?')} {blas.get('version', '')}); numba {numba}; "
        f"Python {platform.python_version()}",
        f"date: {when}",
    ]


def markdown(results: dict, shapes: list, machine: list[str]) -> str:
    """The machine lines and a table: ratio of best times (median of per-round ratios)."""
    names = [n for n in make_rows(1, 1) if n in results[shapes[0]]]
    head = "| training step / torch.nn.LSTM | " + " | ".join(f"{s}" for s in shapes) + " |"
    rule = "|---|" + "---:|" * len(shapes)
    ms = "| torch.nn.LSTM [ms, best] | " + " | ".join(
        f"{results[s]['lstm_ms']:.1f}" for s in shapes) + " |"
    rows = [
        f"| {n} | " + " | ".join(
            f"{results[s]['best ' + n]:.2f} ({results[s][n]:.2f})" for s in shapes) + " |"
        for n in names
    ]
    notes = [f"{m}  " for m in machine]
    return "\n".join([*notes, "", head, rule, ms, *rows, "",
                      "ratio of best times (median of per-round ratios), interleaved rounds, "
                      "the second of two back-to-back steps timed"])


def report(results: dict, shapes: list) -> None:
    """Print the table of ratios and the goals."""
    first = results[shapes[0]]
    names = [n for n in make_rows(1, 1) if n in first]
    extra = [
        ("GRU fused / torch.nn.GRU", "gru_vs_torch"),
        ("SimpleRNN fused / nn.RNN", "rnn_vs_torch"),
        ("SimpleRNN fast / nn.RNN", "rnn_fast_vs_torch"),
    ]
    width = max(len(n) for n in [*names, *(e[0] for e in extra), "torch.nn.LSTM [ms, median]"]) + 2

    def line(label: str, key: str, fmt: str = ".2f") -> None:
        cells = "".join(f"{results[s][key]:>22{fmt}}" for s in shapes)
        print(f"{label:<{width}}{cells}")

    for kind, prefix in (("ratio of best times", "best "), ("median of per-round ratios", "")):
        print(f"\ntraining step / torch.nn.LSTM's, {torch.get_num_threads()} threads, "
              f"interleaved rounds: {kind}")
        print(f"{'(B, T, D, H)':<{width}}" + "".join(f"{s!s:>22}" for s in shapes))
        if prefix:
            line("torch.nn.LSTM [ms, best]", "lstm_ms")
            line("rounds", "rounds", ".0f")
        for name in names:
            line(name, prefix + name)
        for label, key in extra:
            if key in first:
                line(label, prefix + key)

    print("\ntime per step over rounds [ms]: best / median / worst")
    print(f"{'(B, T, D, H)':<{width}}" + "".join(f"{s!s:>26}" for s in shapes))
    for name in names:
        spreads = ("/".join(f"{v:.1f}" for v in results[s]["ms " + name]) for s in shapes)
        print(f"{name:<{width}}" + "".join(f"{c:>26}" for c in spreads))
    print("\nfirst call [s] (the traced row includes tracing the step)")
    for name in names:
        if name.endswith("traced"):
            line(name, "first " + name)

    print("\ngoals (ratio of best times; median of per-round ratios in brackets)")
    for s in shapes:
        r = results[s]
        checks = [
            ("LSTM fused / torch.nn.LSTM", "LSTM fused", 1.05),
            ("GRU fused / torch.nn.GRU", "gru_vs_torch", 1.05),
            ("SimpleRNN fused / torch.nn.RNN", "rnn_vs_torch", 1.05),
            ("GRU fast / torch.nn.LSTM", "GRU fast", 1.1),
            ("SimpleRNN fast / torch.nn.RNN", "rnn_fast_vs_torch", 1.0),
            ("LNLSTM fast / torch.nn.LSTM", "LNLSTM fast", 1.3),
            ("LNGRU fast / torch.nn.LSTM", "LNGRU fast", 1.3),
            ("LNSimpleRNN fast / torch.nn.LSTM", "LNSimpleRNN fast", 1.0),
            ("user LSTM cell traced / nn.LSTM", "user LSTM cell traced",
             2.5 if s[3] == 20 else 1.5),
        ]
        for label, key, goal in checks:
            if key in r:
                best, med = r["best " + key], r[key]
                mark = "ok" if best <= goal else "MISSED"
                print(f"  {s!s:<20} {label:<32} {best:5.2f} ({med:5.2f}) <= {goal:<4} {mark}")
        first = r.get("first user LSTM cell traced")
        if first is not None:  # tracing the step included
            mark = "ok" if first <= 10 else "MISSED"
            print(f"  {s!s:<20} {'user LSTM cell traced, 1st call':<32} {first:5.2f} s     "
                  f"<= 10 s {mark}")


if __name__ == "__main__":
    main()
