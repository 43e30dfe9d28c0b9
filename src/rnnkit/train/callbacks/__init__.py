"""Callbacks for :class:`~rnnkit.train.trainer.Trainer` and ``Sequential.fit``.

``Callback`` (base), ``EarlyStopping``, ``ModelCheckpoint``, ``ProgressBar``,
``CSVLogger``, ``JSONLogger``, ``TensorBoard``, ``LearningRateScheduler``,
and ``progress_callbacks(verbose, desc)``, which turns a Keras-style ``verbose`` into the
progress display.
"""

from rnnkit.train.callbacks.base import Callback
from rnnkit.train.callbacks.checkpoint import ModelCheckpoint
from rnnkit.train.callbacks.early_stopping import EarlyStopping
from rnnkit.train.callbacks.loggers import CSVLogger, JSONLogger
from rnnkit.train.callbacks.lr_scheduler import LearningRateScheduler
from rnnkit.train.callbacks.progress import ProgressBar, progress_callbacks
from rnnkit.train.callbacks.tensorboard import TensorBoard

__all__ = [
    "CSVLogger", "Callback", "EarlyStopping", "JSONLogger", "LearningRateScheduler",
    "ModelCheckpoint", "ProgressBar", "TensorBoard", "progress_callbacks",
]
