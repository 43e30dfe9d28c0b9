"""A stratified validation split: each class keeps its share in both parts."""

from __future__ import annotations

import numpy as np


def stratified_split(ids: np.ndarray, n_val: int, seed: int | None = 0
                     ) -> tuple[np.ndarray, np.ndarray]:
    """``(train_index, val_index)`` holding out about ``n_val`` of the samples.

    Class k of n_k samples gives ``round(n_val * n_k / N)`` to validation, but always keeps
    at least one sample for training (a class of one sample is never held out). Indices are
    shuffled with ``seed``; the two parts are returned sorted.
    """
    ids = np.asarray(ids)
    N = len(ids)
    rng = np.random.default_rng(seed)
    train, val = [], []
    for k in np.unique(ids):
        members = rng.permutation(np.flatnonzero(ids == k))
        take = min(round(n_val * len(members) / max(N, 1)), len(members) - 1)
        val.append(members[:take])
        train.append(members[take:])
    return (np.sort(np.concatenate(train)).astype(np.int64),
            np.sort(np.concatenate(val)).astype(np.int64))


__all__ = ["stratified_split"]
