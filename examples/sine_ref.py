"""The classic SimpleRNN sine example on rnnkit's NumPy reference engine.

s = sin(2*pi*0.125*t), t = 0..19; windows of 3 steps -> next value; SimpleRNN(10) + Linear(1),
SGD, 100 epochs. Prints the loss before and after training and writes a PNG with the targets,
the predictions before and after, and the loss curve. There is no published figure to print
beside ours: none of the sources the project records gives one for this demo, and the
script says so rather than invent one.

    python examples/sine_ref.py --epochs 100 --out sine_ref.png
"""

from __future__ import annotations

import argparse

from rnnkit.plots.sine import plot_sine
from rnnkit.tasks.sine import PUBLISHED, run_sine


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=100, help="training epochs (default 100)")
    parser.add_argument("--lr", type=float, default=0.1, help="SGD learning rate (default 0.1)")
    parser.add_argument("--out", default="sine_ref.png", help="PNG to write (default sine_ref.png)")
    args = parser.parse_args(argv)
    result = run_sine(epochs=args.epochs, lr=args.lr)
    print(f"MSE before training: {result.loss_before:.5f}")
    print(f"MSE after {args.epochs} epochs: {result.loss_after:.5f}")
    print(f"published: {PUBLISHED}")
    plot_sine(result, args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
