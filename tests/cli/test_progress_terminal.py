"""On a terminal the commands draw a tqdm bar (a real pseudo-terminal, in a child process)."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios

import numpy as np


def test_classify_draws_a_bar_on_a_terminal(tmp_path, rng):
    rows = []
    for _ in range(40):
        up = rng.integers(0, 2)
        v = (1 if up else -1) * np.linspace(0, 1, 5) + 0.1 * rng.standard_normal(5)
        rows.append(",".join(f"{x:.3f}" for x in v) + ("," + ("up" if up else "down")))
    (tmp_path / "d.csv").write_text("\n".join(rows) + "\n")
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    child = subprocess.Popen(
        [sys.executable, "-m", "rnnkit", "classify", "--data", "d.csv", "--model", "lstm",
         "--epochs", "2",
         "--hidden", "4", "--out", "o"], cwd=tmp_path, stderr=follower,
        stdout=subprocess.DEVNULL)
    os.close(follower)
    screen = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        screen += chunk
    os.close(leader)
    assert child.wait(timeout=120) == 0
    text = screen.decode("utf-8", "replace")
    assert "lstm: 100%|" in text and "2/2 [" in text  # the epochs' bar, drawn by tqdm
    assert "epoch 2:" in text and "batch/s" in text  # the batches' bar of an epoch
