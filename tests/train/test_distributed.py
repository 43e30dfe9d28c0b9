"""Data-parallel training: sharding, rank-0 writes, and two torchrun ranks == one process.

The central test runs ``ddp_train.py`` under ``torchrun --nproc_per_node 2`` (gloo, CPU)
with 4 samples per rank and the same trainings in this process with 8: float64 weights and
histories must agree to 1e-6 after 3 epochs (ArrayBatches, a carried-state TokenStream,
length buckets in a DataLoader), and a run killed after an epoch and resumed from its
checkpoint must equal an uninterrupted one bit for bit on every rank.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

import rnnkit
from rnnkit.data.batching import BucketBatchSampler, TokenStream, shard_batch
from rnnkit.errors import ConfigError, DataError
from rnnkit.train import ArrayBatches, Trainer, distributed
from rnnkit.train.callbacks import CSVLogger, ModelCheckpoint, ProgressBar
from rnnkit.train.distributed import ShardedBatchSampler

from . import ddp_train

B = 4  # samples (streams) per rank; the single process takes 2 * B


# ------------------------------------------------------------------ sharding, one process
def test_shard_batch_takes_every_world_size_th_item_and_pads_the_last():
    assert shard_batch([5, 1, 4, 2, 3], 0, 2).tolist() == [5, 4, 3]
    assert shard_batch([5, 1, 4, 2, 3], 1, 2).tolist() == [1, 2, 5]  # 5 repeated
    assert shard_batch([5, 1, 4, 2, 3], 1, 2, pad=False).tolist() == [1, 2]
    assert shard_batch([7], 2, 4).tolist() == [7]
    assert shard_batch([7], 2, 4, pad=False).tolist() == []
    with pytest.raises(ConfigError, match=r"rank must be an int in \[0, 2\), got 2"):
        shard_batch([1, 2], 2, 2)
    with pytest.raises(ConfigError, match="world_size must be a positive int, got 0"):
        shard_batch([1, 2], 0, 0)


def _rows(loader) -> list[list[int]]:
    return [x.reshape(len(x), -1)[:, 0].long().tolist() for x, _ in loader]


def test_array_batches_ranks_together_serve_the_single_process_batches():
    x = torch.arange(13.0)[:, None]  # (N, 1): each sample names itself
    single = _rows(ArrayBatches(x, x, 2 * B, shuffle=True,
                                generator=torch.Generator().manual_seed(3)))
    ranks = [_rows(ArrayBatches(x, x, B, shuffle=True,
                                generator=torch.Generator().manual_seed(3)).shard(r, 2))
             for r in range(2)]
    assert [len(r) for r in ranks] == [2, 2] == [len(single)] * 2  # the same steps
    for g, a, b in zip(single, *ranks, strict=True):
        if len(g) % 2 == 0:
            assert a == g[0::2] and b == g[1::2]  # rank r: positions r, r + 2, ...
        else:  # the last batch of 5: padded with its first sample
            assert a == g[0::2] and b == [*g[1::2], g[0]]
    evaluation = [_rows(ArrayBatches(x, x, 3).shard(r, 2, training=False)) for r in range(2)]
    assert evaluation == [[[0, 2], [3, 5], [6, 8], [9, 11], [12]], [[1], [4], [7], [10]]]
    assert len(ArrayBatches(x, x, B).shard(0, 2)) == 2


def test_token_stream_ranks_read_the_streams_of_one_process():
    ids = np.arange(203)
    single = list(TokenStream(ids, 2 * B, 5))
    ranks = [list(TokenStream(ids, B, 5).shard(r, 2)) for r in range(2)]
    assert len(ranks[0]) == len(ranks[1]) == len(single)
    for (x, y), (x0, y0), (x1, y1) in zip(single, *ranks, strict=True):
        assert torch.equal(x[0::2], x0) and torch.equal(x[1::2], x1)  # (B, T) each
        assert torch.equal(y[0::2], y0) and torch.equal(y[1::2], y1)
    few = TokenStream(ids[:31], 3, 5)  # evaluation: its own 3 streams, split 2 + 1
    assert [x.shape[0] for x, _ in few.shard(0, 2, training=False)] == [2] * len(few)
    assert [x.shape[0] for x, _ in few.shard(1, 2, training=False)] == [1] * len(few)
    with pytest.raises(DataError, match="too short for 4 processes"):
        TokenStream(ids[:10], 3, 2).shard(0, 4)


def test_bucket_sampler_and_sharded_batch_sampler_split_each_global_batch():
    lengths = np.random.default_rng(0).integers(1, 20, 23)
    single = list(BucketBatchSampler(lengths, 2 * B, seed=4))
    ranks = [list(BucketBatchSampler(lengths, B, seed=4).shard(r, 2)) for r in range(2)]
    assert len(ranks[0]) == len(ranks[1]) == len(single) == len(
        BucketBatchSampler(lengths, B, seed=4).shard(0, 2))
    for g, a, b in zip(single, *ranks, strict=True):
        assert a == shard_batch(g, 0, 2).tolist() and b == shard_batch(g, 1, 2).tolist()
    plain = [[0, 1, 2], [3, 4, 5], [6]]
    assert list(ShardedBatchSampler(plain, 1, 2, pad=False)) == [[1], [4]]
    assert list(ShardedBatchSampler(plain, 1, 2)) == [[1, 0], [4, 3], [6]]  # padded


def test_pair_batches_shard_like_the_bucket_sampler():
    from rnnkit.data.seq2seq_tasks import build_vocabs, encode_pairs, make_task
    from rnnkit.tasks.seq2seq.task import PairBatches

    pairs = make_task("addition", 21, seed=0)
    src, tgt = build_vocabs(pairs, "char")
    enc = encode_pairs(pairs, src, tgt, "char")
    single = [i["src"] for i, _ in PairBatches(enc, 2 * B, True, 7)]
    ranks = [[i["src"] for i, _ in PairBatches(enc, B, True, 7).shard(r, 2)] for r in (0, 1)]
    assert len(ranks[0]) == len(ranks[1]) == len(single)
    for g, a, b in zip(single, *ranks, strict=True):
        n = len(g) + len(g) % 2
        padded = g[torch.arange(n) % len(g)]
        assert torch.equal(padded[0::2, :a.shape[1]], a)
        assert torch.equal(padded[1::2, :b.shape[1]], b)


def test_shard_loader_leaves_a_single_process_alone():
    loader = ArrayBatches(torch.zeros(4, 1), torch.zeros(4, 1), 2)
    assert not distributed.active() and distributed.shard_loader(loader) is loader


# ------------------------------------------------------------------ ranks and writers
def test_rank_comes_from_torchrun_before_the_group_exists(monkeypatch):
    assert distributed.is_main_process() and not distributed.launched()
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert distributed.rank() == 1 and not distributed.is_main_process()
    assert distributed.launched()


def test_a_partial_torchrun_environment_is_refused(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    for key in ("MASTER_ADDR", "MASTER_PORT", "LOCAL_RANK"):
        monkeypatch.delenv(key, raising=False)
    with pytest.raises(ConfigError, match="WORLD_SIZE=2 asks for data-parallel training, but "
                       "LOCAL_RANK, MASTER_ADDR, MASTER_PORT is not set; start the processes "
                       "with torchrun"):
        Trainer(torch.nn.Linear(1, 1), "mse", "sgd")


def test_only_rank_0_writes(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RANK", "1")  # what a second rank sees (no group: nothing to reduce)
    x = torch.randn(8, 2)
    trainer = Trainer(torch.nn.Linear(2, 1), "mse", "sgd", lr=0.1)
    cbs = [CSVLogger(tmp_path / "log.csv"), ModelCheckpoint(tmp_path / "best", "loss"),
           ProgressBar(verbose=2)]
    history = trainer.fit(ArrayBatches(x, x[:, :1], 4), 2, callbacks=cbs,
                          checkpoint=tmp_path / "ckpt")
    assert len(history.epoch) == 2 and cbs[1].saved_epochs  # tracked as rank 0 does
    assert [p for p in tmp_path.rglob("*") if not p.is_dir()] == []
    assert capsys.readouterr().err == ""


# ------------------------------------------------------------------ torchrun, 2 ranks
@pytest.fixture(scope="module")
def ranks_out(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ddp")
    env = {**os.environ, "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(Path(rnnkit.__file__).parents[1]),
                                          os.environ.get("PYTHONPATH", "")])}
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(key, None)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node",
           "2", ddp_train.__file__, str(out), str(B)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return out


def _result(out: Path, name: str, rank: int):
    return (load_file(str(out / f"{name}.rank{rank}.safetensors")),
            json.loads((out / f"{name}.rank{rank}.json").read_text()))


@pytest.mark.parametrize("scenario", ddp_train.SCENARIOS)
def test_two_ranks_train_as_one_process_with_twice_the_batch(ranks_out, scenario):
    torch.use_deterministic_algorithms(True)
    try:
        weights, history = getattr(ddp_train, scenario)(2 * B)
    finally:
        torch.use_deterministic_algorithms(False)
    (w0, h0), (w1, h1) = _result(ranks_out, scenario, 0), _result(ranks_out, scenario, 1)
    assert all(torch.equal(w0[k], w1[k]) for k in w0)  # DDP keeps the ranks identical
    assert h0 == h1  # every rank has the global history
    diff = max(float((weights[k] - w0[k]).abs().max()) for k in weights)
    assert diff < 1e-6, diff
    assert history.keys() == h0.keys() and len(history["loss"]) == ddp_train.EPOCHS
    for key, values in history.items():
        np.testing.assert_allclose(h0[key], values, rtol=1e-9, atol=1e-12, err_msg=key)


def test_a_resumed_data_parallel_run_equals_an_uninterrupted_one(ranks_out):
    for rank in (0, 1):
        (w, h), (ws, hs) = (_result(ranks_out, "resume", rank),
                            _result(ranks_out, "resume_straight", rank))
        assert all(torch.equal(w[k], ws[k]) for k in w) and h == hs
    trainer_json = json.loads((ranks_out / "checkpoint" / "trainer.json").read_text())
    assert trainer_json["finished"] and trainer_json["fingerprint"]["world_size"] == 2
