"""``Estimator``: the one contract every task estimator follows (scikit-learn's, plus Keras').

    est = SequenceClassifier(epochs=50)          # __init__ stores the arguments, nothing else
    est.fit(X, y)                                # returns est; learned state ends in "_"
    est.predict(X); est.score(X, y)              # score: higher is better (sklearn)
    est.save("model")                            # config.json + model.safetensors
    load_estimator("model").predict(raw_X)       # any task, preprocessing included

- **Parameters** are the constructor's arguments, read from its signature:
  ``get_params(deep=True)`` / ``set_params(**p)``, so ``sklearn.base.clone`` and
  ``GridSearchCV`` work. Defaults are defined once, in the signature; the command line reads
  them from there (:meth:`Estimator.default`). Options are checked at ``fit``
  (:class:`~rnnkit.errors.ConfigError` naming the option), never in ``__init__``.
- **Not fitted**: ``predict``/``score``/``save`` before ``fit`` raise
  :class:`~rnnkit.errors.NotFittedError`.
- **Training** goes through :class:`~rnnkit.train.Trainer` (:meth:`Estimator._train`): a
  validation part held out by default (``validation``; time-ordered for series, stratified
  for classes), early stopping on it with the best weights restored (``patience``),
  progress on stderr (``verbose``), and divergence as a failure: a NaN loss puts back the
  last finite weights, and a model that never had a finite epoch raises
  :class:`~rnnkit.errors.TrainingFailed`. ``precision`` (a parameter of every task:
  ``"fp32"``, ``"bf16"``, ``"fp16"``) trains under autocast.
- **Resuming** a killed fit: every task's ``fit`` takes the keyword arguments
  ``checkpoint=DIR``, ``checkpoint_every=N`` (default 1) and ``resume=True``; they are
  arguments of the run, not parameters of the model (so they are not saved with it, not
  copied by ``clone``, not in ``get_params``). The training state goes to ``DIR`` every N
  epochs (:mod:`rnnkit.train.resume`); a fit with ``resume=True`` continues from it and
  ends with the weights and history of an uninterrupted fit (bit for bit on the CPU). The
  parameters (all but ``verbose`` and ``device``) and the training data must be the ones
  the checkpoint was written with (ConfigError naming the one that differs).
- **Saving** goes through :func:`rnnkit.train.saving.save_model`: the network's config and
  weights, and in ``config.json``'s ``extra`` the task name, the parameters and the task's
  preprocessing state (scalers, vocabularies, label names, normalisation). ``load`` rebuilds
  it; :func:`load_estimator` finds the class from the task name.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import math
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

from rnnkit.errors import ConfigError, DataError, NotFittedError, TrainingFailed

log = logging.getLogger(__name__)

#: Task name (``config.json`` → ``extra.task``) → ``module:Class`` of its estimator.
TASKS = {
    "forecaster": "rnnkit.tasks.forecast.forecaster:Forecaster",
    "sequence-classifier": "rnnkit.tasks.classify.task:SequenceClassifier",
    "text-classifier": "rnnkit.tasks.classify.task:TextClassifier",
    "language-model": "rnnkit.tasks.lm.task:LanguageModelTask",
    "seq2seq": "rnnkit.tasks.seq2seq.task:Seq2SeqTask",
}


#: How a message names the model of each task.
TASK_NAMES = {"forecaster": "forecaster", "sequence-classifier": "sequence classifier",
              "text-classifier": "text classifier", "language-model": "language model",
              "seq2seq": "seq2seq model"}


def estimator_class(task: str) -> type[Estimator]:
    """The estimator class of a task name (ConfigError for an unknown one)."""
    if task not in TASKS:
        raise ConfigError(f"task must be one of {sorted(TASKS)}, got {task!r}")
    module, name = TASKS[task].split(":")
    return getattr(importlib.import_module(module), name)


def saved_task(path: str | os.PathLike) -> str:
    """The task name a saved model folder holds (DataError if it holds none)."""
    from rnnkit.train.saving import CONFIG_NAME, read_config

    extra = read_config(path).get("extra")
    task = extra.get("task") if isinstance(extra, dict) else None
    if task not in TASKS:
        raise DataError(f"{Path(path) / CONFIG_NAME}: no task estimator saved here (extra.task "
                        f"is {task!r}; expected one of {', '.join(sorted(TASKS))}); a bare "
                        f"network loads with rnnkit.train.load_model")
    return task


def load_estimator(path: str | os.PathLike, device: str = "cpu") -> Estimator:
    """Load the estimator saved in ``path`` whatever its task (a folder of
    :class:`~rnnkit.tasks.forecast.local.LocalForecaster`, one model per series, or of
    :class:`~rnnkit.tasks.forecast.ensemble.EnsembleForecaster` too)."""
    from rnnkit.tasks.forecast.ensemble import EnsembleForecaster, load_forecaster
    from rnnkit.tasks.forecast.local import LocalForecaster

    if EnsembleForecaster.is_saved(path) or LocalForecaster.is_saved(path):
        return load_forecaster(path, device)  # type: ignore[return-value]
    return estimator_class(saved_task(path)).load(path, device=device)


def check_int(name: str, value: Any, low: int = 1, none: bool = False) -> None:
    """ConfigError unless ``value`` is an int >= ``low`` (or None when ``none``)."""
    if none and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        what = "a positive int" if low == 1 else f"an int >= {low}"
        raise ConfigError(f"{name} must be {what}{' or None' if none else ''}, got {value!r}")


def check_float(name: str, value: Any, low: float = 0.0, high: float = math.inf,
                low_open: bool = True, high_open: bool = True, none: bool = False) -> None:
    """ConfigError unless ``value`` is a finite number in the interval (or None)."""
    if none and value is None:
        return
    ok = (not isinstance(value, bool) and isinstance(value, (int, float))
          and math.isfinite(value)
          and (value > low if low_open else value >= low)
          and (value < high if high_open else value <= high))
    if not ok:
        lo, hi = "(" if low_open else "[", ")" if high_open else "]"
        raise ConfigError(f"{name} must be a number in {lo}{low:g}, {high:g}{hi}"
                          f"{' or None' if none else ''}, got {value!r}")


def check_choice(name: str, value: Any, choices: Iterable) -> None:
    """ConfigError unless ``value`` is one of ``choices``."""
    choices = tuple(choices)
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(map(repr, choices))}, "
                          f"got {value!r}")


def check_bool(name: str, value: Any) -> None:
    """ConfigError unless ``value`` is True or False."""
    if not isinstance(value, bool):
        raise ConfigError(f"{name} must be True or False, got {value!r}")


def check_validation(value: Any) -> None:
    """``validation``: a fraction in [0, 1) or a count >= 1 of held-out samples."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
            (isinstance(value, int) and value >= 0) or 0.0 <= value < 1.0):
        raise ConfigError(f"validation must be a fraction in [0, 1) or a count >= 0, "
                          f"got {value!r}")


def n_held_out(validation: float | int, n: int) -> int:
    """How many of ``n`` samples a ``validation`` setting holds out (fraction or count)."""
    if isinstance(validation, int) and validation >= 1:
        return min(int(validation), n)
    return round(float(validation) * n)


class Estimator:
    """Base class of the task estimators; see the module doc.

    Subclasses set ``task`` (the name saved in ``config.json``), keep every constructor
    argument as an attribute of the same name, implement ``fit``/``predict``/``score``,
    :meth:`_check_params`, and the preprocessing state :meth:`_state` /
    :meth:`_set_state` that :meth:`save` / :meth:`load` carry.
    """

    task: ClassVar[str] = ""
    #: "classifier" makes scikit-learn's model selection stratify its folds.
    _estimator_type: ClassVar[str | None] = None

    # ------------------------------------------------------------------ parameters
    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        names = []
        for name, p in sig.parameters.items():
            if name == "self":
                continue
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                raise TypeError(f"{cls.__name__}.__init__ must name every parameter "
                                f"(no *args/**kwargs), got {p}")
            names.append(name)
        return sorted(names)

    @classmethod
    def default(cls, name: str) -> Any:
        """The default value of constructor argument ``name`` (one definition for the
        Python API and the command line)."""
        param = inspect.signature(cls.__init__).parameters.get(name)
        if param is None or param.default is inspect.Parameter.empty:
            raise KeyError(f"{cls.__name__} has no parameter {name!r} with a default")
        return param.default

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor arguments as set (``deep`` is accepted for scikit-learn)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> Estimator:
        """Set constructor arguments by name; returns ``self``. Unknown names: ConfigError."""
        valid = set(self._param_names())
        for name, value in params.items():
            if name not in valid:
                raise ConfigError(f"{type(self).__name__} has no parameter {name!r}; "
                                  f"parameters: {', '.join(sorted(valid))}")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        changed = []
        for name in self._param_names():
            value = getattr(self, name)
            default = self.default(name)
            if value is not default and value != default:
                changed.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(changed)})"

    def __sklearn_tags__(self) -> Any:
        """scikit-learn's estimator tags (imported only when scikit-learn asks for them)."""
        from sklearn.utils import ClassifierTags, InputTags, Tags, TargetTags

        classifier = self._estimator_type == "classifier"
        return Tags(estimator_type=self._estimator_type,
                    target_tags=TargetTags(required=classifier),
                    classifier_tags=ClassifierTags() if classifier else None,
                    non_deterministic=True, input_tags=InputTags(three_d_array=True))

    def _check_params(self) -> None:
        """Raise ConfigError naming the first invalid option (called by ``fit``)."""
        self._check_training()

    def _check_training(self) -> None:
        """The training options every task shares (each that the estimator has)."""
        from rnnkit.train.callbacks.progress import check_verbose
        from rnnkit.train.trainer import resolve_device

        def auto(name: str) -> bool:  # "auto" where the estimator resolves it at fit
            return getattr(self, name) == "auto" and self.default(name) == "auto"

        for name in ("epochs", "batch_size"):
            if not auto(name):
                check_int(name, getattr(self, name))
        check_float("lr", self.lr)
        if hasattr(self, "clip_grad_norm"):
            check_float("clip_grad_norm", self.clip_grad_norm, none=True)
        if not auto("validation") and (self.validation is not None
                                       or self.default("validation") is not None):
            check_validation(self.validation)
        if not auto("patience"):
            check_int("patience", self.patience, 0, none=True)
        check_int("seed", self.seed, 0, none=self.default("seed") is None)
        if hasattr(self, "precision"):
            check_choice("precision", self.precision, ("fp32", "bf16", "fp16"))
        try:
            check_verbose(self.verbose)
            resolve_device(self.device)
        except ValueError as err:
            raise ConfigError(str(err)) from err

    # ------------------------------------------------------------------ state
    @property
    def is_fitted(self) -> bool:
        return hasattr(self, "model_")

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            name = type(self).__name__
            raise NotFittedError(f"this {name} is not fitted yet; call fit(...) first or load "
                                 f"a saved one with {name}.load(path)")

    def _state(self) -> dict[str, Any]:
        """JSON-able preprocessing state that :meth:`save` stores (subclasses extend)."""
        return {}

    def _set_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`_state` returned (KeyError/TypeError/ValueError on bad data)."""

    # ------------------------------------------------------------------ training
    def _train(self, model: Any, train: Iterable, val: Iterable | None, *, loss: Any,
               metrics: tuple = (), epochs: int, desc: str | None = None,
               carry_state: bool = False, optimizer: Any = "adam",
               checkpoint: str | os.PathLike | None = None, checkpoint_every: int = 1,
               resume: bool = False, lr_schedule: Any = None) -> dict[str, list[float]]:
        """Fit ``model`` with the shared recipe; store ``history_`` and ``fit_status_``.

        Adam (``self.lr``), gradient clipping (``self.clip_grad_norm`` if the estimator has
        it), early stopping on ``val_loss`` with the best weights restored when ``val`` is
        given and the patience (``self.patience_`` when the estimator resolved an "auto"
        one, else ``self.patience``) is not None, progress per ``self.verbose``, autocast per
        ``self.precision``, mixup at ``self.mixup_`` when the estimator resolved one, and the
        NaN guard of the Trainer. Raises TrainingFailed when no
        epoch had a finite loss. ``checkpoint``, ``checkpoint_every`` and ``resume`` come
        from ``fit`` (see the module doc); the parameters but ``verbose`` and ``device``
        are the settings a resumed fit must share. ``lr_schedule``: a scheduler factory
        ``f(optimizer)`` for the Trainer (:func:`rnnkit.train.optim.get_scheduler`).

        Under torchrun the Trainer trains data-parallel (:mod:`rnnkit.train.distributed`):
        ``batch_size`` is per process, every rank ends with the same weights and history,
        and only rank 0 shows progress and writes the checkpoint.
        """
        from rnnkit.train import Trainer
        from rnnkit.train.callbacks import EarlyStopping
        from rnnkit.train.callbacks.progress import progress_callbacks

        callbacks = list(progress_callbacks(self.verbose, desc=desc))
        patience = getattr(self, "patience_", getattr(self, "patience", None))
        if val is not None and patience is not None:
            callbacks.append(EarlyStopping("val_loss", patience=patience,
                                           restore_best_weights=True))
        trainer = Trainer(model, loss, optimizer, metrics=metrics, callbacks=callbacks,
                          clip_grad_norm=getattr(self, "clip_grad_norm", None),
                          device=self.device, lr=self.lr, carry_state=carry_state,
                          lr_schedule=lr_schedule,
                          precision=getattr(self, "precision", "fp32"),
                          mixup=getattr(self, "mixup_", None))
        settings = {"task": self.task, **{k: v for k, v in self.get_params().items()
                                          if k not in ("verbose", "device")}}
        history = trainer.fit(train, epochs, val, checkpoint=checkpoint,
                              checkpoint_every=checkpoint_every, resume=resume,
                              settings=settings)
        self.history_ = {k: [float(v) for v in vs] for k, vs in history.history.items()}
        self.fit_status_ = "ok"
        if history.diverged is not None:
            what = type(self).__name__ + (f" ({desc})" if desc else "")
            if not history.epoch:
                raise TrainingFailed(f"{what}: the training loss was not finite in the first "
                                     f"epoch (lr={self.lr!r} too large?); no usable weights")
            self.fit_status_ = (f"diverged at epoch {history.diverged + 1}; kept the weights of "
                                f"epoch {history.epoch[-1] + 1}")
            log.warning("%s: %s", what, self.fit_status_)
        model.eval()
        return self.history_

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Write the model folder (``config.json`` + ``model.safetensors``) atomically.

        A folder that exists and holds files rnnkit did not write is refused unless
        ``overwrite``; a folder rnnkit wrote is replaced whole.
        """
        from rnnkit.fileio import json_safe
        from rnnkit.train.saving import save_model

        self._check_fitted()
        extra = {"task": self.task, "params": json_safe(self.get_params()),
                 "state": json_safe(self._state()),
                 "history": json_safe(getattr(self, "history_", {}))}
        return save_model(self.model_, path, extra=extra, overwrite=overwrite)

    @classmethod
    def load(cls, path: str | os.PathLike, device: str = "cpu") -> Estimator:
        """Rebuild an estimator saved with :meth:`save` (JSON + safetensors, no pickle)."""
        from rnnkit.train.saving import CONFIG_NAME, load_model

        task = saved_task(path)
        if task != cls.task:
            raise DataError(f"{path} holds a {TASK_NAMES[task]}, not a {TASK_NAMES[cls.task]}; "
                            f"load it with {estimator_class(task).__name__}.load or "
                            f"rnnkit.tasks.base.load_estimator")
        model, extra = load_model(path, with_extra=True, device=device)
        where = Path(path) / CONFIG_NAME
        params = extra.get("params")
        if not isinstance(params, dict):
            raise DataError(f"{where}: extra.params must be a dict of {cls.__name__}'s "
                            f"parameters, got {type(params).__name__}")
        unknown = sorted(set(params) - set(cls._param_names()))
        if unknown:
            raise DataError(f"{where}: unknown {cls.__name__} parameter {unknown[0]!r}")
        if "device" in params:
            params = {**params, "device": device}
        est = cls(**params)
        est.model_ = model.eval()
        try:
            est._check_params()
            est._set_state(extra.get("state") or {})
        except (KeyError, TypeError, ValueError, IndexError, RuntimeError) as err:
            raise DataError(f"{where}: the saved {cls.task} settings do not fit: "
                            f"{type(err).__name__}: {str(err)[:200]}") from err
        est.history_ = extra.get("history") or {}
        est.fit_status_ = "loaded"
        return est


__all__ = ["TASKS", "TASK_NAMES", "Estimator", "check_bool", "check_choice", "check_float",
           "check_int", "check_validation", "estimator_class", "load_estimator", "n_held_out",
           "saved_task"]
