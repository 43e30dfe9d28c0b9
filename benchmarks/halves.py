"""Two halves of a batch on two threads against the per-step loop, layer by layer, in
consecutive training steps.

``benchmarks/layers.py`` interleaves its rows, so every row's time depends on the rows before
it. Here each layer runs alone for consecutive training steps (forward + backward of an MSE
loss on all outputs, ``torch.set_num_threads(2)``), as in training: four warm-up steps, then
the median of 20 steps at (64, 50, 1, 20) and of 8 at the larger shapes, printed as a ratio to
torch.nn.LSTM's median measured the same way. Each rnnkit row runs twice: ``halves``, as
shipped (:func:`rnnkit.nn.fastpath.jit.split_rows` cuts a large batch in two halves that run
their compiled time loops side by side), and ``per-step``, the loop the halves replaced
(split_rows forced to None: the kernels' Python loop over steps with torch products and
threaded passes, the traced path's loops over the whole batch). At (64, 50, 1, 20) no batch is
split and the two rows are the same code.

    python benchmarks/halves.py
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F

from rnnkit.nn import GRU, LNGRU, LNLSTM, Recurrent
from rnnkit.nn.fastpath import jit
from rnnkit.tasks.classify.cells import MyLSTMCell

SHAPES = [(64, 50, 1, 20), (64, 100, 64, 128), (32, 200, 128, 256), (256, 28, 28, 128)]


def median_step(layer: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, steps: int) -> float:
    """Median seconds of ``steps`` consecutive training steps, after four."""

    def step() -> None:
        out = layer(x)
        F.mse_loss(out[0] if isinstance(out, tuple) else out, y).backward()

    for _ in range(4):
        step()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return sorted(times)[steps // 2]


def main() -> None:
    torch.set_num_threads(2)
    shipped = jit.split_rows
    for B, T, D, H in SHAPES:
        x, y = torch.randn(B, T, D), torch.randn(B, T, H)
        steps = 20 if B * H < 5000 else 8
        lstm = torch.nn.LSTM(D, H, batch_first=True)
        base = median_step(lstm, x, y, steps)
        layers = {"GRU fast": GRU(D, H, return_sequences=True, path="fast"),
                  "LNLSTM fast": LNLSTM(D, H, return_sequences=True, path="fast"),
                  "LNGRU fast": LNGRU(D, H, return_sequences=True, path="fast"),
                  "user LSTM cell traced": Recurrent(MyLSTMCell(D, H), return_sequences=True,
                                                     path="traced")}
        cells = []
        for name, layer in layers.items():
            ratios = []
            for rule in (shipped, lambda *_: None):
                jit.split_rows = rule
                ratios.append(median_step(layer, x, y, steps) / base)
            jit.split_rows = shipped
            cells.append(f"{name} {ratios[0]:.2f} (per-step {ratios[1]:.2f})")
        print(f"{(B, T, D, H)!s:<20} torch.nn.LSTM {base * 1e3:6.1f} ms | " + " | ".join(cells),
              flush=True)


if __name__ == "__main__":
    main()
