"""``TimeDistributed``: apply one layer to every time step (tf.keras ``TimeDistributed``).

``y[:, t] = layer(x[:, t])`` for every ``t``, computed in one call of the
layer on the ``(batch * steps, ...)`` reshaped input (no loop over steps).
The mask received passes on unchanged.
"""
from typing import Any, Dict

import numpy as np

from .base import Layer, call_accepts, deserialize, register, serialize

__all__ = ["TimeDistributed"]


def _merged(shape):
    """``(batch, steps, *rest)`` -> ``(batch * steps, *rest)`` (None if either is unknown)."""
    batch, steps = shape[0], shape[1]
    lead = None if batch is None or steps is None else batch * steps
    return (lead,) + tuple(shape[2:])


@register
class TimeDistributed(Layer):
    """Apply ``layer`` to each time step of a ``(batch, steps, ...)`` input.

    Parameters
    ----------
    layer : Layer
        Any fastrnn layer taking one input (``Dense``, ``Conv1D``, ...).
    **kwargs
        :class:`fastrnn.Layer` arguments.

    Notes
    -----
    Weights are the wrapped layer's, in its order.

    Examples
    --------
    >>> import numpy as np
    >>> import fastrnn as fr
    >>> fr.TimeDistributed(fr.Dense(3))(np.ones((2, 5, 4), "float32")).shape
    (2, 5, 3)
    """

    supports_masking = True

    def __init__(self, layer: Any, **kwargs: Any) -> None:
        if not isinstance(layer, Layer):
            raise TypeError(f"TimeDistributed needs a fastrnn Layer, got {layer!r}")
        super().__init__(**kwargs)
        self.layer = layer

    def _check_shape(self, shape):
        if len(shape) < 3:
            raise ValueError(f"layer {self.name!r} (TimeDistributed) expects inputs of rank "
                             f">= 3 (batch, steps, ...), got shape {tuple(shape)}")

    def _declared_weights(self, input_shape: Any) -> Any:
        self._check_shape(tuple(input_shape))
        return self.layer._declared_weights(_merged(tuple(input_shape)))

    def build(self, input_shape: Any) -> None:
        """Build the wrapped layer on ``(batch * steps, ...)``."""
        shape = tuple(input_shape)
        self._check_shape(shape)
        self.layer._build_once(_merged(shape), self._compute_dtype)
        self.built = True

    def call(self, inputs: Any, training: Any = None) -> Any:
        """``layer(inputs.reshape(batch * steps, ...)).reshape(batch, steps, ...)``."""
        x = np.asarray(inputs)
        if x.dtype.kind not in "biuf":
            raise TypeError(f"inputs must contain real numbers, got dtype {x.dtype}")
        self._check_shape(x.shape)
        batch, steps = x.shape[:2]
        kwargs = {}
        if training is not None and call_accepts(self.layer, "training"):
            kwargs["training"] = training
        y = self.layer(x.reshape((batch * steps,) + x.shape[2:]), **kwargs)
        if isinstance(y, list):
            raise ValueError(f"layer {self.name!r}: the wrapped layer returns several values")
        return y.reshape((batch, steps) + y.shape[1:])

    def compute_output_shape(self, input_shape: Any) -> Any:
        """``(batch, steps) + layer output shape[1:]``."""
        shape = tuple(input_shape)
        self._check_shape(shape)
        inner = self.layer.compute_output_shape(_merged(shape))
        return shape[:2] + tuple(inner)[1:]

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """The mask received, unchanged."""
        return mask

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config["layer"] = serialize(self.layer)
        return config

    @classmethod
    def from_config(cls, config: Any, custom_objects: Any = None) -> Any:
        """A TimeDistributed from its config (the wrapped layer deserialized)."""
        config = dict(config)
        layer = deserialize(config.pop("layer"), custom_objects)
        return cls(layer, **config)

