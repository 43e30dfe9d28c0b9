"""Numerically stable functions."""

from __future__ import annotations

import warnings

import numpy as np

from rnnkit import ref


def test_sigmoid_is_stable_and_exact():
    x = np.array([-1000.0, -30.0, -1.0, 0.0, 2.0, 1000.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = ref.sigmoid(x)
        s32 = ref.sigmoid(x.astype(np.float32))
    assert s32.dtype == np.float32 and np.isfinite(s32).all()
    np.testing.assert_allclose(s[1:5], 1 / (1 + np.exp(-x[1:5])), rtol=1e-14, atol=1e-16)
    assert s[0] == 0.0 and s[-1] == 1.0
    np.testing.assert_array_equal(x, [-1000.0, -30.0, -1.0, 0.0, 2.0, 1000.0])  # not in place


def test_softmax_and_log_softmax_for_large_scores():
    x = np.array([[1000.0, 1001.0, 1002.0], [-5.0, 0.0, 5.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = ref.softmax(x)
        lp = ref.log_softmax(x)
    e = np.exp([0.0, 1.0, 2.0])
    np.testing.assert_allclose(p[0], e / e.sum(), rtol=1e-14)
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-15)
    np.testing.assert_allclose(lp, np.log(p), rtol=1e-13)
    np.testing.assert_allclose(lp[1], x[1] - np.log(np.exp(x[1]).sum()), rtol=1e-12)
