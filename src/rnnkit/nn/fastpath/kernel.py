r"""What every CPU kernel of the fast path shares: parameters without copies, work buffers,
time-major edges and variable lengths.

A kernel runs one cell over T steps on NumPy arrays that share memory with torch tensors
(:mod:`~rnnkit.nn.fastpath.numpy_function` is the bridge). Its interface is the reference
engine's time layers' (:class:`rnnkit.ref.TimeRecurrent`), so tests can hold one against the
other, but nothing is shared with them:

    kernel = Kernel(input_size, hidden_size, dtype="float32")      (+ options of the kernel)
    kernel.set_params([W_ih (G*H, D), W_hh (G*H, H), b_ih, b_hh (+ gamma, beta)])  no copy
    kernel.lengths = lengths (B,) or None                          right-padded rows
    hs = kernel.forward(xs (B, T, D), state)   -> hs (B, T, H); kernel.state: the final state
    dx = kernel.backward(dhs (B, T, H), dstate) -> dx (B, T, D); kernel.grads, kernel.dstate0

with state ``h`` (B, H) or ``(h, c)`` for LSTM (None: zeros). Subclasses write the time loop
time-major, ``_forward_tm(X (T, B, D), s0) -> (Hs (T+1, B, H), *other state buffers)`` and
``_backward_tm(dH (T, B, H), dfinal) -> (dX (T, B, D), dstate0 parts)`` (with
``columns_layout``, also ``_forward_columns`` and ``_backward_columns``, below), on buffers reused
from call to call (:meth:`Kernel._buf`) and their per-step views, made once per buffer
(:meth:`Kernel._steps`). Where a step is small (:func:`~rnnkit.nn.fastpath.jit.whole_loop`)
the whole time loop is one compiled call instead, each kernel's ``_forward_loop`` and
``_backward_loop``, the product as ``np.dot`` inside Numba: the GRU's calls its step functions
on one thread; the LN kernels' (``columns_layout``) keep their buffers in the columns layout of
:mod:`~rnnkit.nn.fastpath.columns`, (width, B) per step, and for such a call
(:attr:`Kernel.columns`) :meth:`Kernel.forward` and :meth:`Kernel.backward` call
``_forward_columns`` and ``_backward_columns`` instead, and every (B, H) array passed in or out
of them is (H, B): s0 and the final state's gradient come in transposed
(views), dH as (T, H, B), the states and dstate0 parts go out as (T+1, H, B) and (H, B), and
:meth:`Kernel.forward` / :meth:`Kernel.backward` turn them back. With lengths the final state is
each row's after its own last step and the final state's gradient enters there
(:mod:`~rnnkit.nn.fastpath.lengths`). Arguments are the bridge's, already checked by the layer:
no validation here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from rnnkit.nn.fastpath.jit import blas_on_one_thread, numpy_products, whole_loop
from rnnkit.nn.fastpath.lengths import StepEnds


class Kernel:
    """Base class of the CPU kernels (not used directly)."""

    #: gate blocks G in the weights (1 RNN, 3 GRU, 4 LSTM)
    gates: int = 1
    #: number of state arrays (2 for LSTM's (h, c), else 1)
    state_parts: int = 1
    #: whether the parameters end with LayerNorm's gamma and beta (G*H,)
    layer_norm: bool = False
    #: whether the compiled whole loop keeps the batch along the columns (module doc)
    columns_layout: bool = False

    def __init__(self, input_size: int, hidden_size: int, *, dtype: Any = "float32") -> None:
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.dtype = np.dtype(dtype)
        self.params: list[np.ndarray] = []
        self.grads: list[np.ndarray] = []
        #: lengths (B,) of the right-padded rows of the next forward, or None (all full)
        self.lengths: np.ndarray | None = None
        self.state: Any = None
        self.dstate0: Any = None
        self.step_ends: StepEnds | None = None  # where the rows of the last forward ended
        #: whether the last forward, and so its backward, ran the compiled whole loop
        self.whole_loop = False
        self._cache: dict[str, Any] = {}
        self._buffers: dict[str, np.ndarray] = {}
        self._views: dict[tuple[str, bool], list[Any]] = {}  # (name, tensors) -> step views

    @property
    def param_shapes(self) -> list[tuple[int, ...]]:
        """The shapes ``params`` must have, in order."""
        D, H, GH = self.input_size, self.hidden_size, self.gates * self.hidden_size
        shapes = [(GH, D), (GH, H), (GH,), (GH,)]
        return [*shapes, (GH,), (GH,)] if self.layer_norm else shapes

    def set_params(self, arrays: Any) -> None:
        """Use ``arrays`` as the parameters, in ``params`` order: arrays of the kernel's dtype,
        C-contiguous, are used as they are (no copy), others converted. ``grads`` keep their
        arrays while the shapes stay the same (the bridge copies them out after backward)."""
        self.params = [np.ascontiguousarray(a, dtype=self.dtype) for a in arrays]
        if [g.shape for g in self.grads] != [p.shape for p in self.params]:
            self.grads = [np.zeros_like(p) for p in self.params]

    def _buf(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """A work buffer reused from call to call while its shape stays the same."""
        b = self._buffers.get(name)
        if b is None or b.shape != shape:
            b = np.empty(shape, self.dtype)
            self._buffers[name] = b
            self._views.pop((name, False), None)
            self._views.pop((name, True), None)
        return b

    def _steps(self, name: str, tensors: bool = False) -> list[Any]:
        """The steps ``[buf[0], buf[1], ...]`` of the work buffer ``name`` as NumPy views, or
        torch views with ``tensors``, made once per buffer. Indexing in the time loop costs
        about 0.1 us a view (torch: 0.4 us), and a step of the GRU forward takes 13 views: at
        (64, 50, 1, 20), where a step is about 12 us, that is a tenth of it."""
        views = self._views.get((name, tensors))
        if views is None:
            b = self._buffers[name]
            views = list(torch.from_numpy(b).unbind(0)) if tensors else list(b)
            self._views[(name, tensors)] = views
        return views

    @property
    def columns(self) -> bool:
        """Whether the last forward, and so its backward, kept its buffers in the columns
        layout: the compiled whole loop of a kernel with ``columns_layout``."""
        return self.whole_loop and self.columns_layout

    def forward(self, xs: np.ndarray, state: Any = None) -> np.ndarray:
        """xs (B, T, D) -> hs (B, T, H), a new array; sets ``state``, the final state."""
        B, T, _ = xs.shape
        H = self.hidden_size
        if state is None:
            s0 = tuple(np.zeros((B, H), self.dtype) for _ in range(self.state_parts))
        else:
            s0 = tuple(state) if self.state_parts == 2 else (state,)
        X = np.ascontiguousarray(np.asarray(xs, self.dtype).transpose(1, 0, 2))  # (T, B, D)
        self._cache["X"] = X
        self.step_ends = StepEnds(self.lengths, B, T)
        self.whole_loop = whole_loop(B, H, self.gates * H)
        if self.columns:
            s0 = tuple(s.T for s in s0)  # (H, B) views
        run = self._forward_columns if self.columns else self._forward_tm
        with self._numpy_context():
            states = run(X, s0)  # (T+1, B, H) each, states[0][t] = h_t
        if self.columns:
            states = tuple(S.transpose(0, 2, 1) for S in states)  # (T+1, H, B) -> views
        final = tuple(self.step_ends.final(S).copy() for S in states)  # (B, H) each
        self.state = final if self.state_parts == 2 else final[0]
        return np.ascontiguousarray(states[0][1:].transpose(1, 0, 2))  # (B, T, H)

    def backward(self, dhs: np.ndarray, dstate: Any = None) -> np.ndarray:
        """dhs (B, T, H) (and dstate at the final state) -> dx (B, T, D), a new array; sets
        ``grads`` and ``dstate0``."""
        dfinal = None
        if dstate is not None:
            dfinal = tuple(dstate) if self.state_parts == 2 else (dstate,)
        order = (1, 2, 0) if self.columns else (1, 0, 2)  # (T, H, B) or (T, B, H)
        dH = np.ascontiguousarray(np.asarray(dhs, self.dtype).transpose(order))
        run = self._backward_columns if self.columns else self._backward_tm
        with self._numpy_context():
            dX, d0 = run(dH, dfinal)  # (T, B, D)
        if self.columns:
            d0 = tuple(np.ascontiguousarray(d.T) for d in d0)  # (H, B) -> (B, H)
        self.dstate0 = d0 if self.state_parts == 2 else d0[0]
        return np.ascontiguousarray(dX.transpose(1, 0, 2))  # (B, T, D)

    @staticmethod
    @contextlib.contextmanager
    def _numpy_context() -> Iterator[None]:
        """OpenBLAS held to one thread where the products run in NumPy
        (:func:`~rnnkit.nn.fastpath.jit.numpy_products`), and NumPy's overflow and invalid-
        value warnings off: a diverging fit's inf and NaN go through the kernel as they go
        through torch's ops, which never warn, and the trainer stops on the non-finite loss
        (whether a BLAS product flags inf * 0 depends on the CPU's OpenBLAS kernel: an
        AVX-512 Xeon's did where an EPYC's had not)."""
        blas = blas_on_one_thread() if numpy_products() else contextlib.nullcontext()
        with np.errstate(over="ignore", invalid="ignore"), blas:
            yield

    def _final_grads(self, dfinal: tuple[np.ndarray, ...] | None) -> tuple[np.ndarray, ...]:
        """The final state's gradient for the compiled loops: ``state_parts`` C-contiguous
        (B, H) arrays of the kernel's dtype, (H, B) for a columns call, zeros where
        ``dfinal`` is None."""
        B, H = len(self.step_ends.ends), self.hidden_size
        if dfinal is None:
            shape = (H, B) if self.columns else (B, H)
            return tuple(np.zeros(shape, self.dtype) for _ in range(self.state_parts))
        return tuple(np.ascontiguousarray(d.T if self.columns else d, self.dtype)
                     for d in dfinal)

    def _forward_tm(self, X: np.ndarray, s0: tuple[np.ndarray, ...]):  # pragma: no cover
        raise NotImplementedError

    def _backward_tm(self, dH: np.ndarray, dfinal):  # pragma: no cover
        raise NotImplementedError

    def _forward_columns(self, X: np.ndarray, s0: tuple[np.ndarray, ...]):  # pragma: no cover
        raise NotImplementedError  # kernels with columns_layout

    def _backward_columns(self, dH: np.ndarray, dfinal):  # pragma: no cover
        raise NotImplementedError
