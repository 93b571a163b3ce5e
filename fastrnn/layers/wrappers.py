"""``Bidirectional``: a recurrent layer run forwards and backwards, outputs merged."""
import contextlib
import inspect
from typing import Any, Dict, Optional

import numpy as np

from .. import _predict
from .. import _validation as check
from .base import (Layer, Placeholder, ReprText, call_accepts, deserialize, flatten,
                   keras3_config, pinned_weights, register, serialize)

__all__ = ["Bidirectional"]

#: merge_mode -> how the forward and (re-reversed) backward outputs combine.
_MERGES = {
    "concat": lambda y, y_rev: np.concatenate([y, y_rev], axis=-1),
    "sum": lambda y, y_rev: y + y_rev,
    "mul": lambda y, y_rev: y * y_rev,
    "ave": lambda y, y_rev: (y + y_rev) / 2,
    None: lambda y, y_rev: [y, y_rev],
}


def _copy_of(layer, **changes):
    """A new layer of ``layer``'s class from its config with ``changes`` applied.

    The classes of the layer's cells are passed as ``custom_objects`` (as
    tf.keras does), so an RNN over a user-defined cell can be copied.
    """
    config = layer.get_config()
    config.update(changes)
    cls = type(layer)
    if "custom_objects" not in inspect.signature(cls.from_config).parameters:
        return cls.from_config(config)
    custom_objects = {}
    cell = getattr(layer, "cell", None)
    for c in [cell] + list(getattr(cell, "cells", [])):
        if c is not None:
            custom_objects[type(c).__name__] = type(c)
    return cls.from_config(config, custom_objects=custom_objects)


@register
class Bidirectional(Layer):
    """Runs a recurrent layer over the sequence in both directions (tf.keras ``Bidirectional``).

    The forward layer is a copy of ``layer`` named ``forward_<name>``; the
    backward layer is ``backward_layer`` (renamed ``backward_<its name>``) or
    a copy of ``layer`` with ``go_backwards`` flipped named
    ``backward_<name>``.  The backward layer's sequence output is reversed
    back into time order before the two outputs are merged.  As in tf.keras,
    both layers output zeros at masked steps when ``return_sequences``
    (``zero_output_for_mask`` is set to ``return_sequences``).

    Parameters
    ----------
    layer : RNN
        A :class:`fastrnn.RNN` (``LSTM``, ``GRU``, ``SimpleRNN``, ...); it is
        copied from its config (its weights are not reused, as in tf.keras).
    merge_mode : {"concat", "sum", "mul", "ave", None}, default "concat"
        None returns the two outputs as a list ``[forward, backward]``.
    weights : list of arrays, optional
        Initial weights (forward layer's then backward layer's).
    backward_layer : RNN, optional
        The layer to run backwards (used as given); it must have the opposite
        ``go_backwards`` and the same ``stateful`` / ``return_sequences`` /
        ``return_state`` (a ``ValueError`` otherwise).
    **kwargs
        :class:`fastrnn.Layer` arguments.

    Attributes
    ----------
    layer : RNN
        The layer given (not run: its copies are).
    forward_layer, backward_layer : RNN

    Call arguments
    --------------
    inputs : array (batch, time, features), or the list form
        ``[inputs, *initial_state, *constants]``
    mask : boolean (batch, time), optional
    training : bool, optional
    initial_state : list of arrays, optional
        The forward layer's states then the backward layer's.
    constants : list of arrays, optional
        Passed to both layers' cells.

    Returns
    -------
    The merged output; with ``return_state``, ``[output, *forward_states,
    *backward_states]`` (``output`` being two entries when ``merge_mode=None``).

    Examples
    --------
    >>> import numpy as np
    >>> import fastrnn as fr
    >>> bi = fr.Bidirectional(fr.LSTM(4, return_sequences=True))
    >>> bi(np.ones((2, 5, 3), "float32")).shape
    (2, 5, 8)
    """

    supports_masking = True

    def __init__(self, layer: Layer, merge_mode: Optional[str] = "concat", weights: Any = None,
                 backward_layer: Optional[Layer] = None, **kwargs: Any) -> None:
        if not isinstance(layer, Layer) or not hasattr(layer, "go_backwards"):
            raise ValueError(f"Bidirectional needs a recurrent layer (an RNN), got {layer!r}")
        if backward_layer is not None and not (isinstance(backward_layer, Layer)
                                               and hasattr(backward_layer, "go_backwards")):
            raise ValueError(f"Bidirectional: backward_layer must be a recurrent layer (an "
                             f"RNN), got {backward_layer!r}")
        self.merge_mode = check.choice(merge_mode, "merge_mode", list(_MERGES))
        num_constants = kwargs.pop("num_constants", 0)
        self.layer = layer
        forward = _copy_of(layer)
        self._backward_layer_config = None
        if backward_layer is None:
            # named after the wrapped layer (a Keras 3 config names it forward_<name>)
            backward = _copy_of(layer, go_backwards=not layer.go_backwards,
                                name=layer.name[len("forward_"):] if layer.name.startswith(
                                    "forward_") else layer.name)
        else:
            backward = backward_layer
            self._backward_layer_config = serialize(backward_layer)  # before the renaming
        _check_pair(forward, backward)
        forward._name = _prefixed("forward_", forward.name)
        backward._name = _prefixed("backward_", backward.name)
        for sublayer in (forward, backward):
            sublayer.zero_output_for_mask = sublayer.return_sequences
        self.forward_layer = forward
        self.backward_layer = backward
        super().__init__(weights=weights, **kwargs)
        self.return_sequences = forward.return_sequences
        self.return_state = forward.return_state
        self._num_constants = int(num_constants or 0)

    def _sublayers(self):
        return [self.forward_layer, self.backward_layer]  # not ``layer``: only its copies run

    def _repr_items(self):
        layer = self.forward_layer
        inner = " ".join([type(layer).__name__] + [f"{k}={v!r}" for k, v in layer._repr_items()])
        items = [("layer", ReprText(f"<{inner}>"))]
        if self.merge_mode != "concat":
            items.append(("merge_mode", self.merge_mode))
        return items + super()._repr_items()

    def _known_input_shape(self):
        return self._batch_input_shape or self.forward_layer._batch_input_shape

    def __call__(self, inputs: Any, mask: Any = None, training: Optional[bool] = None,
                 initial_state: Any = None, constants: Any = None, lengths: Any = None) -> Any:
        """Run both directions over ``inputs`` and merge (building on the first call).

        Parameters
        ----------
        inputs : array-like ``(batch, time, features)``, an :func:`fastrnn.Input`
            placeholder, or the list form ``[inputs, *initial_state, *constants]``.
        mask : boolean array ``(batch, time)``, optional
        training : bool, optional
        initial_state : list of arrays, optional
            The forward layer's states, then the backward layer's.
        constants : list of arrays, optional
            Passed to both layers.
        lengths : integers ``(batch,)``, optional
            Valid steps per row (post-padding), as the equivalent mask: the backward
            pass starts at each row's last valid step.

        Returns
        -------
        The merged output (two outputs with ``merge_mode=None``); with
        ``return_state``, followed by the forward then the backward states.
        """
        if type(inputs) is list and inputs and isinstance(inputs[0], (np.ndarray, Placeholder)):
            rest = list(inputs[1:])
            if self._num_constants and constants is None:
                constants = rest[len(rest) - self._num_constants:]
                rest = rest[:len(rest) - self._num_constants]
            if rest and initial_state is None:
                initial_state = rest
            inputs = inputs[0]
        if isinstance(inputs, Placeholder):
            if constants is not None and not self._num_constants:
                self._num_constants = len(flatten(constants))
            return super().__call__(inputs)
        return super().__call__(inputs, mask=mask, training=training,
                                initial_state=initial_state, constants=constants,
                                lengths=lengths)

    def get_initial_state(self, inputs: Any = None, batch_size: Optional[int] = None) -> Any:
        """Not for streaming (see :meth:`step`); ``inputs``: both layers' initial states."""
        if inputs is None:
            self.step(None, None)
        return [self.forward_layer.get_initial_state(inputs),
                self.backward_layer.get_initial_state(inputs)]

    def step(self, inputs: Any, states: Any, mask: Any = None, out: Any = None) -> Any:
        """A Bidirectional layer cannot stream: its backward pass needs the whole sequence."""
        raise ValueError(f"layer {self.name!r} (Bidirectional) cannot be streamed: its "
                         f"backward pass starts at the end of the sequence; call it on whole "
                         f"sequences (with lengths= for padded batches)")

    def _n_forward_states(self):
        return len(flatten(self.forward_layer.states))

    def _declared_weights(self, input_shape: Any) -> Any:
        forward = self.forward_layer._declared_weights(input_shape)
        backward = self.backward_layer._declared_weights(input_shape)
        return None if forward is None or backward is None else forward + backward

    def build(self, input_shape: Any) -> None:
        """Build both layers on ``input_shape``."""
        for sublayer in (self.forward_layer, self.backward_layer):
            sublayer._build_once(input_shape, self._compute_dtype)
        self.built = True

    def call(self, inputs: Any, mask: Any = None, training: Optional[bool] = None,
             initial_state: Any = None, constants: Any = None, lengths: Any = None) -> Any:
        """Run both directions and merge (see the class docstring)."""
        forward_state = backward_state = None
        if initial_state is not None:
            states = flatten(initial_state)
            split = self._n_forward_states()
            forward_state, backward_state = states[:split], states[split:]
        with contextlib.ExitStack() as pinned:
            with self._build_lock:   # both directions' weights, read together (set_weights)
                weights = [_kernel_weights_of(layer) for layer in (self.forward_layer,
                                                                   self.backward_layer)]
                if None in weights:  # a direction in its Python step loop: reads these
                    pinned.enter_context(pinned_weights(self))
            y, y_rev = [_run_direction(layer, layer_weights, inputs, mask=mask,
                                       training=training, initial_state=state,
                                       constants=constants, lengths=lengths)
                        for layer, layer_weights, state in zip(
                            (self.forward_layer, self.backward_layer), weights,
                            (forward_state, backward_state))]
        states = []
        if self.return_state:
            states = list(y[1:]) + list(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = np.flip(y_rev, axis=0 if self.backward_layer.time_major else 1)
        output = _MERGES[self.merge_mode](y, y_rev)
        if not self.return_state:
            return output
        return (output if self.merge_mode is None else [output]) + states

    def compute_output_shape(self, input_shape: Any) -> Any:
        """The merged output shape (a list with the states' shapes when ``return_state``)."""
        forward = self.forward_layer.compute_output_shape(input_shape)
        backward = self.backward_layer.compute_output_shape(input_shape)
        if self.return_state:
            forward, states = forward[0], forward[1:] + backward[1:]
            backward = backward[0]
        if self.merge_mode == "concat":
            output = [tuple(forward)[:-1] + (forward[-1] + backward[-1],)]
        elif self.merge_mode is None:
            output = [tuple(forward), tuple(backward)]
        else:
            output = [tuple(forward)]
        if not self.return_state:
            return output[0] if len(output) == 1 else output
        return output + list(states)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """The input mask with ``return_sequences`` (one per output), None for states."""
        if isinstance(mask, list):
            mask = mask[0]
        output_mask = mask if self.return_sequences else None
        masks = [output_mask, output_mask] if self.merge_mode is None else [output_mask]
        if self.return_state:
            masks += [None] * (self._n_forward_states()
                              + len(flatten(self.backward_layer.states)))
        return masks if len(masks) > 1 else masks[0]

    predict = _predict.layer_predict

    @property
    def stateful(self) -> Any:
        """Whether the wrapped layers are stateful."""
        return self.forward_layer.stateful

    def reset_state(self, states: Any = None) -> None:
        """Keras 3's name for :meth:`reset_states`."""
        self.reset_states(states)

    def reset_states(self, states: Any = None) -> None:
        """Reset both layers' stored states (``states``: forward's then backward's)."""
        if states is None:
            self.forward_layer.reset_states()
            self.backward_layer.reset_states()
            return
        states = flatten(states)
        split = self._n_forward_states()
        self.forward_layer.reset_states(states[:split])
        self.backward_layer.reset_states(states[split:])

    def get_config(self) -> Dict[str, Any]:
        """tf.keras's config: ``layer`` (the wrapped layer, its own name),
        ``merge_mode``, and ``backward_layer`` when one was given."""
        config = super().get_config()
        config.update({"merge_mode": self.merge_mode, "layer": serialize(self.layer)})
        if self._num_constants:
            config["num_constants"] = self._num_constants
        if self._backward_layer_config is not None:
            config["backward_layer"] = self._backward_layer_config
        return config

    @classmethod
    def from_config(cls, config: Dict[str, Any],
                    custom_objects: Optional[Dict[str, Any]] = None) -> "Bidirectional":
        """A layer from ``get_config()``'s dict or a tf.keras / Keras 3 ``Bidirectional``
        config."""
        config = dict(keras3_config(cls, config))
        layer = deserialize(config.pop("layer"), custom_objects)
        backward = config.pop("backward_layer", None)
        if backward is not None:
            backward = deserialize(backward, custom_objects)
        return cls(layer, backward_layer=backward, **config)


def _kernel_weights_of(layer):
    """A direction's cell kernel weights (None: it reads its own, in its Python step loop)."""
    read = getattr(layer, "_cell_kernel_weights", None)
    return None if read is None else read()


def _run_direction(layer, weights, inputs, **kwargs):
    """One direction's call, on the kernel weights read for both when there are some."""
    if weights is not None and call_accepts(layer, "_weights"):
        return layer.call(inputs, _weights=weights, **kwargs)
    return layer(inputs, **kwargs)


def _prefixed(prefix, name):
    """``prefix + name``, once (a Keras 3 config's backward layer is already prefixed)."""
    return name if name.startswith(prefix) else prefix + name


def _check_pair(forward, backward):
    """tf.keras's checks on the two layers of a Bidirectional."""
    if not hasattr(backward, "go_backwards"):
        raise ValueError(f"Bidirectional: backward_layer must be a recurrent layer, "
                         f"got {backward!r}")
    if forward.go_backwards == backward.go_backwards:
        raise ValueError(f"Bidirectional: backward_layer.go_backwards must be the opposite of "
                         f"layer.go_backwards, got go_backwards={backward.go_backwards} for both")
    for flag in ("stateful", "return_sequences", "return_state"):
        if getattr(forward, flag) != getattr(backward, flag):
            raise ValueError(f"Bidirectional: layer and backward_layer must have the same "
                             f"{flag}, got {getattr(forward, flag)} and "
                             f"{getattr(backward, flag)}")
