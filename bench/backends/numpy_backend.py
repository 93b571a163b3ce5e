"""The NumPy per-step reference: a plain Python loop over timesteps, Keras semantics.

Each step computes what a Keras cell's ``call`` computes: ``x_t @ kernel`` and
``h @ recurrent_kernel`` (two matmuls through NumPy's BLAS), then the gates. In float64
it is also the oracle that fastrnn itself is checked against.

    LSTM:       z = x W + h U + b;  i, f, c~, o = split(z)
                c' = s(f) c + s(i) tanh(c~);  h' = s(o) tanh(c')
    GRU:        (reset_after=True)  xz = x W + b_in;  hz = h U + b_rec
                z = s(xz_z + hz_z);  r = s(xz_r + hz_r);  h~ = tanh(xz_h + r hz_h)
                h' = z h + (1 - z) h~
    SimpleRNN:  h' = tanh(x W + h U + b)

with ``s`` the logistic sigmoid (tf.keras's default recurrent activation).
"""
from __future__ import annotations

from typing import Callable, Dict, Tuple

import numpy as np

from ..weights import KerasWeights
from ..workloads import Workload
from .base import Backend, Prepared, sequence_case, streaming_case

State = Tuple[np.ndarray, ...]


def _sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic sigmoid, written with tanh so that it cannot overflow."""
    return 0.5 * (1.0 + np.tanh(0.5 * z))


class _Params:
    """The weights of one cell cast to the compute dtype."""

    def __init__(self, weights: KerasWeights, dtype) -> None:
        self.kernel = weights.kernel.astype(dtype)
        self.recurrent_kernel = weights.recurrent_kernel.astype(dtype)
        self.input_bias = weights.input_bias.astype(dtype)
        self.recurrent_bias = weights.recurrent_bias.astype(dtype)
        self.units = weights.units


def _lstm_step(p: _Params, x: np.ndarray, state: State) -> State:
    h, c = state
    z = x @ p.kernel + h @ p.recurrent_kernel + p.input_bias
    i, f, g, o = np.split(z, 4, axis=-1)
    c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
    return _sigmoid(o) * np.tanh(c), c


def _gru_step(p: _Params, x: np.ndarray, state: State) -> State:
    (h,) = state
    xz, xr, xh = np.split(x @ p.kernel + p.input_bias, 3, axis=-1)
    hz, hr, hh = np.split(h @ p.recurrent_kernel + p.recurrent_bias, 3, axis=-1)
    z = _sigmoid(xz + hz)
    r = _sigmoid(xr + hr)
    candidate = np.tanh(xh + r * hh)
    return (z * h + (1.0 - z) * candidate,)


def _simple_rnn_step(p: _Params, x: np.ndarray, state: State) -> State:
    (h,) = state
    return (np.tanh(x @ p.kernel + h @ p.recurrent_kernel + p.input_bias),)


_STEPS: Dict[str, Callable[[_Params, np.ndarray, State], State]] = {
    "LSTM": _lstm_step, "GRU": _gru_step, "SimpleRNN": _simple_rnn_step}


def _zero_state(cell: str, batch: int, units: int, dtype) -> State:
    n = 2 if cell == "LSTM" else 1
    return tuple(np.zeros((batch, units), dtype) for _ in range(n))


def run_sequence(cell: str, p: _Params, x: np.ndarray) -> np.ndarray:
    """The output sequence ``(batch, steps, units)`` for input ``x`` from a zero state."""
    step = _STEPS[cell]
    batch, steps, _ = x.shape
    state = _zero_state(cell, batch, p.units, x.dtype)
    out = np.empty((batch, steps, p.units), x.dtype)
    for t in range(steps):
        state = step(p, x[:, t], state)
        out[:, t] = state[0]
    return out


def reference_output(wl: Workload, weights: KerasWeights, x: np.ndarray) -> np.ndarray:
    """The float64 oracle output of ``wl`` (streaming: the steps of its check input)."""
    return run_sequence(wl.cell, _Params(weights, np.float64), x.astype(np.float64))


class NumpyBackend(Backend):
    """A per-step NumPy loop (the reference implementation), float32 and float64."""

    name = "numpy"
    dtypes = ("float32", "float64")

    @classmethod
    def versions(cls) -> Dict[str, str]:
        return {"numpy": np.__version__}

    def prepare(self, wl: Workload, weights: KerasWeights, x: np.ndarray,
                threads: int) -> Prepared:
        dtype = np.dtype(wl.dtype)
        p = _Params(weights, dtype)
        x = np.ascontiguousarray(x, dtype=dtype)
        if not wl.streaming:
            return sequence_case(lambda xs: run_sequence(wl.cell, p, xs), x, lambda y: y)
        step = _STEPS[wl.cell]
        carried = [_zero_state(wl.cell, wl.batch, wl.units, dtype)]

        def reset() -> None:
            carried[0] = _zero_state(wl.cell, wl.batch, wl.units, dtype)

        def advance(x_t: np.ndarray) -> np.ndarray:
            carried[0] = step(p, x_t, carried[0])
            return carried[0][0]

        inputs = [np.ascontiguousarray(x[:, t]) for t in range(wl.check_steps)]
        return streaming_case(reset, advance, inputs)
