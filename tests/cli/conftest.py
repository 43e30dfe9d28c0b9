"""The commands set torch's thread count (``--threads``); every test here gets it back."""

import pytest
import torch


@pytest.fixture(autouse=True)
def _restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)
