"""``Activation`` and the noise layers that are the identity at inference
(``SpatialDropout1D``, ``GaussianNoise``, ``GaussianDropout``), as tf.keras.

All of them pass the mask they receive on.  fastrnn serves models: the noise
layers with ``training=True`` are refused rather than faked.
"""
from .. import _validation as check
from .. import activations
from .base import Layer, register

__all__ = ["Activation", "SpatialDropout1D", "GaussianNoise", "GaussianDropout"]


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

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def call(self, inputs):
        """``activation(inputs)``."""
        return self.activation(check.as_real_array(inputs, "inputs", self._compute_dtype))

    def compute_output_shape(self, input_shape):
        """The input shape, unchanged."""
        return input_shape

    def get_config(self):
        config = super().get_config()
        config["activation"] = activations.serialize(self.activation)
        return config


class _InferenceIdentity(Layer):
    """A training-time noise layer: the identity at inference."""

    supports_masking = True

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed

    def call(self, inputs, training=None):
        """``inputs`` unchanged (``training=True`` is refused)."""
        if training:
            raise ValueError(f"layer {self.name!r} ({type(self).__name__}): training=True is "
                             f"not supported (fastrnn runs inference)")
        return inputs

    def compute_output_shape(self, input_shape):
        """The input shape, unchanged."""
        return input_shape

    def get_config(self):
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

    def __init__(self, rate, seed=None, noise_shape=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.rate = check.fraction(rate, "rate")
        self.noise_shape = noise_shape

    def get_config(self):
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

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.stddev = check.real_number(stddev, "stddev", minimum=0.0)

    def get_config(self):
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

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.rate = check.fraction(rate, "rate")

    def get_config(self):
        config = super().get_config()
        config["rate"] = self.rate
        return config
