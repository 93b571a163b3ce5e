"""Recurrent cells: one time step of a recurrent layer.

The built-in cells (:class:`SimpleRNNCell`, :class:`LSTMCell`, :class:`GRUCell`,
:class:`TfLiteRNNCell`) keep a :class:`fastrnn._engine.KernelWeights` made once
whenever their weights are built or set, so that :class:`fastrnn.RNN` runs the
whole sequence in one compiled kernel call.  Their ``call`` method is the same
step in NumPy, used when a cell is called directly or when the RNN runs its
Python step loop (activations the kernels do not have, dropout in training).

Weights are in Keras layout (see docs/api.md), so ``set_weights`` takes the
arrays of the equivalent tf.keras cell unchanged.
"""
import threading
from typing import Any, Dict, Optional

import numpy as np

from .. import _validation as check
from .. import activations, constraints, initializers, regularizers
from .._engine import KernelWeights
from .base import (Layer, TensorShape, call_accepts, construct, deserialize, flatten, is_nested,
                   keras3_config, make_node, pack_as, register, serialize, shape_spec,
                   zeros_like_spec)

__all__ = ["DropoutRNNCellMixin", "AbstractRNNCell", "SimpleRNNCell", "LSTMCell", "GRUCell",
           "TfLiteRNNCell", "StackedRNNCells"]

_shared_dropout_rng = np.random.default_rng()
_mixin_lock = threading.Lock()


def _initial_state_args(cell, inputs, batch_size, dtype):
    """Batch size and dtype for ``get_initial_state``: from ``inputs`` when given."""
    if inputs is not None:
        batch_size = np.shape(inputs)[0]
        dtype = getattr(inputs, "dtype", None) or dtype
    if batch_size is None:
        raise ValueError("get_initial_state needs `inputs` or `batch_size`")
    if dtype is None:
        dtype = getattr(cell, "_compute_dtype", None) or np.float32
    return int(batch_size), np.dtype(getattr(dtype, "name", dtype))


class DropoutRNNCellMixin:
    """The dropout-mask methods of tf.keras cells (see the LSTMCell seed).

    A cell using this mixin has ``dropout`` and ``recurrent_dropout`` rates.
    Masks are made on first request and cached (per thread) until the matching
    ``reset_*`` method is called; :class:`fastrnn.RNN` resets them at the start
    of every call, so one mask serves every timestep of a call.  Outside
    training (``training`` falsy) the masks are all ones.  A kept unit is
    scaled by ``1 / (1 - rate)``.
    """

    dropout: float = 0.0
    recurrent_dropout: float = 0.0

    def _dropout_cache(self):
        cache = self.__dict__.get("_dropout_local")
        if cache is None:
            with _mixin_lock:
                cache = self.__dict__.setdefault("_dropout_local", threading.local())
        return cache

    def _cached_masks(self, key, rate, inputs, training, count):
        if not rate:
            return None
        cache = self._dropout_cache()
        masks = getattr(cache, key, None)
        if masks is None:
            inputs = np.asarray(inputs)
            dtype = inputs.dtype if inputs.dtype.kind == "f" else np.float32
            rng = self.__dict__.get("_dropout_rng", _shared_dropout_rng)
            masks = [_dropout_mask(rng, inputs.shape, dtype, rate, training)
                     for _ in range(count)]
            masks = masks[0] if count == 1 else masks
            setattr(cache, key, masks)
        return masks

    def get_dropout_mask_for_cell(self, inputs: Any, training: Optional[bool],
                                  count: int = 1) -> Any:
        """The dropout mask(s) for the cell's input, made on first use then cached.

        Parameters
        ----------
        inputs : array whose shape the mask takes (one step's input).
        training : bool; masks are all ones when falsy.
        count : int; how many masks (one per fused gate).

        Returns
        -------
        None when ``dropout`` is 0; one array when ``count == 1`` (as tf.keras
        returns it); else a list of ``count`` arrays.
        """
        return self._cached_masks("input", self.dropout, inputs, training, count)

    def get_recurrent_dropout_mask_for_cell(self, inputs: Any, training: Optional[bool],
                                            count: int = 1) -> Any:
        """The dropout mask(s) for the recurrent state (see ``get_dropout_mask_for_cell``)."""
        return self._cached_masks("recurrent", self.recurrent_dropout, inputs, training, count)

    def reset_dropout_mask(self) -> None:
        """Forget the cached input dropout masks (the next request makes new ones)."""
        self._dropout_cache().input = None

    def reset_recurrent_dropout_mask(self) -> None:
        """Forget the cached recurrent dropout masks."""
        self._dropout_cache().recurrent = None


def _dropout_mask(rng, shape, dtype, rate, training):
    if not training:
        return np.ones(shape, dtype)
    if rate >= 1.0:
        return np.zeros(shape, dtype)
    keep = rng.random(shape) >= rate
    return (keep / (1.0 - rate)).astype(dtype)


class AbstractRNNCell(Layer):
    """Base class for user-defined cells (the seed ``AbstractRNNCell``).

    A subclass provides ``state_size`` (an int, a :class:`fastrnn.TensorShape`,
    or a list / tuple of those), optionally ``output_size``, and
    ``call(inputs, states)`` returning ``(output, new_states)``.  Both sizes may
    be properties or plain attributes set in ``__init__`` (before or after
    ``super().__init__()``).

    Examples
    --------
    >>> import numpy as np
    >>> import fastrnn as fr
    >>> K = fr.backend
    >>> class MinimalRNNCell(fr.AbstractRNNCell):
    ...     def __init__(self, units, **kwargs):
    ...         self.units = units
    ...         super().__init__(**kwargs)
    ...     @property
    ...     def state_size(self):
    ...         return self.units
    ...     def build(self, input_shape):
    ...         self.kernel = self.add_weight(shape=(input_shape[-1], self.units),
    ...                                       initializer="uniform", name="kernel")
    ...         self.recurrent_kernel = self.add_weight(
    ...             shape=(self.units, self.units), initializer="uniform",
    ...             name="recurrent_kernel")
    ...         self.built = True
    ...     def call(self, inputs, states):
    ...         output = K.dot(inputs, self.kernel) + K.dot(states[0], self.recurrent_kernel)
    ...         return output, output
    >>> fr.RNN(MinimalRNNCell(4))(np.ones((2, 3, 5), "float32")).shape
    (2, 4)
    """

    @property
    def state_size(self) -> Any:
        """Size(s) of the state(s): int, TensorShape, or a list / tuple of those."""
        try:
            return self.__dict__["_state_size_value"]
        except KeyError:
            raise NotImplementedError(f"{type(self).__name__} must define state_size") from None

    @state_size.setter
    def state_size(self, value):
        self.__dict__["_state_size_value"] = value

    @property
    def output_size(self) -> Any:
        """Size of the output (int or TensorShape); by default the first state's size."""
        try:
            return self.__dict__["_output_size_value"]
        except KeyError:
            raise NotImplementedError(f"{type(self).__name__} must define output_size") from None

    @output_size.setter
    def output_size(self, value):
        self.__dict__["_output_size_value"] = value

    def call(self, inputs: Any, states: Any) -> Any:
        """One step: ``(output, new_states) = call(inputs, states)``."""
        raise NotImplementedError(f"{type(self).__name__} must implement call(inputs, states)")

    def get_initial_state(self, inputs: Any = None, batch_size: Optional[int] = None,
                          dtype: Any = None) -> Any:
        """Zero state(s) for ``batch_size`` rows (or ``inputs``' batch), as ``state_size`` says."""
        batch_size, dtype = _initial_state_args(self, inputs, batch_size, dtype)
        return zeros_like_spec(shape_spec(self.state_size), batch_size, dtype)


class _BuiltinCell(DropoutRNNCellMixin, Layer):
    """What the built-in cells share: weight arguments, dropout, the kernel cache."""

    #: Kernel cell kind given to KernelWeights.
    _kernel_kind: Optional[str] = None
    _gates = 1

    def __init__(self, units, activation, use_bias, kernel_initializer, recurrent_initializer,
                 bias_initializer, kernel_regularizer, recurrent_regularizer,
                 bias_regularizer, kernel_constraint, recurrent_constraint, bias_constraint,
                 dropout, recurrent_dropout, seed=None, **kwargs):
        kwargs.pop("enable_caching_device", None)  # a tf.keras placement hint
        super().__init__(**kwargs)
        self.units = check.positive_int(units, "units")
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout = check.clipped_rate(dropout, "dropout")
        self.recurrent_dropout = check.clipped_rate(recurrent_dropout, "recurrent_dropout")
        self.seed = seed
        self._dropout_rng = np.random.default_rng(seed)
        self._dropout_local = threading.local()
        self._kernel_weights = None
        builtin = next(c for c in type(self).__mro__ if c in _KERNEL_CELL_CLASSES)
        #: False for a subclass that redefines the step: it runs in the step loop.
        self._runs_in_kernel = (type(self).call is builtin.call
                                and type(self).get_initial_state is builtin.get_initial_state)

    @property
    def state_size(self) -> Any:
        """One state of ``units`` values."""
        return self.units

    @property
    def output_size(self) -> Any:
        """``units``."""
        return self.units

    def get_initial_state(self, inputs: Any = None, batch_size: Optional[int] = None,
                          dtype: Any = None) -> Any:
        """Zero state(s) of shape ``(batch_size, units)``."""
        batch_size, dtype = _initial_state_args(self, inputs, batch_size, dtype)
        return zeros_like_spec(shape_spec(self.state_size), batch_size, dtype)

    def _declared_weights(self, input_shape: Any) -> Any:
        """kernel ``(input_dim, gates*units)``, recurrent kernel ``(units, gates*units)``,
        bias."""
        gates = self._gates * self.units
        return ([(tuple(input_shape)[-1], gates), (self.units, gates)]
                + [self._bias_shape()] * self.use_bias)

    def _add_cell_weights(self, input_shape, bias_initializer):
        kernel_shape, recurrent_shape, *bias_shape = self._declared_weights(input_shape)
        check.weights_fit([kernel_shape, recurrent_shape], self._compute_dtype, self.name)
        self.kernel = self.add_weight("kernel", kernel_shape, self.kernel_initializer,
                                      self.kernel_regularizer, self.kernel_constraint)
        self.recurrent_kernel = self.add_weight(
            "recurrent_kernel", recurrent_shape, self.recurrent_initializer,
            self.recurrent_regularizer, self.recurrent_constraint)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight("bias", bias_shape[0], bias_initializer,
                                        self.bias_regularizer, self.bias_constraint)

    def _bias_shape(self):
        return (self._gates * self.units,)

    def build(self, input_shape: Any) -> None:
        """Create kernel ``(input_dim, gates*units)``, recurrent kernel and bias."""
        self._add_cell_weights(input_shape, self.bias_initializer)
        self.built = True
        self._weights_changed()

    def _weights_changed(self):
        """Remake the kernel-ready copy of the weights (once per load, never per call)."""
        self._kernel_weights = self._make_kernel_weights() if self._runs_in_kernel else None
        self._publish_weights()      # for the Python step (dropout, direct cell calls)

    def _restore_transient(self):
        """After unpickling / copying: a new dropout cache, the kernel weights remade."""
        super()._restore_transient()
        self._dropout_local = threading.local()
        self._kernel_weights = None
        if self.built:
            self._weights_changed()

    def _kernel_activations(self):
        return (activations.kernel_name(self.activation),)

    def _make_kernel_weights(self):
        names = self._kernel_activations()
        if None in names:
            return None
        return KernelWeights(self._kernel_kind, self.kernel, self.recurrent_kernel, self.bias,
                             *names, dtype=self._compute_dtype)

    def _step_arrays(self, inputs, states):
        """One step's inputs and states as arrays of the cell's dtype (shapes checked)."""
        return check.cell_step(inputs, states, self._compute_dtype, self.kernel.shape[0],
                               [self.units] * len(flatten(shape_spec(self.state_size))))

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config.update({
            "units": self.units,
            "activation": activations.serialize(self.activation),
        })
        config.update(self._gate_config())
        config.update({
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
        })
        config.update(self._bias_config())
        config.update({
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
        })
        config.update(self._extra_config())
        if self.seed is not None:
            config["seed"] = self.seed
        return config

    def _gate_config(self):
        return {}

    def _bias_config(self):
        return {}

    def _extra_config(self):
        return {}


def _apply(mask, value):
    return value if mask is None else value * mask


def _blocks(matrix, count):
    """The ``count`` column blocks of a fused gate matrix."""
    return np.split(matrix, count, axis=-1)


@register
class SimpleRNNCell(_BuiltinCell):
    """The fully-connected RNN step: ``h' = activation(x W + h U + b)`` (seed ``SimpleRNNCell``).

    Parameters
    ----------
    units : int
    activation : default ``"tanh"``; None means linear.
    use_bias : bool, default True
    kernel_initializer, recurrent_initializer, bias_initializer
        Defaults ``"glorot_uniform"``, ``"orthogonal"``, ``"zeros"``.
    kernel_regularizer, recurrent_regularizer, bias_regularizer : optional
    kernel_constraint, recurrent_constraint, bias_constraint : optional
    dropout, recurrent_dropout : float in [0, 1], default 0
        Only applied when called with ``training=True``.
    **kwargs
        Layer arguments (``name``, ``dtype``, ``trainable``, ...).

    Examples
    --------
    >>> import numpy as np
    >>> import fastrnn as fr
    >>> inputs = np.random.random([32, 10, 8]).astype(np.float32)
    >>> rnn = fr.RNN(fr.SimpleRNNCell(4), return_sequences=True, return_state=True)
    >>> whole_sequence_output, final_state = rnn(inputs)
    >>> whole_sequence_output.shape, final_state.shape
    ((32, 10, 4), (32, 4))
    """

    _kernel_kind = "simple"
    _gates = 1

    def __init__(self, units: int, activation: Any = "tanh", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, kernel_constraint: Any = None,
                 recurrent_constraint: Any = None, bias_constraint: Any = None,
                 dropout: float = 0.0, recurrent_dropout: float = 0.0, **kwargs: Any) -> None:
        super().__init__(units, activation, use_bias, kernel_initializer,
                         recurrent_initializer, bias_initializer, kernel_regularizer,
                         recurrent_regularizer, bias_regularizer, kernel_constraint,
                         recurrent_constraint, bias_constraint, dropout, recurrent_dropout,
                         **kwargs)

    def call(self, inputs: Any, states: Any, training: Optional[bool] = None) -> Any:
        """One step; returns ``(output, [output])`` (``output`` alone if ``states`` is an array)."""
        x, (h,) = self._step_arrays(inputs, states)
        w = self._current_weights()   # read once: old or new weights, never a mix
        dp_mask = self.get_dropout_mask_for_cell(x, training)
        rec_dp_mask = self.get_recurrent_dropout_mask_for_cell(h, training)
        z = _apply(dp_mask, x) @ w["kernel"]
        if w.get("bias") is not None:
            z = z + w["bias"]
        z = z + _apply(rec_dp_mask, h) @ w["recurrent_kernel"]
        output = self.activation(z)
        return output, ([output] if is_nested(states) else output)


@register
class LSTMCell(_BuiltinCell):
    """The LSTM step, gates i, f, c, o (seed ``LSTMCell``).

    ``c' = σ(f) * c + σ(i) * act(c~)`` and ``h' = σ(o) * act(c')`` with
    ``[i f c~ o] = x W + h U + b``, σ the recurrent activation.

    Parameters
    ----------
    units : int
    activation : default ``"tanh"``
    recurrent_activation : default ``"sigmoid"``
    use_bias : bool, default True
    kernel_initializer, recurrent_initializer, bias_initializer
        Defaults ``"glorot_uniform"``, ``"orthogonal"``, ``"zeros"``.
    unit_forget_bias : bool, default True
        Initialize the forget gate's bias to ones (the other gates use
        ``bias_initializer``).
    kernel_regularizer, recurrent_regularizer, bias_regularizer : optional
    kernel_constraint, recurrent_constraint, bias_constraint : optional
    dropout, recurrent_dropout : float in [0, 1], default 0
    **kwargs
        Layer arguments, and ``implementation`` (1: one dropout mask per gate;
        2, the default: one mask for the fused product; forced to 1 by
        ``recurrent_dropout``, as in tf.keras).

    Examples
    --------
    >>> import numpy as np
    >>> import fastrnn as fr
    >>> inputs = np.random.normal(size=[32, 10, 8]).astype("float32")
    >>> rnn = fr.RNN(fr.LSTMCell(4), return_sequences=True, return_state=True)
    >>> whole_seq_output, final_memory_state, final_carry_state = rnn(inputs)
    >>> whole_seq_output.shape, final_memory_state.shape, final_carry_state.shape
    ((32, 10, 4), (32, 4), (32, 4))
    """

    _kernel_kind = "lstm"
    _gates = 4

    def __init__(self, units: int, activation: Any = "tanh", recurrent_activation: Any = "sigmoid",
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 unit_forget_bias: bool = True, kernel_regularizer: Any = None,
                 recurrent_regularizer: Any = None, bias_regularizer: Any = None,
                 kernel_constraint: Any = None, recurrent_constraint: Any = None,
                 bias_constraint: Any = None, dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 **kwargs: Any) -> None:
        implementation = kwargs.pop("implementation", 2)
        super().__init__(units, activation, use_bias, kernel_initializer,
                         recurrent_initializer, bias_initializer, kernel_regularizer,
                         recurrent_regularizer, bias_regularizer, kernel_constraint,
                         recurrent_constraint, bias_constraint, dropout, recurrent_dropout,
                         **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.implementation = 1 if self.recurrent_dropout else implementation

    @property
    def state_size(self) -> Any:
        """Two states, ``[units, units]``: the memory state h and the carry state c."""
        return [self.units, self.units]

    def build(self, input_shape: Any) -> None:
        """Create kernel ``(input_dim, 4 units)``, recurrent kernel ``(units, 4 units)``, bias."""
        bias_initializer = self.bias_initializer
        if self.unit_forget_bias:
            bias_initializer = self._forget_bias_initializer
        self._add_cell_weights(input_shape, bias_initializer)
        self.built = True
        self._weights_changed()

    def _forget_bias_initializer(self, shape, dtype=None):
        """``bias_initializer`` for the i, c, o blocks and ones for the f block."""
        units = self.units
        return np.concatenate([self.bias_initializer((units,), dtype=dtype),
                               np.ones((units,), dtype),
                               self.bias_initializer((2 * units,), dtype=dtype)])

    def _kernel_activations(self):
        return (activations.kernel_name(self.activation),
                activations.kernel_name(self.recurrent_activation))

    def call(self, inputs: Any, states: Any, training: Optional[bool] = None) -> Any:
        """One step; ``states = [h, c]``; returns ``(h', [h', c'])``."""
        x, (h, c) = self._step_arrays(inputs, states)
        w = self._current_weights()   # read once: old or new weights, never a mix
        dp_mask = self.get_dropout_mask_for_cell(x, training, count=4)
        rec_dp_mask = self.get_recurrent_dropout_mask_for_cell(h, training, count=4)
        if dp_mask is not None and self.implementation == 1:
            zx = np.concatenate([(x * m) @ k for m, k in zip(dp_mask, _blocks(w["kernel"], 4))],
                                axis=-1)
        else:
            zx = _apply(None if dp_mask is None else dp_mask[0], x) @ w["kernel"]
        if rec_dp_mask is not None:
            zh = np.concatenate([(h * m) @ u for m, u in
                                 zip(rec_dp_mask, _blocks(w["recurrent_kernel"], 4))], axis=-1)
        else:
            zh = h @ w["recurrent_kernel"]
        z = zx + zh
        if w.get("bias") is not None:
            z = z + w["bias"]
        zi, zf, zc, zo = _blocks(z, 4)
        ract = self.recurrent_activation
        c_new = ract(zf) * c + ract(zi) * self.activation(zc)
        h_new = ract(zo) * self.activation(c_new)
        return h_new, [h_new, c_new]

    def _gate_config(self):
        return {"recurrent_activation": activations.serialize(self.recurrent_activation)}

    def _bias_config(self):
        return {"unit_forget_bias": self.unit_forget_bias}

    def _extra_config(self):
        return {"implementation": self.implementation}


@register
class GRUCell(_BuiltinCell):
    """The GRU step, gates z, r, h (tf.keras ``GRUCell``).

    ``h' = z * h + (1 - z) * act(h~)``; with ``reset_after=True`` (default, the
    cuDNN form) ``h~ = x W_h + b_h + r * (h U_h + b'_h)``, else
    ``h~ = x W_h + b_h + (r * h) U_h``.

    Parameters
    ----------
    units : int
    activation : default ``"tanh"``
    recurrent_activation : default ``"sigmoid"``
    use_bias : bool, default True
    kernel_initializer, recurrent_initializer, bias_initializer
    kernel_regularizer, recurrent_regularizer, bias_regularizer : optional
    kernel_constraint, recurrent_constraint, bias_constraint : optional
    dropout, recurrent_dropout : float in [0, 1], default 0
    reset_after : bool, default True
        Bias shape ``(2, 3 units)`` (input and recurrent biases) when True,
        ``(3 units,)`` when False.
    **kwargs
        Layer arguments, and ``implementation`` (as LSTMCell's).

    Examples
    --------
    >>> import numpy as np
    >>> import fastrnn as fr
    >>> fr.RNN(fr.GRUCell(4))(np.ones((2, 5, 3), "float32")).shape
    (2, 4)
    """

    _gates = 3

    def __init__(self, units: int, activation: Any = "tanh", recurrent_activation: Any = "sigmoid",
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, kernel_constraint: Any = None,
                 recurrent_constraint: Any = None, bias_constraint: Any = None,
                 dropout: float = 0.0, recurrent_dropout: float = 0.0, reset_after: bool = True,
                 **kwargs: Any) -> None:
        implementation = kwargs.pop("implementation", 2)
        super().__init__(units, activation, use_bias, kernel_initializer,
                         recurrent_initializer, bias_initializer, kernel_regularizer,
                         recurrent_regularizer, bias_regularizer, kernel_constraint,
                         recurrent_constraint, bias_constraint, dropout, recurrent_dropout,
                         **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.reset_after = bool(reset_after)
        self.implementation = 1 if self.recurrent_dropout else implementation
        self._kernel_kind = "gru" if self.reset_after else "gru_reset_before"

    def _bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def _kernel_activations(self):
        return (activations.kernel_name(self.activation),
                activations.kernel_name(self.recurrent_activation))

    def call(self, inputs: Any, states: Any, training: Optional[bool] = None) -> Any:
        """One step; returns ``(h', [h'])`` (``h'`` alone if ``states`` is an array)."""
        x, (h,) = self._step_arrays(inputs, states)
        w = self._current_weights()   # read once: old or new weights, never a mix
        dp_mask = self.get_dropout_mask_for_cell(x, training, count=3)
        rec_dp_mask = self.get_recurrent_dropout_mask_for_cell(h, training, count=3)
        units, bias = self.units, w.get("bias")
        if bias is None:
            input_bias = recurrent_bias = np.zeros(3 * units, x.dtype)
        elif self.reset_after:
            input_bias, recurrent_bias = bias[0], bias[1]
        else:
            input_bias, recurrent_bias = bias, np.zeros(3 * units, x.dtype)
        if dp_mask is not None and self.implementation == 1:
            xw = np.concatenate([(x * m) @ k for m, k in zip(dp_mask, _blocks(w["kernel"], 3))],
                                axis=-1)
        else:
            xw = _apply(None if dp_mask is None else dp_mask[0], x) @ w["kernel"]
        xz, xr, xh = _blocks(xw + input_bias, 3)
        uz, ur, uh = _blocks(w["recurrent_kernel"], 3)
        bz, br, bh = _blocks(recurrent_bias, 3)
        hz, hr, hh = (h, h, h) if rec_dp_mask is None else (h * m for m in rec_dp_mask)
        ract = self.recurrent_activation
        z = ract(xz + hz @ uz + bz)
        r = ract(xr + hr @ ur + br)
        if self.reset_after:
            candidate = self.activation(xh + r * (hh @ uh + bh))
        else:
            candidate = self.activation(xh + (r * hh) @ uh)
        h_new = z * h + (1 - z) * candidate
        return h_new, ([h_new] if is_nested(states) else h_new)

    def _gate_config(self):
        return {"recurrent_activation": activations.serialize(self.recurrent_activation)}

    def _extra_config(self):
        return {"implementation": self.implementation, "reset_after": self.reset_after}


@register
class TfLiteRNNCell(Layer):
    """The basic RNN cell of TFLite's experimental RNN API (seed ``TfLiteRNNCell``).

    ``output = new_state = activation([x, h] @ concat([input_weights,
    recurrent_weights], 1).T + bias)``, weights in TFLite layout:
    ``input_weights (num_units, input_dim)``, ``recurrent_weights (num_units,
    num_units)``, ``bias (num_units,)``.  It runs in the SimpleRNN kernel (the
    transposes are made once, when weights are built or set).

    Parameters
    ----------
    num_units : int
    activation : default ``"tanh"``; a Keras activation name or a callable.
    reuse : bool, optional
        Stored and serialized (TF1 variable scopes; no effect here).
    name : str, optional
    dtype : optional
        None (default): the dtype of the first input (float32 or float64).
    **kwargs
        Layer arguments.

    Examples
    --------
    >>> import numpy as np
    >>> import fastrnn as fr
    >>> cell = fr.TfLiteRNNCell(3)
    >>> cell.zero_state(2, "float32").shape
    (2, 3)
    >>> fr.RNN(cell)(np.ones((2, 4, 5), "float64")).dtype
    dtype('float64')
    """

    _dtype_from_first_input = True
    #: tf.nn cells take a single state unwrapped, not in a list.
    _unwrap_single_state = True

    def __init__(self, num_units: int, activation: Any = None, reuse: Any = None,
                 name: Optional[str] = None, dtype: Any = None, **kwargs: Any) -> None:
        super().__init__(name=name, dtype=dtype, **kwargs)
        self.num_units = check.positive_int(num_units, "num_units")
        self.activation = activations.get("tanh" if activation is None else activation)
        self.reuse = reuse
        self._kernel_weights = None
        self._runs_in_kernel = (type(self).call is TfLiteRNNCell.call
                                and type(self).get_initial_state is
                                TfLiteRNNCell.get_initial_state)

    @property
    def state_size(self) -> Any:
        """``num_units``."""
        return self.num_units

    @property
    def output_size(self) -> Any:
        """``num_units``."""
        return self.num_units

    def _declared_weights(self, input_shape: Any) -> Any:
        units = self.num_units
        return [(units, tuple(input_shape)[-1]), (units, units), (units,)]

    def build(self, input_shape: Any) -> None:
        """Create ``input_weights (num_units, input_dim)``, ``recurrent_weights``, ``bias``."""
        weights_shape, recurrent_shape, bias_shape = self._declared_weights(input_shape)
        check.weights_fit([weights_shape, recurrent_shape], self._compute_dtype, self.name)
        self.input_weights = self.add_weight("input_weights", weights_shape, "glorot_uniform")
        self.recurrent_weights = self.add_weight("recurrent_weights", recurrent_shape,
                                                 "glorot_uniform")
        self.bias = self.add_weight("bias", bias_shape, "zeros")
        self.built = True
        self._weights_changed()

    def _weights_changed(self):
        """Make the kernel's transposed copies (once per load)."""
        name = activations.kernel_name(self.activation)
        self._publish_weights()      # for the Python step (direct cell calls)
        if not self._runs_in_kernel or name is None:
            self._kernel_weights = None
            return
        self._kernel_weights = KernelWeights("simple", self.input_weights.T,
                                             self.recurrent_weights.T, self.bias, name,
                                             dtype=self._compute_dtype)

    def _restore_transient(self):
        """After unpickling / copying: the kernel's transposed copies remade."""
        super()._restore_transient()
        self._kernel_weights = None
        if self.built:
            self._weights_changed()

    def call(self, inputs: Any, state: Any) -> Any:
        """One step; ``state`` is the (batch, num_units) array; returns ``(output, output)``."""
        w = self._current_weights()   # read once: old or new weights, never a mix
        x, (h,) = check.cell_step(inputs, state, self._compute_dtype,
                                  w["input_weights"].shape[1], [self.num_units])
        z = np.concatenate([x, h], axis=1) @ np.concatenate(
            [w["input_weights"], w["recurrent_weights"]], axis=1).T + w["bias"]
        output = self.activation(z)
        return output, output

    def zero_state(self, batch_size: int, dtype: Any) -> np.ndarray:
        """A zero state of shape ``(batch_size, num_units)`` and ``dtype``."""
        return np.zeros((int(batch_size), self.num_units), np.dtype(getattr(dtype, "name", dtype)))

    def get_initial_state(self, inputs: Any = None, batch_size: Optional[int] = None,
                          dtype: Any = None) -> Any:
        """``zero_state`` for ``inputs``' batch and dtype, or for ``batch_size`` and ``dtype``."""
        batch_size, dtype = _initial_state_args(self, inputs, batch_size, dtype)
        return self.zero_state(batch_size, dtype)

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config.update({"num_units": self.num_units,
                       "activation": activations.serialize(self.activation),
                       "reuse": self.reuse})
        return config


_KERNEL_CELL_CLASSES = (SimpleRNNCell, LSTMCell, GRUCell)


def _is_shape(value):
    """True for one shape: a tuple / list of ints or None."""
    return isinstance(value, (tuple, list)) and all(
        d is None or isinstance(d, (int, np.integer)) for d in value)


def _first_dim(shape):
    """The batch size of a shape or of the first shape of a structure."""
    while not _is_shape(shape):
        shape = shape[0]
    return shape[0] if len(shape) else None


def _batch_shapes(size, batch):
    """A cell's (possibly nested) output size as per-step input shapes, batch first,
    keeping the nesting (tuples, namedtuples) as tf.keras does."""
    if isinstance(size, TensorShape) or (isinstance(size, (int, np.integer))
                                         and not isinstance(size, bool)):
        return (batch,) + TensorShape(size).dims
    if is_nested(size):
        return make_node(size, [_batch_shapes(s, batch) for s in size])
    raise TypeError(f"a cell's output_size must be an int, a TensorShape or a nesting of "
                    f"those, got {size!r}")


def output_size_of(cell):
    """A cell's ``output_size``, or (when it has none) the size of its first state."""
    try:
        size = cell.output_size
    except (AttributeError, NotImplementedError):
        size = None
    if size is None:
        size = cell.state_size
        while is_nested(size):
            size = size[0]
    return size


def output_spec(cell):
    """A cell's output shape spec (TensorShape leaves, see ``shape_spec``)."""
    return shape_spec(output_size_of(cell))


@register
class StackedRNNCells(Layer):
    """Cells run one on top of the other at each step: what ``RNN([cells])`` wraps a list in.

    Parameters
    ----------
    cells : list of cells
    **kwargs
        Layer arguments.

    reverse_state_order : bool, default False
        tf.keras's legacy flag: ``state_size`` and ``get_initial_state`` list
        the cells in reverse order, while the states a step receives and
        returns stay in cell order (what tf.keras computes).  Only stacks
        whose cells have the same state structure can use it (as in tf.keras,
        where other stacks fail).

    Notes
    -----
    ``state_size`` is a tuple with one entry per cell, so a stacked RNN's
    states are one entry per cell, an LSTM's entry being ``[h, c]``.

    Examples
    --------
    >>> import numpy as np
    >>> import fastrnn as fr
    >>> rnn = fr.RNN([fr.LSTMCell(3), fr.GRUCell(4)], return_state=True)
    >>> out, (h1, c1), h2 = rnn(np.ones((2, 5, 6), "float32"))
    >>> out.shape, h1.shape, h2.shape
    ((2, 4), (2, 3), (2, 4))
    """

    def __init__(self, cells: Any, **kwargs: Any) -> None:
        cells = list(cells)
        if not cells:
            raise ValueError("StackedRNNCells needs at least one cell")
        for cell in cells:
            check.rnn_cell(cell)
        self.cells = cells
        self.reverse_state_order = bool(kwargs.pop("reverse_state_order", False))
        if self.reverse_state_order:
            try:
                specs = {repr(shape_spec(cell.state_size)) for cell in cells}
            except (AttributeError, NotImplementedError):
                specs = set()  # sizes known only once built: the RNN's state checks apply
            if len(specs) > 1:
                raise ValueError(f"StackedRNNCells: reverse_state_order=True needs cells with "
                                 f"the same state_size, got {sorted(specs)}")
        super().__init__(**kwargs)
        if not self._dtype_explicit:
            self._compute_dtype = getattr(cells[0], "_compute_dtype", self._compute_dtype)

    def _adopt_dtype(self, dtype):
        super()._adopt_dtype(dtype)
        for cell in self.cells:
            if isinstance(cell, Layer):
                cell._adopt_dtype(dtype)

    def _state_order(self):
        return self.cells[::-1] if self.reverse_state_order else self.cells

    @property
    def state_size(self) -> Any:
        """One entry per cell: that cell's ``state_size`` (last cell first with
        ``reverse_state_order``)."""
        return tuple(cell.state_size for cell in self._state_order())

    @property
    def output_size(self) -> Any:
        """The last cell's output size."""
        return output_size_of(self.cells[-1])

    def get_initial_state(self, inputs: Any = None, batch_size: Optional[int] = None,
                          dtype: Any = None) -> Any:
        """One entry per cell: the cell's own initial state (zeros by default)."""
        batch_size, dtype = _initial_state_args(self, inputs, batch_size, dtype)
        states = []
        for cell in self._state_order():
            if hasattr(cell, "get_initial_state"):
                states.append(cell.get_initial_state(batch_size=batch_size, dtype=dtype))
            else:
                states.append(zeros_like_spec(shape_spec(cell.state_size), batch_size, dtype))
        return states

    def _declared_weights(self, input_shape: Any) -> Any:
        """Each cell's, in order, each on the previous cell's output size."""
        if isinstance(input_shape, list) and not _is_shape(input_shape):  # [inputs, *constants]
            input_shape = input_shape[0]
        shapes, step_shape = [], input_shape
        for cell in self.cells:
            declared = cell._declared_weights(step_shape) if isinstance(cell, Layer) else None
            if declared is None:
                return None
            shapes += declared
            step_shape = _batch_shapes(output_size_of(cell), _first_dim(step_shape))
        return shapes

    def build(self, input_shape: Any) -> None:
        """Build each cell on the previous cell's output shape."""
        if isinstance(input_shape, list) and not _is_shape(input_shape):  # [inputs, *constants]
            input_shape = input_shape[0]
        step_shape = input_shape
        for cell in self.cells:
            if isinstance(cell, Layer):
                cell._build_once(step_shape)
            elif hasattr(cell, "build"):
                cell.build(step_shape)
            batch = _first_dim(step_shape)
            step_shape = _batch_shapes(output_size_of(cell), batch)
        self.built = True

    def call(self, inputs: Any, states: Any, constants: Any = None,
             training: Optional[bool] = None) -> Any:
        """One step through every cell; ``states`` has one entry per cell (in cell order)."""
        spec = shape_spec(tuple(cell.state_size for cell in self.cells))
        states = pack_as(spec, flatten(states))
        new_states = []
        for cell, cell_spec, entry in zip(self.cells, spec, states):
            cell_states = entry if is_nested(cell_spec) else [entry]
            if getattr(cell, "_unwrap_single_state", False) and len(cell_states) == 1:
                cell_states = cell_states[0]
            kwargs = {}
            if call_accepts(cell, "training"):
                kwargs["training"] = training
            if constants is not None and call_accepts(cell, "constants"):
                kwargs["constants"] = constants
            inputs, cell_new = cell.call(inputs, cell_states, **kwargs)
            new_states.extend(flatten(cell_new))
        return inputs, pack_as(spec, new_states)

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config["cells"] = [serialize(cell) for cell in self.cells]
        if self.reverse_state_order:
            config["reverse_state_order"] = True
        return config

    @classmethod
    def from_config(cls, config: Dict[str, Any],
                    custom_objects: Optional[Dict[str, Any]] = None) -> "StackedRNNCells":
        """Cells from their ``{"class_name", "config"}`` entries, then the stack."""
        config = dict(keras3_config(cls, config))
        cells = [deserialize(c, custom_objects) for c in config.pop("cells")]
        return construct(cls, config, cells)
