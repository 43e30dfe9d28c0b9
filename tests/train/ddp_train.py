"""Helper of ``test_distributed.py``: small float64 trainings run under torchrun and in one
process, to compare.

``python -m torch.distributed.run --standalone --nproc_per_node 2 ddp_train.py OUT B``
runs every scenario with ``B`` samples (or streams) per rank and writes, per rank ``r``,
``OUT/{scenario}.rank{r}.safetensors`` (final weights) and ``OUT/{scenario}.rank{r}.json``
(history). The test runs the same functions in its own process with ``2 B``.

Scenarios (each seeded the same on every rank; DDP gives every rank rank 0's weights):

- ``arrays``: a GRU regressor on ArrayBatches (shuffled), Adam, gradient clipping, a
  validation loader whose 7 samples do not split evenly over 2 ranks;
- ``stream``: a GRU language model with carried state on a TokenStream (truncated BPTT);
- ``buckets``: a packed-sequence GRU classifier on ``padded_loader`` (length buckets, a
  DataLoader) with a plain DataLoader for validation;
- ``resume``: the arrays model with dropout (each rank's generator seeded apart), trained
  3 epochs straight (``resume_straight``) and killed after epoch 1 then resumed from its
  checkpoint (``resume``): the two must be equal bit for bit.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file
from torch import nn

from rnnkit.data.batching import TokenStream, padded_loader
from rnnkit.train import ArrayBatches, Trainer, distributed
from rnnkit.train.callbacks import Callback

EPOCHS = 3
SCENARIOS = ("arrays", "stream", "buckets")


class Regressor(nn.Module):
    def __init__(self, dropout: float = 0.0) -> None:
        super().__init__()
        self.gru = nn.GRU(3, 8, batch_first=True)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(8, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.gru(x)  # (B, T, H)
        return self.head(self.drop(out[:, -1]))  # (B, 1)


class LanguageModel(nn.Module):
    def __init__(self, vocab: int = 11) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, 6)
        self.gru = nn.GRU(6, 8, batch_first=True)
        self.head = nn.Linear(8, vocab)

    def forward(self, x: torch.Tensor, state: torch.Tensor | None = None):
        out, state = self.gru(self.embed(x), state)  # (B, T, H), (1, B, H)
        return self.head(out), state  # (B, T, V)


class Classifier(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.gru = nn.GRU(3, 8, batch_first=True)
        self.head = nn.Linear(8, 3)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True,
                                                    enforce_sorted=False)
        _, h = self.gru(packed)  # (1, B, H)
        return self.head(h[-1])  # (B, C)


def _arrays(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6, 3))  # (N, T, D)
    y = x.sum(axis=(1, 2))[:, None] * 0.1 + rng.normal(scale=0.1, size=(n, 1))  # (N, 1)
    return torch.from_numpy(x), torch.from_numpy(y)


def _sequences(n: int, seed: int) -> tuple[list[np.ndarray], np.ndarray]:
    rng = np.random.default_rng(seed)
    seqs = [rng.normal(size=(int(rng.integers(2, 10)), 3)) for _ in range(n)]  # (T_i, D)
    y = np.asarray([int(s.sum() > 0) + int(len(s) > 5) for s in seqs], dtype=np.int64)
    return seqs, y


def arrays(batch_size: int) -> tuple[dict[str, torch.Tensor], dict[str, list[float]]]:
    x, y = _arrays(40, 0)
    xv, yv = _arrays(7, 1)
    torch.manual_seed(0)
    model = Regressor().double()
    trainer = Trainer(model, "mse", "adam", metrics=["mae"], lr=0.01, clip_grad_norm=0.5)
    loader = ArrayBatches(x, y, batch_size, shuffle=True,
                          generator=torch.Generator().manual_seed(1))
    history = trainer.fit(loader, EPOCHS, ArrayBatches(xv, yv, 3))
    return model.state_dict(), history.history


def stream(batch_size: int) -> tuple[dict[str, torch.Tensor], dict[str, list[float]]]:
    rng = np.random.default_rng(2)
    ids, val_ids = rng.integers(0, 11, 203), rng.integers(0, 11, 31)
    torch.manual_seed(0)
    model = LanguageModel().double()
    trainer = Trainer(model, "cross_entropy", "adam", metrics=["accuracy"], lr=0.01,
                      carry_state=True)
    history = trainer.fit(TokenStream(ids, batch_size, 5), EPOCHS, TokenStream(val_ids, 3, 5))
    return model.state_dict(), history.history


def buckets(batch_size: int) -> tuple[dict[str, torch.Tensor], dict[str, list[float]]]:
    seqs, y = _sequences(36, 3)
    vseqs, vy = _sequences(7, 4)
    torch.manual_seed(0)
    model = Classifier().double()
    trainer = Trainer(model, "cross_entropy", "adam", metrics=["accuracy"], lr=0.01)
    train = padded_loader(seqs, y, batch_size=batch_size, shuffle=True, bucket=True, seed=5)
    val = padded_loader(vseqs, vy, batch_size=3, shuffle=False, bucket=False)
    history = trainer.fit(train, EPOCHS, val)
    return model.state_dict(), history.history


class Kill(Callback):
    """Raise after epoch ``at`` (a kill between checkpoints: epoch ``at`` is lost)."""

    def __init__(self, at: int) -> None:
        self.at = at

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.at:
            raise KeyboardInterrupt("killed")


def resume(batch_size: int, folder: Path | None, kill: bool
           ) -> tuple[dict[str, torch.Tensor], dict[str, list[float]]]:
    x, y = _arrays(40, 0)
    xv, yv = _arrays(7, 1)

    def run(callbacks=(), **kw):
        torch.manual_seed(0)
        model = Regressor(dropout=0.3).double()
        torch.manual_seed(100 + distributed.rank())  # each rank its own dropout masks
        trainer = Trainer(model, "mse", "adam", lr=0.01)
        loader = ArrayBatches(x, y, batch_size, shuffle=True,
                              generator=torch.Generator().manual_seed(1))
        history = trainer.fit(loader, EPOCHS, ArrayBatches(xv, yv, 3), callbacks=callbacks,
                              **kw)
        return model.state_dict(), history.history

    if not kill:
        return run()
    try:
        run([Kill(1)], checkpoint=folder)
    except KeyboardInterrupt:
        pass
    return run(checkpoint=folder, resume=True)


def _write(out: Path, name: str, result) -> None:
    weights, history = result
    r = distributed.rank()
    save_file({k: v.contiguous() for k, v in weights.items()},
              str(out / f"{name}.rank{r}.safetensors"))
    (out / f"{name}.rank{r}.json").write_text(json.dumps(history))


def main() -> None:
    out, batch_size = Path(sys.argv[1]), int(sys.argv[2])
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    for name in SCENARIOS:
        _write(out, name, globals()[name](batch_size))
    _write(out, "resume_straight", resume(batch_size, None, kill=False))
    _write(out, "resume", resume(batch_size, out / "checkpoint", kill=True))
    distributed.destroy_process_group()


if __name__ == "__main__":
    main()
