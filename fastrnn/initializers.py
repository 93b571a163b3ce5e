"""Weight initializers with tf.keras names, classes and configs, on NumPy.

An initializer is called as ``initializer(shape, dtype=None)`` and returns a
new array.  One built with a ``seed`` returns the same values at every call
(reproducible); one without draws from a process-wide generator.

Accepted everywhere an initializer is expected (:func:`get`): a name
(``"glorot_uniform"``, ``"orthogonal"``, ``"zeros"``, ``"ones"``, ``"uniform"``,
``"random_normal"``, ...), a config dict ``{"class_name": "GlorotUniform",
"config": {"seed": None}}``, an :class:`Initializer` instance, or any callable
``f(shape, dtype=None)``.

Examples
--------
>>> from fastrnn import initializers
>>> init = initializers.get({"class_name": "RandomNormal",
...                          "config": {"mean": 0.0, "stddev": 0.1, "seed": 3}})
>>> bool((init((2, 3)) == init((2, 3))).all())
True
>>> initializers.serialize(initializers.get("glorot_uniform"))
{'class_name': 'GlorotUniform', 'config': {'seed': None}}
"""
import math
from typing import Any, Dict

import numpy as np

from ._catalog import Catalog, Configurable

__all__ = ["Initializer", "Zeros", "Ones", "Constant", "RandomUniform", "RandomNormal",
           "TruncatedNormal", "VarianceScaling", "GlorotUniform", "GlorotNormal",
           "HeUniform", "HeNormal", "LecunUniform", "LecunNormal", "Orthogonal",
           "Identity", "get", "serialize", "deserialize"]

_unseeded = np.random.default_rng()


def _float_dtype(dtype):
    return np.dtype(np.float32 if dtype is None else getattr(dtype, "name", dtype))


def _shape(shape):
    return tuple(int(d) for d in shape)


class Initializer(Configurable):
    """Base class: subclasses define ``__call__(shape, dtype=None)`` and ``get_config()``."""

    def __call__(self, shape: Any, dtype: Any = None) -> np.ndarray:
        raise NotImplementedError

    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> "Initializer":
        """Build an initializer from ``get_config()``'s dict."""
        config = dict(config)
        config.pop("dtype", None)  # Keras 1/2 era configs may carry one
        return cls(**config)


class _Seeded(Initializer):
    """An initializer drawing random numbers; ``seed`` makes every call reproducible."""

    def __init__(self, seed=None):
        self.seed = seed

    def _rng(self):
        return _unseeded if self.seed is None else np.random.default_rng(self.seed)


class Zeros(Initializer):
    """All zeros."""

    def __call__(self, shape: Any, dtype: Any = None) -> np.ndarray:
        return np.zeros(_shape(shape), _float_dtype(dtype))


class Ones(Initializer):
    """All ones."""

    def __call__(self, shape: Any, dtype: Any = None) -> np.ndarray:
        return np.ones(_shape(shape), _float_dtype(dtype))


class Constant(Initializer):
    """Every element equal to ``value``."""

    def __init__(self, value: Any = 0) -> None:
        self.value = value

    def __call__(self, shape: Any, dtype: Any = None) -> np.ndarray:
        return np.full(_shape(shape), self.value, _float_dtype(dtype))

    def get_config(self) -> Dict[str, Any]:
        return {"value": self.value}


class RandomUniform(_Seeded):
    """Uniform on ``[minval, maxval)``."""

    def __init__(self, minval: Any = -0.05, maxval: Any = 0.05, seed: Any = None) -> None:
        super().__init__(seed)
        self.minval, self.maxval = minval, maxval

    def __call__(self, shape: Any, dtype: Any = None) -> np.ndarray:
        values = self._rng().uniform(self.minval, self.maxval, _shape(shape))
        return values.astype(_float_dtype(dtype))

    def get_config(self) -> Dict[str, Any]:
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class RandomNormal(_Seeded):
    """Normal with ``mean`` and ``stddev``."""

    def __init__(self, mean: Any = 0.0, stddev: Any = 0.05, seed: Any = None) -> None:
        super().__init__(seed)
        self.mean, self.stddev = mean, stddev

    def __call__(self, shape: Any, dtype: Any = None) -> np.ndarray:
        values = self._rng().normal(self.mean, self.stddev, _shape(shape))
        return values.astype(_float_dtype(dtype))

    def get_config(self) -> Dict[str, Any]:
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


def _truncated_normal(rng, shape, mean, stddev):
    """Normal samples redrawn until within two standard deviations of the mean."""
    values = rng.standard_normal(shape)
    outside = np.abs(values) > 2.0
    while outside.any():
        values[outside] = rng.standard_normal(int(outside.sum()))
        outside = np.abs(values) > 2.0
    return mean + stddev * values


class TruncatedNormal(_Seeded):
    """Normal with ``mean`` and ``stddev``, values beyond two stddevs redrawn."""

    def __init__(self, mean: Any = 0.0, stddev: Any = 0.05, seed: Any = None) -> None:
        super().__init__(seed)
        self.mean, self.stddev = mean, stddev

    def __call__(self, shape: Any, dtype: Any = None) -> np.ndarray:
        values = _truncated_normal(self._rng(), _shape(shape), self.mean, self.stddev)
        return values.astype(_float_dtype(dtype))

    def get_config(self) -> Dict[str, Any]:
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


def _fans(shape, input_axes=None, output_axes=None):
    """Keras fan-in / fan-out: 2-D ``(in, out)``; N-D kernels scale by the receptive field;
    with Keras 3's ``input_axes`` and ``output_axes``, the products of those axes."""
    if input_axes is not None and output_axes is not None:
        return (math.prod(shape[axis] for axis in input_axes),
                math.prod(shape[axis] for axis in output_axes))
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


class VarianceScaling(_Seeded):
    """Samples scaled to the fan of the weight (the family of Glorot, He and LeCun).

    Parameters
    ----------
    scale : float
    mode : {"fan_in", "fan_out", "fan_avg"}
    distribution : {"truncated_normal", "untruncated_normal", "normal", "uniform"}
    seed : int, optional
    input_axes, output_axes : list of int, optional
        Keras 3: the axes whose sizes multiply into the fan-in / fan-out
        (both needed); default, tf.keras's rule from the last two axes.
    """

    _DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "normal", "uniform")

    def __init__(self, scale: Any = 1.0, mode: Any = "fan_in",
                 distribution: Any = "truncated_normal", seed: Any = None, input_axes: Any = None,
                 output_axes: Any = None) -> None:
        super().__init__(seed)
        self.input_axes = None if input_axes is None else [int(a) for a in input_axes]
        self.output_axes = None if output_axes is None else [int(a) for a in output_axes]
        if scale <= 0:
            raise ValueError(f"VarianceScaling scale must be positive, got {scale}")
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"VarianceScaling mode must be 'fan_in', 'fan_out' or "
                             f"'fan_avg', got {mode!r}")
        if distribution not in self._DISTRIBUTIONS:
            raise ValueError(f"VarianceScaling distribution must be one of "
                             f"{self._DISTRIBUTIONS}, got {distribution!r}")
        self.scale, self.mode, self.distribution = scale, mode, distribution

    def __call__(self, shape: Any, dtype: Any = None) -> np.ndarray:
        shape = _shape(shape)
        fan_in, fan_out = _fans(shape, self.input_axes, self.output_axes)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}
        variance = self.scale / max(1.0, fan[self.mode])
        rng = self._rng()
        if self.distribution == "truncated_normal":
            # stddev of a standard normal truncated to [-2, 2]
            values = _truncated_normal(rng, shape, 0.0, math.sqrt(variance) / 0.87962566103423978)
        elif self.distribution in ("untruncated_normal", "normal"):
            values = rng.normal(0.0, math.sqrt(variance), shape)
        else:
            limit = math.sqrt(3.0 * variance)
            values = rng.uniform(-limit, limit, shape)
        return values.astype(_float_dtype(dtype))

    def get_config(self) -> Dict[str, Any]:
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                "seed": self.seed, **self._axes_config()}

    def _axes_config(self):
        """Keras 3's axes, written only when set (tf.keras 2 configs stay as they were)."""
        if self.input_axes is None and self.output_axes is None:
            return {}
        return {"input_axes": self.input_axes, "output_axes": self.output_axes}


class _FixedVarianceScaling(VarianceScaling):
    """A named VarianceScaling preset whose config holds only the seed."""

    _preset = (1.0, "fan_in", "uniform")

    def __init__(self, seed: Any = None, input_axes: Any = None, output_axes: Any = None) -> None:
        scale, mode, distribution = self._preset
        super().__init__(scale, mode, distribution, seed, input_axes, output_axes)

    def get_config(self) -> Dict[str, Any]:
        return {"seed": self.seed, **self._axes_config()}


class GlorotUniform(_FixedVarianceScaling):
    """Uniform in ``±sqrt(6 / (fan_in + fan_out))`` (Xavier uniform)."""
    _preset = (1.0, "fan_avg", "uniform")


class GlorotNormal(_FixedVarianceScaling):
    """Truncated normal with stddev ``sqrt(2 / (fan_in + fan_out))``."""
    _preset = (1.0, "fan_avg", "truncated_normal")


class HeUniform(_FixedVarianceScaling):
    """Uniform in ``±sqrt(6 / fan_in)``."""
    _preset = (2.0, "fan_in", "uniform")


class HeNormal(_FixedVarianceScaling):
    """Truncated normal with stddev ``sqrt(2 / fan_in)``."""
    _preset = (2.0, "fan_in", "truncated_normal")


class LecunUniform(_FixedVarianceScaling):
    """Uniform in ``±sqrt(3 / fan_in)``."""
    _preset = (1.0, "fan_in", "uniform")


class LecunNormal(_FixedVarianceScaling):
    """Truncated normal with stddev ``sqrt(1 / fan_in)``."""
    _preset = (1.0, "fan_in", "truncated_normal")


class Orthogonal(_Seeded):
    """A random orthogonal matrix times ``gain`` (rows or columns orthonormal).

    The weight is seen as a matrix of ``prod(shape[:-1])`` rows and
    ``shape[-1]`` columns; a normal matrix of the taller orientation is
    QR-factorized and ``Q``'s columns get the signs of ``diag(R)``, which makes
    the result uniformly distributed over orthogonal matrices (as Keras does).
    """

    def __init__(self, gain: Any = 1.0, seed: Any = None) -> None:
        super().__init__(seed)
        self.gain = gain

    def __call__(self, shape: Any, dtype: Any = None) -> np.ndarray:
        shape = _shape(shape)
        if len(shape) < 2:
            raise ValueError(f"Orthogonal initializer needs a shape of at least 2 "
                             f"dimensions, got {shape}")
        rows, cols = math.prod(shape[:-1]), shape[-1]
        if rows == 0 or cols == 0:
            return np.zeros(shape, _float_dtype(dtype))
        tall = self._rng().standard_normal((max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(tall)
        q = q * np.where(np.diag(r) < 0, -1.0, 1.0)
        if rows < cols:
            q = q.T
        return (self.gain * q).reshape(shape).astype(_float_dtype(dtype))

    def get_config(self) -> Dict[str, Any]:
        return {"gain": self.gain, "seed": self.seed}


class Identity(Initializer):
    """``gain`` times the identity matrix (2-D shapes only)."""

    def __init__(self, gain: Any = 1.0) -> None:
        self.gain = gain

    def __call__(self, shape: Any, dtype: Any = None) -> np.ndarray:
        shape = _shape(shape)
        if len(shape) != 2:
            raise ValueError(f"Identity initializer needs a 2-D shape, got {shape}")
        return (self.gain * np.eye(*shape)).astype(_float_dtype(dtype))

    def get_config(self) -> Dict[str, Any]:
        return {"gain": self.gain}


_CLASSES = {cls.__name__: cls for cls in (
    Zeros, Ones, Constant, RandomUniform, RandomNormal, TruncatedNormal, VarianceScaling,
    GlorotUniform, GlorotNormal, HeUniform, HeNormal, LecunUniform, LecunNormal,
    Orthogonal, Identity)}
_ALIASES = {
    "zeros": Zeros, "zero": Zeros, "ones": Ones, "one": Ones, "constant": Constant,
    "uniform": RandomUniform, "random_uniform": RandomUniform,
    "normal": RandomNormal, "random_normal": RandomNormal,
    "truncated_normal": TruncatedNormal, "variance_scaling": VarianceScaling,
    "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal,
    "he_uniform": HeUniform, "he_normal": HeNormal,
    "lecun_uniform": LecunUniform, "lecun_normal": LecunNormal,
    "orthogonal": Orthogonal, "identity": Identity,
}


# tf.keras's lower-case names, as module attributes (``initializers.glorot_uniform()``)
zeros = zero = Zeros
ones = one = Ones
constant = Constant
uniform = random_uniform = RandomUniform
normal = random_normal = RandomNormal
truncated_normal = TruncatedNormal
variance_scaling = VarianceScaling
glorot_uniform = GlorotUniform
glorot_normal = GlorotNormal
he_uniform = HeUniform
he_normal = HeNormal
lecun_uniform = LecunUniform
lecun_normal = LecunNormal
orthogonal = Orthogonal
identity = Identity

_catalog = Catalog("initializer", Initializer, _CLASSES, _ALIASES)
serialize = _catalog.serialize
deserialize = _catalog.deserialize
get = _catalog.get
