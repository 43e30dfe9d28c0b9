"""Data-parallel training on ``torch.distributed``: one process per device, launched by torchrun.

Under ``torchrun`` (which sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and
``MASTER_PORT``) the :class:`~rnnkit.train.Trainer` joins the process group
(:func:`init_process_group`: ``gloo`` on the CPU, ``nccl`` on CUDA; a group the caller
initialised is used as it is), wraps the model in
``torch.nn.parallel.DistributedDataParallel`` for the training steps and gives each rank its
own part of every batch (:func:`shard_loader`). No other distribution layer: the gradients
are averaged by DDP, the epoch's sums by one ``all_reduce``.

**Batch size.** ``batch_size`` is per process (Lightning's and DDP's convention): with W
processes a step sees W x ``batch_size`` samples. A step of W ranks equals one step of a
single process with batch W x B: the global batch is the batch that one process would draw
(same seed, same order), rank ``r`` takes its positions ``r, r + W, r + 2W, ...``, each rank
takes the mean loss of its part and DDP averages the gradients. A last batch whose size is
not a multiple of W is filled up by repeating its first samples, so every rank runs the same
number of steps with parts of the same size (like ``DistributedSampler``'s padding).

**Validation** is split the same way without padding (each batch of the loader divided over
the ranks, as it is) and its sums are reduced: the figures are the single process's.

**Every rank decides the same.** The epoch's loss and metric sums and counts are all-reduced
once per epoch, so every rank's history is the global one and early stopping, the NaN guard,
learning-rate schedules and checkpoints decide alike; a ``stop_training`` set on any rank
ends training on every rank at the end of the epoch. Only rank 0 writes: training
checkpoints (:mod:`rnnkit.train.resume`; every rank reads them back), ``ModelCheckpoint``,
loggers, TensorBoard files and progress (:func:`is_main_process`).

The order of shuffled batches must agree on every rank: when a loader is sharded, rank 0's
generator state (or seed) is given to every rank (:func:`shard_loader`).
"""

from __future__ import annotations

import atexit
import copy
import logging
import os
import warnings
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

import torch
from torch import nn

from rnnkit.errors import ConfigError

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Variables a launcher sets for each process (torchrun sets all of them).
ENV_KEYS = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


# ------------------------------------------------------------------ who am I
def is_initialized() -> bool:
    """Whether a ``torch.distributed`` process group exists in this process."""
    return torch.distributed.is_available() and torch.distributed.is_initialized()


def launched() -> bool:
    """Whether a launcher (torchrun) started this process as one of several."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def world_size() -> int:
    """Processes in the group (1 without one)."""
    return torch.distributed.get_world_size() if is_initialized() else 1


def rank() -> int:
    """This process's rank: the group's, else torchrun's ``RANK`` (0 outside torchrun)."""
    if is_initialized():
        return torch.distributed.get_rank()
    return int(os.environ.get("RANK", "0"))


def is_main_process() -> bool:
    """True on rank 0 (and in a plain single process): the one process that writes."""
    return rank() == 0


def active() -> bool:
    """Whether training is data-parallel now (a group of two or more processes)."""
    return world_size() > 1


# ------------------------------------------------------------------ setup
def local_device(device: torch.device) -> torch.device:
    """Under a launcher, ``cuda`` without an index becomes ``cuda:LOCAL_RANK`` (one GPU per
    process); any other device is returned as it is."""
    if device.type == "cuda" and device.index is None and launched():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return device


def init_process_group(device: torch.device) -> bool:
    """Join the process group torchrun's environment describes; return :func:`active`.

    Does nothing when a group exists (the caller's is used) or without a launcher
    (``WORLD_SIZE`` unset or 1). The backend is ``nccl`` for a CUDA device, else ``gloo``.
    The group is destroyed when the process exits.
    """
    if is_initialized() or not launched():
        return active()
    missing = [k for k in ENV_KEYS if k not in os.environ]
    if missing:
        raise ConfigError(f"WORLD_SIZE={os.environ['WORLD_SIZE']} asks for data-parallel "
                          f"training, but {', '.join(missing)} is not set; start the processes "
                          f"with torchrun")
    if not torch.distributed.is_available():
        raise ConfigError("WORLD_SIZE > 1 asks for data-parallel training, but this torch "
                          "build has no torch.distributed")
    if device.type == "cuda":
        torch.cuda.set_device(device)
        torch.distributed.init_process_group(backend="nccl", device_id=device)
    else:
        torch.distributed.init_process_group(backend="gloo")
    atexit.register(destroy_process_group)
    log.info("joined the process group: rank %d of %d (%s)", rank(), world_size(),
             torch.distributed.get_backend())
    return active()


def destroy_process_group() -> None:
    """Leave the process group, if there is one."""
    if is_initialized():
        torch.distributed.destroy_process_group()


def wrap(model: nn.Module) -> nn.Module:
    """``DistributedDataParallel(model)``; its construction gives every rank rank 0's
    weights. Inputs are not moved (the Trainer puts them on the model's device, and keeps
    ``lengths`` on the CPU)."""
    return nn.parallel.DistributedDataParallel(model, device_ids=None)


# ------------------------------------------------------------------ collectives
def _comm_device() -> torch.device:
    if torch.distributed.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def all_reduce_sum(t: torch.Tensor) -> torch.Tensor:
    """The sum of ``t`` over the ranks (a new tensor on ``t``'s device; ``t`` itself when
    not :func:`active`)."""
    if not active():
        return t
    buf = t.detach().to(_comm_device(), copy=True)
    torch.distributed.all_reduce(buf, op=torch.distributed.ReduceOp.SUM)
    return buf.to(t.device)


def any_rank(flag: bool) -> bool:
    """True on every rank if ``flag`` is True on any rank."""
    if not active():
        return flag
    return bool(all_reduce_sum(torch.tensor([1.0 if flag else 0.0], dtype=torch.float64)) > 0)


def same_on_all_ranks(value: int) -> bool:
    """Whether the integer ``value`` is the same on every rank."""
    if not active():
        return True
    t = torch.tensor([value, -value], dtype=torch.float64, device=_comm_device())
    torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX)
    return int(t[0]) == -int(t[1])


def broadcast_tensor(t: torch.Tensor) -> torch.Tensor:
    """Rank 0's ``t`` (same shape and dtype on every rank) on every rank (a new tensor)."""
    if not active():
        return t
    buf = t.detach().to(_comm_device(), copy=True)
    torch.distributed.broadcast(buf, src=0)
    return buf.to(t.device)


def broadcast_int(value: int) -> int:
    """Rank 0's ``value`` on every rank."""
    return int(broadcast_tensor(torch.tensor([value], dtype=torch.int64))[0])


def all_gather_tensor(t: torch.Tensor) -> list[torch.Tensor]:
    """Every rank's ``t`` (same shape and dtype on every rank), in rank order, on the CPU."""
    if not active():
        return [t.detach().cpu()]
    buf = t.detach().to(_comm_device(), copy=True)
    out = [torch.empty_like(buf) for _ in range(world_size())]
    torch.distributed.all_gather(out, buf)
    return [o.cpu() for o in out]


def barrier() -> None:
    """Wait until every rank gets here."""
    if active():
        torch.distributed.barrier()


def on_main_first(fn: Callable[[], T], what: str) -> T:
    """``fn()`` on rank 0 alone, then on the other ranks (``fn`` may create or repair
    files that every rank then reads). If it fails on rank 0, every rank raises (rank 0 its
    own error; the others a ConfigError naming ``what``), so no rank waits for the rest."""
    if not active():
        return fn()
    main, failed, result = is_main_process(), None, None
    if main:
        try:
            result = fn()
        except Exception as err:  # re-raised below, after every rank knows
            failed = err
    if broadcast_int(int(failed is not None)):
        if failed is not None:
            raise failed
        raise ConfigError(f"{what} failed on rank 0 (its error says why)")
    return result if main else fn()


# ------------------------------------------------------------------ sharding
def _seed_from_rank0() -> int:
    """A seed drawn from rank 0's torch generator (each rank draws, rank 0's is kept, so the
    ranks' generators advance alike)."""
    return broadcast_int(int(torch.randint(0, 2**62, (1,))))


def _sync_generator(gen: torch.Generator | None) -> torch.Generator:
    """``gen`` with rank 0's state on every rank (a new generator seeded from rank 0 when
    ``gen`` is None: the order must not come from the ranks' own global generators)."""
    if gen is None:
        return torch.Generator().manual_seed(_seed_from_rank0())
    gen.set_state(broadcast_tensor(gen.get_state()))
    return gen


def _sync_order(loader: Any) -> None:
    """Give a sharded loader rank 0's shuffling state: its ``generator`` (created when None
    and it shuffles) and its ``seed`` (drawn on rank 0 when None)."""
    if hasattr(loader, "generator") and not isinstance(loader, torch.utils.data.DataLoader):
        if loader.generator is not None or getattr(loader, "shuffle", False):
            loader.generator = _sync_generator(loader.generator)
    if hasattr(loader, "seed"):
        seed = loader.seed
        loader.seed = broadcast_int(_seed_from_rank0() if seed is None else int(seed))


class ShardedBatchSampler(torch.utils.data.Sampler[list[int]]):
    """Rank ``rank``'s part of each batch of ``batch_sampler`` (:func:`shard_batch`)."""

    def __init__(self, batch_sampler: Iterable[list[int]], rank: int, world_size: int,
                 pad: bool = True) -> None:
        self.batch_sampler, self.rank, self.world_size, self.pad = (batch_sampler, rank,
                                                                    world_size, pad)

    @property
    def sampler(self) -> Any:
        """The wrapped batch sampler's sampler (whose generator a checkpoint saves)."""
        return getattr(self.batch_sampler, "sampler", None)

    def __iter__(self) -> Iterator[list[int]]:
        from rnnkit.data.batching import shard_batch

        for b in self.batch_sampler:
            part = shard_batch(b, self.rank, self.world_size, self.pad)
            if len(part):
                yield part.tolist()

    def __len__(self) -> int:
        return len(self.batch_sampler)  # type: ignore[arg-type]


def _dataloader_like(loader: torch.utils.data.DataLoader, batch_sampler: Any
                     ) -> torch.utils.data.DataLoader:
    """A DataLoader like ``loader`` (dataset, collation, workers) over ``batch_sampler``."""
    kw = {name: getattr(loader, name) for name in (
        "num_workers", "collate_fn", "pin_memory", "timeout", "worker_init_fn",
        "multiprocessing_context", "generator", "prefetch_factor", "persistent_workers",
        "pin_memory_device", "in_order") if hasattr(loader, name)}
    return torch.utils.data.DataLoader(loader.dataset, batch_sampler=batch_sampler, **kw)


def _shard_dataloader(loader: torch.utils.data.DataLoader, rank_: int, world: int,
                      training: bool) -> Any:
    from torch.utils.data import BatchSampler, DistributedSampler, RandomSampler

    bs = loader.batch_sampler
    inner = getattr(bs, "sampler", None)
    if isinstance(loader.sampler, DistributedSampler) or isinstance(inner, DistributedSampler):
        return loader  # sharded by its caller
    if callable(getattr(bs, "shard", None)):
        sharded = bs.shard(rank_, world, training=training)
        _sync_order(sharded)
        return _dataloader_like(loader, sharded)
    if type(bs) is BatchSampler:
        sampler = bs.sampler
        if isinstance(sampler, RandomSampler):
            gen = _sync_generator(sampler.generator)
            if gen is not sampler.generator:
                sampler = RandomSampler(sampler.data_source, sampler.replacement,
                                        sampler.num_samples, generator=gen)
        size = bs.batch_size * world if training else bs.batch_size
        global_batches = BatchSampler(sampler, size, bs.drop_last)
        return _dataloader_like(loader, ShardedBatchSampler(global_batches, rank_, world,
                                                            pad=training))
    return None


def shard_loader(loader: Any, training: bool = True) -> Any:
    """This rank's part of ``loader`` (``loader`` itself when not :func:`active`).

    ``training=True``: the batches one process would draw with W x ``batch_size``, each
    split over the ranks (rank ``r`` takes positions ``r, r + W, ...``) and padded so
    every rank gets as many samples and steps; ``training=False`` (evaluation): each of
    the loader's own batches split, without padding.

    Known: loaders with a ``shard(rank, world_size, training=...)`` method
    (:class:`~rnnkit.train.batches.ArrayBatches`, ``TokenStream``, ``BucketBatchSampler``,
    the seq2seq ``PairBatches``), and DataLoaders with a ``BatchSampler`` or a batch
    sampler with ``shard`` (a DataLoader over a ``DistributedSampler`` is taken as it is).
    Any other loader is read whole by every rank (with a warning); then every rank must
    get the same number of batches.
    """
    if not active():
        return loader
    r, w = rank(), world_size()
    if callable(getattr(loader, "shard", None)):
        sharded = loader.shard(r, w, training=training)
        _sync_order(sharded)
        return sharded
    if isinstance(loader, torch.utils.data.DataLoader):
        sharded = _shard_dataloader(loader, r, w, training)
        if sharded is not None:
            return sharded
    if is_main_process():
        warnings.warn(f"{type(loader).__name__} cannot be split over the {w} processes: every "
                      f"rank reads all of it (give it a DistributedSampler, or a shard() "
                      f"method)", UserWarning, stacklevel=3)
    return loader


def shallow_copy(obj: T, **changes: Any) -> T:
    """A shallow copy of ``obj`` with attributes changed (for the loaders' ``shard``)."""
    out = copy.copy(obj)
    for name, value in changes.items():
        setattr(out, name, value)
    return out


__all__ = ["ENV_KEYS", "ShardedBatchSampler", "active", "all_gather_tensor", "all_reduce_sum",
           "any_rank", "barrier", "broadcast_int", "broadcast_tensor", "destroy_process_group",
           "init_process_group", "is_initialized", "is_main_process", "launched",
           "local_device", "on_main_first", "rank", "same_on_all_ranks", "shallow_copy",
           "shard_loader", "world_size"]
