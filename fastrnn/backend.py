"""The Keras backend functions (``K``) of the seed examples, on NumPy arrays.

``import fastrnn as fr; K = fr.backend`` makes cell code written for
``tf.keras.backend`` run on NumPy values: ``K.dot(inputs, self.kernel)``,
``K.sigmoid(x)``, ``K.concatenate([a, b])``, ...

Examples
--------
>>> import numpy as np
>>> from fastrnn import backend as K
>>> K.dot(np.ones((2, 3)), np.ones((3, 4))).shape
(2, 4)
"""
from typing import Any, Optional

import numpy as np
from numpy.typing import ArrayLike

from . import activations as _activations

_floatx = "float32"
_EPSILON = 1e-7


def floatx() -> str:
    """The default float type name (``"float32"``)."""
    return _floatx


def set_floatx(value: Any) -> None:
    """Set the default float type (``"float32"`` or ``"float64"``)."""
    global _floatx
    if value not in ("float32", "float64"):
        raise ValueError(f"floatx must be 'float32' or 'float64', got {value!r}")
    _floatx = value


def epsilon() -> float:
    """The fuzz factor, 1e-7."""
    return _EPSILON


def _dtype(dtype):
    return np.dtype(dtype or _floatx)


# ---- creation -------------------------------------------------------------

def constant(value: Any, dtype: Any = None, shape: Any = None) -> np.ndarray:
    """An array from ``value`` (broadcast to ``shape`` when given)."""
    arr = np.asarray(value, dtype=_dtype(dtype))
    return np.broadcast_to(arr, shape).copy() if shape is not None else arr


def variable(value: Any, dtype: Any = None, name: Optional[str] = None) -> np.ndarray:
    """An array copy of ``value`` (NumPy has no variables)."""
    return np.array(value, dtype=_dtype(dtype))


def zeros(shape: Any, dtype: Any = None, name: Optional[str] = None) -> np.ndarray:
    """Zeros of ``shape``."""
    return np.zeros(shape, _dtype(dtype))


def ones(shape: Any, dtype: Any = None, name: Optional[str] = None) -> np.ndarray:
    """Ones of ``shape``."""
    return np.ones(shape, _dtype(dtype))


def zeros_like(x: ArrayLike, dtype: Any = None, name: Optional[str] = None) -> np.ndarray:
    """Zeros shaped like ``x``."""
    return np.zeros_like(x, dtype=dtype)


def ones_like(x: ArrayLike, dtype: Any = None, name: Optional[str] = None) -> np.ndarray:
    """Ones shaped like ``x``."""
    return np.ones_like(x, dtype=dtype)


def eye(size: Any, dtype: Any = None, name: Optional[str] = None) -> np.ndarray:
    """Identity matrix."""
    return np.eye(size, dtype=_dtype(dtype))


def get_value(x: ArrayLike) -> np.ndarray:
    """``x`` as an array."""
    return np.asarray(x)


def set_value(x: np.ndarray, value: Any) -> None:
    """Write ``value`` into the array ``x`` in place."""
    x[...] = value


def eval(x: ArrayLike) -> np.ndarray:  # noqa: A001 (Keras's name)
    """``x`` as an array."""
    return np.asarray(x)


def random_normal(shape: Any, mean: Any = 0.0, stddev: Any = 1.0, dtype: Any = None,
                  seed: Any = None) -> np.ndarray:
    """Normal samples."""
    return np.random.default_rng(seed).normal(mean, stddev, shape).astype(_dtype(dtype))


def random_uniform(shape: Any, minval: Any = 0.0, maxval: Any = 1.0, dtype: Any = None,
                   seed: Any = None) -> np.ndarray:
    """Uniform samples."""
    return np.random.default_rng(seed).uniform(minval, maxval, shape).astype(_dtype(dtype))


# ---- shapes ----------------------------------------------------------------

def shape(x: ArrayLike) -> Any:
    """The shape of ``x`` (a tuple)."""
    return np.shape(x)


def int_shape(x: ArrayLike) -> Any:
    """The shape of ``x`` as a tuple of ints."""
    return tuple(int(d) for d in np.shape(x))


def ndim(x: ArrayLike) -> int:
    """Number of dimensions."""
    return np.ndim(x)


def dtype(x: ArrayLike) -> Any:
    """The dtype name of ``x``."""
    return np.asarray(x).dtype.name


def cast(x: ArrayLike, dtype: Any) -> np.ndarray:
    """``x`` cast to ``dtype``."""
    return np.asarray(x).astype(dtype)


def reshape(x: ArrayLike, shape: Any) -> np.ndarray:
    """``x`` reshaped."""
    return np.reshape(x, shape)


def transpose(x: ArrayLike) -> np.ndarray:
    """Reverse the axes of ``x``."""
    return np.transpose(x)


def permute_dimensions(x: ArrayLike, pattern: Any) -> np.ndarray:
    """Permute the axes of ``x``."""
    return np.transpose(x, pattern)


def expand_dims(x: ArrayLike, axis: Any = -1) -> np.ndarray:
    """Insert an axis."""
    return np.expand_dims(x, axis)


def squeeze(x: ArrayLike, axis: Any) -> np.ndarray:
    """Remove an axis of size 1."""
    return np.squeeze(x, axis)


def flatten(x: ArrayLike) -> np.ndarray:
    """``x`` as a 1-D array."""
    return np.reshape(x, -1)


def batch_flatten(x: ArrayLike) -> np.ndarray:
    """``x`` as ``(batch, -1)``."""
    x = np.asarray(x)
    return x.reshape(x.shape[0], -1)


def concatenate(tensors: Any, axis: Any = -1) -> np.ndarray:
    """Join arrays along ``axis`` (last by default)."""
    return np.concatenate(tensors, axis=axis)


def stack(x: Any, axis: Any = 0) -> np.ndarray:
    """Stack arrays along a new ``axis``."""
    return np.stack(x, axis=axis)


def repeat(x: ArrayLike, n: int) -> np.ndarray:
    """``(batch, dim)`` to ``(batch, n, dim)``."""
    return np.repeat(np.expand_dims(x, 1), n, axis=1)


def tile(x: ArrayLike, n: int) -> np.ndarray:
    """Tile ``x``."""
    return np.tile(x, n)


def gather(reference: Any, indices: Any) -> np.ndarray:
    """``reference[indices]``."""
    return np.take(reference, indices, axis=0)


# ---- math ------------------------------------------------------------------

def dot(x: ArrayLike, y: ArrayLike) -> np.ndarray:
    """Matrix product; an N-D ``x`` contracts its last axis with ``y``'s first (as Keras)."""
    x, y = np.asarray(x), np.asarray(y)
    if y.ndim > 2:
        return np.tensordot(x, y, axes=([-1], [-2]))
    return np.dot(x, y)


def batch_dot(x: ArrayLike, y: ArrayLike, axes: Any = None) -> np.ndarray:
    """Batched matrix product of ``(batch, n, k)`` and ``(batch, k, m)``."""
    x, y = np.asarray(x), np.asarray(y)
    if axes is None:
        axes = (x.ndim - 1, y.ndim - 2 if y.ndim > 2 else 1)
    if isinstance(axes, int):
        axes = (axes, axes)
    x = np.moveaxis(x, axes[0], -1)
    y = np.moveaxis(y, axes[1], 1 if y.ndim > 1 else 0)
    if x.ndim == 2 and y.ndim == 2:
        return np.sum(x * y, axis=-1, keepdims=True)
    return np.matmul(x if x.ndim > 2 else x[:, None, :], y if y.ndim > 2 else y[:, :, None]) \
        .reshape(x.shape[:-1] + y.shape[2:] if x.ndim > 2 else (x.shape[0],) + y.shape[2:])


def bias_add(x: ArrayLike, bias: Any, data_format: Any = None) -> np.ndarray:
    """``x + bias`` over the last axis."""
    return np.asarray(x) + bias


def sum(x: ArrayLike, axis: Any = None, keepdims: bool = False) -> np.ndarray:  # noqa: A001
    """Sum."""
    return np.sum(x, axis=axis, keepdims=keepdims)


def mean(x: Any, axis: Any = None, keepdims: bool = False) -> np.ndarray:
    """Mean."""
    return np.mean(x, axis=axis, keepdims=keepdims)


def max(x: ArrayLike, axis: Any = None, keepdims: bool = False) -> np.ndarray:  # noqa: A001
    """Maximum."""
    return np.max(x, axis=axis, keepdims=keepdims)


def min(x: ArrayLike, axis: Any = None, keepdims: bool = False) -> np.ndarray:  # noqa: A001
    """Minimum."""
    return np.min(x, axis=axis, keepdims=keepdims)


def prod(x: Any, axis: Any = None, keepdims: bool = False) -> np.ndarray:
    """Product."""
    return np.prod(x, axis=axis, keepdims=keepdims)


def abs(x: ArrayLike) -> np.ndarray:  # noqa: A001
    """Absolute value."""
    return np.abs(x)


def square(x: ArrayLike) -> np.ndarray:
    """``x ** 2``."""
    return np.square(x)


def sqrt(x: ArrayLike) -> np.ndarray:
    """Square root (negative inputs clipped to 0, as Keras)."""
    return np.sqrt(np.maximum(x, 0))


def exp(x: ArrayLike) -> np.ndarray:
    """``e ** x``."""
    return np.exp(x)


def log(x: ArrayLike) -> np.ndarray:
    """Natural logarithm."""
    return np.log(x)


def pow(x: ArrayLike, a: Any) -> np.ndarray:  # noqa: A001
    """``x ** a``."""
    return np.power(x, a)


def clip(x: ArrayLike, min_value: Any, max_value: Any) -> np.ndarray:
    """Clip to ``[min_value, max_value]``."""
    return np.clip(x, min_value, max_value)


def maximum(x: ArrayLike, y: ArrayLike) -> np.ndarray:
    """Element-wise maximum."""
    return np.maximum(x, y)


def minimum(x: ArrayLike, y: ArrayLike) -> np.ndarray:
    """Element-wise minimum."""
    return np.minimum(x, y)


def switch(condition: Any, then_expression: Any, else_expression: Any) -> np.ndarray:
    """``where(condition, then, else)``."""
    return np.where(condition, then_expression, else_expression)


def l2_normalize(x: ArrayLike, axis: Any = None) -> np.ndarray:
    """``x / sqrt(max(sum(x ** 2), epsilon))``."""
    x = np.asarray(x)
    return x / np.sqrt(np.maximum(np.sum(np.square(x), axis=axis, keepdims=True), 1e-12))


# ---- activations (the ones of fastrnn.activations) -------------------------

sigmoid = _activations.sigmoid
tanh = _activations.tanh
hard_sigmoid = _activations.hard_sigmoid
elu = _activations.elu
selu = _activations.selu
softplus = _activations.softplus
softsign = _activations.softsign
softmax = _activations.softmax


def relu(x: ArrayLike, alpha: Any = 0.0, max_value: Any = None,
         threshold: Any = 0.0) -> np.ndarray:
    """Rectified linear unit with Keras's options."""
    x = np.asarray(x)
    y = np.where(x > threshold, x, alpha * (x - threshold))
    return y if max_value is None else np.minimum(y, max_value)


def dropout(x: ArrayLike, level: Any, noise_shape: Any = None, seed: Any = None) -> np.ndarray:
    """Inverted dropout: zero a fraction ``level`` of ``x``, scale the rest by ``1/(1 - level)``."""
    x = np.asarray(x)
    keep = np.random.default_rng(seed).random(noise_shape or x.shape) >= level
    return x * keep / (1.0 - level)


def in_train_phase(x: Any, alt: Any, training: Optional[bool] = None) -> Any:
    """``x`` when training, else ``alt`` (callables are called)."""
    chosen = x if training else alt
    return chosen() if callable(chosen) else chosen
