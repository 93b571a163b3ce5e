"""``Bidirectional``: a recurrent layer run forwards and backwards, outputs merged."""
import numpy as np

from .. import _predict
from .. import _validation as check
from .base import Layer, deserialize, flatten, register, serialize

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
    """A new layer of ``layer``'s class from its config with ``changes`` applied."""
    config = layer.get_config()
    config.update(changes)
    return type(layer).from_config(config)


def _strip(name, prefix):
    return name[len(prefix):] if name.startswith(prefix) else name


@register
class Bidirectional(Layer):
    """Runs a recurrent layer over the sequence in both directions (tf.keras ``Bidirectional``).

    The forward layer is a copy of ``layer``; the backward layer is
    ``backward_layer`` or a copy of ``layer`` with ``go_backwards`` flipped.
    The backward layer's sequence output is reversed back into time order
    before the two outputs are merged.  As in tf.keras, both layers output
    zeros at masked steps when ``return_sequences`` (``zero_output_for_mask``
    is set to ``return_sequences``).

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
        ``go_backwards`` and the same ``return_sequences`` / ``return_state``.
    **kwargs
        :class:`fastrnn.Layer` arguments.

    Call arguments
    --------------
    inputs : array (batch, time, features)
    mask : boolean (batch, time), optional
    training : bool, optional
    initial_state : list of arrays, optional
        The forward layer's states then the backward layer's.

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

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        if not isinstance(layer, Layer) or not hasattr(layer, "go_backwards"):
            raise ValueError(f"Bidirectional needs a recurrent layer (an RNN), got {layer!r}")
        self.merge_mode = check.choice(merge_mode, "merge_mode", list(_MERGES))
        forward = _copy_of(layer, name="forward_" + _strip(layer.name, "forward_"))
        if backward_layer is None:
            backward = _copy_of(layer, go_backwards=not layer.go_backwards,
                                name="backward_" + _strip(layer.name, "forward_"))
        else:
            backward = backward_layer
        _check_pair(forward, backward)
        for sublayer in (forward, backward):
            sublayer.zero_output_for_mask = sublayer.return_sequences
        self.forward_layer = forward
        self.backward_layer = backward
        super().__init__(weights=weights, **kwargs)
        self.return_sequences = forward.return_sequences
        self.return_state = forward.return_state

    def _n_forward_states(self):
        return len(flatten(self.forward_layer.states))

    def build(self, input_shape):
        """Build both layers on ``input_shape``."""
        for sublayer in (self.forward_layer, self.backward_layer):
            sublayer._build_once(input_shape, self._compute_dtype)
        self.built = True

    def call(self, inputs, mask=None, training=None, initial_state=None):
        """Run both directions and merge (see the class docstring)."""
        forward_state = backward_state = None
        if initial_state is not None:
            states = flatten(initial_state)
            split = self._n_forward_states()
            forward_state, backward_state = states[:split], states[split:]
        y = self.forward_layer(inputs, mask=mask, training=training,
                               initial_state=forward_state)
        y_rev = self.backward_layer(inputs, mask=mask, training=training,
                                    initial_state=backward_state)
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

    def compute_output_shape(self, input_shape):
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

    def compute_mask(self, inputs, mask=None):
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
    def stateful(self):
        """Whether the wrapped layers are stateful."""
        return self.forward_layer.stateful

    def reset_states(self, states=None):
        """Reset both layers' stored states (``states``: forward's then backward's)."""
        if states is None:
            self.forward_layer.reset_states()
            self.backward_layer.reset_states()
            return
        states = flatten(states)
        split = self._n_forward_states()
        self.forward_layer.reset_states(states[:split])
        self.backward_layer.reset_states(states[split:])

    def get_config(self):
        config = super().get_config()
        config.update({"merge_mode": self.merge_mode,
                       "layer": serialize(self.forward_layer),
                       "backward_layer": serialize(self.backward_layer)})
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """A layer from ``get_config()``'s dict or a tf.keras ``Bidirectional`` config."""
        config = dict(config)
        layer = deserialize(config.pop("layer"), custom_objects)
        backward = config.pop("backward_layer", None)
        if backward is not None:
            backward = deserialize(backward, custom_objects)
        return cls(layer, backward_layer=backward, **config)


def _check_pair(forward, backward):
    """tf.keras's checks on the two layers of a Bidirectional."""
    if not hasattr(backward, "go_backwards"):
        raise ValueError(f"Bidirectional: backward_layer must be a recurrent layer, "
                         f"got {backward!r}")
    if forward.go_backwards == backward.go_backwards:
        raise ValueError("Bidirectional: backward_layer.go_backwards must be the opposite of "
                         "layer.go_backwards")
    for flag in ("return_sequences", "return_state"):
        if getattr(forward, flag) != getattr(backward, flag):
            raise ValueError(f"Bidirectional: layer and backward_layer must have the same "
                             f"{flag}, got {getattr(forward, flag)} and "
                             f"{getattr(backward, flag)}")
