"""An LSTM language model trained on the NumPy reference engine with truncated BPTT.

TimeEmbedding -> TimeLSTM (stateful) -> TimeLinear -> softmax cross-entropy (rnnkit.ref.RnnLM),
SGD with global-norm clipping as in Deep Learning from Scratch 2 ch. 6 (lr 20, clip 0.25,
batch 20, 35 steps). The text (default: the Python documentation topics of the standard
library) is tokenised into words; the first 90 % is trained on, the last 10 % is held out.
Prints training and held-out perplexity after every epoch, and at the end our held-out
perplexity beside the book's figure for the same model (:data:`PUBLISHED`). The book trains
on Penn Treebank, a different corpus, so the two are not comparable number for number.

    python examples/rnnlm_ref.py [--path corpus.txt] [--epochs 3] [--max-tokens 30000]

On the default corpus (114 k words, vocabulary 3.5 k) an epoch takes one to two minutes on
two busy cores; --max-tokens 30000 makes a quick run.
"""

from __future__ import annotations

import argparse
import math
import sys
import time

import numpy as np

from rnnkit.data.text import Vocabulary, load_corpus, tokenize
from rnnkit.errors import DataError
from rnnkit.ref import SGD, RnnLM, clip_grads, tbptt_batches

#: Deep Learning from Scratch 2 (oreilly-japan/deep-learning-from-scratch-2), ch. 6: Rnnlm,
#: one LSTM layer of 100 units, on PTB (via the project's REFERENCES.md).
PUBLISHED = "DLS2 ch. 6 Rnnlm (LSTM 100) on PTB, a different corpus: test perplexity about 136"


def perplexity(lm: RnnLM, ids: np.ndarray, batch_size: int, time_size: int) -> float:
    """exp(mean cross-entropy) over the windows of ``ids``, state carried, no training."""
    lm.reset_state()
    losses = [lm.forward(xs, ts) for xs, ts in tbptt_batches(ids, batch_size, time_size)]
    return math.exp(float(np.mean(losses)))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--path", default=None, help="UTF-8 text file (default: Python doc topics)")
    p.add_argument("--level", default="word", choices=["word", "char"])
    p.add_argument("--max-tokens", type=int, default=None, help="use only the first N tokens")
    p.add_argument("--max-vocab", type=int, default=5000)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=20)
    p.add_argument("--time-size", type=int, default=35)
    p.add_argument("--embed", type=int, default=100)
    p.add_argument("--hidden", type=int, default=100)
    p.add_argument("--lr", type=float, default=20.0)
    p.add_argument("--clip", type=float, default=0.25)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    try:
        text = load_corpus(args.path)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    tokens = tokenize(text, level=args.level)
    if args.max_tokens:
        tokens = tokens[: args.max_tokens]
    split = int(0.9 * len(tokens))
    vocab = Vocabulary.build(tokens[:split], max_size=args.max_vocab)
    train, valid = vocab.encode(tokens[:split]), vocab.encode(tokens[split:])
    need = args.batch_size * args.time_size + 1
    if len(train) < need or len(valid) < args.time_size + 2:
        print(f"error: the text is too short: {len(tokens)} tokens, need about "
              f"{int(need / 0.9) + 1} for --batch-size {args.batch_size} --time-size "
              f"{args.time_size}", file=sys.stderr)
        return 2
    print(f"{len(tokens)} tokens ({len(train)} train / {len(valid)} held out), "
          f"vocabulary {len(vocab)}")

    lm = RnnLM(len(vocab), args.embed, args.hidden, seed=args.seed)
    opt = SGD(args.lr)
    eval_batch = max(1, min(args.batch_size, (len(valid) - 1) // (args.time_size + 1)))
    valid_ppl = perplexity(lm, valid, eval_batch, args.time_size)
    print(f"epoch 0: held-out perplexity {valid_ppl:.1f} (untrained)")
    for epoch in range(1, args.epochs + 1):
        start = time.perf_counter()
        lm.reset_state()
        losses = []
        for xs, ts in tbptt_batches(train, args.batch_size, args.time_size):
            losses.append(lm.forward(xs, ts))
            lm.backward()
            clip_grads(lm.grads, args.clip)
            opt.update(lm.params, lm.grads)
        train_ppl = math.exp(float(np.mean(losses)))
        valid_ppl = perplexity(lm, valid, eval_batch, args.time_size)
        print(f"epoch {epoch}: train perplexity {train_ppl:.1f}, held-out perplexity "
              f"{valid_ppl:.1f} ({time.perf_counter() - start:.1f} s)")
    print(f"ours: held-out perplexity {valid_ppl:.1f} after {args.epochs} epochs on "
          f"{len(tokens)} tokens; published: {PUBLISHED}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
