"""The Layer base class, symbolic ``Input`` placeholders, ``TensorShape``, and
the nested-structure helpers the recurrent layers share.

A :class:`Layer` holds NumPy weights created by :meth:`Layer.add_weight`
(``add_weight`` returns the array itself, so ``self.kernel`` is a read-only
ndarray that ``set_weights`` replaces by a new one; built-in layers read their
weights in a call through one published mapping, so that a concurrent
``set_weights`` gives the call all old or all new weights), builds itself on
its first call, and reads and writes tf.keras configs.  Sub-layers are found
by looking at the layer's attributes (a layer, or a list / tuple of layers), so
a subclass needs no registration and may set attributes before calling
``super().__init__()``.
"""
import contextlib
import functools
import inspect
import re
import threading
from types import MappingProxyType
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from .. import _validation as check
from .. import constraints, initializers, regularizers

__all__ = ["Layer", "Input", "Placeholder", "TensorShape", "serialize", "deserialize"]

#: Per thread, while a call made of many weight reads runs: ``id(layer) -> the weights
#: mapping it reads`` (see :func:`pinned_weights`).
_PINNED = threading.local()
#: How many such blocks run in all threads (0: no call needs to look at ``_PINNED``).
_pinned_blocks = 0
_pinned_blocks_lock = threading.Lock()


# --------------------------------------------------------------------------
# shapes and nested structures
# --------------------------------------------------------------------------

class TensorShape:
    """The shape of one (possibly higher-dimensional) value, without the batch axis.

    Used as a cell's ``state_size`` or ``output_size`` when a state is not a
    vector: ``state_size = TensorShape([2, 3])`` is ONE state of shape
    ``(batch, 2, 3)``, whereas ``state_size = [2, 3]`` is two vector states.

    Parameters
    ----------
    dims : int, iterable of int (or None), or TensorShape

    Examples
    --------
    >>> import fastrnn as fr
    >>> fr.TensorShape([2, 3]).as_list()
    [2, 3]
    """

    __slots__ = ("dims",)
    dims: Tuple[Optional[int], ...]

    def __init__(self, dims: Any) -> None:
        if isinstance(dims, TensorShape):
            dims = dims.dims
        elif dims is None or isinstance(dims, (int, np.integer)):
            dims = () if dims is None else (dims,)
        self.dims = tuple(None if d is None else int(d) for d in dims)

    @property
    def rank(self) -> int:
        """Number of dimensions."""
        return len(self.dims)

    def as_list(self) -> list:
        """The dimensions as a list."""
        return list(self.dims)

    def concatenate(self, other: Any) -> Any:
        """This shape followed by ``other``'s dimensions."""
        return TensorShape(self.dims + TensorShape(other).dims)

    def __iter__(self):
        return iter(self.dims)

    def __len__(self):
        return len(self.dims)

    def __getitem__(self, index):
        return self.dims[index]

    def __eq__(self, other):
        if isinstance(other, TensorShape):
            return self.dims == other.dims
        if isinstance(other, (tuple, list)):
            return self.dims == tuple(other)
        return NotImplemented

    def __hash__(self):
        return hash(self.dims)

    def __repr__(self):
        return f"TensorShape({list(self.dims)})"


def is_nested(value):
    """True for the list / tuple nodes of a nested structure."""
    return isinstance(value, (list, tuple))


def flatten(structure):
    """The leaves of a nested structure of lists / tuples, depth first."""
    if not is_nested(structure):
        return [structure]
    leaves = []
    for item in structure:
        leaves.extend(flatten(item))
    return leaves


def make_node(like, children):
    """A node of ``like``'s kind holding ``children``: a list, a tuple or the same namedtuple."""
    if isinstance(like, tuple) and hasattr(type(like), "_fields"):
        return type(like)(*children)
    return tuple(children) if isinstance(like, tuple) else list(children)


def pack_like(structure, leaves):
    """Rebuild ``structure`` around ``leaves`` in order, keeping its node types
    (lists, tuples, namedtuples), as ``tf.nest.pack_sequence_as`` does."""
    it = iter(leaves)

    def rebuild(node):
        if is_nested(node):
            return make_node(node, [rebuild(child) for child in node])
        return next(it)

    return rebuild(structure)


def pack_as(structure, leaves):
    """Rebuild ``structure``'s nesting (as lists) around ``leaves`` in order."""
    it = iter(leaves)

    def rebuild(node):
        if is_nested(node):
            return [rebuild(child) for child in node]
        return next(it)

    return rebuild(structure)


def shape_spec(size):
    """A ``state_size`` / ``output_size`` as nested lists of :class:`TensorShape` leaves.

    An int or a TensorShape is one leaf; a list / tuple is a node (several
    values), as in tf.keras.
    """
    if isinstance(size, TensorShape):
        return size
    if isinstance(size, (int, np.integer)) and not isinstance(size, (bool, np.bool_)):
        return TensorShape([size])
    if is_nested(size):
        return [shape_spec(s) for s in size]
    raise TypeError(f"a state_size / output_size must be an int, a TensorShape or a "
                    f"list/tuple of those, got {size!r}")


def zeros_like_spec(spec, batch_size, dtype):
    """Zero arrays ``(batch_size, *leaf)`` for every leaf of ``spec``, same nesting."""
    leaves = [np.zeros((batch_size,) + leaf.dims, dtype) for leaf in flatten(spec)]
    return pack_as(spec, leaves) if is_nested(spec) else leaves[0]


@functools.lru_cache(maxsize=None)
def _function_accepts(function, argument):
    try:
        params = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False
    return argument in params or any(p.kind is inspect.Parameter.VAR_KEYWORD
                                     for p in params.values())


def call_accepts(layer, argument):
    """Whether ``layer.call`` takes keyword ``argument`` (cached per function)."""
    call = layer.call
    return _function_accepts(getattr(call, "__func__", call), argument)


# --------------------------------------------------------------------------
# names and the class registry used by (de)serialization
# --------------------------------------------------------------------------

_name_counts: "dict[str, int]" = {}
_name_lock = threading.Lock()


def _snake_case(name):
    words = re.sub(r"(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", words).lower()


def _unique_name(base):
    with _name_lock:
        count = _name_counts.get(base, 0)
        _name_counts[base] = count + 1
    return base if count == 0 else f"{base}_{count}"


_REGISTRY: "dict[str, Any]" = {}


def register(cls):
    """Class decorator: make ``cls`` known to :func:`deserialize` by its class name."""
    _REGISTRY[cls.__name__] = cls
    return cls


def serialize(layer: Any) -> Any:
    """``{"class_name": ..., "config": layer.get_config()}`` (the tf.keras form)."""
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


def deserialize(config: Dict[str, Any], custom_objects: Optional[Dict[str, Any]] = None) -> Any:
    """A layer from ``{"class_name", "config"}`` (tf.keras 2 or Keras 3 form).

    Parameters
    ----------
    config : dict
        ``class_name`` names a fastrnn layer (or a class in ``custom_objects``);
        keys Keras adds around it (``module``, ``registered_name``,
        ``build_config``) are ignored.
    custom_objects : dict, optional
        ``class name -> class`` for user-defined layers and cells.
    """
    if not isinstance(config, dict) or "class_name" not in config:
        raise TypeError(f"a layer config must be a dict with 'class_name' and 'config', "
                        f"got {config!r}")
    name = config["class_name"]
    cls = (custom_objects or {}).get(name) or _REGISTRY.get(name)
    if cls is None:
        raise ValueError(f"Unknown layer class {name!r}: fastrnn knows {sorted(_REGISTRY)}; "
                         f"pass custom_objects={{{name!r}: cls}} for your own classes")
    layer_config = dict(config.get("config") or {})
    if "custom_objects" in inspect.signature(cls.from_config).parameters:
        return cls.from_config(layer_config, custom_objects=custom_objects)
    return cls.from_config(layer_config)


def keras3_config(cls, config):
    """``config`` as fastrnn reads it, when Keras 3 wrote it for a built-in class.

    Keras 3 writes dtype policies as dicts, initializer keys fastrnn's do not
    have, Keras-only arguments, and its ``hard_sigmoid`` means
    ``relu6(x + 3) / 6``: the config gets the translation
    :func:`fastrnn.convert.from_keras_config` applies.  Other configs (tf.keras
    2's, fastrnn's, those of user classes or holding user cells) are returned
    unchanged.
    """
    name = cls.__name__
    if _REGISTRY.get(name) is not cls or not isinstance(config, dict):
        return config
    from ..convert import _keras  # noqa: PLC0415 (fastrnn.convert imports the layers)
    supported = _keras.SUPPORTED_CELLS if name in _keras.SUPPORTED_CELLS else \
        _keras.SUPPORTED_LAYERS
    if (name not in supported or not _keras.looks_like_keras3(config)
            or not _nested_classes_in(config, _keras.SUPPORTED_LAYERS | _keras.SUPPORTED_CELLS)):
        return config
    return _keras.translate({"class_name": name, "config": config}, True,
                            f"{name}.from_config", supported)["config"]


def construct(cls, config, *args):
    """``cls(*args, **config)``; a ``TypeError`` names the class and the layer's name."""
    try:
        return cls(*args, **config)
    except TypeError as exc:
        raise TypeError(f"{cls.__name__}.from_config (layer {config.get('name')!r}): "
                        f"{exc}") from None


def _nested_classes_in(config, known):
    """Whether every layer / cell config nested in ``config`` names a class in ``known``."""
    for key in ("layer", "backward_layer", "cell", "cells"):
        value = config.get(key)
        for item in (value if isinstance(value, list) else [value]):
            if item is None:
                continue
            if not (isinstance(item, dict) and item.get("class_name") in known
                    and _nested_classes_in(item.get("config") or {}, known)):
                return False
    return True


# --------------------------------------------------------------------------
# symbolic inputs
# --------------------------------------------------------------------------

class Placeholder:
    """A symbolic value: a shape (``None`` for unknown sizes) and a dtype, no data.

    Calling a layer on placeholders builds the layer and returns placeholders
    with the output shapes; see :func:`Input`.
    """

    __slots__ = ("shape", "dtype", "name")

    def __init__(self, shape: Any, dtype: Any = "float32", name: Optional[str] = None) -> None:
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = np.dtype(dtype).name
        self.name = name

    @property
    def ndim(self) -> int:
        """Number of dimensions, batch included."""
        return len(self.shape)

    def __repr__(self):
        return f"Placeholder(shape={self.shape}, dtype={self.dtype})"


def Input(shape: Any = None, batch_size: Optional[int] = None, name: Optional[str] = None,
          dtype: Any = None, batch_shape: Any = None) -> Any:
    """A symbolic model input, as ``tf.keras.Input``.

    Parameters
    ----------
    shape : tuple
        Shape of one sample (no batch axis); ``None`` for a variable size,
        e.g. ``(None, 5)`` for sequences of any length with 5 features.
    batch_size : int, optional
    name : str, optional
    dtype : str, optional
        Default ``"float32"``.
    batch_shape : tuple, optional
        The full shape including the batch axis (instead of ``shape``).

    Returns
    -------
    Placeholder

    Examples
    --------
    >>> import fastrnn as fr
    >>> x = fr.Input((None, 5))
    >>> fr.LSTM(3)(x).shape
    (None, 3)
    """
    if batch_shape is None:
        if shape is None:
            raise ValueError("Input needs `shape` (per-sample shape) or `batch_shape`")
        shape = (shape,) if isinstance(shape, (int, np.integer)) else check.shape_tuple(
            shape, "Input shape")
        batch_shape = (check.dimension(batch_size, "batch_size", allow_none=True),) + shape
    return Placeholder(check.shape_tuple(batch_shape, "Input batch_shape"), dtype or "float32",
                       name)


def _contains_placeholder(value):
    return any(isinstance(leaf, Placeholder) for leaf in flatten(value))


def _placeholders_for(shapes, dtype):
    """Placeholders for a nested structure (lists) of shape tuples."""
    if isinstance(shapes, list):
        return [_placeholders_for(s, dtype) for s in shapes]
    return Placeholder(shapes, dtype)


def shape_of(value):
    """The shape of an array-like or placeholder, nested for lists / tuples of them."""
    if isinstance(value, Placeholder):
        return value.shape
    if isinstance(value, np.ndarray):
        return value.shape
    if is_nested(value) and value and all(isinstance(v, (np.ndarray, Placeholder))
                                          for v in flatten(value)):
        return make_node(value, [shape_of(v) for v in value])
    return check.regular_array(value, "inputs").shape


# --------------------------------------------------------------------------
# Layer
# --------------------------------------------------------------------------

class _WeightRecord:
    """Bookkeeping for one weight: its array and what Keras attaches to it."""

    __slots__ = ("owner", "name", "value", "regularizer", "constraint", "trainable")

    def __init__(self, owner, name, value, regularizer, constraint, trainable):
        self.owner, self.name, self.value = owner, name, value
        self.regularizer, self.constraint, self.trainable = regularizer, constraint, trainable


#: Keyword arguments Layer accepts besides its named ones (tf.keras's list).
_LAYER_KWARGS = frozenset({"input_shape", "batch_input_shape", "batch_size", "input_dim",
                           "weights", "activity_regularizer", "autocast"})
#: add_weight arguments of tf.keras that have no meaning here (accepted, ignored).
_IGNORED_WEIGHT_KWARGS = frozenset({"caching_device", "use_resource", "synchronization",
                                    "aggregation", "experimental_autocast", "partitioner",
                                    "getter"})


class Layer:
    """Base class of fastrnn layers and cells, with the tf.keras ``Layer`` API.

    Parameters
    ----------
    trainable : bool, default True
        Stored and serialized (fastrnn does not train); decides which weights
        ``trainable_weights`` lists.
    name : str, optional
        Default: the class name in snake case, made unique (``lstm``, ``lstm_1``).
    dtype : str, numpy dtype or Keras dtype-policy dict, optional
        ``"float32"`` (default) or ``"float64"``: the dtype the layer computes in.
    dynamic : bool, default False
        Accepted for compatibility; no effect.
    **kwargs
        ``input_shape``, ``batch_input_shape``, ``batch_size``, ``input_dim``
        (the expected input, batch size first for ``batch_input_shape``),
        ``weights`` (initial weights, set after the first build),
        ``activity_regularizer`` (stored and serialized).

    Notes
    -----
    Subclasses implement ``build(input_shape)`` (creating weights with
    :meth:`add_weight`) and ``call(inputs, ...)``; ``layer(inputs)`` builds the
    layer on its first call (once, under a lock) and then runs ``call``.

    Examples
    --------
    >>> import numpy as np
    >>> import fastrnn as fr
    >>> class Scale(fr.Layer):
    ...     def build(self, input_shape):
    ...         self.w = self.add_weight("w", (input_shape[-1],), initializer="ones")
    ...         self.built = True
    ...     def call(self, inputs):
    ...         return inputs * self.w
    >>> Scale()(np.ones((2, 3))).shape
    (2, 3)
    """

    #: Whether ``compute_mask`` passes the input mask through (tf.keras's flag).
    supports_masking = False
    #: A layer whose dtype is None takes the dtype of its first input (TfLiteRNNCell).
    _dtype_from_first_input = False

    def __new__(cls, *args: Any, **kwargs: Any) -> "Layer":
        layer = super().__new__(cls)
        # tf_keras >= 2.13: a subclass without its own get_config serializes the
        # constructor arguments it was given, when they are plain values
        if cls.get_config is Layer.get_config and (args or kwargs):
            layer.__dict__["_auto_config"] = _auto_config(cls, args, kwargs)
        return layer

    def __init__(self, trainable: bool = True, name: Optional[str] = None, dtype: Any = None,
                 dynamic: bool = False, **kwargs: Any) -> None:
        unknown = set(kwargs) - _LAYER_KWARGS
        if unknown:
            raise TypeError(f"{type(self).__name__}: keyword argument(s) not understood: "
                            f"{sorted(unknown)}")
        self._name = check.optional_name(name) or _unique_name(_snake_case(type(self).__name__))
        self._trainable = bool(trainable)
        self.dynamic = dynamic
        self._dtype_explicit = dtype is not None
        if dtype is None and self._dtype_from_first_input:
            self._compute_dtype = None
        else:
            self._compute_dtype = check.compute_dtype(dtype)
        self.built = False
        self._weight_records: List[_WeightRecord] = []
        self._build_lock = threading.RLock()
        self._initial_weights = kwargs.get("weights")
        self.activity_regularizer = regularizers.get(kwargs.get("activity_regularizer"))
        self._batch_input_shape = _batch_input_shape(kwargs)
        self._batch_size_hint = kwargs.get("batch_size")
        self._build_input_shape = None
        self._symbolic_calls: List[tuple] = []

    # ---- pickling and copying -------------------------------------------------

    #: Attributes that never travel in a pickle or a deep copy: locks, per-thread
    #: caches, and the compiled kernels' weight objects (remade from the weights).
    _TRANSIENT = frozenset({"_build_lock", "_lock", "_dropout_local", "_kernel_weights",
                            "_weight_view"})

    def __getstate__(self) -> dict:
        """The layer's attributes without its locks, caches and kernel weight objects."""
        return {k: v for k, v in self.__dict__.items() if k not in self._TRANSIENT}

    def __setstate__(self, state: dict) -> None:
        """Restore the attributes, then remake what :meth:`__getstate__` left out."""
        self.__dict__.update(state)
        self._build_lock = threading.RLock()
        for record in self._weight_records:
            record.value.flags.writeable = False
        self._restore_transient()

    def _restore_transient(self):
        """Remake the transient attributes after unpickling or copying (subclasses extend)."""

    # ---- trainable ------------------------------------------------------------

    @property
    def trainable(self) -> bool:
        """Whether the layer's weights would be trained; setting it sets every sub-layer's
        (cells, wrapped layers), as tf.keras does."""
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        value = bool(value)
        for layer in self._flatten_layers():
            layer._trainable = value

    def _flatten_layers(self):
        """This layer and every layer below it, each once."""
        found, stack = [], [self]
        while stack:
            layer = stack.pop()
            if all(layer is not f for f in found):
                found.append(layer)
                stack.extend(reversed(layer._sublayers()))
        return found

    # ---- symbolic inputs and outputs ------------------------------------------

    def _io(self, index):
        calls = self.__dict__.get("_symbolic_calls") or []
        what = ("input", "output")[index]
        if not calls:
            raise AttributeError(f"layer {self.name!r} has never been called on an Input "
                                 f"and thus has no defined {what}")
        shapes = {repr(_shapes_of(call[index])) for call in calls}
        if len(shapes) > 1:
            raise AttributeError(f"layer {self.name!r} has been called on inputs of different "
                                 f"shapes, so its {what} is ill-defined")
        return calls[-1][index]

    @property
    def input(self) -> Any:
        """The placeholder(s) of the (last) symbolic call; ``AttributeError`` if none."""
        return self._io(0)

    @property
    def output(self) -> Any:
        """The placeholder(s) a symbolic call returned; ``AttributeError`` if none."""
        return self._io(1)

    @property
    def input_shape(self) -> Any:
        """The shape(s) of :attr:`input` (batch axis included)."""
        return _shapes_of(self._io(0))

    @property
    def output_shape(self) -> Any:
        """The shape(s) of :attr:`output`: a tuple, or a list of tuples for several outputs."""
        return _shapes_of(self._io(1))

    def _record_symbolic(self, inputs, outputs):
        calls = self.__dict__.setdefault("_symbolic_calls", [])
        calls.append((inputs, outputs))
        del calls[:-8]  # bounded: the properties look at the shapes of recent calls

    # ---- repr ------------------------------------------------------------------

    def __repr__(self) -> str:
        parts = [f"name={self.name!r}"] + [f"{k}={v!r}" for k, v in self._repr_items()]
        if self.built:
            parts.append("built")
            shape = self._build_input_shape
            if shape is not None:
                parts.append(f"input_shape={_plain(shape)}")
                try:
                    parts.append(f"output_shape={_plain(self.compute_output_shape(shape))}")
                except Exception:  # noqa: BLE001 (a repr never fails)
                    pass
        return f"<{type(self).__name__} {' '.join(parts)}>"

    def _repr_items(self):
        """``(key, value)`` of the constructor arguments that differ from their defaults."""
        try:
            config = self.get_config()
            params = inspect.signature(type(self).__init__).parameters
        except Exception:  # noqa: BLE001 (a repr never fails)
            return []
        required, items = [], []
        for key, value in config.items():
            if key in ("name", "dtype", "trainable") or isinstance(value, dict) or not \
                    _is_plain(value):
                continue
            param = params.get(key)
            default = param.default if param is not None else None
            if param is not None and default is inspect.Parameter.empty:
                required.append((key, value))
            elif value != default and not (key == "batch_input_shape" and self.built) and not (
                    value == "linear" and default is None):  # None means linear
                items.append((key, value))
        items = required + items
        if self.dtype not in (None, "float32"):
            items.append(("dtype", self.dtype))
        if not self.trainable:
            items.append(("trainable", False))
        return items

    # ---- identity and dtype -------------------------------------------------

    @property
    def name(self) -> str:
        """The layer's name."""
        return self._name

    @property
    def dtype(self) -> Optional[str]:
        """The dtype the layer computes in: ``"float32"``, ``"float64"``, None if not known yet."""
        return None if self._compute_dtype is None else self._compute_dtype.name

    @property
    def compute_dtype(self) -> Optional[str]:
        """Same as :attr:`dtype` (tf.keras's name for it)."""
        return self.dtype

    def _adopt_dtype(self, dtype):
        """Take ``dtype`` unless the user chose one (an enclosing layer passes its own)."""
        if not self._dtype_explicit and not self.built and dtype is not None:
            self._compute_dtype = np.dtype(dtype)

    # ---- building -------------------------------------------------------------

    def build(self, input_shape: Any) -> None:
        """Create the weights for inputs of ``input_shape``; the default has none."""
        self.built = True

    def _declared_weights(self, input_shape: Any) -> Optional[List[tuple]]:
        """The shapes of the weights ``build(input_shape)`` creates, in :attr:`weights`
        order, found from the layer's arguments alone (nothing is allocated); None
        when the layer cannot tell (a custom ``build``).

        Model loaders compare these with the shapes a file stores before building
        anything (``fastrnn.convert._keras.check_declared``).
        """
        return [] if type(self).build is Layer.build else None

    def _build_once(self, input_shape, dtype=None):
        """Build under the layer's lock unless built; set initial weights if given."""
        with self._build_lock:
            if self.built:
                return
            if self._compute_dtype is None:
                self._compute_dtype = _dtype_of_input(dtype)
            self.build(input_shape)
            self.built = True
            self.__dict__.pop("_weight_view", None)   # published again from the new weights
            self._build_input_shape = input_shape
            if self._initial_weights is not None:
                self.set_weights(self._initial_weights)
                self._initial_weights = None

    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        """Run the layer on ``inputs``, building it on the first call.

        Parameters
        ----------
        inputs : array-like, or an :func:`Input` placeholder
            Placeholders in give placeholders out (the layer is built for their
            shape and records them: see :attr:`output_shape`).
        *args, **kwargs
            Passed to the subclass's ``call`` (e.g. ``mask=``, ``training=``).

        Returns
        -------
        What ``call`` returns.
        """
        if _contains_placeholder(inputs):
            return self._call_symbolic(inputs, *args, **kwargs)
        if not self.built:
            self._build_once(shape_of(inputs), getattr(inputs, "dtype", None))
        return self.call(inputs, *args, **kwargs)

    def _call_symbolic(self, inputs, *args, **kwargs):
        shape = shape_of(inputs)
        if not self.built:
            self._build_once(shape, flatten(inputs)[0].dtype)
        outputs = _placeholders_for(self.compute_output_shape(shape), self.dtype or "float32")
        self._record_symbolic(inputs, outputs)
        return outputs

    def call(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        """The layer's computation; the default returns ``inputs`` unchanged."""
        return inputs

    def compute_output_shape(self, input_shape: Any) -> Any:
        """The output shape for ``input_shape`` (needed for calls on placeholders)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement "
                                  f"compute_output_shape, so it cannot be called on Input "
                                  f"placeholders")

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """The mask of the outputs: ``mask`` if the layer supports masking, else None."""
        return mask if self.supports_masking else None

    # ---- weights -------------------------------------------------------------

    def add_weight(self, name: Optional[str] = None, shape: Any = None, initializer: Any = None,
                   regularizer: Any = None, constraint: Any = None, trainable: bool = True,
                   dtype: Any = None, **kwargs: Any) -> Any:
        """Create a weight, remember it, and return it (a C-contiguous, read-only ndarray).

        Weights change only through :meth:`set_weights` (or
        :meth:`apply_constraints`), which also remake what the compiled kernels
        derived from them; writing into the array in place raises ``ValueError``.

        Parameters
        ----------
        name : str
        shape : tuple of int
        initializer : str, dict, Initializer or callable ``f(shape, dtype)``
            Default ``"glorot_uniform"``.
        regularizer : optional
            Penalty reported by :attr:`losses`.
        constraint : optional
            Applied by :meth:`apply_constraints`.
        trainable : bool
        dtype : optional
            Default: the layer's dtype.
        """
        unknown = set(kwargs) - _IGNORED_WEIGHT_KWARGS
        if unknown:
            raise TypeError(f"add_weight: keyword argument(s) not understood: {sorted(unknown)}")
        dtype = check.compute_dtype(dtype or self._compute_dtype, "add_weight dtype")
        shape = check.weight_shape(shape, name, dtype)
        init = initializers.get("glorot_uniform" if initializer is None else initializer)
        value = check.weight_array(init(shape, dtype=dtype), f"initial value of weight {name!r}",
                                   shape, dtype)
        value.flags.writeable = False
        record = _WeightRecord(self, name, value, regularizers.get(regularizer),
                               constraints.get(constraint), bool(trainable))
        self._weight_records.append(record)
        return value

    def _sublayers(self):
        """Layers held in attributes (directly or in lists / tuples), in attribute order."""
        found = []
        for value in list(vars(self).values()):
            if isinstance(value, Layer):
                found.append(value)
            elif isinstance(value, (list, tuple)):
                found.extend(v for v in value if isinstance(v, Layer))
        return found

    def _records(self, _seen=None):
        """Own weight records then those of sub-layers (each layer once)."""
        seen = set() if _seen is None else _seen
        if id(self) in seen:
            return []
        seen.add(id(self))
        records = list(self._weight_records)
        for layer in self._sublayers():
            records.extend(layer._records(seen))
        return records

    def _ordered_records(self):
        """Records in Keras's ``weights`` order: trainable ones first."""
        records = self._records()
        if not self.trainable:
            return records
        trainable = [r for r in records if r.trainable and r.owner.trainable]
        return trainable + [r for r in records if not (r.trainable and r.owner.trainable)]

    @property
    def weights(self) -> List[np.ndarray]:
        """Every weight array (the live arrays, trainable ones first)."""
        return [r.value for r in self._ordered_records()]

    @property
    def trainable_weights(self) -> List[np.ndarray]:
        """The weights that would be trained."""
        if not self.trainable:
            return []
        return [r.value for r in self._records() if r.trainable and r.owner.trainable]

    @property
    def non_trainable_weights(self) -> List[np.ndarray]:
        """The weights that would not be trained."""
        if not self.trainable:
            return [r.value for r in self._records()]
        return [r.value for r in self._records() if not (r.trainable and r.owner.trainable)]

    def count_params(self) -> int:
        """The number of scalars in the layer's weights (the layer must be built)."""
        if not self.built:
            raise ValueError(f"count_params: layer {self.name!r} is not built yet; build it "
                             f"(layer.build(input_shape)) or call it on an input first")
        return int(sum(w.size for w in self.weights))

    def get_weights(self) -> List[np.ndarray]:
        """Copies of the weights, in Keras order and layout."""
        return [value.copy() for value in self.weights]

    def set_weights(self, weights: Any) -> None:
        """Set every weight from a list of arrays (Keras order and layout).

        All values are checked (count, shapes, real numbers) before any weight
        changes: when this raises, the layer is unchanged.
        """
        self._set_weights(weights)

    def _set_weights(self, weights, fresh=False):
        """:meth:`set_weights`; ``fresh=True``: the arrays are new and nobody else's (a
        model file's, just read), so those already C-contiguous in the weight's dtype and
        shape are taken without a copy."""
        weights = list(weights)
        if not self.built and weights and not self._records():
            self._build_for_set_weights()
        records = self._ordered_records()
        if len(weights) != len(records):
            raise ValueError(f"set_weights: layer {self.name!r} has {len(records)} weights "
                             f"{[tuple(r.value.shape) for r in records]}, got a list of "
                             f"{len(weights)}")
        new_values = [value if fresh and _fits(value, record.value) else
                      check.weight_array(value, f"weights[{i}] ({record.name})",
                                         record.value.shape, record.value.dtype)
                      for i, (value, record) in enumerate(zip(weights, records))]
        self._assign(records, new_values)

    def _build_for_set_weights(self):
        """Build from ``batch_input_shape`` (as tf.keras does), else say how to build."""
        shape = self._known_input_shape()
        if shape is not None:
            self._build_once(shape)
            return
        raise ValueError(f"set_weights: layer {self.name!r} ({type(self).__name__}) is not "
                         f"built yet, so it has no weights to set; build it first "
                         f"(layer.build(input_shape), or call it once on an input), or "
                         f"construct it with input_shape= / batch_input_shape=")

    def _known_input_shape(self):
        """The input shape (batch axis first) given to the constructor, or None."""
        return self._batch_input_shape

    def _assign(self, records, values):
        """Swap in new read-only arrays, then let every layer below this one remake what it
        derives from them (:meth:`_weights_changed`: owners first, then the layers holding
        them, children before parents).

        ``values`` are fresh arrays of the records' shapes and dtypes (as
        :func:`fastrnn._validation.weight_array` makes them): they are taken as
        they are, not copied again.  The old arrays are never written in place:
        a call in flight keeps reading the weights it started with.  Every layer's
        lock, this one's and those below, is held meanwhile, so a layer that reads
        several sub-layers' weights together (a stack of cells, ``Bidirectional``)
        does so under its lock and never sees half of a ``set_weights``.
        """
        layers = self._flatten_layers()          # parents before children: the lock order
        changes: Dict[int, Tuple[Layer, list]] = {}
        for record, value in zip(records, values):
            value.flags.writeable = False
            changes.setdefault(id(record.owner), (record.owner, []))[1].append((record, value))
        with contextlib.ExitStack() as held:
            for layer in layers:
                held.enter_context(layer._build_lock)
            for owner, pairs in changes.values():
                for record, new in pairs:
                    old, record.value = record.value, new
                    for attribute, current in list(vars(owner).items()):
                        if current is old:
                            setattr(owner, attribute, new)
                owner._weights_changed()
            for layer in reversed(layers):
                if id(layer) not in changes and layer.built:
                    layer._weights_changed()

    def _weights_changed(self):
        """Hook run after build and after weights are set: publish what calls read.

        The default publishes the layer's weights (:meth:`_publish_weights`); a
        subclass that derives values from its weights publishes them with them.
        """
        self._publish_weights()

    def _publish_weights(self, **derived: Any) -> None:
        """Make the layer's weights, plus ``derived`` values, the one mapping calls read.

        Every attribute holding one of the layer's weights goes in by name
        (``"kernel"``, ``"bias"``, ...), and ``derived`` entries beside them.
        The mapping is stored with one assignment, so a call that reads it once
        (:meth:`_current_weights`) sees all old or all new values while another
        thread runs ``set_weights``.
        """
        arrays = {id(record.value) for record in self._weight_records}
        values = {key: value for key, value in vars(self).items() if id(value) in arrays}
        values.update(derived)
        self._weight_view = MappingProxyType(values)

    #: What :meth:`_publish_weights` made last (None: not yet, or remade on first use).
    _weight_view: Any = None

    def _current_weights(self) -> Any:
        """The mapping :meth:`_publish_weights` made last, or the one pinned for this
        thread (:func:`pinned_weights`): a call reads it once."""
        view = self._weight_view
        if view is None or _pinned_blocks:
            return self._current_weights_slowly()
        return view

    def _current_weights_slowly(self):
        """:meth:`_current_weights` when weights are pinned somewhere, or the layer has
        published none yet (e.g. after a direct ``build``): it publishes them now."""
        view = _PINNED.__dict__.get("views", {}).get(id(self)) if _pinned_blocks else None
        if view is None:
            with self._build_lock:
                if self._weight_view is None:
                    self._weights_changed()
            view = self._weight_view
        return view

    def apply_constraints(self) -> None:
        """Replace every constrained weight by ``constraint(weight)`` (what Keras does after
        a training step)."""
        records = [r for r in self._records() if r.constraint is not None]
        values = [check.weight_array(r.constraint(r.value.copy()), f"constrained {r.name}",
                                     r.value.shape, r.value.dtype) for r in records]
        self._assign(records, values)

    @property
    def losses(self) -> List[float]:
        """Regularization penalties of the current weights, one float per regularized weight."""
        return [float(r.regularizer(r.value)) for r in self._records()
                if r.regularizer is not None]

    # ---- configs -------------------------------------------------------------

    def get_config(self) -> dict:
        """The constructor arguments as a dict (tf.keras keys).

        A subclass that does not define ``get_config`` gets the arguments it was
        constructed with, when they are plain values (numbers, strings, None and
        lists / tuples / dicts of those), as tf_keras >= 2.13 does.
        """
        config = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype}
        if self._batch_input_shape is not None:
            config["batch_input_shape"] = self._batch_input_shape
        auto = self.__dict__.get("_auto_config")
        if auto is not None and type(self).get_config is Layer.get_config:
            base_keys = set(config)
            config.update(auto)
            params = inspect.signature(type(self).__init__).parameters
            if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
                for key in base_keys - set(params):
                    config.pop(key, None)
        return config

    @classmethod
    def from_config(cls, config: dict) -> "Layer":
        """A new layer from ``get_config()``'s dict (or the one of the tf.keras or Keras 3
        layer)."""
        return construct(cls, keras3_config(cls, config))


@contextlib.contextmanager
def pinned_weights(layer: Layer) -> Any:
    """While the block runs, in this thread, ``layer`` and every layer below it read the
    weights they had when it began, read together under ``layer``'s lock.

    For calls made of many reads (a Python step loop reading its cell's weights at
    every step, both directions of a ``Bidirectional``): a concurrent
    ``set_weights`` gives such a call all old or all new weights, never a mix.
    An enclosing block's pins stay (the outermost call decides).
    """
    global _pinned_blocks
    pins = _PINNED.__dict__.setdefault("views", {})
    with layer._build_lock:
        new = {id(sub): sub._current_weights() for sub in layer._flatten_layers()
               if sub.built and id(sub) not in pins}
    pins.update(new)
    with _pinned_blocks_lock:
        _pinned_blocks += 1
    try:
        yield
    finally:
        with _pinned_blocks_lock:
            _pinned_blocks -= 1
        for key in new:
            del pins[key]


class ReprText(str):
    """Text shown as it is (without quotes) in a layer's repr."""

    def __repr__(self):
        return str(self)


def _fits(value, weight):
    """Whether ``value`` is an ndarray that can replace ``weight`` as it is."""
    return (type(value) is np.ndarray and value.dtype == weight.dtype
            and value.shape == weight.shape and value.flags.c_contiguous)


def _is_plain(value):
    """Numbers, strings, None, and lists / tuples / dicts of those (JSON-able values)."""
    if value is None or isinstance(value, (bool, int, float, str, np.integer, np.floating)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_is_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_plain(v) for k, v in value.items())
    return False


def _auto_config(cls, args, kwargs):
    """The constructor arguments by name when all are plain values, else None."""
    try:
        bound = inspect.signature(cls.__init__).bind(None, *args, **kwargs)
    except TypeError:
        return None
    arguments = dict(bound.arguments)
    arguments.pop(next(iter(arguments)))  # self
    for name, param in inspect.signature(cls.__init__).parameters.items():
        if param.kind is inspect.Parameter.VAR_KEYWORD and name in arguments:
            arguments.update(arguments.pop(name))
        elif param.kind is inspect.Parameter.VAR_POSITIONAL and name in arguments:
            return None
    return arguments if _is_plain(arguments) else None


def _shapes_of(value):
    """The shape of a placeholder, or a list of them for a structure of placeholders."""
    if isinstance(value, Placeholder):
        return value.shape
    if is_nested(value):
        return [_shapes_of(v) for v in value]
    return np.shape(value)


def _plain(shape):
    """Shapes printed as tuples (lists of shapes as lists)."""
    if isinstance(shape, list):
        return [_plain(s) for s in shape]
    return tuple(shape) if isinstance(shape, (tuple, TensorShape)) else shape


def _batch_input_shape(kwargs):
    """tf.keras's ``batch_input_shape`` from the shape keyword arguments, or None."""
    if kwargs.get("batch_input_shape") is not None:
        return check.shape_tuple(kwargs["batch_input_shape"], "batch_input_shape")
    batch_size = check.dimension(kwargs.get("batch_size"), "batch_size", allow_none=True,
                                 minimum=1)
    if kwargs.get("input_shape") is not None:
        return (batch_size,) + check.shape_tuple(kwargs["input_shape"], "input_shape")
    if kwargs.get("input_dim") is not None:
        return (batch_size, check.dimension(kwargs["input_dim"], "input_dim"))
    return None


def _dtype_of_input(dtype):
    """The compute dtype a dtype-inferring layer takes from its first input."""
    if dtype is None:
        return np.dtype(np.float32)
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        return np.dtype(np.float32)
    return dtype if dtype in check.COMPUTE_DTYPES else np.dtype(np.float32)
