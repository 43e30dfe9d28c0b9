"""Plain layers of the reference engine: Linear, Embedding, Dropout, activations, time wrappers.

Every layer follows one protocol (Deep Learning from Scratch 2 style):

- ``params`` / ``grads``: lists of arrays of equal shapes (empty for parameter-free layers);
- ``forward(x)`` computes the output and caches what ``backward`` needs;
- ``backward(dout)`` returns the gradient w.r.t. the input and OVERWRITES ``grads`` in place
  (``self.grads[0][...] = ...``), so an optimiser holding references to them sees the update.

Weights follow torch.nn's layout: ``Linear.W`` is (out_features, in_features), ``y = x W^T + b``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnkit.ref._checks import (
    as_float_array,
    as_index_array,
    check_rate,
    check_shape,
    check_size,
    resolve_dtype,
)
from rnnkit.ref.functional import sigmoid


class Layer:
    """Base of the parameter-free layers: no params, forward/backward to override."""

    params: list[np.ndarray]
    grads: list[np.ndarray]

    def __init__(self) -> None:
        self.params, self.grads = [], []

    def __call__(self, x: Any) -> np.ndarray:
        return self.forward(x)

    def forward(self, x: Any) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def backward(self, dout: np.ndarray) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError


class Linear(Layer):
    """Affine map over the last axis: ``y = x W^T + b``; x (..., in) -> y (..., out).

    ``Linear(in_features, out_features, *, bias=True, dtype="float32", seed=None)``;
    W (out, in) and b (out,) ~ U(-1/sqrt(in), 1/sqrt(in)) as in torch.nn.Linear.
    Backward: dW = dy^T x, db = sum dy, dx = dy W (over all leading axes).
    """

    def __init__(self, in_features: int, out_features: int, *, bias: bool = True,
                 dtype: Any = "float32", seed: int | None = None) -> None:
        super().__init__()
        self.in_features = check_size(in_features, "in_features")
        self.out_features = check_size(out_features, "out_features")
        self.dtype = resolve_dtype(dtype)
        rng = np.random.default_rng(seed)
        k = 1.0 / np.sqrt(self.in_features)
        self.params = [rng.uniform(-k, k, (self.out_features, self.in_features)).astype(self.dtype)]
        if bias:
            self.params.append(rng.uniform(-k, k, self.out_features).astype(self.dtype))
        self.grads = [np.zeros_like(p) for p in self.params]
        self._x: np.ndarray | None = None

    def _check_x(self, x: Any) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim < 1:
            raise ValueError(f"x must have at least 1 dimension, got shape {x.shape}")
        x = as_float_array(x, "x", x.ndim, self.dtype)
        if x.shape[-1] != self.in_features:
            raise ValueError(f"x must have last dimension {self.in_features}, got shape {x.shape}")
        return x

    def forward(self, x: Any) -> np.ndarray:
        x = self._check_x(x)
        self._x = x
        y = x @ self.params[0].T  # (..., out)
        if len(self.params) > 1:
            y += self.params[1]
        return y

    def backward(self, dout: np.ndarray) -> np.ndarray:
        if self._x is None:
            raise RuntimeError("backward called before forward")
        x = self._x
        dout = as_float_array(dout, "dout", x.ndim, self.dtype)
        check_shape(dout, "dout", (*x.shape[:-1], self.out_features), ",".join("." * x.ndim))
        d2 = dout.reshape(-1, self.out_features)  # (N, out)
        np.matmul(d2.T, x.reshape(-1, self.in_features), out=self.grads[0])
        if len(self.params) > 1:
            np.sum(d2, axis=0, out=self.grads[1])
        return dout @ self.params[0]  # (..., in)


class TimeLinear(Linear):
    """:class:`Linear` applied at every time step: hs (B, T, H) -> ys (B, T, out)."""

    def _check_x(self, x: Any) -> np.ndarray:
        x = as_float_array(x, "xs", 3, self.dtype)
        check_shape(x, "xs", (None, None, self.in_features), "B,T,D")
        return x


class Embedding(Layer):
    """Row look-up: ``y = W[ids]``; ids (...) integers in [0, num_embeddings) -> (..., dim).

    ``Embedding(num_embeddings, embedding_dim, *, dtype="float32", seed=None)``; W ~ N(0, 1)
    like torch.nn.Embedding. Backward: dW = 0, then dW[ids] += dy (repeated ids add up);
    returns None (ids have no gradient).
    """

    ndim: int | None = None

    def __init__(self, num_embeddings: int, embedding_dim: int, *, dtype: Any = "float32",
                 seed: int | None = None) -> None:
        super().__init__()
        self.num_embeddings = check_size(num_embeddings, "num_embeddings")
        self.embedding_dim = check_size(embedding_dim, "embedding_dim")
        self.dtype = resolve_dtype(dtype)
        rng = np.random.default_rng(seed)
        shape = (self.num_embeddings, self.embedding_dim)
        self.params = [rng.standard_normal(shape).astype(self.dtype)]
        self.grads = [np.zeros_like(self.params[0])]
        self._ids: np.ndarray | None = None

    def forward(self, ids: Any) -> np.ndarray:
        name = "ids" if self.ndim is None else "xs"
        ids = as_index_array(ids, name, self.ndim)
        if ids.size and (ids.min() < 0 or ids.max() >= self.num_embeddings):
            raise ValueError(f"{name} must lie in [0, {self.num_embeddings}), got values in "
                             f"[{ids.min()}, {ids.max()}]")
        self._ids = ids
        return self.params[0][ids]  # (..., E)

    def backward(self, dout: np.ndarray) -> None:
        if self._ids is None:
            raise RuntimeError("backward called before forward")
        dW = self.grads[0]
        dW[...] = 0
        dout = np.asarray(dout, dtype=self.dtype).reshape(-1, self.embedding_dim)
        np.add.at(dW, self._ids.reshape(-1), dout)
        return None


class TimeEmbedding(Embedding):
    """:class:`Embedding` of a batch of id sequences: xs (B, T) -> (B, T, E)."""

    ndim = 2


class Dropout(Layer):
    """Inverted dropout: in training ``y = x * m / (1 - p)`` with m ~ Bernoulli(1 - p).

    ``Dropout(p=0.5, *, seed=None)``; ``layer.training = False`` makes it the identity.
    """

    def __init__(self, p: float = 0.5, *, seed: int | None = None) -> None:
        super().__init__()
        self.p = check_rate(p, "p")
        self.training = True
        self._rng = np.random.default_rng(seed)
        self._mask: np.ndarray | None = None

    def forward(self, x: Any) -> np.ndarray:
        x = np.asarray(x)
        if not self.training or self.p == 0:
            self._mask = None
            return x
        keep = self._rng.random(x.shape) >= self.p
        self._mask = keep.astype(x.dtype) / x.dtype.type(1 - self.p)
        return x * self._mask

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return dout if self._mask is None else dout * self._mask


class Sigmoid(Layer):
    """y = 1 / (1 + exp(-x)); dy/dx = y (1 - y)."""

    def forward(self, x: Any) -> np.ndarray:
        self._y = sigmoid(np.asarray(x, dtype=np.result_type(np.asarray(x).dtype, np.float32)))
        return self._y

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return dout * self._y * (1 - self._y)


class Tanh(Layer):
    """y = tanh(x); dy/dx = 1 - y^2."""

    def forward(self, x: Any) -> np.ndarray:
        self._y = np.tanh(x)
        return self._y

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return dout * (1 - self._y * self._y)


class ReLU(Layer):
    """y = max(x, 0); dy/dx = [x > 0]."""

    def forward(self, x: Any) -> np.ndarray:
        x = np.asarray(x)
        self._pos = x > 0
        return np.where(self._pos, x, 0).astype(x.dtype, copy=False)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return dout * self._pos


class LastTimeStep(Layer):
    """Keep the last step of a sequence: hs (B, T, H) -> hs[:, -1] (B, H) (Keras'
    ``return_sequences=False``). Backward puts dout at step T and zeros elsewhere."""

    def forward(self, x: Any) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim != 3:
            raise ValueError(f"hs must be a 3-d array (B, T, H), got shape {x.shape}")
        self._shape, self._dtype = x.shape, x.dtype
        return x[:, -1]

    def backward(self, dout: np.ndarray) -> np.ndarray:
        dx = np.zeros(self._shape, self._dtype)
        dx[:, -1] = dout
        return dx
