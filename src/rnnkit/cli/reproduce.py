"""``rnnkit reproduce``: re-run a classic experiment and print our figure beside the published.

    rnnkit reproduce geron                  # Hands-On ML ch. 15 table (all rows, 20 epochs)
    rnnkit reproduce geron --models naive linear deep_rnn_dense --epochs 5
    rnnkit reproduce sine                   # the SimpleRNN sine example (reference engine)

``geron`` follows the book's protocol (10,000 two-sine series, 50 steps, 7000/2000/1000
split, Adam, batch 32, 20 epochs) and prints the validation MSE of each row beside the
notebook's; ``--out DIR`` also writes ``results.json`` and ``geron.png`` (ours beside the
published value, row by row). Each row's training progress goes to stderr (``--quiet``:
none). ``sine`` trains the reference engine's SimpleRNN on the sine windows and prints the
loss before and after, and that no published figure exists for it (``--out DIR`` writes
``sine.png`` and ``sine.json``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rnnkit.cli.options import DefaultsFormatter, add, positive_int, set_threads, verbose


def register(subparsers: argparse._SubParsersAction) -> None:
    from rnnkit.tasks.forecast.geron import ROWS

    p = subparsers.add_parser("reproduce", help="reproduce a published experiment (geron, "
                              "sine)", description=__doc__.split("\n\n")[0].split(": ", 1)[1],
                              formatter_class=DefaultsFormatter)
    add(p, "experiment", choices=("geron", "sine"),
        help="geron: Hands-On ML ch. 15 forecasting table; sine: SimpleRNN sine")
    add(p, "--models", nargs="+", metavar="ROW", default=None,
        help=f"geron rows to run (default: all): {', '.join(ROWS)}")
    add(p, "--epochs", type=positive_int, default=None,
        help="training epochs (default: geron 20, sine 100)")
    add(p, "--n-series", type=positive_int, default=10000,
        help="geron: series generated (the book: 10,000)")
    add(p, "--seed", type=int, default=42, help="torch seed for weights and shuffling")
    add(p, "--repeats", type=positive_int, default=1, help="geron: train each row with this "
        "many seeds (seed, seed+1, ...) and report the mean and range")
    add(p, "--device", default="cpu", help="geron: torch device (cpu, cuda)")
    add(p, "--threads", type=positive_int, default=1, help="torch CPU threads")
    add(p, "--out", metavar="DIR", default=None, help="also write results and a figure here")
    add(p, "--overwrite", action="store_true", help="replace --out even if it holds files "
        "rnnkit did not write")
    p.set_defaults(func=run)


def _run_geron(args: argparse.Namespace) -> int:
    from rnnkit.errors import ConfigError
    from rnnkit.tasks.forecast.geron import ROWS, reproduce

    epochs = 20 if args.epochs is None else args.epochs
    if epochs < 1:
        raise ConfigError(f"--epochs must be a positive int, got {epochs}")
    if args.n_series < 10:
        raise ConfigError(f"--n-series must be at least 10, got {args.n_series}")
    keys = args.models or list(ROWS)
    for k in keys:
        if k not in ROWS:
            raise ConfigError(f"--models: unknown row {k!r}; choose from {', '.join(ROWS)}")
    if not getattr(args, "quiet", False):
        print(f"Hands-On ML ch. 15: {args.n_series} series, {epochs} epochs, seed {args.seed}",
              file=sys.stderr, flush=True)
    head = f"{'row':<16}{'ours':>9}  {'published':<21}{'seconds':>8}  model"
    print(head)
    print("-" * 99)

    def show(r: dict) -> None:
        spread = (f" [{min(r['runs']):.4f}-{max(r['runs']):.4f}]"
                  if len(r["runs"]) > 1 else "")
        print(f"{r['key']:<16}{r['val_mse']:>9.4f}  {r['published']:<21}"
              f"{r['seconds']:>8.1f}  {r['label']}{spread}", flush=True)

    results = reproduce(keys, epochs=epochs, seed=args.seed, device=args.device,
                        n_series=args.n_series, repeats=args.repeats, on_row=show,
                        verbose=verbose(args))
    print("validation MSE" + (f" (mean of {args.repeats} seeds, [min-max])"
                              if args.repeats > 1 else "")
          + "; seq2seq rows report the last-step MSE (the book's last_time_step_mse)")
    if args.out:
        from rnnkit.fileio import atomic_directory, write_json
        from rnnkit.plots.reproduce import plot_beside_published

        with atomic_directory(args.out, overwrite=args.overwrite, what="reproduce") as tmp:
            write_json(tmp / "results.json", {"epochs": epochs, "seed": args.seed,
                                               "repeats": args.repeats,
                                               "n_series": args.n_series, "rows": results})
            plot_beside_published(
                [{**r, "ours": r["val_mse"]} for r in results], tmp / "geron.png",
                metric="validation MSE (seq2seq rows: last step)",
                title=f"Hands-On ML ch. 15, {args.n_series} series, {epochs} epochs",
                published_name="published (notebook of ageron/handson-ml2)")
        print(f"wrote {Path(args.out)}/ (results.json, geron.png)")
    return 0


def _run_sine(args: argparse.Namespace) -> int:
    from rnnkit.errors import ConfigError
    from rnnkit.tasks.sine import PUBLISHED, run_sine

    epochs = 100 if args.epochs is None else args.epochs
    if epochs < 1:
        raise ConfigError(f"--epochs must be a positive int, got {epochs}")
    result = run_sine(epochs=epochs)
    print(f"sine: SimpleRNN(10) on the reference engine, {epochs} epochs: training MSE "
          f"{result.loss_before:.4g} before -> {result.loss_after:.4g} after; "
          f"published: {PUBLISHED}")
    if args.out:
        from rnnkit.fileio import atomic_directory, write_json
        from rnnkit.plots.sine import plot_sine

        with atomic_directory(args.out, overwrite=args.overwrite, what="reproduce") as tmp:
            plot_sine(result, tmp / "sine.png")
            write_json(tmp / "sine.json", {
                "epochs": epochs, "loss_before": result.loss_before,
                "loss_after": result.loss_after, "losses": result.losses,
                "targets": result.targets.tolist(), "pred_after": result.pred_after.tolist()})
        print(f"wrote {Path(args.out)}/ (sine.png, sine.json)")
    return 0


def run(args: argparse.Namespace) -> int:
    if args.out:  # a bad --out fails before training
        from rnnkit.fileio import check_output_dir

        check_output_dir(args.out, overwrite=args.overwrite)
    set_threads(args.threads)
    return _run_geron(args) if args.experiment == "geron" else _run_sine(args)
