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
import numpy as np

from . import activations as _activations

_floatx = "float32"
_EPSILON = 1e-7


def floatx():
    """The default float type name (``"float32"``)."""
    return _floatx


def set_floatx(value):
    """Set the default float type (``"float32"`` or ``"float64"``)."""
    global _floatx
    if value not in ("float32", "float64"):
        raise ValueError(f"floatx must be 'float32' or 'float64', got {value!r}")
    _floatx = value


def epsilon():
    """The fuzz factor, 1e-7."""
    return _EPSILON


def _dtype(dtype):
    return np.dtype(dtype or _floatx)


# ---- creation -------------------------------------------------------------

def constant(value, dtype=None, shape=None):
    """An array from ``value`` (broadcast to ``shape`` when given)."""
    arr = np.asarray(value, dtype=_dtype(dtype))
    return np.broadcast_to(arr, shape).copy() if shape is not None else arr


def variable(value, dtype=None, name=None):
    """An array copy of ``value`` (NumPy has no variables)."""
    return np.array(value, dtype=_dtype(dtype))


def zeros(shape, dtype=None, name=None):
    """Zeros of ``shape``."""
    return np.zeros(shape, _dtype(dtype))


def ones(shape, dtype=None, name=None):
    """Ones of ``shape``."""
    return np.ones(shape, _dtype(dtype))


def zeros_like(x, dtype=None, name=None):
    """Zeros shaped like ``x``."""
    return np.zeros_like(x, dtype=dtype)


def ones_like(x, dtype=None, name=None):
    """Ones shaped like ``x``."""
    return np.ones_like(x, dtype=dtype)


def eye(size, dtype=None, name=None):
    """Identity matrix."""
    return np.eye(size, dtype=_dtype(dtype))


def get_value(x):
    """``x`` as an array."""
    return np.asarray(x)


def set_value(x, value):
    """Write ``value`` into the array ``x`` in place."""
    x[...] = value


def eval(x):  # noqa: A001 (Keras's name)
    """``x`` as an array."""
    return np.asarray(x)


def random_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Normal samples."""
    return np.random.default_rng(seed).normal(mean, stddev, shape).astype(_dtype(dtype))


def random_uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    """Uniform samples."""
    return np.random.default_rng(seed).uniform(minval, maxval, shape).astype(_dtype(dtype))


# ---- shapes ----------------------------------------------------------------

def shape(x):
    """The shape of ``x`` (a tuple)."""
    return np.shape(x)


def int_shape(x):
    """The shape of ``x`` as a tuple of ints."""
    return tuple(int(d) for d in np.shape(x))


def ndim(x):
    """Number of dimensions."""
    return np.ndim(x)


def dtype(x):
    """The dtype name of ``x``."""
    return np.asarray(x).dtype.name


def cast(x, dtype):
    """``x`` cast to ``dtype``."""
    return np.asarray(x).astype(dtype)


def reshape(x, shape):
    """``x`` reshaped."""
    return np.reshape(x, shape)


def transpose(x):
    """Reverse the axes of ``x``."""
    return np.transpose(x)


def permute_dimensions(x, pattern):
    """Permute the axes of ``x``."""
    return np.transpose(x, pattern)


def expand_dims(x, axis=-1):
    """Insert an axis."""
    return np.expand_dims(x, axis)


def squeeze(x, axis):
    """Remove an axis of size 1."""
    return np.squeeze(x, axis)


def flatten(x):
    """``x`` as a 1-D array."""
    return np.reshape(x, -1)


def batch_flatten(x):
    """``x`` as ``(batch, -1)``."""
    x = np.asarray(x)
    return x.reshape(x.shape[0], -1)


def concatenate(tensors, axis=-1):
    """Join arrays along ``axis`` (last by default)."""
    return np.concatenate(tensors, axis=axis)


def stack(x, axis=0):
    """Stack arrays along a new ``axis``."""
    return np.stack(x, axis=axis)


def repeat(x, n):
    """``(batch, dim)`` to ``(batch, n, dim)``."""
    return np.repeat(np.expand_dims(x, 1), n, axis=1)


def tile(x, n):
    """Tile ``x``."""
    return np.tile(x, n)


def gather(reference, indices):
    """``reference[indices]``."""
    return np.take(reference, indices, axis=0)


# ---- math ------------------------------------------------------------------

def dot(x, y):
    """Matrix product; an N-D ``x`` contracts its last axis with ``y``'s first (as Keras)."""
    x, y = np.asarray(x), np.asarray(y)
    if y.ndim > 2:
        return np.tensordot(x, y, axes=([-1], [-2]))
    return np.dot(x, y)


def batch_dot(x, y, axes=None):
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


def bias_add(x, bias, data_format=None):
    """``x + bias`` over the last axis."""
    return np.asarray(x) + bias


def sum(x, axis=None, keepdims=False):  # noqa: A001
    """Sum."""
    return np.sum(x, axis=axis, keepdims=keepdims)


def mean(x, axis=None, keepdims=False):
    """Mean."""
    return np.mean(x, axis=axis, keepdims=keepdims)


def max(x, axis=None, keepdims=False):  # noqa: A001
    """Maximum."""
    return np.max(x, axis=axis, keepdims=keepdims)


def min(x, axis=None, keepdims=False):  # noqa: A001
    """Minimum."""
    return np.min(x, axis=axis, keepdims=keepdims)


def prod(x, axis=None, keepdims=False):
    """Product."""
    return np.prod(x, axis=axis, keepdims=keepdims)


def abs(x):  # noqa: A001
    """Absolute value."""
    return np.abs(x)


def square(x):
    """``x ** 2``."""
    return np.square(x)


def sqrt(x):
    """Square root (negative inputs clipped to 0, as Keras)."""
    return np.sqrt(np.maximum(x, 0))


def exp(x):
    """``e ** x``."""
    return np.exp(x)


def log(x):
    """Natural logarithm."""
    return np.log(x)


def pow(x, a):  # noqa: A001
    """``x ** a``."""
    return np.power(x, a)


def clip(x, min_value, max_value):
    """Clip to ``[min_value, max_value]``."""
    return np.clip(x, min_value, max_value)


def maximum(x, y):
    """Element-wise maximum."""
    return np.maximum(x, y)


def minimum(x, y):
    """Element-wise minimum."""
    return np.minimum(x, y)


def switch(condition, then_expression, else_expression):
    """``where(condition, then, else)``."""
    return np.where(condition, then_expression, else_expression)


def l2_normalize(x, axis=None):
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


def relu(x, alpha=0.0, max_value=None, threshold=0.0):
    """Rectified linear unit with Keras's options."""
    x = np.asarray(x)
    y = np.where(x > threshold, x, alpha * (x - threshold))
    return y if max_value is None else np.minimum(y, max_value)


def dropout(x, level, noise_shape=None, seed=None):
    """Inverted dropout: zero a fraction ``level`` of ``x``, scale the rest by ``1/(1 - level)``."""
    x = np.asarray(x)
    keep = np.random.default_rng(seed).random(noise_shape or x.shape) >= level
    return x * keep / (1.0 - level)


def in_train_phase(x, alt, training=None):
    """``x`` when training, else ``alt`` (callables are called)."""
    chosen = x if training else alt
    return chosen() if callable(chosen) else chosen
