"""Keras functional graphs: :class:`Model`, a DAG of fastrnn layers, and its builder.

A Keras functional config lists layers, each with its ``inbound_nodes`` (one
per call of the layer: a shared layer has several); an input of a call is a
reference ``[layer name, node index, tensor index]`` to an output of another
call.  The builder here turns that into a :class:`Model`:

* every layer config becomes one fastrnn layer (a shared layer is one object
  called several times); nested ``Sequential`` / functional models become
  nested :class:`Model` objects;
* Keras 3 records the mask arithmetic of a graph as operations between layers
  (``NotEqual``, ``Any``, ``LogicalOr``, ``ConvertToTensor``, ...): those few
  boolean operations are evaluated here (:data:`MASK_OPS`), and so is the
  elementwise arithmetic of ``x + y``, ``x * 0.5``, ``-x`` (:data:`ARITHMETIC_OPS`);
  any other operation, a ``Lambda`` or a custom class is refused by name --
  nothing from a file is ever executed;
* ``initial_state`` (an RNN fed by another's ``return_state``), ``mask``,
  ``use_causal_mask`` and ``return_attention_scores`` call arguments are passed
  as recorded.

Masks flow as in Keras: each output carries a mask (``layer.compute_mask``),
a layer whose ``call`` takes ``mask`` receives the masks of its inputs, and a
mask given explicitly in the file (Keras 3) takes precedence.
"""
import collections
from typing import Any, Dict, List, Optional

import numpy as np

from .. import _validation as check
from ..layers.base import (Layer, Placeholder, call_accepts, deserialize, flatten, register,
                           serialize, shape_of)

__all__ = ["Model", "GraphSpec", "graph_spec", "build_graph_model", "MASK_OPS",
           "ARITHMETIC_OPS", "GRAPH_OPS",
           "CONTAINER_LAYERS", "container_chunks"]

#: Model classes a functional config may nest.
MODEL_CLASSES = frozenset({"Functional", "Model", "Sequential"})
#: Layers with tf.keras 2 / Keras 3 mask rules (``mask_rules=``, see ``fastrnn.layers.merge``).
MERGE_LAYERS = frozenset({"Concatenate", "Add", "Subtract", "Multiply", "Average", "Maximum",
                          "Minimum"})
#: Layers whose ``.keras`` weights sit below sub-groups (see :func:`container_chunks`).
CONTAINER_LAYERS = frozenset({"TimeDistributed"}) | MODEL_CLASSES

Ref = collections.namedtuple("Ref", "layer node tensor")
Ref.__doc__ = "A reference to output ``tensor`` of call ``node`` of layer ``layer``."


def _axis_kw(config):
    return config.get("axis"), bool(config.get("keepdims", False))


#: Keras 3 operations that compute masks, ``class name -> f(args, config)``.
MASK_OPS = {
    "NotEqual": lambda args, config: np.not_equal(args[0], args[1]),
    "Equal": lambda args, config: np.equal(args[0], args[1]),
    "Any": lambda args, config: np.any(args[0], axis=_axis_kw(config)[0],
                                       keepdims=_axis_kw(config)[1]),
    "All": lambda args, config: np.all(args[0], axis=_axis_kw(config)[0],
                                       keepdims=_axis_kw(config)[1]),
    "LogicalOr": lambda args, config: np.logical_or(args[0], args[1]),
    "LogicalAnd": lambda args, config: np.logical_and(args[0], args[1]),
    "LogicalNot": lambda args, config: np.logical_not(args[0]),
    "ConvertToTensor": lambda args, config: np.asarray(args[0]),
    "ExpandDims": lambda args, config: np.expand_dims(args[0], config.get("axis", -1)),
    "Squeeze": lambda args, config: np.squeeze(args[0], axis=config.get("axis")),
}
#: Keras 3 elementwise arithmetic recorded for ``x + y``, ``x * 0.5``, ``-x`` ... between
#: layers (their outputs carry no mask, as in Keras).
ARITHMETIC_OPS = {
    "Add": lambda args, config: np.add(args[0], args[1]),
    "Subtract": lambda args, config: np.subtract(args[0], args[1]),
    "Multiply": lambda args, config: np.multiply(args[0], args[1]),
    "TrueDivide": lambda args, config: np.true_divide(args[0], args[1]),
    "Divide": lambda args, config: np.true_divide(args[0], args[1]),
    "Negative": lambda args, config: np.negative(args[0]),
    "Maximum": lambda args, config: np.maximum(args[0], args[1]),
    "Minimum": lambda args, config: np.minimum(args[0], args[1]),
}
#: Every operation a graph may hold (all computed by NumPy here; nothing else is run).
GRAPH_OPS = dict(MASK_OPS, **ARITHMETIC_OPS)
#: The operations of one argument (the others take two).
UNARY_OPS = frozenset({"Any", "All", "LogicalNot", "ConvertToTensor", "ExpandDims", "Squeeze",
                       "Negative"})


def _op_shape(name, shapes, config):
    """The shape of a mask operation's output, for the symbolic pass."""
    first = next((s for s in shapes if s is not None), ())
    if name in ARITHMETIC_OPS:      # broadcast the tensor arguments' shapes
        tensors = [tuple(s) for s in shapes if s]
        rank = max((len(s) for s in tensors), default=0)
        padded = [(1,) * (rank - len(s)) + s for s in tensors]
        out = []
        for sizes in zip(*padded):
            known = {d for d in sizes if d not in (None, 1)}
            out.append(known.pop() if known else (None if None in sizes else 1))
        return tuple(out)
    if name in ("Any", "All"):
        axis, keepdims = _axis_kw(config)
        if axis is None:
            return (1,) * len(first) if keepdims else ()
        axes = {a % len(first) for a in (axis if isinstance(axis, list) else [axis])}
        return tuple(1 if i in axes else d for i, d in enumerate(first)
                     if keepdims or i not in axes)
    if name == "ExpandDims":
        axis = config.get("axis", -1) % (len(first) + 1)
        return first[:axis] + (1,) + first[axis:]
    return first


class _Node:
    """One call: a layer (or a mask operation) and its recorded arguments."""

    __slots__ = ("name", "index", "layer", "op", "op_config", "args", "kwargs")

    def __init__(self, name: Any, index: Any, layer: Any, op: Any, op_config: Any, args: Any,
                 kwargs: Any) -> None:
        self.name, self.index, self.layer = name, index, layer
        self.op, self.op_config = op, op_config
        self.args, self.kwargs = args, kwargs


def _resolve(template, env, part):
    """``template`` with every :class:`Ref` replaced by ``env[ref][part]``."""
    if isinstance(template, Ref):
        return env[template][part]
    if isinstance(template, list):
        return [_resolve(item, env, part) for item in template]
    if isinstance(template, dict):
        return {key: _resolve(item, env, part) for key, item in template.items()}
    return template if part == 0 else None


def _all_refs(template):
    """Whether every leaf of a (nested) list / dict argument is a :class:`Ref`."""
    stack = [template]
    while stack:
        node = stack.pop()
        if isinstance(node, Ref):
            continue
        if isinstance(node, list) and node:
            stack.extend(node)
        elif isinstance(node, dict) and node:
            stack.extend(node.values())
        else:
            return False
    return True


def _refs(template):
    if isinstance(template, Ref):
        return [template]
    if isinstance(template, list):
        return [r for item in template for r in _refs(item)]
    if isinstance(template, dict):
        return [r for item in template.values() for r in _refs(item)]
    return []


def _as_list(value):
    return list(value) if isinstance(value, list) else [value]


@register
class Model(Layer):
    """A functional model: a directed acyclic graph of layers (Keras ``Model``), for inference.

    Built by :func:`fastrnn.convert.load_keras` from a Keras functional model
    (several inputs and outputs, shared layers, nested models, recurrent
    layers feeding ``initial_state`` of others).

    Parameters
    ----------
    inputs : list of (name, batch_shape, dtype)
    nodes : list of _Node
        The calls, in an order where each call's inputs come first.
    outputs : Ref, list of Ref or dict of Ref
        The model's outputs: what :meth:`predict` returns has this structure.
    name : str, optional
    input_structure : {"single", "list", "dict"}
        How Keras's model takes its inputs.

    Examples
    --------
    >>> import fastrnn.convert as fc                       # doctest: +SKIP
    >>> model = fc.load_keras("seq2seq.keras")             # doctest: +SKIP
    >>> probabilities = model.predict([encoder_x, decoder_x])   # doctest: +SKIP
    """

    supports_masking = True

    def __init__(self, inputs: Any, nodes: Any, outputs: Any, name: Any = None,
                 input_structure: Any = "list", **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        self._input_specs = [(n, tuple(s), d) for n, s, d in inputs]
        self._nodes = list(nodes)
        self._outputs = outputs
        self._input_structure = input_structure
        self._layers: List[Layer] = []
        self._config_layers: Dict[str, Layer] = {}
        for node in self._nodes:
            if node.layer is not None and all(node.layer is not seen for seen in self._layers):
                self._layers.append(node.layer)
        self.dtype_policy_note = None
        self.built = True

    # ---- structure ----------------------------------------------------------

    @property
    def layers(self) -> Any:
        """The model's layers (each once, shared layers included), in graph order."""
        return list(self._layers)

    @property
    def input_names(self) -> Any:
        """The names of the model's inputs, in order."""
        return [name for name, _, _ in self._input_specs]

    @property
    def output_names(self) -> Any:
        """The names of the layers producing the outputs (dict keys for dict outputs)."""
        if isinstance(self._outputs, dict):
            return list(self._outputs)
        return [ref.layer for ref in _as_list(self._outputs)]

    def _sublayers(self):
        return list(self._layers)

    def _ordered_records(self):
        """Weights layer by layer, each layer's in its own order (Keras models' order)."""
        return [record for layer in self._layers for record in layer._ordered_records()]

    # ---- running ------------------------------------------------------------

    def _feed(self, inputs):
        """The inputs as a list in model order (from an array, a list or a dict)."""
        names = self.input_names
        if isinstance(inputs, dict):
            missing = [n for n in names if n not in inputs]
            extra = sorted(set(inputs) - set(names))
            if missing or extra:
                raise ValueError(f"model {self.name!r}: inputs dict must have the keys "
                                 f"{names}; missing {missing}, unexpected {extra}")
            return [inputs[n] for n in names]
        if isinstance(inputs, (list, tuple)) and len(names) > 1:
            if len(inputs) != len(names):
                raise ValueError(f"model {self.name!r} takes {len(names)} inputs {names}, "
                                 f"got a list of {len(inputs)}")
            return list(inputs)
        if len(names) != 1:
            raise ValueError(f"model {self.name!r} takes {len(names)} inputs {names}: pass a "
                             f"list or a dict keyed by input name")
        if isinstance(inputs, (list, tuple)) and len(inputs) == 1 and not np.isscalar(
                inputs[0]) and np.ndim(inputs[0]) >= 1 and isinstance(
                inputs[0], (np.ndarray, Placeholder)):
            return [inputs[0]]
        return [inputs]

    def _evaluate(self, inputs, masks=None, training=None, build=None):
        """Run the graph: ``(outputs, output masks)`` in the structure of the outputs.

        ``build(layer, placeholders)``, in a symbolic pass: called instead of
        ``layer(placeholders)`` for each layer not built yet (the loader checks
        the sizes the file declares there, before the layer allocates anything).
        """
        values = self._feed(inputs)
        symbolic = any(isinstance(v, Placeholder) for v in values)
        if not symbolic:
            values = [v if isinstance(v, np.ndarray) else np.asarray(v) for v in values]
            for (name, shape, _), value in zip(self._input_specs, values):
                _check_input(self.name, name, shape, value)
        masks = _as_list(masks) if masks is not None else [None] * len(values)
        if len(masks) != len(values):
            masks = [None] * len(values)
        env = {Ref(name, 0, 0): (value, mask)
               for (name, _, _), value, mask in zip(self._input_specs, values, masks)}
        for node in self._nodes:
            outputs, out_masks = self._run_node(node, env, symbolic, training, build)
            for i, (value, mask) in enumerate(zip(outputs, out_masks)):
                env[Ref(node.name, node.index, i)] = (value, mask)
        return _resolve(self._outputs, env, 0), _resolve(self._outputs, env, 1)

    def _run_node(self, node, env, symbolic, training, build=None):
        args = _resolve(node.args, env, 0)
        if node.op is not None:
            if symbolic:
                shapes = [a.shape if isinstance(a, Placeholder) else np.shape(a) for a in args]
                dtype = "float32" if node.op in ARITHMETIC_OPS else "bool"
                return [Placeholder(_op_shape(node.op, shapes, node.op_config), dtype)], [None]
            return [GRAPH_OPS[node.op](args, node.op_config)], [None]
        layer = node.layer
        inputs = args[0] if args else None
        kwargs = {}
        explicit = node.kwargs.get("mask")
        mask = (_resolve(explicit, env, 0) if explicit is not None
                else _resolve(node.args[0], env, 1) if node.args else None)
        for key in ("initial_state", "constants"):
            if node.kwargs.get(key) is not None:
                kwargs[key] = _resolve(node.kwargs[key], env, 0)
        for key in ("use_causal_mask", "return_attention_scores"):
            if node.kwargs.get(key) is not None:
                kwargs[key] = node.kwargs[key]
        if symbolic:
            if isinstance(layer, Model):
                out, _ = layer._evaluate(inputs, build=build)
            elif build is not None and not layer.built:
                out = build(layer, inputs)
            else:
                out = layer(inputs)
            return _as_list(out), [None] * len(_as_list(out))
        has_mask = mask is not None and any(m is not None for m in flatten(mask))
        if isinstance(layer, Model):
            out, out_mask = layer._evaluate(inputs, mask if has_mask else None, training)
            return _as_list(out), _as_list(out_mask)
        if has_mask and call_accepts(layer, "mask"):
            kwargs["mask"] = mask
        if training is not None and call_accepts(layer, "training"):
            kwargs["training"] = training
        out = layer(inputs, **kwargs)
        out_mask = layer.compute_mask(inputs, mask if has_mask else None)
        outs = _as_list(out)
        out_masks = _as_list(out_mask) if isinstance(out, list) else [out_mask]
        if len(out_masks) != len(outs):
            out_masks = (out_masks + [None] * len(outs))[:len(outs)]
        return outs, out_masks

    def __call__(self, inputs: Any, training: Any = None, mask: Any = None) -> Any:
        """The model's outputs for ``inputs`` (an array, a list, or a dict by input name)."""
        return self._evaluate(inputs, mask, training)[0]

    def call(self, inputs: Any, training: Any = None, mask: Any = None) -> Any:
        """Same as calling the model."""
        return self(inputs, training=training, mask=mask)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """The masks of the outputs (the graph is run)."""
        return self._evaluate(inputs, mask)[1]

    def compute_output_shape(self, input_shape: Any) -> Any:
        """The output shapes for ``input_shape`` (one shape per input)."""
        shapes = input_shape if len(self._input_specs) > 1 else [input_shape]
        placeholders = [Placeholder(s, d) for s, (_, _, d) in zip(shapes, self._input_specs)]
        out, _ = self._evaluate(placeholders if len(placeholders) > 1 else placeholders[0])
        return _map(out, lambda p: p.shape)

    def predict(self, x: Any, batch_size: Optional[int] = None, verbose: Any = "auto") -> Any:
        """The model's outputs for ``x``, ``batch_size`` rows at a time (as Keras's predict).

        Parameters
        ----------
        x : array, list of arrays, or dict of arrays keyed by input name
        batch_size : int, optional
            Rows per call; None runs everything in one call.
        verbose : accepted (tf.keras's argument); no effect.

        Returns
        -------
        array, list of arrays or dict of arrays (the structure of the Keras model's outputs)
        """
        if batch_size is not None:
            batch_size = check.positive_int(batch_size, "batch_size")
        names = self.input_names
        values = [check.regular_array(v, f"input {name!r}")
                  for v, name in zip(self._feed(x), names)]
        rows = {v.shape[0] if v.ndim else None for v in values}
        if len(rows) != 1 or None in rows:
            raise ValueError(f"model {self.name!r}: every input needs the same number of rows "
                             f"(batch axis first), got shapes {[v.shape for v in values]}")
        total = values[0].shape[0]
        if batch_size is None or total <= batch_size:
            return self(values)
        parts = [self([v[start:start + batch_size] for v in values])
                 for start in range(0, total, batch_size)]
        return _concatenate(parts)

    def reset_states(self) -> None:
        """Zero the stored states of every stateful layer."""
        for layer in self._layers:
            if getattr(layer, "stateful", False):
                getattr(layer, "reset_states")()

    # ---- configs --------------------------------------------------------------

    def get_config(self) -> Dict[str, Any]:
        """A Keras-3-style functional config: layers with their inbound nodes, inputs, outputs.

        ``Model.from_config(model.get_config())`` rebuilds the same graph (new
        weights: copy them with ``set_weights(model.get_weights())``).
        """
        entries = [{"class_name": "InputLayer", "name": name,
                    "config": {"batch_shape": list(shape), "dtype": dtype, "name": name},
                    "inbound_nodes": []} for name, shape, dtype in self._input_specs]
        by_name: Dict[str, Dict[str, Any]] = {}
        for node in self._nodes:
            entry = by_name.get(node.name)
            if entry is None:
                if node.op is not None:
                    entry = {"module": "keras.src.ops", "class_name": node.op,
                             "config": dict(node.op_config)}
                else:
                    entry = dict(serialize(node.layer))
                entry.update(name=node.name, inbound_nodes=[])
                by_name[node.name] = entry
                entries.append(entry)
            entry["inbound_nodes"].append((node.index, {"args": _unref(node.args),
                                                        "kwargs": _unref(node.kwargs)}))
        for entry in entries:
            entry["inbound_nodes"] = [call for _, call in sorted(entry["inbound_nodes"],
                                                                 key=lambda c: c[0])]
        inputs = [[name, 0, 0] for name in self.input_names]
        structure = ("dict" if isinstance(self._outputs, dict) else
                     "list" if isinstance(self._outputs, list) else "single")
        return {"name": self.name, "layers": entries,
                "input_layers": inputs if self._input_structure != "single" else inputs[0],
                "output_layers": _unref(self._outputs, history_only=True),
                "output_structure": structure}

    @classmethod
    def from_config(cls, config: Any, custom_objects: Any = None) -> Any:
        """A built Model (fresh weights) from :meth:`get_config`'s dict."""
        model = model_from_config({"class_name": "Functional", "config": config}, False,
                                  "Model.from_config", custom_objects)
        placeholders = [Placeholder(shape, dtype) for _, shape, dtype in model._input_specs]
        model._evaluate(placeholders if len(placeholders) > 1 else placeholders[0])
        return model

    def summary(self, print_fn: Any = print) -> None:
        """Print one line per layer (name, class, number of weights, inputs) and the totals."""
        lines = [f"Model: {self.name!r} (functional: inputs {self.input_names}, outputs "
                 f"{self.output_names})"]
        if self.dtype_policy_note:
            lines.append(f"  {self.dtype_policy_note}")
        inbound = collections.defaultdict(list)
        for node in self._nodes:
            if node.layer is not None:
                inbound[id(node.layer)].append(sorted({r.layer for r in _refs(node.args)
                                                       + _refs(node.kwargs)}))
        for layer in self._layers:
            count = sum(int(np.prod(w.shape)) for w in layer.weights)
            sources = "; ".join(", ".join(s) for s in inbound[id(layer)])
            lines.append(f"  {layer.name:<24} {type(layer).__name__:<22} {count:<8} <- "
                         f"{sources}")
        lines.append(f"Total weights: {sum(int(np.prod(w.shape)) for w in self.weights)}")
        print_fn("\n".join(lines))


def _unref(template, history_only=False):
    """A template with each :class:`Ref` written back as a Keras 3 tensor reference."""
    if isinstance(template, Ref):
        history = [template.layer, template.node, template.tensor]
        return history if history_only else {"class_name": "__keras_tensor__",
                                             "config": {"keras_history": history}}
    if isinstance(template, list):
        return [_unref(item, history_only) for item in template]
    if isinstance(template, dict):
        return {key: _unref(item, history_only) for key, item in template.items()}
    return template


def _map(structure, fn):
    if isinstance(structure, list):
        return [_map(s, fn) for s in structure]
    if isinstance(structure, dict):
        return {k: _map(v, fn) for k, v in structure.items()}
    return fn(structure)


def _concatenate(parts):
    first = parts[0]
    if isinstance(first, list):
        return [_concatenate([p[i] for p in parts]) for i in range(len(first))]
    if isinstance(first, dict):
        return {k: _concatenate([p[k] for p in parts]) for k in first}
    return np.concatenate(parts)


def _check_input(model, name, shape, value):
    """An input's rank and known sizes (after the batch axis) must match its InputLayer."""
    if value.ndim != len(shape) or any(
            want is not None and got != want for got, want in zip(value.shape[1:], shape[1:])):
        raise ValueError(f"model {model!r}: input {name!r} must have shape {shape} (None: any "
                         f"size), got {value.shape}")


# --------------------------------------------------------------------------
# configs -> graph
# --------------------------------------------------------------------------

GraphSpec = collections.namedtuple("GraphSpec", "name config layers saving_names")
GraphSpec.__doc__ = """A functional (or nested) Keras model config, checked.

config : dict, the model's ``{"class_name", "config"}``.
layers : list of the top-level layer configs holding weights (model order).
saving_names : their group names in a ``.keras`` weights file.
"""


def _layer_name(layer_config):
    return layer_config.get("name") or (layer_config.get("config") or {}).get("name")


def _is_op(layer_config):
    module = str(layer_config.get("module") or "")
    if module:
        return module.startswith("keras.src.ops")
    # legacy .h5 files drop "module": an operation's config never has "trainable" (every
    # layer's has), which tells the operation Add from the layer Add
    return (layer_config.get("class_name") in GRAPH_OPS
            and "trainable" not in (layer_config.get("config") or {}))


def weight_layers(layers: Any) -> Any:
    """The layer configs that are real layers (not inputs, not operations), in order."""
    return [layer for layer in layers
            if layer.get("class_name") != "InputLayer" and not _is_op(layer)]


def _chain_names(layers):
    from ._keras import saving_names
    return saving_names([{"class_name": c["class_name"]} for c in weight_layers(layers)])


def is_chain(config: Any) -> Any:
    """Whether a functional config is one input followed by a chain the Sequential path
    loads (no operations, nested models, multiple inputs / outputs or call arguments)."""
    from ._keras import _check_chain
    inner = config.get("config") or {}
    layers = inner.get("layers") or []
    if not all(isinstance(layer, dict) for layer in layers) or any(
            _is_op(layer) or layer.get("class_name") in MODEL_CLASSES for layer in layers):
        return False                  # (the graph loader reports malformed entries)
    try:
        _check_chain(inner, "")
    except (ValueError, TypeError, KeyError, IndexError, AttributeError):
        return False
    return True


#: Keras mixed-precision policies: variables in float32, computed here in float32.
MIXED_POLICIES = frozenset({"mixed_float16", "mixed_bfloat16"})


def mixed_policies(config: Any) -> Any:
    """The mixed-precision policy names used anywhere in a config."""
    found = set()
    if isinstance(config, dict):
        dtype = config.get("dtype")
        inner = dtype.get("config") if isinstance(dtype, dict) else None
        name = inner.get("name") if isinstance(inner, dict) else dtype
        if isinstance(name, str) and name in MIXED_POLICIES:
            found.add(name)
        for value in config.values():
            found |= mixed_policies(value)
    elif isinstance(config, list):
        for value in config:
            found |= mixed_policies(value)
    return found


def _class_names(config):
    """Every ``class_name`` in a config."""
    if isinstance(config, dict):
        found = {config["class_name"]} if isinstance(config.get("class_name"), str) else set()
        for value in config.values():
            found |= _class_names(value)
        return found
    if isinstance(config, list):
        return set().union(*(_class_names(v) for v in config)) if config else set()
    return set()


def needs_graph(config: Any, custom_objects: Any = None) -> Any:
    """Whether a model config needs :class:`Model` (else the Sequential path loads it):
    functional models other than a plain chain, nested models, mixed dtype policies,
    custom layers."""
    if not isinstance(config, dict) or not isinstance(config.get("config"), dict):
        return False
    if custom_objects and config.get("class_name") in MODEL_CLASSES and \
            _class_names(config) & set(custom_objects):
        return True
    if config.get("class_name") in MODEL_CLASSES and mixed_policies(config):
        return True
    class_name, layers = config.get("class_name"), config["config"].get("layers")
    if not isinstance(layers, list):
        return False
    if class_name == "Sequential":
        return any(isinstance(layer, dict) and layer.get("class_name") in MODEL_CLASSES
                   for layer in layers)
    return class_name in ("Functional", "Model") and not is_chain(config)


def graph_spec(config: Any, source: Any) -> Any:
    """A :data:`GraphSpec` for a functional / nested model config (checked)."""
    inner = config["config"]
    holders = weight_layers(layer_entries(inner["layers"], source))
    from ._keras import saving_names
    return GraphSpec(inner.get("name") or "model", config, holders, saving_names(holders))


def _parse_ref(value, where):
    """A Keras 3 ``__keras_tensor__`` dict or a Keras 2 ``[name, node, tensor]`` list as Ref."""
    if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
        config = value.get("config")
        history = config.get("keras_history") if isinstance(config, dict) else None
    else:
        history = value
    if (isinstance(history, list) and len(history) >= 3 and isinstance(history[0], str)
            and isinstance(history[1], int) and isinstance(history[2], int)):
        return Ref(history[0], history[1], history[2])
    raise ValueError(f"{where}: cannot read the tensor reference {value!r}")


def _template(value, where):
    """A recorded argument with tensors as :class:`Ref` (literals kept)."""
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            return _parse_ref(value, where)
        return {k: _template(v, where) for k, v in value.items()}
    if isinstance(value, list):
        return [_template(v, where) for v in value]
    return value


def _looks_like_ref_list(value):
    return (isinstance(value, list) and len(value) >= 3 and isinstance(value[0], str)
            and isinstance(value[1], int) and isinstance(value[2], int))


def _keras2_kwargs(kwargs, where):
    """Keras 2 node kwargs: tensors are ``[name, node, tensor]`` lists."""
    out = {}
    for key, value in (kwargs or {}).items():
        if _looks_like_ref_list(value):
            out[key] = _parse_ref(value, where)
        elif isinstance(value, list) and value and all(_looks_like_ref_list(v) for v in value):
            out[key] = [_parse_ref(v, where) for v in value]
        else:
            out[key] = value
    return out


def _calls(layer_config, where):
    """``[(args, kwargs)]``, one per inbound node of a layer config (Keras 2 or 3)."""
    calls = []
    for node in layer_config.get("inbound_nodes") or []:
        if isinstance(node, dict):                       # Keras 3: {"args", "kwargs"}
            args = _template(list(node.get("args") or []), where)
            kwargs = _template(dict(node.get("kwargs") or {}), where)
        elif isinstance(node, list) and node:            # Keras 2: [[name, ni, ti, kwargs]]
            refs = [_parse_ref(entry[:3], where) for entry in node]
            extra = node[0][3] if len(node[0]) > 3 and isinstance(node[0][3], dict) else {}
            args = [refs[0] if len(refs) == 1 else refs]
            kwargs = _keras2_kwargs(extra, where)
        else:
            raise ValueError(f"{where}: cannot read the inbound nodes of layer "
                             f"{_layer_name(layer_config)!r}")
        kwargs.pop("training", None)
        calls.append((args, kwargs))
    return calls


def _io_refs(value, where, what, keras3=True):
    """``input_layers`` / ``output_layers`` as ``(structure, refs)``: a Ref, list or dict.

    tf.keras 2 writes a list even for one tensor, and its model then takes and
    returns that one tensor (Keras 3 writes the bare reference for that case).
    """
    if isinstance(value, dict):
        return "dict", {k: _parse_ref(v, where) for k, v in value.items()}
    if _looks_like_ref_list(value):
        return "single", _parse_ref(value, where)
    if not keras3 and isinstance(value, list) and len(value) == 1:
        return "single", _parse_ref(value[0], where)
    if isinstance(value, list) and value:
        return "list", [_parse_ref(v, where) for v in value]
    raise ValueError(f"{where}: the model config has no valid {what}")


def _shape(shape, where):
    if not isinstance(shape, (list, tuple)) or not all(d is None or isinstance(d, int)
                                                      for d in shape):
        raise ValueError(f"{where}: cannot tell an input's shape (got {shape!r})")
    return tuple(shape)


def _input_spec(layer_config, where):
    inner = layer_config.get("config") or {}
    shape = inner.get("batch_shape", inner.get("batch_input_shape"))
    dtype = inner.get("dtype") or "float32"
    if isinstance(dtype, dict):
        dtype = (dtype.get("config") or {}).get("name", "float32")
    return (_layer_name(layer_config), _shape(shape, where), dtype)


def _refuse(class_name, name, where):
    if class_name == "Lambda":
        raise ValueError(f"{where}: layer {name!r} is a Lambda layer: it holds Python code, "
                         f"which fastrnn never executes; rewrite it as a supported layer")
    from ._keras import SUPPORTED_LAYERS
    raise ValueError(f"{where}: unsupported layer {class_name!r} (layer {name!r}); fastrnn "
                     f"supports {sorted(SUPPORTED_LAYERS | MODEL_CLASSES)} and the Keras 3 "
                     f"operations {sorted(GRAPH_OPS)}; pass custom_objects="
                     f"{{{class_name!r}: cls}} for a fastrnn layer class of your own")


def _make_layer(layer_config, keras3, where, custom_objects):
    """A fastrnn layer (or nested Model) for one layer config; None for operations."""
    from ._keras import SUPPORTED_LAYERS, layer_from_config
    class_name = layer_config["class_name"]
    name = _layer_name(layer_config)
    if class_name in (custom_objects or {}):
        try:
            return deserialize({"class_name": class_name,
                                "config": layer_config.get("config") or {}}, custom_objects)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{where}: custom layer {name!r} ({class_name}): {exc}") from None
    if class_name in MODEL_CLASSES:
        return model_from_config(layer_config, keras3, where, custom_objects)
    if class_name not in SUPPORTED_LAYERS:
        _refuse(class_name, name, where)
    return layer_from_config(layer_config, keras3, where)


def layer_entries(layers: Any, where: str) -> List[Dict[str, Any]]:
    """A model config's ``layers``, checked: a list of ``{"class_name": str, "config":
    dict}`` entries (a ``ValueError`` naming the entry otherwise)."""
    from ._keras import _check_layer_entry
    if not isinstance(layers, list):
        raise ValueError(f"{where}: the model config has no valid 'layers' list")
    for i, layer in enumerate(layers):
        _check_layer_entry(layer, f"{where}: layers[{i}]")
    return layers


def _sequential_as_graph(config, where):
    """A Sequential config as functional layers with chained inbound nodes."""
    inner = config.get("config") or {}
    layers = list(layer_entries(inner.get("layers") or [], where))
    if not layers:
        raise ValueError(f"{where}: nested Sequential {inner.get('name')!r} has no layers")
    if layers[0].get("class_name") == "InputLayer":
        input_config = dict(layers[0])
        layers = layers[1:]
    else:
        first = layers[0].get("config") or {}
        shape = (inner.get("build_input_shape") or first.get("batch_input_shape")
                 or first.get("batch_shape")
                 or (layers[0].get("build_config") or {}).get("input_shape"))
        dtype = "int32" if layers[0].get("class_name") == "Embedding" else "float32"
        input_config = {"class_name": "InputLayer",
                        "config": {"batch_shape": shape, "dtype": dtype}}
    input_name = f"{inner.get('name') or 'sequential'}_input"
    input_config = {"class_name": "InputLayer", "name": input_name,
                    "config": dict(input_config.get("config") or {}, name=input_name)}
    chained, previous = [input_config], input_name
    for layer in layers:
        name = _layer_name(layer)
        chained.append(dict(layer, name=name, inbound_nodes=[
            {"args": [{"class_name": "__keras_tensor__",
                       "config": {"keras_history": [previous, 0, 0]}}], "kwargs": {}}]))
        previous = name
    return {"name": inner.get("name"), "layers": chained, "input_layers": [input_name, 0, 0],
            "output_layers": [previous, 0, 0]}


def model_from_config(config: Any, keras3: Any, where: Any, custom_objects: Any = None) -> Any:
    """An unbuilt-weights :class:`Model` for a functional or Sequential model config."""
    if config.get("class_name") == "Sequential":
        inner = _sequential_as_graph(config, where)
    else:
        inner = config.get("config") or {}
    layers = layer_entries(inner.get("layers"), where)
    by_name, inputs = {}, {}
    for layer_config in layers:
        name = _layer_name(layer_config)
        if name in by_name:
            raise ValueError(f"{where}: two layers are named {name!r}")
        by_name[name] = layer_config
        if layer_config["class_name"] == "InputLayer":
            inputs[name] = _input_spec(layer_config, where)
    objects = {}
    for layer_config in layers:
        class_name = layer_config["class_name"]
        if class_name == "InputLayer":
            continue
        if _is_op(layer_config):
            if class_name not in GRAPH_OPS:
                _refuse(class_name, _layer_name(layer_config), where)
            continue
        objects[_layer_name(layer_config)] = _make_layer(layer_config, keras3, where,
                                                         custom_objects)
    input_structure, input_refs = _io_refs(inner.get("input_layers"), where, "input_layers",
                                           keras3)
    # fastrnn's own configs say how the outputs are returned (a list of one stays a list)
    exact = inner.get("output_structure") == "list"
    _, outputs = _io_refs(inner.get("output_layers"), where, "output_layers",
                          keras3 or exact)
    ordered_inputs = (list(input_refs.values()) if isinstance(input_refs, dict)
                      else _as_list(input_refs))
    for ref in ordered_inputs:
        if ref.layer not in inputs:
            raise ValueError(f"{where}: model input {ref.layer!r} is not an InputLayer")
    nodes = _ordered_nodes(layers, by_name, objects, outputs, set(inputs), where)
    input_names = [ref.layer for ref in ordered_inputs]
    if isinstance(input_refs, dict):
        # Keras matches dict inputs by key; the key is the InputLayer's name
        input_names = [ref.layer for ref in input_refs.values()]
    model = Model([inputs[n] for n in input_names], nodes, outputs, name=inner.get("name"),
                  input_structure=input_structure)
    model._config_layers = objects      # config name -> layer (for loading weights)
    return model


def _ordered_nodes(layers, by_name, objects, outputs, input_names, where):
    """The calls needed for ``outputs``, each after the calls it reads from."""
    calls = {}
    for layer_config in layers:
        name = _layer_name(layer_config)
        if layer_config["class_name"] == "InputLayer":
            continue
        # tf.keras 2 numbers the calls of a nested model built on an Input from 1 (its
        # call 0 links its own input to its output and is not in the config)
        nodes = layer_config.get("inbound_nodes") or []
        first = int(layer_config["class_name"] in MODEL_CLASSES and bool(nodes)
                    and isinstance(nodes[0], list) and _has_input_layer(layer_config))
        for index, (args, kwargs) in enumerate(_calls(layer_config, where), start=first):
            op = layer_config["class_name"] if name not in objects else None
            if op is None and not (args and _all_refs(args[0])):
                raise ValueError(f"{where}: call {index} of layer {name!r} must take tensors "
                                 f"(outputs of other layers) as inputs, got {args!r}")
            unary = op in UNARY_OPS
            if op is not None and (not _refs(args) or len(args) < 1 + (not unary)
                                   or not (unary or len(args) == 2)):
                raise ValueError(f"{where}: operation {name!r} ({op}) takes "
                                 f"{'a tensor' if unary else 'two arguments, a tensor among them'}"
                                 f"; got {args!r}")
            op_config = layer_config.get("config") or {} if op else None
            calls[(name, index)] = _Node(name, index, objects.get(name), op, op_config, args,
                                         kwargs)
    order, state = [], {}

    def visit(ref: Any, path: Any) -> Any:
        if ref.layer in input_names:
            return
        key = (ref.layer, ref.node)
        if key not in calls:
            raise ValueError(f"{where}: the graph refers to call {ref.node} of layer "
                             f"{ref.layer!r}, which the config does not have")
        if state.get(key) == "done":
            return
        if state.get(key) == "active":
            raise ValueError(f"{where}: the graph has a cycle through layer {ref.layer!r}")
        state[key] = "active"
        node = calls[key]
        for dep in _refs(node.args) + _refs(node.kwargs):
            visit(dep, path + [key])
        state[key] = "done"
        order.append(node)

    for ref in _refs(outputs):
        visit(ref, [])
    return order


def input_shapes(input_shape: Any) -> Any:
    """A build ``input_shape`` argument as a tuple, or a list of tuples for several inputs."""
    if isinstance(input_shape, list) and input_shape and \
            isinstance(input_shape[0], (list, tuple)):
        return [tuple(s) for s in input_shape]
    return tuple(input_shape)


def build_on(layer: Layer, input_shape: Any, where: str) -> None:
    """Build ``layer`` by calling it on placeholders of ``input_shape`` (one shape or a list)."""
    shapes = input_shapes(input_shape)
    several = isinstance(shapes, list)
    placeholders = [Placeholder(shape, "float32") for shape in (shapes if several
                                                                else [shapes])]
    try:
        layer(placeholders if several else placeholders[0])
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: layer {layer.name!r} ({type(layer).__name__}) cannot be "
                         f"built for input_shape={input_shape!r}: {exc}") from None


def _has_input_layer(model_config):
    layers = (model_config.get("config") or {}).get("layers") or []
    return bool(layers) and isinstance(layers[0], dict) and \
        layers[0].get("class_name") == "InputLayer"


def build_graph_model(spec: Any, weights: Any, keras3: Any, source: Any,
                      custom_objects: Any = None) -> Any:
    """A :class:`Model` for ``spec`` with every layer built and its ``weights`` set."""
    from ._keras import set_layer_weights
    model = model_from_config(spec.config, keras3, source, custom_objects)
    used = {id(layer) for layer in model.layers}
    stored = [(layer, arrays) for layer, arrays in
              ((model._config_layers.get(_layer_name(config)), arrays)
               for config, arrays in zip(spec.layers, weights))
              if layer is not None and id(layer) in used]   # else no output depends on it
    builder = _CheckedBuilder(stored, source)
    placeholders = [Placeholder(shape, dtype) for _, shape, dtype in model._input_specs]
    try:
        model._evaluate(placeholders if len(placeholders) > 1 else placeholders[0],
                        build=builder)
    except _SizeError as exc:
        raise ValueError(str(exc)) from None
    except (TypeError, ValueError, IndexError) as exc:
        raise ValueError(f"{source}: the model's layers do not fit together: {exc}") from None
    for layer, arrays in stored:
        set_layer_weights(layer, arrays, source)
    policies = sorted(mixed_policies(spec.config))
    if policies:
        model.dtype_policy_note = (f"dtype policy {', '.join(policies)} in the file: "
                                   f"weights stored in float32, computed in float32")
    return model


class _SizeError(ValueError):
    """A declared size that disagrees with the file (reported as it is, not as a misfit)."""


class _CheckedBuilder:
    """Builds each layer of a graph being loaded, its declared sizes checked first.

    Before a layer allocates anything, the weights its config declares for the
    input it gets (``_keras.check_declared``, the check the Sequential path
    runs) are compared with the arrays the file stores for it, and initialisers
    make zeros only (the file overwrites them).  A nested model's stored arrays
    are its layers' in order: each of its layers takes as many as it declares.
    """

    def __init__(self, stored: Any, source: str) -> None:
        self.source = source
        self.queues: Dict[int, List[Any]] = {}     # id(top-level layer) -> arrays not taken
        self.queue_of: Dict[int, int] = {}         # id(any layer) -> its top-level layer's id
        for top, arrays in stored:
            self.queues[id(top)] = list(arrays)
            stack = [top]
            while stack:
                layer = stack.pop()
                self.queue_of[id(layer)] = id(top)
                if isinstance(layer, Model):
                    stack.extend(layer.layers)

    def _arrays_for(self, layer, input_shape):
        """The stored arrays of ``layer`` (None when they cannot be told apart)."""
        key = self.queue_of.get(id(layer))
        queue = self.queues.get(key)
        if queue is None:
            return None
        if key == id(layer):                       # a top-level layer: all of its arrays
            self.queues[key] = []
            return queue
        from ._keras import declared_shapes
        shapes, _ = declared_shapes(layer, input_shape)
        if shapes is None:                         # the rest of the nested model: unknown
            del self.queues[key]
            return None
        self.queues[key] = queue[len(shapes):]
        return queue[:len(shapes)]

    def __call__(self, layer: Layer, inputs: Any) -> Any:
        from ._keras import check_declared, zero_initializers
        shape = shape_of(inputs)
        arrays = self._arrays_for(layer, shape)
        if arrays is not None:
            try:
                check_declared(layer, shape, arrays, self.source)
            except ValueError as exc:
                raise _SizeError(str(exc)) from None
        try:
            with zero_initializers(layer):
                return layer(inputs)
        except (TypeError, ValueError, IndexError) as exc:
            raise _SizeError(f"{self.source}: layer {layer.name!r} ({type(layer).__name__}) "
                             f"cannot be built for inputs of shape {shape}: {exc}") from None


def container_chunks(group: Any, config: Any, trainable: Any, layer_arrays: Any) -> Any:
    """``.keras`` weights of a TimeDistributed or a nested model, as one chunk in
    ``get_weights()`` order: ``<group>/layer/...`` or ``<group>/layers/<saving name>/...``."""
    from ._keras import saving_names
    class_name, inner = config["class_name"], config.get("config") or {}
    if class_name == "TimeDistributed":
        arrays = layer_arrays(group.get("layer"), inner["layer"])
    else:
        holders = weight_layers(layer_entries(inner.get("layers") or [],
                                              f"nested model {_layer_name(config)!r}"))
        sub = group.get("layers")
        arrays = [array for name, layer in zip(saving_names(holders), holders)
                  for array in layer_arrays(None if sub is None else sub.get(name), layer)]
    return [(arrays, trainable)] if arrays else []
