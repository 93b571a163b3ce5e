"""Activation functions by their tf.keras names, on NumPy arrays.

This module is fastrnn's one table of activations: layers resolve an
``activation=`` argument with :func:`get`, write it into a config with
:func:`serialize`, and ask :func:`kernel_name` whether the compiled kernels can
compute it (``None`` means the Python step loop will).

Definitions are those of tf.keras 2 (tf_keras); in particular
``hard_sigmoid(x) = clip(0.2 * x + 0.5, 0, 1)``.  Every function keeps the
floating dtype of its input.

Examples
--------
>>> import numpy as np
>>> from fastrnn import activations
>>> activations.get("hard_sigmoid")(np.array([-3.0, 0.0, 1.0]))
array([0. , 0.5, 0.7])
>>> activations.serialize(activations.get(None))
'linear'
"""
from typing import Any, Dict, Optional

import numpy as np
from numpy.typing import ArrayLike

from ._engine import KERNEL_ACTIVATIONS

__all__ = ["linear", "tanh", "sigmoid", "hard_sigmoid", "relu", "elu", "selu",
           "softplus", "softsign", "exponential", "swish", "silu", "softmax",
           "keras3_hard_sigmoid", "get",
           "serialize", "deserialize", "kernel_name"]

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def linear(x: ArrayLike) -> np.ndarray:
    """Identity: ``x``."""
    return np.asarray(x)


def tanh(x: ArrayLike) -> np.ndarray:
    """Hyperbolic tangent."""
    return np.tanh(x)


def sigmoid(x: ArrayLike) -> np.ndarray:
    """Logistic function ``1 / (1 + exp(-x))`` (saturates to 0 without warnings)."""
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-np.asarray(x)))


def hard_sigmoid(x: ArrayLike) -> np.ndarray:
    """tf.keras 2 hard sigmoid: ``clip(0.2 * x + 0.5, 0, 1)``."""
    return np.clip(0.2 * np.asarray(x) + 0.5, 0.0, 1.0)


def relu(x: ArrayLike) -> np.ndarray:
    """Rectified linear unit ``max(x, 0)``."""
    return np.maximum(x, 0.0)


def elu(x: ArrayLike) -> np.ndarray:
    """Exponential linear unit (alpha = 1): ``x`` if ``x > 0`` else ``exp(x) - 1``."""
    x = np.asarray(x)
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0.0)))


def selu(x: ArrayLike) -> np.ndarray:
    """Scaled exponential linear unit (Klambauer et al. constants)."""
    x = np.asarray(x)
    return _SELU_SCALE * np.where(x > 0, x, _SELU_ALPHA * np.expm1(np.minimum(x, 0.0)))


def softplus(x: ArrayLike) -> np.ndarray:
    """``log(1 + exp(x))``, computed without overflow."""
    return np.logaddexp(0.0, x)


def softsign(x: ArrayLike) -> np.ndarray:
    """``x / (1 + |x|)``."""
    x = np.asarray(x)
    return x / (1.0 + np.abs(x))


def exponential(x: ArrayLike) -> np.ndarray:
    """``exp(x)``."""
    with np.errstate(over="ignore"):
        return np.exp(x)


def swish(x: ArrayLike) -> np.ndarray:
    """Swish / SiLU: ``x * sigmoid(x)``."""
    return np.asarray(x) * sigmoid(x)


silu = swish


def softmax(x: ArrayLike, axis: Any = -1) -> np.ndarray:
    """Softmax along ``axis`` (the last one by default), as Keras's ``softmax``."""
    x = np.asarray(x)
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def keras3_hard_sigmoid(x: ArrayLike) -> np.ndarray:
    """Keras 3's hard sigmoid ``relu6(x + 3) / 6`` (``hard_sigmoid`` in a Keras 3 file)."""
    return np.clip(np.asarray(x) + 3.0, 0.0, 6.0) / 6.0


#: Keras name -> function.  ``silu`` is the same function as ``swish``.
_TABLE = {
    "linear": linear, "tanh": tanh, "sigmoid": sigmoid, "hard_sigmoid": hard_sigmoid,
    "relu": relu, "elu": elu, "selu": selu, "softplus": softplus, "softsign": softsign,
    "exponential": exponential, "swish": swish, "silu": silu, "softmax": softmax,
    "keras3_hard_sigmoid": keras3_hard_sigmoid,
}
#: Function -> canonical name (what ``serialize`` writes).
_NAMES = {linear: "linear", tanh: "tanh", sigmoid: "sigmoid", hard_sigmoid: "hard_sigmoid",
          relu: "relu", elu: "elu", selu: "selu", softplus: "softplus",
          softsign: "softsign", exponential: "exponential", swish: "swish",
          softmax: "softmax", keras3_hard_sigmoid: "keras3_hard_sigmoid"}


def get(identifier: Any) -> Any:
    """Resolve an activation argument to a function of arrays.

    Parameters
    ----------
    identifier : None, str, dict or callable
        ``None`` means linear; a string is a Keras name (``"tanh"``,
        ``"hard_sigmoid"``, ...); a dict is a serialized activation
        (``{"class_name": "function", "config": "tanh"}``, as Keras 3 writes);
        a callable is returned unchanged (it then runs in the Python step loop).

    Returns
    -------
    callable

    Raises
    ------
    ValueError
        For an unknown name; ``TypeError`` for anything else.
    """
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        return deserialize(identifier)
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if callable(identifier):
        return identifier
    raise TypeError(f"activation must be None, a name, a config dict or a callable, "
                    f"got {identifier!r} of type {type(identifier).__name__}")


def serialize(activation: Any) -> Any:
    """The config value of an activation: its Keras name (or the callable's ``__name__``)."""
    name = _NAMES.get(activation)
    if name is not None:
        return name
    return getattr(activation, "__name__", repr(activation))


def deserialize(config: Any, custom_objects: Optional[Dict[str, Any]] = None) -> Any:
    """The activation function for a name or a serialized dict.

    Parameters
    ----------
    config : str or dict
    custom_objects : dict, optional
        Extra ``name -> callable`` entries, searched first.
    """
    name = config
    if isinstance(config, dict):
        name = config.get("config", config.get("class_name"))
        if isinstance(name, dict):
            name = name.get("name")
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    if not isinstance(name, str) or name not in _TABLE:
        raise ValueError(f"Unknown activation {config!r}: expected one of "
                         f"{sorted(_TABLE)}, None, or a callable")
    return _TABLE[name]


def kernel_name(activation: Any) -> Any:
    """The name the compiled kernels know ``activation`` by, or None.

    ``None`` means the activation is a Python callable outside the table (or
    one the kernels do not compute): the layer then runs its Python step loop.
    """
    name = _NAMES.get(activation)
    return name if name in KERNEL_ACTIVATIONS else None
