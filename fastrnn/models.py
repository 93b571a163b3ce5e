"""``Sequential``: a linear stack of layers with tf.keras's mask propagation, and
``model_from_json`` / ``model_from_config``."""
import json
from typing import Any, Dict, Iterable, List, Optional

import numpy as np

from . import _predict
from . import _validation as check
from .layers import streaming
from .layers.base import Layer, Placeholder, call_accepts, deserialize, register, serialize
from .layers.core import InputLayer

__all__ = ["Sequential", "model_from_json", "model_from_config"]


@register
class Sequential(Layer):
    """Layers applied one after the other (tf.keras ``Sequential``), for inference.

    Masks propagate as in tf.keras: each layer whose ``call`` takes ``mask``
    receives the mask of its input, and the next mask is
    ``layer.compute_mask(inputs, mask)`` (``Embedding(mask_zero=True)`` and
    ``Masking`` make one, recurrent layers consume it, ``Dense`` and
    ``Dropout`` pass it on).

    Parameters
    ----------
    layers : list of Layer, optional
        An :class:`fastrnn.layers.InputLayer` or an :func:`fastrnn.Input`
        placeholder first fixes the input shape and dtype, as does a first
        layer given ``input_shape`` / ``batch_input_shape``: the model is then
        built at once (``model.output_shape`` is known).
    name : str, optional
    **kwargs
        :class:`fastrnn.Layer` arguments.

    Examples
    --------
    >>> import numpy as np
    >>> import fastrnn as fr
    >>> model = fr.Sequential([fr.Embedding(20, 6, mask_zero=True),
    ...                        fr.Bidirectional(fr.LSTM(5)),
    ...                        fr.Dense(3, activation="softmax")])
    >>> ids = np.array([[4, 2, 9, 0, 0], [7, 1, 0, 0, 0]])
    >>> model.predict(ids).shape
    (2, 3)
    """

    supports_masking = True

    def __init__(self, layers: Optional[Iterable[Any]] = None, name: Optional[str] = None,
                 **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        self._layers: List[Layer] = []
        self._input: Optional[InputLayer] = None
        for layer in layers or []:
            self.add(layer)

    @property
    def layers(self) -> Any:
        """The model's layers (without its InputLayer, as in tf.keras)."""
        return list(self._layers)

    def add(self, layer: Any) -> None:
        """Append ``layer``; an ``InputLayer`` or an :func:`fastrnn.Input` placeholder
        (first only) sets the input shape and dtype."""
        if isinstance(layer, Placeholder):
            layer = InputLayer(batch_shape=layer.shape, dtype=layer.dtype, name=layer.name)
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add needs a fastrnn Layer or an Input, got {layer!r}")
        if isinstance(layer, InputLayer):
            if self._layers or self._input is not None:
                raise ValueError("an InputLayer can only be the first layer of a Sequential")
            self._input = layer
            return
        self._layers.append(layer)
        self.built = False
        if self._model_input_shape() is not None:
            self._build_added()

    def _build_added(self):
        """Build the layer just added on the model's symbolic output so far: the earlier
        layers are not run again, so building a model of n layers takes n layer builds."""
        count, inputs, previous = getattr(self, "_built_io", None) or (None, None, None)
        if count != len(self._layers) - 1 or tuple(inputs.shape) != tuple(
                self._model_input_shape()):
            self.build()
            return
        if isinstance(previous, list):
            raise ValueError(f"layer {self._layers[-2].name!r} returns several values "
                             f"(return_state or merge_mode=None): only the last layer of a "
                             f"Sequential may")
        output = self._run(previous, None, None, start=len(self._layers) - 1)
        self._symbolic_calls = []
        self._record_symbolic(inputs, output)
        self._built_io = (len(self._layers), inputs, output)
        self.built = True

    def pop(self) -> None:
        """Remove the last layer (tf.keras's ``Sequential.pop``)."""
        if not self._layers:
            raise TypeError(f"model {self.name!r}: there are no layers in the model to pop")
        self._layers.pop()
        self.built = False
        self._symbolic_calls = []
        if self._layers and self._model_input_shape() is not None:
            self.build()

    def get_layer(self, name: Optional[str] = None, index: Optional[int] = None) -> Layer:
        """A layer by ``name`` or by ``index`` in :attr:`layers` (tf.keras's ``get_layer``)."""
        if (name is None) == (index is None):
            raise ValueError("get_layer: pass either a layer name or a layer index, not "
                             f"{'both' if name is not None else 'neither'}")
        if index is not None:
            if not -len(self._layers) <= index < len(self._layers):
                raise ValueError(f"get_layer: index {index} is out of range: model "
                                 f"{self.name!r} has {len(self._layers)} layers")
            return self._layers[index]
        for layer in self._layers:
            if layer.name == name:
                return layer
        raise ValueError(f"get_layer: no layer named {name!r} in model {self.name!r}; its "
                         f"layers are {[layer.name for layer in self._layers]}")

    @property
    def inputs(self) -> List[Any]:
        """``[model.input]``: the input placeholder (once built from a known input shape)."""
        return [self.input]

    @property
    def outputs(self) -> List[Any]:
        """``[model.output]``."""
        return [self.output]

    def _model_input_shape(self):
        """The input shape given by an InputLayer or by the first layer's arguments."""
        if self._input is not None:
            return self._input.batch_shape
        if self._layers:
            return self._layers[0]._known_input_shape()
        return None

    def _known_input_shape(self):
        return self._model_input_shape()

    def build(self, input_shape: Any = None) -> None:
        """Build every layer by running placeholders of ``input_shape`` through the model.

        Parameters
        ----------
        input_shape : tuple, optional
            With the batch axis; default: the InputLayer's shape.
        """
        if input_shape is None:
            input_shape = self._model_input_shape()
            if input_shape is None:
                raise ValueError(f"model {self.name!r} has no InputLayer: pass input_shape")
        dtype = self._input.input_dtype if self._input is not None else "float32"
        inputs = Placeholder(input_shape, dtype)
        self._symbolic_calls = []  # a rebuild (after add) replaces the model's input / output
        self._built_io = None
        output = self._run(inputs, None, None)
        self._record_symbolic(inputs, output)
        self._built_io = (len(self._layers), inputs, output)  # what the next add builds on
        self._build_input_shape = tuple(input_shape)  # type: ignore[assignment]
        self.built = True

    def __call__(self, inputs: Any, training: Optional[bool] = None, mask: Any = None,
                 lengths: Any = None) -> Any:
        """The model's output for ``inputs`` (building it on the first call).

        Parameters
        ----------
        inputs : array-like ``(batch, ...)`` (token ids for a model starting
            with ``Embedding``), or an :func:`fastrnn.Input` placeholder.
        training : bool, optional
            Passed to the layers that take it (dropout); inference by default.
        mask : boolean array ``(batch, time)``, optional
            The mask of ``inputs``, passed to the first layers as tf.keras does.
        lengths : integers ``(batch,)``, optional
            Valid steps per row (post-padding): the model sees the mask
            ``arange(time) < lengths[:, None]`` (combined with ``mask``), and its
            recurrent layers skip the padded steps.

        Returns
        -------
        The last layer's output (a list for a last layer returning several).
        """
        if not isinstance(inputs, Placeholder):
            self._check_model_input(inputs)
        if lengths is not None:
            mask, lengths = _lengths_mask(inputs, mask, lengths)
        output = self._run(inputs, training, mask, lengths)
        if isinstance(inputs, Placeholder):
            self._record_symbolic(inputs, output)
        self.built = True
        return output

    def _check_model_input(self, inputs):
        """The input's rank (and feature size) against the model's declared input shape.

        Batch and time sizes are not checked: a model declared for sequences of 7
        steps runs on other lengths, as a tf.keras model does.
        """
        expected = self._model_input_shape()
        if expected is None or isinstance(inputs, (list, tuple)) and inputs and isinstance(
                inputs[0], np.ndarray):
            return
        shape = np.shape(inputs) if isinstance(inputs, np.ndarray) else check.regular_array(
            inputs, "inputs").shape
        features_differ = len(expected) >= 3 and expected[-1] is not None and (
            shape[-1:] != (expected[-1],))
        if len(shape) != len(expected) or features_differ:
            raise ValueError(f"model {self.name!r} expects inputs of shape {tuple(expected)} "
                             f"(None: any size; rank {len(expected)}), got shape {shape}")

    def call(self, inputs: Any, training: Optional[bool] = None, mask: Any = None) -> Any:
        """Run the layers in order, passing masks as tf.keras does."""
        return self._run(inputs, training, mask)

    def _run(self, x, training, mask, lengths=None, start=0):
        last = len(self._layers) - 1
        for i, layer in enumerate(self._layers[start:], start):
            kwargs = {}
            if mask is not None and call_accepts(layer, "mask"):
                kwargs["mask"] = mask
            if lengths is not None and call_accepts(layer, "lengths"):
                kwargs["lengths"] = lengths
            if training is not None and call_accepts(layer, "training"):
                kwargs["training"] = training
            try:
                output = layer(x, **kwargs)
            except (ValueError, TypeError) as exc:
                if type(exc) not in (ValueError, TypeError):
                    raise
                shape = x.shape if isinstance(x, (np.ndarray, Placeholder)) else None
                raise type(exc)(f"model {self.name!r}, layer {layer.name!r} "
                                f"({type(layer).__name__}, layer {i + 1} of {last + 1}), "
                                f"given inputs of shape {shape}: {exc}") from exc
            if isinstance(output, list) and i < last:
                raise ValueError(f"layer {layer.name!r} returns several values (return_state "
                                 f"or merge_mode=None): only the last layer of a Sequential "
                                 f"may")
            if not isinstance(x, Placeholder):
                mask = layer.compute_mask(x, mask)
            x = output
        return x

    def predict(self, x: Any, batch_size: Optional[int] = None, verbose: Any = "auto",
                lengths: Any = None, mask: Any = None) -> Any:
        """The model's outputs for ``x``, computed ``batch_size`` rows at a time (tf.keras).

        Parameters
        ----------
        x : array-like (batch, ...)
            A NumPy memmap or a Zarr array is read batch by batch.
        batch_size : int, optional
            Rows per call (default 32, as tf.keras); the results do not depend
            on it for a model without stateful layers.
        verbose : {"auto", 0, 1, 2}, default "auto"
            0 silent; 1 a progress bar on stderr (sequences/s and ETA); 2 one
            line at the end; "auto" the bar only on a terminal, once the run
            has lasted a second.
        lengths : int array (batch,), optional
            Valid steps per sequence (``t < lengths[b]``), as ``model(x,
            lengths=...)``: every recurrent layer skips the padding.
        mask : boolean array (batch, time), optional
            The input mask, as ``model(x, mask=...)``.

        Returns
        -------
        array, or a list of arrays for a model whose last layer returns
        several; allocated once and filled batch by batch.
        """
        return _predict.predict_model(self, x, batch_size, verbose, lengths, mask)

    def get_initial_state(self, batch_size: int) -> List[Any]:
        """The initial states of ``batch_size`` streams: one entry per recurrent layer.

        Examples
        --------
        >>> import numpy as np
        >>> import fastrnn as fr
        >>> model = fr.Sequential([fr.Input((None, 3)), fr.Masking(0.0), fr.GRU(8),
        ...                        fr.Dense(2)])
        >>> states = model.get_initial_state(batch_size=4)
        >>> for frame in np.ones((6, 4, 3), "float32"):     # 6 frames of 4 streams
        ...     scores, states = model.step(frame, states)
        >>> scores.shape
        (4, 2)
        """
        return streaming.model_initial_state(self, batch_size)

    def step(self, inputs: Any, states: List[Any], mask: Any = None) -> Any:
        """One timestep (or a chunk ``(batch, t, ...)``) of every layer, explicit states.

        Parameters
        ----------
        inputs : array ``(batch, features)`` (token ids ``(batch,)`` for a model that
            starts with ``Embedding``), or a chunk ``(batch, t, ...)``.
        states : list from :meth:`get_initial_state` or a previous ``step``; not modified.
        mask : boolean ``(batch,)`` (``(batch, t)`` for a chunk), optional
            ``Masking`` / ``Embedding(mask_zero=True)`` layers add theirs, per step.

        Returns
        -------
        (outputs, new_states)
            The model's outputs for this step (as ``predict`` on the sequence so far
            gives at its last step) and the new states.  Threads may step separate
            states of one model at once.
        """
        return streaming.model_step(self, inputs, states, mask)

    def compute_output_shape(self, input_shape: Any) -> Any:
        """The output shape for ``input_shape`` (batch axis included)."""
        shape = input_shape
        for layer in self._layers:
            shape = layer.compute_output_shape(shape)
        return shape

    def reset_states(self) -> None:
        """Reset the stored states of every stateful layer (to their cells' initial states)."""
        for layer in self._layers:
            if getattr(layer, "stateful", False):
                layer.reset_states()  # type: ignore[attr-defined]

    def reset_state(self) -> None:
        """Keras 3's name for :meth:`reset_states`."""
        self.reset_states()

    def __repr__(self) -> str:
        parts = [f"name={self.name!r}"]
        try:
            parts += [f"input_shape={self.input_shape}", f"output_shape={self.output_shape}"]
        except AttributeError:  # not built from a known input shape
            pass
        parts.append("layers=[" + ", ".join(repr(layer) for layer in self._layers) + "]")
        return f"<Sequential {' '.join(parts)}>"

    def to_json(self, **kwargs: Any) -> str:
        """The model's architecture as JSON ``{"class_name", "config"}`` (no weights), as
        tf.keras's ``to_json``; ``kwargs`` go to :func:`json.dumps`."""
        return json.dumps({"class_name": type(self).__name__, "config": self.get_config()},
                          default=_json_value, **kwargs)

    def _sublayers(self):
        return list(self._layers)

    def _ordered_records(self):
        """Weights layer by layer, each layer's in its own order (tf.keras models' order)."""
        return [record for layer in self._layers for record in layer._ordered_records()]

    def summary(self, print_fn: Any = print) -> None:
        """Print one line per layer: name, class, output shape, number of weights."""
        shape = self._input.batch_shape if self._input is not None else None
        lines = [f"Model: {self.name!r}"]
        for layer in self._layers:
            if shape is not None:
                shape = layer.compute_output_shape(shape)
            count = sum(int(np.prod(w.shape)) for w in layer.weights)
            lines.append(f"  {layer.name:<24} {type(layer).__name__:<14} {str(shape):<24} {count}")
        lines.append(f"Total weights: {sum(int(np.prod(w.shape)) for w in self.weights)}")
        print_fn("\n".join(lines))

    def get_config(self) -> Dict[str, Any]:
        layers = [serialize(layer) for layer in self._layers]
        if self._input is not None:
            layers.insert(0, serialize(self._input))
        return {"name": self.name, "layers": layers}

    @classmethod
    def from_config(cls, config: Dict[str, Any],
                    custom_objects: Optional[Dict[str, Any]] = None) -> "Sequential":
        """A model from ``get_config()``'s dict (each layer ``{"class_name", "config"}``)."""
        config = dict(config)
        layers = [deserialize(layer, custom_objects) for layer in config.pop("layers")]
        return cls(layers, name=config.get("name"))


def _json_value(value):
    """NumPy scalars and arrays as JSON values (for :meth:`Sequential.to_json`)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"to_json: {value!r} ({type(value).__name__}) is not JSON-serializable")


def model_from_config(config: Dict[str, Any],
                      custom_objects: Optional[Dict[str, Any]] = None) -> Layer:
    """A model (or layer) from ``{"class_name", "config"}``, as tf.keras's ``model_from_config``.

    Parameters
    ----------
    config : dict
    custom_objects : dict, optional
        ``class name -> class`` for user-defined layers and cells.
    """
    return deserialize(config, custom_objects)


def model_from_json(json_string: str, custom_objects: Optional[Dict[str, Any]] = None) -> Layer:
    """A model from :meth:`Sequential.to_json`'s string (weights are not included).

    Parameters
    ----------
    json_string : str
    custom_objects : dict, optional
        ``class name -> class`` for user-defined layers and cells.

    Examples
    --------
    >>> import fastrnn as fr
    >>> model = fr.Sequential([fr.Input((None, 3)), fr.LSTM(4)])
    >>> fr.models.model_from_json(model.to_json()).output_shape
    (None, 4)
    """
    if not isinstance(json_string, (str, bytes)):
        raise TypeError(f"model_from_json needs a JSON string, got "
                        f"{type(json_string).__name__}")
    try:
        config = json.loads(json_string)
    except ValueError as exc:
        raise ValueError(f"model_from_json: not valid JSON: {exc}") from None
    return model_from_config(config, custom_objects)


def _lengths_mask(inputs, mask, lengths):
    """``(mask, lengths)`` for a model call: the input mask combined with the one
    ``lengths`` stands for, and ``lengths`` checked (for the layers that skip padding)."""
    shape = np.shape(inputs)
    if len(shape) < 2:
        raise ValueError(f"lengths needs inputs with a time axis (batch, time, ...), got "
                         f"inputs of shape {shape}")
    lengths = check.sequence_lengths(lengths, shape[0], shape[1])
    valid = np.arange(shape[1])[None, :] < lengths[:, None]
    given = check.sequence_mask(mask, shape[0], shape[1])
    return (valid if given is None else valid & (given != 0)), lengths
