"""Exact resume: the training checkpoint a killed ``Trainer.fit`` continues from.

``Trainer.fit(..., checkpoint=DIR, checkpoint_every=N, resume=True)`` writes the state of
training to ``DIR`` every ``N`` epochs and once more when training ends; with
``resume=True`` a later call with the same settings continues from what ``DIR`` holds, and
ends with the weights and history an uninterrupted run would have had (bit for bit on the
CPU)::

    DIR/
      .rnnkit              marker: written whole by rnnkit.fileio.atomic_directory
      trainer.json         {"format": "rnnkit.checkpoint", "format_version": 1,
                            "epoch": epochs done, "step": optimiser steps done,
                            "finished": bool, "fingerprint": {...}, "state": {...}}
      model.safetensors    the model's state dict (tied tensors stored under each name)
      state.safetensors    every other tensor, named by its place in "state"

``state`` holds everything else that decides what happens next, as JSON with its tensors
moved to ``state.safetensors``: the optimiser's state dict, the learning-rate scheduler's,
the fp16 gradient scaler's, the history so far, every random generator (Python's
``random``, NumPy's global one, torch's CPU generator and each CUDA device's), the data
order of the training loader (:func:`loader_state`) and the state of each callback that has
one (``state_dict()`` / ``load_state_dict(state)``: EarlyStopping's best value, epoch,
wait and best weights; ModelCheckpoint's best value). The NaN guard's last finite weights
are the checkpoint's weights (the guard copies the weights after every finite epoch, and
a checkpoint is written after that copy), stored apart only when a callback changed the
weights after the copy. No pickle: a checkpoint is read without running code.

Checkpoints are written at epoch boundaries, after every callback's ``on_epoch_end``, so
the random generators hold exactly the state the next epoch starts from. A kill at any
moment (also during a write) leaves the previous complete checkpoint or the new one.

Data-parallel training (:mod:`rnnkit.train.distributed`): rank 0 writes the checkpoint
(with every rank's torch generator, ``rng_ranks``, so each rank's dropout goes on as it
would have), every rank reads it back; the folder must be one that every rank sees (a
shared file system when the ranks are on several machines), and the number of processes
is part of the settings (``world_size``).

Data order. A loader is resumable when its order for epoch ``e`` is restored with its
state: :class:`~rnnkit.train.batches.ArrayBatches` saves its generator;
``BucketBatchSampler`` and the seq2seq ``PairBatches`` count their epochs (their order is a
function of the seed and the epoch); a ``torch.utils.data.DataLoader`` saves its generator
and its samplers'; a loader without randomness (``TokenStream``) needs nothing; any other
loader drawing from torch's global generator is covered by the global states.

Settings. The checkpoint stores a fingerprint of the run (:func:`fingerprint`): epochs, the
model's class and parameter layout, loss, optimiser and its hyperparameters, scheduler,
metrics, clipping, precision, the stateful callbacks, a digest of the training and
validation data, and the caller's ``settings`` (``Sequential.fit``'s batch size and
shuffling, an estimator's parameters). Resuming with any of them changed raises
:class:`~rnnkit.errors.ConfigError` naming the first key that differs and both values.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import safetensors
import safetensors.torch
import torch

from rnnkit.errors import ConfigError, DataError
from rnnkit.train import distributed

if TYPE_CHECKING:
    from rnnkit.train.callbacks.base import Callback
    from rnnkit.train.history import History
    from rnnkit.train.trainer import Trainer

log = logging.getLogger(__name__)

FORMAT = "rnnkit.checkpoint"
FORMAT_VERSION = 1
STATE_NAME = "trainer.json"
MODEL_NAME = "model.safetensors"
TENSORS_NAME = "state.safetensors"

# ------------------------------------------------------------------ JSON + tensors encoding
# A state (nested dicts, lists, tuples, numbers, strings, tensors, NumPy arrays) becomes
# JSON: a tensor becomes {"__tensor__": name} and goes to the tensor file under that name;
# a tuple {"__tuple__": [...]}; a non-finite float {"__float__": "nan" | "inf" | "-inf"};
# a NumPy array {"__ndarray__": dtype, "data": [...]}; a dict with a key that is not a
# plain string {"__items__": [[key, value], ...]}.


def encode(obj: Any, tensors: dict[str, torch.Tensor], name: str) -> Any:
    """``obj`` as JSON, its tensors copied (on the CPU) into ``tensors`` under ``name/...``."""
    if isinstance(obj, torch.Tensor):
        tensors[name] = obj.detach().to("cpu", copy=True).contiguous()
        return {"__tensor__": name}
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else {"__float__": repr(obj)}
    if isinstance(obj, np.ndarray):
        return {"__ndarray__": obj.dtype.str, "shape": list(obj.shape),
                "data": obj.reshape(-1).tolist()}
    if isinstance(obj, np.generic):
        return encode(obj.item(), tensors, name)
    if isinstance(obj, tuple):
        return {"__tuple__": [encode(v, tensors, f"{name}/{i}") for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [encode(v, tensors, f"{name}/{i}") for i, v in enumerate(obj)]
    if isinstance(obj, dict):
        if all(isinstance(k, str) and not k.startswith("__") for k in obj):
            return {k: encode(v, tensors, f"{name}/{k}") for k, v in obj.items()}
        return {"__items__": [[encode(k, tensors, f"{name}/key{i}"),
                               encode(v, tensors, f"{name}/{k}")]
                              for i, (k, v) in enumerate(obj.items())]}
    raise TypeError(f"{name}: a checkpoint cannot hold a {type(obj).__name__}")


def decode(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """The inverse of :func:`encode` (KeyError for a tensor the file lacks)."""
    if isinstance(obj, list):
        return [decode(v, tensors) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if "__tensor__" in obj:
        return tensors[obj["__tensor__"]]
    if "__tuple__" in obj:
        return tuple(decode(v, tensors) for v in obj["__tuple__"])
    if "__float__" in obj:
        return float(obj["__float__"])
    if "__ndarray__" in obj:
        return np.asarray(obj["data"], dtype=np.dtype(obj["__ndarray__"])).reshape(obj["shape"])
    if "__items__" in obj:
        return {decode(k, tensors): decode(v, tensors) for k, v in obj["__items__"]}
    return {k: decode(v, tensors) for k, v in obj.items()}


# ------------------------------------------------------------------ random generators
def rng_state() -> dict[str, Any]:
    """The states of Python's ``random``, NumPy's global generator and torch's (CPU, CUDA)."""
    state = {"python": random.getstate(), "numpy": np.random.get_state(),  # noqa: NPY002
             "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Put back what :func:`rng_state` returned."""
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])  # noqa: NPY002 - the legacy global generator
    torch.set_rng_state(state["torch"])
    cuda = state.get("cuda")
    if cuda is not None and torch.cuda.is_available():
        if len(cuda) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(list(cuda))
        else:
            log.warning("the checkpoint has the CUDA generators of %d devices, this machine "
                        "%d: they are not restored", len(cuda), torch.cuda.device_count())


# ------------------------------------------------------------------ data order
def _sampler_state(obj: Any, seen: set[int]) -> dict[str, Any] | None:
    if obj is None:
        return None
    if callable(getattr(obj, "state_dict", None)):
        return {"state": obj.state_dict()}
    gen = getattr(obj, "generator", None)
    if isinstance(gen, torch.Generator) and id(gen) not in seen:
        seen.add(id(gen))
        return {"generator": gen.get_state()}
    return None


def loader_state(loader: Iterable) -> dict[str, Any] | None:
    """What fixes the order of ``loader``'s next epochs (None: nothing beyond the global
    generators): its ``state_dict()``, or a DataLoader's generator and samplers' states."""
    if callable(getattr(loader, "state_dict", None)):
        return {"state": loader.state_dict()}
    if isinstance(loader, torch.utils.data.DataLoader):
        seen: set[int] = set()
        out = {}
        gen = loader.generator
        if isinstance(gen, torch.Generator):
            seen.add(id(gen))
            out["generator"] = gen.get_state()
        for name in ("sampler", "batch_sampler"):
            s = _sampler_state(getattr(loader, name, None), seen)
            if s is not None:
                out[name] = s
        inner = getattr(loader.batch_sampler, "sampler", None)  # BatchSampler(RandomSampler)
        s = _sampler_state(inner, seen) if inner is not loader.sampler else None
        if s is not None:
            out["batch_sampler.sampler"] = s
        return out
    return None


def _load_sampler_state(obj: Any, state: dict[str, Any]) -> None:
    if "state" in state:
        obj.load_state_dict(state["state"])
    elif "generator" in state:
        obj.generator.set_state(state["generator"])


def load_loader_state(loader: Iterable, state: dict[str, Any] | None) -> None:
    """Put back what :func:`loader_state` returned."""
    if not state:
        return
    if "state" in state:
        loader.load_state_dict(state["state"])
        return
    if "generator" in state:
        loader.generator.set_state(state["generator"])
    for name in ("sampler", "batch_sampler"):
        if name in state:
            _load_sampler_state(getattr(loader, name), state[name])
    if "batch_sampler.sampler" in state:
        _load_sampler_state(loader.batch_sampler.sampler, state["batch_sampler.sampler"])


# ------------------------------------------------------------------ callbacks
def _callback_keys(callbacks: Sequence[Callback]) -> list[tuple[str, Callback]]:
    """``("EarlyStopping.0", cb)`` for each callback with a state (numbered per class)."""
    counts: dict[str, int] = {}
    out = []
    for cb in callbacks:
        if callable(getattr(cb, "state_dict", None)):
            name = type(cb).__name__
            out.append((f"{name}.{counts.get(name, 0)}", cb))
            counts[name] = counts.get(name, 0) + 1
    return out


# ------------------------------------------------------------------ fingerprint
def _plain(value: Any) -> Any:
    """A JSON value for the fingerprint: names for callables, lists for tuples."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return _plain(value.item())
    if isinstance(value, torch.Tensor):
        return _plain(value.item()) if value.numel() == 1 else f"tensor{tuple(value.shape)}"
    name = getattr(value, "__qualname__", None) or getattr(value, "__name__", None)
    return name if isinstance(name, str) else type(value).__name__


def _hash_into(h: Any, obj: Any) -> None:
    if isinstance(obj, torch.Tensor):
        t = obj.detach().to("cpu").contiguous()
        h.update(f"T{t.dtype}{tuple(t.shape)}".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy())  # no copy of the bytes
    elif isinstance(obj, np.ndarray):
        a = np.ascontiguousarray(obj)
        h.update(f"A{a.dtype.str}{a.shape}".encode())
        if a.dtype == object:
            for v in a.reshape(-1):
                _hash_into(h, v)
        else:
            h.update(a.reshape(-1).view(np.uint8))
    elif isinstance(obj, dict):
        for k in sorted(obj, key=str):
            h.update(f"K{k}".encode())
            _hash_into(h, obj[k])
    elif isinstance(obj, (list, tuple)):
        h.update(f"L{len(obj)}".encode())
        for v in obj:
            _hash_into(h, v)
    else:
        h.update(f"V{obj!r}".encode())


def data_digest(loader: Iterable | None) -> str | None:
    """A digest of the samples a loader serves (None when it keeps them out of sight).

    Known: ArrayBatches (``x``, ``y``), TokenStream (``inputs``, ``targets``), PairBatches
    (``enc``), and a DataLoader whose dataset keeps ``seqs``/``y`` (PaddedDataset) or
    ``tensors`` (TensorDataset).
    """
    if loader is None:
        return None
    parts: list[Any] | None = None
    dataset = getattr(loader, "dataset", None)
    if hasattr(loader, "x") and hasattr(loader, "y"):
        parts = [loader.x, loader.y]
    elif hasattr(loader, "inputs") and hasattr(loader, "targets"):
        parts = [loader.inputs, loader.targets]
    elif hasattr(loader, "enc"):
        enc = loader.enc
        parts = [list(enc) if isinstance(enc, tuple) else vars(enc)]
    elif hasattr(dataset, "seqs"):
        parts = [list(dataset.seqs), getattr(dataset, "y", None)]
    elif hasattr(dataset, "tensors"):
        parts = [list(dataset.tensors)]
    if parts is None:
        return None
    h = hashlib.blake2b(digest_size=16)
    _hash_into(h, parts)
    return h.hexdigest()


def fingerprint(trainer: Trainer, epochs: int, train_loader: Iterable,
                val_loader: Iterable | None, callbacks: Sequence[Callback],
                settings: dict[str, Any] | None) -> dict[str, Any]:
    """The settings a checkpoint must have been written with to be resumed (flat dict)."""
    model, opt = trainer.model, trainer.optimizer
    layout = hashlib.blake2b(digest_size=8)
    for name, p in model.state_dict().items():
        layout.update(f"{name}:{tuple(p.shape)}:{p.dtype};".encode())
    fp: dict[str, Any] = {"epochs": epochs}  # the caller's settings next: the clearest names
    for key, value in (settings or {}).items():
        fp[f"settings.{key}"] = _plain(value)
    fp.update({
        "model": f"{type(model).__name__} ({sum(p.numel() for p in model.parameters())} "
                 f"parameters, layout {layout.hexdigest()})",
        "loss": _plain(trainer.loss_fn),
        "optimizer": type(opt).__name__,
        **{f"optimizer.{k}": _plain(v) for k, v in sorted(opt.defaults.items())},
        "optimizer.groups": [len(g["params"]) for g in opt.param_groups],
        "scheduler": None if trainer.scheduler is None else type(trainer.scheduler).__name__,
        "metrics": [m.name for m in trainer.metrics],
        "clip_grad_norm": trainer.clip_grad_norm,
        "precision": trainer.precision,
        "carry_state": trainer._step.carry,
        "terminate_on_nan": trainer.terminate_on_nan,
        "callbacks": [key for key, _ in _callback_keys(callbacks)],
        "batches": _len_or_none(train_loader),
        "training data": data_digest(train_loader),
        "validation data": data_digest(val_loader),
    })
    if distributed.world_size() > 1:  # absent from single-process checkpoints, as before
        fp["world_size"] = distributed.world_size()
    return fp


def _len_or_none(loader: Iterable) -> int | None:
    try:
        return len(loader)  # type: ignore[arg-type]
    except TypeError:
        return None


def check_fingerprint(saved: dict[str, Any], now: dict[str, Any], where: Path) -> None:
    """ConfigError naming the first setting that differs between ``saved`` and ``now``."""
    for key in [*now, *(k for k in saved if k not in now)]:
        old, new = saved.get(key, "(not set)"), now.get(key, "(not set)")
        if old != new:
            raise ConfigError(
                f"checkpoint {where} was written with {key}={old!r}, this run has "
                f"{key}={new!r}; resume with the settings it was written with, or give "
                f"another checkpoint folder (or remove this one) to start over")


# ------------------------------------------------------------------ the folder
@dataclass
class Checkpoint:
    """A checkpoint as read back: ``epoch`` epochs done, ``state`` decoded (tensors in it)."""

    path: Path
    epoch: int
    step: int
    finished: bool
    fingerprint: dict[str, Any]
    model: dict[str, torch.Tensor]
    state: dict[str, Any]


class Checkpointer:
    """Writes the checkpoint folder ``directory`` every ``every`` epochs and reads it back.

    Created by ``Trainer.fit(checkpoint=..., checkpoint_every=...)``; the folder is
    checked at once (a folder holding files rnnkit did not write is refused, ConfigError),
    so a bad path fails before training.
    """

    def __init__(self, directory: str | os.PathLike, every: int = 1) -> None:
        from rnnkit.fileio import check_output_dir

        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ConfigError(f"checkpoint_every must be a positive int, got {every!r}")
        self.every = every
        # also completes a swap a kill cut: rank 0 first, alone, when data-parallel
        self.directory = distributed.on_main_first(lambda: check_output_dir(directory),
                                                   f"checking checkpoint folder {directory}")
        self.fingerprint: dict[str, Any] = {}

    def due(self, epoch: int) -> bool:
        """Whether the end of ``epoch`` (0-based) is a checkpoint."""
        return (epoch + 1) % self.every == 0

    def exists(self) -> bool:
        return (self.directory / STATE_NAME).is_file()

    # -- write ------------------------------------------------------------------------------
    def save(self, trainer: Trainer, epoch: int, callbacks: Sequence[Callback],
             train_loader: Iterable, finite: dict[str, torch.Tensor] | None,
             finished: bool = False) -> None:
        """Write the state after ``epoch`` epochs (atomically replacing the folder).

        Data-parallel: called on every rank (they send rank 0 their generators), rank 0
        writes."""
        from rnnkit.fileio import atomic_directory, write_json

        rng_ranks = _rank_generators(trainer.device)
        if not distributed.is_main_process():
            return
        weights = trainer.model.state_dict()
        state: dict[str, Any] = {
            "optimizer": trainer.optimizer.state_dict(),
            "scheduler": None if trainer.scheduler is None else trainer.scheduler.state_dict(),
            "grad_scaler": None if trainer.scaler is None else trainer.scaler.state_dict(),
            "history": _history_state(trainer.history),
            "rng": rng_state(),
            "loader": loader_state(train_loader),
            "callbacks": {key: cb.state_dict() for key, cb in _callback_keys(callbacks)},
            "finite": None if finite is None or _same(finite, weights) else finite,
        }
        if rng_ranks is not None:
            state["rng_ranks"] = rng_ranks
        tensors: dict[str, torch.Tensor] = {}
        model = {k: v.detach().to("cpu", copy=True).contiguous() for k, v in weights.items()}
        try:
            doc = {"format": FORMAT, "format_version": FORMAT_VERSION, "epoch": epoch,
                   "step": trainer.global_step, "finished": finished,
                   "fingerprint": self.fingerprint, "state": encode(state, tensors, "state")}
        except TypeError as err:
            raise ConfigError(f"cannot write checkpoint {self.directory}: {err}") from err
        with atomic_directory(self.directory, what="checkpoint") as tmp:
            safetensors.torch.save_file(model, str(tmp / MODEL_NAME))
            safetensors.torch.save_file(tensors, str(tmp / TENSORS_NAME))
            write_json(tmp / STATE_NAME, doc)
        log.info("epoch %d: checkpoint written to %s", epoch, self.directory)

    # -- read -------------------------------------------------------------------------------
    def load(self) -> Checkpoint | None:
        """The checkpoint in the folder, None if it holds none; DataError if it is damaged,
        ConfigError if it was written with other settings than ``self.fingerprint``."""
        from rnnkit.data.checks import read_bytes
        from rnnkit.train.saving import read_header

        where = self.directory / STATE_NAME
        if not os.path.lexists(where):
            return None
        try:
            doc = json.loads(read_bytes(where, "checkpoint file").decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as err:
            raise DataError(f"checkpoint file {str(where)!r} is not JSON: {err}") from None
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise DataError(f"{where} is not an rnnkit training checkpoint")
        if doc.get("format_version") != FORMAT_VERSION:
            raise DataError(f"{where} has checkpoint format version "
                            f"{doc.get('format_version')!r}; this rnnkit reads version "
                            f"{FORMAT_VERSION}")
        saved_fp = doc.get("fingerprint")
        if not isinstance(saved_fp, dict):
            raise DataError(f"{where} has no settings fingerprint")
        check_fingerprint(saved_fp, self.fingerprint, self.directory)
        files = {}
        for name in (MODEL_NAME, TENSORS_NAME):
            path = self.directory / name
            read_header(path)  # DataError naming the file if it is missing or damaged
            try:
                files[name] = safetensors.torch.load_file(str(path))
            except (safetensors.SafetensorError, OSError, RuntimeError, ValueError) as err:
                raise DataError(f"checkpoint file {str(path)!r} is corrupt: {err}") from None
        try:
            epoch, step = doc["epoch"], doc["step"]
            if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0
                       for v in (epoch, step)):
                raise ValueError(f"epoch and step must be ints >= 0, got {epoch!r}, {step!r}")
            state = decode(doc["state"], files[TENSORS_NAME])
            if not isinstance(state, dict):
                raise TypeError("'state' is not an object")
        except (KeyError, TypeError, ValueError) as err:
            raise DataError(f"{where} is damaged: {type(err).__name__}: {err}") from None
        return Checkpoint(self.directory, epoch, step, bool(doc.get("finished")), saved_fp,
                          files[MODEL_NAME], state)

    # -- restore ----------------------------------------------------------------------------
    def restore(self, trainer: Trainer, ckpt: Checkpoint, callbacks: Sequence[Callback],
                train_loader: Iterable) -> dict[str, torch.Tensor] | None:
        """Put the state of ``ckpt`` into ``trainer``, its callbacks and the loader.

        Returns the NaN guard's finite weights when they differ from the model's.
        """
        s = ckpt.state
        try:
            _load_weights(trainer.model, ckpt.model)
            _set_history(trainer.history, s["history"])
            if ckpt.finished:
                return None
            trainer.optimizer.load_state_dict(_tuples_like(s["optimizer"],
                                                           trainer.optimizer.state_dict()))
            if trainer.scheduler is not None:
                trainer.scheduler.load_state_dict(s["scheduler"])
            if trainer.scaler is not None and s.get("grad_scaler") is not None:
                trainer.scaler.load_state_dict(s["grad_scaler"])
            states = s["callbacks"]
            for key, cb in _callback_keys(callbacks):
                cb.load_state_dict(states[key])
            load_loader_state(train_loader, s["loader"])
            set_rng_state(s["rng"])
            _set_rank_generators(s.get("rng_ranks"), trainer.device)
        except (KeyError, TypeError, ValueError, RuntimeError, IndexError,
                AttributeError) as err:
            raise DataError(f"checkpoint {ckpt.path} does not fit this run: "
                            f"{type(err).__name__}: {str(err)[:300]}") from None
        trainer.global_step = ckpt.step
        return s.get("finite")


def _rank_generators(device: torch.device) -> dict[str, list[torch.Tensor]] | None:
    """Data-parallel: every rank's torch generator (and the training GPU's), in rank order
    (a collective: every rank calls it); None in a single process."""
    if not distributed.active():
        return None
    out = {"torch": distributed.all_gather_tensor(torch.get_rng_state())}
    if device.type == "cuda":
        out["cuda"] = distributed.all_gather_tensor(torch.cuda.get_rng_state(device))
    return out


def _set_rank_generators(states: dict[str, list[torch.Tensor]] | None,
                         device: torch.device) -> None:
    """Put back this rank's generators from what :func:`_rank_generators` gathered."""
    if not states or not distributed.active():
        return
    r = distributed.rank()
    torch.set_rng_state(states["torch"][r])
    if device.type == "cuda" and "cuda" in states:
        torch.cuda.set_rng_state(states["cuda"][r], device)


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _load_weights(model: torch.nn.Module, tensors: dict[str, torch.Tensor]) -> None:
    with torch.no_grad():
        model.load_state_dict(tensors, strict=True)


def _tuples_like(saved: Any, live: Any) -> Any:
    """``saved`` with the lists that are tuples in ``live`` (an optimiser's param groups:
    ``betas``) turned back into tuples."""
    if isinstance(saved, dict) and isinstance(live, dict):
        return {k: _tuples_like(v, live.get(k)) for k, v in saved.items()}
    if isinstance(saved, list) and isinstance(live, (list, tuple)):
        items = [_tuples_like(v, live[i] if i < len(live) else None)
                 for i, v in enumerate(saved)]
        return tuple(items) if isinstance(live, tuple) else items
    return saved


def _history_state(history: History) -> dict[str, Any]:
    return {"epoch": list(history.epoch), "history": {k: list(v) for k, v in
                                                      history.history.items()},
            "diverged": history.diverged}


def _set_history(history: History, state: dict[str, Any]) -> None:
    history.epoch = [int(e) for e in state["epoch"]]
    history.history = {str(k): [float(v) for v in vs] for k, vs in state["history"].items()}
    history.diverged = state["diverged"]


__all__ = ["Checkpoint", "Checkpointer", "check_fingerprint", "data_digest", "decode",
           "encode", "fingerprint", "load_loader_state", "loader_state", "rng_state",
           "set_rng_state"]
