"""``rnnkit lm``: train a recurrent language model on a text, or generate from one.

``rnnkit lm train [--text FILE] --out DIR``: word- or character-level LSTM language model
trained with truncated BPTT; the last ``--validation`` of the tokens is held out and drives
early stopping. Without ``--text`` the default corpus is used (the Python documentation
topics shipped with Python). Prints the perplexity of every epoch beside the unigram
baseline, then samples. The output folder (built atomically, default ``out/lm``) gets
``metrics.json`` (train and held-out loss and perplexity per epoch, baseline, samples) and
``model/`` (``config.json`` + ``model.safetensors``).

``rnnkit lm generate --model DIR --prompt TEXT``: sample ``--length`` tokens with
``--temperature`` and ``--top-k``. ``DIR`` is the model folder or the training output
folder that holds it (``out/lm`` and ``out/lm/model`` both work). ``rnnkit predict --model
out/lm/model --prompt TEXT`` does the same.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

from rnnkit.cli.options import (
    DefaultsFormatter,
    add,
    add_output,
    add_training,
    fraction,
    is_main_process,
    launch,
    naming,
    nonneg_float,
    nonneg_int,
    positive_int,
    prepare_output,
    resume_kwargs,
    set_threads,
    training_kwargs,
)
from rnnkit.errors import ConfigError


def register(subparsers: argparse._SubParsersAction) -> None:
    from rnnkit.tasks.lm import LanguageModelTask
    from rnnkit.tasks.lm.model import CELLS

    d = LanguageModelTask.default
    p = subparsers.add_parser("lm", help="train a language model or generate text",
                              description="Train a recurrent language model on a text, "
                              "or generate text from a trained one.")
    sub = p.add_subparsers(dest="lm_command", metavar="{train,generate}", required=True)
    t = sub.add_parser("train", help="train on a text file (default: Python's doc topics)",
                       description=__doc__.split("\n\n")[1],
                       formatter_class=DefaultsFormatter)
    add(t, "--text", "--data", dest="text", default=None, help="UTF-8 (or --encoding) text "
        "file (--data: the other commands' name for it); the default corpus if omitted")
    add(t, "--encoding", default="utf-8", help="text encoding of --text")
    add(t, "--limit", type=positive_int, default=None, help="use only the first N characters")
    add(t, "--level", default=d("level"), choices=("word", "char"), help="token level")
    add(t, "--lower", action=argparse.BooleanOptionalAction, default=d("lower"),
        help="lower-case the text first")
    add(t, "--max-vocab", type=nonneg_int, default=d("max_size"),
        help="vocabulary size, specials included (0: no cap)")
    add(t, "--min-freq", type=positive_int, default=d("min_freq"),
        help="keep tokens seen at least this often")
    add(t, "--cell", default=d("cell"), choices=tuple(CELLS), help="recurrent cell")
    add(t, "--embed", type=positive_int, default=d("embed_size"), help="embedding size")
    add(t, "--hidden", type=positive_int, default=d("hidden_size"),
        help="units per recurrent layer")
    add(t, "--layers", type=positive_int, default=d("num_layers"), help="recurrent layers")
    add(t, "--dropout", type=fraction, default=d("dropout"), help="dropout rate")
    add(t, "--tie", action=argparse.BooleanOptionalAction, default=d("tie_weights"),
        help="share the output matrix with the input embedding")
    add(t, "--bptt", type=positive_int, default=d("bptt"), help="truncated-BPTT chunk length")
    add_training(t, LanguageModelTask, {
        "validation": "held-out tail of the tokens for early stopping and the held-out "
        "perplexity: fraction or count (0: none)",
        "epochs": "maximum epochs (early stopping may end sooner)"})
    add(t, "--prompt", default="the", help="prompt of the samples printed at the end")
    add_output(t, "out/lm")
    t.set_defaults(func=run_train)
    g = sub.add_parser("generate", help="sample text from a trained model",
                       description=__doc__.split("\n\n")[2],
                       formatter_class=DefaultsFormatter)
    add(g, "--model", required=True, metavar="DIR", help="model folder, or the folder "
        "`rnnkit lm train` wrote (its model/ is used)")
    add_sampling(g)
    g.set_defaults(func=run_generate)


def add_sampling(p: argparse.ArgumentParser) -> None:
    """The sampling options of ``rnnkit lm generate`` (``rnnkit predict`` has the same)."""
    add(p, "--prompt", default="", help="text to continue")
    add(p, "--length", type=positive_int, default=50, help="tokens to generate")
    add(p, "--temperature", type=nonneg_float, default=0.8,
        help="sampling temperature (0: always the most likely token)")
    add(p, "--top-k", type=positive_int, default=None, help="sample from the k most likely")
    add(p, "--samples", type=positive_int, default=1, help="samples to draw")
    add(p, "--seed", type=int, default=0, help="seed of the first sample (then +1 each)")


def _estimator(args: argparse.Namespace):
    from rnnkit.tasks.lm import LanguageModelTask

    return LanguageModelTask(
        level=args.level, lower=args.lower, max_size=args.max_vocab or None,
        min_freq=args.min_freq, embed_size=args.embed, hidden_size=args.hidden,
        num_layers=args.layers, dropout=args.dropout, tie_weights=args.tie, cell=args.cell,
        bptt=args.bptt, **training_kwargs(args))


def run_train(args: argparse.Namespace) -> int:
    from rnnkit.data.text import load_corpus
    from rnnkit.fileio import atomic_directory, write_json

    prepare_output(args)
    set_threads(args.threads)
    if (status := launch(args, run_train)) is not None:  # --nproc N: N processes run this
        return status
    lm = _estimator(args)
    lm._check_params()  # bad options fail before the text is read
    text = load_corpus(args.text, encoding=args.encoding)
    if args.limit:
        text = text[:args.limit]
    t0 = time.perf_counter()
    with naming(args.text or "the default corpus"):
        lm.fit(text, **resume_kwargs(args))
    seconds = time.perf_counter() - t0
    if not is_main_process():  # data-parallel: rank 0 scores, prints and writes
        return 0
    hist = lm.history_
    held_out = "val_perplexity" in hist
    for e, ppl in enumerate(hist["perplexity"]):
        line = f"epoch {e + 1}/{args.epochs}: train perplexity {ppl:.2f}"
        if held_out:
            line += f"  held-out perplexity {hist['val_perplexity'][e]:.2f}"
        print(line)
    best = None
    if held_out and lm.patience is not None:
        val = hist["val_loss"]
        best = min(range(len(val)), key=lambda i: (not math.isfinite(val[i]), val[i])) + 1
        print(f"kept the weights of epoch {best} (lowest held-out loss)"
              + (f"; stopped early after epoch {len(val)}" if len(val) < args.epochs else ""))
    if lm.fit_status_ != "ok":
        print(f"training {lm.fit_status_}")
    if lm.unigram_perplexity_ is not None:
        print(f"unigram baseline perplexity on the held-out part: "
              f"{lm.unigram_perplexity_:.2f}")
    samples = [lm.generate(args.prompt, length=40, temperature=0.8, top_k=40, seed=s)
               for s in range(3)]
    for s in samples:
        print(f"sample: {s}")
    metrics = {"text": args.text or "default corpus (pydoc_data.topics)",
               "limit": args.limit, "n_train_tokens": lm.n_train_,
               "n_validation_tokens": lm.n_validation_, "vocab_size": len(lm.vocab_),
               "train_seconds": round(seconds, 2), "fit_status": lm.fit_status_,
               "best_epoch": best, "unigram_perplexity": lm.unigram_perplexity_,
               "params": lm.get_params(), "history": hist, "samples": samples}
    with atomic_directory(args.out, overwrite=args.overwrite, what="lm") as tmp:
        write_json(tmp / "metrics.json", metrics)
        lm.save(tmp / "model")
    print(f"wrote {args.out}/metrics.json, model/ (rnnkit lm generate --model {args.out})")
    return 0


def model_dir(path: str) -> Path:
    """``path`` if it holds a saved model, else its ``model/`` folder if that does."""
    from rnnkit.train.saving import CONFIG_NAME

    p = Path(path)
    if not (p / CONFIG_NAME).is_file() and (p / "model" / CONFIG_NAME).is_file():
        return p / "model"
    return p


def run_generate(args: argparse.Namespace) -> int:
    from rnnkit.tasks.lm import LanguageModelTask

    lm = LanguageModelTask.load(model_dir(args.model))
    for s in _samples(lm, args):
        print(s)
    return 0


def _samples(lm, args: argparse.Namespace) -> list[str]:
    return [lm.generate(args.prompt, length=args.length, temperature=args.temperature,
                        top_k=args.top_k, seed=args.seed + s) for s in range(args.samples)]


def predict_command(est, args: argparse.Namespace) -> int:
    """``rnnkit predict`` for a language model: ``--samples`` continuations of ``--prompt``,
    one per line."""
    from rnnkit.cli.predict import emit

    if args.data is not None:
        raise ConfigError("--data is not read by a language-model model; give the text to "
                          "continue with --prompt")
    samples = _samples(est, args)
    emit(args, "".join(f"{s}\n" for s in samples), f"{len(samples)} samples")
    return 0
