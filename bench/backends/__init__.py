"""The backends: fastrnn and its peers (NumPy, PyTorch, ONNX Runtime, OpenVINO, TensorFlow), each behind :class:`~bench.backends.base.Backend`.

Modules are imported only on demand (:func:`load`), so that a peer that is not installed
costs nothing but a note. ``fastrnn`` comes first: its output is the reference the
peers are checked against.
"""
from __future__ import annotations

import importlib
from typing import Dict, Type

from .base import Backend, BackendUnavailable, Prepared

#: name -> (module, class), in report order.
REGISTRY: Dict[str, tuple] = {
    "fastrnn": ("fastrnn_backend", "FastRNNBackend"),
    "numpy": ("numpy_backend", "NumpyBackend"),
    "torch": ("torch_backend", "TorchBackend"),
    "onnxruntime": ("onnxruntime_backend", "OnnxRuntimeBackend"),
    "openvino": ("openvino_backend", "OpenVINOBackend"),
    "tensorflow": ("tensorflow_backend", "TensorFlowBackend"),
}

#: The peers a target compares fastrnn with (the best of them per row; NumPy is the
#: per-step reference, not a peer).
PEERS = ("torch", "onnxruntime", "openvino", "tensorflow")

#: Backends run in a fresh worker process per thread setting (threads fixed at first use).
ISOLATED = ("tensorflow",)


def load(name: str) -> Type[Backend]:
    """The backend class called ``name``, its library imported and its versions read.

    Raises :class:`BackendUnavailable` (with the reason) if its library is not importable.
    """
    module_name, class_name = REGISTRY[name]
    try:
        module = importlib.import_module(f"{__name__}.{module_name}")
    except BackendUnavailable:
        raise
    except Exception as exc:  # ImportError, or a library that fails while loading
        raise BackendUnavailable(f"{type(exc).__name__}: {exc}") from exc
    cls = getattr(module, class_name)
    cls.versions()  # raises BackendUnavailable if the library is there but unusable
    return cls


__all__ = ["Backend", "BackendUnavailable", "Prepared", "REGISTRY", "PEERS", "ISOLATED", "load"]
