"""``Conv1D``: 1-D convolution over time, computed as one BLAS GEMM per chunk of output steps.

For output step ``t`` and filter ``f`` (channels_last, one group)::

    y[b, t, f] = activation(bias[f] + sum_{j, c} xp[b, t * s + j * d, c] * kernel[j, c, f])

with ``s`` the stride, ``d`` the dilation rate and ``xp`` the input padded on
the time axis (``valid``: no padding; ``causal``: ``(k - 1) d`` zeros on the
left; ``same``: as TensorFlow, the extra zero on the right).  The windows of a
chunk of output steps are gathered into a bounded workspace (im2col: rows
``(b, t)``, columns ``(j, c)``), then multiplied by the kernel seen as a
``(k * C, F)`` matrix in one matmul (NumPy's BLAS).  With ``groups = g``,
channels and filters are split into ``g`` blocks and each block is one
batched GEMM.
"""
from typing import Any, Dict

import numpy as np

from .. import _validation as check
from .. import activations, constraints, initializers, regularizers
from .base import Layer, register
from .core import add_kernel_and_bias, kernel_bias_config

__all__ = ["Conv1D", "conv_output_length", "time_padding"]

#: Bytes of im2col workspace per chunk of output steps.
_WORKSPACE_BYTES = 4 << 20


def time_padding(padding: Any, length: Any, kernel_size: Any, stride: Any,
                 dilation: Any = 1) -> Any:
    """``(left, right)`` zeros added on the time axis for Keras's ``padding`` mode."""
    span = (kernel_size - 1) * dilation + 1
    if padding == "valid":
        return 0, 0
    if padding == "causal":
        return span - 1, 0
    out = -(-length // stride)          # ceil(length / stride)
    total = max(0, (out - 1) * stride + span - length)
    return total // 2, total - total // 2


def conv_output_length(length: Any, kernel_size: Any, padding: Any, stride: Any,
                       dilation: Any = 1) -> Any:
    """Output steps for ``length`` input steps (None stays None)."""
    if length is None:
        return None
    span = (kernel_size - 1) * dilation + 1
    if padding in ("same", "causal"):
        return -(-length // stride)     # ceil(length / stride)
    return max(0, (length - span) // stride + 1)


@register
class Conv1D(Layer):
    """1-D convolution layer (tf.keras ``Conv1D``), inputs ``(batch, steps, channels)``.

    Parameters
    ----------
    filters : int
    kernel_size : int or tuple of 1 int
    strides : int or tuple of 1 int, default 1
    padding : {"valid", "same", "causal"}, default "valid"
    data_format : {"channels_last", "channels_first"}, default "channels_last"
        ``channels_first`` inputs are ``(batch, channels, steps)``.
    dilation_rate : int or tuple of 1 int, default 1
        May be combined with ``strides > 1`` (tf.keras refuses that; torch's
        ``Conv1d`` allows it, and the math is the same sum).
    groups : int, default 1
        Channels and filters are split into this many independent blocks.
    activation : optional
        A name from :mod:`fastrnn.activations` or a callable; None is linear.
    use_bias : bool, default True
    kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
    activity_regularizer, kernel_constraint, bias_constraint
        As tf.keras.
    **kwargs
        :class:`fastrnn.Layer` arguments.

    Notes
    -----
    Weights (Keras layout): ``kernel (kernel_size, channels // groups, filters)``,
    ``bias (filters,)``.  The layer does not propagate masks (as tf.keras).

    Examples
    --------
    >>> import numpy as np
    >>> import fastrnn as fr
    >>> fr.Conv1D(4, 3, padding="causal")(np.ones((2, 10, 3), "float32")).shape
    (2, 10, 4)
    """

    def __init__(self, filters: Any, kernel_size: Any, strides: Any = 1, padding: Any = "valid",
                 data_format: Any = "channels_last", dilation_rate: Any = 1, groups: Any = 1,
                 activation: Any = None, use_bias: Any = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None,
                 bias_constraint: Any = None, **kwargs: Any) -> None:
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.filters = check.positive_int(filters, "filters")
        self.kernel_size = check.int_tuple(kernel_size, 1, "kernel_size")
        self.strides = check.int_tuple(strides, 1, "strides")
        self.padding = check.choice(str(padding).lower(), "padding",
                                    ("valid", "same", "causal"))
        self.data_format = check.choice(data_format or "channels_last", "data_format",
                                        ("channels_last", "channels_first"))
        self.dilation_rate = check.int_tuple(dilation_rate, 1, "dilation_rate")
        self.groups = check.positive_int(groups, "groups")
        if self.filters % self.groups:
            raise ValueError(f"filters ({self.filters}) must be a multiple of groups "
                             f"({self.groups})")
        if self.padding == "causal" and self.data_format == "channels_first":
            raise ValueError("padding='causal' needs data_format='channels_last' (as tf.keras)")
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)

    @property
    def _channel_axis(self):
        return -1 if self.data_format == "channels_last" else 1

    def _declared_weights(self, input_shape: Any) -> Any:
        if len(input_shape) != 3 or input_shape[self._channel_axis] is None:
            raise ValueError(f"layer {self.name!r} expects inputs of shape (batch, steps, "
                             f"channels) with known channels, got {tuple(input_shape)}")
        channels = int(input_shape[self._channel_axis])
        if channels % self.groups:
            raise ValueError(f"layer {self.name!r}: input channels ({channels}) must be a "
                             f"multiple of groups ({self.groups})")
        return ([(self.kernel_size[0], channels // self.groups, self.filters)]
                + [(self.filters,)] * self.use_bias)

    def build(self, input_shape: Any) -> None:
        """Create ``kernel (kernel_size, channels // groups, filters)`` and ``bias (filters,)``."""
        add_kernel_and_bias(self, input_shape)

    def _weights_changed(self):
        """Publish the kernel, the bias and the kernel as GEMM matrices
        ``(groups, k * C_g, F_g)`` (columns of one group's filters), read together by calls."""
        k, cg, f = self.kernel.shape
        g = self.groups
        matrix = np.ascontiguousarray(
            self.kernel.reshape(k, cg, g, f // g).transpose(2, 0, 1, 3).reshape(g, k * cg, f // g))
        self._publish_weights(matrix=matrix)

    def call(self, inputs: Any) -> Any:
        """The convolution of ``inputs`` (see the module docstring for the math)."""
        w = self._current_weights()   # read once: old or new weights, never a mix
        k, cg, _ = w["kernel"].shape
        channels = cg * self.groups
        x = check.as_real_array(inputs, "inputs", self._compute_dtype)
        if x.ndim != 3 or x.shape[self._channel_axis] != channels:
            raise ValueError(f"layer {self.name!r} expects inputs of shape (batch, steps, "
                             f"{channels}) ({self.data_format}), got {x.shape}")
        if self.data_format == "channels_first":
            x = x.transpose(0, 2, 1)
        batch, length, _ = x.shape
        stride, dilation = self.strides[0], self.dilation_rate[0]
        left, right = time_padding(self.padding, length, k, stride, dilation)
        steps = conv_output_length(length, k, self.padding, stride, dilation)
        check.fits_blas("Conv1D GEMM", batch * max(steps, 1), k * channels, self.filters)
        if left or right:
            xp = np.zeros((batch, length + left + right, channels), x.dtype)
            xp[:, left:left + length] = x
        else:
            xp = x
        out = np.empty((batch, steps, self.filters), x.dtype)
        if steps and batch:
            self._convolve(xp, out, stride, dilation, w["matrix"])
        if w.get("bias") is not None:
            out += w["bias"]
        out = self.activation(out)
        if self.data_format == "channels_first":
            out = np.ascontiguousarray(out.transpose(0, 2, 1))
        return out

    def _convolve(self, xp, out, stride, dilation, matrix):
        """``out[:, t] = windows(t) @ kernel`` for chunks of output steps, one GEMM each
        (``matrix``: the kernel as published by :meth:`_weights_changed`)."""
        batch, steps, filters = out.shape
        channels = xp.shape[2]
        g, rows_k, fg = matrix.shape
        k = rows_k // (channels // g)
        per_step = batch * k * channels * xp.itemsize
        chunk = max(1, min(steps, _WORKSPACE_BYTES // max(per_step, 1)))
        taps = np.arange(k) * dilation
        for start in range(0, steps, chunk):
            stop = min(steps, start + chunk)
            # im2col: rows (b, t), columns (j, c)  -- index (t*s + j*d) on the time axis
            index = (np.arange(start, stop) * stride)[:, None] + taps[None, :]
            windows = xp[:, index, :]                              # (B, n, k, C)
            n = stop - start
            if g == 1:
                product = windows.reshape(batch * n, rows_k) @ matrix[0]
                out[:, start:stop] = product.reshape(batch, n, filters)
            else:
                cg = channels // g
                grouped = windows.reshape(batch * n, k, g, cg).transpose(2, 0, 1, 3).reshape(
                    g, batch * n, rows_k)
                product = np.matmul(grouped, matrix)               # (g, B*n, F_g)
                out[:, start:stop] = product.transpose(1, 0, 2).reshape(batch, n, filters)

    def compute_output_shape(self, input_shape: Any) -> Any:
        """``(batch, new_steps, filters)`` (``(batch, filters, new_steps)`` channels_first)."""
        shape = tuple(input_shape)
        time_axis = 1 if self.data_format == "channels_last" else 2
        steps = conv_output_length(shape[time_axis], self.kernel_size[0], self.padding,
                                   self.strides[0], self.dilation_rate[0])
        if self.data_format == "channels_last":
            return (shape[0], steps, self.filters)
        return (shape[0], self.filters, steps)

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config.update({
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "groups": self.groups,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            **kernel_bias_config(self),
        })
        return config
