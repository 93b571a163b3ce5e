"""The convenience layers ``SimpleRNN``, ``LSTM`` and ``GRU``: an :class:`RNN`
over one built-in cell, built from the cell's arguments plus the RNN's.

As in tf.keras, their config is flat: the cell's arguments sit next to the RNN
flags (no ``cell`` entry), and the cell's attributes are readable on the layer
(``layer.units``, ``layer.activation``, ...).
"""
from typing import Any, Dict, Optional, Tuple

from .. import regularizers
from .base import construct, keras3_config, register
from .cells import GRUCell, LSTMCell, SimpleRNNCell
from .rnn import RNN

__all__ = ["SimpleRNN", "LSTM", "GRU"]

#: Cell constructor arguments shared by the three layers (config keys).
_COMMON_CELL_KEYS = ("units", "activation", "use_bias", "kernel_initializer",
                     "recurrent_initializer", "bias_initializer", "kernel_regularizer",
                     "recurrent_regularizer", "bias_regularizer", "kernel_constraint",
                     "recurrent_constraint", "bias_constraint", "dropout", "recurrent_dropout")


def _cell_attribute(name: str) -> property:
    def read(self: Any) -> Any:
        return getattr(self.cell, name)
    read.__name__ = name
    read.__doc__ = f"The cell's ``{name}``."
    return property(read)


class _SingleCellRNN(RNN):
    """An RNN over one built-in cell, with tf.keras's flat config."""

    #: Extra cell config keys of this layer, besides ``_COMMON_CELL_KEYS``.
    _extra_cell_keys: Tuple[str, ...] = ()

    def _cell_kwargs(self, kwargs):
        """Arguments the cell shares with the layer (tf.keras passes these)."""
        kwargs.pop("enable_caching_device", None)  # a tf.keras placement hint
        cell_kwargs = {"dtype": kwargs.get("dtype"), "trainable": kwargs.get("trainable", True)}
        if kwargs.get("seed") is not None:
            cell_kwargs["seed"] = kwargs["seed"]
        kwargs.pop("seed", None)
        return cell_kwargs

    def get_config(self) -> Dict[str, Any]:
        """The RNN flags and the cell's arguments, flat (no ``cell`` key)."""
        config = super().get_config()
        del config["cell"]
        cell_config = self.cell.get_config()
        for key in _COMMON_CELL_KEYS + self._extra_cell_keys:
            config[key] = cell_config[key]
        if "seed" in cell_config:
            config["seed"] = cell_config["seed"]
        config["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        return config

    @classmethod
    def from_config(cls, config: Dict[str, Any],
                    custom_objects: Optional[Dict[str, Any]] = None) -> "RNN":
        """A layer from its flat config (``get_config()``'s, tf.keras's or Keras 3's)."""
        return construct(cls, keras3_config(cls, config))


for _name in _COMMON_CELL_KEYS:
    setattr(_SingleCellRNN, _name, _cell_attribute(_name))


@register
class SimpleRNN(_SingleCellRNN):
    """Fully-connected RNN whose output is fed back as input (tf.keras ``SimpleRNN``).

    Parameters
    ----------
    units : int
    activation : default ``"tanh"``
    use_bias : bool, default True
    kernel_initializer, recurrent_initializer, bias_initializer
        Defaults ``"glorot_uniform"``, ``"orthogonal"``, ``"zeros"``.
    kernel_regularizer, recurrent_regularizer, bias_regularizer, activity_regularizer : optional
    kernel_constraint, recurrent_constraint, bias_constraint : optional
    dropout, recurrent_dropout : float in [0, 1], default 0
    return_sequences, return_state, go_backwards, stateful, unroll, time_major : bool
        As for :class:`RNN`.
    **kwargs
        :class:`RNN` and :class:`Layer` arguments (``zero_output_for_mask``,
        ``dtype``, ``name``, ``batch_input_shape``, ...).

    Examples
    --------
    >>> import numpy as np
    >>> import fastrnn as fr
    >>> fr.SimpleRNN(4)(np.ones((32, 10, 8), "float32")).shape
    (32, 4)
    """

    def __init__(self, units: int, activation: Any = "tanh", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, recurrent_constraint: Any = None,
                 bias_constraint: Any = None, dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False,
                 time_major: bool = False, **kwargs: Any) -> None:
        kwargs.pop("implementation", None)  # tf.keras accepts and ignores it here
        cell = SimpleRNNCell(
            units, activation=activation, use_bias=use_bias,
            kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint, dropout=dropout,
            recurrent_dropout=recurrent_dropout, name="simple_rnn_cell",
            **self._cell_kwargs(kwargs))
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         time_major=time_major, activity_regularizer=activity_regularizer,
                         **kwargs)


@register
class LSTM(_SingleCellRNN):
    """Long Short-Term Memory layer (tf.keras ``LSTM``), run in a compiled kernel.

    Parameters
    ----------
    units : int
    activation : default ``"tanh"``
    recurrent_activation : default ``"sigmoid"``
    use_bias : bool, default True
    kernel_initializer, recurrent_initializer, bias_initializer
        Defaults ``"glorot_uniform"``, ``"orthogonal"``, ``"zeros"``.
    unit_forget_bias : bool, default True
    kernel_regularizer, recurrent_regularizer, bias_regularizer, activity_regularizer : optional
    kernel_constraint, recurrent_constraint, bias_constraint : optional
    dropout, recurrent_dropout : float in [0, 1], default 0
    implementation : {1, 2}, default 2
        How dropout masks apply (see :class:`LSTMCell`); no other effect.
    return_sequences, return_state, go_backwards, stateful, unroll, time_major : bool
        As for :class:`RNN`.
    **kwargs
        :class:`RNN` and :class:`Layer` arguments.

    Examples
    --------
    >>> import numpy as np
    >>> import fastrnn as fr
    >>> x = np.random.normal(size=(32, 10, 8)).astype("float32")
    >>> seq, h, c = fr.LSTM(4, return_sequences=True, return_state=True)(x)
    >>> seq.shape, h.shape, c.shape
    ((32, 10, 4), (32, 4), (32, 4))
    """

    _extra_cell_keys = ("recurrent_activation", "unit_forget_bias", "implementation")

    def __init__(self, units: int, activation: Any = "tanh", recurrent_activation: Any = "sigmoid",
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 unit_forget_bias: bool = True, kernel_regularizer: Any = None,
                 recurrent_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None,
                 recurrent_constraint: Any = None, bias_constraint: Any = None,
                 dropout: float = 0.0, recurrent_dropout: float = 0.0, implementation: int = 2,
                 return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, time_major: bool = False,
                 unroll: bool = False, **kwargs: Any) -> None:
        cell = LSTMCell(
            units, activation=activation, recurrent_activation=recurrent_activation,
            use_bias=use_bias, kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
            unit_forget_bias=unit_forget_bias, kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint, dropout=dropout,
            recurrent_dropout=recurrent_dropout, implementation=implementation,
            name="lstm_cell", **self._cell_kwargs(kwargs))
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         time_major=time_major, activity_regularizer=activity_regularizer,
                         **kwargs)

    recurrent_activation = _cell_attribute("recurrent_activation")
    unit_forget_bias = _cell_attribute("unit_forget_bias")
    implementation = _cell_attribute("implementation")


@register
class GRU(_SingleCellRNN):
    """Gated Recurrent Unit layer (tf.keras ``GRU``), run in a compiled kernel.

    Parameters
    ----------
    units : int
    activation : default ``"tanh"``
    recurrent_activation : default ``"sigmoid"``
    use_bias : bool, default True
    kernel_initializer, recurrent_initializer, bias_initializer
    kernel_regularizer, recurrent_regularizer, bias_regularizer, activity_regularizer : optional
    kernel_constraint, recurrent_constraint, bias_constraint : optional
    dropout, recurrent_dropout : float in [0, 1], default 0
    implementation : {1, 2}, default 2
    reset_after : bool, default True
        The reset gate applies after the recurrent matmul (cuDNN form, bias
        ``(2, 3 units)``) or before it (bias ``(3 units,)``).
    return_sequences, return_state, go_backwards, stateful, unroll, time_major : bool
        As for :class:`RNN`.
    **kwargs
        :class:`RNN` and :class:`Layer` arguments.

    Examples
    --------
    >>> import numpy as np
    >>> import fastrnn as fr
    >>> out, h = fr.GRU(4, return_state=True)(np.ones((32, 10, 8), "float32"))
    >>> out.shape, h.shape
    ((32, 4), (32, 4))
    """

    _extra_cell_keys = ("recurrent_activation", "implementation", "reset_after")

    def __init__(self, units: int, activation: Any = "tanh", recurrent_activation: Any = "sigmoid",
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, recurrent_constraint: Any = None,
                 bias_constraint: Any = None, dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 implementation: int = 2, return_sequences: bool = False,
                 return_state: bool = False, go_backwards: bool = False, stateful: bool = False,
                 unroll: bool = False, time_major: bool = False, reset_after: bool = True,
                 **kwargs: Any) -> None:
        cell = GRUCell(
            units, activation=activation, recurrent_activation=recurrent_activation,
            use_bias=use_bias, kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
            dropout=dropout, recurrent_dropout=recurrent_dropout,
            implementation=implementation, reset_after=reset_after, name="gru_cell",
            **self._cell_kwargs(kwargs))
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         time_major=time_major, activity_regularizer=activity_regularizer,
                         **kwargs)

    recurrent_activation = _cell_attribute("recurrent_activation")
    implementation = _cell_attribute("implementation")
    reset_after = _cell_attribute("reset_after")
