"""Pooling over time: ``MaxPooling1D``, ``AveragePooling1D``, ``GlobalMaxPooling1D``,
``GlobalAveragePooling1D`` (tf.keras names, arguments and mask rules).

Windowed pooling of size ``p`` and stride ``s``: ``y[b, t, c] = reduce_{j < p}
x[b, t * s + j, c]``.  With ``padding="same"`` the windows that run past the
ends are shortened, as TensorFlow does: padded positions never win a max and
are not counted in an average.  ``GlobalAveragePooling1D`` averages only the
unmasked steps, ``sum_t m[b, t] x[b, t] / sum_t m[b, t]``, as tf.keras;
``GlobalMaxPooling1D`` ignores the mask, as tf.keras.  None of them passes a
mask on.
"""
from typing import Any, Dict

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .. import _validation as check
from .base import Layer, register
from .conv import conv_output_length, time_padding

__all__ = ["MaxPooling1D", "AveragePooling1D", "GlobalMaxPooling1D",
           "GlobalAveragePooling1D"]

_DATA_FORMATS = ("channels_last", "channels_first")


def _channels_last(x, data_format):
    return x if data_format == "channels_last" else x.transpose(0, 2, 1)


class _Pooling1D(Layer):
    """Shared arguments and shapes of the windowed 1-D poolings."""

    #: The value padded positions take (never wins the reduction).
    _fill = 0.0

    def _reduce(self, windows, counts):
        raise NotImplementedError

    def __init__(self, pool_size: Any = 2, strides: Any = None, padding: Any = "valid",
                 data_format: Any = "channels_last", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pool_size = check.int_tuple(pool_size, 1, "pool_size")
        self.strides = self.pool_size if strides is None else check.int_tuple(strides, 1,
                                                                              "strides")
        self.padding = check.choice(str(padding).lower(), "padding", ("valid", "same"))
        self.data_format = check.choice(data_format or "channels_last", "data_format",
                                        _DATA_FORMATS)

    def call(self, inputs: Any) -> Any:
        """Pool every window of ``pool_size`` steps (see the module docstring)."""
        x = check.as_real_array(inputs, "inputs", self._compute_dtype)
        if x.ndim != 3:
            raise ValueError(f"layer {self.name!r} expects 3-D inputs, got shape {x.shape}")
        x = _channels_last(x, self.data_format)
        batch, length, channels = x.shape
        pool, stride = self.pool_size[0], self.strides[0]
        left, right = time_padding(self.padding, length, pool, stride)
        steps = conv_output_length(length, pool, self.padding, stride)
        if steps == 0:
            out = np.zeros((batch, 0, channels), x.dtype)
        else:
            valid = np.zeros(length + left + right, bool)
            valid[left:left + length] = True
            xp = np.full((batch, length + left + right, channels), self._fill, x.dtype)
            xp[:, left:left + length] = x
            windows = sliding_window_view(xp, pool, axis=1)[:, ::stride][:, :steps]
            counts = sliding_window_view(valid, pool)[::stride][:steps].sum(axis=1)
            out = self._reduce(windows, counts.astype(x.dtype))     # windows (B, n, C, p)
        return np.ascontiguousarray(_channels_last(out, self.data_format))

    def compute_output_shape(self, input_shape: Any) -> Any:
        """The input shape with the time axis pooled."""
        shape = tuple(input_shape)
        axis = 1 if self.data_format == "channels_last" else 2
        steps = conv_output_length(shape[axis], self.pool_size[0], self.padding,
                                   self.strides[0])
        return shape[:axis] + (steps,) + shape[axis + 1:]

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config.update({"pool_size": self.pool_size, "strides": self.strides,
                       "padding": self.padding, "data_format": self.data_format})
        return config


@register
class MaxPooling1D(_Pooling1D):
    """Maximum over windows of time steps (tf.keras ``MaxPooling1D``).

    Parameters
    ----------
    pool_size : int, default 2
    strides : int, optional
        Default: ``pool_size``.
    padding : {"valid", "same"}
    data_format : {"channels_last", "channels_first"}
    **kwargs
        :class:`fastrnn.Layer` arguments.

    Examples
    --------
    >>> import numpy as np
    >>> import fastrnn as fr
    >>> fr.MaxPooling1D(2)(np.arange(8.0).reshape(1, 4, 2)).tolist()
    [[[2.0, 3.0], [6.0, 7.0]]]
    """

    _fill = -np.inf

    def _reduce(self, windows, counts):
        return windows.max(axis=-1)


@register
class AveragePooling1D(_Pooling1D):
    """Mean over windows of time steps (tf.keras ``AveragePooling1D``).

    Parameters are those of :class:`MaxPooling1D`; with ``padding="same"`` a
    window's mean is over its real (unpadded) steps.

    Examples
    --------
    >>> import numpy as np
    >>> import fastrnn as fr
    >>> fr.AveragePooling1D(2)(np.arange(8.0).reshape(1, 4, 2)).tolist()
    [[[1.0, 2.0], [5.0, 6.0]]]
    """

    _fill = 0.0

    def _reduce(self, windows, counts):
        return windows.sum(axis=-1) / counts[None, :, None]


class _GlobalPooling1D(Layer):
    """Shared arguments and shapes of the global 1-D poolings."""

    def __init__(self, data_format: Any = "channels_last", keepdims: Any = False,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data_format = check.choice(data_format or "channels_last", "data_format",
                                        _DATA_FORMATS)
        self.keepdims = bool(keepdims)

    @property
    def _time_axis(self):
        return 1 if self.data_format == "channels_last" else 2

    def _input(self, inputs):
        x = check.as_real_array(inputs, "inputs", self._compute_dtype)
        if x.ndim != 3:
            raise ValueError(f"layer {self.name!r} expects 3-D inputs, got shape {x.shape}")
        return x

    def compute_output_shape(self, input_shape: Any) -> Any:
        """``(batch, channels)``, or the time axis kept as 1 with ``keepdims``."""
        shape = tuple(input_shape)
        axis = self._time_axis
        if self.keepdims:
            return shape[:axis] + (1,) + shape[axis + 1:]
        return shape[:axis] + shape[axis + 1:]

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """None: the time axis is gone."""
        return None

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config.update({"data_format": self.data_format, "keepdims": self.keepdims})
        return config


@register
class GlobalMaxPooling1D(_GlobalPooling1D):
    """Maximum over all time steps (tf.keras ``GlobalMaxPooling1D``; a mask is ignored).

    Parameters
    ----------
    data_format : {"channels_last", "channels_first"}
    keepdims : bool, default False
    **kwargs
        :class:`fastrnn.Layer` arguments.

    Examples
    --------
    >>> import numpy as np
    >>> import fastrnn as fr
    >>> fr.GlobalMaxPooling1D()(np.arange(6.0).reshape(1, 3, 2)).tolist()
    [[4.0, 5.0]]
    """

    def call(self, inputs: Any) -> Any:
        """``max_t inputs[:, t]``."""
        return self._input(inputs).max(axis=self._time_axis, keepdims=self.keepdims)


@register
class GlobalAveragePooling1D(_GlobalPooling1D):
    """Mean over the (unmasked) time steps (tf.keras ``GlobalAveragePooling1D``).

    Parameters are those of :class:`GlobalMaxPooling1D`.  With a mask
    ``(batch, steps)`` the mean is over the steps where it is true (a row with
    no true step gives NaN, as tf.keras's 0 / 0).

    Examples
    --------
    >>> import numpy as np
    >>> import fastrnn as fr
    >>> x = np.arange(6.0).reshape(1, 3, 2)
    >>> fr.GlobalAveragePooling1D()(x, mask=np.array([[True, True, False]])).tolist()
    [[1.0, 2.0]]
    """

    supports_masking = True

    def call(self, inputs: Any, mask: Any = None) -> Any:
        """``sum_t m[:, t] x[:, t] / sum_t m[:, t]`` (``m = 1`` without a mask)."""
        x = self._input(inputs)
        axis = self._time_axis
        if mask is None:
            return x.mean(axis=axis, keepdims=self.keepdims)
        keep = check.feature_mask(mask, (x.shape[0], x.shape[axis]))
        weights = np.expand_dims(keep, 2 if axis == 1 else 1).astype(x.dtype)
        total = np.where(weights != 0, x, 0).sum(axis=axis, keepdims=self.keepdims)
        with np.errstate(invalid="ignore", divide="ignore"):
            return total / weights.sum(axis=axis, keepdims=self.keepdims)
