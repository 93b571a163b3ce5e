"""PyTorch modules around a recurrent layer -> fastrnn layers; torch is never imported.

==================  ==============================================================
torch               fastrnn (Keras layout)
==================  ==============================================================
``nn.Linear``       ``Dense``: ``kernel = weight.T`` ``(in, out)``, ``bias``
``nn.Embedding``    ``Embedding``: ``embeddings = weight``; ``padding_idx`` is only a
                    training detail in torch (its row is used as stored), so no mask
``nn.LayerNorm``    ``LayerNormalization`` over the last ``len(normalized_shape)`` axes,
                    ``epsilon = eps``, ``gamma = weight``, ``beta = bias``
``nn.Dropout``      ``Dropout(p)`` (identity at inference)
``nn.Conv1d``       ``Conv1D(data_format="channels_first")``, inputs ``(B, C, L)`` as in
                    torch: ``kernel = weight.transpose(2, 1, 0)`` ``(k, C/groups, F)``;
                    numeric ``padding`` is a ``ZeroPadding1D`` in front, ``"same"`` is
                    Keras's ``"same"`` (stride 1)
activations         ``nn.ReLU``, ``Tanh``, ``Sigmoid``, ``Softmax(dim=-1)``, ``ELU()``,
                    ``SELU``, ``Softplus()``, ``Softsign``, ``SiLU``, ``Identity`` ->
                    ``Activation``; ``nn.Flatten()`` -> ``Flatten``
``nn.Sequential``   ``Sequential`` of the converted modules
==================  ==============================================================

A state_dict (NumPy values, torch not needed) gives the same layers with
``mode="Linear"`` / ``"Embedding"`` / ``"LayerNorm"`` / ``"Conv1d"``; ``prefix=``
picks one module's keys out of a whole model's state_dict (``"fc."``).
"""
import collections.abc
from typing import Any

import numpy as np

from .. import _validation as check
from ..layers.activation import Activation
from ..layers.conv import Conv1D
from ..layers.core import Dense, Dropout, Embedding
from ..layers.normalization import LayerNormalization
from ..layers.base import deserialize, serialize
from ..layers.recurrent import GRU, LSTM, SimpleRNN
from ..layers.reshaping import Flatten, ZeroPadding1D
from ..models import Sequential

__all__ = ["HEAD_MODES", "is_head", "from_torch_head", "state_of", "rnn_layers"]

#: ``mode=`` values of state_dict heads.
HEAD_MODES = ("Linear", "Embedding", "LayerNorm", "Conv1d")
#: torch activation modules -> fastrnn activation names (their default arguments only).
_ACTIVATIONS = {"ReLU": "relu", "Tanh": "tanh", "Sigmoid": "sigmoid", "Softmax": "softmax",
                "ELU": "elu", "SELU": "selu", "Softplus": "softplus", "Softsign": "softsign",
                "SiLU": "silu", "Identity": "linear"}
_MODULES = frozenset(HEAD_MODES) | {"Dropout", "Sequential", "Flatten"} | set(_ACTIVATIONS)


def _numpy(value, name):
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return check.as_real_array(value, name, None)


def _dtype(array):
    return "float64" if array.dtype == np.float64 else "float32"


def state_of(state_dict: Any, prefix: Any, where: Any) -> Any:
    """The entries of ``state_dict`` under ``prefix``, the prefix removed, as arrays."""
    if not isinstance(state_dict, collections.abc.Mapping):
        raise TypeError(f"{where}: a state_dict must be a dict, got {type(state_dict).__name__}")
    prefix = prefix or ""
    picked = {str(k)[len(prefix):]: _numpy(state_dict[k], str(k)) for k in state_dict
              if str(k).startswith(prefix)}
    if prefix and not picked:
        raise ValueError(f"{where}: no state_dict key starts with prefix {prefix!r} "
                         f"(keys: {sorted(map(str, state_dict))[:8]}...)")
    return picked


def _take(state, keys, optional, where):
    """``state[key]`` for each key (None for a missing optional one); no other key allowed."""
    extra = sorted(set(state) - set(keys) - set(optional))
    if extra:
        raise ValueError(f"{where}: unexpected state_dict key(s) {extra} (expected "
                         f"{list(keys) + list(optional)}; use prefix= to pick one module)")
    missing = [k for k in keys if k not in state]
    if missing:
        raise ValueError(f"{where}: state_dict key(s) {missing} missing")
    return [state.get(k) for k in list(keys) + list(optional)]


#: ``mode=`` values of recurrent state_dicts (converted by ``_torch``).
_RNN_MODES = ("LSTM", "GRU", "RNN_TANH", "RNN_RELU", "RNN")


def is_head(value: Any, mode: Any) -> Any:
    """Whether :func:`fastrnn.convert.from_torch` should convert ``value`` here."""
    if mode in HEAD_MODES or (isinstance(value, collections.abc.Mapping) and mode is not None
                              and mode not in _RNN_MODES):
        return True
    name = type(value).__name__
    return hasattr(value, "state_dict") and not hasattr(value, "mode") and name in _MODULES


# --------------------------------------------------------------------------
# one module kind each: (settings, state) -> fastrnn layer
# --------------------------------------------------------------------------

def _linear(state, where, name=None):
    weight, bias = _take(state, ["weight"], ["bias"], where)
    if weight.ndim != 2 or (bias is not None and bias.shape != weight.shape[:1]):
        raise ValueError(f"{where}: Linear weight must be (out, in) and bias (out,), got "
                         f"{weight.shape} and {None if bias is None else bias.shape}")
    layer = Dense(weight.shape[0], use_bias=bias is not None, dtype=_dtype(weight), name=name)
    layer.build((None, weight.shape[1]))
    layer.set_weights([weight.T] + ([bias] if bias is not None else []))
    return layer


def _embedding(state, where, name=None, padding_idx=None):
    (weight,) = _take(state, ["weight"], [], where)
    if weight.ndim != 2:
        raise ValueError(f"{where}: Embedding weight must be (num_embeddings, dim), got "
                         f"{weight.shape}")
    layer = Embedding(weight.shape[0], weight.shape[1], dtype=_dtype(weight), name=name)
    layer.build((None, None))
    layer.set_weights([weight])
    if padding_idx is not None:
        padding_idx = int(padding_idx) % weight.shape[0]     # torch's negative indices
    layer.padding_idx = padding_idx
    return layer


def _layer_norm(state, where, name=None, eps=1e-5, normalized_shape=None):
    weight, bias = _take(state, [], ["weight", "bias"], where)
    shape = tuple(normalized_shape) if normalized_shape is not None else (
        None if weight is None else weight.shape)
    if shape is None:
        raise ValueError(f"{where}: a LayerNorm without weights needs normalized_shape=")
    for value, label in ((weight, "weight"), (bias, "bias")):
        if value is not None and value.shape != shape:
            raise ValueError(f"{where}: LayerNorm {label} must have shape {shape}, got "
                             f"{value.shape}")
    dtype = _dtype(weight if weight is not None else np.zeros(0, np.float32))
    layer = LayerNormalization(axis=list(range(-len(shape), 0)), epsilon=eps,
                               center=bias is not None, scale=weight is not None,
                               dtype=dtype, name=name)
    layer.build((None,) + shape)
    layer.set_weights([w for w in (weight, bias) if w is not None])
    return layer


def _conv1d(state, where, name=None, stride=1, padding=0, dilation=1, groups=1,
            padding_mode="zeros"):
    weight, bias = _take(state, ["weight"], ["bias"], where)
    if weight.ndim != 3:
        raise ValueError(f"{where}: Conv1d weight must be (out, in / groups, k), got "
                         f"{weight.shape}")
    if padding_mode != "zeros":
        raise ValueError(f"{where}: Conv1d padding_mode={padding_mode!r} is not supported "
                         f"(only 'zeros')")
    stride, dilation = (int(np.ravel([v])[0]) for v in (stride, dilation))
    filters, per_group, k = weight.shape
    keras_padding, before = "valid", None
    if isinstance(padding, str):
        keras_padding = check.choice(padding, "padding", ("valid", "same"))
    else:
        amount = int(np.ravel([padding])[0])
        if amount:
            before = ZeroPadding1D(amount, data_format="channels_first",
                                   name=None if name is None else f"{name}_padding")
    layer = Conv1D(filters, k, strides=stride, padding=keras_padding,
                   data_format="channels_first", dilation_rate=dilation, groups=int(groups),
                   use_bias=bias is not None, dtype=_dtype(weight), name=name)
    layer.build((None, per_group * int(groups), None))
    layer.set_weights([weight.transpose(2, 1, 0)] + ([bias] if bias is not None else []))
    return layer if before is None else Sequential([before, layer], name=name)


# --------------------------------------------------------------------------
# modules
# --------------------------------------------------------------------------

def _module_layer(module, where):
    """The fastrnn layer of one supported torch module (recursively for nn.Sequential)."""
    kind = type(module).__name__
    if kind == "Sequential":
        layers = [_module_layer(child, f"{where}[{i}]")
                  for i, child in enumerate(module.children())]
        return Sequential(layers)
    if kind in _ACTIVATIONS:
        if kind == "Softmax" and module.dim not in (-1, None):
            raise ValueError(f"{where}: Softmax(dim={module.dim}) is not supported (dim=-1 "
                             f"only)")
        if kind == "ELU" and module.alpha != 1.0 or kind == "Softplus" and (
                module.beta != 1.0 or module.threshold != 20.0):
            raise ValueError(f"{where}: {kind} with non-default arguments is not supported")
        return Activation(_ACTIVATIONS[kind])
    if kind == "Dropout":
        return Dropout(float(module.p))
    if kind == "Flatten":
        if (module.start_dim, module.end_dim) != (1, -1):
            raise ValueError(f"{where}: Flatten(start_dim={module.start_dim}, "
                             f"end_dim={module.end_dim}) is not supported (1, -1 only)")
        return Flatten()
    state = {k: _numpy(v, k) for k, v in module.state_dict().items()}
    if kind == "Linear":
        return _linear(state, where)
    if kind == "Embedding":
        if getattr(module, "max_norm", None) is not None:
            raise ValueError(f"{where}: Embedding max_norm is not supported (it rewrites the "
                             f"table when called)")
        return _embedding(state, where, padding_idx=module.padding_idx)
    if kind == "LayerNorm":
        return _layer_norm(state, where, eps=module.eps,
                           normalized_shape=module.normalized_shape)
    if kind == "Conv1d":
        return _conv1d(state, where, stride=module.stride, padding=module.padding,
                       dilation=module.dilation, groups=module.groups,
                       padding_mode=module.padding_mode)
    raise ValueError(f"{where}: unsupported torch module {kind!r}; fastrnn converts "
                     f"{sorted(_MODULES)} and nn.LSTM / GRU / RNN")


def from_torch_head(value: Any, *, mode: Any = None, prefix: Any = None, **settings: Any) -> Any:
    """A fastrnn layer for a torch head module, or for its state_dict with ``mode=``.

    ``settings`` are the module's constructor arguments that the state_dict
    does not hold (``padding_idx``, ``eps``, ``normalized_shape``, ``stride``,
    ``padding``, ``dilation``, ``groups``), for a state_dict only.
    """
    where = "from_torch"
    if isinstance(value, collections.abc.Mapping):
        mode = check.choice(mode, "mode", _RNN_MODES + HEAD_MODES)
        state = state_of(value, prefix, where)
        make = {"Linear": _linear, "Embedding": _embedding, "LayerNorm": _layer_norm,
                "Conv1d": _conv1d}[mode]
        try:
            return make(state, where, **settings)
        except TypeError as exc:
            raise TypeError(f"{where}: mode={mode!r} takes no argument among "
                            f"{sorted(settings)}: {exc}") from None
    if settings or prefix:
        raise ValueError(f"{where}: prefix= and module settings are for state_dicts; a module "
                         f"carries its own")
    return _module_layer(value, where)


def rnn_layers(rnn: Any, *, return_sequences: Any = False) -> Any:
    """The layers of a :class:`fastrnn.convert.TorchRNN` for a batch-major fastrnn model.

    Each layer is copied with ``return_state=False`` and ``time_major=False``;
    all but the last return sequences, the last returns sequences only if
    ``return_sequences``.  Without sequences the last layer returns its final
    output: torch's ``h_n[-1]`` (``cat([h_n[-2], h_n[-1]], 1)`` when
    bidirectional), which is ``output[:, -1]`` for a unidirectional module.

    Examples
    --------
    >>> import numpy as np
    >>> import fastrnn as fr, fastrnn.convert as fc
    >>> rng = np.random.default_rng(0)
    >>> state = {"weight_ih_l0": rng.normal(size=(8, 3)), "weight_hh_l0": rng.normal(size=(8, 2))}
    >>> lstm = fc.from_torch(state, mode="LSTM", batch_first=True)
    >>> model = fr.Sequential(fc.rnn_layers(lstm) + [fr.Dense(1)])
    >>> model.predict(np.ones((4, 5, 3))).shape
    (4, 1)
    """
    layers = []
    for i, layer in enumerate(rnn.layers):
        sequences = return_sequences or i < len(rnn.layers) - 1
        config = serialize(layer)
        for inner in _recurrent_configs(config):
            inner.update(return_state=False, time_major=False, return_sequences=sequences)
        copy = deserialize(config)
        copy.build((None, None, layer.weights[0].shape[0]))
        copy.set_weights(layer.get_weights())
        layers.append(copy)
    return layers


def _recurrent_configs(config):
    """The configs of the recurrent layers inside a serialized layer (Bidirectional: two)."""
    if config["class_name"] == "Bidirectional":
        inner = config["config"]
        return [inner["layer"]["config"]] + (
            [inner["backward_layer"]["config"]] if inner.get("backward_layer") else [])
    if config["class_name"] in (LSTM.__name__, GRU.__name__, SimpleRNN.__name__):
        return [config["config"]]
    raise TypeError(f"rnn_layers: unexpected layer {config['class_name']!r}")

