"""Training: a Keras-style ``Sequential`` and a ``Trainer`` for any ``nn.Module``.

- :class:`Sequential` — ``compile`` / ``fit`` / ``evaluate`` / ``predict`` / ``save``.
- :class:`Trainer` — the fit loop over any iterable of ``(inputs, targets)`` batches.
- :class:`History` — per-epoch logs returned by ``fit``.
- :mod:`rnnkit.train.callbacks` — early stopping, checkpoints, progress bar, CSV/JSON logs,
  TensorBoard, learning-rate schedules.
- :mod:`rnnkit.train.metrics` — losses and metrics by name (PyTorch) and as NumPy functions.
- :func:`save_model` / :func:`load_model` (folder: ``config.json`` + ``model.safetensors``),
  :func:`save_weights` / :func:`load_weights` (one safetensors file). No pickle anywhere.
- :func:`seed_everything`.
"""

from rnnkit.train import callbacks, metrics
from rnnkit.train.batches import ArrayBatches
from rnnkit.train.history import History
from rnnkit.train.saving import load_model, load_weights, read_config, save_model, save_weights
from rnnkit.train.seed import seed_everything
from rnnkit.train.sequential import Sequential
from rnnkit.train.trainer import Trainer

__all__ = [
    "ArrayBatches", "History", "Sequential", "Trainer", "callbacks", "load_model",
    "load_weights", "metrics", "read_config", "save_model", "save_weights", "seed_everything",
]
