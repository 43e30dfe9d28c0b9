"""rnnkit.ref is NumPy only: importing it (and using it) must not import torch."""

from __future__ import annotations

import subprocess
import sys


def test_importing_ref_does_not_import_torch():
    code = ("import sys, numpy as np, rnnkit.ref as r; "
            "r.RnnLM(10, 4, 4).forward(np.zeros((2, 3), int), np.zeros((2, 3), int)); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)
    assert out.stdout.strip() == "False"
