import subprocess
import sys

import rnnkit
from rnnkit.cli.main import main


def test_version_flag(capsys):
    try:
        main(["--version"])
    except SystemExit as exc:
        assert exc.code == 0
    assert capsys.readouterr().out.strip() == f"rnnkit {rnnkit.__version__}"


def test_python_dash_m_prints_help():
    result = subprocess.run([sys.executable, "-m", "rnnkit", "--help"],
                            capture_output=True, text=True, check=True)
    assert "usage: rnnkit" in result.stdout


def test_usage_errors_are_one_line(capsys):
    try:
        main(["forecast", "--epochs", "many"])
    except SystemExit as exc:
        assert exc.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "rnnkit forecast: error: argument --epochs: invalid int value: 'many'" in err
