"""Every option of every sub-command shows its default in ``--help``, and the commands'
training defaults are the estimators' (one definition)."""

from __future__ import annotations

import argparse

import pytest

from rnnkit.cli.main import build_parser


def _subparsers(parser: argparse.ArgumentParser, prefix: str = ""):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield f"{prefix}{name}", sub
                yield from _subparsers(sub, f"{prefix}{name} ")


COMMANDS = dict(_subparsers(build_parser()))


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_help_shows_every_default(command):
    parser = COMMANDS[command]
    text = parser.format_help()
    for action in parser._actions:
        if (not action.option_strings or action.default is argparse.SUPPRESS
                or isinstance(action, (argparse._HelpAction, argparse._VersionAction))):
            continue
        help_text = parser._get_formatter()._expand_help(action) if action.help else ""
        assert "default" in help_text, f"{command} {action.option_strings[0]}: no default shown"
    assert "(default:" in text or not any(a.option_strings for a in parser._actions[1:])


@pytest.mark.parametrize(("command", "flag", "estimator", "param"), [
    ("forecast", "epochs", "forecaster", "epochs"),
    ("forecast", "patience", "forecaster", "patience"),
    ("forecast", "lr", "forecaster", "lr"),
    ("classify", "epochs", "sequence-classifier", "epochs"),
    ("classify", "batch_size", "sequence-classifier", "batch_size"),
    ("classify", "lr", "sequence-classifier", "lr"),
    ("classify", "clip", "sequence-classifier", "clip_grad_norm"),
    ("classify", "hidden", "sequence-classifier", "hidden_size"),
    ("classify", "model", "sequence-classifier", "model"),
    ("classify", "differences", "sequence-classifier", "differences"),
    ("lm train", "epochs", "language-model", "epochs"),
    ("lm train", "lr", "language-model", "lr"),
    ("seq2seq", "epochs", "seq2seq", "epochs"),
    ("seq2seq", "lr", "seq2seq", "lr"),
])
def test_command_defaults_are_the_estimators(command, flag, estimator, param):
    from rnnkit.tasks.base import estimator_class

    defaults = {a.dest: a.default for a in COMMANDS[command]._actions}
    assert defaults[flag] == estimator_class(estimator).default(param)
