"""tf.keras configs -> fastrnn layers and models (no file access here).

One translation per layer config (:func:`layer_from_config`), one weight
setter that checks every shape first (:func:`set_layer_weights`), and one
model builder (:func:`build_model`) fed by the file readers of
``_keras_files``.  Nothing from a config is ever executed: class names are
looked up in fastrnn's own table, so a ``Lambda`` or custom layer is an error.

Keras 2 (tf_keras) and Keras 3 configs differ in a few places handled here:
Keras 3 writes the dtype as a ``DTypePolicy`` dict, ``batch_shape`` for
``batch_input_shape``, extra initializer keys (``input_axes``,
``output_axes``), and its ``hard_sigmoid`` is ``relu6(x + 3) / 6`` where
Keras 2's (and fastrnn's) is ``clip(0.2 x + 0.5, 0, 1)``: in a Keras 3 config
it becomes fastrnn's ``keras3_hard_sigmoid``.
"""
import collections
import contextlib
import re
from typing import Any, Dict

import numpy as np

from .. import _validation as check
from .. import initializers
from ..layers import MODEL_LAYERS
from ..layers.base import Layer, deserialize
from ..layers.cells import StackedRNNCells, _BuiltinCell
from ..layers.core import Dense, Dropout, Embedding, InputLayer, Masking
from ..layers.wrappers import Bidirectional
from ..models import Sequential
from . import _graph

__all__ = ["from_keras_config", "layer_from_config", "set_layer_weights", "model_spec",
           "build_model", "is_keras3_version"]

#: Keras layer classes fastrnn builds (class name -> kind of weights layout).
RNN_LAYERS = frozenset({"SimpleRNN", "LSTM", "GRU", "RNN"})
SUPPORTED_LAYERS = frozenset({"InputLayer", "Embedding", "Masking", "Dense", "Dropout",
                              "Bidirectional"}) | RNN_LAYERS | frozenset(MODEL_LAYERS)
SUPPORTED_CELLS = frozenset({"SimpleRNNCell", "LSTMCell", "GRUCell", "StackedRNNCells"})

_ANY = object()
#: Keras-only arguments fastrnn layers do not take: the values with which they
#: change nothing at inference (``_ANY``: never matters).  Other values are refused.
_INERT_ARGUMENTS = {
    "use_cudnn": _ANY,
    "lora_rank": (None, 0),
    "lora_alpha": _ANY,
    "quantization_config": (None,),
    "sparse": (False, None),
}
#: Keras 3 initializer arguments that fastrnn's initializers do not take (inert when None).
_KERAS3_INITIALIZER_KEYS = ("input_axes", "output_axes")
#: Config keys holding nested layer / cell configs.
_NESTED_KEYS = ("layer", "backward_layer", "cell", "cells")
#: The nested configs each class must have (``cells``: a list, the others: a dict).
_REQUIRED_KEYS = {"RNN": ("cell",), "Bidirectional": ("layer",), "StackedRNNCells": ("cells",)}
#: Most layers a model file may declare (tf.keras models have tens; 20,000 is an attack).
MAX_LAYERS = 10_000

ModelSpec = collections.namedtuple(
    "ModelSpec", "name batch_shape input_dtype layers saving_names")
ModelSpec.__doc__ = """What a Keras model config says, checked: its layer chain and input.

name : str
batch_shape : tuple, the input shape with the batch axis.
input_dtype : str
layers : list of ``{"class_name", "config"}`` dicts, the chain after the input.
saving_names : list of str, each layer's group name in a ``.keras`` weights file.
"""


def is_keras3_version(version):
    """Whether a ``keras_version`` string (from a file) is Keras 3 or later."""
    if isinstance(version, bytes):
        version = version.decode("utf-8", "replace")
    match = re.match(r"\s*(\d+)", str(version or ""))
    return bool(match) and int(match.group(1)) >= 3


def looks_like_keras3(config):
    """Guess whether Keras 3 wrote a config (it writes dtype policies as dicts, ``batch_shape``)."""
    if isinstance(config, dict):
        dtype = config.get("dtype")
        if isinstance(dtype, dict) or "batch_shape" in config:
            return True
        return any(looks_like_keras3(value) for value in config.values())
    if isinstance(config, list):
        return any(looks_like_keras3(value) for value in config)
    return False


# --------------------------------------------------------------------------
# one layer
# --------------------------------------------------------------------------

def split_config(config, where):
    """``(class_name, config)`` from ``{"class_name", "config"}`` or a bare ``get_config()``."""
    if not isinstance(config, dict):
        raise TypeError(f"{where}: a Keras layer config must be a dict, "
                        f"got {type(config).__name__}")
    if "class_name" in config:
        class_name, inner = config["class_name"], config.get("config")
        if not isinstance(class_name, str):
            raise ValueError(f"{where}: a layer's 'class_name' must be a string, got "
                             f"{class_name!r}")
        if inner is None:
            inner = {}
        if not isinstance(inner, dict):
            raise ValueError(f"{where}: the 'config' of a {class_name!r} layer must be a dict, "
                             f"got {type(inner).__name__}")
        return class_name, inner
    return _class_of_bare_config(config, where), config


def _class_of_bare_config(config, where):
    """The recurrent layer class a bare ``get_config()`` dict belongs to, from its keys."""
    if "layer" in config and "merge_mode" in config:
        return "Bidirectional"
    if "cell" in config:
        return "RNN"
    if "reset_after" in config:
        return "GRU"
    if "unit_forget_bias" in config:
        return "LSTM"
    if "units" in config and "recurrent_initializer" in config:
        return "SimpleRNN"
    raise ValueError(f"{where}: cannot tell which Keras layer this config is for; pass "
                     f"{{'class_name': ..., 'config': ...}} (keys seen: {sorted(config)})")


def _activation(value, keras3):
    """A Keras activation config value as a fastrnn activation name (or unchanged)."""
    if isinstance(value, dict):
        inner = value.get("config")
        value = inner if isinstance(inner, str) else value.get("registered_name", value)
    if keras3 and value == "hard_sigmoid":
        return "keras3_hard_sigmoid"
    return value


def _initializer(value):
    """A Keras initializer config without Keras 3's inert extra keys."""
    if isinstance(value, dict) and isinstance(value.get("config"), dict):
        config = {key: item for key, item in value["config"].items()
                  if not (key in _KERAS3_INITIALIZER_KEYS and item is None)}
        return {"class_name": value.get("class_name"), "config": config}
    return value


def _dtype(value, label):
    """A Keras dtype or dtype policy as a dtype name fastrnn computes in."""
    if isinstance(value, dict):
        inner = value.get("config")
        value = inner.get("name") if isinstance(inner, dict) else inner
    if isinstance(value, str) and value in _graph.MIXED_POLICIES:   # variables are float32
        return "float32"
    if not (value is None or isinstance(value, str)) or value not in (None, "float32",
                                                                       "float64"):
        raise ValueError(f"{label}: dtype / policy {value!r} is not supported "
                         f"(fastrnn computes in float32 or float64)")
    return value


def check_supported(class_name, name, where, supported=SUPPORTED_LAYERS):
    """Raise a ``ValueError`` naming ``class_name`` (and the layer) unless it is supported."""
    if class_name not in supported:
        kind = "cell" if supported is SUPPORTED_CELLS else "layer"
        raise ValueError(f"{where}: unsupported {kind} {class_name!r} (layer {name!r}); "
                         f"fastrnn supports {sorted(supported)}")


def translate(config, keras3, where, supported=SUPPORTED_LAYERS):
    """A Keras ``{"class_name", "config"}`` as the ``{"class_name", "config"}`` fastrnn reads.

    Checks the class (and nested layers / cells) is supported and every
    argument is one fastrnn honours; rewrites Keras-version details (see the
    module docstring).
    """
    class_name, config = split_config(config, where)
    name = config.get("name")
    check_supported(class_name, name, where, supported)
    label = f"{where}: Keras layer {name!r} ({class_name})"
    config = dict(config)
    for key, inert in _INERT_ARGUMENTS.items():
        if key in config:
            value = config.pop(key)
            if inert is not _ANY and value not in inert:
                raise ValueError(f"{label}: argument {key}={value!r} is not supported")
    if class_name != "InputLayer":
        if "batch_shape" in config:
            config["batch_input_shape"] = config.pop("batch_shape")
        if "dtype" in config:
            config["dtype"] = _dtype(config["dtype"], label)
    for key in ("activation", "recurrent_activation"):
        if key in config:
            config[key] = _activation(config[key], keras3)
    for key in config:
        if key.endswith("_initializer"):
            config[key] = _initializer(config[key])
    for key in _REQUIRED_KEYS.get(class_name, ()):
        if config.get(key) is None:
            raise ValueError(f"{label}: the config has no {key!r} entry")
    for key in _NESTED_KEYS:
        if config.get(key) is not None:
            config[key] = _translate_nested(key, config[key], keras3, f"{label}, {key!r}")
    return {"class_name": class_name, "config": config}


def _translate_nested(key, value, keras3, where):
    supported = SUPPORTED_LAYERS if key in ("layer", "backward_layer") else SUPPORTED_CELLS
    if not isinstance(value, list if key == "cells" else dict):
        expected = "a list of cell configs" if key == "cells" else "a layer / cell config dict"
        raise ValueError(f"{where}: must be {expected}, got {type(value).__name__}")
    if isinstance(value, list):
        return [translate(item, keras3, where, SUPPORTED_CELLS) for item in value]
    return translate(value, keras3, where, supported)


def layer_from_config(config, keras3, where):
    """A new (unbuilt) fastrnn layer for a Keras layer config; ``ValueError`` if unsupported."""
    check.nesting_depth(config, f"{where}: the layer config")
    translated = translate(config, keras3, where)
    if not keras3 and translated["class_name"] in _graph.MERGE_LAYERS:
        # tf.keras 2's merge layers combine masks with AND and leave values alone
        translated["config"].setdefault("mask_rules", "keras2")
    try:
        return deserialize(translated)
    except (TypeError, ValueError, KeyError) as exc:
        name = translated["config"].get("name")
        raise ValueError(f"{where}: Keras layer {name!r} ({translated['class_name']}) has "
                         f"arguments fastrnn does not support: {exc}") from None


def set_layer_weights(layer, weights, where):
    """Set ``weights`` on the built ``layer``, naming ``where`` and the layer on error.

    ``weights``: arrays, or stored arrays (``shape``, ``dtype`` and
    ``read(dtype)``, as the file readers give) read only once their shapes are
    checked, straight into the layer's dtype.  A count or shape mismatch is
    reported with every expected and given shape; ``layer.set_weights``
    checks the values themselves and changes nothing on error.
    """
    weights = list(weights)
    expected = [tuple(w.shape) for w in layer.weights]
    got = [_shape_of(w) for w in weights]
    label = f"{where}: layer {layer.name!r} ({type(layer).__name__})"
    if got != expected:
        raise ValueError(f"{label} has {len(expected)} weights of shapes {expected}, but "
                         f"{len(got)} weights of shapes {got} were given")
    try:
        arrays = [_read(w, target.dtype, f"weights[{i}]")
                  for i, (w, target) in enumerate(zip(weights, layer.weights))]
        if type(layer).set_weights is Layer.set_weights and all(hasattr(w, "read")
                                                                for w in weights):
            layer._set_weights(arrays, fresh=True)    # read just now: no second copy
        else:
            layer.set_weights(arrays)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{label}: {exc}") from None


def _shape_of(weight):
    shape = weight.shape if hasattr(weight, "shape") else np.shape(weight)
    return tuple(int(d) for d in shape)


def _read(weight, dtype, label):
    """A weight's values in ``dtype``: a stored array is read now, in that dtype only."""
    if hasattr(weight, "read"):
        return weight.read(dtype)
    return check.as_real_array(weight, label, dtype)


def declared_shapes(layer, input_shape):
    """``(shapes, output_shape)`` of an unbuilt ``layer`` for inputs of ``input_shape``.

    ``shapes`` are the weights the layer's config declares
    (``layer._declared_weights``), None when fastrnn cannot tell (a custom
    layer, an input shape that does not fit: building will say why);
    ``output_shape`` is None when unknown.  Nothing is allocated: this is what
    sizes are checked against before any layer is built.
    """
    if input_shape is None:
        return None, None
    try:
        shapes = layer._declared_weights(input_shape)
    except (TypeError, ValueError, IndexError):
        shapes = None
    try:
        output_shape = layer.compute_output_shape(input_shape)
    except (TypeError, ValueError, IndexError, AttributeError, NotImplementedError):
        output_shape = None
    return shapes, output_shape


def check_declared(layer, input_shape, weights, where):
    """Before ``layer`` is built: its declared weights must be the given ones, and fit memory.

    ``weights``: the arrays (or stored arrays, not read yet) the file gives
    the layer.  Raises a ``ValueError`` naming the layer, with the declared
    and the stored shapes, when they differ.  Returns the layer's output
    shape for ``input_shape`` (None when unknown), for the next layer's check.
    """
    shapes, output_shape = declared_shapes(layer, input_shape)
    label = f"{where}: layer {layer.name!r} ({type(layer).__name__})"
    got = [_shape_of(w) for w in weights]
    if shapes is not None and None not in [d for s in shapes for d in s]:
        shapes = [tuple(int(d) for d in s) for s in shapes]
        if sorted(shapes) != sorted(got):
            raise ValueError(f"{label} has {len(shapes)} weights of shapes {shapes} (as its "
                             f"config declares for inputs of shape {tuple(input_shape)}), but "
                             f"{len(got)} weights of shapes {got} were given")
    itemsize = np.dtype(layer.dtype or "float32").itemsize
    check.allocation(sum(int(np.prod(s, dtype=object)) for s in got) * itemsize * 3,
                     f"{label}: loading its weights")
    return output_shape


@contextlib.contextmanager
def zero_initializers(layer):
    """While building ``layer`` for weights about to be set: every initializer makes zeros.

    No random initializer (glorot, orthogonal) runs for values the file
    replaces; the layers' own initializers are put back afterwards, so their
    configs are unchanged.
    """
    saved, stack, seen = [], [layer], set()
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        saved += [(current, key, value) for key, value in vars(current).items()
                  if key.endswith("_initializer")]
        stack.extend(current._sublayers())
    zeros = initializers.get("zeros")
    for owner, key, _ in saved:
        setattr(owner, key, zeros)
    try:
        yield
    finally:
        for owner, key, value in saved:
            setattr(owner, key, value)


def from_keras_config(config: Dict[str, Any], weights: Any = None, *,
                      keras_version: Any = None, input_shape: Any = None) -> Any:
    """The fastrnn layer equivalent to a tf.keras layer config, with its weights.

    Parameters
    ----------
    config : dict
        A ``SimpleRNN``, ``LSTM``, ``GRU``, ``RNN`` (over built-in cells) or
        ``Bidirectional`` config -- the dict of the layer's ``get_config()``
        or the ``{"class_name": ..., "config": ...}`` form -- or, in the
        second form, any layer of the README's "Supported layers".
    weights : list of arrays, optional
        The layer's ``get_weights()`` (Keras order and layout).  When given,
        the layer is built for them and they are set (shapes checked first);
        otherwise the layer builds on its first call.
    input_shape : tuple or list of tuples, optional
        The input shape(s), batch axis first (``None`` for unknown sizes), to
        build the layer on before setting ``weights``.  Default: a sequence
        ``(None, None, features)`` with ``features = weights[0].shape[0]``,
        which fits the recurrent layers, ``Dense`` and ``Embedding``.
    keras_version : str, optional
        ``"2..."`` or ``"3..."``: which Keras wrote the config.  Default:
        guessed (a ``DTypePolicy`` dict or ``batch_shape`` means Keras 3).
        It decides what ``hard_sigmoid`` means.

    Returns
    -------
    Layer

    Raises
    ------
    ValueError
        Unsupported layer, cell or argument (named), or weights that do not fit.

    Examples
    --------
    >>> import numpy as np
    >>> from fastrnn.convert import from_keras_config
    >>> config = {"class_name": "GRU", "config": {"units": 2, "return_sequences": True}}
    >>> weights = [np.ones((3, 6)), np.ones((2, 6)), np.zeros((2, 6))]
    >>> from_keras_config(config, weights)(np.ones((1, 4, 3))).shape
    (1, 4, 2)
    """
    where = "from_keras_config"
    check.nesting_depth(config, f"{where}: the layer config")
    if keras_version is not None and not isinstance(keras_version, (str, bytes)):
        raise TypeError(f"{where}: keras_version must be a string such as '2.15' or '3.1', "
                        f"got {keras_version!r}")
    keras3 = looks_like_keras3(config) if keras_version is None else \
        is_keras3_version(keras_version)
    layer = layer_from_config(config, keras3, where)
    if weights is not None:
        if isinstance(weights, (str, bytes, dict)) or not hasattr(weights, "__iter__"):
            raise TypeError(f"{where}: weights must be a list of arrays, got "
                            f"{type(weights).__name__}")
        weights = list(weights)
    if input_shape is not None:
        if weights is None:
            _graph.build_on(layer, input_shape, where)
        else:       # the sizes checked first, then no random initialiser for the weights
            check_declared(layer, _graph.input_shapes(input_shape), weights, where)
            with zero_initializers(layer):
                _graph.build_on(layer, input_shape, where)
    if weights is not None:
        if weights and input_shape is None:
            first = _shape_of(weights[0])
            if not first:
                raise ValueError(f"{where}: weights[0] must be an array of rank >= 1 (the "
                                 f"kernel), got shape {first}")
            features = check.dimension(first[0], f"{where}: weights[0].shape[0]")
            check_declared(layer, (None, None, features), weights, where)
            with zero_initializers(layer):
                layer.build((None, None, features))
        set_layer_weights(layer, weights, where)
    return layer


# --------------------------------------------------------------------------
# models
# --------------------------------------------------------------------------

def _saving_name(class_name):
    """Keras's snake-case name of a class (how ``.keras`` files name weight groups)."""
    name = re.sub(r"\W+", "", class_name)
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def saving_names(configs):
    """The ``.keras`` group names of a list of layer configs: class name, then ``_1``, ``_2``..."""
    names, used = [], {}
    for config in configs:
        base = _saving_name(split_config(config, "saving_names")[0])
        count = used.get(base)
        used[base] = 0 if count is None else count + 1
        names.append(base if count is None else f"{base}_{count + 1}")
    return names


def model_spec(config, source, custom_objects=None):
    """Check a Keras model config and describe it as a :data:`ModelSpec`.

    Sequential models and functional models that are a single chain of
    layers (each taking the previous one's only output) are supported.
    """
    if not isinstance(config, dict) or not isinstance(config.get("config"), dict):
        raise ValueError(f"{source}: the model config is not a Keras model config")
    check.nesting_depth(config, f"{source}: the model config")
    if _graph.needs_graph(config, custom_objects):   # DAGs, nested models, ...: a Model
        return _graph.graph_spec(config, source)
    class_name, inner = config.get("class_name"), config["config"]
    layers = inner.get("layers")
    if not isinstance(layers, list):
        raise ValueError(f"{source}: the model config has no valid 'layers' list")
    if len(layers) > MAX_LAYERS:
        raise ValueError(f"{source}: the model declares {len(layers)} layers; fastrnn loads "
                         f"at most {MAX_LAYERS}")
    for i, layer in enumerate(layers):
        _check_layer_entry(layer, f"{source}: layers[{i}]")
        check_supported(layer["class_name"], (layer.get("config") or {}).get("name"), source)
    if class_name == "Sequential":
        chain = [layer for layer in layers if layer["class_name"] != "InputLayer"]
        names = saving_names(chain)
    elif class_name in ("Functional", "Model"):
        _check_chain(inner, source)
        chain = layers[1:]
        names = saving_names(layers)[1:]
    else:
        raise ValueError(f"{source}: unsupported model class {class_name!r}: fastrnn loads "
                         f"Sequential models and single-chain functional models")
    if not chain:
        raise ValueError(f"{source}: the model has no layers")
    for layer in chain:     # the nested layers and cells the weight readers walk
        translate(layer, False, source)
    batch_shape, dtype = _model_input(inner, layers, source)
    name = inner.get("name")
    return ModelSpec(name if isinstance(name, str) and name else "sequential", batch_shape,
                     dtype, chain, names)


def _check_layer_entry(layer, where):
    """Raise a ``ValueError`` unless a layer entry is ``{"class_name": str, "config": dict}``."""
    if not isinstance(layer, dict):
        raise ValueError(f"{where} must be a layer config dict, got {type(layer).__name__}")
    if not isinstance(layer.get("class_name"), str):
        raise ValueError(f"{where} has no 'class_name' string (got "
                         f"{layer.get('class_name')!r})")
    if not isinstance(layer.get("config", {}), (dict, type(None))):
        raise ValueError(f"{where} ({layer['class_name']}): its 'config' must be a dict, "
                         f"got {type(layer['config']).__name__}")


def _model_input(inner, layers, source):
    """The model's input ``(batch_shape, dtype)`` from its InputLayer or first layer."""
    first = layers[0].get("config") or {}
    if layers[0]["class_name"] == "InputLayer":
        shape = first.get("batch_shape", first.get("batch_input_shape"))
        return _shape(shape, source), first.get("dtype") or "float32"
    build_config = layers[0].get("build_config")
    shape = (inner.get("build_input_shape") or first.get("batch_input_shape")
             or first.get("batch_shape")
             or (build_config.get("input_shape") if isinstance(build_config, dict) else None))
    dtype = "int32" if layers[0]["class_name"] == "Embedding" else "float32"
    return _shape(shape, source), dtype


def _shape(shape, source):
    if not isinstance(shape, (list, tuple)):
        raise ValueError(f"{source}: cannot tell the model's input shape (got {shape!r})")
    try:
        return check.shape_tuple(shape, "the model's input shape")
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{source}: {exc}") from None


def _check_chain(inner, source):
    """Raise unless a functional model is one input followed by a chain of single-input layers."""
    layers = inner["layers"]
    names = [layer.get("name") or (layer.get("config") or {}).get("name") for layer in layers]
    if not layers or layers[0]["class_name"] != "InputLayer":
        raise ValueError(f"{source}: a functional model must start with its InputLayer")
    for previous, layer, name in zip(names, layers[1:], names[1:]):
        if _inbound_layers(layer.get("inbound_nodes")) != [previous]:
            raise ValueError(f"{source}: functional model layer {name!r} does not simply take "
                             f"the output of {previous!r}: fastrnn loads Sequential models "
                             f"and functional models that are a single chain of layers")
    outputs = inner.get("output_layers")
    while isinstance(outputs, list) and outputs and isinstance(outputs[0], list):
        if len(outputs) != 1:
            raise ValueError(f"{source}: the functional model has several outputs")
        outputs = outputs[0]
    if not isinstance(outputs, list) or not outputs or outputs[0] != names[-1]:
        raise ValueError(f"{source}: the functional model's output is not its last layer")


def _inbound_layers(nodes):
    """The layer names of a layer's single inbound node (None if it is not that simple)."""
    if not isinstance(nodes, list) or len(nodes) != 1:
        return None
    node = nodes[0]
    if isinstance(node, dict):  # Keras 3: {"args": [tensor], "kwargs": {...}}
        kwargs = node.get("kwargs") or {}
        if not isinstance(kwargs, dict):
            return None
        if any(value is not None for key, value in kwargs.items() if key != "training"):
            return None
        args = node.get("args") or []
        history = [(arg.get("config").get("keras_history")
                    if isinstance(arg, dict) and isinstance(arg.get("config"), dict) else None)
                   for arg in (args if isinstance(args, list) else [None])]
    else:  # Keras 2: [[name, node_index, tensor_index, kwargs]]
        if not isinstance(node, list) or any(
                not isinstance(entry, list) or len(entry) < 3 or (len(entry) > 3 and entry[3])
                for entry in node):
            return None
        history = node
    if any(not isinstance(h, list) or len(h) < 3 or h[1:3] != [0, 0] for h in history):
        return None
    return [h[0] for h in history]


def build_model(spec, weights, keras3, source, custom_objects=None):
    """A built :class:`fastrnn.Sequential` for ``spec`` with every layer's ``weights`` set.

    ``weights``: one list of arrays per layer of ``spec.layers``.  The model
    is returned only when every layer is built and loaded.  A graph spec
    (``_graph.GraphSpec``) gives a functional ``_graph.Model``.
    """
    if isinstance(spec, _graph.GraphSpec):
        return _graph.build_graph_model(spec, weights, keras3, source, custom_objects)
    layers = [layer_from_config(config, keras3, source) for config in spec.layers]
    shape = spec.batch_shape or None
    for layer, arrays in zip(layers, weights):
        shape = check_declared(layer, shape, arrays, source)
    model = Sequential(name=spec.name)
    try:
        model.add(InputLayer(batch_shape=spec.batch_shape, dtype=spec.input_dtype))
        for layer in layers:
            with zero_initializers(layer):
                model.add(layer)
    except (TypeError, ValueError, IndexError) as exc:
        raise ValueError(f"{source}: the model's layers do not fit together: {exc}") from None
    for layer, arrays in zip(layers, weights):
        set_layer_weights(layer, arrays, source)
    return model
