"""The interface every backend implements.

A backend turns a workload, its Keras-layout weights and its input into a
:class:`Prepared` case: ``call`` is the timed thing (one whole-sequence call, or one
streaming step with carried state), ``output`` computes the output checked against the
reference. Converting inputs to the backend's native tensors and layout, building
sessions and copying weights all happen in ``prepare``, outside the timed region.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Dict, Sequence, Tuple

import numpy as np

from ..weights import KerasWeights
from ..workloads import Workload


class BackendUnavailable(RuntimeError):
    """The backend's library cannot be imported or does not work here."""


@dataclass
class Prepared:
    """A case ready to run.

    ``call()`` runs one timed call. ``output()`` returns the float output of shape
    ``(batch, check_steps, units)`` as a NumPy array: the sequence output, or for a
    streaming case the outputs of ``check_steps`` single-step calls from a zero state.
    """

    call: Callable[[], object]
    output: Callable[[], np.ndarray]


class Backend(abc.ABC):
    """A library that runs Keras-semantics recurrent layers."""

    #: Short name used on the command line and in reports.
    name: ClassVar[str]
    #: Dtypes this backend is measured in.
    dtypes: ClassVar[Tuple[str, ...]] = ("float32",)
    #: Workload variants it runs (:data:`bench.workloads.VARIANTS`): by default the plain
    #: shapes and the subnormal case, which need nothing but other weights.
    variants: ClassVar[Tuple[str, ...]] = ("", "denormal")

    @classmethod
    @abc.abstractmethod
    def versions(cls) -> Dict[str, str]:
        """Versions of the libraries involved; raises :class:`BackendUnavailable`."""

    def set_threads(self, n: int) -> str:
        """Set the backend's own thread pools to ``n``; return how, for the record.

        BLAS and OpenMP pools seen by threadpoolctl are limited by the caller
        (:func:`bench.threads.pinned`); override to set anything else.
        """
        return f"threadpoolctl threadpool_limits({n})"

    def supports(self, wl: Workload) -> bool:
        """Whether this backend measures ``wl``."""
        return wl.dtype in self.dtypes and wl.variant in self.variants

    @abc.abstractmethod
    def prepare(self, wl: Workload, weights: KerasWeights, x: np.ndarray,
                threads: int) -> Prepared:
        """Build the layer or session for ``wl`` with ``weights``; ``x`` is the
        float64 input of shape ``(batch, check_steps, input)``. A ragged workload's row
        lengths are :func:`bench.weights.make_lengths` of it."""


def sequence_case(run: Callable[[Any], Any], x: Any,
                  to_numpy: Callable[[Any], np.ndarray]) -> Prepared:
    """A whole-sequence case: ``run(x)`` is timed; ``to_numpy`` turns its result into
    ``(batch, steps, units)``."""
    return Prepared(call=lambda: run(x), output=lambda: _as_float(to_numpy(run(x))))


def streaming_case(reset: Callable[[], None], step: Callable[[Any], Any],
                   inputs: Sequence[Any]) -> Prepared:
    """A streaming case over native per-step inputs ``inputs`` (one per timestep).

    ``step(x_t)`` runs one timestep from the carried state, carries the new state and
    returns the new hidden state (any shape holding ``batch * units`` values, batch
    first); ``reset()`` zeroes the carried state. The timed call feeds ``inputs[0]``
    repeatedly; the checked output is that of all ``inputs`` in order after a reset.
    """
    def output() -> np.ndarray:
        reset()
        hs = [_as_float(step(x_t)) for x_t in inputs]
        reset()
        return np.stack([h.reshape(-1, h.shape[-1]) for h in hs], axis=1)

    first = inputs[0]
    return Prepared(call=lambda: step(first), output=output)


def _as_float(a) -> np.ndarray:
    """A float64 copy of an array-like (never a view of a buffer the backend may reuse)."""
    if hasattr(a, "numpy"):  # torch / TensorFlow tensors
        a = a.numpy()
    return np.array(a, dtype=np.float64)
