"""Entry point of the ``rnnkit`` command.

Errors a user can cause (bad files, bad options: :class:`rnnkit.errors.RnnkitError`, and
``OSError`` from the file system) print one line on stderr and exit with status 2, never a
traceback. Anything else is a bug and keeps its traceback. ``RNNKIT_DEBUG=1`` re-raises user
errors too, for debugging.

``-v/--verbose`` and ``-q/--quiet`` are accepted before or after the sub-command
(``rnnkit -q forecast`` or ``rnnkit forecast --quiet``); ``args.verbose`` and ``args.quiet``
are always on the namespace.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from typing import NoReturn

import rnnkit
from rnnkit.errors import RnnkitError

#: Sub-command modules, in the order ``--help`` lists them; every one must import.
SUBCOMMANDS = ("forecast", "predict", "reproduce", "classify", "lm", "seq2seq", "export")

#: What the command reports as a one-line user error (exit status 2).
USER_ERRORS = (RnnkitError, OSError)


class OneLineErrorParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (``--help`` still shows usage)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _add_global_options(parser: argparse.ArgumentParser, top: bool = False) -> None:
    """Add ``-v/--verbose`` and ``-q/--quiet`` to ``parser`` and, recursively, to its
    sub-commands (``rnnkit lm train``). Only the top parser sets the defaults (False); the
    sub-commands' copies leave no default (``argparse.SUPPRESS``), so they do not overwrite
    a flag given before the sub-command. An option a sub-command already defines is kept."""
    default = False if top else argparse.SUPPRESS
    for flags, help_text in ((("-v", "--verbose"), "log progress details"),
                             (("-q", "--quiet"), "print only errors")):
        if not any(f in parser._option_string_actions for f in flags):
            parser.add_argument(*flags, action="store_true", default=default, help=help_text)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):  # aliases share a parser
                _add_global_options(sub)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every sub-command."""
    parser = OneLineErrorParser(
        prog="rnnkit",
        description="Recurrent neural networks: forecasting, classification, language "
        "models and seq2seq, on a NumPy reference engine or PyTorch.",
    )
    parser.add_argument("--version", action="version", version=f"rnnkit {rnnkit.__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        importlib.import_module(f"rnnkit.cli.{name}").register(subparsers)
    _add_global_options(parser, top=True)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command; return the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.quiet and args.verbose:
        parser.error("-q/--quiet and -v/--verbose exclude each other")
    main_process = os.environ.get("RANK", "0") == "0"  # under torchrun, rank 0 alone speaks
    level = logging.INFO if args.verbose else logging.ERROR if args.quiet else logging.WARNING
    logging.basicConfig(level=level if main_process else logging.CRITICAL + 1,
                        format="%(levelname)s %(name)s: %(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except USER_ERRORS as exc:
        if os.environ.get("RNNKIT_DEBUG"):
            raise
        message = " ".join(str(exc).split()) or type(exc).__name__
        if main_process:
            print(f"rnnkit {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"rnnkit {args.command}: interrupted", file=sys.stderr)
        return 130
