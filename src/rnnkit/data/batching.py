"""Padding, length-bucketed batches and token streams for truncated BPTT.

- :func:`pad_sequences`: a list of (T_i, ...) arrays -> one (B, T, ...) array plus lengths,
  padding and truncating "post" (at the end, default) or "pre" (at the start), like Keras.
- :class:`BucketBatchSampler`: a ``torch`` batch sampler whose batches hold sequences of
  similar length (sorted inside shuffled pools of ``pool_factor * batch_size``), so little
  compute is spent on padding.
- :func:`collate_padded` / :func:`padded_loader`: batches as ``({"x": (B, T, ...), "lengths":
  (B,)}, y)`` for models whose ``forward(x, lengths)`` packs or masks.
- :class:`TokenStream`: one long id sequence cut into ``batch_size`` parallel streams starting
  at offsets ``i * (len // batch_size)`` (as in Deep Learning from Scratch 2), read in chunks
  of ``bptt`` steps: chunk ``k`` of stream ``b`` continues chunk ``k-1`` of the same stream, so
  a stateful model carries its state from one batch to the next.
- :func:`shard_batch`: one rank's part of a batch for data-parallel training; the batch
  sampler and the token stream have a ``shard(rank, world_size, training=...)`` method that
  :func:`rnnkit.train.distributed.shard_loader` calls.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Sampler

from rnnkit.errors import ConfigError, DataError
from rnnkit.ref.batching import stream_matrix

PADDING = ("post", "pre")


def pad_sequences(
    seqs: Sequence[np.ndarray | Sequence],
    maxlen: int | None = None,
    padding: str = "post",
    truncating: str = "post",
    value: float = 0,
    dtype: np.dtype | type | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Stack sequences (T_i, ...) into ``(B, T, ...)``; return it and the kept lengths (B,).

    ``T = maxlen`` or the longest length. Sequences longer than ``T`` lose steps at the end
    (``truncating="post"``) or the start (``"pre"``); shorter ones get ``value`` at the end
    (``padding="post"``) or the start (``"pre"``). Lengths count the real steps kept.
    """
    if padding not in PADDING:
        raise ConfigError(f"padding must be 'post' or 'pre', got {padding!r}")
    if truncating not in PADDING:
        raise ConfigError(f"truncating must be 'post' or 'pre', got {truncating!r}")
    if maxlen is not None and (isinstance(maxlen, bool) or not isinstance(maxlen, int)
                               or maxlen < 1):
        raise ConfigError(f"maxlen must be None or a positive int, got {maxlen!r}")
    arrays = [np.asarray(s) for s in seqs]
    if not arrays:
        raise DataError("seqs must hold at least one sequence, got 0")
    if dtype is None:
        dtype = np.result_type(*arrays) if all(a.size for a in arrays) else arrays[0].dtype
    tail = arrays[0].shape[1:]
    for i, a in enumerate(arrays):
        if a.ndim == 0 or a.shape[1:] != tail:
            raise DataError(f"seqs[{i}] must have shape (T, *{tail}), got {a.shape}")
    T = maxlen if maxlen is not None else max(1, max(len(a) for a in arrays))
    out = np.full((len(arrays), T, *tail), value, dtype=dtype)  # (B, T, ...)
    lengths = np.empty(len(arrays), dtype=np.int64)
    for i, a in enumerate(arrays):
        kept = a[:T] if truncating == "post" else a[max(0, len(a) - T):]
        n = len(kept)
        lengths[i] = n
        if n == 0:
            continue
        if padding == "post":
            out[i, :n] = kept
        else:
            out[i, T - n:] = kept
    return out, lengths


def bucket_batches(lengths: Sequence[int], batch_size: int, shuffle: bool = True,
                   seed: int | None = None, pool_factor: int = 50,
                   drop_last: bool = False) -> list[np.ndarray]:
    """Index batches of similar length; every index appears exactly once.

    Indices are shuffled (if ``shuffle``), cut into pools of ``pool_factor * batch_size``,
    each pool is sorted by length (stable, longest first) and cut into batches, and the batch
    order is shuffled again. Without shuffling, the whole set is sorted longest first.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError(f"batch_size must be a positive int, got {batch_size!r}")
    lengths = np.asarray(lengths)
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(lengths)) if shuffle else np.arange(len(lengths))
    pool = len(lengths) if not shuffle else max(batch_size, pool_factor * batch_size)
    batches = []
    for start in range(0, len(idx), pool):
        chunk = idx[start:start + pool]
        chunk = chunk[np.argsort(-lengths[chunk], kind="stable")]
        for b in range(0, len(chunk), batch_size):
            batches.append(chunk[b:b + batch_size])
    if drop_last:
        batches = [b for b in batches if len(b) == batch_size]
    if shuffle:
        order = rng.permutation(len(batches))
        batches = [batches[i] for i in order]
    return batches


class Shardable:
    """What a batch source needs to serve one rank of data-parallel training.

    ``shard(rank, world_size, training)`` returns a copy whose batches are rank ``rank``'s
    parts (:func:`shard_batch`) of ``world_size * batch_size`` batches when ``training``
    (the batches one process with that batch size serves, in the same order), else of this
    source's own batches, unpadded. Subclasses set ``batch_size``, start with
    ``_shard = None`` and read ``_shard`` / :meth:`_global_size` when they batch.
    """

    batch_size: int
    _shard: tuple[int, int, bool] | None = None  # (rank, world_size, training)

    def shard(self, rank: int, world_size: int, training: bool = True):
        """A copy serving rank ``rank`` of ``world_size`` (sharing data and generator)."""
        shard_batch([], rank, world_size)  # validates rank and world_size
        out = copy.copy(self)
        out._shard = (rank, world_size, bool(training))
        return out

    def _global_size(self) -> int:
        """The batch size before sharding: ``world_size * batch_size`` when training."""
        if self._shard is not None and self._shard[2]:
            return self.batch_size * self._shard[1]
        return self.batch_size


def shard_batch(index: Sequence[int] | np.ndarray, rank: int, world_size: int,
                pad: bool = True) -> np.ndarray:
    """Rank ``rank``'s part of one batch of indices: positions ``rank, rank + W, ...``.

    With ``pad``, a batch whose size m is not a multiple of W is first filled up to
    ``ceil(m / W) * W`` by repeating its first items, so every rank gets ``ceil(m / W)``;
    without, ranks get ``floor`` or ``ceil`` of ``m / W`` items (possibly none). The union
    of the ranks' parts is the batch (plus the repeated items)::

        shard_batch([5, 1, 4, 2, 3], 1, 2)  ->  [1, 2, 5]     # rank 0: [5, 4, 3]
    """
    if isinstance(world_size, bool) or not isinstance(world_size, int) or world_size < 1:
        raise ConfigError(f"world_size must be a positive int, got {world_size!r}")
    if isinstance(rank, bool) or not isinstance(rank, int) or not 0 <= rank < world_size:
        raise ConfigError(f"rank must be an int in [0, {world_size}), got {rank!r}")
    index = np.asarray(index)
    m = len(index)
    if pad and m and m % world_size:
        index = index[np.arange(-(-m // world_size) * world_size) % m]
    return index[rank::world_size]


class BucketBatchSampler(Shardable, Sampler[list[int]]):
    """Torch batch sampler over :func:`bucket_batches`; a new shuffle every epoch.

    Epoch ``e`` is shuffled with ``seed + e`` (``seed=None``: a seed drawn from NumPy's
    global generator), so ``state_dict()`` (the epoch count) is all a resumed training run
    needs to repeat the order.

    ``shard(rank, world_size)`` gives a copy for one of W data-parallel processes: it
    forms the batches of ``world_size * batch_size`` that one process would, and yields
    this rank's part of each (:func:`shard_batch`, padded); with ``training=False`` it
    splits its own batches, unpadded (evaluation).
    """

    def __init__(self, lengths: Sequence[int], batch_size: int, shuffle: bool = True,
                 seed: int | None = None, pool_factor: int = 50, drop_last: bool = False):
        self.lengths = np.asarray(lengths)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.pool_factor = pool_factor
        self.drop_last = drop_last
        self._epoch = 0
        bucket_batches(self.lengths[:0], batch_size)  # validates batch_size

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self._epoch}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self._epoch = int(state["epoch"])

    def __iter__(self) -> Iterator[list[int]]:
        if self.seed is None:
            seed = int(np.random.randint(0, 2**62))  # noqa: NPY002 - the global one, on purpose
        else:
            seed = self.seed + self._epoch
        self._epoch += 1
        for b in bucket_batches(self.lengths, self._global_size(), self.shuffle, seed,
                                self.pool_factor, self.drop_last):
            if self._shard is not None:
                rank, world, training = self._shard
                b = shard_batch(b, rank, world, pad=training)
                if not len(b):
                    continue
            yield b.tolist()

    def __len__(self) -> int:
        # the number of batches does not depend on the shuffle, only on the pools
        return len(bucket_batches(self.lengths, self._global_size(), self.shuffle, 0,
                                  self.pool_factor, self.drop_last))


class PaddedDataset(torch.utils.data.Dataset):
    """Items ``(sequence (T_i, ...), label)`` for :func:`collate_padded`."""

    def __init__(self, seqs: Sequence[np.ndarray], y: np.ndarray | None = None):
        if y is not None and len(y) != len(seqs):
            raise DataError(f"seqs and y must have the same length, got {len(seqs)} and "
                             f"{len(y)}")
        self.seqs = seqs
        self.y = y

    def __len__(self) -> int:
        return len(self.seqs)

    def __getitem__(self, i: int):
        return self.seqs[i], (None if self.y is None else self.y[i])


def collate_padded(items, maxlen: int | None = None, value: float = 0
                   ) -> tuple[dict[str, torch.Tensor], torch.Tensor | None]:
    """Pad one batch: ``({"x": (B, T, ...), "lengths": (B,) int64 CPU}, y (B,) or None)``."""
    seqs = [s for s, _ in items]
    x, lengths = pad_sequences(seqs, maxlen=maxlen, value=value)
    ys = [t for _, t in items]
    y = None if ys[0] is None else torch.as_tensor(np.asarray(ys))
    return {"x": torch.from_numpy(x), "lengths": torch.from_numpy(lengths)}, y


def padded_loader(seqs: Sequence[np.ndarray], y: np.ndarray | None = None, batch_size: int = 32,
                  shuffle: bool = True, bucket: bool = True, seed: int | None = None,
                  maxlen: int | None = None) -> DataLoader:
    """A DataLoader of padded batches ``({"x", "lengths"}, y)``.

    ``bucket=True``: batches of similar length, padded to their longest (at most ``maxlen``);
    ``bucket=False``: batches in order (or shuffled), padded to ``maxlen`` if given (a fixed
    length), else to their longest. Sequences longer than ``maxlen`` are truncated (post).
    """
    ds = PaddedDataset(seqs, y)

    def collate(items):
        T = maxlen
        if bucket and maxlen is not None:  # truncate to maxlen, pad to the batch's longest
            T = min(maxlen, max(len(s) for s, _ in items))
        return collate_padded(items, maxlen=T)

    if bucket:
        lengths = [min(len(s), maxlen) if maxlen else len(s) for s in seqs]
        sampler = BucketBatchSampler(lengths, batch_size, shuffle=shuffle, seed=seed)
        return DataLoader(ds, batch_sampler=sampler, collate_fn=collate)
    gen = None if seed is None else torch.Generator().manual_seed(seed)
    return DataLoader(ds, batch_size=batch_size, shuffle=shuffle, collate_fn=collate,
                      generator=gen)


class TokenStream:
    """Iterate ``(x (B, T), y (B, T))`` int64 tensors over one token stream for TBPTT.

    Stream ``b`` reads ``ids[b * L : (b + 1) * L]`` with ``L = (len(ids) - 1) // batch_size``;
    ``y`` is ``x`` shifted by one token. The last chunk may be shorter than ``bptt``.

    ``shard(rank, world_size)`` gives the streams of one of W data-parallel processes: the
    ``world_size * batch_size`` streams one process would read, rank ``r`` taking streams
    ``r, r + W, ...`` (``batch_size`` each); with ``training=False`` it takes those rows of
    its own streams instead (evaluation: the figures of one process, whose streams they are).
    """

    def __init__(self, ids: np.ndarray | Sequence[int], batch_size: int, bptt: int):
        for name, v in (("batch_size", batch_size), ("bptt", bptt)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ConfigError(f"{name} must be a positive int, got {v!r}")
        ids = np.asarray(ids, dtype=np.int64)
        L = (len(ids) - 1) // batch_size
        if L < 1:
            raise DataError(f"the token stream is too short: {len(ids)} tokens for "
                             f"batch_size {batch_size} (need at least {batch_size + 1})")
        self.batch_size, self.bptt, self.stream_len = batch_size, bptt, L
        xs, ts = stream_matrix(ids, batch_size)  # the reference engine's layout, (B, L) each
        self.inputs, self.targets = torch.from_numpy(xs), torch.from_numpy(ts)

    def shard(self, rank: int, world_size: int, training: bool = True) -> TokenStream:
        """Rank ``rank``'s streams (see the class doc)."""
        shard_batch([], rank, world_size)  # validates rank and world_size
        out = copy.copy(self)
        if training:
            # The streams of B * W read the first (B * W) * (L // W) + 1 tokens, all of which
            # this stream's B * L + 1 hold: its inputs in order, then the last target.
            ids = np.concatenate([self.inputs.reshape(-1).numpy(),
                                  self.targets[-1, -1:].numpy()])  # (B * L + 1,)
            if self.stream_len < world_size:
                raise DataError(f"the token stream is too short for {world_size} processes: "
                                f"{len(ids)} tokens make {self.batch_size * world_size} "
                                f"streams of no token")
            xs, ts = stream_matrix(ids, self.batch_size * world_size)  # (B * W, L // W)
            out.stream_len = xs.shape[1]
        else:
            xs, ts = self.inputs.numpy(), self.targets.numpy()
        out.inputs = torch.from_numpy(np.ascontiguousarray(xs[rank::world_size]))
        out.targets = torch.from_numpy(np.ascontiguousarray(ts[rank::world_size]))
        out.batch_size = out.inputs.shape[0]
        return out

    def __len__(self) -> int:
        return -(-self.stream_len // self.bptt)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        if not len(self.inputs):  # a rank with no stream (evaluation of few streams)
            return
        for s in range(0, self.stream_len, self.bptt):
            yield self.inputs[:, s:s + self.bptt], self.targets[:, s:s + self.bptt]  # (B, T)


__all__ = ["BucketBatchSampler", "PaddedDataset", "TokenStream", "bucket_batches",
           "collate_padded", "pad_sequences", "padded_loader", "shard_batch"]
