"""The bridge between layers and the compiled kernels.

``KernelWeights`` holds a built-in cell's weights prepared once at load (C-contiguous,
compute dtype, biases unpacked); ``run_sequence`` validates one call's values
through ``fastrnn._validation``, allocates the outputs, takes the workspace from a
per-thread cache and makes exactly one call into ``fastrnn._kernels._rnn``.
"""
import threading

import numpy as np

from . import _blas_config
from . import _validation as check

_blas_config.load_scipy_blas()  # before the kernels link to scipy's BLAS

from ._kernels import _rnn  # noqa: E402

#: Activation names the kernels compute (others run in the Python step loop).
KERNEL_ACTIVATIONS = frozenset(_rnn.ACTIVATIONS)

#: Bytes of input projections computed per chunk of timesteps.
CHUNK_BYTES = 4 << 20

_per_thread = threading.local()


class KernelWeights:
    """A built-in cell's weights in the form the kernel reads.

    Parameters
    ----------
    cell : {"simple", "lstm", "gru", "gru_reset_before"}
    kernel : array (input_dim, gates * units), Keras layout.
    recurrent_kernel : array (units, gates * units).
        The transposes of both kernels are also kept (C-contiguous), for the
        kernels' few-row products.
    bias : None, (gates * units,), or (2, gates * units) for "gru" (input and
        recurrent biases, Keras ``reset_after=True`` layout).
    activation, recurrent_activation : kernel activation names.
    dtype : compute dtype.
    """

    __slots__ = ("cell", "cell_code", "units", "input_dim", "dtype", "kernel", "kernel_t",
                 "recurrent_kernel", "recurrent_kernel_t", "bias", "recurrent_bias", "act", "rec_act",
                 "n_states", "row_bytes")

    def __init__(self, cell, kernel, recurrent_kernel, bias, activation,
                 recurrent_activation="linear", dtype=np.float32):
        self.cell = cell
        self.cell_code, blocks = _rnn.CELLS[cell]
        self.dtype = np.dtype(dtype)
        self.kernel = np.ascontiguousarray(kernel, dtype=self.dtype)
        self.recurrent_kernel = np.ascontiguousarray(recurrent_kernel, dtype=self.dtype)
        self.input_dim, gates = self.kernel.shape
        self.units = self.recurrent_kernel.shape[0]
        # transposes for the kernels' few-row products (see _rnn.SMALL_PRODUCT_MAX_ROWS)
        self.kernel_t = np.ascontiguousarray(self.kernel.T)
        self.recurrent_kernel_t = np.ascontiguousarray(self.recurrent_kernel.T)
        assert gates == blocks * self.units and self.recurrent_kernel.shape == (self.units, gates)
        zeros = np.zeros(gates, dtype=self.dtype)
        if bias is None:
            self.bias, self.recurrent_bias = zeros, zeros
        elif cell == "gru":
            self.bias = np.ascontiguousarray(bias[0], dtype=self.dtype)
            self.recurrent_bias = np.ascontiguousarray(bias[1], dtype=self.dtype)
        else:
            self.bias, self.recurrent_bias = np.ascontiguousarray(bias, dtype=self.dtype), zeros
        self.act = _rnn.ACTIVATIONS[activation]
        self.rec_act = _rnn.ACTIVATIONS[recurrent_activation]
        self.n_states = 2 if cell == "lstm" else 1
        self.row_bytes = gates * self.dtype.itemsize  # one step's projection of one row
        check.fits_blas("the layer", self.input_dim, gates)


def _workspace(size, dtype):
    """A per-thread scratch buffer of at least ``size`` elements (grown, never shrunk)."""
    key = "float64" if dtype == np.float64 else "float32"
    buf = getattr(_per_thread, key, None)
    if buf is None or buf.size < size:
        buf = np.empty(max(size, 1), dtype=dtype)
        setattr(_per_thread, key, buf)
    return buf


def run_sequence(weights, inputs, *, mask=None, initial_state=None, state_buffers=None,
                 time_major=False, go_backwards=False, return_sequences=False,
                 zero_output_for_mask=False):
    """Run a built-in cell over a whole batch of sequences in one kernel call.

    Parameters
    ----------
    weights : KernelWeights
    inputs : array-like (batch, time, features), or (time, batch, features).
    mask : None or boolean (batch, time) / (time, batch).
    initial_state : None (zeros) or a list of ``weights.n_states`` arrays (batch, units).
    state_buffers : None, or a list of C-contiguous (batch, units) arrays of the
        compute dtype holding the current state: the kernel updates them in place
        (stateful layers) and they are returned as the final states.

    Returns
    -------
    output : (batch, units) last output, or every output in processing order.
    states : list of final states, (batch, units) each.
    """
    dtype, units = weights.dtype, weights.units
    x, batch, steps = check.sequence_input(inputs, dtype, time_major=time_major,
                                           features=weights.input_dim)
    mask_u8 = check.sequence_mask(mask, batch, steps, time_major=time_major)
    shape = (batch, units)
    if state_buffers is not None:
        states = state_buffers
        for buf in states:
            if buf.shape != shape:
                raise ValueError(f"the layer's stored states have shape {buf.shape} but "
                                 f"inputs have batch size {batch}: expected {shape}")
        if initial_state is not None:
            for buf, value in zip(states, _state_list(initial_state, weights.n_states)):
                buf[...] = check.state_array(value, "initial_state", shape, dtype)
    elif initial_state is not None:
        states = [check.state_array(value, f"initial_state[{k}]", shape, dtype)
                  for k, value in enumerate(_state_list(initial_state, weights.n_states))]
    else:
        states = [np.zeros(shape, dtype) for _ in range(weights.n_states)]

    gates = weights.kernel.shape[1]
    if return_sequences:
        out = np.empty((steps, batch, units) if time_major else (batch, steps, units), dtype)
    else:
        out = np.zeros(shape, dtype)
    if batch == 0 or steps == 0:
        return out, states

    chunk = min(steps, CHUNK_BYTES // (weights.row_bytes * batch)) or 1
    check.fits_blas("batch * chunk * gates", batch * chunk * gates)
    workspace = _workspace(_rnn.workspace_size(chunk, batch, gates, units), dtype)
    _rnn.run_sequence(weights.cell_code, weights.act, weights.rec_act, x, time_major,
                      weights.kernel, weights.kernel_t, weights.recurrent_kernel,
                      weights.recurrent_kernel_t, weights.bias,
                      weights.recurrent_bias, states[0],
                      states[1] if weights.n_states == 2 else None, mask_u8, out,
                      return_sequences, go_backwards, zero_output_for_mask,
                      workspace, chunk)
    return out, states


def _state_list(initial_state, n_states):
    """``initial_state`` as a list of ``n_states`` values (one array allowed for one state)."""
    if isinstance(initial_state, np.ndarray) or not isinstance(initial_state, (list, tuple)):
        initial_state = [initial_state]
    if len(initial_state) != n_states:
        raise ValueError(f"initial_state must hold {n_states} state array(s), "
                         f"got {len(initial_state)}")
    return list(initial_state)
