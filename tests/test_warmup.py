"""``python -m rnnkit.warmup`` reaches the kernels that the commands' default fits call."""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest
import torch

pytest.importorskip("numba")

# In a fresh interpreter (the test workers may have compiled them already): the classifier
# warm-up's fits, then how many signatures each kernel holds (compiled or loaded from the
# on-disk cache: a kernel no fit called holds none).
SCRIPT = """
import torch
from rnnkit import warmup
from rnnkit.nn.fastpath import gru_kernel, norm_relu_kernel as k, batch_norm_relu_kernel as b
torch.set_num_threads(2)
warmup._classifier_fits()
pairs = [b._SUMS, b._AFFINE_RELU, b._GATE_SUMS, b._INPUT_GRAD, k._MAX_POOL,
         k._MAX_UNPOOL]
print([len(f.signatures) for pair in pairs for f in pair])
print([len(f.signatures) for f in (gru_kernel._forward_loop, gru_kernel._backward_loop)])
"""


def test_classifier_warmup_compiles_the_default_fits_kernels():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                         check=True, timeout=300).stdout.splitlines()
    norm_passes, gru_loops = ast.literal_eval(out[-2]), ast.literal_eval(out[-1])
    assert len(norm_passes) == 12 and min(norm_passes) >= 1  # serial and threaded variants
    assert min(gru_loops) >= 1


def test_main_says_what_it_did(capsys, monkeypatch):
    import logging

    from rnnkit import warmup

    calls = []
    monkeypatch.setattr(warmup, "_classifier_fits", lambda: calls.append("classify"))
    monkeypatch.setattr(warmup, "_forecaster_fits", lambda: calls.append("forecast"))
    threads, level = torch.get_num_threads(), logging.getLogger("rnnkit").level
    assert warmup.main() == 0
    assert calls == ["classify", "forecast"]
    assert torch.get_num_threads() == threads  # restored
    assert logging.getLogger("rnnkit").level == level  # the warnings of later fits still show
    assert "kernels compiled and cached" in capsys.readouterr().out
