"""fp32 against bf16 (and fp16 on CUDA) training side by side: time and MNIST accuracy.

The task is MNIST read row by row (28 steps of 28 pixels) by a ``SequenceClassifier``
(an LSTM by default, per-feature standardisation, Adam): the same seed, data, epochs and
batches for every precision, without early stopping (``patience=None``, no validation part),
so the figures differ only by the precision of the forward pass and loss (autocast; the
weights stay float32). Every precision first trains one untimed epoch on a few batches (the
kernels' first-call set-up), then once timed, in turn; the table prints the training time,
seconds per epoch, the final training loss and the test accuracy, and each time as a ratio
to fp32's.

    python benchmarks/precision.py --data /path/to/mnist [--limit 5000] [--epochs 2]
        [--model lstm] [--hidden 128] [--batch-size 64] [--precisions fp32 bf16]
        [--device cpu] [--threads 1]

bf16 is fast on CPUs with native bfloat16 instructions (AVX512-BF16, AMX) and on recent
GPUs; elsewhere it is emulated and slower than fp32. fp16 is for CUDA (torch's CPU LSTM
kernel refuses it).
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import torch

from rnnkit.data.idx import load_mnist
from rnnkit.tasks.classify import SequenceClassifier


def run(precision: str, args, Xtr, ytr, Xte, yte, epochs: int | None = None) -> dict:
    clf = SequenceClassifier(model=args.model, hidden_size=args.hidden,
                             epochs=epochs or args.epochs,
                             batch_size=args.batch_size, lr=args.lr, validation=0,
                             patience=None, seed=0, device=args.device, verbose=0,
                             precision=precision)
    start = time.perf_counter()
    clf.fit(Xtr, ytr)
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "loss": clf.history_["loss"][-1],
            "accuracy": clf.score(Xte, yte)}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="folder with the four MNIST IDX files")
    p.add_argument("--limit", type=int, default=None, help="first N training images")
    p.add_argument("--test-limit", type=int, default=None, help="first N test images")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--model", default="lstm")
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--precisions", nargs="+", default=["fp32", "bf16"],
                   choices=["fp32", "bf16", "fp16"])
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)

    Xtr, ytr = load_mnist(args.data, "train")
    Xte, yte = load_mnist(args.data, "test")
    Xtr, ytr = Xtr[:args.limit], ytr[:args.limit]
    Xte, yte = Xte[:args.test_limit], yte[:args.test_limit]
    where = (torch.cuda.get_device_name(args.device) if args.device.startswith("cuda")
             else f"{platform.processor() or platform.machine()}, {args.threads} thread(s)")
    print(f"MNIST rows: {args.model} hidden {args.hidden}, {len(ytr)} training / {len(yte)} "
          f"test images, {args.epochs} epoch(s), batch {args.batch_size}; {args.device} "
          f"({where}); torch {torch.__version__}")
    for precision in args.precisions:  # warm-up, untimed
        warm = 4 * args.batch_size
        run(precision, args, Xtr[:warm], ytr[:warm], Xte[:warm], yte[:warm], epochs=1)
    results = {}
    for precision in args.precisions:
        results[precision] = r = run(precision, args, Xtr, ytr, Xte, yte)
        print(f"  {precision}: {r['seconds']:.1f} s", flush=True)
    base = results.get("fp32", next(iter(results.values())))["seconds"]
    print(f"{'precision':<10}{'train s':>9}{'s/epoch':>9}{'x fp32':>8}{'last loss':>11}"
          f"{'test acc':>10}")
    for precision, r in results.items():
        print(f"{precision:<10}{r['seconds']:>9.1f}{r['seconds'] / args.epochs:>9.2f}"
              f"{r['seconds'] / base:>8.2f}{r['loss']:>11.4f}{r['accuracy']:>10.4f}")
    accs = [r["accuracy"] for r in results.values()]
    print(f"largest accuracy difference: {np.ptp(accs):.4f}")


if __name__ == "__main__":
    main()
