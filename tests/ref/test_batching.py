"""Truncated-BPTT windows of one long sequence."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit import ref


def test_streams_start_at_even_offsets_and_continue_across_windows():
    ids = np.arange(103)
    batches = ref.tbptt_batches(ids, batch_size=4, time_size=5)
    # xs = ids[:-1] has 102 tokens, L = 102 // 4 = 25, 25 // 5 = 5 windows
    assert len(batches) == 5
    wins = list(batches)
    xs0, ts0 = wins[0]
    np.testing.assert_array_equal(xs0[:, 0], [0, 25, 50, 75])
    np.testing.assert_array_equal(ts0, xs0 + 1)
    stream = np.concatenate([xs for xs, _ in wins], axis=1)  # (B, 25)
    np.testing.assert_array_equal(stream, np.arange(100).reshape(4, 25))
    assert xs0.dtype == np.int64 and xs0.shape == (4, 5)


def test_incomplete_window_is_dropped():
    batches = ref.TBPTTBatches(np.arange(24), batch_size=2, time_size=5)  # L = 11
    assert len(batches) == 2
    with pytest.raises(IndexError, match=r"w must lie in \[0, 2\), got 2"):
        batches.window(2)


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"ids must hold at least batch_size \* time_size \+ 1 = "
                                         r"21 tokens, got 20"):
        ref.tbptt_batches(np.arange(20), 4, 5)
    with pytest.raises(TypeError, match=r"ids must be an integer array, got dtype float64"):
        ref.tbptt_batches(np.zeros(50), 4, 5)
    with pytest.raises(ValueError, match=r"ids must be a 1-d array, got shape \(5, 10\)"):
        ref.tbptt_batches(np.zeros((5, 10), int), 2, 2)
    with pytest.raises(ValueError, match=r"time_size must be a positive int, got 0"):
        ref.tbptt_batches(np.arange(50), 4, 0)
