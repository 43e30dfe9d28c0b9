import argparse
import subprocess
import sys

import pytest

import rnnkit
from rnnkit.cli import main as main_module
from rnnkit.cli.main import build_parser, main
from rnnkit.errors import DataError


def test_version_flag(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"rnnkit {rnnkit.__version__}"


def test_python_dash_m_prints_help():
    result = subprocess.run([sys.executable, "-m", "rnnkit", "--help"],
                            capture_output=True, text=True, check=True)
    assert "usage: rnnkit" in result.stdout


def test_usage_errors_are_one_line(capsys):
    with pytest.raises(SystemExit) as info:
        main(["forecast", "--epochs", "many"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("rnnkit forecast: error: argument --epochs: ") and "'many'" in err


@pytest.mark.parametrize("argv, quiet, verbose", [
    (["forecast"], False, False),
    (["-q", "forecast"], True, False),
    (["forecast", "--quiet"], True, False),
    (["--verbose", "classify", "--data", "x.csv"], False, True),
    (["classify", "--data", "x.csv", "-v"], False, True),
    (["-q", "lm", "train"], True, False),
    (["lm", "generate", "--model", "m", "--verbose"], False, True),
    (["seq2seq", "-q"], True, False),
])
def test_global_flags_before_or_after_the_sub_command(argv, quiet, verbose):
    args = build_parser().parse_args(argv)
    assert (args.quiet, args.verbose) == (quiet, verbose)


def test_quiet_and_verbose_together_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as info:
        main(["-q", "forecast", "-v"])
    assert info.value.code == 2
    assert "-q/--quiet and -v/--verbose exclude each other" in capsys.readouterr().err


def _command(monkeypatch, exc: BaseException):
    """Make `rnnkit forecast` raise ``exc`` as soon as it runs."""
    def run(args: argparse.Namespace) -> int:
        raise exc

    monkeypatch.setattr("rnnkit.cli.forecast.run", run)  # register() reads it at parse time


@pytest.mark.parametrize("exc, message", [
    (DataError("data.csv line 3: 'x' is not a number"), "data.csv line 3: 'x' is not a number"),
    (FileNotFoundError(2, "No such file or directory", "nope.csv"), "nope.csv"),
    (PermissionError(13, "Permission denied", "out"), "Permission denied: 'out'"),
    (DataError("two\nlines"), "two lines"),
])
def test_user_errors_are_one_line_exit_2(monkeypatch, capsys, exc, message):
    _command(monkeypatch, exc)
    assert main(["forecast"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("rnnkit forecast: error: ")
    assert message in err


@pytest.mark.parametrize("exc", [ValueError("a bug"), TypeError("a bug"), KeyError("a bug"),
                                 RuntimeError("a bug")])
def test_bugs_keep_their_traceback(monkeypatch, exc):
    _command(monkeypatch, exc)
    with pytest.raises(type(exc), match="a bug"):
        main(["forecast"])


def test_debug_re_raises_user_errors(monkeypatch):
    _command(monkeypatch, DataError("bad file"))
    monkeypatch.setenv("RNNKIT_DEBUG", "1")
    with pytest.raises(DataError, match="bad file"):
        main(["forecast"])


def test_a_missing_sub_command_module_is_an_error(monkeypatch):
    monkeypatch.setattr(main_module, "SUBCOMMANDS", (*main_module.SUBCOMMANDS, "nope"))
    with pytest.raises(ModuleNotFoundError, match=r"rnnkit\.cli\.nope"):
        build_parser()


def test_threads_auto_keeps_torch_default_or_shares_the_cores(monkeypatch):
    """classify's --threads defaults to "auto" (its conv default uses every core), the other
    commands' to 1; "auto" leaves torch's count, or splits the cores among data-parallel
    processes."""
    import os

    import torch

    from rnnkit.cli.main import build_parser
    from rnnkit.cli.options import set_threads

    parser = build_parser()
    assert parser.parse_args(["classify", "--data", "x"]).threads == "auto"
    assert parser.parse_args(["forecast"]).threads == 1
    torch.set_num_threads(1)
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    set_threads("auto")
    assert torch.get_num_threads() == 1  # untouched
    monkeypatch.setenv("WORLD_SIZE", "2")
    torch.set_num_threads((os.cpu_count() or 1) + 1)  # a count the split cannot leave
    set_threads("auto")
    assert torch.get_num_threads() == max(1, (os.cpu_count() or 1) // 2)
