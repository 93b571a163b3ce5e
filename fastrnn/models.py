"""``Sequential``: a linear stack of layers with tf.keras's mask propagation."""
import numpy as np

from . import _predict
from . import _validation as check
from .layers.base import Layer, Placeholder, call_accepts, deserialize, register, serialize
from .layers.core import InputLayer

__all__ = ["Sequential"]


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
        An :class:`fastrnn.layers.InputLayer` first fixes the input shape and
        dtype (the model is then built at once).
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

    def __init__(self, layers=None, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self._layers = []
        self._input = None
        for layer in layers or []:
            self.add(layer)

    @property
    def layers(self):
        """The model's layers (without its InputLayer, as in tf.keras)."""
        return list(self._layers)

    def add(self, layer):
        """Append ``layer``; an ``InputLayer`` (first only) sets the input shape and dtype."""
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add needs a fastrnn Layer, got {layer!r}")
        if isinstance(layer, InputLayer):
            if self._layers or self._input is not None:
                raise ValueError("an InputLayer can only be the first layer of a Sequential")
            self._input = layer
            return
        self._layers.append(layer)
        self.built = False
        if self._input is not None:
            self.build(self._input.batch_shape)

    def build(self, input_shape=None):
        """Build every layer by running placeholders of ``input_shape`` through the model.

        Parameters
        ----------
        input_shape : tuple, optional
            With the batch axis; default: the InputLayer's shape.
        """
        if input_shape is None:
            if self._input is None:
                raise ValueError(f"model {self.name!r} has no InputLayer: pass input_shape")
            input_shape = self._input.batch_shape
        dtype = self._input.input_dtype if self._input is not None else "float32"
        self._run(Placeholder(input_shape, dtype), None, None)
        self.built = True

    def __call__(self, inputs, training=None, mask=None):
        """The model's output for ``inputs`` (arrays, built on first call)."""
        output = self._run(inputs, training, mask)
        self.built = True
        return output

    def call(self, inputs, training=None, mask=None):
        """Run the layers in order, passing masks as tf.keras does."""
        return self._run(inputs, training, mask)

    def _run(self, x, training, mask, valid=None):
        last = len(self._layers) - 1
        for i, layer in enumerate(self._layers):
            if valid is not None:
                mask = _within(valid, mask, x, i == 0)
            kwargs = {}
            if mask is not None and call_accepts(layer, "mask"):
                kwargs["mask"] = mask
            if training is not None and call_accepts(layer, "training"):
                kwargs["training"] = training
            output = layer(x, **kwargs)
            if isinstance(output, list) and i < last:
                raise ValueError(f"layer {layer.name!r} returns several values (return_state "
                                 f"or merge_mode=None): only the last layer of a Sequential "
                                 f"may")
            if not isinstance(x, Placeholder):
                mask = layer.compute_mask(x, mask)
            x = output
        return x

    def predict(self, x, batch_size=None, verbose="auto", lengths=None, mask=None):
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
            Valid steps per sequence (``t < lengths[b]``); every layer that
            takes a mask sees these steps only (AND the masks the model makes,
            e.g. ``Embedding(mask_zero=True)``'s).
        mask : boolean array (batch, time), optional
            Valid steps, as ``lengths`` (AND ``lengths`` when both are given).

        Returns
        -------
        array, or a list of arrays for a model whose last layer returns
        several; allocated once and filled batch by batch.
        """
        outputs = _predict.predict_model(self, x, batch_size, verbose, lengths, mask)
        self.built = True
        return outputs

    def compute_output_shape(self, input_shape):
        """The output shape for ``input_shape`` (batch axis included)."""
        shape = input_shape
        for layer in self._layers:
            shape = layer.compute_output_shape(shape)
        return shape

    def reset_states(self):
        """Zero the stored states of every stateful layer."""
        for layer in self._layers:
            if getattr(layer, "stateful", False):
                layer.reset_states()

    def _sublayers(self):
        return list(self._layers)

    def _ordered_records(self):
        """Weights layer by layer, each layer's in its own order (tf.keras models' order)."""
        return [record for layer in self._layers for record in layer._ordered_records()]

    def summary(self, print_fn=print):
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

    def get_config(self):
        layers = [serialize(layer) for layer in self._layers]
        if self._input is not None:
            layers.insert(0, serialize(self._input))
        return {"name": self.name, "layers": layers}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """A model from ``get_config()``'s dict (each layer ``{"class_name", "config"}``)."""
        config = dict(config)
        layers = [deserialize(layer, custom_objects) for layer in config.pop("layers")]
        return cls(layers, name=config.get("name"))


def _within(valid, mask, x, is_input):
    """The mask for a layer's input ``x`` restricted to the ``valid`` steps (predict's
    ``lengths`` / ``mask``) while ``x`` is still a (batch, time, ...) sequence."""
    shape = np.shape(x)
    if not (is_input or len(shape) >= 3) or tuple(shape[:2]) != valid.shape:
        return mask
    return valid if mask is None else np.logical_and(mask, valid)
