"""Weights in Keras layout and inputs, from fixed seeds, and gate-block reordering.

Keras layout is the source of truth; every backend maps from it:

=========  ====================  ======================  ===================  ==========
cell       kernel                recurrent_kernel        bias                 gate order
=========  ====================  ======================  ===================  ==========
SimpleRNN  (I, H)                (H, H)                  (H,)                 --
LSTM       (I, 4H)               (H, 4H)                 (4H,)                i, f, c, o
GRU        (I, 3H)               (H, 3H)                 (2, 3H) reset_after  z, r, h
=========  ====================  ======================  ===================  ==========

Values are drawn in float64 and rounded through float32, so that the float32 backends
and the float64 reference compute on exactly the same numbers. The kernels are scaled
as glorot-uniform (so activations do not saturate) and the biases are small but non-zero
(so that a wrongly mapped bias is caught by the cross-check).
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import List, Sequence

import numpy as np

from .workloads import GATES, Workload

BASE_SEED = 20240601


def _rng(*key) -> np.random.Generator:
    """A generator seeded by ``key`` (stable across processes and interpreters)."""
    return np.random.default_rng([BASE_SEED, zlib.crc32(repr(key).encode())])


def _f32(a: np.ndarray) -> np.ndarray:
    """``a`` rounded to float32 values, kept in float64."""
    return a.astype(np.float32).astype(np.float64)


@dataclass(frozen=True)
class KerasWeights:
    """The weights of one Keras cell (float64 arrays holding float32-exact values)."""

    cell: str
    kernel: np.ndarray
    recurrent_kernel: np.ndarray
    bias: np.ndarray

    @property
    def units(self) -> int:
        return self.recurrent_kernel.shape[0]

    def as_list(self, dtype) -> List[np.ndarray]:
        """``[kernel, recurrent_kernel, bias]`` in ``dtype``, C-contiguous (for ``set_weights``)."""
        return [np.ascontiguousarray(w, dtype=dtype)
                for w in (self.kernel, self.recurrent_kernel, self.bias)]

    @property
    def input_bias(self) -> np.ndarray:
        """The bias added to ``x @ kernel`` (row 0 of a reset_after GRU bias)."""
        return self.bias[0] if self.bias.ndim == 2 else self.bias

    @property
    def recurrent_bias(self) -> np.ndarray:
        """The bias added to ``h @ recurrent_kernel`` (zeros unless reset_after GRU)."""
        return self.bias[1] if self.bias.ndim == 2 else np.zeros_like(self.bias)


def make_weights(cell: str, input_size: int, units: int) -> KerasWeights:
    """Keras-layout weights for ``cell``; the same arguments give the same weights."""
    width = GATES[cell] * units
    rng = _rng("weights", cell, input_size, units)

    def glorot(fan_in: int) -> np.ndarray:
        limit = np.sqrt(6.0 / (fan_in + width))
        return _f32(rng.uniform(-limit, limit, size=(fan_in, width)))

    kernel = glorot(input_size)
    recurrent = glorot(units)
    bias_shape = (2, width) if cell == "GRU" else (width,)
    bias = _f32(rng.uniform(-0.1, 0.1, size=bias_shape))
    return KerasWeights(cell, kernel, recurrent, bias)


#: The output-gate bias of the ``denormal`` variant: sigmoid(-95) is about 5.5e-42, so
#: h = o * tanh(c) is a float32 subnormal at every step (and so is h @ recurrent_kernel).
DENORMAL_OUTPUT_BIAS = -95.0


def weights_for(wl: Workload) -> KerasWeights:
    """The weights of ``wl``: :func:`make_weights` of its cell and sizes, with the LSTM
    output-gate bias set to :data:`DENORMAL_OUTPUT_BIAS` for the ``denormal`` variant."""
    weights = make_weights(wl.cell, wl.input_size, wl.units)
    if wl.variant != "denormal":
        return weights
    if wl.cell != "LSTM":
        raise ValueError(f"the denormal variant is an LSTM case, got {wl.cell}")
    bias = weights.bias.copy()
    bias[3 * wl.units:] = DENORMAL_OUTPUT_BIAS  # gate order i, f, c, o
    return KerasWeights(wl.cell, weights.kernel, weights.recurrent_kernel, bias)


def make_lengths(wl: Workload) -> np.ndarray:
    """Row lengths of a ragged workload: int64 ``(batch,)``, uniform in ``1..steps``
    (the same for its ``lengths`` and ``mask`` variants)."""
    rng = _rng("lengths", wl.batch, wl.steps)
    return rng.integers(1, wl.steps + 1, size=wl.batch, dtype=np.int64)


def valid_steps(wl: Workload) -> np.ndarray:
    """Boolean ``(batch, check_steps)``: where an output of ``wl`` is defined (all True
    unless ragged: then step t of row b is valid for t < lengths[b])."""
    if not wl.ragged:
        return np.ones((wl.batch, wl.check_steps), bool)
    return np.arange(wl.check_steps)[None, :] < make_lengths(wl)[:, None]


def make_input(wl: Workload) -> np.ndarray:
    """The input of ``wl``: float64 (float32-exact), shape ``(batch, check_steps, input)``.

    Streaming workloads get ``check_steps`` steps; their timed call feeds step 0.
    """
    rng = _rng("input", wl.cell, wl.batch, wl.check_steps, wl.input_size, wl.units)
    return _f32(rng.standard_normal((wl.batch, wl.check_steps, wl.input_size)))


def reorder_gates(a: np.ndarray, order: Sequence[int], units: int, axis: int = -1) -> np.ndarray:
    """Permute the gate blocks of width ``units`` along ``axis``.

    ``order[k]`` is the Keras gate that goes to position ``k``; e.g. Keras LSTM (i, f, c, o)
    to ONNX (i, o, f, c) is ``order=(0, 3, 1, 2)``.
    """
    blocks = np.split(a, a.shape[axis] // units, axis=axis)
    return np.concatenate([blocks[k] for k in order], axis=axis)
