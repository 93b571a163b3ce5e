"""``Activation``, the activation layers ``ReLU``, ``LeakyReLU``, ``ELU``, and the layers
that are the identity at inference (``SpatialDropout1D``, ``GaussianNoise``,
``GaussianDropout``, ``AlphaDropout``, ``ActivityRegularization``, ``Identity``), as tf.keras.

All of them pass the mask they receive on.  fastrnn serves models: the noise
layers with ``training=True`` are refused rather than faked.
"""
from typing import Any, Dict

import numpy as np

from .. import _validation as check
from .. import activations
from .base import Layer, register

__all__ = ["Activation", "ReLU", "LeakyReLU", "ELU", "SpatialDropout1D", "GaussianNoise",
           "GaussianDropout", "AlphaDropout", "ActivityRegularization", "Identity"]


@register
class Activation(Layer):
    """Apply an activation function (tf.keras ``Activation``).

    Parameters
    ----------
    activation : str or callable
        A name from :mod:`fastrnn.activations`.
    **kwargs
        :class:`fastrnn.Layer` arguments.

    Examples
    --------
    >>> import numpy as np
    >>> import fastrnn as fr
    >>> fr.Activation("relu")(np.array([[-1.0, 2.0]])).tolist()
    [[0.0, 2.0]]
    """

    supports_masking = True

    def __init__(self, activation: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def call(self, inputs: Any) -> Any:
        """``activation(inputs)``."""
        return self.activation(check.as_real_array(inputs, "inputs", self._compute_dtype))

    def compute_output_shape(self, input_shape: Any) -> Any:
        """The input shape, unchanged."""
        return input_shape

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config["activation"] = activations.serialize(self.activation)
        return config


class _Elementwise(Layer):
    """An elementwise activation layer: shape and mask pass through."""

    supports_masking = True

    def _apply(self, x):
        raise NotImplementedError

    def call(self, inputs: Any) -> Any:
        """The activation of ``inputs``."""
        return self._apply(check.as_real_array(inputs, "inputs", self._compute_dtype))

    def compute_output_shape(self, input_shape: Any) -> Any:
        """The input shape, unchanged."""
        return input_shape


@register
class ReLU(_Elementwise):
    """Rectified linear unit layer (tf.keras ``ReLU``)::

        f(x) = max_value                       for x >= max_value
               x                               for threshold <= x < max_value
               negative_slope * (x - threshold) otherwise

    Parameters
    ----------
    max_value : float >= 0, optional
    negative_slope : float >= 0, default 0.0
    threshold : float >= 0, default 0.0

    Examples
    --------
    >>> import numpy as np
    >>> import fastrnn as fr
    >>> fr.ReLU(max_value=6.0, negative_slope=0.5)(np.array([-2.0, 3.0, 9.0])).tolist()
    [-1.0, 3.0, 6.0]
    """

    def __init__(self, max_value: Any = None, negative_slope: Any = 0.0, threshold: Any = 0.0,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_value = None if max_value is None else check.real_number(
            max_value, "max_value", minimum=0.0)
        self.negative_slope = check.real_number(negative_slope, "negative_slope", minimum=0.0)
        self.threshold = check.real_number(threshold, "threshold", minimum=0.0)

    def _apply(self, x):
        y = np.where(x >= self.threshold, x, self.negative_slope * (x - self.threshold))
        if self.max_value is not None:
            y = np.minimum(y, self.max_value)
        return y.astype(x.dtype, copy=False)

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config.update({"max_value": self.max_value, "negative_slope": self.negative_slope,
                       "threshold": self.threshold})
        return config


@register
class LeakyReLU(_Elementwise):
    """``x`` for ``x >= 0``, ``negative_slope * x`` otherwise (tf.keras ``LeakyReLU``).

    Parameters
    ----------
    negative_slope : float >= 0, default 0.3
    alpha : float, optional
        tf.keras 2's name for ``negative_slope`` (wins when given).
    """

    def __init__(self, negative_slope: Any = 0.3, alpha: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        slope = negative_slope if alpha is None else alpha
        self.negative_slope = check.real_number(slope, "negative_slope", minimum=0.0)

    def _apply(self, x):
        return np.where(x >= 0, x, x * x.dtype.type(self.negative_slope))

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config["negative_slope"] = self.negative_slope
        return config


@register
class ELU(_Elementwise):
    """``x`` for ``x > 0``, ``alpha * (exp(x) - 1)`` otherwise (tf.keras ``ELU``).

    Parameters
    ----------
    alpha : float, default 1.0
    """

    def __init__(self, alpha: Any = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.alpha = check.real_number(alpha, "alpha")

    def _apply(self, x):
        return np.where(x > 0, x, x.dtype.type(self.alpha) * np.expm1(np.minimum(x, 0)))

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config["alpha"] = self.alpha
        return config


class _InferenceIdentity(Layer):
    """A training-time noise layer: the identity at inference."""

    supports_masking = True

    def __init__(self, seed: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seed = seed

    def call(self, inputs: Any, training: Any = None) -> Any:
        """``inputs`` unchanged (``training=True`` is refused)."""
        if training:
            raise ValueError(f"layer {self.name!r} ({type(self).__name__}): training=True is "
                             f"not supported (fastrnn runs inference)")
        return inputs

    def compute_output_shape(self, input_shape: Any) -> Any:
        """The input shape, unchanged."""
        return input_shape

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config["seed"] = self.seed
        return config


@register
class SpatialDropout1D(_InferenceIdentity):
    """Drops whole channels when training (tf.keras ``SpatialDropout1D``); identity here.

    Parameters
    ----------
    rate : float in [0, 1]
    seed : int, optional
    noise_shape : optional
        tf.keras 2 writes it (always ``(batch, 1, channels)``); stored, no effect.
    """

    def __init__(self, rate: Any, seed: Any = None, noise_shape: Any = None, **kwargs: Any) -> None:
        super().__init__(seed=seed, **kwargs)
        self.rate = check.fraction(rate, "rate")
        self.noise_shape = noise_shape

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config["rate"] = self.rate
        return config


@register
class GaussianNoise(_InferenceIdentity):
    """Adds N(0, stddev^2) noise when training (tf.keras ``GaussianNoise``); identity here.

    Parameters
    ----------
    stddev : float >= 0
    seed : int, optional
    """

    def __init__(self, stddev: Any, seed: Any = None, **kwargs: Any) -> None:
        super().__init__(seed=seed, **kwargs)
        self.stddev = check.real_number(stddev, "stddev", minimum=0.0)

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config["stddev"] = self.stddev
        return config


@register
class GaussianDropout(_InferenceIdentity):
    """Multiplies by N(1, rate / (1 - rate)) noise when training (tf.keras
    ``GaussianDropout``); identity here.

    Parameters
    ----------
    rate : float in [0, 1]
    seed : int, optional
    """

    def __init__(self, rate: Any, seed: Any = None, **kwargs: Any) -> None:
        super().__init__(seed=seed, **kwargs)
        self.rate = check.fraction(rate, "rate")

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config["rate"] = self.rate
        return config


@register
class AlphaDropout(_InferenceIdentity):
    """Dropout keeping mean and variance when training (tf.keras ``AlphaDropout``);
    identity here.

    Parameters
    ----------
    rate : float in [0, 1]
    noise_shape : optional
    seed : int, optional
    """

    def __init__(self, rate: Any, noise_shape: Any = None, seed: Any = None, **kwargs: Any) -> None:
        super().__init__(seed=seed, **kwargs)
        self.rate = check.fraction(rate, "rate")
        self.noise_shape = noise_shape

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config.update({"rate": self.rate, "noise_shape": self.noise_shape})
        return config


@register
class ActivityRegularization(Layer):
    """Adds an activity penalty when training (tf.keras ``ActivityRegularization``);
    the identity at inference.

    Parameters
    ----------
    l1, l2 : float >= 0, default 0.0
    """

    supports_masking = True

    def __init__(self, l1: Any = 0.0, l2: Any = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.l1 = check.real_number(l1, "l1", minimum=0.0)
        self.l2 = check.real_number(l2, "l2", minimum=0.0)

    def compute_output_shape(self, input_shape: Any) -> Any:
        """The input shape, unchanged."""
        return input_shape

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config.update({"l1": self.l1, "l2": self.l2})
        return config


@register
class Identity(Layer):
    """Returns its input (tf.keras ``Identity``); the mask passes on."""

    supports_masking = True

    def compute_output_shape(self, input_shape: Any) -> Any:
        """The input shape, unchanged."""
        return input_shape
