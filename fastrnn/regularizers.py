"""Weight regularizers with tf.keras names, classes and configs, on NumPy.

A regularizer is a callable ``penalty = regularizer(weight)`` returning a float.
fastrnn does not train, but it keeps them so that configs round-trip and
``layer.losses`` reports the penalties of the current weights, as Keras does.

Accepted by :func:`get`: None, a name (``"l1"``, ``"l2"``, ``"l1_l2"``), a config
dict ``{"class_name": "L2", "config": {"l2": 0.01}}``, an instance or any callable.

Examples
--------
>>> import numpy as np
>>> from fastrnn import regularizers
>>> regularizers.get("l2")(np.array([1.0, 2.0]))
0.05
"""
from typing import Any, Dict

import numpy as np

from ._catalog import Catalog, Configurable

__all__ = ["Regularizer", "L1", "L2", "L1L2", "OrthogonalRegularizer", "l1", "l2", "l1_l2",
           "orthogonal_regularizer", "get", "serialize", "deserialize"]


class Regularizer(Configurable):
    """Base class: subclasses define ``__call__(weight) -> float`` and ``get_config()``."""

    def __call__(self, weight: Any) -> float:
        return 0.0



class L1L2(Regularizer):
    """``l1 * sum(|w|) + l2 * sum(w ** 2)``."""

    def __init__(self, l1: Any = 0.0, l2: Any = 0.0) -> None:
        self.l1, self.l2 = float(l1), float(l2)

    def __call__(self, weight: Any) -> float:
        weight = np.asarray(weight, dtype=np.float64)
        penalty = 0.0
        if self.l1:
            penalty += self.l1 * float(np.abs(weight).sum())
        if self.l2:
            penalty += self.l2 * float(np.square(weight).sum())
        return penalty

    def get_config(self) -> Dict[str, Any]:
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    """``l1 * sum(|w|)``."""

    def __init__(self, l1: Any = 0.01) -> None:
        super().__init__(l1=l1)

    def get_config(self) -> Dict[str, Any]:
        return {"l1": self.l1}


class L2(L1L2):
    """``l2 * sum(w ** 2)``."""

    def __init__(self, l2: Any = 0.01) -> None:
        super().__init__(l2=l2)

    def get_config(self) -> Dict[str, Any]:
        return {"l2": self.l2}


class OrthogonalRegularizer(Regularizer):
    """Penalizes non-orthogonal rows (``mode="rows"``) or columns of a 2-D weight.

    The rows (columns) are L2-normalized into ``n``; the penalty is
    ``factor * 0.5 * sum(|n n^T - diag|) / (size (size - 1) / 2)``: the mean
    absolute cosine over the pairs, times ``factor`` (tf.keras's definition).
    """

    def __init__(self, factor: Any = 0.01, mode: Any = "rows") -> None:
        if mode not in ("rows", "columns"):
            raise ValueError(f"OrthogonalRegularizer mode must be 'rows' or 'columns', "
                             f"got {mode!r}")
        self.factor, self.mode = float(factor), mode

    def __call__(self, weight: Any) -> float:
        weight = np.asarray(weight, dtype=np.float64)
        if weight.ndim != 2:
            raise ValueError(f"OrthogonalRegularizer needs a 2-D weight, got shape "
                             f"{weight.shape}")
        vectors = weight if self.mode == "rows" else weight.T
        norms = np.sqrt(np.maximum(np.sum(vectors ** 2, axis=1, keepdims=True), 1e-12))
        unit = vectors / norms
        size = unit.shape[0]
        product = np.abs(unit @ unit.T) * (1.0 - np.eye(size))
        return float(self.factor * 0.5 * product.sum() / (size * (size - 1) / 2.0))

    def get_config(self) -> Dict[str, Any]:
        return {"factor": self.factor, "mode": self.mode}


_CLASSES = {"L1L2": L1L2, "L1": L1, "L2": L2, "OrthogonalRegularizer": OrthogonalRegularizer}


def l1_l2(l1: Any = 0.01, l2: Any = 0.01) -> Any:
    """``L1L2`` with Keras's defaults (0.01 each) for the ``"l1_l2"`` name."""
    return L1L2(l1=l1, l2=l2)


# tf.keras's lower-case names, as module attributes (``regularizers.l2(1e-4)``)
l1 = L1
l2 = L2
orthogonal_regularizer = OrthogonalRegularizer

_ALIASES = {"l1": L1, "l2": L2, "l1_l2": l1_l2, "orthogonal_regularizer": OrthogonalRegularizer}


_catalog = Catalog("regularizer", Regularizer, _CLASSES, _ALIASES)
serialize = _catalog.serialize
deserialize = _catalog.deserialize
get = _catalog.get
