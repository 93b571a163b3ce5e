"""The ``RNN`` layer: a cell (or a stack of cells) applied over a sequence.

Dispatch, decided at each call from facts cached when the layer is built:

* every cell is a built-in cell whose activations the kernels compute, no
  dropout is active (``training`` falsy or no dropout rates), no ``constants``
  and a single input array -> one compiled kernel call per cell over the whole
  sequence (:func:`fastrnn._engine.run_sequence`); a stack runs cell by cell;
* anything else -> the Python step loop, calling ``cell.call`` once per step
  with the same masking, ``go_backwards`` and return semantics.

Stacks in the kernel path: the lower cells return their whole sequence.  With
``go_backwards`` only the first cell runs backwards; its output is in
processing order, so the next cells run forwards over it with the mask
reversed in time.  A masked step is masked for every cell (the states of
every cell are carried), and only the top cell's masked outputs follow
``zero_output_for_mask`` -- which is what tf.keras's per-step stack computes.
"""
import threading
from typing import Any, Dict, Optional

import numpy as np

from .. import _engine, _predict
from .. import _validation as check
from .base import (Layer, Placeholder, ReprText, _placeholders_for, call_accepts, construct,
                   deserialize, flatten, is_nested, keras3_config, make_node, pack_as, pack_like,
                   pinned_weights, register, serialize, shape_of, shape_spec)
from . import streaming
from .cells import StackedRNNCells, output_spec

__all__ = ["RNN"]

_CALL_ARGS = ("mask", "training", "initial_state", "constants", "lengths")


def _is_shape(value):
    """True for one shape (a tuple / list of ints or None), False for a structure of shapes."""
    return isinstance(value, (tuple, list)) and all(
        d is None or isinstance(d, (int, np.integer)) for d in value)


@register
class RNN(Layer):
    """Base class for recurrent layers: runs ``cell`` over every timestep (seed ``RNN``).

    Parameters
    ----------
    cell : cell or list of cells
        A built-in cell (runs in a compiled kernel), any object with
        ``call(inputs, states)`` and ``state_size`` (runs in the Python step
        loop), or a list of cells (wrapped in :class:`StackedRNNCells`).
    return_sequences : bool, default False
        Return every step's output, else the last one.
    return_state : bool, default False
        Also return the final states: ``[output, *states]``.
    go_backwards : bool, default False
        Process the sequence from its end; sequences come back in processing
        (reversed) order.
    stateful : bool, default False
        Keep the final states of a call as the next call's initial states.
        The batch size comes from ``batch_input_shape`` / ``batch_size`` or is
        fixed by the first call.  A stateful layer is one stream: its calls
        are serialized by a lock.
    unroll : bool, default False
        Accepted; no numerical effect.
    time_major : bool, default False
        Inputs and outputs are ``(time, batch, ...)`` and the mask ``(time, batch)``.
    **kwargs
        ``zero_output_for_mask`` (bool, default False: masked steps repeat the
        previous output; True: they output zeros), ``input_dim`` /
        ``input_length``, and the :class:`Layer` arguments (``name``, ``dtype``,
        ``batch_input_shape``, ...).  ``dtype`` is passed to the cells that
        were given none.

    Call arguments
    --------------
    inputs : array (batch, time, features), or a tuple of such arrays for a
        custom cell taking nested inputs.
    mask : boolean array (batch, time), optional
    training : bool, optional
        Only dropout looks at it.
    initial_state : list of arrays, optional
        One per state (an array for a single-state cell); for stacked cells
        one entry per cell (an LSTM's entry being ``[h, c]``) or the flat list.
        Wins over a stateful layer's stored states for this call.
    constants : list of arrays, optional
        Passed to ``cell.call(..., constants=...)`` at every step.

    Examples
    --------
    >>> import numpy as np
    >>> import fastrnn as fr
    >>> x = np.random.normal(size=(32, 10, 8)).astype("float32")
    >>> rnn = fr.RNN(fr.LSTMCell(4), return_sequences=True, return_state=True)
    >>> seq, h, c = rnn(x)
    >>> seq.shape, h.shape, c.shape
    ((32, 10, 4), (32, 4), (32, 4))
    """

    supports_masking = True

    def __init__(self, cell: Any, return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False,
                 time_major: bool = False, **kwargs: Any) -> None:
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(cell)
        check.rnn_cell(cell)
        zero_output_for_mask = kwargs.pop("zero_output_for_mask", False)
        num_constants = kwargs.pop("num_constants", 0)
        if "input_shape" not in kwargs and ("input_dim" in kwargs or "input_length" in kwargs):
            kwargs["input_shape"] = (kwargs.pop("input_length", None),
                                     kwargs.pop("input_dim", None))
        super().__init__(**kwargs)
        self.cell = cell
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.unroll = bool(unroll)
        self.time_major = bool(time_major)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self._num_constants = check.dimension(num_constants or 0, "num_constants")
        if not self._dtype_explicit:
            self._compute_dtype = getattr(cell, "_compute_dtype", self._compute_dtype)
        if isinstance(cell, Layer):     # cells given no dtype compute in the layer's
            cell._adopt_dtype(self._compute_dtype)
        self._cells = tuple(cell.cells) if isinstance(cell, StackedRNNCells) else (cell,)
        #: Every cell is a built-in one (its ``_kernel_weights`` says whether it can run
        #: in a kernel: None for activations the kernels lack).
        self._kernel_capable = all(hasattr(c, "_kernel_weights") for c in self._cells)
        self._has_dropout = any(getattr(c, "dropout", 0) or getattr(c, "recurrent_dropout", 0)
                                for c in self._cells)
        self._lock = threading.Lock()
        self._state_buffers: Any = None   # a stateful layer's states (flat list of arrays)
        self._state_spec: Any = None      # the cell's state_size as TensorShape leaves
        self._state_shapes: Any = None    # each state's shape, batch axis excluded
        self._state_dtypes: Any = None
        self._output_spec: Any = None
        self._feature_shapes: Any = None

    def _restore_transient(self):
        super()._restore_transient()
        self._lock = threading.Lock()

    def _repr_items(self):
        return [("cell", _cell_repr(self.cell))] + super()._repr_items() if type(
            self) is RNN else super()._repr_items()

    # ---- structure -----------------------------------------------------------

    def _structure(self):
        """Cache the state / output specs (once the cell is built)."""
        spec = shape_spec(self.cell.state_size)
        self._state_spec = spec
        self._state_shapes = [leaf.dims for leaf in flatten(spec)]
        dtypes = []
        for cell in self._cells:
            dtype = getattr(cell, "_compute_dtype", None) or self._compute_dtype or np.float32
            dtypes.extend([np.dtype(dtype)] * len(flatten(shape_spec(cell.state_size))))
        self._state_dtypes = dtypes
        self._output_spec = output_spec(self.cell)

    def _declared_weights(self, input_shape: Any) -> Any:
        """The cell's, for one step's input shape (see :meth:`build`)."""
        if isinstance(input_shape, list) and not _is_shape(input_shape):
            input_shape = input_shape[0]
        if any(len(shape) < 3 for shape in flatten_shapes(input_shape)):
            return None                 # build says what is wrong
        batch_axis = 1 if self.time_major else 0
        step_input_shape = _map_shapes(input_shape, lambda s: (s[batch_axis],) + s[2:])
        if not isinstance(self.cell, Layer):
            return None
        return self.cell._declared_weights(step_input_shape)

    def build(self, input_shape: Any) -> None:
        """Build the cell(s) on the per-step input shape (the time axis removed).

        ``input_shape`` is ``(batch, time, ...)`` (``(time, batch, ...)`` when
        time-major), a tuple of such shapes for nested inputs, or a list whose
        first entry is one of those (tf.keras's ``[inputs, *states, *constants]``).
        """
        check.nested_shape(input_shape, "input_shape")
        if isinstance(input_shape, list) and not _is_shape(input_shape):
            input_shape = input_shape[0]
        shapes = flatten_shapes(input_shape)
        layout = "(time, batch, features)" if self.time_major else "(batch, time, features)"
        for shape in shapes:
            if len(shape) < 3:
                raise ValueError(f"layer {self.name!r} expects inputs of rank 3 or more "
                                 f"{layout}, got input shape {shape}")
        batch_axis = 1 if self.time_major else 0
        # one step's shape: the time axis removed, nested inputs keeping their nesting
        step_input_shape = _map_shapes(input_shape, lambda s: (s[batch_axis],) + s[2:])
        if isinstance(self.cell, Layer):
            self.cell._adopt_dtype(self._compute_dtype)
            self.cell._build_once(step_input_shape, self._compute_dtype)
        elif hasattr(self.cell, "build"):
            self.cell.build(step_input_shape)
        self._feature_shapes = [s[2:] for s in shapes]
        self._structure()
        if self.stateful and self._state_buffers is None:
            batch = self._known_batch_size() or shapes[0][batch_axis]
            if batch is not None:
                self._state_buffers = self._initial_buffers(batch)
        elif self._state_buffers is not None:
            self._state_buffers = [np.ascontiguousarray(b, dtype=d)
                                   for b, d in zip(self._state_buffers, self._state_dtypes)]
        self.built = True      # last: concurrent first calls wait on the build lock until here

    def compute_output_shape(self, input_shape: Any) -> Any:
        """Output shape(s) for ``input_shape``: ``[output, *states]`` with ``return_state``."""
        if isinstance(input_shape, list) and not _is_shape(input_shape):
            input_shape = input_shape[0]
        shape = tuple(input_shape) if _is_shape(input_shape) else tuple(
            flatten_shapes(input_shape)[0])
        if not self.built:
            self._structure()
        batch, steps = (shape[1], shape[0]) if self.time_major else (shape[0], shape[1])
        lead: tuple = (batch,)
        if self.return_sequences:
            lead = (steps, batch) if self.time_major else (batch, steps)
        outputs = [lead + leaf.dims for leaf in flatten(self._output_spec)]
        output = outputs[0] if not is_nested(self._output_spec) else outputs
        if not self.return_state:
            return output
        states = [(batch,) + dims for dims in self._state_shapes]
        return self._with_states(output, states)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """The output mask: the input mask with ``return_sequences``, else None (states: None)."""
        if is_nested(mask):
            mask = mask[0]
        output_mask = mask if self.return_sequences else None
        if self.return_state:
            return [output_mask] + [None] * len(self._state_shapes or flatten(
                shape_spec(self.cell.state_size)))
        return output_mask

    def _with_states(self, output, flat_states):
        """``[output, *states]`` with the states in the cell's structure (tf.keras's return)."""
        head = list(output) if isinstance(output, list) else [output]
        if is_nested(self._state_spec):
            return head + pack_as(self._state_spec, flat_states)
        return head + list(flat_states)

    # ---- states -------------------------------------------------------------

    def _known_batch_size(self):
        if self._state_buffers is not None:
            return self._state_buffers[0].shape[0] if self._state_buffers else None
        if self._batch_input_shape is not None:
            return self._batch_input_shape[1 if self.time_major else 0]
        return self._batch_size_hint

    def _zero_states(self, batch):
        if self._state_shapes is None:
            self._structure()
        return [np.zeros((batch,) + shape, dtype)
                for shape, dtype in zip(self._state_shapes, self._state_dtypes)]

    @property
    def states(self) -> Any:
        """The stored states of a stateful layer (copies), in the cell's structure.

        ``[None, ...]`` (one per state) when the layer is not stateful or holds
        no state yet.
        """
        if self._state_shapes is None:
            self._structure()
        with self._lock:
            buffers = self._state_buffers
            values = [None] * len(self._state_shapes) if buffers is None else [
                b.copy() for b in buffers]
        if is_nested(self._state_spec):
            return pack_as(self._state_spec, values)
        return values

    @states.setter
    def states(self, states: Any) -> None:
        """None forgets the stored states (the next call starts from the cell's initial
        state); arrays replace them, as ``reset_states(states)`` does."""
        if states is None or all(v is None for v in flatten(states)):
            with self._lock:
                self._state_buffers = None
            return
        if not self.stateful:
            raise AttributeError(f"states: layer {self.name!r} is not stateful (it was "
                                 f"constructed with stateful=False), so it keeps no states")
        if self._state_shapes is None:
            self._structure()
        leaves = _state_leaves(states, self._state_ranks())
        given = np.shape(leaves[0])[0] if leaves and np.ndim(leaves[0]) else None
        hint = self._batch_input_shape[1 if self.time_major else 0] \
            if self._batch_input_shape is not None else self._batch_size_hint
        batch = hint or given
        values = check.state_values(leaves, "states", self.name,
                                    [(batch,) + s for s in self._state_shapes],
                                    self._state_dtypes, stored=True)
        with self._lock:
            self._state_buffers = values

    def reset_state(self, states: Any = None) -> None:
        """Keras 3's name for :meth:`reset_states`."""
        self.reset_states(states)

    def reset_states(self, states: Any = None) -> None:
        """Zero the stored states, or set them from NumPy arrays.

        Parameters
        ----------
        states : None, array or (nested) list of arrays
            None zeroes every state; else one value per state, in the structure
            of :attr:`states` or flat; real-number arrays are cast to the
            states' dtype.

        Raises
        ------
        AttributeError
            When the layer is not stateful.
        ValueError
            When the batch size is not known yet (no ``batch_input_shape`` /
            ``batch_size`` and no call so far), or when ``states`` does not
            match the layer's states in count, shape, or is not real numbers.
        """
        if not self.stateful:
            raise AttributeError(f"reset_states: layer {self.name!r} is not stateful (it was "
                                 f"constructed with stateful=False)")
        with self._lock:
            batch = self._known_batch_size()
            if not batch:
                raise ValueError(
                    f"reset_states: stateful layer {self.name!r} does not know its batch size "
                    f"yet; pass batch_input_shape=(batch, timesteps, features) or batch_size=... "
                    f"to the constructor, or call the layer once")
            if self._state_shapes is None:
                self._structure()
            if states is None:  # the cell's initial states (zeros for the built-in cells)
                initial = self._initial_buffers(batch)
                if self._state_buffers is None:
                    self._state_buffers = initial
                for buffer, value in zip(self._state_buffers, initial):
                    buffer[...] = value
                return
            values = check.state_values(_state_leaves(states, self._state_ranks()), "states",
                                        self.name,
                                        [(batch,) + s for s in self._state_shapes],
                                        self._state_dtypes, stored=True)
            if self._state_buffers is None:
                self._state_buffers = self._zero_states(batch)
            for buffer, value in zip(self._state_buffers, values):
                buffer[...] = value

    def get_initial_state(self, inputs: Any = None, batch_size: Optional[int] = None) -> Any:
        """The states a call starts from when none are given (zeros by default).

        Parameters
        ----------
        inputs : array, optional
            tf.keras's form: the batch size is that of ``inputs``.
        batch_size : int, optional
            The streaming form: the initial states of ``batch_size`` streams, in the
            cell's state structure (LSTM ``[h, c]``), to pass to :meth:`step`.

        Examples
        --------
        >>> import numpy as np
        >>> import fastrnn as fr
        >>> layer = fr.GRU(8)
        >>> layer.build((None, None, 3))
        >>> states = layer.get_initial_state(batch_size=2)
        >>> for frame in np.ones((5, 2, 3), "float32"):     # frames of 2 streams
        ...     output, states = layer.step(frame, states)
        >>> output.shape
        (2, 8)
        """
        if batch_size is not None or inputs is None:
            if batch_size is None:
                raise ValueError("get_initial_state needs inputs or batch_size")
            return streaming.rnn_initial_state(self, batch_size)
        first = np.asarray(flatten(inputs)[0])
        batch = first.shape[1 if self.time_major else 0]
        init = self._cell_initial_state(batch)
        return pack_as(self._state_spec, init) if is_nested(self._state_spec) else init

    def step(self, inputs: Any, states: Any, mask: Any = None, out: Any = None) -> Any:
        """One timestep (or a chunk of them) of explicit-state streaming.

        Parameters
        ----------
        inputs : array ``(batch, features)``, or a chunk ``(batch, t, features)``.
        states : the stream's states (from :meth:`get_initial_state` or a previous
            ``step``); not modified.
        mask : boolean ``(batch,)`` (``(batch, t)`` for a chunk), optional
            False keeps a row's state; its output repeats its previous output.
        out : states, optional
            Arrays to write the new states into (may be ``states``: no allocation).

        Returns
        -------
        (outputs, new_states)
            ``(batch, units)`` for one step, ``(batch, t, units)`` for a chunk.  No lock
            is taken: threads may step separate states of one layer at once.  Stepping a
            sequence gives the whole-sequence call's outputs and states bitwise.
        """
        return streaming.rnn_step(self, inputs, states, mask, out)

    def _cell_initial_state(self, batch):
        """Flat list of the cell's initial states for ``batch`` rows."""
        if self._state_shapes is None:
            self._structure()
        if hasattr(self.cell, "get_initial_state"):
            dtype = getattr(self.cell, "_compute_dtype", None) or self._compute_dtype \
                or np.float32
            states = flatten(self.cell.get_initial_state(inputs=None, batch_size=batch,
                                                         dtype=dtype))
            return [np.asarray(s, d) for s, d in zip(states, self._state_dtypes)] + [
                np.asarray(s) for s in states[len(self._state_dtypes):]]
        return self._zero_states(batch)

    def _initial_buffers(self, batch):
        """A stateful layer's fresh state buffers, holding the cell's initial states."""
        return check.state_values(self._cell_initial_state(batch),
                                  "the cell's get_initial_state", self.name,
                                  [(batch,) + s for s in self._state_shapes], self._state_dtypes)

    def _state_ranks(self):
        """The rank of each state, batch axis included."""
        return [1 + len(shape) for shape in self._state_shapes]

    def _initial_states(self, initial_state, batch):
        """Validated fresh copies of ``initial_state`` (nested or flat), one per state."""
        return check.state_values(_state_leaves(initial_state, self._state_ranks()),
                                  "initial_state", self.name,
                                  [(batch,) + s for s in self._state_shapes], self._state_dtypes)

    def _check_symbolic_states(self, initial_state, batch):
        """tf.keras's check of a symbolic call's ``initial_state`` against the state sizes."""
        values = _state_leaves(initial_state, self._state_ranks())
        expected = [(batch,) + s for s in self._state_shapes]
        if len(values) != len(expected):
            raise ValueError(f"initial_state: layer {self.name!r} has {len(expected)} "
                             f"state(s) of shapes {expected}, but received {len(values)} "
                             f"value(s)")
        for i, (value, want) in enumerate(zip(values, expected)):
            got = tuple(shape_of(value))
            if len(got) != len(want) or any(g is not None and w is not None and g != w
                                            for g, w in zip(got, want)):
                raise ValueError(f"initial_state[{i}]: layer {self.name!r} expects a state of "
                                 f"shape {want} (None: any size), got shape {got}")

    def _batch_of(self, inputs):
        """The batch size of a call's inputs (validating their rank)."""
        x, batch, _ = check.step_sequence_input(flatten(inputs)[0], self._compute_dtype,
                                                time_major=self.time_major)
        return batch

    # ---- calling ---------------------------------------------------------------

    def __call__(self, inputs: Any, mask: Any = None, training: Optional[bool] = None,
                 initial_state: Any = None, constants: Any = None, lengths: Any = None,
                 **kwargs: Any) -> Any:
        """Run the layer over a sequence batch (building it on the first call).

        Parameters
        ----------
        inputs : array-like ``(batch, time, features)`` (``(time, batch, ...)``
            when ``time_major``), a tuple / namedtuple of such arrays for a cell
            taking nested inputs, an :func:`fastrnn.Input` placeholder, or
            tf.keras's list form ``[inputs, *initial_state, *constants]``.
        mask : boolean array ``(batch, time)``, optional
            False steps are skipped: the states carry over, the output repeats
            (zeros with ``zero_output_for_mask``).
        training : bool, optional
            Only dropout looks at it.
        initial_state : array or (nested) list of arrays, optional
            One per state (for stacked cells one entry per cell, or the flat
            list); NumPy arrays or nested Python lists.  Wins over a stateful
            layer's stored states for this call.
        constants : list of arrays, optional
            Passed to ``cell.call(..., constants=...)`` at every step.
        lengths : integers ``(batch,)``, optional
            Valid steps per row (post-padding): row b is valid at ``t < lengths[b]``,
            as the mask ``arange(time) < lengths[:, None]`` (combined with ``mask``
            when both are given); the padded steps are not computed.

        Returns
        -------
        The last output ``(batch, units)``, every output with
        ``return_sequences``, and with ``return_state`` the list
        ``[output, *final_states]`` (states in the cell's structure).
        """
        if kwargs:
            raise TypeError(f"{type(self).__name__} call: unexpected argument(s) "
                            f"{sorted(kwargs)}; expected {_CALL_ARGS}")
        if type(inputs) is list:
            inputs, initial_state, constants = self._split_list_inputs(
                inputs, initial_state, constants)
        if isinstance(inputs, Placeholder) or (isinstance(inputs, tuple) and any(
                isinstance(v, Placeholder) for v in flatten(inputs))):
            return self._call_symbolic(inputs, constants, initial_state)
        if not self.built:
            first = flatten(inputs)[0]
            self._build_once(shape_of(inputs), getattr(first, "dtype", None))
        return self.call(inputs, mask, training, initial_state, constants, lengths)

    def _split_list_inputs(self, inputs, initial_state, constants):
        """tf.keras's list form ``[inputs, *initial_state, *constants]``."""
        if not inputs or not isinstance(inputs[0], (np.ndarray, Placeholder, tuple)):
            return check.regular_array(inputs, "inputs"), initial_state, constants
        rest = list(inputs[1:])
        if self._num_constants and constants is None:
            constants = rest[len(rest) - self._num_constants:]
            rest = rest[:len(rest) - self._num_constants]
        if rest and initial_state is None:
            initial_state = rest
        return inputs[0], initial_state, constants

    def _call_symbolic(self, inputs, constants=None, initial_state=None):
        if constants is not None and not self._num_constants:
            self._num_constants = len(flatten(constants))
        shape = shape_of(inputs)
        if not self.built:
            self._build_once(shape, flatten(inputs)[0].dtype)
        if initial_state is not None:
            first = flatten_shapes(shape)[0]
            self._check_symbolic_states(initial_state, first[1 if self.time_major else 0])
        outputs = _placeholders_for(self.compute_output_shape(shape), self.dtype or "float32")
        self._record_symbolic(inputs, outputs)
        return outputs

    def _cell_kernel_weights(self):
        """The kernel weights of every cell as one tuple, read together (no ``set_weights``
        of this layer or of one holding it is half done meanwhile: it holds this layer's
        lock), or None when a cell runs in the Python step loop."""
        cells = self._cells
        if not self._kernel_capable:
            return None
        if len(cells) == 1:
            weights = (cells[0]._kernel_weights,)
        else:
            with self._build_lock:
                weights = tuple(c._kernel_weights for c in cells)
        return None if None in weights else weights

    def call(self, inputs: Any, mask: Any = None, training: Optional[bool] = None,
             initial_state: Any = None, constants: Any = None, lengths: Any = None, *,
             _weights: Any = None) -> Any:
        """Run the sequence (the layer must be built; ``__call__`` builds it).

        ``_weights``: the cells' kernel weights, already read by a wrapper that reads
        several layers' together (``Bidirectional``); default: read here.
        """
        weights = None
        if (self._kernel_capable and constants is None and not isinstance(inputs, tuple)
                and not (training and self._has_dropout)):
            weights = self._cell_kernel_weights() if _weights is None else _weights
        if lengths is not None and (weights is None or (self.go_backwards and len(weights) > 1)):
            mask, lengths = self._lengths_as_mask(inputs, mask, lengths), None
        if self.stateful:
            with self._lock:
                buffers = self._state_buffers
                if buffers is None or initial_state is not None:
                    buffers = self._load_stored_states(inputs, initial_state)
                if (weights is not None and len(weights) == 1 and mask is None
                        and lengths is None and type(inputs) is np.ndarray and inputs.ndim == 3
                        and inputs.shape[1] == 1 and not self.time_major):
                    # one frame of a stream: the compiled step, states updated in place
                    output, states = _engine.step(weights[0], inputs[:, 0], buffers,
                                                  out=buffers)
                    if self.return_sequences:
                        output = output[:, None]
                elif weights is not None:
                    output, states = self._run_kernels(weights, inputs, mask, buffers, lengths)
                else:
                    output, states = self._run_steps(inputs, mask, training, buffers, constants)
                    for buffer, value in zip(buffers, states):
                        buffer[...] = value
                if self.return_state:
                    return self._with_states(output, [s.copy() for s in states])
                return output
        states = None
        if initial_state is not None:
            states = self._initial_states(initial_state, self._batch_of(inputs))
        if weights is not None:
            output, states = self._run_kernels(weights, inputs, mask, states, lengths)
        else:
            output, states = self._run_steps(inputs, mask, training, states, constants)
        if self.return_state:
            return self._with_states(output, states)
        return output

    def _lengths_as_mask(self, inputs, mask, lengths):
        """The mask ``lengths`` stands for, combined with ``mask`` (for the paths that
        take a mask only)."""
        x = flatten(inputs)[0]
        batch, steps = (x.shape[1], x.shape[0]) if self.time_major else x.shape[:2]
        lengths = check.sequence_lengths(lengths, batch, steps)
        valid = np.arange(steps)[None, :] < lengths[:, None]
        if self.time_major:
            valid = valid.T
        given = check.sequence_mask(mask, batch, steps, time_major=self.time_major)
        return valid if given is None else valid & (given != 0)

    def _load_stored_states(self, inputs, initial_state):
        """A stateful layer's state buffers: made on the first call (fixing the batch
        size), loaded with ``initial_state`` when a call passes one."""
        batch = self._batch_of(inputs)
        buffers = self._state_buffers
        if buffers is None:
            buffers = self._initial_buffers(batch)
        elif buffers[0].shape[0] != batch:
            raise ValueError(self._batch_mismatch(batch))
        if initial_state is not None:
            for buffer, value in zip(buffers, self._initial_states(initial_state, batch)):
                buffer[...] = value
        self._state_buffers = buffers
        return buffers

    def _batch_mismatch(self, batch):
        return (f"stateful layer {self.name!r} holds states for batch size "
                f"{self._state_buffers[0].shape[0]}, but the inputs have batch size {batch}; "
                f"a stateful layer keeps one state per row (use reset_states or a new layer)")

    def _run_kernels(self, weights, inputs, mask, states, lengths=None):
        """One kernel call per cell; ``states`` (flat list or None) is updated in place."""
        if len(weights) == 1:
            return _engine.run_sequence(
                weights[0], inputs, mask=mask, lengths=lengths, state_buffers=states,
                time_major=self.time_major, go_backwards=self.go_backwards,
                return_sequences=self.return_sequences,
                zero_output_for_mask=self.zero_output_for_mask)
        final, offset, top = [], 0, len(weights) - 1
        sequence, cell_mask = inputs, mask
        for i, cell_weights in enumerate(weights):
            buffers = None
            if states is not None:
                buffers = states[offset:offset + cell_weights.n_states]
                offset += cell_weights.n_states
            sequence, cell_states = _engine.run_sequence(
                cell_weights, sequence, mask=cell_mask, lengths=lengths, state_buffers=buffers,
                time_major=self.time_major, go_backwards=self.go_backwards and i == 0,
                return_sequences=self.return_sequences or i < top,
                zero_output_for_mask=self.zero_output_for_mask and i == top)
            final.extend(cell_states)
            if i == 0 and self.go_backwards and mask is not None:
                # the next cells see the sequence in processing order
                cell_mask = np.flip(np.asarray(mask), axis=0 if self.time_major else 1)
        return sequence, final

    def _run_steps(self, inputs, mask, training, states, constants):
        """The Python step loop: ``cell.call`` once per step, tf.keras masking semantics.

        Returns the output (array, or list for a nested output) and the flat
        list of final states.  Every step reads the weights the call began with.
        """
        with pinned_weights(self):
            return self._step_loop(inputs, mask, training, states, constants)

    def _step_loop(self, inputs, mask, training, states, constants):
        """:meth:`_run_steps`, its weights pinned."""
        cell, time_major = self.cell, self.time_major
        leaves = flatten(inputs) if isinstance(inputs, tuple) else [inputs]
        arrays, sizes = [], []
        for k, leaf in enumerate(leaves):
            name = "inputs" if len(leaves) == 1 else f"inputs[{k}]"
            feature_shape = None if self._feature_shapes is None or k >= len(
                self._feature_shapes) else self._feature_shapes[k]
            x, batch, steps = check.step_sequence_input(
                leaf, self._compute_dtype, time_major=time_major,
                feature_shape=feature_shape, name=name)
            if sizes and (batch, steps) != sizes[0]:
                raise ValueError(f"{name} has (batch, time) = {(batch, steps)} but inputs[0] "
                                 f"has {sizes[0]}")
            arrays.append(x)
            sizes.append((batch, steps))
        batch, steps = sizes[0]
        mask_u8 = check.sequence_mask(mask, batch, steps, time_major=time_major)
        step_mask = None if mask_u8 is None else (mask_u8 if time_major else mask_u8.T) != 0

        if states is None:
            states = self._cell_initial_state(batch)
        elif states and states[0].shape[0] != batch:
            raise ValueError(self._batch_mismatch(batch))
        kwargs = {}
        if call_accepts(cell, "training"):
            kwargs["training"] = training
        if constants is not None:
            if not call_accepts(cell, "constants"):
                raise ValueError(f"the cell of layer {self.name!r} ({type(cell).__name__}) "
                                 f"does not accept `constants` in its call method")
            kwargs["constants"] = [np.asarray(c) for c in (
                constants if is_nested(constants) else [constants])]
        for c in self._cells:
            if hasattr(c, "reset_dropout_mask"):
                c.reset_dropout_mask()
                c.reset_recurrent_dropout_mask()

        spec, nested_states = self._state_spec, is_nested(self._state_spec)
        unwrap = getattr(cell, "_unwrap_single_state", False)
        zero_masked = self.zero_output_for_mask
        order = range(steps - 1, -1, -1) if self.go_backwards else range(steps)
        previous, sequence = None, []
        for t in order:
            step_inputs = [x[t] if time_major else x[:, t] for x in arrays]
            x_t = pack_like(inputs, step_inputs) if isinstance(inputs, tuple) else step_inputs[0]
            if nested_states:
                cell_states = pack_as(spec, states)
            else:
                cell_states = states[0] if unwrap else [states[0]]
            output, new_states = cell.call(x_t, cell_states, **kwargs)
            outputs = [np.asarray(o) for o in flatten(output)]
            new_states = [np.asarray(s) for s in flatten(new_states)]
            if len(new_states) != len(states):
                raise ValueError(f"the cell of layer {self.name!r} returned {len(new_states)} "
                                 f"state(s), but its state_size has {len(states)}")
            if step_mask is not None and not step_mask[t].all():
                keep = step_mask[t]
                if previous is None:
                    previous = [np.zeros_like(o) for o in outputs]
                fill = [np.zeros_like(o) for o in outputs] if zero_masked else previous
                outputs = [np.where(_rows(keep, o), o, f) for o, f in zip(outputs, fill)]
                new_states = [np.where(_rows(keep, n), n, s) for n, s in zip(new_states, states)]
            states, previous = new_states, outputs
            if self.return_sequences:
                sequence.append(outputs)

        out_leaves = flatten(self._output_spec)
        dtype = self._compute_dtype
        if self.return_sequences:
            axis = 0 if time_major else 1
            if sequence:
                results = [np.stack([step[k] for step in sequence], axis=axis)
                           for k in range(len(out_leaves))]
            else:
                lead = (0, batch) if time_major else (batch, 0)
                results = [np.zeros(lead + leaf.dims, dtype) for leaf in out_leaves]
        elif previous is not None:
            results = previous
        else:
            results = [np.zeros((batch,) + leaf.dims, dtype) for leaf in out_leaves]
        output = pack_as(self._output_spec, results) if is_nested(self._output_spec) \
            else results[0]
        return output, states

    predict = _predict.layer_predict

    # ---- configs ---------------------------------------------------------------

    def get_config(self) -> Dict[str, Any]:
        """tf.keras's RNN config: flags, and ``cell`` as ``{"class_name", "config"}``."""
        config = super().get_config()
        config.update({
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
            "go_backwards": self.go_backwards,
            "stateful": self.stateful,
            "unroll": self.unroll,
            "time_major": self.time_major,
        })
        if self._num_constants:
            config["num_constants"] = self._num_constants
        if self.zero_output_for_mask:
            config["zero_output_for_mask"] = True
        config["cell"] = serialize(self.cell)
        return config

    @classmethod
    def from_config(cls, config: Dict[str, Any],
                    custom_objects: Optional[Dict[str, Any]] = None) -> "RNN":
        """A layer from ``get_config()``'s dict or a tf.keras RNN config.

        ``cell`` may be one ``{"class_name", "config"}`` dict (``StackedRNNCells``
        for a stack, as tf.keras writes it) or a list of such dicts.
        """
        config = dict(keras3_config(cls, config))
        cell_config = config.pop("cell")
        if isinstance(cell_config, list):
            cell = [deserialize(c, custom_objects) for c in cell_config]
        else:
            cell = deserialize(cell_config, custom_objects)
        return construct(cls, config, cell)


def _rows(keep, value):
    """``keep`` (batch,) shaped to broadcast over ``value`` (batch, ...)."""
    return keep.reshape((-1,) + (1,) * (value.ndim - 1))


def _cell_repr(cell):
    """A cell shown as its class and state size in an RNN's repr."""
    if hasattr(cell, "cells"):
        return ReprText("[" + ", ".join(_cell_repr(c) for c in cell.cells) + "]")
    try:
        size = cell.state_size
    except (AttributeError, NotImplementedError):
        size = "?"
    return ReprText(f"{type(cell).__name__}(state_size={size})")


def _state_leaves(value, ranks):
    """The flat list of state values given in ``value``, one per state.

    Arrays are leaves; a list / tuple is a leaf when it converts to a real array
    of the next state's rank (nested Python lists of numbers, as tf.keras takes
    them), else a node whose entries are visited in order.
    """
    leaves = []

    def visit(node):
        if not is_nested(node) or _is_state_like(node, ranks, len(leaves)):
            leaves.append(node)
            return
        for child in node:
            visit(child)

    visit(value)
    return leaves


def _is_state_like(node, ranks, index):
    if index >= len(ranks) or all(isinstance(v, (np.ndarray, Placeholder)) for v in node):
        return False
    try:
        arr = np.asarray(node)
    except (TypeError, ValueError):  # ragged: a structure of several states
        return False
    return arr.ndim == ranks[index] and arr.dtype.kind in "biuf"


def _map_shapes(structure, function):
    """``function`` applied to each shape of a (nested) structure of shapes, nesting kept."""
    if _is_shape(structure):
        return function(tuple(structure))
    return make_node(structure, [_map_shapes(s, function) for s in structure])


def flatten_shapes(structure):
    """The shapes in a nested structure of shapes (a shape is a tuple of ints / None)."""
    if _is_shape(structure):
        return [tuple(structure)]
    shapes = []
    for item in structure:
        shapes.extend(flatten_shapes(item))
    return shapes
