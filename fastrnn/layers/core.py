"""The non-recurrent layers a Keras sequence model is made of: ``InputLayer``,
``Embedding``, ``Masking``, ``Dense`` and ``Dropout``, with tf.keras's
arguments, configs and mask rules.

Masks follow tf.keras: ``Embedding(mask_zero=True)`` makes ``ids != 0``,
``Masking`` makes ``any(x != mask_value, axis=-1)``, ``Dense`` and ``Dropout``
pass the mask they receive on (see :class:`fastrnn.Sequential`).
"""
from typing import Any, Dict, Optional

import numpy as np

from .. import _validation as check
from .. import activations, constraints, initializers, regularizers
from .base import Layer, register

__all__ = ["InputLayer", "Embedding", "Masking", "Dense", "Dropout"]


@register
class InputLayer(Layer):
    """The input of a :class:`fastrnn.Sequential` model: its shape and dtype.

    Parameters
    ----------
    input_shape : tuple, optional
        Shape of one sample (no batch axis); ``None`` for a variable size.
    batch_size : int, optional
    dtype : str, optional
        The dtype of the model's input, e.g. ``"int32"`` for token ids
        (default ``"float32"``).  Values are not cast by this layer.
    name : str, optional
    batch_shape : tuple, optional
        The full shape, batch axis first (Keras 3's name; instead of ``input_shape``).
    **kwargs
        ``batch_input_shape`` (tf.keras 2's name for ``batch_shape``);
        ``sparse`` / ``ragged`` / ``optional`` are accepted when false.

    Examples
    --------
    >>> import fastrnn as fr
    >>> fr.InputLayer(input_shape=(None, 3)).batch_shape
    (None, None, 3)
    """

    def __init__(self, input_shape: Any = None, batch_size: Optional[int] = None,
                 dtype: Any = None, name: Optional[str] = None, batch_shape: Any = None,
                 **kwargs: Any) -> None:
        batch_shape = kwargs.pop("batch_input_shape", batch_shape)
        for flag in ("sparse", "ragged", "optional"):
            if kwargs.pop(flag, False):
                raise ValueError(f"InputLayer: {flag}=True inputs are not supported")
        super().__init__(name=name, **kwargs)
        if batch_shape is None:
            if input_shape is None:
                raise ValueError("InputLayer needs `input_shape` or `batch_shape`")
            batch_shape = (batch_size,) + check.shape_tuple(input_shape, "input_shape")
        self.batch_shape = check.shape_tuple(batch_shape, "batch_shape")
        self.input_dtype = np.dtype(getattr(dtype, "name", dtype) or "float32").name

    def compute_output_shape(self, input_shape: Any) -> Any:
        """The input shape, unchanged."""
        return input_shape

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """The mask received, unchanged."""
        return mask

    def get_config(self) -> Dict[str, Any]:
        return {"batch_input_shape": self.batch_shape, "dtype": self.input_dtype,
                "name": self.name}


@register
class Embedding(Layer):
    """Turns integer ids into dense vectors: ``output = embeddings[ids]`` (tf.keras ``Embedding``).

    Parameters
    ----------
    input_dim : int
        Size of the vocabulary (largest id + 1).
    output_dim : int
        Size of each vector.
    embeddings_initializer : default ``"uniform"``
    embeddings_regularizer, activity_regularizer, embeddings_constraint : optional
    mask_zero : bool, default False
        Id 0 is padding: the output mask is ``ids != 0``.
    input_length : int, optional
        Accepted and serialized (tf.keras 2); no effect.
    **kwargs
        :class:`fastrnn.Layer` arguments.

    Examples
    --------
    >>> import numpy as np
    >>> import fastrnn as fr
    >>> emb = fr.Embedding(10, 4, mask_zero=True)
    >>> ids = np.array([[3, 1, 0]])
    >>> emb(ids).shape, emb.compute_mask(ids).tolist()
    ((1, 3, 4), [[True, True, False]])
    """

    def __init__(self, input_dim: int, output_dim: int, embeddings_initializer: Any = "uniform",
                 embeddings_regularizer: Any = None, activity_regularizer: Any = None,
                 embeddings_constraint: Any = None, mask_zero: bool = False,
                 input_length: Any = None, **kwargs: Any) -> None:
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.input_dim = check.positive_int(input_dim, "input_dim")
        self.output_dim = check.positive_int(output_dim, "output_dim")
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.mask_zero = bool(mask_zero)
        self.input_length = input_length

    def _known_input_shape(self):
        """tf.keras 2 gives an Embedding the input shape ``(input_length,)`` (``(None,)``
        by default), so a Sequential starting with one is built at once."""
        return self._batch_input_shape or (None, self.input_length)

    def _declared_weights(self, input_shape: Any) -> Any:
        return [(self.input_dim, self.output_dim)]

    def build(self, input_shape: Any) -> None:
        """Create ``embeddings (input_dim, output_dim)``."""
        (shape,) = self._declared_weights(input_shape)
        self.embeddings = self.add_weight("embeddings", shape,
                                          self.embeddings_initializer,
                                          self.embeddings_regularizer,
                                          self.embeddings_constraint)
        self.built = True

    def call(self, inputs: Any) -> Any:
        """The rows of ``embeddings`` for ``inputs`` (integer ids of any shape)."""
        return self.embeddings[check.index_array(inputs, "inputs", self.input_dim)]

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """``inputs != 0`` with ``mask_zero``, else None."""
        if not self.mask_zero:
            return None
        return np.asarray(inputs) != 0

    def compute_output_shape(self, input_shape: Any) -> Any:
        """``input_shape + (output_dim,)``."""
        return tuple(input_shape) + (self.output_dim,)

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config.update({
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
            "embeddings_regularizer": regularizers.serialize(self.embeddings_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "embeddings_constraint": constraints.serialize(self.embeddings_constraint),
            "mask_zero": self.mask_zero,
            "input_length": self.input_length,
        })
        return config


@register
class Masking(Layer):
    """Masks the timesteps whose features all equal ``mask_value`` (tf.keras ``Masking``).

    The output is the input with masked timesteps set to 0, and the mask
    ``any(inputs != mask_value, axis=-1)`` goes to the next layers.

    Parameters
    ----------
    mask_value : float, default 0.0
    **kwargs
        :class:`fastrnn.Layer` arguments.

    Examples
    --------
    >>> import numpy as np
    >>> import fastrnn as fr
    >>> x = np.array([[[1.0, 0.0], [0.0, 0.0]]], "float32")
    >>> fr.Masking().compute_mask(x).tolist()
    [[True, False]]
    """

    supports_masking = True

    def __init__(self, mask_value: Any = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.mask_value = mask_value

    def _keep(self, x):
        return np.any(x != self.mask_value, axis=-1)

    def call(self, inputs: Any) -> Any:
        """``inputs`` with every masked timestep set to 0."""
        x = check.as_real_array(inputs, "inputs", self._compute_dtype)
        return x * self._keep(x)[..., None].astype(x.dtype)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """``any(inputs != mask_value, axis=-1)``."""
        return self._keep(check.as_real_array(inputs, "inputs", self._compute_dtype))

    def compute_output_shape(self, input_shape: Any) -> Any:
        """The input shape, unchanged."""
        return input_shape

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config["mask_value"] = self.mask_value
        return config


@register
class Dense(Layer):
    """Fully-connected layer on the last axis: ``activation(x @ kernel + bias)`` (tf.keras).

    Parameters
    ----------
    units : int
    activation : optional
        A Keras activation name (``"softmax"``, ``"relu"``, ...) or a callable;
        None means linear.
    use_bias : bool, default True
    kernel_initializer, bias_initializer
        Defaults ``"glorot_uniform"``, ``"zeros"``.
    kernel_regularizer, bias_regularizer, activity_regularizer : optional
    kernel_constraint, bias_constraint : optional
    **kwargs
        :class:`fastrnn.Layer` arguments.

    Notes
    -----
    Inputs of any rank >= 2 are accepted (a sequence gives a sequence); the
    mask received passes through unchanged.

    Examples
    --------
    >>> import numpy as np
    >>> import fastrnn as fr
    >>> fr.Dense(3, activation="softmax")(np.ones((2, 5, 4), "float32")).shape
    (2, 5, 3)
    """

    supports_masking = True

    def __init__(self, units: int, activation: Any = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None,
                 bias_constraint: Any = None, **kwargs: Any) -> None:
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.units = check.positive_int(units, "units")
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)

    def _declared_weights(self, input_shape: Any) -> Any:
        return [(tuple(input_shape)[-1], self.units)] + [(self.units,)] * self.use_bias

    def build(self, input_shape: Any) -> None:
        """Create ``kernel (input_shape[-1], units)`` and ``bias (units,)``."""
        add_kernel_and_bias(self, input_shape)

    def call(self, inputs: Any) -> Any:
        """``activation(inputs @ kernel + bias)`` on the last axis."""
        w = self._current_weights()   # read once: old or new weights, never a mix
        kernel, bias = w["kernel"], w.get("bias")
        x = check.last_axis_input(inputs, "inputs", self._compute_dtype, kernel.shape[0])
        out = x @ kernel
        if bias is not None:
            out += bias
        return self.activation(out)

    def compute_output_shape(self, input_shape: Any) -> Any:
        """``input_shape[:-1] + (units,)``."""
        return tuple(input_shape)[:-1] + (self.units,)

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config.update({
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            **kernel_bias_config(self),
        })
        return config


@register
class Dropout(Layer):
    """Randomly zeroes a fraction ``rate`` of the inputs when training (tf.keras ``Dropout``).

    At inference (``training`` falsy, the default) it is the identity.

    Parameters
    ----------
    rate : float in [0, 1]
    noise_shape : tuple, optional
        Shape of the keep/drop pattern, broadcast over the inputs (``None``
        entries take the input's size).
    seed : int, optional
    **kwargs
        :class:`fastrnn.Layer` arguments.

    Examples
    --------
    >>> import numpy as np
    >>> import fastrnn as fr
    >>> x = np.ones((2, 3), "float32")
    >>> bool((fr.Dropout(0.5)(x) == x).all())
    True
    """

    supports_masking = True

    def __init__(self, rate: float, noise_shape: Any = None, seed: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rate = check.fraction(rate, "rate")
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)
        self.seed = seed
        self._rng = np.random.default_rng(seed)

    def call(self, inputs: Any, training: Optional[bool] = None) -> Any:
        """``inputs`` unchanged, or with dropout applied when ``training``."""
        if not training or self.rate == 0.0:
            return inputs
        x = check.as_real_array(inputs, "inputs", self._compute_dtype)
        shape = x.shape if self.noise_shape is None else tuple(
            size if want is None else want for size, want in zip(x.shape, self.noise_shape))
        if self.rate == 1.0:
            return np.zeros_like(x)
        keep = self._rng.random(shape) >= self.rate
        return x * (keep / (1.0 - self.rate)).astype(x.dtype)

    def compute_output_shape(self, input_shape: Any) -> Any:
        """The input shape, unchanged."""
        return input_shape

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config.update({"rate": self.rate, "noise_shape": self.noise_shape, "seed": self.seed})
        return config


def add_kernel_and_bias(layer, input_shape: Any) -> None:
    """Create ``layer.kernel`` and ``layer.bias`` (None without ``use_bias``) of the shapes
    ``layer._declared_weights(input_shape)`` gives, with the layer's initializers,
    regularizers and constraints (Dense, Conv1D)."""
    kernel_shape, *bias_shape = layer._declared_weights(input_shape)
    layer.kernel = layer.add_weight("kernel", kernel_shape, layer.kernel_initializer,
                                    layer.kernel_regularizer, layer.kernel_constraint)
    layer.bias = None
    if layer.use_bias:
        layer.bias = layer.add_weight("bias", bias_shape[0], layer.bias_initializer,
                                      layer.bias_regularizer, layer.bias_constraint)
    layer.built = True


def kernel_bias_config(layer) -> Dict[str, Any]:
    """The config keys of a layer with a kernel and a bias (Dense, Conv1D): initializers,
    regularizers (activity one included) and constraints, serialized as tf.keras does."""
    return {
        "kernel_initializer": initializers.serialize(layer.kernel_initializer),
        "bias_initializer": initializers.serialize(layer.bias_initializer),
        "kernel_regularizer": regularizers.serialize(layer.kernel_regularizer),
        "bias_regularizer": regularizers.serialize(layer.bias_regularizer),
        "activity_regularizer": regularizers.serialize(layer.activity_regularizer),
        "kernel_constraint": constraints.serialize(layer.kernel_constraint),
        "bias_constraint": constraints.serialize(layer.bias_constraint),
    }
