"""The bridge between layers and the compiled kernels.

``KernelWeights`` holds a built-in cell's weights packed once at load (the panel
layout of :mod:`fastrnn._packing`, compute dtype, read-only): a new ``set_weights``
builds a new ``KernelWeights`` and the cell swaps its reference, so a call in flight
keeps the weights it started with.  ``run_sequence`` validates one call's values
through :mod:`fastrnn._validation`, allocates the outputs, takes the workspace from a
per-thread cache and makes exactly one call into :mod:`fastrnn._kernels._rnn`.
"""
import os
import threading
import warnings

import numpy as np

from . import _blas_config
from . import _threads
from . import _validation as check
from ._packing import pack_gates

_blas_config.load_scipy_blas()

from ._kernels import _rnn  # noqa: E402

#: Activation names the kernels compute (others run in the Python step loop).
KERNEL_ACTIVATIONS = frozenset(_rnn.ACTIVATIONS)

#: Bytes of input projections one thread computes per chunk of timesteps.
CHUNK_BYTES = 1 << 20

#: The instruction-set variant, chosen when fastrnn loads: the best this CPU supports,
#: or a lower one named by FASTRNN_ISA (portable, avx2, avx512).
def _select_isa(requested):
    try:
        return _rnn.select_isa(requested)
    except ValueError as exc:       # a typo in the environment must not break the import
        warnings.warn(f"{exc}; using the best this CPU supports", RuntimeWarning, stacklevel=2)
        return _rnn.select_isa(None)


ISA = _select_isa(os.environ.get("FASTRNN_ISA") or None)

_per_thread = threading.local()


class KernelWeights:
    """A built-in cell's weights in the packed form the kernel reads (immutable).

    Parameters
    ----------
    cell : {"simple", "lstm", "gru", "gru_reset_before"}
    kernel : array (input_dim, gates * units), Keras layout.
    recurrent_kernel : array (units, gates * units).
    bias : None, (gates * units,), or (2, gates * units) for "gru" (input and
        recurrent biases, Keras ``reset_after=True`` layout).
    activation, recurrent_activation : kernel activation names.
    dtype : compute dtype.

    Attributes
    ----------
    nbytes : int
        Memory of the packed weights (the cell's own Keras-layout arrays aside).
    """

    __slots__ = ("cell", "cell_code", "units", "input_dim", "dtype", "w", "u", "u_h",
                 "bias", "rbias", "act", "rec_act", "n_states", "gates", "nbytes", "_plans")

    def __init__(self, cell, kernel, recurrent_kernel, bias, activation,
                 recurrent_activation="linear", dtype=np.float32):
        self.cell = cell
        self.cell_code, blocks = _rnn.CELLS[cell]
        self.dtype = dtype = np.dtype(dtype)
        kernel, recurrent_kernel = np.asarray(kernel), np.asarray(recurrent_kernel)
        self.input_dim, self.gates = kernel.shape
        self.units = units = recurrent_kernel.shape[0]
        assert self.gates == blocks * units and recurrent_kernel.shape == (units, self.gates)
        self.w = pack_gates(kernel, blocks, units, dtype)
        self.u_h = self.rbias = None
        if cell == "gru_reset_before":
            self.u = pack_gates(recurrent_kernel[:, :2 * units], 2, units, dtype)
            self.u_h = pack_gates(recurrent_kernel[:, 2 * units:], 1, units, dtype)
        else:
            self.u = pack_gates(recurrent_kernel, blocks, units, dtype)
        bias = np.zeros(((2,) if cell == "gru" else ()) + (self.gates,), np.float64) \
            if bias is None else np.asarray(bias, np.float64)
        if cell == "gru":   # z, r: input + recurrent bias; h: the recurrent bias stays apart
            folded = bias[0].copy()
            folded[:2 * units] += bias[1][:2 * units]
            self.bias = pack_gates(folded, blocks, units, dtype)
            self.rbias = pack_gates(bias[1], blocks, units, dtype)
        else:
            self.bias = pack_gates(bias, blocks, units, dtype)
        self.act = _rnn.ACTIVATIONS[activation]
        self.rec_act = _rnn.ACTIVATIONS[recurrent_activation]
        self.n_states = 2 if cell == "lstm" else 1
        self.nbytes = sum(a.nbytes for a in (self.w, self.u, self.u_h, self.bias, self.rbias)
                          if a is not None)
        self._plans = {}

    def step_plan(self, zero_output_for_mask=False):
        """The compiled single-timestep entry (:class:`fastrnn._kernels._rnn.StepPlan`)."""
        plan = self._plans.get(zero_output_for_mask)
        if plan is None:
            plan = _rnn.StepPlan(self.cell_code, self.act, self.rec_act, self.w, self.u,
                                 self.u_h, self.bias, self.rbias, self.units, self.input_dim,
                                 zero_output_for_mask)
            self._plans[zero_output_for_mask] = plan
        return plan


def _workspace(nbytes):
    """A per-thread, 64-byte aligned scratch buffer of ``nbytes`` (grown, never shrunk)."""
    aligned = getattr(_per_thread, "workspace", None)
    if aligned is None or aligned.size < nbytes:
        raw = np.empty(nbytes + _rnn.ALIGNMENT, np.uint8)
        start = -raw.ctypes.data % _rnn.ALIGNMENT      # once per growth: ctypes is slow
        aligned = raw[start:start + nbytes]
        _per_thread.workspace = aligned
    return aligned[:nbytes]


def run_sequence(weights, inputs, *, mask=None, lengths=None, initial_state=None,
                 state_buffers=None, time_major=False, go_backwards=False,
                 return_sequences=False, zero_output_for_mask=False, stream=False):
    """Run a built-in cell over a whole batch of sequences in one kernel call.

    Parameters
    ----------
    weights : KernelWeights
    inputs : array-like (batch, time, features), or (time, batch, features).
    mask : None or boolean (batch, time) / (time, batch).
    lengths : None or integers (batch,), 0 <= length <= time: row b is valid at steps
        t < lengths[b] (combined with ``mask`` where both are given); the kernel skips
        the rest.
    initial_state : None (zeros) or a list of ``weights.n_states`` arrays (batch, units).
    state_buffers : None, or a list of C-contiguous (batch, units) arrays of the
        compute dtype holding the current state: the kernel updates them in place
        (stateful layers) and they are returned as the final states.
    stream : bool
        A chunk of a stream: the output before a row's first valid step is its initial
        state (its previous output), not zeros.

    Returns
    -------
    output : (batch, units) last output, or every output in processing order.
    states : list of final states, (batch, units) each.
    """
    dtype, units = weights.dtype, weights.units
    x, batch, steps = check.sequence_input(inputs, dtype, time_major=time_major,
                                           features=weights.input_dim)
    mask_u8 = check.sequence_mask(mask, batch, steps, time_major=time_major)
    lengths = check.sequence_lengths(lengths, batch, steps)
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

    if return_sequences:
        out = np.empty((steps, batch, units) if time_major else (batch, steps, units), dtype)
    else:
        out = np.empty(shape, dtype)
    if batch == 0 or steps == 0:
        if not return_sequences:
            out.fill(0)
        return out, states

    threads = _threads.for_call(batch, steps * batch * weights.gates * (units + weights.input_dim))
    rows = -(-batch // threads)
    # per row and step: its projection (panels * gates * NB) and its packed inputs
    row_step = max(weights.bias.size, weights.input_dim) * dtype.itemsize
    chunk = max(1, min(steps, CHUNK_BYTES // (rows * row_step)))
    stride = _rnn.workspace_bytes(weights.cell_code, dtype.itemsize, units, weights.input_dim,
                                  rows, chunk)
    _rnn.run_sequence(weights.cell_code, weights.act, weights.rec_act, x, time_major,
                      weights.w, weights.u, weights.u_h, weights.bias, weights.rbias, units,
                      states[0], states[1] if weights.n_states == 2 else None, mask_u8,
                      lengths, out, return_sequences, go_backwards, zero_output_for_mask,
                      _workspace(threads * stride), chunk, threads, stream)
    return out, states


def step(weights, x, states, mask=None, zero_output_for_mask=False, out=None):
    """One timestep of a built-in cell for a batch, through the compiled step entry.

    Parameters
    ----------
    weights : KernelWeights
    x : array (batch, features)
    states : list of ``weights.n_states`` arrays (batch, units); not modified unless
        they are also ``out``.
    mask : None or boolean (batch,): False keeps a row's state (its output is then its
        state, or zeros with ``zero_output_for_mask``).
    out : None, or a list of ``n_states`` arrays (batch, units) to write the new states
        into (they may be ``states`` themselves: zero allocation).

    Returns
    -------
    output : (batch, units)
    new_states : list of (batch, units) arrays (``out`` when given)

    Arrays already in the kernel's form (C-contiguous, the layer's dtype and shapes)
    are checked in compiled code and go straight in; others are validated and
    converted here first.
    """
    plan = weights._plans.get(zero_output_for_mask) or weights.step_plan(zero_output_for_mask)
    try:
        return plan.step(x, states if type(states) is list else list(states), mask, out)
    except _rnn.StepArgumentError:
        pass
    dtype = weights.dtype
    x = check.step_input(x, dtype, weights.input_dim)
    if len(states) != weights.n_states:
        raise ValueError(f"states must hold {weights.n_states} array(s) (batch, "
                         f"{weights.units}), got {len(states)}")
    shape = (x.shape[0], weights.units)
    states = [check.state_array(s, f"states[{k}]", shape, dtype) for k, s in enumerate(states)]
    if out is not None:
        if len(out) != len(states) or any(
                type(o) is not np.ndarray or o.shape != shape or o.dtype != dtype
                or not o.flags.c_contiguous for o in out):
            raise ValueError(f"out must be a list of {len(states)} C-contiguous {dtype} "
                             f"array(s) of shape {shape}")
        out = list(out)
    if mask is not None:
        mask = check.step_mask(mask, shape[0])
    return plan.step(x, states, mask, out)


def _state_list(initial_state, n_states):
    """``initial_state`` as a list of ``n_states`` values (one array allowed for one state)."""
    if isinstance(initial_state, np.ndarray) or not isinstance(initial_state, (list, tuple)):
        initial_state = [initial_state]
    if len(initial_state) != n_states:
        raise ValueError(f"initial_state must hold {n_states} state array(s), "
                         f"got {len(initial_state)}")
    return list(initial_state)
