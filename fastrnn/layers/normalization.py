"""``LayerNormalization`` and ``BatchNormalization`` (inference statistics), as tf.keras.

LayerNormalization, over the axes ``A`` of each sample::

    y = (x - mean_A(x)) / sqrt(var_A(x) + epsilon) * gamma + beta

(``rms_scaling=True``, Keras 3: ``y = x / sqrt(var_A(x) + epsilon) * gamma``).
BatchNormalization at inference, per feature of ``axis``::

    y = (x - moving_mean) / sqrt(moving_variance + epsilon) * gamma + beta

Both pass the mask they receive on, as tf.keras.
"""
from typing import Any, Dict

import numpy as np

from .. import _validation as check
from .. import constraints, initializers, regularizers
from .base import Layer, register

__all__ = ["LayerNormalization", "BatchNormalization"]


def _axes(axis, ndim, name="axis"):
    """``axis`` (an int or a list of ints) as sorted non-negative indices."""
    axes = axis if isinstance(axis, (list, tuple)) else [axis]
    return sorted({check.axis_index(a, ndim, name) for a in axes})


def _broadcast(weight, axes, ndim):
    """``weight`` (shaped like the normalized axes) reshaped to broadcast over a rank-``ndim``
    input."""
    shape = [1] * ndim
    for a, size in zip(axes, weight.shape):
        shape[a] = size
    return weight.reshape(shape)


def _param_shape(input_shape, axes, name):
    shape = tuple(input_shape[a] for a in axes)
    if any(d is None for d in shape):
        raise ValueError(f"layer {name!r}: the normalized axes {axes} of input shape "
                         f"{tuple(input_shape)} must have known sizes")
    return shape


class _Normalization(Layer):
    """Shared weights (gamma, beta), configs and shapes."""

    supports_masking = True

    def __init__(self, axis: Any, epsilon: Any, center: Any, scale: Any, beta_initializer: Any,
                 gamma_initializer: Any, beta_regularizer: Any, gamma_regularizer: Any,
                 beta_constraint: Any, gamma_constraint: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.axis = list(axis) if isinstance(axis, (list, tuple)) else axis
        self.epsilon = check.real_number(epsilon, "epsilon", minimum=0.0)
        self.center = bool(center)
        self.scale = bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self._axes = None

    def _affine_flags(self):
        """``(with_gamma, with_beta)``."""
        return self.scale, self.center

    def _declared_weights(self, input_shape: Any) -> Any:
        """gamma and beta (as used), then BatchNormalization's two moving statistics."""
        shape = tuple(input_shape[a] for a in _axes(self.axis, len(input_shape)))
        count = sum(self._affine_flags()) + 2 * isinstance(self, BatchNormalization)
        return [shape] * count

    def _build_affine(self, input_shape, with_gamma, with_beta):
        self._ndim = len(input_shape)
        self._axes = _axes(self.axis, self._ndim)
        shape = _param_shape(input_shape, self._axes, self.name)
        self.gamma = self.beta = None
        if with_gamma:
            self.gamma = self.add_weight("gamma", shape, self.gamma_initializer,
                                         self.gamma_regularizer, self.gamma_constraint)
        if with_beta:
            self.beta = self.add_weight("beta", shape, self.beta_initializer,
                                        self.beta_regularizer, self.beta_constraint)
        return shape

    def _input(self, inputs):
        """``(x, axes)``: the input cast, and the normalized axes for its rank.

        Axes given as negative numbers (the default -1) count from the end, so
        inputs of another rank with the same trailing sizes are accepted.
        """
        x = check.as_real_array(inputs, "inputs", self._compute_dtype)
        axes = self._axes
        given = self.axis if isinstance(self.axis, list) else [self.axis]
        if x.ndim != self._ndim and all(a < 0 for a in given) and x.ndim >= len(given) + 1:
            axes = _axes(self.axis, x.ndim)
        if x.ndim < 2 or tuple(x.shape[a] for a in axes) != tuple(self._shape) or (
                x.ndim != self._ndim and axes is self._axes):
            raise ValueError(f"layer {self.name!r} was built for inputs of rank {self._ndim} "
                             f"with sizes {self._shape} on axes {self._axes}, got shape "
                             f"{x.shape}")
        return x, axes

    def _affine(self, y, axes, weights):
        """``y * gamma + beta`` with the weights a call read (:meth:`_current_weights`)."""
        gamma, beta = weights.get("gamma"), weights.get("beta")
        if gamma is not None:
            y = y * _broadcast(gamma, axes, y.ndim)
        if beta is not None:
            y = y + _broadcast(beta, axes, y.ndim)
        return y

    def compute_output_shape(self, input_shape: Any) -> Any:
        """The input shape, unchanged."""
        return input_shape

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config.update({
            "axis": self.axis,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
            "beta_constraint": constraints.serialize(self.beta_constraint),
            "gamma_constraint": constraints.serialize(self.gamma_constraint),
        })
        return config


@register
class LayerNormalization(_Normalization):
    """Normalize each sample over ``axis`` (tf.keras ``LayerNormalization``).

    Parameters
    ----------
    axis : int or list of int, default -1
    epsilon : float, default 1e-3
    center, scale : bool, default True
        Add ``beta`` / multiply by ``gamma``.
    rms_scaling : bool, default False
        Keras 3's (deprecated) variant: ``x / sqrt(var + epsilon) * gamma``, no beta.
    beta_initializer, gamma_initializer, beta_regularizer, gamma_regularizer,
    beta_constraint, gamma_constraint
        As tf.keras.
    **kwargs
        :class:`fastrnn.Layer` arguments.

    Notes
    -----
    Weights: ``gamma`` then ``beta``, shaped like the normalized axes.

    Examples
    --------
    >>> import numpy as np
    >>> import fastrnn as fr
    >>> y = fr.LayerNormalization()(np.array([[1.0, 3.0]], "float32"))
    >>> np.round(y, 3).tolist()
    [[-1.0, 1.0]]
    """

    def __init__(self, axis: Any = -1, epsilon: Any = 0.001, center: Any = True, scale: Any = True,
                 beta_initializer: Any = "zeros", gamma_initializer: Any = "ones",
                 beta_regularizer: Any = None, gamma_regularizer: Any = None,
                 beta_constraint: Any = None, gamma_constraint: Any = None,
                 rms_scaling: Any = False, **kwargs: Any) -> None:
        super().__init__(axis, epsilon, center, scale, beta_initializer, gamma_initializer,
                         beta_regularizer, gamma_regularizer, beta_constraint,
                         gamma_constraint, **kwargs)
        self.rms_scaling = bool(rms_scaling)

    def build(self, input_shape: Any) -> None:
        """Create ``gamma`` and ``beta``, shaped like the normalized axes."""
        self._shape = self._build_affine(input_shape, *self._affine_flags())
        self.built = True

    def _affine_flags(self):
        return self.scale or self.rms_scaling, self.center and not self.rms_scaling

    def call(self, inputs: Any) -> Any:
        """``(x - mean) / sqrt(var + epsilon) * gamma + beta`` over the normalized axes."""
        x, axes = self._input(inputs)
        w = self._current_weights()   # read once: old or new weights, never a mix
        variance = x.var(axis=tuple(axes), keepdims=True)
        inv = 1.0 / np.sqrt(variance + x.dtype.type(self.epsilon))
        if self.rms_scaling:
            y = x * inv
        else:
            y = (x - x.mean(axis=tuple(axes), keepdims=True)) * inv
        return self._affine(y, axes, w).astype(x.dtype, copy=False)

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config["rms_scaling"] = self.rms_scaling
        return config


@register
class BatchNormalization(_Normalization):
    """Batch normalization with its moving statistics (tf.keras ``BatchNormalization``).

    fastrnn serves models: ``training=True`` is refused (there are no batch
    statistics to learn); inference uses ``moving_mean`` and ``moving_variance``.

    Parameters
    ----------
    axis : int or list of int, default -1
        The feature axis (or axes).
    momentum : float, default 0.99
        Stored and serialized; no effect at inference.
    epsilon : float, default 1e-3
    center, scale : bool, default True
    beta_initializer, gamma_initializer, moving_mean_initializer,
    moving_variance_initializer, beta_regularizer, gamma_regularizer,
    beta_constraint, gamma_constraint
        As tf.keras.
    **kwargs
        :class:`fastrnn.Layer` arguments; tf.keras's training-only arguments
        (``renorm``, ``renorm_clipping``, ``renorm_momentum``, ``fused``,
        ``virtual_batch_size``, ``adjustment``, ``synchronized``) are accepted
        with their default (inert) values.

    Notes
    -----
    Weights (Keras order): ``gamma``, ``beta`` (trainable), ``moving_mean``,
    ``moving_variance`` (not trainable).

    Examples
    --------
    >>> import numpy as np
    >>> import fastrnn as fr
    >>> bn = fr.BatchNormalization(epsilon=0.0)
    >>> bn.build((None, 2))
    >>> bn.set_weights([np.ones(2), np.zeros(2), np.array([1.0, 2.0]), np.array([4.0, 1.0])])
    >>> bn(np.array([[3.0, 3.0]], "float32")).tolist()
    [[1.0, 1.0]]
    """

    _INERT = {"renorm": (False,), "renorm_clipping": (None,), "renorm_momentum": None,
              "fused": None, "virtual_batch_size": (None,), "adjustment": (None,),
              "synchronized": (False,)}

    def __init__(self, axis: Any = -1, momentum: Any = 0.99, epsilon: Any = 0.001,
                 center: Any = True, scale: Any = True, beta_initializer: Any = "zeros",
                 gamma_initializer: Any = "ones", moving_mean_initializer: Any = "zeros",
                 moving_variance_initializer: Any = "ones", beta_regularizer: Any = None,
                 gamma_regularizer: Any = None, beta_constraint: Any = None,
                 gamma_constraint: Any = None, **kwargs: Any) -> None:
        for key, allowed in self._INERT.items():
            if key in kwargs:
                value = kwargs.pop(key)
                if allowed is not None and value not in allowed:
                    raise ValueError(f"BatchNormalization: {key}={value!r} is not supported "
                                     f"(training-only option)")
        super().__init__(axis, epsilon, center, scale, beta_initializer, gamma_initializer,
                         beta_regularizer, gamma_regularizer, beta_constraint,
                         gamma_constraint, **kwargs)
        self.momentum = check.real_number(momentum, "momentum")
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)

    def build(self, input_shape: Any) -> None:
        """Create ``gamma``, ``beta``, ``moving_mean``, ``moving_variance``."""
        self._shape = self._build_affine(input_shape, *self._affine_flags())
        self.moving_mean = self.add_weight("moving_mean", self._shape,
                                           self.moving_mean_initializer, trainable=False)
        self.moving_variance = self.add_weight("moving_variance", self._shape,
                                               self.moving_variance_initializer,
                                               trainable=False)
        self.built = True

    def call(self, inputs: Any, training: Any = None, mask: Any = None) -> Any:
        """``(x - moving_mean) / sqrt(moving_variance + epsilon) * gamma + beta``."""
        if training:
            raise ValueError(f"layer {self.name!r}: BatchNormalization with training=True "
                             f"is not supported (fastrnn runs inference)")
        x, axes = self._input(inputs)
        w = self._current_weights()   # read once: old or new weights, never a mix
        mean = _broadcast(w["moving_mean"], axes, x.ndim)
        inv = 1.0 / np.sqrt(_broadcast(w["moving_variance"], axes, x.ndim)
                            + x.dtype.type(self.epsilon))
        return self._affine((x - mean) * inv, axes, w).astype(x.dtype, copy=False)

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config.update({
            "momentum": self.momentum,
            "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
            "moving_variance_initializer":
                initializers.serialize(self.moving_variance_initializer),
        })
        return config
