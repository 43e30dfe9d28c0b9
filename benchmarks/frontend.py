"""Time the default GRU-FCN's training step with the compiled norm + ReLU + pool passes
(rnnkit.nn.fastpath.norm_relu) against the same step on torch's ops, side by side in one run.

The network is what ``SequenceClassifier()`` builds for variable-length series: one channel,
11 classes, a padded batch of ``--batch`` series of ``--length`` steps whose lengths spread
down to ``--shortest`` of it (the padding mask is on), with the batch renormalisation over
the valid steps in both convolutional branches (``--norm renorm``, the default since
2026-12-05) or the per-step layer norm of the default before (``--norm layer``). Rounds
alternate the two ways, ``--repeats`` times; the best time of each is printed with the ratio
compiled / torch (below 1: the compiled passes are faster).

    python benchmarks/frontend.py [--norm renorm] [--batch 54] [--length 1344]
        [--shortest 0.25] [--steps 5] [--repeats 5]
"""

from __future__ import annotations

import argparse
import platform
import time
from datetime import date

import torch

from rnnkit.nn.fastpath import norm_relu
from rnnkit.tasks.classify.frontend import auto_blocks, auto_fcn_pool
from rnnkit.tasks.classify.model import RNNClassifier


def step_seconds(net: RNNClassifier, x: torch.Tensor, lengths: torch.Tensor, y: torch.Tensor,
                 steps: int) -> float:
    """Mean seconds of ``steps`` forward + backward passes (gradients zeroed each time)."""
    start = time.perf_counter()
    for _ in range(steps):
        net.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(net(x, lengths=lengths), y).backward()
    return (time.perf_counter() - start) / steps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--norm", choices=("renorm", "layer"), default="renorm")
    ap.add_argument("--shortest", type=float, default=0.25)
    ap.add_argument("--batch", type=int, default=54)
    ap.add_argument("--length", type=int, default=1344)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    T = a.length
    net = RNNClassifier(1, 11, "gru-fcn", 64, pooling="max", conv_blocks=auto_blocks(T),
                        conv_channels=32, conv_norm=a.norm, fcn_pool=auto_fcn_pool(T),
                        fcn_pool_first=True)
    lengths = torch.linspace(T, int(T * a.shortest), a.batch).long()  # (B,), the longest first
    x = torch.randn(a.batch, T, 1) * (torch.arange(T)[None, :, None] < lengths[:, None, None])
    y = torch.randint(0, 11, (a.batch,))
    if not norm_relu.compiled(x.transpose(1, 2), net.fcn.norms[0].weight):
        raise SystemExit("the compiled passes cannot run here (is numba installed?)")
    real = norm_relu.compiled
    best = {"compiled": float("inf"), "torch": float("inf")}
    try:
        for _ in range(a.repeats):
            for way in best:
                norm_relu.compiled = real if way == "compiled" else (lambda y, w, b=None: False)
                step_seconds(net, x, lengths, y, 1)  # warm-up (and the first compile)
                best[way] = min(best[way], step_seconds(net, x, lengths, y, a.steps))
    finally:
        norm_relu.compiled = real
    print(f"# {date.today()}  {platform.machine()}  torch {torch.__version__}  "
          f"threads {a.threads}  {a.norm}  batch {a.batch} x {T} steps "
          f"(lengths {int(T * a.shortest)}-{T})")
    for way, s in best.items():
        print(f"{way:9s} {1e3 * s:8.1f} ms a training step (best of {a.repeats})")
    print(f"compiled / torch: {best['compiled'] / best['torch']:.2f}")


if __name__ == "__main__":
    main()
