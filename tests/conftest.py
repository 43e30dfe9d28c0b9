"""Shared test fixtures: seeded generators, float64 by default where gradients are checked."""

from pathlib import Path

import numpy as np
import pytest
import torch

# The suite runs as two xdist workers on two cores: one thread each, or they oversubscribe
# the cores and spin against each other (measured: a 2.5 s epoch took 75 s under load).
torch.set_num_threads(1)

#: Real data beside the project (MNIST in IDX format); tests that use it skip without it.
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)
