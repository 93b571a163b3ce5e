"""fastrnn, the library under test: ``fr.LSTM`` / ``fr.GRU`` / ``fr.SimpleRNN`` on NumPy.

Besides the Keras-API cases shared with TensorFlow (:mod:`._keras_api`), fastrnn runs:

- ``lengths``: per-row sequence lengths, ``layer(x, lengths=...)`` once the layer takes
  them, until then ``fastrnn._engine.run_sequence(layer.cell._kernel_weights, x,
  lengths=...)`` (the same kernel call the layer makes);
- ``mask``: the same rows as a boolean mask, ``layer(x, mask=...)``;
- ``step``: ``outputs, states = layer.step(x_t, states)`` from
  ``layer.get_initial_state(batch_size=B)``, when the layers have ``step``.

Threads: ``fr.set_num_threads(n)`` (fastrnn's batch-parallel kernels), and threadpoolctl
for the BLAS it calls.
"""
from __future__ import annotations

import inspect
from typing import Any, Callable, Dict, List

import numpy as np

from ..weights import KerasWeights, make_lengths, valid_steps
from ..workloads import Workload
from ._keras_api import KerasAPIBackend
from .base import BackendUnavailable, Prepared, sequence_case, streaming_case


def _import():
    try:
        import fastrnn
    except Exception as exc:  # ImportError, or a broken build
        raise BackendUnavailable(f"import fastrnn failed: {exc!r}") from exc
    missing = [c for c in ("LSTM", "GRU", "SimpleRNN") if not hasattr(fastrnn, c)]
    if missing:
        raise BackendUnavailable(f"fastrnn has no {', '.join(missing)} yet")
    return fastrnn


def has_step() -> bool:
    """Whether fastrnn's layers have the explicit ``step`` method."""
    return hasattr(_import().LSTM(4), "step")


def isa() -> str:
    """The instruction-set variant of fastrnn's kernels (portable, avx2, avx512)."""
    _import()
    from fastrnn._kernels import _rnn
    return str(_rnn.isa())


class FastRNNBackend(KerasAPIBackend):
    """fastrnn layers called on NumPy arrays; its threads set with ``fr.set_num_threads``."""

    name = "fastrnn"
    dtypes = ("float32", "float64")
    variants = ("", "denormal", "lengths", "mask", "step")

    @classmethod
    def versions(cls) -> Dict[str, str]:
        fr = _import()
        version = getattr(fr, "__version__", None)
        if version is None:
            from importlib import metadata
            try:
                version = metadata.version("fastrnn")
            except metadata.PackageNotFoundError:
                version = "unknown"
        versions = {"fastrnn": version, "isa": isa()}
        blas_config = getattr(fr, "_blas_config", None)  # fastrnn's OpenBLAS core-type choice
        if blas_config is not None:
            versions["openblas_coretype_requested"] = str(blas_config.requested_coretype)
        return versions

    def set_threads(self, n: int) -> str:
        fr = _import()
        fr.set_num_threads(n)
        return (f"fr.set_num_threads({n}) (get_num_threads()={fr.get_num_threads()}), "
                f"threadpoolctl threadpool_limits({n}) for BLAS")

    def supports(self, wl: Workload) -> bool:
        if wl.variant == "step" and not has_step():
            return False  # reported as "not measured": fastrnn's layers have no step() yet
        return super().supports(wl)

    def layers(self) -> Any:
        return _import()

    def prepare(self, wl: Workload, weights: KerasWeights, x: np.ndarray,
                threads: int) -> Prepared:
        if wl.variant == "step":
            return self._step_case(wl, weights, x)
        if not wl.ragged:
            return super().prepare(wl, weights, x, threads)
        layer = self.built_layer(wl, weights, wl.steps)
        native = np.ascontiguousarray(x, dtype=wl.dtype)
        if wl.variant == "mask":
            mask = valid_steps(wl)
            return sequence_case(lambda xs: layer(xs, mask=mask), native, np.asarray)
        return sequence_case(_with_lengths(layer, make_lengths(wl)), native, np.asarray)

    def _step_case(self, wl: Workload, weights: KerasWeights, x: np.ndarray) -> Prepared:
        """``layer.step`` from ``layer.get_initial_state``, states carried by the caller."""
        layer = self.built_layer(wl, weights, 1)
        carried: List[Any] = [None]

        def reset() -> None:
            carried[0] = layer.get_initial_state(batch_size=wl.batch)

        def step(x_t: np.ndarray) -> np.ndarray:
            outputs, carried[0] = layer.step(x_t, carried[0])
            return outputs

        reset()
        inputs = [np.ascontiguousarray(x[:, t], dtype=wl.dtype) for t in range(wl.check_steps)]
        return streaming_case(reset, step, inputs)


def _with_lengths(layer: Any, lengths: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """The whole-sequence call of ``layer`` with per-row ``lengths``: the layer's own
    ``lengths=`` once it has one, else the engine call the layer would make."""
    if "lengths" in inspect.signature(layer.__call__).parameters:
        return lambda xs: layer(xs, lengths=lengths)
    from fastrnn import _engine
    weights = layer.cell._kernel_weights
    return lambda xs: _engine.run_sequence(weights, xs, lengths=lengths,
                                           return_sequences=True)[0]


def packed_weight_bytes(wl: Workload, weights: KerasWeights) -> Dict[str, int]:
    """fastrnn's packed weight memory for ``wl`` (``KernelWeights.nbytes``) and the bytes
    of the Keras-layout weights it is built from (kernel, recurrent kernel, bias)."""
    layer = FastRNNBackend().built_layer(wl, weights, wl.steps)
    keras = sum(w.nbytes for w in weights.as_list(np.dtype(wl.dtype)))
    return {"packed_bytes": int(layer.cell._kernel_weights.nbytes), "keras_bytes": int(keras)}
