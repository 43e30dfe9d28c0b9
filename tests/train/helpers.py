"""Small models and data shared by the rnnkit.train tests."""

from __future__ import annotations

import os
import signal

import numpy as np
import torch
from torch import nn

from rnnkit.train.callbacks import Callback


class Spy(nn.Module):
    """Identity that records the first feature of every batch it sees in training mode."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            self.seen.append(x[:, 0].detach().clone())
        return x


class LastStep(nn.Module):
    """torch.nn.RNN returning its last output: (B, T, D) -> (B, H)."""

    def __init__(self, d: int, h: int) -> None:
        super().__init__()
        self.rnn = nn.RNN(d, h, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.rnn(x)[0][:, -1]  # (B, H)


def regression_data(n: int = 40, t: int = 6, seed: int = 0):
    """X (n, t, 1) float32 and y (n, 1): the sum of the last two steps."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, t, 1)).astype(np.float32)
    y = X[:, -2:, 0].sum(axis=1, keepdims=True)
    return X, y


class KillAt(Callback):
    """SIGKILLs its own process after batch ``batch`` of epoch ``epoch``: nothing runs after
    it (no ``finally``, no atexit handler), as when a machine kills a job."""

    def __init__(self, epoch: int, batch: int) -> None:
        self.epoch, self.batch, self.now = epoch, batch, -1

    def on_epoch_begin(self, epoch, logs=None) -> None:
        self.now = epoch

    def on_batch_end(self, batch, logs=None) -> None:
        if self.now == self.epoch and batch == self.batch:
            os.kill(os.getpid(), signal.SIGKILL)


def run_killed(fn, epoch: int, batch: int, fit: int = 0) -> int:
    """Run ``fn()`` in a forked child in which call ``fit`` (0-based) of ``Trainer.fit``
    SIGKILLs the child after batch ``batch`` of epoch ``epoch``; return the child's exit code
    (-9: killed, 0: ``fn`` returned first, 2: it raised)."""
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        code = 2
        try:
            from rnnkit.train.trainer import Trainer

            original, calls = Trainer.fit, []

            def killing_fit(self, *args, callbacks=(), **kw):
                calls.append(1)
                if len(calls) - 1 == fit:
                    callbacks = [*callbacks, KillAt(epoch, batch)]
                return original(self, *args, callbacks=callbacks, **kw)

            Trainer.fit = killing_fit
            fn()
            code = 0
        except BaseException:
            import traceback

            traceback.print_exc()
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def same_weights(a: nn.Module, b: nn.Module) -> bool:
    """Bit-identical state dicts (same names, dtypes, shapes and values)."""
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(
        sa[k].dtype == sb[k].dtype and torch.equal(sa[k], sb[k]) for k in sa)
