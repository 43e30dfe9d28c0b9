"""Word-level LSTM language model on the default corpus (Python's documentation topics).

Stateful truncated BPTT over one long token stream; the last 10 % of the tokens are held
out. Prints the held-out perplexity after every epoch beside the unigram baseline, samples
from a prompt, and then the parity check: the reference engine's RnnLM (NumPy) and the
PyTorch model trained from the same initial weights on the same batches with the same SGD.

    nice -n 10 python examples/language_model.py
    python examples/language_model.py --epochs 1 --limit 100000     # a quick look
"""

from __future__ import annotations

import argparse
import itertools
import math
import time

import numpy as np
import torch
import torch.nn.functional as F

from rnnkit.data.batching import TokenStream
from rnnkit.data.text import Vocabulary, load_corpus, tokenize
from rnnkit.tasks.lm import LanguageModelTask, RNNLanguageModel
from rnnkit.train.trainer import detach_state

PUBLISHED = ("DLS2 ch. 6 (PTB, a different corpus): Rnnlm (LSTM 100) test perplexity ~136; "
             "BetterRnnlm (2 x 650, dropout, tied) ~75 (recalled)")


def parity(text: str, epochs: int = 2, lr: float = 0.5) -> tuple[float, float]:
    """Perplexity of the last epoch for the reference engine and for torch, same everything."""
    from rnnkit.ref.models import RnnLM

    toks = tokenize(text)[:3000]
    vocab = Vocabulary.build(toks, max_size=500)
    ids = vocab.encode(toks)
    V, E, H = len(vocab), 32, 32
    ref = RnnLM(V, E, H, dtype="float64", seed=0)
    tm = RNNLanguageModel(V, E, H, num_layers=1).double()
    with torch.no_grad():
        emb, w_ih, w_hh, b_ih, b_hh, w_out, b_out = (torch.from_numpy(p) for p in ref.params)
        cell = tm.rnn.cells[0]
        for dst, src in ((tm.embed.weight, emb), (cell.weight_ih, w_ih),
                         (cell.weight_hh, w_hh), (cell.bias_ih, b_ih), (cell.bias_hh, b_hh),
                         (tm.out.weight, w_out), (tm.out.bias, b_out)):
            dst.copy_(src)
    opt = torch.optim.SGD(tm.parameters(), lr=lr)
    stream = TokenStream(ids, batch_size=10, bptt=5)
    for _ in range(epochs):
        ref.reset_state()
        state = None
        ref_sum = t_sum = 0.0
        for x, y in stream:
            ref_sum += ref.forward(x.numpy(), y.numpy())
            ref.backward()
            for p, g in zip(ref.params, ref.grads, strict=True):
                p -= lr * g
            logits, state = tm(x, detach_state(state))
            loss = F.cross_entropy(logits.reshape(-1, V), y.reshape(-1))
            opt.zero_grad()
            loss.backward()
            opt.step()
            t_sum += loss.item()
    return math.exp(ref_sum / len(stream)), math.exp(t_sum / len(stream))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--limit", type=int, default=None, help="first N characters only")
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--embed", type=int, default=256)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    text = load_corpus()
    if args.limit:
        text = text[:args.limit]
    task = LanguageModelTask(level="word", max_size=10_000, embed_size=args.embed,
                             hidden_size=args.hidden, num_layers=2, dropout=0.3,
                             tie_weights=True, epochs=args.epochs, batch_size=32, bptt=35,
                             lr=2e-3, clip_grad_norm=1.0, verbose=2)  # a line per epoch

    t0 = time.perf_counter()
    task.fit(text)
    seconds = time.perf_counter() - t0
    val = task.history_["val_perplexity"]
    falling = all(b < a for a, b in itertools.pairwise(val))
    best = int(np.argmin(task.history_["val_loss"]))  # early stopping keeps this epoch
    print(f"default corpus: {len(text)} characters, vocabulary {len(task.vocab_)} words")
    print(f"rnnkit held-out perplexity {val[best]:.2f} (epoch {best + 1} of {len(val)}, the "
          f"weights kept) vs unigram baseline {task.unigram_perplexity_:.2f} (ratio "
          f"{val[best] / task.unigram_perplexity_:.3f}); falling every epoch: {falling}; "
          f"training {seconds:.0f} s")
    print(f"published: {PUBLISHED}")
    for seed, prompt in enumerate(["the", "a list", "if the"]):
        print(f"sample (T=0.8, top-k 40): "
              f"{task.generate(prompt, 30, temperature=0.8, top_k=40, seed=seed)}")
    ppl_ref, ppl_torch = parity(text)
    print(f"parity, same init / batches / SGD, 2 epochs on 3,000 tokens: reference engine "
          f"perplexity {ppl_ref:.6f}, torch {ppl_torch:.6f}, relative difference "
          f"{abs(ppl_ref - ppl_torch) / ppl_ref:.2e} (bound 2e-02)")
    np.testing.assert_allclose(ppl_torch, ppl_ref, rtol=0.02)


if __name__ == "__main__":
    main()
