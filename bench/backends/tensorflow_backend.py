"""TensorFlow: ``tf.keras.layers.LSTM`` / ``GRU`` / ``SimpleRNN`` called through ``tf.function``.

Keras layout is TensorFlow's own, so the weights go in with ``set_weights`` unchanged
(the layer code is shared with fastrnn's backend). TensorFlow fixes its thread pools at
first use, so this backend is *isolated*: it runs in a fresh worker process per thread
setting (``python -m bench.worker``), possibly under another interpreter
(``--tf-python``), after ``tf.config.threading`` is set and before any op runs.
"""
from __future__ import annotations

import os
from typing import Any, Callable, Dict

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's banners off the table

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from ._keras_api import KerasAPIBackend  # noqa: E402
from ..workloads import Workload  # noqa: E402


class TensorFlowBackend(KerasAPIBackend):
    """tf.keras layers in float32, one ``tf.function`` per case."""

    name = "tensorflow"

    @classmethod
    def versions(cls) -> Dict[str, str]:
        keras = getattr(tf.keras, "__version__", None) or getattr(tf.keras, "version", lambda: "")()
        return {"tensorflow": tf.__version__, "keras": str(keras)}

    def set_threads(self, n: int) -> str:
        tf.config.threading.set_intra_op_parallelism_threads(n)
        tf.config.threading.set_inter_op_parallelism_threads(1)
        return f"tf.config.threading intra_op={n}, inter_op=1 (set before first use)"

    def layers(self) -> Any:
        return tf.keras.layers

    def compile(self, layer: Any) -> Callable[[Any], Any]:
        return tf.function(layer)

    def to_native(self, x: np.ndarray) -> Any:
        return tf.constant(x)

    def stateful_kwargs(self, wl: Workload) -> dict:
        return {}  # the batch size comes from build((B, 1, I))
