"""In-memory mini-batches without a DataLoader, and conversion of user arrays to tensors.

``ArrayBatches`` holds the whole data set as tensors (on the training device) and yields
``(inputs, targets)`` slices. With ``shuffle=True`` each epoch draws one permutation
(``torch.randperm``) and gathers the data once, so every batch is a zero-copy slice: no
per-sample ``__getitem__``, no collation, no worker processes. ``state_dict()`` holds the
generator's state, so a resumed training run draws the same permutations
(:mod:`rnnkit.train.resume`).

Inputs may be a tensor ``(N, ...)`` or a dict of named tensors (passed to the model as
keyword arguments). Tensors under the keys in :data:`CPU_KEYS` (``"lengths"``,
``"src_lengths"``) stay on the CPU, as ``torch.nn.utils.rnn.pack_padded_sequence`` requires.

Data-parallel training (:mod:`rnnkit.train.distributed`): ``shard(rank, world_size)`` gives
the batches of one of W processes: the epoch's permutation (the same on every rank) cut into
batches of W x ``batch_size``, of which rank ``r`` takes positions ``r, r + W, ...``
(:func:`rnnkit.data.batching.shard_batch`; a last batch is padded so every rank gets as many
samples).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import torch

from rnnkit.data.batching import Shardable, shard_batch

#: Dict entries kept on the CPU whatever the training device.
CPU_KEYS = frozenset({"lengths", "src_lengths"})

Inputs = torch.Tensor | dict[str, torch.Tensor]


def to_tensor(
    a: Any, name: str, float_dtype: torch.dtype, device: torch.device | str = "cpu"
) -> torch.Tensor:
    """``a`` (array, tensor or nested list) as a tensor on ``device``.

    Floating data become ``float_dtype`` (the model's parameter dtype), integers int64,
    booleans stay bool. Anything else raises TypeError naming ``name``.
    """
    if isinstance(a, torch.Tensor):
        t = a
    else:
        try:
            arr = np.asarray(a)
        except (ValueError, TypeError) as err:
            raise TypeError(f"{name} must be an array or tensor, got {type(a).__name__}") from err
        if arr.dtype == object or not (
            np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_
        ):
            raise TypeError(f"{name} must hold numbers, got an array of dtype {arr.dtype}")
        t = torch.from_numpy(np.ascontiguousarray(arr))
    if t.is_floating_point():
        t = t.to(dtype=float_dtype)
    elif t.dtype != torch.bool and not t.is_complex():
        t = t.to(dtype=torch.int64)
    if t.dim() == 0:
        raise ValueError(f"{name} must have a sample axis, got a scalar")
    return t.to(device)


def to_inputs(
    x: Any, name: str, float_dtype: torch.dtype, device: torch.device | str = "cpu"
) -> Inputs:
    """Inputs as a tensor, or a dict of tensors (keys in CPU_KEYS stay on the CPU)."""
    if isinstance(x, Mapping):
        return {
            k: to_tensor(v, f"{name}[{k!r}]", float_dtype, "cpu" if k in CPU_KEYS else device)
            for k, v in x.items()
        }
    return to_tensor(x, name, float_dtype, device)


def num_samples(x: Inputs) -> int:
    """Size of the first axis (equal across a dict's entries, else ValueError)."""
    if isinstance(x, dict):
        sizes = {k: v.shape[0] for k, v in x.items()}
        if not sizes:
            raise ValueError("X must not be an empty dict")
        if len(set(sizes.values())) != 1:
            raise ValueError(f"every entry of X must have the same number of samples, got {sizes}")
        return next(iter(sizes.values()))
    return int(x.shape[0])


def take(x: Inputs, index: torch.Tensor | slice) -> Inputs:
    """Rows ``index`` of a tensor or of every tensor of a dict."""
    if isinstance(x, dict):
        return {k: take(v, index) for k, v in x.items()}
    if isinstance(index, torch.Tensor) and index.device != x.device:
        index = index.to(x.device)
    return x[index]


def split_last(x: Inputs, y: torch.Tensor | None, fraction: float):
    """Split off the LAST ``fraction`` of the samples (Keras' ``validation_split``).

    Returns ``(x_train, y_train, x_val, y_val)``; the split point is
    ``floor(n * (1 - fraction))`` and both parts must be non-empty.
    """
    n = num_samples(x)
    split_at = math.floor(n * (1.0 - fraction))
    if split_at <= 0 or split_at >= n:
        raise ValueError(
            f"validation_split={fraction} leaves an empty training or validation set "
            f"with {n} samples"
        )
    head, tail = slice(0, split_at), slice(split_at, n)
    y_head = None if y is None else y[head]
    y_tail = None if y is None else y[tail]
    return take(x, head), y_head, take(x, tail), y_tail


class ArrayBatches(Shardable):
    """Iterable of ``(inputs, targets)`` mini-batches over in-memory tensors.

    Args:
        x: inputs, a tensor (N, ...) or a dict of tensors (N, ...).
        y: targets (N, ...) or None (then batches are ``(inputs, None)``).
        batch_size: samples per batch (the last batch may be smaller). Default 32.
        shuffle: draw a new permutation each epoch. Default False.
        generator: ``torch.Generator`` (CPU) for the permutations; None uses torch's global one.
        names: what to call inputs and targets in error messages. Default ("X", "y").
    """

    def __init__(
        self,
        x: Inputs,
        y: torch.Tensor | None = None,
        batch_size: int = 32,
        shuffle: bool = False,
        generator: torch.Generator | None = None,
        names: tuple[str, str] = ("X", "y"),
    ) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        self.n = num_samples(x)
        if y is not None and int(y.shape[0]) != self.n:
            raise ValueError(
                f"{names[0]} and {names[1]} must have the same number of samples, got "
                f"{names[0]} with {self.n} and {names[1]} with {int(y.shape[0])}"
            )
        self.x, self.y = x, y
        self.batch_size = batch_size
        self.shuffle = bool(shuffle)
        self.generator = generator

    def __len__(self) -> int:
        return math.ceil(self.n / self._global_size())

    def state_dict(self) -> dict[str, Any]:
        """``{"generator": state}`` of the shuffling generator (``{}`` without one: the
        permutations then come from torch's global generator)."""
        return {} if self.generator is None else {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Put back what :meth:`state_dict` returned: the next epochs repeat exactly."""
        if "generator" in state:
            if self.generator is None:
                raise ValueError("the saved ArrayBatches state has a generator; this one "
                                 "has none")
            self.generator.set_state(state["generator"])

    def __iter__(self) -> Iterator[tuple[Inputs, torch.Tensor | None]]:
        if self._shard is not None:
            yield from self._sharded()
            return
        x, y = self.x, self.y
        if self.shuffle:
            perm = torch.randperm(self.n, generator=self.generator)  # (N,) on the CPU
            x = take(x, perm)
            y = None if y is None else take(y, perm)
        bs = self.batch_size
        for start in range(0, self.n, bs):
            sl = slice(start, start + bs)
            yield take(x, sl), (None if y is None else y[sl])

    def _sharded(self) -> Iterator[tuple[Inputs, torch.Tensor | None]]:
        """This rank's batches: its part of each global batch, gathered once per epoch."""
        rank, world, training = self._shard
        order = (torch.randperm(self.n, generator=self.generator) if self.shuffle
                 else torch.arange(self.n))  # (N,) the same on every rank
        gb = self._global_size()
        parts = [shard_batch(order[s:s + gb].numpy(), rank, world, pad=training)
                 for s in range(0, self.n, gb)]
        sizes = [len(p) for p in parts if len(p)]
        if not sizes:
            return
        index = torch.from_numpy(np.concatenate(parts))  # (sum of sizes,)
        x, y = take(self.x, index), (None if self.y is None else take(self.y, index))
        start = 0
        for size in sizes:
            sl = slice(start, start + size)
            yield take(x, sl), (None if y is None else y[sl])
            start += size


__all__ = ["CPU_KEYS", "ArrayBatches", "num_samples", "split_last", "take", "to_inputs",
           "to_tensor"]
