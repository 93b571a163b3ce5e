"""What fastrnn and TensorFlow share: the tf.keras layer API.

Both take Keras-layout weights with ``set_weights`` unchanged, so one implementation of
``prepare`` serves both; a subclass says where the layer classes live, how a call is
compiled (``tf.function`` for TensorFlow) and how NumPy inputs become native tensors.
Streaming uses a ``stateful=True`` layer of batch size ``B`` called with one timestep
``(B, 1, I)`` at a time.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..weights import KerasWeights
from ..workloads import Workload
from .base import Backend, Prepared, sequence_case, streaming_case


class KerasAPIBackend(Backend):
    """A backend whose layers are ``LSTM``/``GRU``/``SimpleRNN`` with the tf.keras API."""

    def layers(self) -> Any:
        """The namespace holding the layer classes (``fastrnn``, ``tf.keras.layers``)."""
        raise NotImplementedError

    def compile(self, layer: Any) -> Callable[[Any], Any]:
        """The callable that is timed; the layer itself unless overridden."""
        return layer

    def to_native(self, x: np.ndarray) -> Any:
        """An input array as the backend's tensor type; the array itself unless overridden."""
        return x

    def stateful_kwargs(self, wl: Workload) -> dict:
        """Constructor arguments that fix the batch size of a stateful layer."""
        return {"batch_size": wl.batch}

    def make_layer(self, wl: Workload, **kwargs) -> Any:
        """A layer returning sequences, in ``wl.dtype``; GRU with ``reset_after=True``."""
        cls = getattr(self.layers(), wl.cell)
        if wl.cell == "GRU":
            kwargs["reset_after"] = True
        return cls(wl.units, return_sequences=True, dtype=wl.dtype, **kwargs)

    def prepare(self, wl: Workload, weights: KerasWeights, x: np.ndarray,
                threads: int) -> Prepared:
        dtype = np.dtype(wl.dtype)
        if not wl.streaming:
            layer = self.make_layer(wl)
            layer.build((wl.batch, wl.steps, wl.input_size))
            layer.set_weights(weights.as_list(dtype))
            native = self.to_native(np.ascontiguousarray(x, dtype=dtype))
            return sequence_case(self.compile(layer), native, np.asarray)
        layer = self.make_layer(wl, stateful=True, **self.stateful_kwargs(wl))
        layer.build((wl.batch, 1, wl.input_size))
        layer.set_weights(weights.as_list(dtype))
        reset = getattr(layer, "reset_states", None) or layer.reset_state
        inputs = [self.to_native(np.ascontiguousarray(x[:, t:t + 1], dtype=dtype))
                  for t in range(wl.check_steps)]
        return streaming_case(reset, self.compile(layer), inputs)
