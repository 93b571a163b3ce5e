"""Weight constraints with tf.keras names, classes and configs, on NumPy.

A constraint is a callable ``new_weight = constraint(weight)``.  fastrnn does not
train; layers store their constraints, serialize them, and apply them on demand
with :meth:`fastrnn.Layer.apply_constraints`.

Accepted by :func:`get`: None, a name (``"max_norm"``, ``"non_neg"``,
``"unit_norm"``, ``"min_max_norm"``), a config dict
``{"class_name": "MaxNorm", "config": {"max_value": 2, "axis": 0}}``, an instance
or any callable.

Examples
--------
>>> import numpy as np
>>> from fastrnn import constraints
>>> constraints.get("non_neg")(np.array([-1.0, 2.0]))
array([0., 2.])
"""
from typing import Any, Dict

import numpy as np

from ._catalog import Catalog, Configurable

__all__ = ["Constraint", "MaxNorm", "NonNeg", "UnitNorm", "MinMaxNorm", "max_norm",
           "non_neg", "unit_norm", "min_max_norm", "get", "serialize", "deserialize"]

#: Keras's fuzz factor (``K.epsilon()``).
_EPSILON = 1e-7


def _norms(weight, axis):
    return np.sqrt(np.sum(np.square(weight), axis=axis, keepdims=True))


class Constraint(Configurable):
    """Base class: subclasses define ``__call__(weight) -> weight`` and ``get_config()``."""

    def __call__(self, weight: Any) -> np.ndarray:
        return weight



class MaxNorm(Constraint):
    """Rescale slices along ``axis`` whose L2 norm exceeds ``max_value``."""

    def __init__(self, max_value: Any = 2, axis: Any = 0) -> None:
        self.max_value, self.axis = max_value, axis

    def __call__(self, weight: Any) -> np.ndarray:
        weight = np.asarray(weight)
        norms = _norms(weight, self.axis)
        desired = np.clip(norms, 0, self.max_value)
        return (weight * (desired / (_EPSILON + norms))).astype(weight.dtype)

    def get_config(self) -> Dict[str, Any]:
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    """Zero out negative weights."""

    def __call__(self, weight: Any) -> np.ndarray:
        weight = np.asarray(weight)
        return weight * (weight >= 0)


class UnitNorm(Constraint):
    """Scale slices along ``axis`` to unit L2 norm."""

    def __init__(self, axis: Any = 0) -> None:
        self.axis = axis

    def __call__(self, weight: Any) -> np.ndarray:
        weight = np.asarray(weight)
        return (weight / (_EPSILON + _norms(weight, self.axis))).astype(weight.dtype)

    def get_config(self) -> Dict[str, Any]:
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    """Move slice norms along ``axis`` into ``[min_value, max_value]`` at ``rate``."""

    def __init__(self, min_value: Any = 0.0, max_value: Any = 1.0, rate: float = 1.0,
                 axis: Any = 0) -> None:
        self.min_value, self.max_value, self.rate, self.axis = min_value, max_value, rate, axis

    def __call__(self, weight: Any) -> np.ndarray:
        weight = np.asarray(weight)
        norms = _norms(weight, self.axis)
        desired = (self.rate * np.clip(norms, self.min_value, self.max_value)
                   + (1 - self.rate) * norms)
        return (weight * (desired / (_EPSILON + norms))).astype(weight.dtype)

    def get_config(self) -> Dict[str, Any]:
        return {"min_value": self.min_value, "max_value": self.max_value,
                "rate": self.rate, "axis": self.axis}


_CLASSES = {cls.__name__: cls for cls in (MaxNorm, NonNeg, UnitNorm, MinMaxNorm)}
_ALIASES = {"max_norm": MaxNorm, "maxnorm": MaxNorm, "non_neg": NonNeg, "nonneg": NonNeg,
            "unit_norm": UnitNorm, "unitnorm": UnitNorm, "min_max_norm": MinMaxNorm}


# tf.keras's lower-case names, as module attributes (``constraints.max_norm(2)``)
max_norm = maxnorm = MaxNorm
non_neg = nonneg = NonNeg
unit_norm = unitnorm = UnitNorm
min_max_norm = MinMaxNorm

_catalog = Catalog("constraint", Constraint, _CLASSES, _ALIASES)
serialize = _catalog.serialize
deserialize = _catalog.deserialize
get = _catalog.get
