"""What fastrnn and TensorFlow share: the tf.keras layer API.

Both take Keras-layout weights with ``set_weights`` unchanged, so one implementation of
``prepare`` serves both; a subclass says where the layer classes live, how a call is
compiled (``tf.function`` for TensorFlow) and how NumPy inputs become native tensors.
Streaming uses a ``stateful=True`` layer of batch size ``B`` called with one timestep
``(B, 1, I)`` at a time.
"""
from __future__ import annotations

from typing import Any, Callable, List

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

    def built_layer(self, wl: Workload, weights: KerasWeights, steps: int, **kwargs) -> Any:
        """:meth:`make_layer`, built for ``(batch, steps, input)``, holding ``weights``."""
        layer = self.make_layer(wl, **kwargs)
        layer.build((wl.batch, steps, wl.input_size))
        layer.set_weights(weights.as_list(np.dtype(wl.dtype)))
        return layer

    def native_steps(self, wl: Workload, x: np.ndarray) -> List[Any]:
        """The ``check_steps`` timesteps of ``x`` as native ``(batch, 1, input)`` tensors."""
        return [self.to_native(np.ascontiguousarray(x[:, t:t + 1], dtype=wl.dtype))
                for t in range(wl.check_steps)]

    def prepare(self, wl: Workload, weights: KerasWeights, x: np.ndarray,
                threads: int) -> Prepared:
        if not wl.streaming:
            layer = self.built_layer(wl, weights, wl.steps)
            native = self.to_native(np.ascontiguousarray(x, dtype=wl.dtype))
            return sequence_case(self.compile(layer), native, np.asarray)
        layer = self.built_layer(wl, weights, 1, stateful=True, **self.stateful_kwargs(wl))
        reset = getattr(layer, "reset_states", None) or layer.reset_state
        return streaming_case(reset, self.compile(layer), self.native_steps(wl, x))
