"""Entry point of the ``rnnkit`` command.

Errors a user can cause (bad files, bad options) print one line on stderr and exit with
status 2, never a traceback. ``RNNKIT_DEBUG=1`` re-raises them for debugging.
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

#: Sub-command modules, in the order ``--help`` lists them. A module that is not present
#: yet is skipped, so the command works while the package grows.
SUBCOMMANDS = ("forecast", "predict", "reproduce", "classify", "lm", "seq2seq")

USER_ERRORS = (RnnkitError, ValueError, TypeError, FileNotFoundError, IsADirectoryError,
               PermissionError, UnicodeDecodeError)


class OneLineErrorParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (``--help`` still shows usage)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every available sub-command."""
    parser = OneLineErrorParser(
        prog="rnnkit",
        description="Recurrent neural networks: forecasting, classification, language "
        "models and seq2seq, on a NumPy reference engine or PyTorch.",
    )
    parser.add_argument("--version", action="version", version=f"rnnkit {rnnkit.__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"rnnkit.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"rnnkit.cli.{name}":
                raise
            continue
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command; return the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except USER_ERRORS as exc:
        if os.environ.get("RNNKIT_DEBUG"):
            raise
        print(f"rnnkit {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"rnnkit {args.command}: interrupted", file=sys.stderr)
        return 130
