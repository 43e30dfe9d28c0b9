"""The README's Python examples run as written (with training shortened to seconds)."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"

#: Shortenings applied to the README's code before running it; each must apply, so a README
#: edit that drops one fails here instead of silently running for minutes.
SHORTER = {
    "generate_time_series(10_000, 51, seed=42)": "generate_time_series(300, 51, seed=42)",
    "series[:7000, :50], series[:7000, -1]": "series[:200, :50], series[:200, -1]",
    "epochs=20": "epochs=1",
    "epochs=100": "epochs=2",
}


def test_readme_python_examples_run(tmp_path, monkeypatch):
    code = "\n".join(re.findall(r"```python\n(.*?)```", README.read_text(), re.S))
    for long, short in SHORTER.items():
        assert long in code, f"README no longer contains {long!r}: update SHORTER"
        code = code.replace(long, short)
    monkeypatch.chdir(tmp_path)  # the examples save models into the working directory
    exec(compile(code, str(README), "exec"), {"__name__": "readme"})
    assert (tmp_path / "deep_rnn" / "config.json").exists()
    assert (tmp_path / "lstm_model" / "model.safetensors").exists()
