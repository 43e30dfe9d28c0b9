"""``seed_everything``: one call seeds Python's, NumPy's and PyTorch's generators.

With the same seed, model construction, shuffling and dropout repeat exactly on CPU. GPU
kernels may still differ between runs unless ``torch.use_deterministic_algorithms(True)``.
"""

from __future__ import annotations

import random

import numpy as np
import torch


def seed_everything(seed: int) -> int:
    """Seed ``random``, ``numpy.random`` (legacy global) and torch (CPU and all GPUs).

    Returns ``seed``. Raises ValueError unless ``seed`` is a non-negative int.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 - the legacy global generator, on purpose
    torch.manual_seed(seed)  # also seeds every CUDA device
    return seed


__all__ = ["seed_everything"]
