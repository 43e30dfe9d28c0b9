"""Behaviour of the time layers: state handling, chunking, the cell loop, params, dtypes."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit import ref
from tests.ref.helpers import parts

ALL = [ref.TimeRNN, ref.TimeLSTM, ref.TimeGRU, ref.TimeLNRNN, ref.TimeLNLSTM, ref.TimeLNGRU]
CELL_OF = {ref.TimeRNN: ref.RNNCell, ref.TimeLSTM: ref.LSTMCell, ref.TimeGRU: ref.GRUCell,
           ref.TimeLNRNN: ref.LNRNNCell, ref.TimeLNLSTM: ref.LNLSTMCell,
           ref.TimeLNGRU: ref.LNGRUCell}
G = {ref.TimeRNN: 1, ref.TimeLSTM: 4, ref.TimeGRU: 3}


def _g(cls):
    return next(g for base, g in G.items() if issubclass(cls, base))


@pytest.mark.parametrize("cls", ALL)
def test_stateful_chunks_equal_one_pass(cls, rng):
    xs = rng.standard_normal((3, 12, 2))
    whole = cls(2, 4, dtype="float64", seed=0).forward(xs)
    layer = cls(2, 4, stateful=True, dtype="float64", seed=0)
    pieces = [layer.forward(xs[:, a:b]) for a, b in [(0, 5), (5, 6), (6, 12)]]
    np.testing.assert_allclose(np.concatenate(pieces, axis=1), whole, rtol=1e-13, atol=1e-14)
    layer.reset_state()
    np.testing.assert_allclose(layer.forward(xs[:, :5]), whole[:, :5], rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("cls", ALL)
def test_not_stateful_starts_from_zeros_each_call(cls, rng):
    layer = cls(2, 3, dtype="float64", seed=0)
    xs = rng.standard_normal((2, 4, 2))
    first = layer.forward(xs)
    assert layer.state is not None  # the final state is exposed ...
    np.testing.assert_array_equal(layer.forward(xs), first)  # ... but not carried


@pytest.mark.parametrize("cls", ALL)
def test_time_layer_equals_loop_of_cells(cls, rng):
    """The vectorised loop computes what the plain step cell computes, step by step."""
    layer = cls(3, 4, dtype="float64", seed=7)
    cell = CELL_OF[cls](3, 4, dtype="float64", seed=7)
    for p, q in zip(layer.params, cell.params, strict=True):
        np.testing.assert_array_equal(p, q)  # same seed -> same weights
    xs = rng.standard_normal((2, 5, 3))
    hs = layer.forward(xs)
    state = None
    for t in range(5):
        state = cell.forward(xs[:, t], state)
        np.testing.assert_allclose(parts(state)[0], hs[:, t], rtol=1e-12, atol=1e-14)
    for a, b in zip(parts(state), parts(layer.state), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("cls", ALL)
def test_param_shapes_follow_torch_layout(cls):
    layer = cls(3, 5)
    GH = 5 * _g(cls)
    expected = [(GH, 3), (GH, 5), (GH,), (GH,)]
    if layer.layer_norm:
        expected += [(GH,), (GH,)]
        np.testing.assert_array_equal(layer.params[4], 1)
        np.testing.assert_array_equal(layer.params[5], 0)
    assert [p.shape for p in layer.params] == expected
    assert [g.shape for g in layer.grads] == expected
    assert all(p.dtype == np.float32 for p in layer.params)  # float32 by default
    bound = 1 / np.sqrt(5)
    assert all(np.abs(p).max() <= bound for p in layer.params[:4])
    assert layer.W_ih is layer.params[0] and layer.b_hh is layer.params[3]


@pytest.mark.parametrize("cls", ALL)
def test_set_params_does_not_copy_and_sees_updates(cls, rng):
    layer = cls(2, 3, dtype="float64", seed=0)
    new = [rng.standard_normal(p.shape) for p in layer.params]
    layer.set_params(new)
    assert all(a is b for a, b in zip(layer.params, new, strict=True))
    xs = rng.standard_normal((2, 3, 2))
    before = layer.forward(xs)
    new[1] *= 0.5  # an in-place change by the owner (e.g. an optimiser on a torch view)
    assert not np.allclose(layer.forward(xs), before)
    assert all(not g.any() and g.shape == p.shape for g, p in zip(layer.grads, new, strict=True))


def test_set_params_converts_other_dtypes(rng):
    layer = ref.TimeLSTM(2, 3)  # float32
    new64 = [rng.standard_normal(p.shape) for p in layer.params]
    new64[0] = np.asfortranarray(new64[0])
    layer.set_params(new64)
    assert all(p.dtype == np.float32 for p in layer.params)
    np.testing.assert_allclose(layer.params[0], new64[0], rtol=1e-6)


def test_grads_are_overwritten_not_accumulated(rng):
    layer = ref.TimeGRU(2, 3, dtype="float64", seed=0)
    xs, dhs = rng.standard_normal((2, 4, 2)), rng.standard_normal((2, 4, 3))
    layer.forward(xs)
    layer.backward(dhs)
    first = [g.copy() for g in layer.grads]
    refs = list(layer.grads)
    layer.forward(xs)
    layer.backward(dhs)
    for a, b, r in zip(first, layer.grads, refs, strict=True):
        np.testing.assert_array_equal(a, b)
        assert b is r  # written in place


def test_explicit_state_overrides_the_carried_one(rng):
    layer = ref.TimeLSTM(2, 3, stateful=True, dtype="float64", seed=0)
    xs = rng.standard_normal((2, 4, 2))
    fresh = ref.TimeLSTM(2, 3, dtype="float64", seed=0)
    s0 = (rng.standard_normal((2, 3)), rng.standard_normal((2, 3)))
    layer.forward(xs)
    np.testing.assert_array_equal(layer.forward(xs, s0), fresh.forward(xs, s0))
    layer.set_state(s0)
    np.testing.assert_array_equal(layer.forward(xs), fresh.forward(xs, s0))


def test_backward_without_dstate_equals_zero_dstate(rng):
    layer = ref.TimeLSTM(2, 3, dtype="float64", seed=0)
    xs, dhs = rng.standard_normal((2, 4, 2)), rng.standard_normal((2, 4, 3))
    layer.forward(xs)
    a = layer.backward(dhs)
    layer.forward(xs)
    b = layer.backward(dhs, (np.zeros((2, 3)), np.zeros((2, 3))))
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", ["float32", "float64", np.float32, np.float64])
def test_dtype_is_kept_end_to_end(dtype, rng):
    layer = ref.TimeLNGRU(2, 3, dtype=dtype)
    hs = layer.forward(rng.standard_normal((2, 4, 2)))  # float64 input is cast
    dx = layer.backward(np.ones((2, 4, 3)))
    want = np.dtype(dtype)
    assert hs.dtype == want and dx.dtype == want and layer.dstate0.dtype == want
    assert all(g.dtype == want for g in layer.grads)


def test_outputs_do_not_alias_internal_buffers(rng):
    layer = ref.TimeLSTM(2, 3, dtype="float64", seed=0)
    xs = rng.standard_normal((2, 4, 2))
    hs = layer.forward(xs)
    kept = hs.copy()
    layer.forward(xs * 2)
    np.testing.assert_array_equal(hs, kept)


# ---------------------------------------------------------------- bad input, pinned messages
def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match=r"hidden_size must be a positive int, got 0"):
        ref.TimeLSTM(3, 0)
    with pytest.raises(ValueError, match=r"input_size must be a positive int, got 2.5"):
        ref.TimeGRU(2.5, 3)
    with pytest.raises(TypeError, match=r"dtype must be 'float32' or 'float64', got 'float16'"):
        ref.TimeRNN(2, 3, dtype="float16")
    with pytest.raises(TypeError, match=r"dtype must be 'float32' or 'float64', got <class 'int'>"):
        ref.TimeRNN(2, 3, dtype=int)
    with pytest.raises(ValueError, match=r"nonlinearity must be 'tanh' or 'relu', got 'gelu'"):
        ref.TimeLNRNN(2, 3, nonlinearity="gelu")
    with pytest.raises(TypeError, match=r"stateful must be a bool, got 1"):
        ref.TimeLSTM(2, 3, stateful=1)


def test_bad_forward_input():
    layer = ref.TimeLSTM(3, 4)
    with pytest.raises(ValueError, match=r"xs must be a 3-d array, got shape \(2, 3\)"):
        layer.forward(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"xs must have shape \(B, T, 3\), got \(2, 5, 4\)"):
        layer.forward(np.zeros((2, 5, 4)))
    with pytest.raises(TypeError, match=r"xs must be a real numeric array, got dtype complex128"):
        layer.forward(np.zeros((2, 5, 3), complex))
    with pytest.raises(ValueError, match=r"xs must have B >= 1 and T >= 1, got shape \(2, 0, 3\)"):
        layer.forward(np.zeros((2, 0, 3)))


def test_bad_state():
    lstm, gru = ref.TimeLSTM(3, 4), ref.TimeGRU(3, 4)
    xs = np.zeros((2, 5, 3))
    with pytest.raises(ValueError, match=r"state must have shape \(2, 4\), got \(2, 5\)"):
        gru.forward(xs, np.zeros((2, 5)))
    with pytest.raises(ValueError, match=r"state must have shape \(2, 4\), got \(3, 4\)"):
        gru.forward(xs, np.zeros((3, 4)))
    with pytest.raises(TypeError, match=r"state must be a tuple \(h, c\) of \(B, 4\) arrays"):
        lstm.forward(xs, np.zeros((2, 4)))
    with pytest.raises(ValueError,
                       match=r"state\[1\] \(c\) must have shape \(2, 4\), got \(2, 3\)"):
        lstm.forward(xs, (np.zeros((2, 4)), np.zeros((2, 3))))
    with pytest.raises(ValueError, match=r"state must be a 2-d array, got shape \(4,\)"):
        gru.set_state(np.zeros(4))
    with pytest.raises(ValueError,
                       match=r"state\[0\] \(h\) must have shape \(B, 4\), got \(2, 2\)"):
        lstm.set_state((np.zeros((2, 2)), np.zeros((2, 4))))


def test_stateful_batch_change_is_an_error():
    layer = ref.TimeGRU(3, 4, stateful=True)
    layer.forward(np.zeros((2, 5, 3)))
    with pytest.raises(ValueError, match=r"xs batch size 3 differs from the carried state's 2"):
        layer.forward(np.zeros((3, 5, 3)))


def test_bad_backward_input():
    layer = ref.TimeRNN(3, 4)
    with pytest.raises(RuntimeError, match="backward called before forward"):
        layer.backward(np.zeros((2, 5, 4)))
    layer.forward(np.zeros((2, 5, 3)))
    with pytest.raises(ValueError, match=r"dhs must have shape \(2, 5, 4\), got \(2, 4, 4\)"):
        layer.backward(np.zeros((2, 4, 4)))
    with pytest.raises(ValueError, match=r"dstate must have shape \(2, 4\), got \(1, 4\)"):
        layer.backward(np.zeros((2, 5, 4)), np.zeros((1, 4)))


def test_bad_set_params():
    layer = ref.TimeLNGRU(3, 4)
    shapes = [p.shape for p in layer.params]
    with pytest.raises(ValueError, match=r"arrays must hold 6 arrays, got 4"):
        layer.set_params([np.zeros(s) for s in shapes[:4]])
    bad = [np.zeros(s) for s in shapes]
    bad[1] = np.zeros((12, 3))
    with pytest.raises(ValueError, match=r"arrays\[1\] must have shape \(12, 4\), got \(12, 3\)"):
        layer.set_params(bad)
