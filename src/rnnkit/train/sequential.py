"""``Sequential``: a ``torch.nn.Sequential`` with Keras' compile / fit / evaluate / predict.

    >>> model = Sequential([SimpleRNN(1, 20, return_sequences=True), SimpleRNN(20, 20),
    ...                     Dense(20, 1)])
    >>> model.compile(loss="mse", optimizer="adam", metrics=["mae"])
    >>> history = model.fit(X_train, y_train, epochs=20, batch_size=32,
    ...                     validation_data=(X_valid, y_valid))
    >>> history.history["val_loss"][-1], model.evaluate(X_valid, y_valid)["loss"]

Any ``nn.Module`` fits in the list; the model saves as JSON config + safetensors when every
layer is a registered rnnkit.nn module (``model.save(folder)``, ``Sequential.load(folder)``;
:mod:`rnnkit.train.saving`). The rnnkit.nn layers
use Keras' initialisers by default (``init="keras"``: glorot-uniform input weights,
orthogonal recurrent weights, zero biases, LSTM forget bias 1), which the classic Keras
tutorials' figures depend on; ``init="torch"`` gives torch.nn's uniform initialisation.

``fit`` on in-memory arrays keeps the whole data set as tensors on the training device and
slices mini-batches from one permutation per epoch (no DataLoader); inputs are cast to the
model's floating dtype, integer arrays (token ids, class labels) to int64.

``compile(precision="bf16")`` (or ``"fp16"``) trains under autocast; ``fit(...,
checkpoint=DIR, resume=True)`` makes a run that continues exactly where a killed one
stopped (see :class:`~rnnkit.train.trainer.Trainer`).
"""

from __future__ import annotations

import os
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from rnnkit.errors import ConfigError, DataError
from rnnkit.nn.config import from_config, register, to_config
from rnnkit.train.batches import ArrayBatches, num_samples, split_last, to_inputs, to_tensor
from rnnkit.train.callbacks.base import Callback
from rnnkit.train.callbacks.progress import ProgressBar, check_verbose, progress_callbacks
from rnnkit.train.history import History
from rnnkit.train.seed import seed_everything
from rnnkit.train.trainer import Trainer, predict_batches

_ARRAY_TYPES = (np.ndarray, torch.Tensor, list, tuple, Mapping)


def _short_name(layer: nn.Module) -> str:
    """``SimpleRNN(1, 20)``: the class and its leading int arguments (sizes), if known."""
    get_config = getattr(layer, "get_config", None)
    sizes: list[str] = []
    if callable(get_config):
        for v in get_config().values():
            if not isinstance(v, int) or isinstance(v, bool) or len(sizes) == 2:
                break
            sizes.append(str(v))
    else:
        for attr in ("in_features", "out_features", "input_size", "hidden_size"):
            v = getattr(layer, attr, None)
            if isinstance(v, int) and not isinstance(v, bool):
                sizes.append(str(v))
    return type(layer).__name__ + (f"({', '.join(sizes)})" if sizes else "")


def _is_loader(x: Any) -> bool:
    return not isinstance(x, _ARRAY_TYPES) and isinstance(x, Iterable)


@register
class Sequential(nn.Sequential):
    """Layers applied in order, with Keras-style training methods.

    Args:
        layers: a list of ``nn.Module`` (``Sequential(a, b)`` works too, as in torch).
    """

    def __init__(self, layers: Sequence[nn.Module] | nn.Module | None = None, *more: nn.Module):
        if isinstance(layers, OrderedDict):  # torch's slicing rebuilds from an OrderedDict
            super().__init__(layers)
        else:
            if layers is None:
                items: list = []
            elif isinstance(layers, nn.Module):
                items = [layers]
            else:
                items = list(layers)
            items += list(more)
            for i, layer in enumerate(items):
                if not isinstance(layer, nn.Module):
                    raise TypeError(
                        f"layers[{i}] must be a torch.nn.Module, got {type(layer).__name__}"
                    )
            super().__init__(*items)
        self._trainer: Trainer | None = None
        self._compile_config: dict[str, Any] | None = None

    add = nn.Sequential.append

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict[str, Any]:
        """``{"layers": [to_config(layer), ...]}`` (ConfigError names a layer without one)."""
        layers = []
        for i, layer in enumerate(self):
            try:
                layers.append(to_config(layer))
            except ConfigError as err:
                raise ConfigError(
                    f"layer {i} ({type(layer).__name__}) cannot be saved as config: {err}; "
                    "save_model needs registered rnnkit.nn modules (save_weights works for any)"
                ) from err
        return {"layers": layers}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Sequential:
        layers = config.get("layers")
        if not isinstance(layers, list):
            raise ConfigError(f"Sequential config needs a 'layers' list, got {config!r:.200}")
        return cls([from_config(c) for c in layers])

    def compile_config(self) -> dict[str, Any] | None:
        """``compile``'s arguments if they were all JSON-able (names, numbers), else None."""
        return None if self._compile_config is None else dict(self._compile_config)

    # ------------------------------------------------------------------ compile
    def compile(
        self,
        loss: str | Callable = "mse",
        optimizer: str | torch.optim.Optimizer | Callable = "adam",
        lr: float | None = None,
        metrics: Sequence[str | Callable] | None = None,
        clip_grad_norm: float | None = None,
        lr_schedule: Any = None,
        device: str | torch.device = "cpu",
        precision: str = "fp32",
    ) -> None:
        """Choose the loss, optimiser (by name: Keras' default learning rates), metrics,
        gradient clipping (global L2 norm), learning-rate schedule, device and precision
        (``"fp32"``, ``"bf16"`` or ``"fp16"``: autocast of the forward pass and loss).

        See :class:`~rnnkit.train.trainer.Trainer` for the accepted values.
        """
        self._trainer = Trainer(self, loss, optimizer, metrics or (), (), clip_grad_norm,
                                lr_schedule, device, lr=lr, precision=precision)
        named = isinstance(loss, str) and isinstance(optimizer, str) and lr_schedule is None
        named = named and all(isinstance(m, str) for m in metrics or ())
        self._compile_config = (
            {"loss": loss, "optimizer": optimizer, "lr": lr, "metrics": list(metrics or []),
             "clip_grad_norm": clip_grad_norm} if named else None
        )
        if self._compile_config is not None and precision != "fp32":
            self._compile_config["precision"] = precision

    @property
    def trainer(self) -> Trainer:
        """The Trainer built by ``compile`` (RuntimeError before it)."""
        if self._trainer is None:
            raise RuntimeError(
                "the model is not compiled; call model.compile(loss=..., optimizer=...) first"
            )
        return self._trainer

    # ------------------------------------------------------------------ data
    def _float_dtype(self) -> torch.dtype:
        return next((p.dtype for p in self.parameters() if p.is_floating_point()),
                    torch.get_default_dtype())

    def _device(self) -> torch.device:
        if self._trainer is not None:
            return self._trainer.device
        return next((p.device for p in self.parameters()), torch.device("cpu"))

    def _arrays(self, X: Any, y: Any, name: str = "X"):
        dt, dev = self._float_dtype(), self._device()
        x_t = to_inputs(X, name, dt, dev)
        y_name = "y" if name == "X" else "y_val"
        y_t = None if y is None else to_tensor(y, y_name, dt, dev)
        if y_t is not None and num_samples(x_t) != int(y_t.shape[0]):
            raise ValueError(
                f"{name} and {y_name} must have the same number of samples, got {name} with "
                f"{num_samples(x_t)} and {y_name} with {int(y_t.shape[0])}"
            )
        return x_t, y_t

    def _loader(self, X, y, batch_size, what: str) -> Iterable:
        if _is_loader(X):
            if y is not None:
                raise ValueError(f"y must be None when X is a DataLoader, got {type(y).__name__}")
            return X
        if y is None and what != "predict":
            raise ValueError(f"{what} needs targets y with array inputs X")
        x_t, y_t = self._arrays(X, y)
        return ArrayBatches(x_t, y_t, batch_size)

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        X: Any,
        y: Any = None,
        epochs: int = 1,
        batch_size: int = 32,
        validation_data: tuple[Any, Any] | Iterable | None = None,
        validation_split: float = 0.0,
        callbacks: Sequence[Callback] | None = None,
        shuffle: bool = True,
        verbose: str | int = "auto",
        seed: int | None = None,
        *,
        checkpoint: str | os.PathLike | None = None,
        checkpoint_every: int = 1,
        resume: bool = False,
    ) -> History:
        """Train on ``(X, y)`` for ``epochs``; return the :class:`History`.

        Args:
            X: inputs (N, ...) as a NumPy array or tensor (or a dict of them), or a
                DataLoader of ``(inputs, targets)`` batches (then ``y`` is None).
            y: targets (N, ...).
            epochs: passes over the training data. Default 1.
            batch_size: samples per step. Default 32.
            validation_data: ``(X_val, y_val)`` or a DataLoader; evaluated after each epoch.
            validation_split: fraction in [0, 1) of the samples taken from the END of X, y
                (before any shuffling, as Keras does) for validation; ignored when
                ``validation_data`` is given.
            callbacks: list of :class:`~rnnkit.train.callbacks.Callback`.
            shuffle: reshuffle the training samples every epoch. Default True.
            verbose: progress on stderr (:func:`~rnnkit.train.callbacks.progress_callbacks`):
                ``"auto"`` (default: a bar on a terminal or in Jupyter, else one line per
                epoch), 0 (nothing), 1 (a bar), 2 (one line per epoch). A ProgressBar among
                ``callbacks`` replaces the automatic one.
            seed: if given, :func:`~rnnkit.train.seed_everything` is called with it first and
                the shuffling order derives from it, so repeated runs match exactly on CPU.
            checkpoint: folder for the training state (weights, optimiser, random
                generators, shuffling order, callbacks, history), written every
                ``checkpoint_every`` epochs and at the end (:mod:`rnnkit.train.resume`).
            checkpoint_every: epochs between checkpoints. Default 1.
            resume: continue from the checkpoint in ``checkpoint`` if there is one: the
                result equals an uninterrupted run's (bit for bit on the CPU). The same
                data, ``epochs``, ``batch_size``, ``shuffle`` and compile settings are
                required (ConfigError naming the one that differs).
        """
        trainer = self.trainer
        if isinstance(validation_split, bool) or not isinstance(
            validation_split, (int, float)
        ) or not 0.0 <= validation_split < 1.0:
            raise ValueError(
                f"validation_split must be a number in [0, 1), got {validation_split!r}"
            )
        check_verbose(verbose)
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        if seed is not None:
            seed_everything(seed)
        gen = torch.Generator()
        gen.manual_seed(seed if seed is not None else int(torch.randint(0, 2**62, (1,))))

        if validation_data is not None and validation_split:
            warnings.warn("validation_data is given, so validation_split is ignored",
                          UserWarning, stacklevel=2)
        if _is_loader(X):
            if y is not None:
                raise ValueError(f"y must be None when X is a DataLoader, got {type(y).__name__}")
            if validation_split and validation_data is None:
                raise ValueError("validation_split needs array inputs; with a DataLoader pass "
                                 "validation_data")
            train_loader: Iterable = X
        else:
            if y is None:
                raise ValueError("fit needs targets y with array inputs X")
            x_t, y_t = self._arrays(X, y)
            if validation_data is None and validation_split:
                x_t, y_t, xv, yv = split_last(x_t, y_t, float(validation_split))
                validation_data = ArrayBatches(xv, yv, batch_size)
            train_loader = ArrayBatches(x_t, y_t, batch_size, shuffle=shuffle, generator=gen)

        val_loader: Iterable | None = None
        if validation_data is not None:
            if _is_loader(validation_data):
                val_loader = validation_data
            elif isinstance(validation_data, (tuple, list)) and len(validation_data) == 2:
                xv, yv = self._arrays(*validation_data, name="X_val")
                val_loader = ArrayBatches(xv, yv, batch_size, names=("X_val", "y_val"))
            else:
                raise ValueError(
                    "validation_data must be (X_val, y_val) or a DataLoader, got "
                    f"{type(validation_data).__name__}"
                )

        cbs = list(callbacks or [])
        if not any(isinstance(cb, ProgressBar) for cb in cbs):
            cbs += progress_callbacks(verbose)
        trainer.verbose = verbose  # an "auto" ProgressBar among callbacks honours verbose=0
        settings = {"batch_size": batch_size, "shuffle": shuffle, "seed": seed,
                    "validation_split": validation_split}
        return trainer.fit(train_loader, epochs, val_loader, callbacks=cbs,
                           checkpoint=checkpoint, checkpoint_every=checkpoint_every,
                           resume=resume, settings=settings)

    # ------------------------------------------------------------------ evaluate / predict
    def evaluate(self, X: Any, y: Any = None, batch_size: int = 32) -> dict[str, float]:
        """``{"loss": ..., <metric>: ...}`` on ``(X, y)`` (or a DataLoader), eval mode."""
        return self.trainer.evaluate(self._loader(X, y, batch_size, "evaluate"))

    def predict(self, X: Any, batch_size: int = 32) -> np.ndarray:
        """Outputs for inputs ``X`` (array, tensor, dict or DataLoader) as a NumPy array.

        Works without ``compile`` (on the device the parameters are on).
        """
        return predict_batches(self, self._loader(X, None, batch_size, "predict"),
                               self._device())

    def summary(self, print_fn: Callable[[str], Any] | None = None) -> None:
        """Print a Keras-like table: index, layer, trainable parameters, and the total.

        ``print_fn`` receives the table as one string instead of ``print`` (Keras'
        argument); :meth:`summary_text` returns it. Output shapes are not shown: PyTorch
        layers know their sizes only when called. Recurrent layers count torch.nn's two bias
        vectors (b_ih and b_hh), so a SimpleRNN has H more parameters than Keras reports.
        """
        (print if print_fn is None else print_fn)(self.summary_text())

    def summary_text(self) -> str:
        """The table :meth:`summary` prints, as a string (lines joined by newlines)."""
        rows = [("#", "layer", "params")]
        for i, layer in enumerate(self):
            n = sum(p.numel() for p in layer.parameters() if p.requires_grad)
            rows.append((str(i), _short_name(layer), f"{n:,}"))
        total = sum(p.numel() for p in self.parameters() if p.requires_grad)
        w0 = max(len(r[0]) for r in rows)
        w1 = min(max(len(r[1]) for r in rows), 70)
        w2 = max(max(len(r[2]) for r in rows), len(f"{total:,}"))
        lines = [f"{a:<{w0}}  {b[:w1]:<{w1}}  {c:>{w2}}" for a, b, c in rows]
        rule = "-" * len(lines[0])
        return "\n".join([lines[0], rule, *lines[1:], rule,
                          f"{'':<{w0}}  {'trainable parameters':<{w1}}  {total:>{w2},}"])

    # ------------------------------------------------------------------ save
    def save(self, directory: str, extra: dict[str, Any] | None = None) -> None:
        """Save config + weights to ``directory``; see :func:`rnnkit.train.save_model`."""
        from rnnkit.train.saving import save_model

        save_model(self, directory, extra)

    @classmethod
    def load(cls, directory: str, device: str = "cpu") -> Sequential:
        """The Sequential saved in ``directory`` by :meth:`save`, on ``device``; compiled
        again when it was saved compiled by name (:func:`rnnkit.train.load_model`).

        Raises DataError if the folder is not a saved rnnkit model or holds something else:
        another kind of module (load it with ``rnnkit.train.load_model``) or a task
        estimator (load it with its own ``load``, which also restores its scalers).
        """
        from rnnkit.nn.config import registered
        from rnnkit.train.saving import CONFIG_NAME, load_model, read_config

        config = read_config(directory)
        where = Path(directory) / CONFIG_NAME
        saved = config.get("model")
        name = saved.get("class") if isinstance(saved, dict) else None
        saved_cls = registered().get(name) if isinstance(name, str) else None
        if saved_cls is None or not issubclass(saved_cls, cls):
            raise DataError(f"{where} holds a {name or 'model of unknown class'}, not a "
                            f"{cls.__name__}; load it with rnnkit.train.load_model")
        extra = config.get("extra")
        task = extra.get("task") if isinstance(extra, dict) else None
        if task is not None:
            raise DataError(f"{where} holds a saved {task!r} task estimator, not a bare "
                            f"{cls.__name__}; load it with the task's own load(), which also "
                            "restores its preprocessing")
        return load_model(directory, device=device)

__all__ = ["Sequential"]
