"""``Trainer``: the fit loop for any ``nn.Module`` and any iterable of ``(inputs, targets)``.

One training step (per batch of B samples)::

    pred = model(inputs)            # or model(**inputs) when inputs is a dict
    loss = loss_fn(pred, targets)   # a scalar: the batch mean
    zero_grad; loss.backward(); clip_grad_norm_(params, clip) if set; optimizer.step()

The epoch's ``loss`` is sum_b B_b * loss_b / sum_b B_b (the exact mean over the samples for
mean-reduced losses, taken while the weights move, as Keras reports it). Sums are kept as
tensors on the device and read back once per epoch: the loop adds no host-device
synchronisation per batch. Validation runs in ``eval()`` mode under ``torch.no_grad()``
after each epoch; its keys get the prefix ``val_``. ``lr`` is the learning rate used during
the epoch; a learning-rate scheduler steps after validation.

Divergence is a failure, never a result: an epoch whose training loss is NaN or infinite
ends training (``terminate_on_nan=True``, the default), the weights of the last finite epoch
(or the initial ones) are put back, and ``history.diverged`` says at which epoch it
happened (``None`` when it did not). The epoch's NaN logs are not recorded as a result.

Truncated BPTT with carried state (``carry_state=True``, for language models): the model is
called as ``model(inputs, state)`` and returns ``(output, state)``; the state goes from one
batch to the next with its graph cut (``detach``), and starts empty at every epoch and every
``evaluate``.

Batches are ``(inputs, targets)`` pairs; inputs are a tensor or a dict of tensors. A
DataLoader works as is (tensors are moved to the device with ``non_blocking=True``); for
in-memory arrays :class:`~rnnkit.train.batches.ArrayBatches` avoids the DataLoader's
per-sample overhead.

Mixed precision (``precision="bf16"`` or ``"fp16"``): the forward pass and the loss run under
``torch.autocast`` on the training device (weights, gradients and optimiser state stay in
their own dtype, float32 as a rule), in ``fit`` and ``evaluate``; ``"fp16"`` also scales the
loss with a ``torch.amp.GradScaler`` so small gradients survive (steps whose gradients
overflow are skipped). ``"fp32"`` (the default) runs exactly as without the option.

Exact resume: ``fit(..., checkpoint=DIR, checkpoint_every=N, resume=True)`` writes the whole
state of training to ``DIR`` every N epochs and when training ends, and a later call with
the same settings continues from it as if never interrupted (:mod:`rnnkit.train.resume`).

Data-parallel training (:mod:`rnnkit.train.distributed`): run the same script under
``torchrun --nproc-per-node W``; the Trainer joins the process group (gloo on the CPU,
NCCL on CUDA, where ``cuda`` means ``cuda:LOCAL_RANK``), trains through
``DistributedDataParallel`` and gives each rank its part of every batch: the batch size is
per process, a step sees W of them. The epoch's sums (training and validation) are
all-reduced in the epoch's one sync, so every rank has the global history; only rank 0
writes checkpoints, logs and progress. ``evaluate`` and ``predict`` called by the user run
on the calling rank alone, over the whole loader.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.optim.lr_scheduler import ReduceLROnPlateau

from rnnkit.errors import ConfigError
from rnnkit.train import distributed
from rnnkit.train.batches import CPU_KEYS
from rnnkit.train.callbacks.base import Callback, overrides
from rnnkit.train.history import History
from rnnkit.train.metrics import Metric, get_loss, get_metrics
from rnnkit.train.mixup import Mixup, check_alpha
from rnnkit.train.optim import current_lr, get_optimizer, get_scheduler
from rnnkit.train.resume import Checkpointer, fingerprint

log = logging.getLogger(__name__)

#: ``precision`` -> the autocast dtype (None: no autocast).
PRECISIONS: dict[str, torch.dtype | None] = {
    "fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16,
}


def resolve_device(device: str | torch.device) -> torch.device:
    """``torch.device`` from a name; ``"auto"`` picks CUDA when available, else the CPU."""
    if isinstance(device, str) and device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(
            f"device must be 'cpu', 'cuda', 'cuda:N' or 'auto', got {device!r}"
        ) from err
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} is not available: torch.cuda.is_available() is False")
    return dev


def to_device(obj: Any, device: torch.device) -> Any:
    """Move a tensor, or the tensors of a dict/list/tuple, to ``device`` (CPU_KEYS stay)."""
    if isinstance(obj, torch.Tensor):
        return obj.to(device, non_blocking=True)
    if isinstance(obj, dict):
        return {k: (v if k in CPU_KEYS else to_device(v, device)) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_device(v, device) for v in obj)
    return obj


def split_batch(batch: Any) -> tuple[Any, Any]:
    """``(inputs, targets)`` from a batch: a pair, a 1-tuple, or bare inputs (targets None)."""
    if isinstance(batch, (tuple, list)):
        if len(batch) == 2:
            return batch[0], batch[1]
        if len(batch) == 1:
            return batch[0], None
        raise ValueError(
            f"a batch must be (inputs, targets) or (inputs,), got a sequence of {len(batch)}"
        )
    return batch, None


def forward(model: nn.Module, inputs: Any) -> torch.Tensor:
    """``model(**inputs)`` for a dict, else ``model(inputs)``; a tuple output gives its first."""
    out = model(**inputs) if isinstance(inputs, dict) else model(inputs)
    if isinstance(out, (tuple, list)):
        out = out[0]
    return out


def detach_state(state: Any) -> Any:
    """Cut the graph behind a recurrent state (a tensor, or a tuple of them); keep values."""
    if state is None:
        return None
    if isinstance(state, torch.Tensor):
        return state.detach()
    if isinstance(state, tuple):
        items = (detach_state(s) for s in state)
        return type(state)(*items) if hasattr(state, "_fields") else tuple(items)
    if isinstance(state, list):
        return [detach_state(s) for s in state]
    return state


class _Step:
    """Calls the model on a batch; with ``carry`` it threads a detached state through."""

    def __init__(self, model: nn.Module, carry: bool) -> None:
        self.model, self.carry, self.state = model, carry, None

    def reset(self) -> None:
        self.state = None

    def __call__(self, inputs: Any) -> torch.Tensor:
        if not self.carry:
            return forward(self.model, inputs)
        out, state = self.model(inputs, detach_state(self.state))
        self.state = state
        return out


def batch_len(inputs: Any, targets: Any) -> int:
    """Number of samples in a batch (first axis of the targets, else of the inputs)."""
    ref = targets if isinstance(targets, torch.Tensor) else inputs
    if isinstance(ref, dict):
        ref = next(iter(ref.values()))
    return int(ref.shape[0])


def _acc_dtype(device: torch.device) -> torch.dtype:
    return torch.float32 if device.type == "mps" else torch.float64


def predict_batches(model: nn.Module, loader: Iterable, device: torch.device) -> np.ndarray:
    """Concatenate ``model``'s outputs over ``loader`` in eval mode (one copy to the host)."""
    was_training = model.training
    model.eval()
    outs = []
    try:
        with torch.no_grad():
            for batch in loader:
                inputs, _ = split_batch(batch)
                outs.append(forward(model, to_device(inputs, device)).detach())
    finally:
        model.train(was_training)
    if not outs:
        raise ValueError("predict got no batches (empty input)")
    return torch.cat(outs).cpu().numpy()


class Trainer:
    """Train ``model`` with ``loss`` and ``optimizer``; see the module docstring.

    Args:
        model: any ``nn.Module`` whose forward takes the batch inputs.
        loss: a name (``"mse"``, ``"mae"``, ``"huber"``, ``"cross_entropy"``, ``"bce"``) or a
            callable ``f(pred, target) -> scalar tensor``.
        optimizer: a name (``"adam"``, ``"adamw"``, ``"rmsprop"``, ``"sgd"``), an Optimizer
            over ``model``'s parameters, or a callable ``f(params) -> Optimizer``.
        metrics: names (``"mse"``, ``"mae"``, ``"rmse"``, ``"huber"``, ``"cross_entropy"``,
            ``"accuracy"``...) or callables ``f(pred, target) -> batch mean``.
        callbacks: :class:`~rnnkit.train.callbacks.Callback` objects used by every ``fit``.
        clip_grad_norm: if set, rescale gradients so their global L2 norm is at most this.
        lr_schedule: a scheduler, or ``f(optimizer) -> scheduler``; stepped once per epoch.
        device: ``"cpu"`` (default), ``"cuda"``, ``"cuda:N"`` or ``"auto"``; the model is moved.
        lr: learning rate for an optimizer given by name (default: Keras' per optimizer).
        terminate_on_nan: stop at an epoch whose loss is not finite and put back the last
            finite epoch's weights (default True).
        carry_state: truncated BPTT: call ``model(inputs, state) -> (output, state)`` and
            carry the detached state across batches (default False).
        precision: ``"fp32"`` (default), ``"bf16"`` or ``"fp16"``: autocast of the forward
            pass and the loss (fp16 with a gradient scaler); see the module docstring.
        mixup: alpha of mixup's Beta(alpha, alpha) on every training batch of float inputs
            (:mod:`rnnkit.train.mixup`), or None / 0 (default): off.
    """

    def __init__(
        self,
        model: nn.Module,
        loss: str | Callable,
        optimizer: str | torch.optim.Optimizer | Callable,
        metrics: Sequence[str | Callable | Metric] = (),
        callbacks: Sequence[Callback] = (),
        clip_grad_norm: float | None = None,
        lr_schedule: Any = None,
        device: str | torch.device = "cpu",
        *,
        lr: float | None = None,
        terminate_on_nan: bool = True,
        carry_state: bool = False,
        precision: str = "fp32",
        mixup: float | None = None,
    ) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        if clip_grad_norm is not None and (
            isinstance(clip_grad_norm, bool)
            or not isinstance(clip_grad_norm, (int, float))
            or not clip_grad_norm > 0
        ):
            raise ValueError(
                f"clip_grad_norm must be a positive number or None, got {clip_grad_norm!r}"
            )
        if not isinstance(precision, str) or precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(map(repr, PRECISIONS))}, "
                             f"got {precision!r}")
        self.device = distributed.local_device(resolve_device(device))
        distributed.init_process_group(self.device)  # under torchrun; else nothing
        if precision == "fp16" and self.device.type == "cpu":
            warnings.warn("precision='fp16' on the CPU: torch's fused LSTM kernel (oneDNN) "
                          "refuses float16 there; bf16 is the CPU's reduced precision, fp16 "
                          "is meant for CUDA", UserWarning, stacklevel=2)
        self.model = model.to(self.device)
        self.loss_fn = get_loss(loss)
        self.metrics = get_metrics(metrics)
        self.callbacks = _check_callbacks(callbacks)
        self.clip_grad_norm = None if clip_grad_norm is None else float(clip_grad_norm)
        self.optimizer = get_optimizer(optimizer, model.parameters(), lr)
        self.scheduler = get_scheduler(lr_schedule, self.optimizer)
        self.stop_training = False
        self.verbose: str | int = "auto"  # set by Sequential.fit; read by ProgressBar
        self.history = History()
        self.terminate_on_nan = bool(terminate_on_nan)
        self._step = _Step(self.model, bool(carry_state))
        self._params = [p for g in self.optimizer.param_groups for p in g["params"]]
        self.precision = precision
        alpha = check_alpha(mixup)
        self.mixup = None if alpha is None else Mixup(alpha)
        self._amp_dtype = PRECISIONS[precision]
        self.scaler = (torch.amp.GradScaler(self.device.type) if precision == "fp16"
                       else None)
        self.global_step = 0  # optimiser steps taken by the current fit (restored on resume)
        self._ddp: nn.Module | None = None  # DistributedDataParallel(model), made by fit

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self._amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self._amp_dtype)

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        train_loader: Iterable,
        epochs: int = 1,
        val_loader: Iterable | None = None,
        *,
        callbacks: Sequence[Callback] = (),
        checkpoint: str | os.PathLike | None = None,
        checkpoint_every: int = 1,
        resume: bool = False,
        settings: dict[str, Any] | None = None,
    ) -> History:
        """Train for ``epochs`` passes over ``train_loader``; return the :class:`History`.

        Args:
            callbacks: added to the Trainer's own for this call only.
            checkpoint: a folder for the training state (:mod:`rnnkit.train.resume`),
                written every ``checkpoint_every`` epochs and when training ends; None
                (default): none.
            checkpoint_every: epochs between checkpoints (default 1).
            resume: continue from the checkpoint in ``checkpoint`` if it holds one (else
                start from the first epoch); a finished run's checkpoint gives its final
                weights and history at once ("already finished"). A checkpoint written
                with other settings is refused (ConfigError naming the setting). Without
                ``resume`` an existing checkpoint is replaced.
            settings: JSON-able settings of the caller that a resumed run must share
                (compared with the checkpoint's, beside the Trainer's own).
        """
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
            raise ValueError(f"epochs must be a non-negative int, got {epochs!r}")
        if resume and checkpoint is None:
            raise ConfigError("resume=True needs checkpoint=DIR, the folder to resume from")
        cbs = self.callbacks + _check_callbacks(callbacks)
        for cb in cbs:
            cb.set_trainer(self)
        self.stop_training = False
        self.global_step = 0
        data = (train_loader, val_loader)  # as given: what the fingerprint digests
        self._step.model = self.model
        if distributed.active():  # this rank's part of every batch; steps through DDP
            train_loader = distributed.shard_loader(train_loader, training=True)
            if val_loader is not None:
                val_loader = distributed.shard_loader(val_loader, training=False)
            if self._ddp is None:
                self._ddp = distributed.wrap(self.model)
            self._step.model = self._ddp
        main = distributed.is_main_process()
        history = self.history = History()
        history.params = {"epochs": epochs, "steps": _len_or_none(train_loader)}
        ckpt = saved = None
        if checkpoint is not None:
            ckpt = Checkpointer(checkpoint, checkpoint_every)
            ckpt.fingerprint = fingerprint(self, epochs, *data, cbs, settings)
            if resume:
                saved = ckpt.load()
                if not distributed.same_on_all_ranks(-1 if saved is None else saved.epoch):
                    raise ConfigError(f"the ranks read different checkpoints in "
                                      f"{ckpt.directory}: it must be one folder every rank "
                                      f"reads (a shared file system)")
                if saved is None:
                    log.info("no checkpoint in %s yet: training from the first epoch",
                             ckpt.directory)
            elif ckpt.exists() and main:
                log.warning("resume=False: the checkpoint in %s will be replaced",
                            ckpt.directory)
        if saved is not None and saved.finished:
            ckpt.restore(self, saved, cbs, train_loader)
            if main:
                log.warning("checkpoint %s: training already finished after %d epochs; its "
                            "final weights and history are loaded", ckpt.directory,
                            saved.epoch)
            return history
        history.params["initial_epoch"] = 0 if saved is None else saved.epoch  # Keras' name
        for cb in cbs:
            cb.on_train_begin({})
        start, finite = 0, None
        if saved is not None:
            finite = ckpt.restore(self, saved, cbs, train_loader)
            start = saved.epoch
            if main:
                log.warning("resuming from %s after epoch %d of %d", ckpt.directory, start,
                            epochs)
        batch_cbs = [cb for cb in cbs
                     if overrides(cb, "on_batch_end") and getattr(cb, "wants_batches", True)]
        try:
            self._epochs(train_loader, range(start, epochs), val_loader, cbs, batch_cbs,
                         history, ckpt, finite)
        except BaseException:
            for cb in cbs:  # close progress bars and event files, then re-raise
                close = getattr(cb, "close", None)
                if callable(close):
                    close()
            raise
        for cb in cbs:
            cb.on_train_end({"history": history})
        if ckpt is not None:
            ckpt.save(self, len(history.epoch), cbs, train_loader, None, finished=True)
        return history

    def _snapshot(self) -> dict[str, torch.Tensor]:
        return {k: v.detach().clone() for k, v in self.model.state_dict().items()}

    def _epochs(self, train_loader, epochs: range, val_loader, cbs, batch_cbs, history,
                ckpt: Checkpointer | None, finite: dict[str, torch.Tensor] | None) -> None:
        if not epochs:
            return
        if self.terminate_on_nan and finite is None:
            finite = self._snapshot()
        elif not self.terminate_on_nan:
            finite = None
        for epoch in epochs:
            for cb in cbs:
                cb.on_epoch_begin(epoch, {})
            logs = self._train_epoch(train_loader, batch_cbs)
            if not math.isfinite(logs["loss"]):
                log.warning("epoch %d: training loss is %s", epoch, logs["loss"])
                if self.terminate_on_nan:
                    self.model.load_state_dict(finite)
                    history.diverged = epoch
                    log.warning("training diverged at epoch %d; the weights of the last finite "
                                "epoch are restored", epoch)
                    break
            if val_loader is not None:
                logs.update({f"val_{k}": v for k, v in
                             self._evaluate(val_loader, reduce=True).items()})
            logs["lr"] = current_lr(self.optimizer)
            self._step_scheduler(logs)
            if finite is not None:
                finite = self._snapshot()
            history.append(epoch, logs)
            for cb in cbs:
                cb.on_epoch_end(epoch, logs)
            self.stop_training = distributed.any_rank(self.stop_training)  # every rank stops
            if self.stop_training:
                break
            if ckpt is not None and ckpt.due(epoch) and epoch + 1 < epochs.stop:
                ckpt.save(self, epoch + 1, cbs, train_loader, finite)

    def _train_epoch(self, loader: Iterable, batch_cbs: list[Callback]) -> dict[str, float]:
        opt, loss_fn, metrics = self.optimizer, self.loss_fn, self.metrics
        device, clip, params = self.device, self.clip_grad_norm, self._params
        acc = _acc_dtype(device)
        loss_sum = torch.zeros((), dtype=acc, device=device)
        m_sum = [torch.zeros((), dtype=acc, device=device) for _ in metrics]
        m_cnt = [torch.zeros((), dtype=acc, device=device) for _ in metrics]
        count = 0
        step, scaler = self._step, self.scaler
        step.model.train()  # the model, or DDP around it
        step.reset()
        lockstep = distributed.active()  # every rank takes every step (DDP's collectives)
        for i, batch in enumerate(loader):
            inputs, targets = split_batch(batch)
            inputs, targets = to_device(inputs, device), to_device(targets, device)
            if self.mixup is not None:
                inputs, lam, perm = self.mixup.mix(inputs)
            with self._autocast():
                pred = step(inputs)
                if self.mixup is None:
                    loss = loss_fn(pred, targets)
                else:
                    loss = self.mixup.loss(loss_fn, pred, targets, lam, perm)
            opt.zero_grad(set_to_none=True)
            if scaler is None:
                loss.backward()
                if clip is not None:
                    torch.nn.utils.clip_grad_norm_(params, clip)
                opt.step()
            else:  # fp16: scale the loss, unscale before clipping, skip overflowing steps
                scaler.scale(loss).backward()
                if clip is not None:
                    scaler.unscale_(opt)
                    torch.nn.utils.clip_grad_norm_(params, clip)
                scaler.step(opt)
                scaler.update()
            self.global_step += 1
            n = batch_len(inputs, targets)
            count += n
            loss_d = loss.detach()
            loss_sum.add_(loss_d, alpha=n)
            if metrics:
                with torch.no_grad():
                    pred_d = pred.detach()
                    for j, m in enumerate(metrics):
                        s, c = m.stat(pred_d, targets)
                        m_sum[j] += s
                        m_cnt[j] += c
            if batch_cbs:
                blogs = {"batch": i, "size": n, "loss": loss_d}
                for cb in batch_cbs:
                    cb.on_batch_end(i, blogs)
                if self.stop_training and not lockstep:  # data-parallel: at the epoch's end
                    break
        if count == 0:
            raise ValueError("train_loader yielded no batches")
        return self._finish(loss_sum, count, m_sum, m_cnt, reduce=True)

    def _finish(self, loss_sum, count, m_sum, m_cnt, reduce: bool) -> dict[str, float]:
        """The epoch's logs from its sums; ``reduce``: summed over the ranks first."""
        values = torch.stack([loss_sum.new_tensor(count), loss_sum, *m_sum, *m_cnt])
        if reduce:
            values = distributed.all_reduce_sum(values)  # (2 + 2k,) one collective
        values = values.tolist()  # the one sync of the epoch
        count = values[0]
        if count == 0:
            raise ValueError("evaluate got no batches (empty input)")
        k = len(self.metrics)
        logs = {"loss": values[1] / count}
        for j, m in enumerate(self.metrics):
            logs[m.name] = m.result(values[2 + j], values[2 + k + j])
        return logs

    def _step_scheduler(self, logs: dict[str, float]) -> None:
        if self.scheduler is None:
            return
        if isinstance(self.scheduler, ReduceLROnPlateau):
            self.scheduler.step(logs.get("val_loss", logs["loss"]))
        else:
            self.scheduler.step()

    # ------------------------------------------------------------------ evaluate / predict
    def evaluate(self, loader: Iterable) -> dict[str, float]:
        """``{"loss": ..., <metric>: ...}`` over ``loader`` in eval mode, no gradients (on
        this process alone, over the whole loader, also under torchrun)."""
        return self._evaluate(loader, reduce=False)

    def _evaluate(self, loader: Iterable, reduce: bool) -> dict[str, float]:
        """``evaluate``; with ``reduce``, of this rank's part, the sums added over the ranks
        (fit's validation: the loader is sharded, and a rank may have no batch)."""
        model, device, metrics = self.model, self.device, self.metrics
        acc = _acc_dtype(device)
        loss_sum = torch.zeros((), dtype=acc, device=device)
        m_sum = [torch.zeros((), dtype=acc, device=device) for _ in metrics]
        m_cnt = [torch.zeros((), dtype=acc, device=device) for _ in metrics]
        count = 0
        was_training = model.training
        model.eval()
        step = _Step(model, self._step.carry)
        try:
            with torch.no_grad(), self._autocast():
                for batch in loader:
                    inputs, targets = split_batch(batch)
                    inputs, targets = to_device(inputs, device), to_device(targets, device)
                    pred = step(inputs)
                    n = batch_len(inputs, targets)
                    count += n
                    loss_sum.add_(self.loss_fn(pred, targets), alpha=n)
                    for j, m in enumerate(metrics):
                        s, c = m.stat(pred, targets)
                        m_sum[j] += s
                        m_cnt[j] += c
        finally:
            model.train(was_training)
        return self._finish(loss_sum, count, m_sum, m_cnt, reduce=reduce)

    def predict(self, loader: Iterable) -> np.ndarray:
        """The model's outputs over ``loader`` (eval mode), concatenated on the first axis."""
        return predict_batches(self.model, loader, self.device)


def _len_or_none(loader: Iterable) -> int | None:
    try:
        return len(loader)  # type: ignore[arg-type]
    except TypeError:
        return None


def _check_callbacks(callbacks: Sequence[Callback] | None) -> list[Callback]:
    if callbacks is None:
        return []
    if isinstance(callbacks, Callback):
        callbacks = [callbacks]
    out = list(callbacks)
    for cb in out:
        if not isinstance(cb, Callback):
            raise TypeError(
                f"callbacks must be rnnkit.train.callbacks.Callback objects, got "
                f"{type(cb).__name__}"
            )
    return out


__all__ = ["Trainer", "detach_state", "forward", "predict_batches", "resolve_device", "split_batch",
           "to_device"]
