"""Padding, bucketing and token streams: exact values."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnkit.data.batching import (
    BucketBatchSampler,
    TokenStream,
    bucket_batches,
    pad_sequences,
    padded_loader,
)


def test_pad_post_and_pre():
    seqs = [[1, 2, 3], [4], [5, 6]]
    x, n = pad_sequences(seqs)
    np.testing.assert_array_equal(x, [[1, 2, 3], [4, 0, 0], [5, 6, 0]])
    np.testing.assert_array_equal(n, [3, 1, 2])
    x, _ = pad_sequences(seqs, padding="pre", value=-1)
    np.testing.assert_array_equal(x, [[1, 2, 3], [-1, -1, 4], [-1, 5, 6]])


def test_truncate_post_and_pre():
    seqs = [[1, 2, 3, 4], [5]]
    x, n = pad_sequences(seqs, maxlen=2)
    np.testing.assert_array_equal(x, [[1, 2], [5, 0]])
    np.testing.assert_array_equal(n, [2, 1])
    x, _ = pad_sequences(seqs, maxlen=2, truncating="pre")
    np.testing.assert_array_equal(x, [[3, 4], [5, 0]])


def test_pad_feature_axis_and_dtype():
    seqs = [np.ones((2, 3)), np.full((1, 3), 2.0)]
    x, _ = pad_sequences(seqs, dtype=np.float32)
    assert x.shape == (2, 2, 3) and x.dtype == np.float32
    np.testing.assert_array_equal(x[1, 1], 0)
    np.testing.assert_array_equal(x[1, 0], 2)


def test_pad_errors():
    with pytest.raises(ValueError, match="padding must be 'post' or 'pre', got 'mid'"):
        pad_sequences([[1]], padding="mid")
    with pytest.raises(ValueError, match="maxlen must be None or a positive int, got 0"):
        pad_sequences([[1]], maxlen=0)
    with pytest.raises(ValueError, match=r"seqs\[1\] must have shape \(T, \*\(2,\)\)"):
        pad_sequences([np.ones((2, 2)), np.ones((2, 3))])


def test_bucket_batches_cover_every_index_once_and_group_lengths():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 100, 1000)
    batches = bucket_batches(lengths, 16, shuffle=True, seed=3, pool_factor=10)
    allidx = np.concatenate(batches)
    np.testing.assert_array_equal(np.sort(allidx), np.arange(1000))
    spread = np.mean([lengths[b].max() - lengths[b].min() for b in batches])
    assert spread < 20  # pools of 160 sorted: ~10; random batches of 16 would spread ~85
    # same seed, same batches
    again = bucket_batches(lengths, 16, shuffle=True, seed=3, pool_factor=10)
    assert all(np.array_equal(a, b) for a, b in zip(batches, again, strict=True))


def test_bucket_batches_sorted_without_shuffle():
    b = bucket_batches([3, 1, 5, 2, 4], 2, shuffle=False)
    assert [x.tolist() for x in b] == [[2, 4], [0, 3], [1]]
    assert [x.tolist() for x in bucket_batches([3, 1, 5], 2, False, drop_last=True)] == [[2, 0]]


def test_sampler_len_matches_iteration():
    lengths = np.arange(1, 104)
    s = BucketBatchSampler(lengths, 10, seed=1, pool_factor=3)
    assert len(list(iter(s))) == len(s)
    with pytest.raises(ValueError, match="batch_size must be a positive int, got 0"):
        BucketBatchSampler(lengths, 0)


def test_padded_loader_batches():
    seqs = [np.full((n, 1), n, dtype=np.float32) for n in (1, 4, 2, 3)]
    y = np.array([1, 4, 2, 3])
    loader = padded_loader(seqs, y, batch_size=2, shuffle=False)
    batches = list(loader)
    inputs, target = batches[0]
    assert inputs["x"].shape == (2, 4, 1)
    assert inputs["lengths"].tolist() == [4, 3]
    assert target.tolist() == [4, 3]
    # every sequence's value equals its length on its real steps and 0 after
    for inputs, target in batches:
        for row, n, t in zip(inputs["x"][..., 0], inputs["lengths"], target, strict=True):
            assert row[:n].eq(float(t)).all() and row[n:].eq(0).all()


def test_token_stream_offsets_and_shift():
    ids = np.arange(23)
    s = TokenStream(ids, batch_size=2, bptt=4)
    assert s.stream_len == 11
    chunks = list(s)
    assert len(chunks) == len(s) == 3
    x0, y0 = chunks[0]
    assert x0.tolist() == [[0, 1, 2, 3], [11, 12, 13, 14]]
    assert y0.tolist() == [[1, 2, 3, 4], [12, 13, 14, 15]]
    x2, y2 = chunks[2]
    assert x2.tolist() == [[8, 9, 10], [19, 20, 21]]
    assert y2.tolist() == [[9, 10, 11], [20, 21, 22]]
    assert x0.dtype == torch.int64
    whole = torch.cat([c[0] for c in chunks], dim=1)
    assert whole[1].tolist() == list(range(11, 22))


def test_token_stream_errors():
    with pytest.raises(ValueError, match="too short: 3 tokens for batch_size 4"):
        TokenStream([1, 2, 3], 4, 2)
    with pytest.raises(ValueError, match="bptt must be a positive int, got 0"):
        TokenStream([1, 2, 3], 1, 0)


def test_padded_loader_fixed_length_and_truncation():
    seqs = [np.arange(1, n + 1) for n in (2, 6, 3)]
    fixed = list(padded_loader(seqs, None, batch_size=3, shuffle=False, bucket=False, maxlen=5))
    x = fixed[0][0]["x"]
    assert x.tolist() == [[1, 2, 0, 0, 0], [1, 2, 3, 4, 5], [1, 2, 3, 0, 0]]
    assert fixed[0][0]["lengths"].tolist() == [2, 5, 3]
    assert fixed[0][1] is None
    bucketed = list(padded_loader(seqs, None, batch_size=2, shuffle=False, bucket=True,
                                  maxlen=5))
    assert [b[0]["x"].shape[1] for b in bucketed] == [5, 2]  # batches {6->5, 3} and {2}
