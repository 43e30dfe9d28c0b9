"""Options the sub-commands share, and argparse types that check numbers before any work.

Every default a command shows comes from the estimator's constructor signature
(:meth:`rnnkit.tasks.base.Estimator.default`), so the Python API and the command line use
the same numbers, defined once; ``--help`` shows every default (:class:`DefaultsFormatter`
needs a help string on each option: :func:`add`).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rnnkit.errors import ConfigError, DataError
from rnnkit.train.distributed import is_main_process


class DefaultsFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """argparse's formatter that appends each option's default, except where the help text
    already says it (``default: 2H, or H for short series``): no ``(default: None)`` after
    the words that explain an automatic default."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.help and "default:" in action.help:
            return action.help
        return super()._get_help_string(action)


def _number(kind: type, low: float, low_open: bool, high: float = math.inf,
            what: str = "", high_open: bool = True) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        ok = (math.isfinite(value) and (value > low if low_open else value >= low)
              and (value < high if high_open else value <= high))
        if not ok:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value

    parse.__name__ = what  # argparse names the type in its messages
    return parse


positive_int = _number(int, 0, True, what="a positive int")
nonneg_int = _number(int, 0, False, what="an int >= 0")
positive_float = _number(float, 0.0, True, what="a positive number")
nonneg_float = _number(float, 0.0, False, what="a number >= 0")
fraction = _number(float, 0.0, False, 1.0, what="a number in [0, 1)")
share = _number(float, 0.0, True, 1.0, what="a number in (0, 1]", high_open=False)


def _auto_or(parse: Callable[[str], Any], expected: str) -> Callable[[str], Any]:
    """An argparse type for an option whose estimator default is "auto": ``"auto"`` as it is,
    anything else through ``parse``, refused as "expected 'auto' or <expected>"."""
    def parse_auto(text: str) -> Any:
        if text == "auto":
            return text
        try:
            return parse(text)
        except argparse.ArgumentTypeError:
            raise argparse.ArgumentTypeError(f"expected 'auto' or {expected}, got "
                                             f"{text!r}") from None
    return parse_auto


def validation(text: str) -> float | int:
    """``--validation``: a fraction in [0, 1) (``0.1``) or a count >= 1 (``200``)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a fraction in [0, 1) or a count, got "
                                         f"{text!r}") from None
    if value >= 1 and value == int(value):
        return int(value)
    if 0 <= value < 1:
        return value
    raise argparse.ArgumentTypeError(f"expected a fraction in [0, 1) or a count, got {text!r}")


def patience(text: str) -> int | None:
    """``--patience``: epochs without improvement before stopping; 0 turns it off."""
    value = nonneg_int(text)
    return value or None


auto_or_positive_int = _auto_or(positive_int, "a positive int")
auto_or_patience = _auto_or(patience, "an int >= 0")
auto_or_validation = _auto_or(validation, "a fraction in [0, 1) or a count")
auto_or_nonneg_float = _auto_or(nonneg_float, "a number >= 0")
auto_or_share = _auto_or(share, "a number in (0, 1]")


def add(parser: argparse.ArgumentParser, *flags: str, help: str, **kw: Any) -> None:
    """``parser.add_argument`` that insists on a help text (so the default is shown)."""
    parser.add_argument(*flags, help=help, **kw)


def add_training(parser: argparse.ArgumentParser, est: type, desc: dict[str, str]
                 | None = None) -> None:
    """The training options every training command has, defaults from ``est``."""
    desc = desc or {}
    d = est.default
    epochs_auto, batch_auto = d("epochs") == "auto", d("batch_size") == "auto"
    add(parser, "--epochs", type=auto_or_positive_int if epochs_auto else positive_int,
        default=d("epochs"), help=desc.get("epochs", "maximum training epochs (early stopping "
                                           "may end sooner)")
        + ("; auto: from the number of training samples (a budget in steps)" * epochs_auto))
    add(parser, "--batch-size", type=auto_or_positive_int if batch_auto else positive_int,
        default=d("batch_size"), help="samples per optimiser step"
        + ("; auto: from the number of training samples" * batch_auto))
    add(parser, "--lr", type=positive_float, default=d("lr"),
        help=desc.get("lr", "Adam learning rate"))
    validation_auto = d("validation") == "auto"
    add(parser, "--validation", type=auto_or_validation if validation_auto else validation,
        default=d("validation"),
        help=desc.get("validation", "held out for early stopping: fraction or count (0: off)")
        + ("; auto: 0.1 when early stopping is on or on 1,000 samples or more, else none"
           * validation_auto))
    patience_auto = d("patience") == "auto"
    add(parser, "--patience", type=auto_or_patience if patience_auto else patience,
        default=d("patience"), help="early-stopping patience in epochs (0: off"
        + ("; auto: the estimator's choice, see the classify help" * patience_auto) + ")")
    add(parser, "--seed", type=int, default=d("seed"), help="seed of weights and shuffling")
    if "clip_grad_norm" in est._param_names():
        add(parser, "--clip", type=nonneg_float, default=d("clip_grad_norm"),
            help="gradient-norm clipping (0: off)")
    if "precision" in est._param_names():
        add(parser, "--precision", default=d("precision"), choices=("fp32", "bf16", "fp16"),
            help="training precision: bf16/fp16 run the forward pass and loss under autocast "
            "(fp16 with loss scaling)")
    add(parser, "--resume", metavar="DIR", default=None, help="keep the training state in "
        "DIR (a checkpoint every --checkpoint-every epochs) and, when a killed run with the "
        "same options left one there, continue from it: the result equals an uninterrupted "
        "run's")
    add(parser, "--checkpoint-every", type=positive_int, default=1, metavar="N",
        help="epochs between the checkpoints of --resume")
    add(parser, "--nproc", type=positive_int, default=1, metavar="N",
        help="train in N processes on this machine (data-parallel, torch.distributed on "
        "gloo): each takes --batch-size samples per step, so a step sees N x --batch-size; "
        "rank 0 prints and writes --out")


def training_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """The estimator arguments of the options :func:`add_training` added (and --quiet)."""
    kw = {"epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr,
          "validation": args.validation, "patience": args.patience, "seed": args.seed,
          "verbose": verbose(args)}
    if hasattr(args, "clip"):
        kw["clip_grad_norm"] = args.clip or None
    if hasattr(args, "precision"):
        kw["precision"] = args.precision
    return kw


def resume_kwargs(args: argparse.Namespace, name: str | None = None) -> dict[str, Any]:
    """The ``fit`` arguments of ``--resume DIR`` / ``--checkpoint-every`` (``{}`` without
    ``--resume``); ``name`` gives each of several models its own folder ``DIR/name``."""
    if getattr(args, "resume", None) is None:
        return {}
    folder = Path(args.resume) / name if name else Path(args.resume)
    return {"checkpoint": folder, "checkpoint_every": args.checkpoint_every, "resume": True}


def add_output(parser: argparse.ArgumentParser, default: str,
               threads: int | str = 1) -> None:
    """``--out`` (a folder rnnkit owns) and ``--overwrite``; ``--threads`` (default
    ``threads``: 1, where small recurrent steps run fastest, or "auto", torch's own count)."""
    add(parser, "--out", default=default, help="output folder (replaced whole if rnnkit "
        "wrote it; refused if it holds other files, unless --overwrite)")
    add(parser, "--overwrite", action="store_true", help="replace --out even if it holds "
        "files rnnkit did not write")
    add(parser, "--threads", type=auto_or_positive_int, default=threads,
        help="torch CPU threads (auto: torch's default, one per physical core)")


def prepare_output(args: argparse.Namespace) -> Path:
    """Check ``--out`` before any work (a file, or a folder of someone else's: exit 2), and
    that ``--resume`` is not inside it (``--out`` is replaced whole at the end)."""
    from rnnkit.fileio import check_output_dir

    if not is_main_process():  # data-parallel: rank 0 alone writes --out
        return Path(args.out)
    resume = getattr(args, "resume", None)
    if resume is not None:
        out, folder = Path(args.out).resolve(), Path(resume).resolve()
        if folder == out or out in folder.parents:
            raise ConfigError(f"--resume {resume} must be outside --out {args.out}, which is "
                              f"replaced whole when the command ends")
    return check_output_dir(args.out, overwrite=args.overwrite)


def set_threads(n: int | str) -> None:
    """Set torch's intra-op CPU threads (small recurrent models run fastest on one); "auto"
    leaves torch's default, or shares the cores among the processes of a data-parallel run."""
    import os

    import torch

    if n == "auto":
        world = int(os.environ.get("WORLD_SIZE", "1"))
        if world > 1:
            torch.set_num_threads(max(1, (os.cpu_count() or 1) // world))
        return
    if n < 1:
        raise ConfigError(f"--threads must be a positive int, got {n}")
    torch.set_num_threads(n)


def note(args: argparse.Namespace, text: str) -> None:
    """A progress line on stderr (what the command is doing); ``--quiet`` silences it, and
    so does being a rank other than 0 of a data-parallel run."""
    import sys

    if not getattr(args, "quiet", False) and is_main_process():
        print(text, file=sys.stderr, flush=True)


@contextmanager
def naming(source: str) -> Iterator[None]:
    """Prefix the DataError of a fit on data read from ``source`` with its name."""
    try:
        yield
    except DataError as err:
        if source in str(err):
            raise
        raise DataError(f"{source}: {err}") from err


def launch(args: argparse.Namespace, run: Callable[[argparse.Namespace], int]) -> int | None:
    """``--nproc N`` with N > 1: ``run(args)`` in N processes; their exit status. None: run
    it here (N is 1, or this process is one of the N).

    The processes are started as ``torchrun --standalone --nproc-per-node N`` starts them,
    by its launcher (``torch.distributed.launcher``): each has ``RANK``, ``WORLD_SIZE``,
    ``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT``, so its Trainer joins the process
    group and trains on its part of every batch (:mod:`rnnkit.train.distributed`); rank 0
    alone prints and writes. Under torchrun itself ``--nproc`` is refused: torchrun's
    ``--nproc-per-node`` already says how many processes there are.
    """
    n = getattr(args, "nproc", 1)
    if n == 1:
        return None
    from rnnkit.train.distributed import launched

    if launched():
        raise ConfigError(f"--nproc {n} starts its own processes; under torchrun leave it out "
                          f"(torchrun's --nproc-per-node says how many)")
    import logging
    import uuid

    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    config = LaunchConfig(min_nodes=1, max_nodes=1, nproc_per_node=n, run_id=uuid.uuid4().hex,
                          rdzv_backend="c10d", rdzv_endpoint="localhost:0", max_restarts=0)
    if not getattr(args, "verbose", False):  # the launcher's own lines: not for users
        for name in ("torch.distributed.elastic", "torch.multiprocessing"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
    try:
        results = elastic_launch(config, _worker)(run, args)
    except ChildFailedError as err:
        if any(f.exitcode == 2 for f in err.failures.values()):
            return 2  # a user error, which rank 0 printed
        raise
    return max(int(v or 0) for v in results.values())


def _worker(run: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """One of the processes of :func:`launch`: ``run(args)`` with ``rnnkit``'s handling of
    user errors (one line, from rank 0; the exit status 2 stops the other processes)."""
    import logging
    import os
    import sys
    import warnings

    from rnnkit.cli.main import USER_ERRORS
    from rnnkit.train.distributed import destroy_process_group

    args.nproc = 1  # one of the N: it starts no processes of its own
    main = is_main_process()
    level = (logging.INFO if args.verbose and main else
             logging.ERROR if args.quiet or not main else logging.WARNING)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    if not main:  # rank 0 shows the same warnings
        warnings.simplefilter("ignore")
    try:
        return int(run(args) or 0)
    except USER_ERRORS as exc:
        if os.environ.get("RNNKIT_DEBUG"):
            raise
        if main:
            message = " ".join(str(exc).split()) or type(exc).__name__
            print(f"rnnkit {args.command}: error: {message}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None
    finally:
        destroy_process_group()


def verbose(args: argparse.Namespace) -> int | str:
    """The estimators' ``verbose`` from ``--quiet``: 0, else "auto" (bar or log lines)."""
    return 0 if getattr(args, "quiet", False) else "auto"


__all__ = ["add", "add_output", "add_training", "auto_or_positive_int", "fraction", "launch",
           "naming", "nonneg_float", "nonneg_int", "note", "patience", "positive_float",
           "positive_int", "prepare_output", "resume_kwargs", "set_threads", "training_kwargs",
           "validation", "verbose"]
